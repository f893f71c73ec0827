// Starts the app. Trunk would inline this as a <script> in index.html; it lives in its own
// file so the Content-Security-Policy can forbid every inline script. Trunk fills in the
// hashed file names as data attributes on the <script> tag that loads this file
// (`pattern_script` in Trunk.toml).
const tag = document.querySelector('script[data-app-js]');
const { default: init } = await import(tag.dataset.appJs);
const wasm = await init({ module_or_path: tag.dataset.appWasm });
dispatchEvent(new CustomEvent('TrunkApplicationStarted', { detail: { wasm } }));
