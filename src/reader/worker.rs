//! The reader worker's event loop: holds the network that reads digits, reads drawings
//! ([`WorkerInput::Predict`]) and, while the page shows it, the inside view of each. It is a
//! worker of its own so that a reading never queues behind a training step, and a binary of
//! its own (`src/bin/reader.rs`, built without burn) so that it starts within a few hundred
//! milliseconds of the page: a 0.3 MB module instead of the trainer's 7 or 24 MB.
//!
//! It starts with the default network, which its loader downloads while this module compiles
//! (`www/reader_loader.js`, `mnistDefaultWeights`), or which it fetches itself when that
//! download failed; the trainer's networks replace it ([`WorkerInput::UseReader`], passed on by the
//! page). It speaks the trainer's protocol, and ignores what is the trainer's.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::DedicatedWorkerGlobalScope;

use super::look::look;
use super::network::Network;
use crate::data::fetch::fetch_bytes;
use crate::data::IMAGE_SIDE;
use crate::platform::yield_to_events;
use crate::weights::WeightsMeta;
use crate::worker::channel;
use crate::worker::protocol::{WorkerInput, WorkerOutput};

/// Shipped with the app so digits can be read before anything is trained.
const DEFAULT_WEIGHTS: &str = "models/default.weights";

struct Reader {
    scope: DedicatedWorkerGlobalScope,
    network: RefCell<Option<Rc<Network>>>,
    /// Whether the page shows the inside view.
    inside: Cell<bool>,
    /// The newest drawing asked for: an older one's inside view is not computed.
    latest: Cell<u32>,
}

/// Start the reader: install the message handler, say it listens, load the default network.
pub fn start() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let reader = Rc::new(Reader { scope: scope.clone(), network: RefCell::new(None), inside: Cell::new(false), latest: Cell::new(0) });
    let receiver = reader.clone();
    channel::listen(&scope, "reader", move |input| receiver.clone().receive(input));
    reader.post(&WorkerOutput::Listening);
    spawn_local(reader.load_default());
}

impl Reader {
    fn post(&self, output: &WorkerOutput) {
        channel::post(&self.scope, "reader", output);
    }

    fn receive(self: Rc<Self>, input: WorkerInput) {
        match input {
            WorkerInput::Predict { id, pixels } => {
                self.latest.set(id);
                spawn_local(self.predict(id, pixels));
            }
            WorkerInput::ShowInside(on) => self.inside.set(on),
            WorkerInput::UseReader { bytes } => match self.set_network(&bytes, true) {
                Ok(meta) => self.post(&WorkerOutput::Reader(meta)),
                Err(e) => self.post(&WorkerOutput::ReaderFailed(e)),
            },
            // The page sends the trainer's messages to the trainer (src/ui/hooks/use_worker.rs).
            other => web_sys::console::warn_1(&format!("reader: not a reader's message: {other:?}").into()),
        }
    }

    /// Make the network in `bytes` the one that reads, without saying so yet; `tried`: once it
    /// has read a blank and an inked pad as numbers ([`Network::reads_numbers`]).
    fn set_network(&self, bytes: &[u8], tried: bool) -> Result<WeightsMeta, String> {
        let network = Network::from_file(bytes)?;
        if tried {
            network.reads_numbers()?;
        }
        let meta = network.meta.clone();
        *self.network.borrow_mut() = Some(Rc::new(network));
        Ok(meta)
    }

    async fn predict(self: Rc<Self>, id: u32, pixels: Vec<f32>) {
        let Some(network) = self.network.borrow().clone() else { return };
        let (probabilities, strangeness) = network.read(&pixels);
        // Every value in the file is checked finite and bounded, but finite weights near
        // f32's limit still overflow a sum: such a network reads nothing, and says so, rather
        // than "NaN%".
        if !probabilities.iter().all(|p| p.is_finite()) {
            *self.network.borrow_mut() = None;
            return self.post(&WorkerOutput::ReaderLost("the network in use gives outputs that are not numbers".into()));
        }
        self.post(&WorkerOutput::Prediction { id, probabilities, strangeness });
        if self.inside.get() {
            // After the reading is posted, so that looking never delays one; while the pen
            // moves, drawings come faster than views are computed: one already replaced by a
            // newer drawing is skipped.
            yield_to_events().await;
            if self.latest.get() == id {
                self.post(&WorkerOutput::Inside(look(&network.net, id, &pixels, network.meta.stats)));
            }
        }
    }

    /// Read with the default network, unless the trainer has already handed over another
    /// (the user's saved one, restored), which it replaces otherwise. If the loader could not
    /// download it, it is fetched here, and a failure is told as this fetch's.
    async fn load_default(self: Rc<Self>) {
        let fetched = match take_handed_weights(&self.scope) {
            Some(bytes) => Ok(bytes),
            None => fetch_bytes(&crate::platform::same_build_url(DEFAULT_WEIGHTS).unwrap_or_else(|_| DEFAULT_WEIGHTS.to_owned()), DEFAULT_WEIGHTS, |_, _| {}).await,
        };
        if self.network.borrow().is_some() {
            return;
        }
        let bytes = match fetched {
            Ok(bytes) => bytes,
            Err(e) => return self.post(&WorkerOutput::ReaderFailed(format!("the default network did not load ({e})"))),
        };
        let meta = match self.set_network(&bytes, false) {
            Ok(meta) => meta,
            Err(e) => return self.post(&WorkerOutput::ReaderFailed(e)),
        };
        // One reading of a blank pad before saying the reader is ready: the engine first runs
        // wasm with its baseline compiler and optimises what runs hot, and the first reading
        // also grows the heap for the activations. Warmed here, that is spent while the page
        // starts, not after the person's first stroke.
        if let Some(network) = self.network.borrow().clone() {
            let _ = network.read(&[0.0; IMAGE_SIDE * IMAGE_SIDE]);
        }
        // Unless the trainer's network replaced it meanwhile, which has said so itself.
        if self.network.borrow().as_ref().is_some_and(|n| n.meta == meta) {
            self.post(&WorkerOutput::Reader(meta));
        }
    }
}

/// The default network's bytes, when the loader downloaded them (`www/reader_loader.js`,
/// `mnistDefaultWeights`); taken once.
fn take_handed_weights(scope: &DedicatedWorkerGlobalScope) -> Option<Vec<u8>> {
    let key = JsValue::from_str("mnistDefaultWeights");
    let handed = js_sys::Reflect::get(scope, &key).ok()?;
    let _ = js_sys::Reflect::delete_property(scope, &key);
    let buffer = handed.dyn_into::<js_sys::ArrayBuffer>().ok()?;
    Some(js_sys::Uint8Array::new(&buffer).to_vec())
}
