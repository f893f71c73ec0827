// Starts a trainer on one of the two builds: Trunk's single-threaded worker.js and
// worker_bg.wasm, or the threaded worker_mt files
// (scripts/build-threaded-worker.sh), whose loader, worker_mt_loader.js, names its build here
// (`mnistBuild`) and then runs this file. This replaces Trunk's loader shim, which calls
// wasm-bindgen's initialisation in its deprecated positional form and logs a warning in every
// worker.
// The page compiles each build's wasm once for every worker that runs it (www/boot.js) and
// posts the compiled module here first (src/ui/bridge.rs); null means "compile it yourself".
// prefetched.js first: it takes the page's MNIST replays before any other handler sees them.
const build = self.mnistBuild ?? 'worker';
importScripts('./prefetched.js', `./${build}.js`);
// If the page's module cannot be used (a newer build's script met an older module), the
// file is compiled here instead; if that fails too, the error is thrown where the page's
// Worker sees it (a rejected promise alone would leave the page waiting in silence).
self.onmessage = ({ data }) => {
  self.onmessage = null;
  const start = (module_or_path) => wasm_bindgen({ module_or_path });
  const file = `./${build}_bg.wasm`;
  (data?.wasmModule ? start(data.wasmModule).catch(() => start(file)) : start(file))
    .catch((e) => setTimeout(() => { throw e; }));
};
