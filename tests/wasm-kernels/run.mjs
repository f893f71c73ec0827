// The CPU convolution kernels in wasm under Node's V8, one thread: columns against Winograd.
//   cd tests/wasm-kernels
//   RUSTFLAGS="-C target-feature=+simd128" cargo build --release --target wasm32-unknown-unknown
//   node run.mjs target/wasm32-unknown-unknown/release/wasm_kernels_bench.wasm
// Each figure is the median of 7 timings of 2 calls, the two paths interleaved so that the
// machine's drift (these machines are shared) falls on both alike.
import fs from 'node:fs';

const { instance } = await WebAssembly.instantiate(fs.readFileSync(process.argv[2]), { env: { now: () => performance.now() } });
const bench = instance.exports.bench;
const layers = ['conv2 32->32 at 26x26', 'conv3 32->64 at 12x12', 'conv4 64->64 at 10x10'];
const directions = ['forward', 'input grad', 'weight grad'];
const median = (a) => a.sort((x, y) => x - y)[a.length >> 1];
for (let layer = 0; layer < 3; layer++) for (let path = 0; path < 2; path++) for (let dir = 0; dir < 3; dir++) bench(layer, path, dir, 1);
for (let layer = 0; layer < 3; layer++) {
  const cells = [];
  for (let dir = 0; dir < 3; dir++) {
    const times = [[], []];
    for (let rep = 0; rep < 7; rep++) for (const path of [0, 1]) times[path].push(bench(layer, path, dir, 2));
    const [columns, winograd] = times.map(median);
    cells.push(`${directions[dir]} ${columns.toFixed(1)} / ${winograd.toFixed(1)} (${(columns / winograd).toFixed(2)}x)`);
  }
  console.log(`${layers[layer].padEnd(22)} ${cells.join('   ')}   ms, columns / Winograd`);
}
