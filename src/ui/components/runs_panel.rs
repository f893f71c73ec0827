//! "Your runs": the runs this browser keeps ([`crate::runs`]), newest first, with what each
//! reached; any two overlaid on a loss and an accuracy chart; a kept run's weights made the
//! network that reads drawings; a run deleted after a second click.
//!
//! Which runs are compared and which delete awaits its confirmation are this panel's own
//! state, as a field's text is a field's: nothing else on the page depends on them.

use std::rc::Rc;

use yew::prelude::*;

use super::chart::{smooth, Chart, Series};
use crate::format::{duration, percent};
use crate::runs::{self, CurvePoint, KeptRun};
use crate::train::EpochReport;

#[derive(Properties, PartialEq)]
pub struct RunsPanelProps {
    /// In any order: the table lists them newest first.
    pub runs: Rc<Vec<KeptRun>>,
    /// What went wrong keeping, listing, deleting or using runs, in one sentence.
    pub problem: Option<String>,
    /// Read digits with this run's weights (its id).
    pub on_read: Callback<String>,
    pub on_delete: Callback<String>,
}

/// Colours of the compared runs (`chart.rs`' series classes): training curve, held-out points.
const COLOURS: [(&str, &str); 2] = [("s1", "s2"), ("s3", "s4")];

#[component]
pub fn RunsPanel(props: &RunsPanelProps) -> Html {
    let chosen = use_state(Vec::<String>::new);
    let confirming = use_state(|| None::<String>);
    // A deleted run drops out of the comparison by itself.
    let compared: Vec<&KeptRun> = chosen.iter().filter_map(|id| props.runs.iter().find(|r| &r.id == id)).collect();
    let compared_ids: Vec<String> = compared.iter().map(|r| r.id.clone()).collect();
    let row = |run: &KeptRun| {
        let id = run.id.clone();
        let slot = compared_ids.iter().position(|c| *c == id);
        let on_compare = {
            let (chosen, current, id) = (chosen.clone(), compared_ids.clone(), id.clone());
            Callback::from(move |_: Event| chosen.set(runs::toggle(&current, &id)))
        };
        let asked = confirming.as_deref() == Some(id.as_str());
        let on_delete = {
            let (confirming, on_delete, id) = (confirming.clone(), props.on_delete.clone(), id.clone());
            Callback::from(move |_: MouseEvent| {
                if asked {
                    confirming.set(None);
                    on_delete.emit(id.clone());
                } else {
                    confirming.set(Some(id.clone()));
                }
            })
        };
        let on_read = props.on_read.reform({
            let id = id.clone();
            move |_: MouseEvent| id.clone()
        });
        let best = run.best();
        html! {
            <tr key={id.clone()} data-run-id={id} data-best-epoch={run.best_epoch().map(|b| (b + 1).to_string())}
                class={classes!(slot.map(|s| format!("compared {}", COLOURS[s].0)))}>
                <th scope="row">
                    <label class="compare">
                        <input type="checkbox" checked={slot.is_some()} onchange={on_compare}
                            aria-label={format!("Compare run #{}", run.number)} />
                        { format!("#{}", run.number) }
                    </label>
                </th>
                <td class="when">{ when(run.started) }</td>
                <td class="network">{ run.config.network.title() }<span class="settings">{ settings(run) }</span></td>
                <td class="epochs">{ format!("{} of {}", run.epochs_done(), run.config.schedule.epochs()) }</td>
                <td class="ending" title={ending_detail(run)}>{ run.ending.short() }</td>
                <td class="best" title={best.map(|b| format!("accuracy on the {} images that chose it", b.evaluated_on.name()))}>
                    { match (best, run.best_epoch()) {
                        (Some(best), _) => best_cell(best),
                        (None, Some(epoch)) => format!("{}: resumed from", epoch + 1),
                        (None, None) => "—".into(),
                    } }
                </td>
                <td class="test">{ best.and_then(|b| b.test_accuracy).map_or("—".into(), |a| percent(a as f64)) }</td>
                <td class="time">{ time_taken(run.seconds) }</td>
                <td class="actions"><div class="row-actions">
                    <button class="read" onclick={on_read} disabled={!run.has_weights}
                        title={if run.has_weights { "Read drawn digits with this run's best epoch, and keep it as your network" } else { "No epoch finished, so this run has no weights" }}>
                        { "Read with these weights" }
                    </button>
                    <button class={classes!("delete", asked.then_some("danger"))} onclick={on_delete}>
                        { if asked { "Really delete?" } else { "Delete" } }
                    </button>
                </div></td>
            </tr>
        }
    };
    html! {
        <section class="panel" id="runs" aria-labelledby="runs-title">
            <h2 id="runs-title">{ "Your runs" }</h2>
            if let Some(problem) = &props.problem {
                <p class="error" role="alert" id="runs-problem">{ problem.clone() }</p>
            }
            if props.runs.is_empty() {
                <p class="muted" id="runs-empty">{ format!(
                    "No run kept yet. Every run that finishes, stops or diverges is kept here (the latest {}), to compare two and to read with any.",
                    runs::MAX_KEPT
                ) }</p>
            } else {
                <div class="table-wrap">
                    <table id="runs-table">
                        <caption>{ "Kept in this browser, newest first. Tick two to compare them." }</caption>
                        <thead><tr>
                            <th scope="col" title="Tick two runs to compare them">{ "Run" }</th><th scope="col">{ "When" }</th><th scope="col">{ "Network" }</th>
                            <th scope="col">{ "Epochs" }</th><th scope="col">{ "Ended" }</th>
                            <th scope="col" title="The epoch its held-out images (validation, or the test set when it chose) chose, and its accuracy on them">{ "Best epoch" }</th>
                            <th scope="col" title="The chosen epoch's accuracy on the test set">{ "Test" }</th>
                            <th scope="col">{ "Time" }</th><th scope="col"><span class="visually-hidden">{ "Actions" }</span></th>
                        </tr></thead>
                        <tbody>{ for runs::newest_first(props.runs.to_vec()).iter().map(row) }</tbody>
                    </table>
                </div>
                if !compared.is_empty() {
                    { overlay(&compared) }
                }
            }
        </section>
    }
}

/// "2: 91.20%" (the accuracy on the images that chose it, named in the cell's title).
/// What the run was asked to do, beyond its network: what a comparison of two runs is about.
fn settings(run: &KeptRun) -> String {
    let c = &run.config;
    let images = c.train_limit.map_or("all images".to_owned(), |n| format!("first {}", crate::format::thousands(n)));
    let mut parts = vec![format!("lr {}", c.schedule.describe()), format!("batch {}", c.batch_size), images];
    if c.augment {
        parts.push(if c.strokes.is_some() { "augmented, strokes too" } else { "augmented" }.into());
    }
    parts.push(format!("seed {}", c.seed));
    if c.selection == crate::train::Selection::TestSet {
        parts.push("chosen on the test set".into());
    }
    parts.join(" · ")
}

fn best_cell(best: &EpochReport) -> String {
    format!("{}: {}", best.epoch + 1, percent(best.held_out_accuracy as f64))
}

/// Short runs (a subset, a few epochs) take seconds: tenths say which was quicker.
fn time_taken(seconds: f64) -> String {
    if seconds < 10.0 { format!("{seconds:.1} s") } else { duration(seconds) }
}

/// The full sentence behind "stopped", "diverged" or "failed".
fn ending_detail(run: &KeptRun) -> String {
    match &run.ending {
        runs::Ending::Ended(end) => end.describe(),
        runs::Ending::Failed(reason) => format!("Training failed: {reason}"),
    }
}

/// "29 Nov 23:05", in the user's time zone.
fn when(started: f64) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let date = js_sys::Date::new(&started.into());
    format!("{} {} {:02}:{:02}", date.get_date(), MONTHS[date.get_month() as usize % 12], date.get_hours(), date.get_minutes())
}

/// Loss and accuracy of the compared runs on shared axes: each run's training curve
/// (smoothed as the live charts smooth it) and its per-epoch held-out points.
fn overlay(compared: &[&KeptRun]) -> Html {
    let x_max = compared.iter().map(|r| r.config.schedule.epochs()).max().unwrap_or(1) as f64;
    let series = |curve: fn(&CurvePoint) -> f32, epoch: fn(&EpochReport) -> f32| -> Vec<Series> {
        compared
            .iter()
            .zip(COLOURS)
            .flat_map(|(run, (train, held))| {
                let name = run.name();
                let points: Vec<(f64, f64)> = run.curve.iter().map(|p| (p.position as f64, curve(p) as f64)).collect();
                let held_name = run.epochs.first().map_or("held-out", |e| e.evaluated_on.name());
                [
                    Series { name: format!("{name} · train").into(), class: train, points: Rc::new(smooth(&points, 0.15)), dots: false, faint: false },
                    Series {
                        name: format!("{name} · {held_name}").into(),
                        class: held,
                        points: Rc::new(run.epochs.iter().map(|e| ((e.epoch + 1) as f64, epoch(e) as f64)).collect()),
                        dots: true,
                        faint: false,
                    },
                ]
            })
            .collect()
    };
    html! {
        <div class="charts" id="runs-charts">
            <Chart id="runs-loss-chart" title="Loss, runs compared" {x_max} precision={4} log_y={true}
                series={series(|p| p.loss, |e| e.held_out_loss)} />
            <Chart id="runs-accuracy-chart" title="Accuracy, runs compared" {x_max} precision={4}
                series={series(|p| p.accuracy, |e| e.held_out_accuracy)} />
        </div>
    }
}
