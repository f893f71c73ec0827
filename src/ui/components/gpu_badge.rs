//! Which GPU the worker found, or why it found none.

use yew::prelude::*;

use web_sys::HtmlSelectElement;

use crate::ui::hooks::use_refocus;
use crate::ui::state::GpuStatus;
use crate::worker::protocol::Backend;

#[derive(Properties, PartialEq)]
pub struct GpuBadgeProps {
    pub status: GpuStatus,
}

#[derive(Properties, PartialEq)]
pub struct BackendPickerProps {
    pub backend: Option<Backend>,
    /// Why the worker chose the CPU, when it did: one sentence for the user.
    pub note: Option<String>,
    pub gpu_usable: bool,
    pub disabled: bool,
    pub on_change: Callback<Backend>,
}

/// The backend in use, and the choice of the other one.
#[component]
pub fn BackendPicker(props: &BackendPickerProps) -> Html {
    // While the worker is replaced (backend `None` until the new one says) the picker stays,
    // on the backend asked for, disabled: removed, it took the keyboard's focus with it.
    let last = use_mut_ref(|| None);
    if props.backend.is_some() {
        *last.borrow_mut() = props.backend;
    }
    let locked = props.disabled || props.backend.is_none();
    let select = use_node_ref();
    let refocus = use_refocus(&select, locked);
    let Some(backend) = *last.borrow() else { return Html::default() };
    let onblur = refocus.left();
    let onchange = props.on_change.reform(move |e: Event| {
        refocus.changed();
        Backend::from_id(&e.target_unchecked_into::<HtmlSelectElement>().value()).unwrap_or(Backend::Cpu)
    });
    html! {
        <div class="backend">
            <label for="backend">{ "Train on" }</label>
            <select id="backend" ref={select} {onchange} {onblur} disabled={locked}>
                <option value={Backend::WebGpu.id()} selected={backend == Backend::WebGpu} disabled={!props.gpu_usable}>{ Backend::WebGpu.label() }</option>
                <option value={Backend::Cpu.id()} selected={backend == Backend::Cpu}>{ Backend::Cpu.label() }</option>
            </select>
            if let Some(note) = &props.note {
                <p class="hint" id="backend-note">{ note.clone() }</p>
            }
        </div>
    }
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
