// Starts the single-threaded worker (trainer or reader, as its URL says): Trunk builds
// worker.js and worker_bg.wasm; this replaces Trunk's loader shim, which calls wasm-bindgen's
// initialisation in its deprecated positional form and logs a warning in every worker.
// The page compiles worker_bg.wasm once for both workers that run it (www/boot.js) and posts
// the compiled module here first (src/ui/bridge.rs); null means "compile it yourself".
// prefetched.js first: it takes the page's MNIST replays before any other handler sees them.
importScripts('./prefetched.js', './worker.js');
// If the page's module cannot be used (a newer build's worker.js met an older module), the
// file is compiled here instead; if that fails too, the error is thrown where the page's
// Worker sees it (a rejected promise alone would leave the page waiting in silence).
// The reader is also handed the default network's bytes, which its wasm takes from
// `mnistDefaultWeights` (src/worker/runtime.rs); absent, it fetches them itself.
self.onmessage = ({ data }) => {
  self.onmessage = null;
  if (data?.defaultWeights instanceof ArrayBuffer) self.mnistDefaultWeights = data.defaultWeights;
  const start = (module_or_path) => wasm_bindgen({ module_or_path });
  (data?.wasmModule ? start(data.wasmModule).catch(() => start('./worker_bg.wasm')) : start('./worker_bg.wasm'))
    .catch((e) => setTimeout(() => { throw e; }));
};
