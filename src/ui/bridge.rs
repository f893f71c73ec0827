//! The page's end of a worker: spawn it, post [`WorkerInput`], receive [`WorkerOutput`].
//! Which worker serves what ([`WorkerKind`]) is decided here and in `hooks/use_worker.rs`.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, ErrorEvent, Event, MessageEvent, Worker};

use crate::worker::protocol::{Backend, WorkerInput, WorkerOutput};

/// One of the page's workers: which build, and what for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerKind {
    /// The single-threaded build (Trunk's `worker`): trains on WebGPU, or on the CPU on one
    /// core. `wants`: the backend asked for (`?backend=`): WebGPU even when the adapter is a
    /// software one, or the CPU even on a real GPU (the user's choice, where the threaded build
    /// did not start); `None`, the worker decides.
    Trainer { wants: Option<Backend> },
    /// The threaded build (`worker_mt`): trains on the CPU on `threads` cores. Only where
    /// [`threads_possible`].
    ThreadedTrainer { threads: usize },
    /// The reader: reads drawings, nothing else, on one thread, with a build of its own that
    /// holds no burn (`src/bin/reader.rs`, 0.3 MB of wasm), so it starts long before a trainer.
    Reader,
}

impl WorkerKind {
    /// The worker's loader for its build (`www/worker_loader.js`, `www/worker_mt_loader.js`,
    /// `www/reader_loader.js`), with the settings a trainer reads from its URL.
    fn script(self) -> String {
        let script = match self {
            Self::Trainer { wants: None } => "./worker_loader.js".into(),
            Self::Trainer { wants: Some(backend) } => format!("./worker_loader.js?backend={}", backend.id()),
            Self::ThreadedTrainer { threads } => format!("./worker_mt_loader.js?threads={threads}"),
            Self::Reader => "./reader_loader.js".into(),
        };
        // This page's build, which the worker's loader compares with its own: a tab left open
        // across a deploy must not run the new build's worker (`www/worker_loader.js`).
        match page_version() {
            Some(version) => format!("{script}{}version={version}", if script.contains('?') { '&' } else { '?' }),
            None => script,
        }
    }

    /// Where `www/boot.js` keeps the promise of this trainer's build, compiled once for every
    /// trainer that runs it; `None` for the reader, which compiles its own
    /// (`www/reader_loader.js`).
    fn compiled_module(self) -> Option<&'static str> {
        match self {
            Self::ThreadedTrainer { .. } => Some("mnistThreadedModule"),
            Self::Trainer { .. } => Some("mnistWorkerModule"),
            Self::Reader => None,
        }
    }
}

/// Post the page's compiled wasm of a trainer's build to its loader, which waits for it
/// (`www/worker_loader.js`), once compiled; `null` when there is none or it cannot be posted,
/// and the worker compiles the file itself. Posted before anything else: the bridge holds its
/// own messages until the worker's wasm says it listens. The reader's loader waits for no
/// such message.
fn hand_compiled_module(worker: &Worker, kind: WorkerKind) {
    let Some(name) = kind.compiled_module() else { return };
    let compiling = js_sys::Reflect::get(&js_sys::global(), &name.into()).ok().and_then(|p| p.dyn_into::<js_sys::Promise>().ok());
    let worker = worker.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let module = match compiling {
            Some(p) => wasm_bindgen_futures::JsFuture::from(p).await.unwrap_or(JsValue::NULL),
            None => JsValue::NULL,
        };
        let message = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&message, &"wasmModule".into(), &module);
        if worker.post_message(&message).is_err() {
            // A browser that cannot send a compiled module to a worker (DataCloneError).
            let _ = js_sys::Reflect::set(&message, &"wasmModule".into(), &JsValue::NULL);
            post(&worker, &message);
        }
    });
}

/// The page's build version (`www/boot.js`'s `mnistVersion`, written in by
/// `scripts/stamp-service-worker.sh`); `None` where it is not stamped.
fn page_version() -> Option<String> {
    let version = js_sys::Reflect::get(&js_sys::global(), &"mnistVersion".into()).ok()?.as_string()?;
    (version != "unstamped" && version.chars().all(|c| c.is_ascii_alphanumeric())).then_some(version)
}

/// The reader `www/boot.js` started before the page's wasm ran, with the events it has heard
/// from it (messages, errors) since; taken once. `None` for any other kind, or where boot.js
/// could not start it: [`WorkerBridge::spawn`] then starts one itself.
fn early_reader(kind: WorkerKind) -> Option<(Worker, js_sys::Array)> {
    if kind != WorkerKind::Reader {
        return None;
    }
    let global = js_sys::global();
    let early = js_sys::Reflect::get(&global, &"mnistEarlyReader".into()).ok().filter(|e| e.is_object())?;
    let _ = js_sys::Reflect::delete_property(global.unchecked_ref::<js_sys::Object>(), &"mnistEarlyReader".into());
    let worker = js_sys::Reflect::get(&early, &"worker".into()).ok()?.dyn_into::<Worker>().ok()?;
    let heard = js_sys::Reflect::get(&early, &"heard".into()).ok()?.dyn_into::<js_sys::Array>().ok()?;
    Some((worker, heard))
}

/// Have the page download the dataset's files (`www/boot.js`, once the reader's own files are
/// in), so that a trainer finds them arrived or arriving when it asks: on a slow connection
/// the download no longer waits for the trainer to start. `again`: download them afresh even
/// if downloaded before (the user's Retry). Nothing happens where `boot.js` did not define it
/// (a browser that cannot hand a stream to a worker): the trainer then downloads them itself.
pub fn prefetch_data(urls: &[String], again: bool) {
    let global = js_sys::global();
    if let Ok(f) = js_sys::Reflect::get(&global, &"mnistPrefetch".into()).and_then(|f| f.dyn_into::<js_sys::Function>().map_err(JsValue::from)) {
        let list: js_sys::Array = urls.iter().map(|u| JsValue::from_str(u)).collect();
        let _ = f.call2(&global, &list, &JsValue::from_bool(again));
    }
}

/// Post a trainer a replay of each of the page's dataset downloads from the first byte, just
/// before asking it to load the dataset (`www/boot.js`'s `mnistHandData`; `www/prefetched.js`
/// receives it, before the wasm sees any message). Each request gets its own, so a
/// replacement trainer reads the files from the page's memory, and a Retry downloads a failed
/// file afresh.
fn hand_data(worker: &Worker) {
    let global = js_sys::global();
    if let Ok(f) = js_sys::Reflect::get(&global, &"mnistHandData".into()).and_then(|f| f.dyn_into::<js_sys::Function>().map_err(JsValue::from)) {
        let _ = f.call1(&global, worker);
    }
}

/// Whether this page can give a worker threads: WebAssembly threads need `SharedArrayBuffer`,
/// which browsers give only to cross-origin isolated pages (COOP `same-origin` + COEP
/// `require-corp` headers).
pub fn shared_memory() -> bool {
    let global = js_sys::global();
    let isolated = js_sys::Reflect::get(&global, &"crossOriginIsolated".into()).is_ok_and(|v| v.is_truthy());
    let sab = js_sys::Reflect::get(&global, &"SharedArrayBuffer".into()).is_ok_and(|v| !v.is_undefined());
    isolated && sab
}

thread_local! {
    /// Why the threaded build failed to start on this page, once it has (`None` until then).
    static THREADED_FAILED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The threaded build did not start here as the trainer (its script or its shared memory
/// refused, say): from now on this page trains on the single-threaded build only
/// ([`threads_possible`]). The reader, started first, falls back on its own.
pub fn threaded_build_failed(reason: &str) {
    THREADED_FAILED.with(|f| *f.borrow_mut() = Some(reason.to_owned()));
}

/// Why the threaded build could not start on this page, if it could not.
pub fn threaded_failure() -> Option<String> {
    THREADED_FAILED.with(|f| f.borrow().clone())
}

/// Whether the CPU can train on more than one thread here: memory may be shared, more than
/// one core, and the threaded build has not failed to start.
pub fn threads_possible() -> bool {
    shared_memory() && cores() > 1 && threaded_failure().is_none()
}

/// Logical cores the browser reports (at least 1).
pub fn cores() -> usize {
    web_sys::window().map_or(1, |w| w.navigator().hardware_concurrency() as usize).max(1)
}

/// What the page hears from a worker.
pub enum Heard {
    Output(WorkerOutput),
    /// The worker failed before it said it listens: its script not loaded or refused, its
    /// wasm not started (a shared memory refused, say). Nothing sent to it was read
    /// ([`WorkerBridge::unsent`]), so another build can take its place.
    FailedToStart(String),
    /// The worker crashed after it listened (a panic shows up here as an error event).
    Crashed(String),
}

/// A running worker. Dropping the bridge terminates it.
pub struct WorkerBridge {
    worker: Worker,
    /// Messages sent before the worker said it listens: a message that arrives before its
    /// wasm has set the handler would be lost, so they wait here (and go to the worker that
    /// replaces this one if it never listens: [`WorkerBridge::unsent`]).
    waiting: Rc<RefCell<Option<Vec<WorkerInput>>>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(Event)>,
    /// The threaded trainer's pool threads' line to the page ([`pool_channel`]).
    pool: Option<(BroadcastChannel, Closure<dyn FnMut(MessageEvent)>)>,
}

/// Where a threaded trainer's pool threads say that one of them failed after it started
/// (`www/thread.js`): a trap in a thread (a panic, memory that cannot grow) leaves the
/// trainer's own thread waiting for that thread's work for good (`Atomics.wait`), so the
/// trainer cannot tell the page, and the thread's error event goes to the trainer, which
/// cannot hear it either. A channel of its own per trainer, named in the trainer's address
/// (`#pool=`), which the trainer hands to its threads (`src/worker/threads.rs`).
fn pool_channel() -> Option<(String, BroadcastChannel)> {
    let id = format!("mnist-studio-pool-{:016x}", (js_sys::Math::random() * 2f64.powi(53)) as u64);
    BroadcastChannel::new(&id).ok().map(|channel| (id, channel))
}

impl WorkerBridge {
    pub fn spawn(kind: WorkerKind, on_heard: impl Fn(Heard) + 'static) -> Result<Self, String> {
        let pool = matches!(kind, WorkerKind::ThreadedTrainer { .. }).then(pool_channel).flatten();
        let (worker, early) = match early_reader(kind) {
            Some((worker, heard)) => (worker, heard),
            None => {
                // In the fragment: never sent, so the scripts stay one address for the HTTP
                // cache (the threaded loader passes its query on, not its fragment).
                let script = match &pool {
                    Some((id, _)) => format!("{}#pool={id}", kind.script()),
                    None => kind.script(),
                };
                let worker = Worker::new(&script).map_err(|e| crate::data::fetch::describe(&e))?;
                hand_compiled_module(&worker, kind);
                (worker, js_sys::Array::new())
            }
        };
        let waiting: Rc<RefCell<Option<Vec<WorkerInput>>>> = Rc::new(RefCell::new(Some(Vec::new())));
        let on_heard = Rc::new(on_heard);
        let (heard, pool_heard) = (on_heard.clone(), on_heard.clone());
        let (flush, target, unheard) = (waiting.clone(), worker.clone(), waiting.clone());
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            match serde_wasm_bindgen::from_value::<WorkerOutput>(event.data()) {
                Ok(output) => {
                    if output == WorkerOutput::Listening {
                        for input in flush.borrow_mut().take().unwrap_or_default() {
                            post_input(&target, &input);
                        }
                    }
                    heard(Heard::Output(output))
                }
                Err(e) => heard(Heard::Crashed(format!("unreadable message from the worker: {e}"))),
            }
        });
        let on_error = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            let reason = match event.dyn_ref::<ErrorEvent>() {
                Some(error) => format!("the worker failed: {}", error.message()),
                // A script that could not be loaded (a failed request, a response the page's
                // isolation refuses) fires a plain `Event`, which has no message: reading one
                // as an `ErrorEvent` threw in the page, and nobody heard of the failure.
                None => format!("the worker's script {} could not be loaded", kind.script()),
            };
            // Heard, and told to the user where it matters: not also an uncaught error of the
            // page's (which an error event left alone becomes).
            event.prevent_default();
            // Still holding messages: it never said it listens.
            let before_listening = unheard.borrow().is_some();
            on_heard(if before_listening { Heard::FailedToStart(reason) } else { Heard::Crashed(reason) });
        });
        // A pool thread that failed: heard as the trainer's own failure would be (before it
        // listened, the single-threaded build takes its place; after, the page says it
        // stopped), once.
        let pool = pool.map(|(_, channel)| {
            let (on_heard, unheard, told) = (pool_heard, waiting.clone(), Rc::new(std::cell::Cell::new(false)));
            let on_failure = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                if told.replace(true) {
                    return;
                }
                let reason = format!("a CPU thread failed: {}", event.data().as_string().unwrap_or_default());
                on_heard(if unheard.borrow().is_some() { Heard::FailedToStart(reason) } else { Heard::Crashed(reason) });
            });
            channel.set_onmessage(Some(on_failure.as_ref().unchecked_ref()));
            (channel, on_failure)
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        // What an early reader said before it was adopted, in order, as if heard now (nothing
        // can arrive in between: this all runs in one task).
        for event in early.iter() {
            let handler: &js_sys::Function =
                if event.is_instance_of::<MessageEvent>() { on_message.as_ref().unchecked_ref() } else { on_error.as_ref().unchecked_ref() };
            let _ = handler.call1(&JsValue::NULL, &event);
        }
        Ok(Self { worker, waiting, _on_message: on_message, _on_error: on_error, pool })
    }

    pub fn send(&self, input: &WorkerInput) {
        if matches!(input, WorkerInput::LoadData(_)) {
            // Posted straight away, so before the request itself whether or not that waits.
            hand_data(&self.worker);
        }
        match &mut *self.waiting.borrow_mut() {
            Some(queue) => queue.push(input.clone()),
            None => post_input(&self.worker, input),
        }
    }

    /// The messages this worker was sent but never received, since it has not said it listens
    /// (emptied: a worker replacing one that failed to start is sent them instead).
    pub fn unsent(&self) -> Vec<WorkerInput> {
        self.waiting.borrow_mut().as_mut().map(std::mem::take).unwrap_or_default()
    }
}

fn post_input(worker: &Worker, input: &WorkerInput) {
    match serde_wasm_bindgen::to_value(input) {
        Ok(value) => post(worker, &value),
        Err(e) => web_sys::console::error_1(&format!("page: cannot encode message: {e}").into()),
    }
}

fn post(worker: &Worker, message: &JsValue) {
    if let Err(e) = worker.post_message(message) {
        web_sys::console::error_2(&"page: postMessage failed".into(), &e);
    }
}

impl Drop for WorkerBridge {
    fn drop(&mut self) {
        if let Some((channel, _)) = &self.pool {
            channel.set_onmessage(None);
            channel.close();
        }
        self.worker.terminate();
    }
}
