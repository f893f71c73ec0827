// One element-wise pass (a ReLU backward: `o = y > 0 ? dy : 0` over conv2's output gradient,
// 1.18 million values) written several ways in WGSL, timed over Dawn in Node: what an
// element-wise kernel should look like on a software adapter. Prints ms per pass (5 timed
// batches of 5 passes, sorted) and ns per value, with a buffer copy of the same size beside.
//
// Why: on SwiftShader (Chromium's software WebGPU, the adapter of every machine here) each
// load or store whose address depends on the invocation is a per-lane gather or scatter, and
// its cost is per access rather than per byte; this shows how much a `vec4` per invocation,
// a workgroup size or a loop per invocation changes (results/browser/bench-webgpu-vec4.txt).
//
// usage: node tests/dawn/bench-elementwise.mjs [VARIANT...]   (runs itself with SwiftShader's
//        Vulkan driver from Debian's chromium; installs npm `webgpu` on first use, as bench.mjs)
import { execSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const chromium = '/usr/lib/chromium';
if (!(process.env.LD_LIBRARY_PATH ?? '').split(':').includes(chromium)) {
  const env = { ...process.env, VK_ICD_FILENAMES: `${chromium}/vk_swiftshader_icd.json`, LD_LIBRARY_PATH: [chromium, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
  process.exit(spawnSync(process.execPath, process.argv.slice(1), { env, stdio: 'inherit' }).status ?? 1);
}
if (!fs.existsSync(path.join(here, 'node_modules/webgpu'))) execSync('npm install --no-audit --no-fund', { cwd: here, stdio: 'inherit' });
const { create, globals } = await import(path.join(here, 'node_modules/webgpu/index.js'));
Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter();
const info = adapter.info ?? {};
console.log('adapter', info.vendor, info.architecture, info.device, info.description);
const device = await adapter.requestDevice();
const N = 64 * 32 * 24 * 24; // conv2's output gradient
const mk = (size, usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST) => device.createBuffer({ size, usage });
const y = mk(N * 4), dy = mk(N * 4), out = mk(N * 4 * 2);
const rb = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
// Dawn's objects must outlive the awaits below.
globalThis.keep = [gpu, adapter, device];
const init = new Float32Array(N); for (let i = 0; i < N; i++) init[i] = Math.sin(i);
device.queue.writeBuffer(y, 0, init); device.queue.writeBuffer(dy, 0, init);
/** The three buffers every variant binds: the ReLU's output, its gradient, the result. */
const bindings = (type) => `@group(0) @binding(0) var<storage, read> y: array<${type}>;
@group(0) @binding(1) var<storage, read> dy: array<${type}>;
@group(0) @binding(2) var<storage, read_write> o: array<${type}>;`;

const variants = {
  // like relu_kernel: 256 per group, one value each, 2D grid, bounds check
  one256: { wg: 256, per: 1, code: `
${bindings('f32')}
@compute @workgroup_size(256) fn main(@builtin(workgroup_id) g: vec3u, @builtin(local_invocation_index) l: u32) {
  let i = (g.y * 32768u + g.x) * 256u + l;
  if (i < ${N}u) { let v = y[i]; o[i] = select(0.0, dy[i], v > 0.0); }
}` },
  one64: { wg: 64, per: 1, code: `
${bindings('f32')}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i < ${N}u) { let v = y[i]; o[i] = select(0.0, dy[i], v > 0.0); }
}` },
  vec4_64: { wg: 64, per: 4, code: `
${bindings('vec4f')}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i < ${N / 4}u) { let v = y[i]; o[i] = select(vec4f(0.0), dy[i], v > vec4f(0.0)); }
}` },
  loop16: { wg: 64, per: 16, code: `
${bindings('f32')}
@compute @workgroup_size(64) fn main(@builtin(workgroup_id) g: vec3u, @builtin(local_invocation_index) l: u32) {
  let base = g.x * 1024u + l;
  for (var k = 0u; k < 16u; k++) { let i = base + k * 64u; if (i < ${N}u) { let v = y[i]; o[i] = select(0.0, dy[i], v > 0.0); } }
}` },
  vec4loop: { wg: 64, per: 64, code: `
${bindings('vec4f')}
@compute @workgroup_size(64) fn main(@builtin(workgroup_id) g: vec3u, @builtin(local_invocation_index) l: u32) {
  let base = g.x * 1024u + l;
  for (var k = 0u; k < 16u; k++) { let i = base + k * 64u; if (i < ${N / 4}u) { let v = y[i]; o[i] = select(vec4f(0.0), dy[i], v > vec4f(0.0)); } }
}` },
  checked256: { wg: 256, per: 1, code: `
${bindings('f32')}
@compute @workgroup_size(256) fn main(@builtin(workgroup_id) g: vec3u, @builtin(local_invocation_index) l: u32) {
  let i = (g.y * 32768u + g.x) * 256u + l;
  if (i < ${N}u) { let v = select(0.0, y[i], i < arrayLength(&y)); let d = select(0.0, dy[i], i < arrayLength(&dy)); if (i < arrayLength(&o)) { o[i] = select(0.0, d, v > 0.0); } }
}` },
  vec4_256: { wg: 256, per: 4, code: `
${bindings('vec4f')}
@compute @workgroup_size(256) fn main(@builtin(workgroup_id) g: vec3u, @builtin(local_invocation_index) l: u32) {
  let i = (g.y * 32768u + g.x) * 256u + l;
  if (i < ${N / 4}u) { let v = y[i]; o[i] = select(vec4f(0.0), dy[i], v > vec4f(0.0)); }
}` },
  copy: { copy: true },
};
const which = process.argv.slice(2);
for (const [name, v] of Object.entries(variants)) {
  if (which.length && !which.includes(name)) continue;
  let run;
  if (v.copy) {
    run = (enc) => enc.copyBufferToBuffer(y, 0, out, 0, N * 4);
  } else {
    const pipe = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: v.code }), entryPoint: 'main' } });
    const bg = device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [y, dy, out].map((b, i) => ({ binding: i, resource: { buffer: b } })) });
    const groups = Math.ceil(N / (v.wg * v.per));
    run = (enc) => { const p = enc.beginComputePass(); p.setPipeline(pipe); p.setBindGroup(0, bg); p.dispatchWorkgroups(Math.min(groups, 32768), Math.ceil(groups / 32768)); p.end(); };
  }
  const step = async (reps) => { const enc = device.createCommandEncoder(); for (let r = 0; r < reps; r++) run(enc); enc.copyBufferToBuffer(out, 0, rb, 0, 16); device.queue.submit([enc.finish()]); await rb.mapAsync(GPUMapMode.READ); rb.unmap(); };
  await step(1);
  const times = [];
  for (let t = 0; t < 5; t++) { const t0 = performance.now(); await step(5); times.push((performance.now() - t0) / 5); }
  times.sort((a, b) => a - b);
  console.log(name.padEnd(10), 'ms per pass', times.map((x) => x.toFixed(2)).join(' '), ' ns/elem', (times[2] * 1e6 / N).toFixed(1));
}
process.exit(0);
