//! The page's end of the worker: spawn it, post [`WorkerInput`], receive [`WorkerOutput`].

use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker};

use crate::worker::protocol::{WorkerInput, WorkerOutput};

/// Trunk's loader for the `worker` binary (index.html: `data-type="worker" data-loader-shim`).
const WORKER_SCRIPT: &str = "./worker_loader.js";

/// What the page hears from the worker.
pub enum Heard {
    Output(WorkerOutput),
    /// The worker could not start, or crashed (a panic shows up here as an error event).
    Crashed(String),
}

/// A running worker. Dropping the bridge terminates it.
pub struct WorkerBridge {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl WorkerBridge {
    pub fn spawn(on_heard: impl Fn(Heard) + 'static) -> Result<Self, String> {
        let worker = Worker::new(WORKER_SCRIPT).map_err(|e| crate::data::fetch::describe(&e))?;
        let on_heard = std::rc::Rc::new(on_heard);
        let heard = on_heard.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            match serde_wasm_bindgen::from_value::<WorkerOutput>(event.data()) {
                Ok(output) => heard(Heard::Output(output)),
                Err(e) => heard(Heard::Crashed(format!("unreadable message from the worker: {e}"))),
            }
        });
        let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            on_heard(Heard::Crashed(format!("the training worker failed: {}", event.message())));
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Self { worker, _on_message: on_message, _on_error: on_error })
    }

    pub fn send(&self, input: &WorkerInput) {
        match serde_wasm_bindgen::to_value(input) {
            Ok(value) => {
                if let Err(e) = self.worker.post_message(&value) {
                    web_sys::console::error_2(&"page: postMessage failed".into(), &e);
                }
            }
            Err(e) => web_sys::console::error_1(&format!("page: cannot encode message: {e}").into()),
        }
    }
}

impl Drop for WorkerBridge {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}
