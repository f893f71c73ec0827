// Starts a trainer on one of the two builds: Trunk's single-threaded worker.js and
// worker_bg.wasm, or the threaded worker_mt files
// (scripts/build-threaded-worker.sh), whose loader, worker_mt_loader.js, names its build here
// (`mnistBuild`) and then runs this file. This replaces Trunk's loader shim, which calls
// wasm-bindgen's initialisation in its deprecated positional form and logs a warning in every
// worker.
// The page compiles each build's wasm once for every worker that runs it (www/boot.js) and
// posts the compiled module here first (src/ui/bridge.rs); null means "compile it yourself".
// prefetched.js first: it takes the page's MNIST replays before any other handler sees them.
// This build's version, written in by scripts/stamp-service-worker.sh. A page of another
// build (a tab left open across a deploy, which starts a worker when the backend or thread
// count changes) names its own in the worker's address: told to reload, rather than run a
// worker that may speak another protocol (an unreadable message, or a request never answered).
const MNIST_VERSION = 'unstamped';
{
  const asked = new URL(self.location.href).searchParams.get('version');
  if (asked && MNIST_VERSION !== 'unstamped' && asked !== MNIST_VERSION) {
    throw new Error('a newer version of MNIST Studio is on the server: reload the page to use it');
  }
}
// This build's files by its version (as www/boot.js asks for them): the service worker
// answers them from its copy first when the copy is of this build, and a newer build's
// loader never meets this build's files in the HTTP cache (its addresses are new).
const ofThisBuild = (file) => (MNIST_VERSION === 'unstamped' ? file : `${file}?version=${MNIST_VERSION}`);
const build = self.mnistBuild ?? 'worker';
importScripts(ofThisBuild('./prefetched.js'), ofThisBuild(`./${build}.js`));
// If the page's module cannot be used (a newer build's script met an older module), the
// file is compiled here instead; if that fails too, the error is thrown where the page's
// Worker sees it (a rejected promise alone would leave the page waiting in silence).
self.onmessage = ({ data }) => {
  self.onmessage = null;
  const start = (module_or_path) => wasm_bindgen({ module_or_path });
  const file = ofThisBuild(`./${build}_bg.wasm`);
  (data?.wasmModule ? start(data.wasmModule).catch(() => start(file)) : start(file))
    .catch((e) => setTimeout(() => { throw e; }));
};
