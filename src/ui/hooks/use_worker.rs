//! `use_worker`: start the training worker once, feed what it says into the studio's
//! reducer, and hand back a callback that sends it messages.
//!
//! ```ignore
//! let studio = use_reducer(Studio::default);
//! let send = use_worker(studio.dispatcher());
//! send.emit(WorkerInput::Pause);
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use yew::prelude::*;

use crate::ui::bridge::{Heard, WorkerBridge};
use crate::ui::state::{Action, Studio};
use crate::worker::protocol::WorkerInput;

#[hook]
pub fn use_worker(dispatch: UseReducerDispatcher<Studio>) -> Callback<WorkerInput> {
    let bridge: Rc<RefCell<Option<WorkerBridge>>> = use_mut_ref(|| None);
    {
        let bridge = bridge.clone();
        use_effect_with((), move |_| {
            let heard = dispatch.clone();
            let spawned = WorkerBridge::spawn(move |h| match h {
                Heard::Output(output) => heard.dispatch(Action::Heard(output)),
                Heard::Crashed(reason) => heard.dispatch(Action::Crashed(reason)),
            });
            match spawned {
                Ok(b) => *bridge.borrow_mut() = Some(b),
                Err(e) => dispatch.dispatch(Action::Crashed(format!("the training worker could not start: {e}"))),
            }
            move || drop(bridge.borrow_mut().take())
        });
    }
    // One callback for the component's lifetime: the bridge it reaches is behind the RefCell.
    let send = use_memo((), move |_| {
        Callback::from(move |input: WorkerInput| {
            if let Some(b) = &*bridge.borrow() {
                b.send(&input);
            }
        })
    });
    (*send).clone()
}
