// Where a CPU training step goes in the browser (a measurement, not a test): the V8 sampling
// profiler on every worker of the page (the training worker and, in the threaded build, its
// pool's threads) while the Speed panel measures one network, then self time per function,
// per worker and summed. Function names need a wasm build with its name section: the release
// profile strips it, so build the threaded worker with CARGO_PROFILE_RELEASE_STRIP=false into
// a target folder of its own and run wasm-bindgen on it into a copy of the release dist (the
// README's "Profiling the CPU path" says how).
// usage: node --experimental-websocket tests/e2e/profile-cpu.mjs DIST [--network=vgg]
//          [--threads=N] [--top=40] [--per-worker=12] [--interval-us=250] [--json=FILE]
import fs from 'node:fs';
import { chromium } from 'playwright-core';
import { FLAGS } from './browser.mjs';
import { startServer } from './server.mjs';
import { chooseBackend, chooseThreads, measureSpeed, settled } from './studio.mjs';

const [root = 'dist', ...flags] = process.argv.slice(2);
const option = (name, fallback) => flags.find((f) => f.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const NETWORK = option('network', 'vgg');
const THREADS = Number(option('threads', '2'));
const TOP = Number(option('top', '40'));
const INTERVAL = Number(option('interval-us', '250'));
const PER_WORKER = Number(option('per-worker', '12'));
// Every worker's self times as JSON, for comparing the threads (what runs on one alone).
const JSON_OUT = option('json', '');
const PORT = 9339;

/** A Rust symbol without its crate hashes, shortened to fit a line. */
const short = (name) => name.replace(/\[[0-9a-f]{12,16}\]/g, '').slice(0, 150);

if (typeof WebSocket === 'undefined') throw new Error('run with node --experimental-websocket (Node 20) or Node 22+');

/** A DevTools-protocol connection to the browser, with flat sessions for its targets. */
async function connect() {
  const { webSocketDebuggerUrl } = await (await fetch(`http://127.0.0.1:${PORT}/json/version`)).json();
  const ws = new WebSocket(webSocketDebuggerUrl);
  await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = fail; });
  let next = 1;
  const waiting = new Map();
  const listeners = [];
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.id && waiting.has(msg.id)) {
      const { ok, fail } = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error) fail(new Error(`${msg.error.message} (${msg.error.code})`)); else ok(msg.result);
    } else if (msg.method) {
      for (const l of listeners) l(msg);
    }
  };
  const send = (method, params = {}, sessionId) => new Promise((ok, fail) => {
    const id = next++;
    waiting.set(id, { ok, fail });
    ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
  });
  return { send, on: (l) => listeners.push(l), close: () => ws.close() };
}

/** Self time in ms per function name of one CPU profile. */
function selfTimes(profile) {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const times = new Map();
  profile.samples.forEach((id, i) => {
    const node = byNode.get(id);
    const name = node.callFrame.functionName || `(${node.callFrame.url.split('/').pop() || 'anonymous'})`;
    times.set(name, (times.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return times;
}

const server = await startServer(root);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
  headless: true,
  args: [...FLAGS, `--remote-debugging-port=${PORT}`],
});
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/?bench=${NETWORK}`);
  await settled(page);
  await chooseBackend(page, 'cpu');
  if (THREADS > 0) await chooseThreads(page, THREADS);

  const cdp = await connect();
  // Every worker of the page, nested ones (the pool's threads, started by the training
  // worker) included: auto-attach on the page, then on each worker as it is attached.
  const sessions = new Map();
  cdp.on((msg) => {
    if (msg.method === 'Target.detachedFromTarget') sessions.delete(msg.params.sessionId);
    if (msg.method !== 'Target.attachedToTarget') return;
    const { sessionId, targetInfo } = msg.params;
    if (targetInfo.type === 'worker' || targetInfo.type === 'shared_worker') {
      sessions.set(sessionId, targetInfo);
      cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: true }, sessionId).catch(() => {});
    }
  });
  const { targetInfos } = await cdp.send('Target.getTargets');
  const pageTarget = targetInfos.find((t) => t.type === 'page' && t.url.includes('bench='));
  const { sessionId: pageSession } = await cdp.send('Target.attachToTarget', { targetId: pageTarget.targetId, flatten: true });
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: true }, pageSession);
  await new Promise((r) => setTimeout(r, 2000));
  // Workers that a replaced trainer left behind are gone by now, or go while enabling.
  const live = [];
  for (const s of sessions.keys()) {
    try {
      await cdp.send('Profiler.enable', {}, s);
      await cdp.send('Profiler.setSamplingInterval', { interval: INTERVAL }, s);
      live.push(s);
    } catch { /* detached */ }
  }
  console.log(`${live.length} workers: ${live.map((s) => sessions.get(s).url.split('/').pop()).join(', ')}`);

  // A first measurement warms V8's tiers up (it compiles wasm optimised in the background);
  // the second is profiled.
  await page.$eval('#bench', (d) => { d.open = true; });
  for (const pass of [1, 2]) {
    if (pass === 2) for (const s of live) await cdp.send('Profiler.start', {}, s);
    const row = await measureSpeed(page);
    console.log(`pass ${pass}: ${row.network} on ${row.backend}, ${row.threads} thread(s): ${Number(row.ms).toFixed(1)} ms/step`);
  }
  const total = new Map();
  const each = {};
  let all = 0;
  for (const s of live) {
    const { profile } = await cdp.send('Profiler.stop', {}, s);
    const times = selfTimes(profile);
    each[`${sessions.get(s).url.split('/').pop()} ${s.slice(0, 6)}`] = Object.fromEntries([...times].map(([n, ms]) => [short(n), ms]));
    const sum = [...times.values()].reduce((a, b) => a + b, 0);
    const idle = (times.get('(idle)') ?? 0) + (times.get('(program)') ?? 0);
    console.log(`\n## ${sessions.get(s).url.split('/').pop()}: ${sum.toFixed(0)} ms sampled, ${(sum - idle).toFixed(0)} busy`);
    if (sum - idle > 0) {
      const mine = [...times].filter(([n]) => n !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, PER_WORKER);
      for (const [name, ms] of mine) console.log(`${ms.toFixed(0).padStart(8)} ms  ${short(name)}`);
    }
    for (const [name, ms] of times) {
      total.set(name, (total.get(name) ?? 0) + ms);
      if (name !== '(idle)' && name !== '(program)') all += ms;
    }
  }
  console.log(`\n## all workers, self time (busy total ${all.toFixed(0)} ms)`);
  const rows = [...total].filter(([n]) => n !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, TOP);
  for (const [name, ms] of rows) console.log(`${ms.toFixed(0).padStart(8)} ms ${(100 * ms / all).toFixed(1).padStart(5)}%  ${short(name)}`);
  if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify(each, null, 1));
  cdp.close();
} finally {
  await browser.close();
  server.close();
}
