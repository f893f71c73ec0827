// Two or more builds' CPU training speed in one run (a measurement, not a test): one page
// per build in one headless Chromium, the Speed panel's figure for one network at N threads,
// the builds taking turns pass by pass, so that a shared machine's drift falls on all alike.
// The first pass is a warm-up (V8 tiers wasm up in the background); the median of the rest
// is printed per build.
// usage: node tests/e2e/bench-cpu-ab.mjs THREADS PASSES DIST... [--network=vgg]
import { launch, openPage } from './browser.mjs';
import { startServer } from './server.mjs';
import { chooseBackend, chooseThreads, measureSpeed, settled } from './studio.mjs';

const args = process.argv.slice(2);
const network = args.find((a) => a.startsWith('--network='))?.slice('--network='.length) ?? 'vgg';
const [threads, passes, ...dists] = args.filter((a) => !a.startsWith('--'));
if (!dists.length) throw new Error('usage: bench-cpu-ab.mjs THREADS PASSES DIST... [--network=vgg]');

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const browser = await launch();
const builds = [];
try {
  for (const dist of dists) {
    const server = await startServer(dist);
    const { page } = await openPage(browser, `http://127.0.0.1:${server.address().port}/?bench=${network}`);
    await settled(page);
    await chooseBackend(page, 'cpu');
    await chooseThreads(page, Number(threads));
    builds.push({ dist, page, server, ms: [] });
  }
  for (let pass = 0; pass < Number(passes); pass++) {
    for (const b of builds) {
      b.ms.push(Number((await measureSpeed(b.page)).ms));
      console.log(`  pass ${pass}: ${b.dist} ${b.ms.at(-1).toFixed(1)} ms/step`);
    }
  }
  for (const b of builds) {
    const timed = b.ms.slice(1);
    console.log(`${b.dist.padEnd(24)} ${network} on the CPU, ${threads} thread(s): ${b.ms.map((m) => m.toFixed(1)).join(' ')} ms/step; median after the first: ${timed.length ? median(timed).toFixed(1) : 'n/a'}`);
  }
} finally {
  await browser.close();
  for (const b of builds) b.server.close();
}
