//! How many cores the CPU backend trains on, and, when only one, why.

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ThreadsStatusProps {
    /// Threads in use; `None` until the training worker has said.
    pub threads: Option<usize>,
    /// Why fewer than asked (the pool did not start).
    pub note: Option<String>,
    /// Whether the page may share memory with its workers (cross-origin isolated).
    pub shared_memory: bool,
    /// Why the threaded build did not start here, if it did not (`bridge::threaded_failure`).
    pub threaded_failure: Option<String>,
    pub cores: usize,
}

/// One sentence under the backend picker while the CPU backend is in use.
#[component]
pub fn ThreadsStatus(props: &ThreadsStatusProps) -> Html {
    let Some(threads) = props.threads else { return Html::default() };
    let text = if let Some(note) = &props.note {
        note.clone()
    } else if threads > 1 {
        format!("Training on the CPU with {threads} threads ({} cores reported).", props.cores)
    } else if let Some(reason) = &props.threaded_failure {
        format!("The multi-threaded build did not start here ({reason}), so training on the CPU uses one core.")
    } else if props.cores <= 1 {
        "Training on the CPU uses the one core this device reports.".to_owned()
    } else if !props.shared_memory {
        "This page is not cross-origin isolated, so the browser does not let its workers share memory and training on the CPU uses one core.".to_owned()
    } else {
        format!("Training on the CPU with 1 thread ({} cores reported; more can be chosen under Speed and robustness).", props.cores)
    };
    html! { <p class="hint" id="threads-status" data-threads={threads.to_string()}>{ text }</p> }
}
