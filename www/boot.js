// Starts the app. Trunk would inline this as a <script> in index.html; it lives in its own
// file so the Content-Security-Policy can forbid every inline script. Trunk fills in the
// hashed file names as data attributes on the <script> tag that loads this file
// (`pattern_script` in Trunk.toml).

// Keep a copy of the app for the next visit and for offline use (sw.js), once this visit has
// loaded everything it needs: the page works the same without it. The app says when
// (src/ui/components/app.rs): the dataset is in or failed, so the copy's downloads of the same files
// are answered by the HTTP cache instead of racing the page's.
if ('serviceWorker' in navigator) {
  const keep = () => navigator.serviceWorker.register('./sw.js')
    .catch((e) => console.info(`No offline copy: ${e}`));
  addEventListener('mnist-studio-settled', keep, { once: true });
}

// Both single-threaded workers (the first trainer and the reader) run worker_bg.wasm, 30 MB:
// it is compiled once, here, while the page starts, and each worker is handed the compiled
// module (src/ui/bridge.rs) instead of compiling its own copy. null when that cannot be (a
// server that does not send it as application/wasm): each worker then compiles it itself.
globalThis.mnistWorkerModule = WebAssembly.compileStreaming(fetch('./worker_bg.wasm')).catch((e) => {
  console.info(`Each worker compiles its own wasm: ${e}`);
  return null;
});

// The default network the reader starts with (1.5 MB as served), downloaded while both wasm modules
// compile instead of after the reader has started; handed to the reader with the module.
// null when the download fails: the reader then fetches it itself and says what went wrong.
globalThis.mnistDefaultWeights = fetch('./models/default.weights')
  .then((r) => (r.ok ? r.arrayBuffer() : null))
  .catch(() => null);

const tag = document.querySelector('script[data-app-js]');
const { default: init } = await import(tag.dataset.appJs);
const wasm = await init({ module_or_path: tag.dataset.appWasm });
dispatchEvent(new CustomEvent('TrunkApplicationStarted', { detail: { wasm } }));
