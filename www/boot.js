// Starts the app. Trunk would inline this as a <script> in index.html; it lives in its own
// file so the Content-Security-Policy can forbid every inline script. Trunk fills in the
// hashed file names as data attributes on the <script> tag that loads this file
// (`pattern_script` in Trunk.toml).

// Keep a copy of the app for the next visit and for offline use (sw.js), once this visit has
// loaded everything it needs: the page works the same without it.
if ('serviceWorker' in navigator) {
  const keep = () => navigator.serviceWorker.register('./sw.js')
    .catch((e) => console.info(`No offline copy: ${e}`));
  if (document.readyState === 'complete') keep(); else addEventListener('load', keep);
}

const tag = document.querySelector('script[data-app-js]');
const { default: init } = await import(tag.dataset.appJs);
const wasm = await init({ module_or_path: tag.dataset.appWasm });
dispatchEvent(new CustomEvent('TrunkApplicationStarted', { detail: { wasm } }));
