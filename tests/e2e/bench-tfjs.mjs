// The reference to beat: TensorFlow.js 4.22 training the same networks at batch 64 in the same
// headless Chromium, on its WebGPU backend and its wasm (SIMD) CPU backend. Prints figures to
// set beside bench.mjs's. Installs TensorFlow.js into tests/e2e/tfjs/node_modules on first use.
// WebGPU dispatches and queue submissions per step are counted by wrapping the page's
// GPUComputePassEncoder / GPUQueue methods (bench.mjs counts this app's the same way).
// usage: node tests/e2e/bench-tfjs.mjs [--backends=webgpu,wasm,cpu] [--networks=linear,vgg] [--vgg-steps=N]
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './server.mjs';
import { launch, openPage } from './browser.mjs';
import { countGpuWork } from './gpu-work.mjs';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'tfjs');
if (!fs.existsSync(path.join(dir, 'node_modules/@tensorflow/tfjs'))) {
  execSync('npm install --no-audit --no-fund', { cwd: dir, stdio: 'inherit' });
}
const server = await startServer(dir, { headers: {} });
const browser = await launch();
const { page, context } = await openPage(browser, `http://127.0.0.1:${server.address().port}/`);
await page.waitForFunction(() => typeof window.measure === 'function');
const adapter = await page.evaluate(async () => {
  const a = await navigator.gpu?.requestAdapter();
  return a ? `${a.info?.vendor} ${a.info?.architecture} ${a.info?.description}`.trim() : 'none';
});
console.log(`\n## TensorFlow.js ${await page.evaluate(() => tf.version.tfjs)} training speed (batch 64; adapter: ${adapter})`);
// wasm is TensorFlow.js's fast CPU backend but cannot train convolutions (no
// Conv2DBackpropFilter kernel); cpu is its plain-JavaScript one.
const flags = process.argv.slice(2);
const BACKENDS = flags.find((f) => f.startsWith('--backends='))?.slice('--backends='.length).split(',') ?? ['wasm', 'cpu', 'webgpu'];
const VGG_STEPS = Number(flags.find((f) => f.startsWith('--vgg-steps='))?.slice('--vgg-steps='.length) ?? 0);
const NETWORKS = flags.find((f) => f.startsWith('--networks='))?.slice('--networks='.length).split(',') ?? ['linear', 'vgg'];
await page.evaluate(countGpuWork);
const work = () => page.evaluate(() => ({ dispatches: 0, submits: 0, ...globalThis.__gpuWork }));
for (const backend of BACKENDS) {
  for (const kind of NETWORKS) {
    const warmup = backend === 'cpu' && kind === 'vgg' ? 1 : 3;
    const timed = kind === 'vgg' ? (VGG_STEPS || (backend === 'cpu' ? 3 : 10)) : 20;
    const before = await work();
    const r = await page.evaluate(([b, k, w, t]) => window.measure(b, k, 64, w, t).catch((e) => ({ error: String(e.message ?? e) })), [backend, kind, warmup, timed])
      .catch((e) => ({ error: `the page died (${String(e.message ?? e).split('\n')[0]})` }));
    const after = await work().catch(() => before);
    if (r.error) { console.log(`tfjs ${backend.padEnd(8)} ${kind.padEnd(8)} cannot train: ${r.error}`); continue; }
    // Per step over every step measure() ran (1 first, the warm-up and the timed ones).
    const steps = 1 + warmup + timed;
    const counted = after.dispatches > before.dispatches
      ? `   ${((after.dispatches - before.dispatches) / steps).toFixed(0).padStart(5)} dispatches, ${((after.submits - before.submits) / steps).toFixed(1).padStart(5)} submits per step`
      : '';
    console.log(`tfjs ${r.backend.padEnd(8)} ${r.kind.padEnd(8)} first step ${r.firstMs.toFixed(0).padStart(7)} ms   ${r.ms.toFixed(2).padStart(9)} ms/step   ${(64000 / r.ms).toFixed(0).padStart(6)} images/s${counted}`);
  }
}
await context.close().catch(() => {});
await browser.close();
server.close();
