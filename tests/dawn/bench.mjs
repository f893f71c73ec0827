// This app's training step and TensorFlow.js 4.22's, over the same Dawn (the WebGPU
// implementation inside Chrome, as the npm package `webgpu`) in Node, without a browser:
// batch 64, the same networks, the same timing (the first step alone, 3 warm-up steps, then
// timed steps ended by one read). Prints ms/step, images/s, the first step, and WebGPU
// dispatches and queue submissions per step, for figures to set beside bench.mjs's.
//
// Why: a machine with a real GPU and no browser (a lent GPU server) can run it, and Dawn in
// Node is what Chrome would run on that GPU. On this repository's machines Dawn finds
// SwiftShader through the Vulkan driver Debian's chromium ships (`--swiftshader`).
//
// usage: node tests/dawn/bench.mjs [--swiftshader] [--networks=linear,vgg] [--vgg-steps=N]
//                                  [--no-tfjs] [--wasm=DIR] [--tfjs=DIR] [--data=DIR]
//   --wasm=DIR  a prebuilt `wasm-bindgen --target nodejs` output (dawn_bench.js and its
//               wasm), for a machine without the Rust toolchain; otherwise it is built here.
//   --tfjs=DIR  a node_modules holding TensorFlow.js's two browser bundles (and bench.js
//               beside it, as in tests/e2e/tfjs); --data=DIR the MNIST training files.
//   tests/dawn/pack.sh puts all of it, Node and Dawn in one folder for a machine with a GPU.
// Installs `webgpu` into tests/dawn/node_modules on first use (and TensorFlow.js into
// tests/e2e/tfjs/node_modules unless --no-tfjs), never during setup or CI.
import { execSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { countGpuWork } from '../e2e/gpu-work.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const flags = process.argv.slice(2);
const option = (name) => flags.find((f) => f.startsWith(`--${name}=`))?.slice(name.length + 3);
const NETWORKS = (option('networks') ?? 'linear,vgg').split(',');
const VGG_STEPS = Number(option('vgg-steps') ?? 20);
const BATCH = 64;
const WARMUP = 3;

const chromium = '/usr/lib/chromium';
if (flags.includes('--swiftshader') && !(process.env.LD_LIBRARY_PATH ?? '').split(':').includes(chromium)) {
  // The dynamic loader reads LD_LIBRARY_PATH only when a process starts (Dawn opens the
  // Vulkan loader beside chromium's SwiftShader with dlopen): run again with it set.
  const env = {
    ...process.env,
    VK_ICD_FILENAMES: `${chromium}/vk_swiftshader_icd.json`,
    LD_LIBRARY_PATH: [chromium, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
  };
  const run = spawnSync(process.execPath, process.argv.slice(1), { env, stdio: 'inherit' });
  process.exit(run.status ?? 1);
}
// Packed (tests/dawn/pack.sh) it sits beside this file; here npm installs it.
const packed = path.join(here, 'webgpu/index.js');
if (!fs.existsSync(packed) && !fs.existsSync(path.join(here, 'node_modules/webgpu'))) {
  execSync('npm install --no-audit --no-fund', { cwd: here, stdio: 'inherit' });
}
const { create, globals } = await import(fs.existsSync(packed) ? packed : path.join(here, 'node_modules/webgpu/index.js'));

// The browser's globals that our wasm and TensorFlow.js look for: WebGPU's classes and
// constants, `navigator.gpu`, and (for wgpu, which finds `navigator` through the global
// scope's kind) a `Window` constructor.
Object.assign(globalThis, globals);
const gpu = create([]);
Object.defineProperty(globalThis, 'navigator', { value: { gpu, hardwareConcurrency: os.cpus().length }, configurable: true });
globalThis.Window ??= class Window {};

const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) {
  console.error('Dawn found no WebGPU adapter (on a machine without a GPU, try --swiftshader).');
  process.exit(1);
}
const adapterName = `${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description}`.trim();

// WebGPU work, counted the same way bench.mjs counts it in the browser.
countGpuWork();
const counts = globalThis.__gpuWork ?? { dispatches: 0, submits: 0 };
const perStep = (before, steps) =>
  `${((counts.dispatches - before.dispatches) / steps).toFixed(0).padStart(5)} dispatches, ${((counts.submits - before.submits) / steps).toFixed(1).padStart(5)} submits per step`;
const row = (who, kind, firstMs, ms, work) =>
  `${who.padEnd(28)} ${kind.padEnd(8)} first step ${firstMs.toFixed(0).padStart(7)} ms   ${ms.toFixed(2).padStart(9)} ms/step   ${(BATCH * 1000 / ms).toFixed(0).padStart(6)} images/s   ${work}`;

console.log(`## Training speed over Dawn in Node (${process.version}, batch ${BATCH}; adapter: ${adapterName}; ${os.cpus().length} CPU cores)`);

// This app: the wasm build of the training step (tests/dawn/bench.rs).
let wasmDir = option('wasm');
if (!wasmDir) {
  wasmDir = path.join(root, 'target/dawn');
  execSync('cargo build --release --target wasm32-unknown-unknown --features webgpu --example dawn_bench', { cwd: root, stdio: 'inherit' });
  execSync(`wasm-bindgen --target nodejs --no-typescript --out-dir ${wasmDir} target/wasm32-unknown-unknown/release/examples/dawn_bench.wasm`, { cwd: root, stdio: 'inherit' });
}
const require = createRequire(import.meta.url);
const app = require(path.resolve(wasmDir, 'dawn_bench.js'));
const data = (name) => fs.readFileSync(path.join(option('data') ?? path.join(root, 'www/data'), name));
const images = data('train-images-idx3-ubyte.gz');
const labels = data('train-labels-idx1-ubyte.gz');
for (const kind of NETWORKS) {
  const timed = kind === 'linear' ? 20 : VGG_STEPS;
  const before = { ...counts };
  try {
    const r = await app.measure(images, labels, kind, BATCH, BATCH * 8, WARMUP, timed);
    // bench.rs reads the loss back after the first step, after the warm-up and after the
    // timed steps: 1 + WARMUP + timed steps in all.
    console.log(row('mnist-studio (burn)', kind, r.first_step_ms, r.ms_per_step, perStep(before, 1 + WARMUP + timed)));
  } catch (e) {
    console.log(`${'mnist-studio (burn)'.padEnd(28)} ${kind.padEnd(8)} failed: ${e?.message ?? e}`);
  }
}

// TensorFlow.js's WebGPU backend on the same Dawn, with the page benchmark's own networks
// (tests/e2e/tfjs/bench.js).
if (!flags.includes('--no-tfjs')) {
  const tfjsDir = path.join(root, 'tests/e2e/tfjs');
  const tfjsModules = path.resolve(option('tfjs') ?? path.join(tfjsDir, 'node_modules'));
  if (!fs.existsSync(path.join(tfjsModules, '@tensorflow/tfjs'))) {
    execSync('npm install --no-audit --no-fund', { cwd: tfjsDir, stdio: 'inherit' });
  }
  // The browser bundles the page benchmark loads (tests/e2e/tfjs/index.html), run as classic
  // scripts in this context: the same code as in the browser, and two files to carry.
  globalThis.window = globalThis;
  // The bundle sees Node's `process` and asks for Node's modules (util, for one).
  globalThis.require = createRequire(path.join(tfjsModules, 'index.js'));
  for (const file of ['@tensorflow/tfjs/dist/tf.min.js', '@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js', '../bench.js']) {
    vm.runInThisContext(fs.readFileSync(path.join(tfjsModules, file), 'utf8'), { filename: file });
  }
  for (const kind of NETWORKS) {
    const timed = kind === 'linear' ? 20 : Math.min(VGG_STEPS, 10);
    const before = { ...counts };
    try {
      const r = await globalThis.measure('webgpu', kind, BATCH, WARMUP, timed);
      console.log(row(`TensorFlow.js ${tf.version.tfjs} webgpu`, kind, r.firstMs, r.ms, perStep(before, 1 + WARMUP + timed)));
    } catch (e) {
      console.log(`${'TensorFlow.js webgpu'.padEnd(28)} ${kind.padEnd(8)} failed: ${e?.message ?? e}`);
    }
  }
}
// Dawn and the message ports of the wasm's event-loop yields keep Node alive.
process.exit(0);
