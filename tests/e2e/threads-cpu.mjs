// Where the machine's CPU time goes while the Speed panel measures the CPU training step (a
// diagnosis, not a test): every thread of every Chromium process, its CPU time during each
// timed pass (utime + stime from /proc, in clock ticks of 10 ms) beside the pass's wall time.
// Tells whether the pool's threads are busy, and whether anything else in the browser takes
// a core from them. A build with the parallel sections' timeline (README, "Profiling the CPU
// path") prints it after each pass too.
// usage: node tests/e2e/threads-cpu.mjs DIST THREADS PASSES [--network=vgg]
import { readdirSync, readFileSync } from 'node:fs';
import { launch, openPage } from './browser.mjs';
import { startServer } from './server.mjs';
import { chooseBackend, chooseThreads, measureSpeed, settled } from './studio.mjs';

const args = process.argv.slice(2);
const network = args.find((a) => a.startsWith('--network='))?.slice('--network='.length) ?? 'vgg';
const [dist, threads, passes] = args.filter((a) => !a.startsWith('--'));
if (!passes) throw new Error('usage: threads-cpu.mjs DIST THREADS PASSES [--network=vgg]');

/** `pid/tid` -> { name, ticks } for every thread of every process whose command is chromium. */
function snapshot() {
  const out = new Map();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmd;
    try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { continue; }
    if (!/chrom/.test(cmd)) continue;
    const kind = (cmd.match(/--type=([a-z-]+)/) ?? [, 'browser'])[1];
    let tids = [];
    try { tids = readdirSync(`/proc/${pid}/task`); } catch { continue; }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out.set(`${pid}/${tid}`, { name: `${kind}: ${name}`, ticks: Number(f[11]) + Number(f[12]) });
      } catch { /* gone */ }
    }
  }
  return out;
}

const browser = await launch();
const server = await startServer(dist);
try {
  const { page, log } = await openPage(browser, `http://127.0.0.1:${server.address().port}/?bench=${network}`);
  await settled(page);
  await chooseBackend(page, 'cpu');
  await chooseThreads(page, Number(threads));
  for (let pass = 0; pass < Number(passes); pass++) {
    const a = snapshot();
    const t0 = performance.now();
    const ms = Number((await measureSpeed(page)).ms);
    const wall = (performance.now() - t0) / 1000;
    const b = snapshot();
    const used = [...b].map(([k, v]) => ({ name: v.name, s: (v.ticks - (a.get(k)?.ticks ?? 0)) / 100 })).filter((t) => t.s > 0).sort((x, y) => y.s - x.s);
    const total = used.reduce((s, t) => s + t.s, 0);
    console.log(`pass ${pass}: ${ms.toFixed(1)} ms/step, ${wall.toFixed(2)} s wall, Chromium CPU ${total.toFixed(2)} s (${(total / wall).toFixed(2)} cores)`);
    for (const t of used.slice(0, 12)) console.log(`  ${t.s.toFixed(2).padStart(6)} s  ${(100 * t.s / wall).toFixed(0).padStart(3)}%  ${t.name}`);
    // Chromium hands a worker's message to both the page's and the worker's listeners.
    for (const text of new Set(log.console.splice(0).map((m) => m.text).filter((t) => t.startsWith('parallel sections')))) console.log(text);
  }
} finally {
  await browser.close();
  server.close();
}
