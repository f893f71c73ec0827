//! Which GPU the worker found, or why it found none.

use yew::prelude::*;

use crate::ui::state::GpuStatus;

#[derive(Properties, PartialEq)]
pub struct GpuBadgeProps {
    pub status: GpuStatus,
}

#[component]
pub fn GpuBadge(props: &GpuBadgeProps) -> Html {
    match &props.status {
        GpuStatus::Probing => html! {
            <p class="gpu gpu-probing" id="gpu-status" data-state="probing">{ "Looking for a WebGPU adapter…" }</p>
        },
        GpuStatus::Ready(info) => html! {
            <p class={classes!("gpu", info.fallback.then_some("gpu-fallback"))} id="gpu-status" data-state="ready">
                <span class="gpu-label">{ "WebGPU: " }</span>{ info.label() }
                if info.fallback {
                    <span class="hint">{ " — a software adapter: correct but slow, so expect long training steps." }</span>
                }
            </p>
        },
        GpuStatus::Unavailable(reason) => html! {
            <p class="gpu gpu-missing" id="gpu-status" data-state="unavailable" role="status">
                <span class="gpu-label">{ "No WebGPU: " }</span>{ reason.clone() }
            </p>
        },
    }
}
