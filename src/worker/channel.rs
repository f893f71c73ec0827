//! A worker's end of the page's messages, shared by the trainer (`runtime`) and the reader
//! (`crate::reader`): [`WorkerInput`] in, [`WorkerOutput`] out, as structured clones. No burn
//! here, so the reader's build has it too.

use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use super::protocol::{WorkerInput, WorkerOutput};

/// Hand every message from the page to `receive`, for as long as the worker lives; one that
/// is not a [`WorkerInput`] is reported in the console as `who`'s.
pub fn listen(scope: &DedicatedWorkerGlobalScope, who: &'static str, mut receive: impl FnMut(WorkerInput) + 'static) {
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        match serde_wasm_bindgen::from_value::<WorkerInput>(event.data()) {
            Ok(input) => receive(input),
            Err(e) => web_sys::console::error_1(&format!("{who}: unreadable message: {e}").into()),
        }
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
}

/// Post `output` to the page; a failure is reported in the console as `who`'s (there is no
/// one else to tell).
pub fn post(scope: &DedicatedWorkerGlobalScope, who: &str, output: &WorkerOutput) {
    match serde_wasm_bindgen::to_value(output) {
        Ok(value) => {
            if let Err(e) = scope.post_message(&value) {
                web_sys::console::error_2(&format!("{who}: postMessage failed").into(), &e);
            }
        }
        Err(e) => web_sys::console::error_1(&format!("{who}: cannot encode message: {e}").into()),
    }
}
