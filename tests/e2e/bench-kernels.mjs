// Where a WebGPU training step goes, kernel by kernel (a measurement, not a test): the
// Speed panel's figure for one network, with the worker's dispatches counted per compute
// pipeline (named by its entry point, which cubecl derives from the kernel's name), and,
// with --twice=PREFIX, every dispatch of the pipelines whose name starts with PREFIX issued
// twice. Dispatching a kernel twice adds its own cost to the step, so running this once per
// kernel against a run without --twice gives each kernel's share (the second run of a kernel
// that accumulates, the loss's tally or SGD, changes the numbers trained on, not the timing).
// Three passes of the panel per page (--passes=N); the counts are the last pass's.
// usage: node tests/e2e/bench-kernels.mjs DIST [--networks=linear] [--twice=PREFIX] [--passes=N]
import { launch, openPage } from './browser.mjs';
import { startServer } from './server.mjs';
import { settled, chooseBackend } from './studio.mjs';
import { fromWorkers } from './gpu-work.mjs';

const [root = 'dist', ...flags] = process.argv.slice(2);
const option = (name, fallback) => flags.find((f) => f.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const NETWORKS = option('networks', 'linear');
const TWICE = option('twice', '');
const PASSES = Number(option('passes', '3'));
// Steps per Speed-panel measurement: 1 first, 3 warm-up, 20 timed.
const STEPS = 24;

/** Runs in each worker (sent as source by Playwright): self-contained. */
function instrument(twice) {
  if (globalThis.__perPipeline || typeof GPUDevice === 'undefined') return;
  const counts = (globalThis.__perPipeline = {});
  const named = (pipeline, descriptor) => { pipeline.__name = descriptor?.compute?.entryPoint ?? '?'; return pipeline; };
  const create = GPUDevice.prototype.createComputePipeline;
  GPUDevice.prototype.createComputePipeline = function (d) { return named(create.call(this, d), d); };
  const createAsync = GPUDevice.prototype.createComputePipelineAsync;
  GPUDevice.prototype.createComputePipelineAsync = async function (d) { return named(await createAsync.call(this, d), d); };
  const set = GPUComputePassEncoder.prototype.setPipeline;
  GPUComputePassEncoder.prototype.setPipeline = function (p) { this.__pipeline = p.__name ?? '?'; return set.call(this, p); };
  const dispatch = GPUComputePassEncoder.prototype.dispatchWorkgroups;
  GPUComputePassEncoder.prototype.dispatchWorkgroups = function (x, y = 1, z = 1) {
    const c = (counts[this.__pipeline] ??= { dispatches: 0, workgroups: 0 });
    c.dispatches += 1;
    c.workgroups += x * y * z;
    if (twice && this.__pipeline.startsWith(twice)) dispatch.call(this, x, y, z);
    return dispatch.call(this, x, y, z);
  };
}

async function counted(page) {
  const total = {};
  for (const c of await fromWorkers(page, () => globalThis.__perPipeline ?? null)) {
    for (const [name, v] of Object.entries(c)) {
      const t = (total[name] ??= { dispatches: 0, workgroups: 0 });
      t.dispatches += v.dispatches;
      t.workgroups += v.workgroups;
    }
  }
  return total;
}

const server = await startServer(root);
const browser = await launch();
try {
  const { page } = await openPage(browser, `http://127.0.0.1:${server.address().port}/?bench=${NETWORKS}`);
  const each = (worker) => worker.evaluate(instrument, TWICE).catch(() => {});
  page.workers().forEach(each);
  page.on('worker', each);
  await settled(page);
  await chooseBackend(page, 'webgpu');
  for (let pass = 1; pass <= PASSES; pass++) {
    await page.$eval('#bench', (d) => { d.open = true; });
    const before = await counted(page);
    await page.click('#bench-run');
    await page.waitForFunction(() => document.querySelector('#bench-run').textContent === 'Measure', null, { timeout: 1_800_000 });
    const after = await counted(page);
    const rows = await page.$$eval('#bench-results tbody tr', (rs) => rs.map((r) => ({ ...r.dataset })));
    for (const r of rows.slice(-NETWORKS.split(',').length)) {
      console.log(`twice=${TWICE || 'none'} pass ${pass}: ${r.network} ${r.ms} ms/step (first step ${r.firstMs} ms)`);
    }
    if (pass < PASSES) continue;
    for (const [name, v] of Object.entries(after).sort((a, b) => b[1].dispatches - a[1].dispatches)) {
      const d = v.dispatches - (before[name]?.dispatches ?? 0);
      if (d === 0) continue;
      const w = (v.workgroups - (before[name]?.workgroups ?? 0)) / d;
      console.log(`  ${(d / STEPS).toFixed(2).padStart(6)} dispatches per step, ${w.toFixed(0).padStart(6)} workgroups each  ${name}`);
    }
  }
} finally {
  await browser.close();
  server.close();
}
