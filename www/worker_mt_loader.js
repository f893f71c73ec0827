// Starts the threaded training worker (scripts/build-threaded-worker.sh builds worker_mt*),
// as worker_loader.js starts the single-threaded one.
importScripts('./worker_mt.js');
wasm_bindgen({ module_or_path: './worker_mt_bg.wasm' });
