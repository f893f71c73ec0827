// Starts the single-threaded worker (trainer or reader, as its URL says): Trunk builds
// worker.js and worker_bg.wasm; this replaces Trunk's loader shim, which calls wasm-bindgen's
// initialisation in its deprecated positional form and logs a warning in every worker.
importScripts('./worker.js');
wasm_bindgen({ module_or_path: './worker_bg.wasm' });
