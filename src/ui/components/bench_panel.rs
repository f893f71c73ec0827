//! "How fast is training here?": times a few steps of every network on the current backend.

use yew::prelude::*;

use crate::format::{rate, thousands};
use crate::ui::state::Bench;

#[derive(Properties, PartialEq)]
pub struct BenchPanelProps {
    pub bench: Bench,
    /// Whether a measurement may start now (dataset loaded, nothing training).
    pub can_run: bool,
    pub on_run: Callback<()>,
    /// Destroy the WebGPU device mid-run, to see that nothing is lost.
    pub on_lose_gpu: Callback<()>,
}

#[component]
pub fn BenchPanel(props: &BenchPanelProps) -> Html {
    let b = &props.bench;
    html! {
        <details class="panel bench" id="bench">
            <summary>{ "Speed and robustness" }</summary>
            <p class="muted">{ "Times training steps of every network at batch 64: the first step (which compiles the kernels), then 20 steps after 3 warm-up steps." }</p>
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
                            <th scope="col">{ "Network" }</th><th scope="col">{ "Backend" }</th><th scope="col">{ "First step (ms)" }</th>
                            <th scope="col">{ "ms / step" }</th><th scope="col">{ "Images / s" }</th>
                        </tr></thead>
                        <tbody>
                            { for b.results.iter().map(|(backend, r)| html! {
                                <tr data-network={r.network.id()} data-backend={backend.label()}
                                    data-first-ms={format!("{:.1}", r.first_step_ms)} data-ms={format!("{:.3}", r.ms_per_step)}>
                                    <td>{ r.network.title() }</td><td>{ backend.label() }</td>
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
