//! "How fast is training here?": times a few steps of every network on the current backend.

use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::format::{rate, thousands};
use crate::ui::hooks::use_refocus;
use crate::ui::state::Bench;

#[derive(Properties, PartialEq)]
pub struct BenchPanelProps {
    pub bench: Bench,
    /// Whether a measurement may start now (dataset loaded, nothing training).
    pub can_run: bool,
    pub on_run: Callback<()>,
    /// Destroy the WebGPU device mid-run, to see that nothing is lost.
    pub on_lose_gpu: Callback<()>,
    /// CPU threads in use by the training worker (`None` until it has said, or on WebGPU).
    pub threads: Option<usize>,
    /// Most threads the user may choose; 1 where the page cannot share memory with workers.
    pub max_threads: usize,
    /// Whether the thread count may change now (the CPU backend, nothing running).
    pub can_set_threads: bool,
    pub on_threads: Callback<usize>,
}

#[component]
pub fn BenchPanel(props: &BenchPanelProps) -> Html {
    let b = &props.bench;
    let threads_select = use_node_ref();
    let refocus = use_refocus(&threads_select, !props.can_set_threads);
    let on_left = refocus.left();
    let on_threads = props.on_threads.reform(move |e: Event| {
        refocus.changed();
        e.target_unchecked_into::<HtmlSelectElement>().value().parse().unwrap_or(1)
    });
    html! {
        <details class="panel bench" id="bench">
            <summary>{ "Speed and robustness" }</summary>
            <p class="muted">{ "Times training steps of every network at batch 64: the first step (which compiles the kernels), then 20 steps after 3 warm-up steps." }</p>
            if props.max_threads > 1 {
                <div class="threads">
                    <label for="threads">{ "CPU threads" }</label>
                    <select id="threads" ref={threads_select} disabled={!props.can_set_threads} onchange={on_threads} onblur={on_left}>
                        { for (1..=props.max_threads).map(|n| html! {
                            <option value={n.to_string()} selected={props.threads == Some(n)}>{ n }</option>
                        }) }
                    </select>
                    <span class="hint">{ " Changing it restarts the training worker (the dataset reloads from the browser's cache)." }</span>
                </div>
            } else if let Some(threads) = props.threads {
                <p class="hint" id="threads-fixed">{ format!("CPU threads: {threads} (more need a cross-origin isolated page and more than one core).") }</p>
            }
            <button id="bench-run" onclick={props.on_run.reform(|_: MouseEvent| ())} disabled={!props.can_run || b.running}>
                { if b.running { "Measuring…" } else { "Measure" } }
            </button>
            <button id="lose-gpu" class="danger" onclick={props.on_lose_gpu.reform(|_: MouseEvent| ())}
                title="Destroys the WebGPU device as a driver reset would: the run stops, the best weights stay, and training can resume on the CPU.">
                { "Simulate losing the GPU" }
            </button>
            if let Some(e) = &b.error {
                <p class="error" role="alert">{ e.clone() }</p>
            }
            if !b.results.is_empty() {
                <div class="table-wrap">
                    <table id="bench-results" data-done={(!b.running).to_string()}>
                        <thead><tr>
                            <th scope="col">{ "Network" }</th><th scope="col">{ "Backend" }</th><th scope="col">{ "Threads" }</th><th scope="col">{ "First step (ms)" }</th>
                            <th scope="col">{ "ms / step" }</th><th scope="col">{ "Images / s" }</th>
                        </tr></thead>
                        <tbody>
                            { for b.results.iter().map(|(backend, threads, r)| html! {
                                <tr data-network={r.network.id()} data-backend={backend.label()} data-threads={threads.to_string()}
                                    data-first-ms={format!("{:.1}", r.first_step_ms)} data-ms={format!("{:.3}", r.ms_per_step)}>
                                    <td>{ r.network.title() }</td><td>{ backend.label() }</td><td>{ threads }</td>
                                    <td>{ thousands(r.first_step_ms.round() as usize) }</td>
                                    <td>{ rate(r.ms_per_step) }</td><td>{ rate(r.images_per_sec) }</td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                </div>
            }
        </details>
    }
}
