// Benchmarks that print figures (never pass/fail): wasm sizes, time from navigation to
// dataset ready (Brotli, gzip and raw MNIST), first and second visits, the page's memory, and training speed per network in the
// browser on each backend, drawing-to-prediction latency (idle and while training), and
// memory over the epochs of a run.
// Training speed on the CPU is measured at 1 thread and at every thread count up to
// navigator.hardwareConcurrency (the page is cross-origin isolated, as Trunk serves it), each
// line naming its thread count, plus once on a page without isolation (the single-threaded
// worker build).
// usage: node tests/e2e/bench.mjs dist [--no-load] [--no-visits] [--no-draw] [--no-memory] [--no-train] [--no-webgpu] [--no-cpu]
//        [--run-speed[=linear,vgg]] (a real run's own ms/step on WebGPU, as its run view shows
//        it, with the dispatches per step; with --baseline, that build's too, interleaved)
//        [--gpu-vgg] [--networks=vgg,linear] (the speed table for only those networks)
//        [--visits=N] (first visits to time, medians printed; default 1)
//        [--baseline=DIR] (the visits' baseline: another build, served as this one is)
//        [--mbit=N] (the first visits over a connection of N Mbit/s each way with 20 ms
//        latency, the DevTools protocol's emulation, workers included; default: loopback)
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { execSync } from 'node:child_process';
import { startServer } from './server.mjs';
import { launch, openPage } from './browser.mjs';
import { chooseBackend, chooseThreads, configureRun, copyComplete, datasetReady, settled } from './studio.mjs';
import { countGpuWork, fromWorkers } from './gpu-work.mjs';

const [root = 'dist', ...flags] = process.argv.slice(2);
const RUNS = 3;
// First visits to time (each in a fresh browser context), then one reload after the last.
const VISITS = Number(flags.find((f) => f.startsWith('--visits='))?.slice('--visits='.length) ?? 1);
// An earlier build to interleave the first visits with, in place of this build served the old way.
const BASELINE = flags.find((f) => f.startsWith('--baseline='))?.slice('--baseline='.length);
const MBIT = Number(flags.find((f) => f.startsWith('--mbit='))?.slice('--mbit='.length) ?? 0);
const NETWORKS = flags.find((f) => f.startsWith('--networks='))?.slice('--networks='.length);
const COUNT = NETWORKS ? NETWORKS.split(',').length : 5;
const QUERY = NETWORKS ? `?bench=${NETWORKS}` : '';

function wasmSizes() {
  console.log('\n## wasm size (Brotli: the build\'s precompressed copy, scripts/post-build.sh)');
  for (const f of fs.readdirSync(root).filter((f) => f.endsWith('.wasm')).sort()) {
    const bytes = fs.readFileSync(path.join(root, f));
    const gz = zlib.gzipSync(bytes, { level: 9 }).length;
    const brFile = path.join(root, `${f}.br`);
    const br = fs.existsSync(brFile) ? `${(fs.statSync(brFile).size / 1e6).toFixed(2).padStart(6)} MB Brotli` : 'no Brotli copy';
    console.log(`${f.padEnd(36)} ${(bytes.length / 1e6).toFixed(2).padStart(7)} MB raw  ${(gz / 1e6).toFixed(2).padStart(6)} MB gzip  ${br}`);
  }
}

/** Resident memory of Chromium's renderer processes (page + worker), in MB. */
function rendererRss() {
  try {
    const out = execSync("ps -eo rss,args | grep -- '--type=renderer' | grep -v grep", { encoding: 'utf8' });
    return out.trim().split('\n').reduce((sum, line) => sum + Number(line.trim().split(/\s+/)[0]) / 1024, 0);
  } catch { return 0; }
}

async function loadTimes(browser, base) {
  console.log('\n## navigation to dataset ready (median of 3, fresh context each)');
  for (const [label, query] of [['Brotli (8.8 MB)', ''], ['gzip (11.6 MB)', '?gzip'], ['raw (55 MB)', '?raw']]) {
    const times = [];
    let peak = 0, loadMs = 0, heap = 0;
    for (let i = 0; i < RUNS; i++) {
      const sampler = setInterval(() => { peak = Math.max(peak, rendererRss()); }, 100);
      const t0 = Date.now();
      const { page, context } = await openPage(browser, base + query);
      await page.waitForSelector('#train-count', { timeout: 120_000 });
      times.push(Date.now() - t0);
      clearInterval(sampler);
      const cdp = await context.newCDPSession(page);
      await cdp.send('Performance.enable').catch(() => {});
      const metrics = (await cdp.send('Performance.getMetrics').catch(() => ({ metrics: [] }))).metrics ?? [];
      heap = Math.max(heap, (metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0) / 1e6);
      loadMs = await page.$eval('#data-facts', (e) => e.textContent.match(/in ([\d.]+ m?s)/)?.[1] ?? '?');
      await context.close();
    }
    times.sort((a, b) => a - b);
    console.log(`${label.padEnd(16)} ${String(times[1]).padStart(6)} ms  (runs ${times.join(', ')} ms; worker's own fetch+parse ${loadMs}; page JS heap ${heap.toFixed(1)} MB; peak renderer RSS ${peak.toFixed(0)} MB)`);
  }
}

/**
 * First and second visit, as issue 11 asks: bytes on the wire per asset (response bodies as
 * served, compressed where the server compresses; answers from the service worker's copy
 * count as none), navigation to dataset ready, and navigation to the first drawing read (a
 * stroke dispatched as soon as the reader names its network), and where each visit's time went
 * (`timeline`). The second visit is a reload
 * once the service worker has kept this build's files.
 */
async function visits(browser, base) {
  console.log(`\n## first and second visit (bytes on the wire per asset; times from navigation; ${MBIT ? `${MBIT} Mbit/s, 20 ms latency` : 'loopback'})`);
  // The baseline, interleaved with each first visit: what the page did before Brotli and the
  // shared compile, in this build. MNIST as gzip (?gzip), wasm and text gzipped by the server
  // (it ignores the Brotli copies), and each worker compiling worker_bg.wasm itself (the
  // page's compile is made to fail, which boot.js answers by handing the workers null).
  // With --baseline, that build served as this one is.
  const gzipServer = BASELINE ? await startServer(BASELINE) : await startServer(root, { precompressed: false });
  const baseline = `http://127.0.0.1:${gzipServer.address().port}/${BASELINE ? '' : '?gzip'}`;
  // The test server gzips each file on its first request; have it done before timing.
  for (const [server, dir] of [[base, root], [baseline.replace('?gzip', ''), BASELINE ?? root]]) {
    for (const name of fs.readdirSync(dir).filter((f) => /\.(wasm|js|css|html)$/.test(f))) await (await fetch(server + name)).arrayBuffer();
  }
  const eachCompiles = () => {
    WebAssembly.compileStreaming = () => Promise.reject(new Error('baseline: each worker compiles its own'));
    WebAssembly.compile = () => Promise.reject(new Error('baseline: each worker compiles its own'));
  };
  const label = BASELINE ? `baseline (${BASELINE})` : 'baseline (gzip, each worker compiles)';
  const firsts = { baseline: [], now: [] };
  // Which goes first alternates: the second visit of a pair was about 0.1 s sooner to a
  // reading whichever build it was (two runs with the builds' places swapped, 2026-12-06).
  for (let run = 1; run <= VISITS; run++) {
    const before = () => visitsOnce(browser, baseline, { label, init: BASELINE ? null : eachCompiles }).then((f) => firsts.baseline.push(f));
    const now = () => visitsOnce(browser, base, { label: 'this build', reload: run === VISITS }).then((f) => firsts.now.push(f));
    for (const visit of run % 2 ? [before, now] : [now, before]) await visit();
  }
  gzipServer.close();
  for (const [label, runs] of Object.entries(firsts)) {
    const median = (key) => runs.map((f) => f[key]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
    console.log(`${label}, first visit, median of ${runs.length}: reader named its network ${median('reader')} ms, first drawing read ${median('read')} ms, dataset ready ${median('ready')} ms; ${(median('total') / 1e6).toFixed(2)} MB on the wire`);
    console.log(`  on the page's clock (from navigation start), median of ${runs.length}: reader named its network ${median('pageReader')} ms, first drawing read ${median('pageRead')} ms, dataset shown ${median('pageReady')} ms`);
  }
}

/**
 * Installed in every visited page before its scripts run: notes when the page's wasm started,
 * when each worker was created and when each wasm compile finished, and when each worker first
 * said it listens, has started, has data coming and has its dataset, on the page's own clock
 * (performance.now(), from navigation start), for `describeTimeline`.
 */
function timeline() {
  const marks = (globalThis.__timeline = []);
  const note = (what) => marks.push([what, performance.now()]);
  // The page's thread busy for 50 ms or more at a time: what a worker's message waits behind.
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) marks.push([`page busy ${Math.round(e.duration)} ms from`, e.startTime]);
    }).observe({ type: 'longtask', buffered: true });
  } catch { /* no long-task timing here */ }
  // A build probed by hand may name moments inside its workers on this channel, as
  // [what, epoch ms] (performance.timeOrigin + performance.now() there): put on this clock.
  if (typeof BroadcastChannel === 'function') {
    new BroadcastChannel('mnist-studio-probe').onmessage = ({ data: [what, at] }) => marks.push([what, at - performance.timeOrigin]);
  }
  addEventListener('TrunkApplicationStarted', () => note('page wasm started'));
  for (const how of ['compileStreaming', 'compile']) {
    const compile = WebAssembly[how];
    WebAssembly[how] = (...args) => {
      const compiling = compile.apply(WebAssembly, args);
      compiling.then(() => note('workers\' wasm compiled'), () => {});
      return compiling;
    };
  }

  const Original = globalThis.Worker;
  globalThis.Worker = class extends Original {
    constructor(url, options) {
      super(url, options);
      const name = String(url).split('/').pop();
      note(`worker ${name} created`);
      // What the worker says when, up to its dataset: its first messages of each kind.
      const heard = new Set();
      this.addEventListener('message', (event) => {
        const kind = typeof event.data === 'string' ? event.data : Object.keys(event.data ?? {})[0];
        if (['Listening', 'Started', 'DataProgress', 'DataReady'].includes(kind) && !heard.has(kind)) {
          heard.add(kind);
          note(`${name.split('?')[0].replace(/_loader\.js$/, '')} ${kind}`);
        }
      });
    }
  };
  new MutationObserver(() => {
    if (!marks.some(([w]) => w === 'reader named') && document.querySelector('#reader')?.dataset.network) note('reader named');
    if (!marks.some(([w]) => w === 'answer shown') && document.querySelector('#answer')) note('answer shown');
    if (!marks.some(([w]) => w === 'dataset shown') && document.querySelector('#train-count')) note('dataset shown');
  }).observe(document, { subtree: true, childList: true, attributes: true });
}

/** The marks `timeline` took and the responses' arrival times, in order, as one line. */
function describeTimeline() {
  const responses = performance.getEntriesByType('resource')
    .filter((e) => /\.(wasm|weights)$|ubyte/.test(new URL(e.name).pathname))
    .map((e) => [`${new URL(e.name).pathname.split('/').pop()} in`, e.responseEnd]);
  return [...(globalThis.__timeline ?? []), ...responses]
    .sort((a, b) => a[1] - b[1])
    .map(([what, t]) => `${what} ${Math.round(t)}`)
    .join(', ');
}

/** One first visit in a fresh context, and the reload after it when `reload`. */
async function visitsOnce(browser, base, { label: name, reload = false, init = null }) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  if (init) await context.addInitScript(init);
  await context.addInitScript(timeline);
  const page = await context.newPage();
  if (MBIT) {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    const bytesPerSecond = (MBIT * 1e6) / 8;
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: bytesPerSecond, uploadThroughput: bytesPerSecond });
  }
  let bytes = new Map();
  context.on('requestfinished', async (request) => {
    const response = await request.response();
    if (!response) return;
    const sizes = await request.sizes().catch(() => null);
    const wire = response.fromServiceWorker() ? 0 : (sizes?.responseBodySize ?? 0) + (sizes?.responseHeadersSize ?? 0);
    const name = new URL(request.url()).pathname.split('/').pop() || 'index.html';
    bytes.set(name, (bytes.get(name) ?? 0) + wire);
  });
  const visit = async (label, go) => {
    bytes = new Map();
    const t0 = Date.now();
    await go();
    await page.waitForFunction(() => document.querySelector('#reader')?.dataset.network, null, { timeout: 120_000 });
    const reader = Date.now() - t0;
    // A 1, dispatched on the pad as soon as there is a network to read it.
    await page.evaluate(() => {
      const pad = document.querySelector('#pad');
      const r = pad.getBoundingClientRect();
      globalThis.__timeline?.push(['stroke dispatched', performance.now()]);
      const fire = (type, fy) => pad.dispatchEvent(new PointerEvent(type, { clientX: r.left + 0.5 * r.width, clientY: r.top + fy * r.height, pointerId: 1, pointerType: 'pen', isPrimary: true, bubbles: true, buttons: type === 'pointerup' ? 0 : 1 }));
      fire('pointerdown', 0.2);
      for (let i = 1; i <= 10; i++) fire('pointermove', 0.2 + i * 0.06);
      fire('pointerup', 0.8);
    });
    await page.waitForSelector('#answer', { timeout: 120_000 });
    const read = Date.now() - t0;
    await page.waitForSelector('#train-count', { timeout: 120_000 });
    const ready = Date.now() - t0;
    await page.waitForTimeout(1500); // late requests (the service worker's own fetches)
    const total = [...bytes.values()].reduce((a, b) => a + b, 0);
    // The same moments on the page's own clock (from navigation start): what a user sees,
    // without the bench's own round trips (starting the navigation, polling, dispatching).
    const onPage = await page.evaluate(() => Object.fromEntries((globalThis.__timeline ?? []).map(([w, t]) => [w, Math.round(t)])));
    const [pageReader, pageRead, pageReady] = [onPage['reader named'], onPage['answer shown'], onPage['dataset shown']];
    console.log(`${label}: reader named its network ${reader} ms, first drawing read ${read} ms, dataset ready ${ready} ms (on the page's clock: ${pageReader}, ${pageRead} and ${pageReady} ms); ${(total / 1e6).toFixed(2)} MB on the wire`);
    console.log(`  where the time went (ms from navigation start, the page's clock): ${await page.evaluate(describeTimeline)}`);
    for (const [name, n] of [...bytes.entries()].filter(([, n]) => n > 20_000).sort((a, b) => b[1] - a[1])) {
      console.log(`  ${name.padEnd(40)} ${(n / 1e6).toFixed(2).padStart(7)} MB`);
    }
    return { reader, read, ready, total, pageReader, pageRead, pageReady };
  };
  const first = await visit(`${name}: first visit`, () => page.goto(base));
  if (!reload) {
    await context.close();
    return first;
  }
  // The service worker keeps this build's files after the first load: wait until it has.
  await copyComplete(page);
  await visit(`${name}: second visit (reload)`, () => page.reload());
  await context.close();
  return first;
}

/**
 * Press Measure in the Speed panel twice and print the rows of both passes. The first pass
 * also warms the engine up: V8 runs wasm first with its baseline compiler and tiers hot
 * functions up in the background, so the first network measured in a fresh worker can look
 * slower than it is; the second pass is the steady state.
 */
async function measure(page, label) {
  await measureOnce(page, `${label} · pass 1`);
  await measureOnce(page, `${label} · pass 2`);
}

/**
 * Counts WebGPU work in a worker: wraps `dispatchWorkgroups(Indirect)` and `GPUQueue.submit`
 * (wasm-bindgen's glue looks methods up on the object at each call, so the wrappers see every
 * call made after this runs). Evaluated in each worker through the DevTools protocol, which the
 * page's Content-Security-Policy does not govern.
 */
function watchGpuWork(page) {
  const instrument = (worker) => worker.evaluate(countGpuWork).catch(() => {});
  page.workers().forEach(instrument);
  page.on('worker', instrument);
}

/** WebGPU dispatches and submits so far, summed over the page's workers. */
async function gpuWork(page) {
  const total = { dispatches: 0, submits: 0 };
  for (const c of await fromWorkers(page, () => globalThis.__gpuWork ?? null)) {
    total.dispatches += c.dispatches;
    total.submits += c.submits;
  }
  return total;
}

async function measureOnce(page, label) {
  await page.$eval('#bench', (d) => { d.open = true; });
  const before = await page.locator('#bench-results tbody tr').count().catch(() => 0);
  let work = await gpuWork(page);
  await page.click('#bench-run');
  // One snapshot of the WebGPU counters as each network's row appears: a measurement is 24
  // steps (1 first, 3 warm-up, 20 timed) and 3 reads, so a row's share divided by 24 is the
  // work per step (the next network's start may add a few dispatches to it).
  const perStep = [];
  for (let i = 1; i <= COUNT; i++) {
    await page.waitForFunction((n) => document.querySelectorAll('#bench-results tbody tr').length >= n, before + i, { timeout: 1_800_000 });
    const now = await gpuWork(page);
    perStep.push({ dispatches: (now.dispatches - work.dispatches) / 24, submits: (now.submits - work.submits) / 24 });
    work = now;
  }
  await page.waitForFunction(() => document.querySelector('#bench-run').textContent === 'Measure', null, { timeout: 1_800_000 });
  const rows = await page.$$eval('#bench-results tbody tr', (rs) => rs.map((r) => ({ ...r.dataset })));
  rows.slice(before).forEach((r, i) => {
    const ms = Number(r.ms);
    const w = perStep[i];
    const counted = w && w.dispatches > 0 ? `   ${w.dispatches.toFixed(0).padStart(5)} dispatches, ${w.submits.toFixed(1).padStart(5)} submits per step` : '';
    console.log(`${label.padEnd(24)} ${r.backend.padEnd(24)} ${r.threads.padStart(2)} thread(s)  ${r.network.padEnd(14)} first step ${Number(r.firstMs).toFixed(0).padStart(7)} ms   ${ms.toFixed(2).padStart(9)} ms/step   ${(64000 / ms).toFixed(0).padStart(6)} images/s${counted}`);
  });
}

async function trainingSpeed(browser, base) {
  console.log('\n## training speed in the browser (batch 64; first step includes kernel compilation)');
  const { page, context } = await openPage(browser, base + QUERY);
  watchGpuWork(page);
  await settled(page);
  const adapter = await page.textContent('#gpu-status');
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  console.log(`adapter: ${adapter.trim()}; navigator.hardwareConcurrency ${cores}`);
  if (!flags.includes('--no-cpu')) {
    await chooseBackend(page, 'cpu');
    for (let threads = 1; threads <= cores; threads++) {
      await chooseThreads(page, threads);
      await measure(page, 'isolated page');
    }
  }
  if (!flags.includes('--no-webgpu')) {
    await chooseBackend(page, 'webgpu');
    await measure(page, 'isolated page');
  }
  await context.close();
  if (flags.includes('--no-cpu')) return;
  // Without cross-origin isolation: the single-threaded worker build.
  const plain = await openPage(browser, `${base}plain/${QUERY}`);
  await chooseBackend(plain.page, 'cpu');
  await measure(plain.page, 'not isolated');
  await plain.context.close();
}

/**
 * Memory over several epochs of one run: the worker's wasm memory and burn's GPU buffers
 * (from the epoch log's memory cells), the page's JS heap (CDP) and the renderer processes'
 * RSS, after each epoch. Flat after the first epoch means nothing leaks per epoch.
 */
async function memoryOverEpochs(browser, base, { backend, network, subset, epochs }) {
  const { page, context } = await openPage(browser, base);
  await configureRun(page, { backend, network, subset, epochs, lr: 0.05 });
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.click('#start');
  console.log(`\n${backend} · ${network} · ${subset} images · ${epochs} epochs`);
  console.log('epoch   worker wasm MB   GPU in use MB   GPU held MB   page JS heap MB   renderer RSS MB');
  const rows = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    await page.waitForFunction((n) => document.querySelectorAll('#epoch-log td.memory').length >= n, epoch, { timeout: 1_800_000 });
    const cell = await page.$eval(`#epoch-log tbody tr:nth-child(${epoch}) td.memory`, (td) => ({ ...td.dataset }));
    const metrics = (await cdp.send('Performance.getMetrics')).metrics;
    const row = {
      wasm: Number(cell.wasm) / 1e6,
      inUse: cell.gpuInUse ? Number(cell.gpuInUse) / 1e6 : NaN,
      held: cell.gpuReserved ? Number(cell.gpuReserved) / 1e6 : NaN,
      heap: metrics.find((m) => m.name === 'JSHeapUsedSize').value / 1e6,
      rss: rendererRss(),
    };
    rows.push(row);
    const f = (v) => (Number.isNaN(v) ? '-' : v.toFixed(1)).padStart(14);
    console.log(`${String(epoch).padStart(5)} ${f(row.wasm)}   ${f(row.inUse)}  ${f(row.held)}  ${f(row.heap)}    ${f(row.rss)}`);
  }
  const [second, last] = [rows[1], rows.at(-1)];
  const growth = (k) => (Number.isNaN(second[k]) ? '-' : (last[k] - second[k]).toFixed(1));
  console.log(`growth from epoch 2 to ${epochs}: wasm ${growth('wasm')} MB, GPU in use ${growth('inUse')} MB, GPU held ${growth('held')} MB, JS heap ${growth('heap')} MB, RSS ${growth('rss')} MB`);
  await context.close();
}

async function memory(browser, base) {
  console.log('\n## memory over a run (after each epoch)');
  await memoryOverEpochs(browser, base, { backend: 'cpu', network: 'vgg', subset: '500', epochs: 6 });
  await memoryOverEpochs(browser, base, { backend: 'webgpu', network: 'linear', subset: '500', epochs: 6 });
  if (flags.includes('--gpu-vgg')) await memoryOverEpochs(browser, base, { backend: 'webgpu', network: 'vgg', subset: '500', epochs: 4 });
}

/**
 * From the last pointer event of a stroke to the bars showing the network's reading: median
 * and worst over `trials` strokes, dispatched as real PointerEvents on the pad in the page.
 * With `inside` (the inside view open), also to the inside view of the last reading shown.
 */
async function strokeLatencies(page, trials, inside = false) {
  return page.evaluate(async ([trials, inside]) => {
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const pad = document.querySelector('#pad');
    const out = [];
    for (let t = 0; t < trials; t++) {
      const clear = document.querySelector('#clear');
      if (clear && !clear.disabled) clear.click();
      await sleep(150);
      const r = pad.getBoundingClientRect();
      const fire = (type, fx, fy) => pad.dispatchEvent(new PointerEvent(type, {
        clientX: r.left + fx * r.width, clientY: r.top + fy * r.height, pointerId: 1,
        pointerType: 'pen', isPrimary: true, bubbles: true, buttons: type === 'pointerup' ? 0 : 1,
      }));
      const x = 0.3 + (t % 5) * 0.08;
      // The reading is shown when #answer appears (Clear removed it): earlier mutations are
      // the pad's own re-render (Undo and Clear enabled), not the network's answer.
      let shown = 0;
      const watch = new MutationObserver(() => { if (!shown && document.querySelector('#answer')) shown = performance.now(); });
      watch.observe(document.querySelector('#draw'), { subtree: true, attributes: true, childList: true, characterData: true });
      fire('pointerdown', x, 0.2);
      for (let i = 1; i <= 10; i++) fire('pointermove', x + i * 0.01, 0.2 + i * 0.06);
      fire('pointerup', x + 0.1, 0.8);
      const t0 = performance.now();
      const deadline = t0 + 30_000;
      while (!(shown && document.querySelector('#answer')) && performance.now() < deadline) await sleep(2);
      watch.disconnect();
      // The training step time the run view shows as this stroke is read (NaN when idle).
      const step = Number(document.querySelector('#ms-per-step')?.textContent);
      if (!inside) { out.push([shown ? shown - t0 : NaN, step]); continue; }
      // The inside view of the last reading: the first moment the view's drawing caught up
      // with the answer's, once that has held for 60 ms (a later reading of the finished
      // stroke may still come, and starts the wait again).
      let seen = 0, since = performance.now();
      const limit = Math.min(deadline, performance.now() + 5_000);
      while (performance.now() < limit) {
        const answer = Number(document.querySelector('#answer')?.dataset.id);
        const view = Number(document.querySelector('#inside .inside')?.dataset.id);
        if (view >= answer) {
          seen ||= performance.now();
          if (performance.now() - since > 60) break;
        } else {
          seen = 0;
          since = performance.now();
        }
        await sleep(2);
      }
      if (!seen) console.log(`inside view not caught up: answer ${document.querySelector('#answer')?.dataset.id}, view ${document.querySelector('#inside .inside')?.dataset.id}, ${document.querySelector('#inside')?.textContent.slice(0, 120)}`);
      const worker = Number(document.querySelector('#inside-time')?.textContent.match(/in (\d+) ms/)?.[1]);
      out.push([shown ? shown - t0 : NaN, seen ? seen - t0 : NaN, worker, step]);
    }
    return out;
  }, [trials, inside]);
}

async function drawLatency(browser, base) {
  console.log('\n## drawing to prediction (pointerup to the bars updated; median / worst of 20 strokes)');
  const { page, context } = await openPage(browser, base);
  await settled(page);
  await page.waitForFunction(() => document.querySelector('#reader')?.dataset.network, null, { timeout: 60_000 });
  const report = (label, ms) => {
    const sorted = ms.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
    const lost = ms.length - sorted.length;
    console.log(`${label.padEnd(44)} median ${sorted[sorted.length >> 1].toFixed(1).padStart(7)} ms   worst ${sorted.at(-1).toFixed(1).padStart(7)} ms${lost ? `   (${lost} never answered)` : ''}`);
  };
  // With the inside view open: the reading first, then the view (the stroke's last pointer
  // event to the view of its last reading shown, whose timing is printed separately).
  const withInside = async (label) => {
    await page.click('#inside-toggle');
    const pairs = await strokeLatencies(page, 20, true);
    report(`${label}, inside view open: reading`, pairs.map((p) => p[0]));
    report(`${label}, inside view open: inside view`, pairs.map((p) => p[1]));
    report(`${label}, inside view open: the reader's own time for it`, pairs.map((p) => p[2]));
    await page.click('#inside-toggle');
    return pairs.map((p) => p[3]);
  };
  report('idle (reading with the default network)', (await strokeLatencies(page, 20)).map((p) => p[0]));
  await withInside('idle');
  const threads = await page.evaluate(() => navigator.hardwareConcurrency);
  // VGG first: stopped before its first epoch ends, it leaves the default network reading,
  // whose inside view is the one measured (a linear run on all 60,000 images finishes epochs
  // in seconds, and its network would then read).
  for (const [backend, network] of [['cpu', 'vgg'], ['cpu', 'linear'], ['webgpu', 'linear']]) {
    await configureRun(page, { backend, network, subset: '0' });
    await page.click('#start');
    await page.waitForFunction(() => document.querySelector('#run')?.dataset.status === 'running' && Number(document.querySelector('#epoch-progress')?.value) > 0.004, null, { timeout: 300_000 });
    const label = `while training ${network} on ${backend}${backend === 'cpu' ? ` (${threads} threads)` : ''}`;
    const plain = await strokeLatencies(page, 20);
    report(label, plain.map((p) => p[0]));
    if (network === 'vgg') {
      // What looking inside costs the training: the step time the run view shows as each
      // stroke is read, without and with the view (20 strokes drawn back to back each).
      const steps = await withInside(label);
      const median = (xs) => xs.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b)[xs.length >> 1]?.toFixed(1);
      console.log(`  (training ms/step while the strokes were read, median: ${median(plain.map((p) => p[1]))} without the inside view, ${median(steps)} with it)`);
    }
    await page.click('#stop');
    await page.waitForFunction(() => !['starting', 'running', 'stopping', 'paused'].includes(document.querySelector('#run')?.dataset.status), null, { timeout: 300_000 });
  }
  await context.close();
}

/**
 * A real run's speed on WebGPU: the run view's ms/step, which the trainer reports every 25
 * steps (the mean over them, bookkeeping included: the Speed panel times the training step
 * alone), and the WebGPU dispatches and submissions per step over the same reports. Each
 * network trains on all 60,000 images, as a user's run does (a subset reports every 5 steps);
 * the first report (kernels compiled, V8 not yet warm) is left out, then the median of the
 * next `reports`.
 */
async function runSpeedOnce(browser, base, label, network, reports = 8) {
  const { page, context } = await openPage(browser, base);
  watchGpuWork(page);
  await configureRun(page, { backend: 'webgpu', network, subset: '0' });
  await page.click('#start');
  const report = async (after) => {
    await page.waitForFunction((n) => {
      const text = document.querySelector('#ms-per-step')?.textContent.trim();
      return text && text !== '—' && Number(document.querySelector('#epoch-progress')?.value) !== n;
    }, after, { timeout: 600_000, polling: 20 });
    return page.evaluate(() => ({ ms: Number(document.querySelector('#ms-per-step').textContent.replace(/,/g, '')), at: Number(document.querySelector('#epoch-progress').value) }));
  };
  let last = await report(-1);
  const first = await gpuWork(page);
  const times = [];
  for (let i = 0; i < reports; i++) {
    last = await report(last.at);
    times.push(last.ms);
  }
  const work = await gpuWork(page);
  const steps = 25 * reports;
  const sorted = [...times].sort((a, b) => a - b);
  console.log(`${label.padEnd(28)} ${network.padEnd(8)} run view: median ${sorted[sorted.length >> 1].toFixed(2).padStart(8)} ms/step (${times.map((t) => t.toFixed(2)).join(' ')})   ${((work.dispatches - first.dispatches) / steps).toFixed(1)} dispatches, ${((work.submits - first.submits) / steps).toFixed(2)} submits per step`);
  await page.click('#stop');
  await context.close();
}

async function runSpeed(browser, base) {
  console.log('\n## a run\'s own speed on WebGPU (the run view\'s ms/step, 25-step means after the first; dispatches per step)');
  const other = BASELINE ? await startServer(BASELINE) : null;
  const chosen = flags.find((f) => f.startsWith('--run-speed='))?.slice('--run-speed='.length) ?? 'linear';
  for (const network of chosen.split(',')) {
    for (let round = 0; round < (other ? 2 : 1); round++) {
      if (other) await runSpeedOnce(browser, `http://127.0.0.1:${other.address().port}/`, `baseline (${BASELINE})`, network);
      await runSpeedOnce(browser, base, 'this build', network);
    }
  }
  other?.close();
}

wasmSizes();
const server = await startServer(root);
const base = `http://127.0.0.1:${server.address().port}/`;
const browser = await launch();
if (!flags.includes('--no-load')) await loadTimes(browser, base);
if (!flags.includes('--no-visits')) await visits(browser, base);
if (!flags.includes('--no-draw')) await drawLatency(browser, base);
if (!flags.includes('--no-memory')) await memory(browser, base);
if (!flags.includes('--no-train')) await trainingSpeed(browser, base);
if (flags.some((f) => f.startsWith('--run-speed'))) await runSpeed(browser, base);
await browser.close();
server.close();
