//! The user's trained network: kept in this browser, downloadable as a file, and loadable
//! from one. A refused file leaves the network in use untouched.

use std::rc::Rc;

use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, HtmlInputElement, Url};
use yew::prelude::*;

use crate::export::ExportFormat;
use crate::ui::state::WeightsNote;
use crate::weights::WeightsMeta;

/// Larger than any weights file this app writes (2.4 MB) by a wide margin.
const MAX_FILE: f64 = 16e6;

#[derive(Properties, PartialEq)]
pub struct WeightsPanelProps {
    pub saved: Option<WeightsMeta>,
    pub note: Option<WeightsNote>,
    /// A file to hand to the browser as a download, once.
    pub download: Option<(WeightsMeta, ExportFormat, Rc<Vec<u8>>)>,
    pub on_export: Callback<ExportFormat>,
    pub on_downloaded: Callback<()>,
    pub on_load: Callback<Vec<u8>>,
    /// Report a problem found before the worker saw the file.
    pub on_problem: Callback<String>,
}

#[component]
pub fn WeightsPanel(props: &WeightsPanelProps) -> Html {
    {
        let on_downloaded = props.on_downloaded.clone();
        use_effect_with(props.download.clone(), move |download| {
            if let Some((meta, format, bytes)) = download {
                save_as(&format!("mnist-{}-epoch{}.{}", meta.network.id(), meta.epoch + 1, format.extension()), bytes);
                on_downloaded.emit(());
            }
        });
    }
    let onchange = {
        let (on_load, on_problem) = (props.on_load.clone(), props.on_problem.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
            input.set_value("");
            if file.size() > MAX_FILE {
                on_problem.emit(format!("{} is {:.0} MB, too large to be a weights file.", file.name(), file.size() / 1e6));
                return;
            }
            let (on_load, on_problem) = (on_load.clone(), on_problem.clone());
            spawn_local(async move {
                match JsFuture::from(file.array_buffer()).await {
                    Ok(buffer) => on_load.emit(Uint8Array::new(&buffer).to_vec()),
                    Err(_) => on_problem.emit(format!("{} could not be read.", file.name())),
                }
            });
        })
    };
    html! {
        <div class="weights" id="weights">
            <h3>{ "Your network" }</h3>
            <p class="muted" id="saved">
                { match &props.saved {
                    Some(m) => format!(
                        "{}, epoch {}, {} — kept {}.", m.network.title(), m.epoch + 1, m.accuracies(),
                        if matches!(props.note, Some(WeightsNote::ThisVisitOnly(_) | WeightsNote::NotSaved(_))) { "for this visit" } else { "in this browser" }
                    ),
                    None => "Nothing trained yet: the best epoch of your next run is kept here, and survives a reload.".into(),
                } }
            </p>
            <div class="buttons">
                <button id="download" onclick={props.on_export.reform(|_: MouseEvent| ExportFormat::Studio)} disabled={props.saved.is_none()}>{ "Download weights" }</button>
                <button id="download-safetensors" title="safetensors with PyTorch's tensor names and layouts (see the README for the module)"
                    onclick={props.on_export.reform(|_: MouseEvent| ExportFormat::Safetensors)} disabled={props.saved.is_none()}>{ "For PyTorch (.safetensors)" }</button>
                <input id="upload" class="visually-hidden" type="file" accept=".weights,application/octet-stream" {onchange} />
                <label class="button" for="upload">{ "Load weights file…" }</label>
            </div>
            { match &props.note {
                Some(WeightsNote::Problem(p)) => html! { <p class="error" role="alert" id="weights-note">{ p.clone() }</p> },
                Some(WeightsNote::NotSaved(p)) => html! { <p class="error" role="alert" id="weights-note" data-kept="visit">{ p.clone() }</p> },
                Some(WeightsNote::Saved) => html! { <p class="ok" id="weights-note" role="status">{ "Saved in this browser." }</p> },
                Some(WeightsNote::Restored) => html! { <p class="ok" id="weights-note" role="status">{ "Restored from your last visit." }</p> },
                Some(WeightsNote::ThisVisitOnly(why)) => html! { <p class="muted" id="weights-note" role="status" data-kept="visit">{ why.clone() }</p> },
                None => Html::default(),
            } }
        </div>
    }
}

/// Offer `bytes` to the user as a file download.
fn save_as(name: &str, bytes: &[u8]) {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let options = BlobPropertyBag::new();
    options.set_type("application/octet-stream");
    let Ok(blob) = Blob::new_with_u8_array_sequence_and_options(&parts, &options) else { return };
    let Ok(url) = Url::create_object_url_with_blob(&blob) else { return };
    let anchor = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("a").ok())
        .and_then(|a| a.dyn_into::<HtmlAnchorElement>().ok());
    if let Some(a) = anchor {
        a.set_href(&url);
        a.set_download(name);
        a.click();
    }
    let _ = Url::revoke_object_url(&url);
}
