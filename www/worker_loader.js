// Starts the single-threaded worker (trainer or reader, as its URL says): Trunk builds
// worker.js and worker_bg.wasm; this replaces Trunk's loader shim, which calls wasm-bindgen's
// initialisation in its deprecated positional form and logs a warning in every worker.
// The page compiles worker_bg.wasm once for both workers that run it (www/boot.js) and posts
// the compiled module here first (src/ui/bridge.rs); null means "compile it yourself".
importScripts('./worker.js');
self.onmessage = ({ data }) => {
  self.onmessage = null;
  wasm_bindgen({ module_or_path: data?.wasmModule ?? './worker_bg.wasm' });
};
