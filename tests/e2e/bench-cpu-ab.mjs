// Two or more builds' training speed in one run (a measurement, not a test): one page per
// build in one headless Chromium, the Speed panel's figure for one network on the CPU at N
// threads (or, with --backend=webgpu, on WebGPU, THREADS then ignored),
// the builds taking turns pass by pass, so that a shared machine's drift falls on all alike.
// The first pass is a warm-up (V8 tiers wasm up in the background); the median of the rest
// is printed per build.
// usage: node tests/e2e/bench-cpu-ab.mjs THREADS PASSES DIST... [--network=vgg] [--backend=webgpu]
import { launch, openPage } from './browser.mjs';
import { startServer } from './server.mjs';
import { chooseBackend, chooseThreads, measureSpeed, settled } from './studio.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const network = option('network', 'vgg');
const backend = option('backend', 'cpu');
const [threads, passes, ...dists] = args.filter((a) => !a.startsWith('--'));
if (!dists.length) throw new Error('usage: bench-cpu-ab.mjs THREADS PASSES DIST... [--network=vgg] [--backend=webgpu]');

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const browser = await launch();
const builds = [];
try {
  for (const dist of dists) {
    const server = await startServer(dist);
    const { page } = await openPage(browser, `http://127.0.0.1:${server.address().port}/?bench=${network}`);
    await settled(page);
    await chooseBackend(page, backend);
    if (backend === 'cpu') await chooseThreads(page, Number(threads));
    else await page.$eval('#bench', (d) => { d.open = true; });
    builds.push({ dist, page, server, ms: [] });
  }
  for (let pass = 0; pass < Number(passes); pass++) {
    for (const b of builds) {
      const row = await measureSpeed(b.page);
      b.ms.push(Number(row.ms));
      // The first step's time too: on WebGPU it includes compiling every kernel, once per page.
      console.log(`  pass ${pass}: ${b.dist} ${b.ms.at(-1).toFixed(1)} ms/step (first step ${Number(row.firstMs).toFixed(0)} ms)`);
    }
  }
  for (const b of builds) {
    const timed = b.ms.slice(1);
    const on = backend === 'cpu' ? `on the CPU, ${threads} thread(s)` : `on ${backend}`;
    console.log(`${b.dist.padEnd(24)} ${network} ${on}: ${b.ms.map((m) => m.toFixed(1)).join(' ')} ms/step; median after the first: ${timed.length ? median(timed).toFixed(1) : 'n/a'}`);
  }
} finally {
  await browser.close();
  for (const b of builds) b.server.close();
}
