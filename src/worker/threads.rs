//! The CPU backend's threads in the browser.
//!
//! This is the one place that has a `cfg` on the worker being built two ways (README, "Two
//! worker builds"; `mod.rs` picks the `gpu` module, and [`THREADED`] tells the rest). Built
//! with the `atomics` target feature (the threaded build, nightly with `-Z build-std`:
//! `scripts/build-threaded-worker.sh`), burn's CPU kernels run on rayon's
//! global pool, whose threads are Web Workers that instantiate this very wasm module on the
//! same shared memory (`www/thread.js`). Built without it (stable, Trunk's worker), there is
//! no shared memory and the CPU path runs on the worker's own thread: [`start`] reports one.
//!
//! The training worker's own thread is the pool's first thread (rayon's
//! `use_current_thread`): for n threads, n - 1 Web Workers join it. It would otherwise sit
//! blocked while the pool works, and every parallel operation would cost it a cross-thread
//! wake-up: measured, a pool of one Web Worker trained VGG a third slower than the
//! single-threaded build; one thread now means no Web Worker at all.
//!
//! How the pool starts, and why in this order: rayon's `build_global` blocks until every
//! pool thread runs, and a Web Worker cannot start while its parent is blocked waiting for
//! it. So the Web Workers are started first and each says "ready" once its instance is up
//! (the training worker awaits that without blocking); each then waits on a channel. Only
//! then is the pool built, its spawn handler handing each thread's `ThreadBuilder` down the
//! channel (as wasm-bindgen-rayon does). No burn operation may run before [`start`] has
//! returned: rayon would otherwise set up its one-thread fallback pool for good.

/// Where the pool's threads are, relative to the worker script.
#[cfg(target_feature = "atomics")]
const THREAD_SCRIPT: &str = "thread.js";
/// The threaded build's wasm-bindgen output, which each thread loads.
#[cfg(target_feature = "atomics")]
const MODULE_SCRIPT: &str = "worker_mt.js";

/// Whether this build can run more than one thread.
pub const THREADED: bool = cfg!(target_feature = "atomics");

/// Start `wanted` threads for the CPU backend (clamped to 1..=64). Returns the number in use,
/// and, when that is fewer than wanted, why.
#[cfg(target_feature = "atomics")]
pub async fn start(wanted: usize) -> (usize, Option<String>) {
    let wanted = wanted.clamp(1, 64);
    match pool::start(wanted).await {
        Ok(()) => (wanted, None),
        Err(e) => (1, Some(format!("The CPU thread pool did not start ({e}), so training on the CPU uses one core."))),
    }
}

#[cfg(not(target_feature = "atomics"))]
pub async fn start(_wanted: usize) -> (usize, Option<String>) {
    (1, None)
}

#[cfg(target_feature = "atomics")]
mod pool {
    use std::sync::{mpsc, Arc, Mutex};

    use js_sys::{Array, Promise};
    use rayon::ThreadBuilder;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{Worker, WorkerOptions, WorkerType};

    use crate::data::fetch::describe;

    type Queue = Mutex<mpsc::Receiver<ThreadBuilder>>;

    /// A pool thread's life, called by `www/thread.js` once this module is instantiated in
    /// its Web Worker: take a `ThreadBuilder` off the queue and run rayon's thread loop
    /// (which never returns while the pool lives).
    #[wasm_bindgen]
    pub fn mnist_pool_thread(queue: u32) {
        // SAFETY: `queue` is one reference made by `Arc::into_raw` in `start`, for this thread.
        let queue = unsafe { Arc::<Queue>::from_raw(queue as *const Queue) };
        let thread = match queue.lock() {
            Ok(receiver) => receiver.recv().ok(),
            Err(_) => None,
        };
        drop(queue);
        match thread {
            Some(thread) => thread.run(),
            None => web_sys::console::error_1(&"cpu thread: the pool was never built".into()),
        }
    }

    /// How long the pool's threads may take to say they have started.
    const STARTED_MS: u32 = 20_000;

    pub async fn start(threads: usize) -> Result<(), String> {
        // Of this worker's build, by its version (the copy of that build answers them offline).
        let url = |path: &str| crate::platform::same_build_url(path).map_err(|e| describe(&e));
        let (thread_script, module_script) = (url(super::THREAD_SCRIPT)?, url(super::MODULE_SCRIPT)?);
        // Where a thread that fails once running tells the page (`www/thread.js`; the page
        // named it, src/ui/bridge.rs): this thread may then be waiting on it for good.
        let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        let hash = scope.location().hash();
        let pool_channel = JsValue::from(hash.strip_prefix("#pool=").map(str::to_owned));
        let (send, receive) = mpsc::channel::<ThreadBuilder>();
        let queue: Arc<Queue> = Arc::new(Mutex::new(receive));
        let mut ready = Vec::with_capacity(threads);
        // Thread 0 is this one.
        for i in 1..threads {
            let options = WorkerOptions::new();
            options.set_type(WorkerType::Classic);
            options.set_name(&format!("cpu thread {i}"));
            let worker = Worker::new_with_options(&thread_script, &options).map_err(|e| describe(&e))?;
            let started = Promise::new(&mut |resolve, reject| {
                worker.set_onmessage(Some(&resolve));
                worker.set_onerror(Some(&reject));
            });
            let queue_ref = Arc::into_raw(queue.clone()) as u32;
            let message = Array::of5(&module_script.as_str().into(), &wasm_bindgen::module(), &wasm_bindgen::memory(), &queue_ref.into(), &pool_channel);
            worker.post_message(&message).map_err(|e| describe(&e))?;
            ready.push(JsFuture::from(started));
            // The worker runs for the life of this one (its parent); nothing needs its handle.
            // Never terminated from here, even when the pool is not built: one stopped in the
            // middle of its start could hold the shared allocator's lock for good. Should the
            // pool not be built, `send` is dropped on the way out, its `recv` fails, and
            // `www/thread.js` closes it.
            std::mem::forget(worker);
        }
        // A thread that neither starts nor fails (a message it could not read fails on its own
        // global, where nobody hears) must not hold the trainer from ever listening: after
        // STARTED_MS the trainer starts on one thread, as it does when a thread fails.
        let all = futures::future::try_join_all(ready);
        let timer = gloo::timers::future::TimeoutFuture::new(STARTED_MS);
        match futures::future::select(all, timer).await {
            futures::future::Either::Left((started, _)) => {
                started.map_err(|e| format!("a CPU thread failed to start: {}", describe(&e)))?;
            }
            futures::future::Either::Right(_) => return Err(format!("the CPU threads did not start within {} s", STARTED_MS / 1000)),
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .use_current_thread()
            .spawn_handler(move |thread| send.send(thread).map_err(|_| std::io::Error::other("no thread takes the queue")))
            .build_global()
            .map_err(|e| e.to_string())
    }
}
