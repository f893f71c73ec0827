//! `use_worker`: start the page's workers once, feed what they say into the studio's
//! reducer, and hand back callbacks that send them messages and replace the trainer.
//!
//! Two workers: the trainer and the reader. Drawings go to the reader, which holds only the
//! network that reads them, so a reading never waits for a training step; the trainer says
//! which network that is ([`WorkerOutput::ReaderWeights`]) and this hook passes it on. The
//! trainer is the single-threaded build until the CPU backend is chosen on a page that may
//! share memory with its workers; then it is replaced by the threaded build (and back, for
//! WebGPU). The reader is a build of its own, without burn ([`WorkerKind::Reader`]). A
//! threaded trainer that fails before it listens is replaced by the single-threaded one, so
//! the page never ends on a crash for want of shared memory.
//!
//! ```ignore
//! let studio = use_reducer(Studio::default);
//! let workers = use_worker(studio.dispatcher());
//! workers.send.emit(WorkerInput::Pause);
//! workers.replace.emit(WorkerKind::ThreadedTrainer { threads: 4 });
//! ```

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::ui::bridge::{cores, threaded_build_failed, threads_possible, Heard, WorkerBridge, WorkerKind};
use crate::ui::state::{Action, Studio};
use crate::worker::protocol::{Backend, WorkerInput, WorkerOutput};

type Slot = Rc<RefCell<Option<WorkerBridge>>>;

/// How many times a reader that fails or crashes is started again before the page gives up
/// on it (a script that cannot load fails every time), each after a longer pause.
const READER_RESTARTS: u32 = 2;

/// The reader's worker and what it takes to start another in its place.
#[derive(Clone, Default)]
struct Reader {
    bridge: Slot,
    /// The last network the trainer handed over: a reader started again reads with it, not
    /// with the default network.
    network: Rc<RefCell<Option<Vec<u8>>>>,
    restarts: Rc<Cell<u32>>,
    /// The page is going: nothing is started again.
    closed: Rc<Cell<bool>>,
}

#[derive(Clone, PartialEq)]
pub struct Workers {
    /// To the worker that handles it: drawings to the reader, the rest to the trainer.
    pub send: Callback<WorkerInput>,
    /// Replace the trainer by a worker of this kind (not while a run is active).
    pub replace: Callback<WorkerKind>,
}

#[hook]
pub fn use_worker(dispatch: UseReducerDispatcher<Studio>) -> Workers {
    let trainer: Slot = use_mut_ref(|| None);
    let reader: Reader = (*use_memo((), |_| Reader::default())).clone();
    // Messages for the trainer sent before the first one exists (it starts once `boot.js` has
    // said which build it is: a file chosen to load in that moment must not be lost); `None`
    // from then on.
    let early: Rc<RefCell<Option<Vec<WorkerInput>>>> = use_mut_ref(|| Some(Vec::new()));
    {
        let (trainer, reader, early, dispatch) = (trainer.clone(), reader.clone(), early.clone(), dispatch.clone());
        use_effect_with((), move |_| {
            spawn_reader(&reader, dispatch.clone());
            let (trainer_slot, reader_slot) = (trainer.clone(), reader.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let kind = if cpu_first().await { WorkerKind::ThreadedTrainer { threads: cores() } } else { WorkerKind::Trainer { wants: None } };
                replace_trainer(kind, &trainer_slot, &reader_slot, dispatch);
                if let Some(b) = &*trainer_slot.borrow() {
                    for input in early.borrow_mut().take().unwrap_or_default() {
                        b.send(&input);
                    }
                }
            });
            move || {
                reader.closed.set(true);
                drop(trainer.borrow_mut().take());
                drop(reader.bridge.borrow_mut().take());
            }
        });
    }
    // One set of callbacks for the component's lifetime: the bridges are behind the RefCells.
    let callbacks = use_memo((), move |_| {
        let (to_trainer, to_reader) = (trainer.clone(), reader.clone());
        let send = Callback::from(move |input: WorkerInput| {
            let for_reader = matches!(input, WorkerInput::Predict { .. } | WorkerInput::UseReader { .. } | WorkerInput::ShowInside(_));
            let slot = if for_reader { &to_reader.bridge } else { &to_trainer };
            match (&*slot.borrow(), &mut *early.borrow_mut()) {
                (Some(b), _) => b.send(&input),
                (None, Some(waiting)) if !for_reader => waiting.push(input),
                (None, _) => {}
            }
        });
        let replace = Callback::from(move |kind: WorkerKind| replace_trainer(kind, &trainer, &reader, dispatch.clone()));
        Workers { send, replace }
    });
    (*callbacks).clone()
}

/// Start the reader in `reader`'s slot. One that fails or crashes says so where the reading
/// would be, and another is started after a pause (at most [`READER_RESTARTS`] times), which
/// reads with the trainer's last network if there was one: without this the pad read nothing
/// for the rest of the visit (its messages queued for a worker that would never listen).
fn spawn_reader(reader: &Reader, dispatch: UseReducerDispatcher<Studio>) {
    let (heard, again) = (dispatch.clone(), reader.clone());
    // This worker's end is heard once: a crashed worker may fire more errors (a drawing sent
    // to it meanwhile), each of which would otherwise count as another reader's failure.
    let ended = Cell::new(false);
    let spawned = WorkerBridge::spawn(WorkerKind::Reader, move |h| match h {
        // Its "listening" is the bridge's business; the dataset is the trainer's.
        Heard::Output(WorkerOutput::Listening) => {}
        Heard::Output(output) => heard.dispatch(Action::Heard(output)),
        Heard::FailedToStart(reason) | Heard::Crashed(reason) => {
            if ended.replace(true) {
                return;
            }
            let restarting = again.restarts.get() < READER_RESTARTS && !again.closed.get();
            heard.dispatch(Action::ReaderStopped { reason, restarting });
            let (again, heard) = (again.clone(), heard.clone());
            // Not from inside this worker's own handler, which dropping its bridge would drop.
            wasm_bindgen_futures::spawn_local(async move {
                // Out of the slot at once: drawings made meanwhile are not sent to it (the
                // next reader is asked to read the pad once it names its network).
                drop(again.bridge.borrow_mut().take());
                if !restarting {
                    return;
                }
                again.restarts.set(again.restarts.get() + 1);
                gloo::timers::future::TimeoutFuture::new(1_000 * again.restarts.get()).await;
                if again.closed.get() {
                    return;
                }
                spawn_reader(&again, heard);
                let network = again.network.borrow().clone();
                if let (Some(b), Some(bytes)) = (&*again.bridge.borrow(), network) {
                    b.send(&WorkerInput::UseReader { bytes });
                }
            });
        }
    });
    match spawned {
        Ok(b) => *reader.bridge.borrow_mut() = Some(b),
        Err(e) => dispatch.dispatch(Action::Heard(WorkerOutput::ReaderFailed(format!("the reader could not start: {e}")))),
    }
}

/// Start a trainer of `kind` in `trainer`'s slot (terminating the one there).
fn replace_trainer(kind: WorkerKind, trainer: &Slot, reader: &Reader, dispatch: UseReducerDispatcher<Studio>) {
    dispatch.dispatch(Action::WorkerReplaced(kind));
    drop(trainer.borrow_mut().take());
    let (heard, slots) = (dispatch.clone(), (trainer.clone(), reader.clone()));
    let spawned = WorkerBridge::spawn(kind, move |h| match h {
        Heard::Output(WorkerOutput::ReaderWeights { bytes, .. }) => {
            *slots.1.network.borrow_mut() = Some(bytes.clone());
            if let Some(reader) = &*slots.1.bridge.borrow() {
                reader.send(&WorkerInput::UseReader { bytes });
            }
        }
        Heard::Output(output) => {
            let threaded = threaded_instead(kind, &output);
            heard.dispatch(Action::Heard(output));
            if let Some(threaded) = threaded {
                // Said at once, so the page never looks ready with the worker about to go.
                heard.dispatch(Action::WorkerReplaced(threaded));
                // Not from inside this worker's own message handler, which replacing it drops.
                let (slots, heard) = (slots.clone(), heard.clone());
                wasm_bindgen_futures::spawn_local(async move { replace_trainer(threaded, &slots.0, &slots.1, heard) });
            }
        }
        // The threaded build failed before it listened (its shared memory refused, say): the
        // single-threaded trainer trains instead, on one core, and the page says why
        // (`threaded_failure`). Nothing of the threaded one's is lost: it had not started.
        Heard::FailedToStart(reason) if matches!(kind, WorkerKind::ThreadedTrainer { .. }) => {
            web_sys::console::warn_1(&format!("The threaded trainer did not start ({reason}); the single-threaded one trains instead.").into());
            threaded_build_failed(&reason);
            // On the CPU, as the user (or the page) chose: on a real GPU that build would
            // otherwise take WebGPU.
            let single = WorkerKind::Trainer { wants: Some(Backend::Cpu) };
            heard.dispatch(Action::WorkerReplaced(single));
            // Not from inside this worker's own message handler, which replacing it drops.
            let (slots, heard) = (slots.clone(), heard.clone());
            wasm_bindgen_futures::spawn_local(async move {
                // What the failed worker was sent and never read (a file chosen at boot, say).
                let unsent = slots.0.borrow().as_ref().map(WorkerBridge::unsent).unwrap_or_default();
                replace_trainer(single, &slots.0, &slots.1, heard);
                if let Some(b) = &*slots.0.borrow() {
                    unsent.iter().for_each(|input| b.send(input));
                }
            });
        }
        Heard::FailedToStart(reason) | Heard::Crashed(reason) => heard.dispatch(Action::Crashed(reason)),
    });
    match spawned {
        Ok(b) => *trainer.borrow_mut() = Some(b),
        Err(e) => dispatch.dispatch(Action::Crashed(format!("the training worker could not start: {e}"))),
    }
}

/// Whether the first trainer is the threaded build: `www/boot.js` found the page may share
/// memory, more than one core, and no GPU adapter but a software one, so the single-threaded
/// trainer would only hand over to it (see [`threaded_instead`]). False when boot.js did not
/// say.
async fn cpu_first() -> bool {
    let said = js_sys::Reflect::get(&js_sys::global(), &"mnistCpuFirst".into()).ok().and_then(|p| p.dyn_into::<js_sys::Promise>().ok());
    match said {
        Some(p) => wasm_bindgen_futures::JsFuture::from(p).await.is_ok_and(|v| v.is_truthy()) && threads_possible(),
        None => false,
    }
}

/// A single-threaded trainer ended on the CPU on a page that can give it threads: the
/// threaded build, on every core, trains instead. Whether it was the page's first trainer or
/// one started for WebGPU (a link's `?backend=webgpu`, the picker) that found no adapter or
/// no device: either way WebGPU is out and one core would be all the user gets.
fn threaded_instead(kind: WorkerKind, output: &WorkerOutput) -> Option<WorkerKind> {
    let chose_cpu = matches!(output, WorkerOutput::Started { backend: Backend::Cpu, .. });
    let single = matches!(kind, WorkerKind::Trainer { .. });
    (chose_cpu && single && threads_possible()).then(|| WorkerKind::ThreadedTrainer { threads: cores() })
}
