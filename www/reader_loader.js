// Starts the reader worker (src/bin/reader.rs, built without burn: reader.js and
// reader_bg.wasm). Unlike the trainers (worker_loader.js) it waits for nothing from the page:
// it is started by www/boot.js before the page's wasm runs, while the page's thread is busy,
// and a message from there would reach it late. So it fetches and compiles its own wasm and
// downloads the default network, both at once, the moment it runs. The default network's
// bytes are left where its wasm takes them (`mnistDefaultWeights`, src/reader/worker.rs);
// if that download failed, the reader fetches the file again itself and says what went wrong.
// A module that cannot be compiled here is left to wasm-bindgen, and a failure of that is
// thrown where the page's Worker sees it (a rejected promise alone would leave the page
// waiting in silence).
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
importScripts(ofThisBuild('./reader.js'));
const weights = fetch(ofThisBuild('./models/default.weights'))
  .then((r) => (r.ok ? r.arrayBuffer() : null))
  .catch(() => null);
const wasm = ofThisBuild('./reader_bg.wasm');
const compiled = WebAssembly.compileStreaming(fetch(wasm)).catch(() => null);
Promise.all([compiled, weights])
  .then(([module, bytes]) => {
    if (bytes) self.mnistDefaultWeights = bytes;
    return wasm_bindgen({ module_or_path: module ?? wasm });
  })
  .catch((e) => setTimeout(() => { throw e; }));
