// Counting WebGPU work: every compute dispatch and every queue submission, by wrapping
// GPUComputePassEncoder's and GPUQueue's methods in the global scope it runs in. One
// function for the three benchmarks: bench.mjs hands it to each of the page's workers
// (Playwright's worker.evaluate, which the page's CSP does not govern), bench-tfjs.mjs to the
// page, and tests/dawn/bench.mjs calls it in Node over Dawn. Self-contained, since Playwright
// sends it as source. Counts accumulate in `globalThis.__gpuWork`.
// `fromWorkers` reads such counts back from the page's workers (bench.mjs, bench-kernels.mjs).
export function countGpuWork() {
  if (globalThis.__gpuWork || typeof GPUComputePassEncoder === 'undefined') return;
  const counts = (globalThis.__gpuWork = { dispatches: 0, submits: 0 });
  const wrap = (proto, name, key) => {
    const original = proto[name];
    if (original) proto[name] = function (...args) { counts[key] += 1; return original.apply(this, args); };
  };
  wrap(GPUComputePassEncoder.prototype, 'dispatchWorkgroups', 'dispatches');
  wrap(GPUComputePassEncoder.prototype, 'dispatchWorkgroupsIndirect', 'dispatches');
  wrap(GPUQueue.prototype, 'submit', 'submits');
}

/**
 * `read` evaluated in each of the page's workers, the answers that are not null. A CPU thread
 * pool's worker sits in a blocking wait inside wasm and never answers: it is skipped after a
 * second (awaiting it hung the CPU measurements at 2 threads).
 */
export async function fromWorkers(page, read) {
  const answers = [];
  for (const worker of page.workers()) {
    const answer = worker.evaluate(read).catch(() => null);
    const a = await Promise.race([answer, new Promise((r) => setTimeout(() => r(null), 1000))]);
    if (a) answers.push(a);
  }
  return answers;
}
