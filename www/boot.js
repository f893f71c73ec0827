// Starts the app. Trunk would inline this as a <script> in index.html; it lives in its own
// file so the Content-Security-Policy can forbid every inline script. Trunk fills in the
// hashed file names as data attributes on the <script> tag that loads this file
// (`pattern_script` in Trunk.toml).

// Keep a copy of the app for the next visit and for offline use (sw.js), once this visit has
// loaded everything it needs: the page works the same without it. The app says when
// (src/ui/components/app.rs): the dataset is in or failed, so the copy's downloads of the same files
// are answered by the HTTP cache instead of racing the page's.
// This page's build version (index.html, stamped by scripts/stamp-service-worker.sh), named in
// every worker's address so that a worker of another build refuses to run for this page
// (www/worker_loader.js).
// Every file of the app that keeps its name from build to build is asked for by the same
// version (`versioned`): the service worker answers such an address from its copy first when
// the copy is of that build, and never from another build's (www/sw.js); and without a
// service worker, a new build's page never meets an older build's file in the HTTP cache.
const MNIST_VERSION = document.querySelector('meta[name="mnist-version"]')?.content ?? 'unstamped';
const versioned = (file) => (MNIST_VERSION === 'unstamped' ? file : `${file}?version=${MNIST_VERSION}`);
globalThis.mnistVersion = MNIST_VERSION;

if ('serviceWorker' in navigator) {
  const keep = () => navigator.serviceWorker.register('./sw.js')
    .catch((e) => console.info(`No offline copy: ${e}`));
  addEventListener('mnist-studio-settled', keep, { once: true });
}

// Each worker build's wasm is compiled once, here, while the page starts, and every worker
// that runs it is handed the compiled module (src/ui/bridge.rs) instead of compiling its own
// copy; null when that cannot be (a server that does not send it as application/wasm): each
// worker then compiles it itself.
const eachCompiles = (file) => (e) => {
  console.info(`Each worker compiles its own ${file}: ${e}`);
  return null;
};
const compile = (file) => WebAssembly.compileStreaming(fetch(file)).catch(eachCompiles(file));
// The reader (src/bin/reader.rs: no burn, a few hundred kB), started now rather than once the
// page's wasm runs: a worker takes 0.1-0.3 s to start on a busy machine, which it then spends
// while the page loads. It fetches its own wasm and the default network at once, on its own
// thread (www/reader_loader.js), and waits for nothing from the page, whose thread is busy
// starting the page meanwhile (a message posted to a worker that has not started yet is
// passed on by the page's thread, 0.1-0.2 s late here). Until the page adopts it
// (src/ui/bridge.rs, `mnistEarlyReader`), what it says waits here, and an error is kept from
// becoming an uncaught one of the page's. `readerSettled`: it has named its network, or
// failed. Where it cannot be started here, the page starts it as it does every other worker.
let readerSettled = Promise.resolve();
globalThis.mnistEarlyReader = (() => {
  let worker;
  try {
    worker = new Worker(versioned('./reader_loader.js'));
  } catch (e) {
    console.info(`The page starts the reader itself: ${e}`);
    return undefined;
  }
  const heard = [];
  worker.onmessage = (event) => heard.push(event);
  worker.onerror = (event) => {
    event.preventDefault();
    heard.push(event);
  };
  // Listeners, unlike the handlers the page replaces on adoption, stay. A message is a
  // WorkerOutput as serde writes it (src/worker/protocol.rs): `{ Reader: ... }` and so on.
  readerSettled = new Promise((resolve) => {
    worker.addEventListener('message', ({ data }) => {
      if (data && typeof data === 'object' && ('Reader' in data || 'ReaderFailed' in data)) resolve();
    });
    worker.addEventListener('error', () => resolve());
  });
  return { worker, heard };
})();

// Where the page may share memory with its workers (cross-origin isolated; the same test as
// src/ui/bridge.rs's `shared_memory`), a trainer on the CPU runs the threaded build, 7 MB of
// wasm without WebGPU against the single-threaded build's 24 MB.
const sharedMemory = globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer !== 'undefined';
// Downloaded at once, compiled from its bytes once the reader has named its network (at most
// STALLED_MS after now). A streaming compile feeds the module to the compiler on the page's
// thread as it arrives, 60-90 ms of that thread for this build (a Chromium trace,
// 2026-12-06), which is the thread the reader's first message waits for; compiling the whole
// download leaves decoding it to the engine's own threads.
const STALLED_MS = 2000;
const readerOrStalled = () => Promise.race([readerSettled, new Promise((resolve) => setTimeout(resolve, STALLED_MS))]);
const threadedBytes = sharedMemory
  ? fetch(versioned('./worker_mt_bg.wasm')).then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(new Error(`HTTP ${r.status}`))))
  : null;
globalThis.mnistThreadedModule = threadedBytes && Promise.all([threadedBytes, readerOrStalled()])
  .then(([bytes]) => WebAssembly.compile(bytes))
  .catch(eachCompiles('worker_mt_bg.wasm'));

// Whether the CPU will train on every core from the start: the page is isolated, has more than
// one core, and the browser offers no GPU adapter or only a software one (SwiftShader, say),
// which the single-threaded trainer would find and hand over to the threaded one
// (src/worker/adapter.rs makes the same test; src/ui/hooks/use_worker.rs reads this). Then
// the first trainer is the threaded one, and the single-threaded build (WebGPU) is neither
// downloaded nor compiled unless the user switches to WebGPU.
globalThis.mnistCpuFirst = sharedMemory && (navigator.hardwareConcurrency ?? 1) > 1
  ? softwareOnly()
  : Promise.resolve(false);

async function softwareOnly() {
  const look = (async () => {
    try {
      const adapter = await navigator.gpu?.requestAdapter();
      // Chrome moved isFallbackAdapter from the adapter to its info; read either.
      return !adapter || Boolean(adapter.info?.isFallbackAdapter || adapter.isFallbackAdapter);
    } catch {
      return true;
    }
  })();
  // An answer that never comes must not hold the page: the single-threaded trainer then
  // looks for itself, as where this is not asked.
  const late = new Promise((resolve) => { setTimeout(() => resolve(false), 3000); });
  return Promise.race([look, late]);
}

// The single-threaded build (the first trainer where a GPU may train, a trainer on WebGPU, or
// any trainer on a page that is not isolated), compiled on first use: at once unless the CPU
// trains first.
let workerModule;
Object.defineProperty(globalThis, 'mnistWorkerModule', {
  get: () => (workerModule ??= compile(versioned('./worker_bg.wasm'))),
});
// The trainers' files in: the threaded build downloaded (its compile waits for the reader),
// the single-threaded one compiled where it trains first.
const workersIn = sharedMemory
  ? globalThis.mnistCpuFirst.then((cpu) => Promise.allSettled([threadedBytes, cpu ? null : globalThis.mnistWorkerModule]))
  : globalThis.mnistWorkerModule;


// MNIST (8.8 MB as served), downloaded by the page itself once the workers' files are in (the
// trainers' modules downloaded, the reader reading), or once a trainer asks and the reader is
// reading (the trainer may be up first: `start` below): on a slow connection the data then
// arrives while the trainer starts, instead of after, and the reader's files do not share
// the line with it. The page's wasm names the files (mnistPrefetch,
// src/ui/components/app.rs: it knows the data source) and, with each request to load the
// dataset, hands the trainer a replay of every download from its first byte (mnistHandData,
// src/ui/bridge.rs; www/prefetched.js is the worker's end). The chunks stay here for the
// page's lifetime, so a trainer started later (another backend, another thread count) reads
// them from memory. A download that fails is replayed as it failed (its status, or its
// error), so the trainer reports it as its own fetch would have; handed on once, it is
// downloaded afresh, and the page's Retry downloads every file afresh (`again`).
// Where a stream cannot be posted to a worker (a browser without transferable streams), none
// of this is defined and each trainer downloads the files itself, as before.
const canHandStreams = (() => {
  try {
    const stream = new ReadableStream();
    new MessageChannel().port1.postMessage(stream, [stream]);
    return true;
  } catch {
    return false;
  }
})();
// What the trainer's own download would refuse (src/data/encoding.rs, INFLATED_LIMIT): kept
// no further, so a huge or endless file cannot fill the page's memory. The replay still goes
// past the limit by one chunk, or keeps the server's length, so the trainer refuses it as
// before.
const LIMIT = 64 * 1024 * 1024;
const downloads = new Map();
let asked;
// The downloads start when the workers' files are in, or when a trainer first asks for the
// dataset and the reader is reading too, or at most STALLED_MS after that ask (a stalled
// reader must not hold the dataset back). A trainer can ask before the reader has its
// network (the page's wasm is small and starts early): over a slow connection MNIST then
// took the line from it and the first reading came later.
const start = Promise.race([
  Promise.allSettled([workersIn, readerSettled]),
  new Promise((resolve) => { asked = resolve; }).then(readerOrStalled),
]);

if (canHandStreams) {
  globalThis.mnistPrefetch = (urls, again = false) => {
    for (const url of urls) {
      if (!again && downloads.has(url)) continue;
      // A Retry's downloads replace the last ones: those still under way (beside the one that
      // failed) would otherwise run on, sharing the line, to bytes nobody reads.
      downloads.get(url)?.stop();
      downloads.set(url, download(url));
    }
  };

  globalThis.mnistHandData = (worker) => {
    asked();
    const streams = {};
    for (const [url, state] of downloads) {
      // A failure is handed on once, so the trainer reports it; asked again (another trainer),
      // the page downloads the file afresh: the network may be back.
      const current = state.handed && failed(state) ? download(url) : state;
      downloads.set(url, current);
      current.handed = true;
      streams[url] = replay(current);
    }
    if (Object.keys(streams).length === 0) return;
    try {
      worker.postMessage({ mnistPrefetched: streams }, Object.values(streams));
    } catch (e) {
      console.info(`The trainer downloads MNIST itself: ${e}`);
    }
  };
}

// A download that stops sending and never ends (a stalled mobile link, a proxy that holds the
// response, before its head or in its body) would leave the page loading for good, with no
// Retry: after this long without a byte it is given up, as a failure the trainer reports.
const IDLE_MS = 30_000;

function download(url) {
  const abort = new AbortController();
  const state = { head: null, chunks: [], end: null, waiting: [], handed: false, stop: () => state.end || abort.abort() };
  const wake = () => { for (const resolve of state.waiting.splice(0)) resolve(); };
  const failure = (e) => ({ name: e?.name ?? 'Error', message: String(e?.message ?? e) });
  let idle;
  const watch = () => {
    clearTimeout(idle);
    idle = setTimeout(() => abort.abort(new DOMException(`no data came for ${IDLE_MS / 1000} s`, 'TimeoutError')), IDLE_MS);
  };
  (async () => {
    await start;
    watch();
    let response;
    try {
      response = await fetch(url, { signal: abort.signal });
    } catch (e) {
      clearTimeout(idle);
      state.head = { failed: failure(abort.signal.reason ?? e) };
      state.end = state.head;
      return wake();
    }
    watch();
    const length = response.headers.get('content-length');
    state.head = { status: response.status, statusText: response.statusText, length };
    wake();
    try {
      const reader = response.body.getReader();
      let received = 0;
      while (!(Number(length) > LIMIT) && received <= LIMIT) {
        const { value, done } = await reader.read();
        if (done) break;
        watch();
        received += value.length;
        state.chunks.push(value);
        wake();
      }
      if (Number(length) > LIMIT || received > LIMIT) reader.cancel();
      state.end = { done: true };
    } catch (e) {
      state.end = { failed: failure(abort.signal.reason ?? e) };
    }
    clearTimeout(idle);
    wake();
  })();
  return state;
}

function failed(state) {
  const status = state.head?.status;
  return Boolean(state.end?.failed) || (status !== undefined && !(status >= 200 && status < 300));
}

// A stream of one download from its start: its head (status and length, or how it failed),
// then its chunks as they are or become available, then its end or its error.
function replay(state) {
  let next = -1;
  return new ReadableStream({
    async pull(controller) {
      for (;;) {
        if (next < 0 && state.head) {
          next = 0;
          return controller.enqueue(state.head);
        }
        if (next >= 0 && next < state.chunks.length) return controller.enqueue(state.chunks[next++]);
        if (next >= 0 && state.end?.done) return controller.close();
        if (next >= 0 && state.end?.failed) {
          const { name, message } = state.end.failed;
          // A DOMException keeps its name on the way to the worker (an Error's structured
          // clone keeps only the standard ones: a TimeoutError arrived as "Error").
          return controller.error(new DOMException(message, name));
        }
        await new Promise((resolve) => state.waiting.push(resolve));
      }
    },
  }, { highWaterMark: 0 });
}

// Should the app's own files not come (offline without a complete copy, a server that lost
// them), the page says so in a sentence instead of staying blank.
const tag = document.querySelector('script[data-app-js]');
try {
  const { default: init } = await import(tag.dataset.appJs);
  const wasm = await init({ module_or_path: tag.dataset.appWasm });
  dispatchEvent(new CustomEvent('TrunkApplicationStarted', { detail: { wasm } }));
} catch (e) {
  console.error(e);
  const message = document.createElement('div');
  message.id = 'start-failed';
  message.className = 'error';
  message.textContent = `MNIST Studio could not start: ${e?.message ?? e}. Reload the page; offline, it opens once a visit with the network has kept a copy of it.`;
  document.body.prepend(message);
}
