//! The trainer's side of runs kept and compared ([`crate::runs`]): the run being recorded,
//! and the kept runs in IndexedDB. Two object stores beside the kept network's (`store`):
//! `runs`, each run's record as a structured clone (so a diverged run's NaN loss survives,
//! which JSON would not), and `run-weights`, its best epoch's weights file under the same id,
//! read only when the user asks to read with them. A run, its weights and the pruning of
//! the oldest runs past [`MAX_KEPT`] are written in one transaction, so a run is never kept
//! without the weights it claims.
//!
//! Every failure is a sentence for the page; nothing here stops a run from training (a
//! private window without IndexedDB trains, and says that runs are not kept).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::IdbTransactionMode;

use super::store::{committed, get_from, settle, transaction};
use crate::data::fetch::describe;
use crate::runs::{to_drop, Ending, KeptRun, Recorder, MAX_KEPT};
use crate::train::{EpochReport, StepReport};

const RUNS: &str = "runs";
const WEIGHTS: &str = "run-weights";
/// The stores this module owns, created by `store`'s upgrade.
pub const STORES: [&str; 2] = [RUNS, WEIGHTS];

/// The run training now, and what is known of the kept ones.
#[derive(Default)]
pub struct RunLog {
    recording: RefCell<Option<Recorder>>,
    /// The recorded run's latest best epoch and its file: kept with it if the run fails (a
    /// run that ends normally hands its best network over itself).
    best: RefCell<Option<(usize, Rc<Vec<u8>>)>>,
    /// The kept runs as last read, to number the next one.
    kept: RefCell<Vec<KeptRun>>,
}

impl RunLog {
    pub fn start(&self, recorder: Recorder) {
        *self.recording.borrow_mut() = Some(recorder);
        *self.best.borrow_mut() = None;
    }

    pub fn step(&self, report: &StepReport) {
        if let Some(r) = self.recording.borrow_mut().as_mut() {
            r.step(report);
        }
    }

    pub fn epoch(&self, report: &EpochReport) {
        if let Some(r) = self.recording.borrow_mut().as_mut() {
            r.epoch(report);
        }
    }

    /// A new best epoch of run `id` was encoded. Encoding finishes after the epoch, so it may
    /// come once that run has ended and another started: then it is not this run's.
    pub fn best_weights(&self, id: Option<&str>, epoch: usize, bytes: Rc<Vec<u8>>) {
        if self.recording.borrow().as_ref().is_some_and(|r| Some(r.id()) == id) {
            *self.best.borrow_mut() = Some((epoch, bytes));
        }
    }

    /// The run recorded so far and its chosen epoch's weights, if they were encoded
    /// (`Recorder::weights_for`), ending the recording.
    pub fn take(&self) -> Option<(Recorder, Option<Rc<Vec<u8>>>)> {
        let recorder = self.recording.borrow_mut().take()?;
        let weights = recorder.weights_for(self.best.borrow_mut().take());
        Some((recorder, weights))
    }

    /// Keep `recorder`'s run with its `weights`, drop the oldest runs past the bound, and
    /// return the kept runs.
    pub async fn keep(&self, recorder: Recorder, ending: Ending, weights: Option<Rc<Vec<u8>>>) -> Result<Vec<KeptRun>, String> {
        // Read first: another tab may have kept runs since this one last looked.
        let mut kept = read_all().await?;
        let run = recorder.finish(ending, weights.is_some(), &kept);
        kept.push(run.clone());
        let dropped = to_drop(&kept, MAX_KEPT, &run.id);
        write(&run, weights.as_deref().map(Vec::as_slice), &dropped).await?;
        self.list().await
    }

    pub async fn delete(&self, id: &str) -> Result<Vec<KeptRun>, String> {
        let tx = transaction(&STORES, IdbTransactionMode::Readwrite).await?;
        for store in STORES {
            tx.object_store(store).and_then(|s| s.delete(&id.into())).map_err(|e| describe(&e))?;
        }
        committed(&tx).await?;
        self.list().await
    }

    /// The kept runs.
    pub async fn list(&self) -> Result<Vec<KeptRun>, String> {
        let kept = read_all().await?;
        *self.kept.borrow_mut() = kept.clone();
        Ok(kept)
    }

    /// The weights file kept with run `id`: untrusted bytes, to be checked like any upload.
    pub async fn weights(&self, id: &str) -> Result<Vec<u8>, String> {
        get_from(WEIGHTS, id).await?.ok_or_else(|| "no weights are kept for that run".into())
    }

    /// The name the page shows for run `id`, for messages about it.
    pub fn name(&self, id: &str) -> String {
        self.kept.borrow().iter().find(|r| r.id == id).map_or_else(|| "that run".into(), |r| format!("run {}", r.name()))
    }
}

async fn read_all() -> Result<Vec<KeptRun>, String> {
    let tx = transaction(&[RUNS], IdbTransactionMode::Readonly).await?;
    let request = tx.object_store(RUNS).and_then(|s| s.get_all()).map_err(|e| describe(&e))?;
    let records: Array = settle(&request).await?.dyn_into().map_err(|_| "IndexedDB gave something other than a list")?;
    // A record this version cannot read (written by a later one, or damaged) is left out,
    // not allowed to hide the others.
    Ok(records
        .iter()
        .filter_map(|record| match serde_wasm_bindgen::from_value(record) {
            Ok(run) => Some(run),
            Err(e) => {
                web_sys::console::warn_1(&format!("worker: a kept run is unreadable: {e}").into());
                None
            }
        })
        .collect())
}

async fn write(run: &KeptRun, weights: Option<&[u8]>, dropped: &[String]) -> Result<(), String> {
    let record = serde_wasm_bindgen::to_value(run).map_err(|e| e.to_string())?;
    let tx = transaction(&STORES, IdbTransactionMode::Readwrite).await?;
    let (runs, stored) = (tx.object_store(RUNS).map_err(|e| describe(&e))?, tx.object_store(WEIGHTS).map_err(|e| describe(&e))?);
    let id = JsValue::from(run.id.as_str());
    runs.put_with_key(&record, &id).map_err(|e| describe(&e))?;
    if let Some(bytes) = weights {
        stored.put_with_key(&Uint8Array::from(bytes), &id).map_err(|e| describe(&e))?;
    }
    for old in dropped {
        let old = JsValue::from(old.as_str());
        runs.delete(&old).and_then(|_| stored.delete(&old)).map_err(|e| describe(&e))?;
    }
    committed(&tx).await
}
