// Starts the threaded training worker (scripts/build-threaded-worker.sh builds worker_mt*),
// as worker_loader.js starts the single-threaded one.
// prefetched.js first: it takes the page's MNIST replays before the wasm's handler sees them.
importScripts('./prefetched.js', './worker_mt.js');
wasm_bindgen({ module_or_path: './worker_mt_bg.wasm' });
