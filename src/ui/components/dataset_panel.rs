//! MNIST loading: progress while it downloads, a clear error with Retry if it fails, and
//! once ready its counts, statistics and a grid of sample digits.

use std::rc::Rc;

use yew::prelude::*;

use super::digit::Digit;
use crate::format::{bytes, duration, thousands};
use crate::ui::state::DataStatus;
use crate::worker::protocol::DatasetSummary;

#[derive(Properties, PartialEq)]
pub struct DatasetPanelProps {
    pub status: DataStatus,
    pub on_retry: Callback<()>,
}

#[component]
pub fn DatasetPanel(props: &DatasetPanelProps) -> Html {
    let body = match &props.status {
        DataStatus::Loading { received, total } => loading(*received, *total),
        DataStatus::Failed(error) => {
            let on_retry = props.on_retry.reform(|_: MouseEvent| ());
            html! {
                <div class="error" role="alert" id="data-error">
                    <p><strong>{ "The dataset could not be loaded. " }</strong>{ error.to_string() }</p>
                    <button id="retry" onclick={on_retry}>{ "Retry" }</button>
                </div>
            }
        }
        DataStatus::Ready(summary) => ready(summary),
    };
    let state = match &props.status {
        DataStatus::Loading { .. } => "loading",
        DataStatus::Failed(_) => "failed",
        DataStatus::Ready(_) => "ready",
    };
    html! {
        <section class="panel" id="dataset" data-state={state} aria-labelledby="dataset-title">
            <h2 id="dataset-title">{ "Dataset" }</h2>
            { body }
        </section>
    }
}

fn loading(received: u64, total: Option<u64>) -> Html {
    let (value, label) = match total.filter(|&t| t > 0) {
        Some(total) => {
            let pct = (received as f64 / total as f64 * 100.0).min(100.0);
            (Some(pct), format!("{} of {} ({pct:.0}%)", bytes(received), bytes(total)))
        }
        None => (None, format!("{} received", bytes(received))),
    };
    html! {
        <div class="loading" id="data-loading">
            <p>{ "Downloading MNIST: 60,000 training and 10,000 test digits." }</p>
            <progress id="data-progress" max="100" value={value.map(|v| format!("{v:.1}"))} aria-label="MNIST download" />
            <p class="muted">{ label }</p>
        </div>
    }
}

fn ready(summary: &Rc<DatasetSummary>) -> Html {
    let s = summary.as_ref();
    html! {
        <>
            <dl class="facts" id="data-facts">
                <div><dt>{ "Training images" }</dt><dd id="train-count">{ thousands(s.train_images) }</dd></div>
                <div><dt>{ "Test images" }</dt><dd id="test-count">{ thousands(s.test_images) }</dd></div>
                <div><dt>{ "Pixel mean" }</dt><dd id="pixel-mean">{ format!("{:.4}", s.stats.mean) }</dd></div>
                <div><dt>{ "Pixel std" }</dt><dd id="pixel-std">{ format!("{:.4}", s.stats.std) }</dd></div>
                <div>
                    <dt>{ "Loaded" }</dt>
                    <dd>{ format!("{} {} in {}", bytes(s.downloaded_bytes), s.encoding.name(),
                        if s.load_ms < 1000.0 { format!("{:.0} ms", s.load_ms) } else { duration(s.load_ms / 1000.0) }) }</dd>
                </div>
            </dl>
            // One click away: on a laptop screen the grid would push training and its charts
            // below the fold.
            <details id="samples-details">
                <summary>{ "100 sample digits, and how the input is normalised" }</summary>
                <p class="muted">{ "Mean and std are computed from the training pixels on the [0, 1] scale; every network's input is normalised with them." }</p>
                <div class="sample-grid" id="samples" aria-label="Sample training digits, ten of each class">
                    { for s.samples.iter().enumerate().map(|(i, sample)| html! {
                        <Digit key={i} pixels={Rc::new(sample.pixels.clone())}
                            caption={AttrValue::from(sample.label.to_string())}
                            alt={AttrValue::from(format!("a handwritten {}", sample.label))} />
                    }) }
                </div>
            </details>
        </>
    }
}
