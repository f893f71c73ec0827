//! The trainer's handling of runs kept and compared ([`crate::runs`]): recording the run
//! that trains, keeping it when it ends, and the page's requests about kept runs. Beside the
//! event loop rather than in it, as a second `impl` block; the storage is `run_log`'s.

use std::rc::{Rc, Weak};

use wasm_bindgen_futures::spawn_local;

use super::{Worker, WorkerOutput};
use crate::model::Network;
use crate::runs::{Ending, KeptRun, Recorder, Start};
use crate::train::{RunEnd, TrainConfig, TrainData};
use crate::weights::WeightsMeta;
use crate::worker::keeping::Owner;

/// A run's chosen network as a weights file that carries its "not a digit" detector, and
/// who keeps that network.
pub(super) struct Detected {
    pub bytes: Vec<u8>,
    pub owner: Owner,
}

/// A run's wrap-up after it ended (its detector fitted, its network kept, the run kept for
/// comparing): held by each task of it, and when the last lets go, the page is told
/// ([`WorkerOutput::RunKept`]), so that it does not replace this worker (a change of backend
/// or thread count) while the run is still being kept.
pub(super) struct WrapUp(Weak<Worker>);

impl WrapUp {
    pub(super) fn new(worker: &Rc<Worker>) -> Rc<Self> {
        Rc::new(Self(Rc::downgrade(worker)))
    }
}

impl Drop for WrapUp {
    fn drop(&mut self) {
        if let Some(worker) = self.0.upgrade() {
            worker.post(&WorkerOutput::RunKept);
        }
    }
}

impl Worker {
    /// Start recording run `id`, which trains `config` on `data`.
    pub(super) fn record_run(&self, id: String, config: &TrainConfig, data: &TrainData) {
        self.runs.start(Recorder::new(Start {
            id,
            started: js_sys::Date::now(),
            config: config.clone(),
            train_images: data.train.len(),
            held_out_images: data.held_out.len(),
            test_images: data.test_len(),
        }));
    }

    /// The run has ended: hand its best network to the reader, as every run's end does, and
    /// keep the run with that network's weights, encoded once for both (the last best epoch's
    /// own encoding may still be under way). A run stopped before its first report has
    /// nothing to keep. With its file `detected` (encoded already, to fit the detector on a
    /// copy), that file is handed over and kept, and kept again as the user's saved network
    /// (the same epoch, now with its detector).
    /// `wrap_up` is held until what is spawned here has finished (the page is told then).
    /// `overruled`: the user chose another network to read with while the run was wrapped up;
    /// the run is still kept for comparing, but neither read with nor saved as theirs.
    pub(super) fn publish_and_keep_run(self: &Rc<Self>, end: RunEnd, best: Option<(Network, WeightsMeta)>, detected: Option<Detected>, wrap_up: Option<Rc<WrapUp>>, overruled: bool) {
        let recorder = self.runs.take().map(|(r, _)| r).filter(|r| r.worth_keeping(&end));
        let ending = Ending::Ended(end);
        let Some((model, meta)) = best else {
            if let Some(recorder) = recorder {
                let worker = self.clone();
                spawn_local(async move {
                    worker.keep_run(recorder, ending, None).await;
                    drop(wrap_up);
                });
            }
            return;
        };
        let kept = meta.clone();
        let keep = move |worker: Rc<Worker>, bytes: Rc<Vec<u8>>, owner: Option<Owner>| async move {
            if let Some(owner) = owner {
                worker.keep(kept, bytes.clone(), owner).await;
            }
            if let Some(recorder) = recorder {
                worker.keep_run(recorder, ending, Some(bytes)).await;
            }
            drop(wrap_up);
        };
        match detected {
            Some(Detected { bytes, owner }) => {
                drop(model);
                if !overruled {
                    self.publish_bytes(meta, bytes.clone());
                }
                spawn_local(keep(self.clone(), Rc::new(bytes), (!overruled).then_some(owner)));
            }
            None => self.encode_model_and(model, meta, !overruled, Some(move |worker, bytes| keep(worker, bytes, None))),
        }
    }

    /// The run failed (`reason`): kept if it finished an epoch (a GPU lost in epoch 3, say),
    /// with the latest best epoch's weights it saw encoded.
    pub(super) async fn keep_failed_run(self: &Rc<Self>, reason: String) {
        if let Some((recorder, best)) = self.runs.take().filter(|(r, _)| r.has_epochs()) {
            self.clone().keep_run(recorder, Ending::Failed(reason), best).await;
        }
    }

    pub(super) async fn delete_run(self: Rc<Self>, id: String) {
        let what = format!("{} could not be deleted", self.runs.name(&id));
        self.post_runs(self.runs.delete(&id).await, &what);
    }

    /// Read with run `id`'s weights, and keep them as the saved ones, as a loaded file is.
    pub(super) async fn use_run(self: Rc<Self>, id: String) {
        let loaded = match self.runs.weights(&id).await {
            Ok(bytes) => self.load(bytes).await,
            Err(e) => Err(e),
        };
        if let Err(e) = loaded {
            let name = self.runs.name(&id);
            self.post(&WorkerOutput::RunsProblem(format!("The weights of {name} were not used: {e}. The network in use is unchanged.")));
        }
    }

    /// Tell the page the kept runs, or that `what` went wrong and why.
    pub(super) fn post_runs(&self, result: Result<Vec<KeptRun>, String>, what: &str) {
        self.post(&match result {
            Ok(runs) => WorkerOutput::Runs(runs),
            Err(e) => WorkerOutput::RunsProblem(format!("{what}: {e}.")),
        });
    }

    async fn keep_run(self: Rc<Self>, recorder: Recorder, ending: Ending, weights: Option<Rc<Vec<u8>>>) {
        let result = self.runs.keep(recorder, ending, weights).await;
        self.post_runs(result, "This run could not be kept for comparing");
    }
}
