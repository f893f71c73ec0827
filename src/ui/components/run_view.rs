//! A run as it happens: progress with speed and time remaining, live charts, the notebook's
//! per-epoch log, and what the network gets wrong.

use std::rc::Rc;

use yew::prelude::*;

use super::chart::{smooth, Chart, Series};
use super::digit::Digit;
use crate::format::{duration, percent, rate, thousands};
use crate::train::{Eased, EpochReport, Selection, StepReport, TrainConfig};
use crate::weights::WeightsMeta;
use crate::ui::state::{Run, RunStatus};
use crate::worker::protocol::MemorySample;

#[derive(Properties, PartialEq)]
pub struct RunViewProps {
    pub run: Run,
    /// The user's saved weights: a run that ended early can resume from them.
    pub saved: Option<WeightsMeta>,
    pub on_resume_saved: Callback<TrainConfig>,
    /// Whether the trainer can start a run now (as Start is enabled: the dataset loaded, no
    /// measurement under way). A resume asked before would fail with a misleading reason.
    #[prop_or(true)]
    pub can_resume: bool,
}

#[component]
pub fn RunView(props: &RunViewProps) -> Html {
    let run = &props.run;
    let last = run.steps.last();
    let epochs = run.config.schedule.epochs();
    html! {
        <div class="run" id="run" data-status={status_name(&run.status)}>
            { status_line(run) }
            { eased_notes(run) }
            if let Some(meta) = resumable(run, props.saved.as_ref()) {
                <div class="resume-choices">
                    <button id="resume-saved" class="primary" disabled={!props.can_resume} onclick={{
                        let (config, cb) = (run.config.clone(), props.on_resume_saved.clone());
                        Callback::from(move |_: MouseEvent| cb.emit(config.clone()))
                    }}>{ format!("Resume from epoch {}", meta.epoch + 1) }</button>
                    // A diverged run would most likely diverge again at the same rate.
                    if matches!(run.status, RunStatus::Ended(crate::train::RunEnd::Diverged { .. })) {
                        <button id="resume-gentler" disabled={!props.can_resume} onclick={{
                            let mut config = run.config.clone();
                            config.schedule = config.schedule.scaled_from(meta.epoch + 1, 0.1);
                            let cb = props.on_resume_saved.clone();
                            Callback::from(move |_: MouseEvent| cb.emit(config.clone()))
                        }}>{ format!("Resume from epoch {} at a tenth of the learning rate", meta.epoch + 1) }</button>
                    }
                </div>
            }
            <div class="progress-grid">
                <label for="epoch-progress">{ format!("Epoch {} of {epochs}", last.map_or(1, |s| s.epoch + 1)) }</label>
                <progress id="epoch-progress" max="1" value={last.map_or(0.0, |s| s.step as f64 / s.steps_per_epoch.max(1) as f64).to_string()} />
                <label for="run-progress">{ format!("Run {}", percent(run.progress())) }</label>
                <progress id="run-progress" max="1" value={run.progress().to_string()} />
            </div>
            <dl class="facts compact" id="run-facts">
                <div><dt>{ "Images / s" }</dt><dd id="images-per-sec">{ last.map_or("—".into(), |s| rate(s.images_per_sec as f64)) }</dd></div>
                <div><dt>{ "ms / step" }</dt><dd id="ms-per-step">{ last.map_or("—".into(), |s| rate(s.ms_per_step as f64)) }</dd></div>
                <div><dt>{ "Loss" }</dt><dd id="current-loss">{ last.map_or("—".into(), |s| format!("{:.4}", s.loss)) }</dd></div>
                <div><dt>{ "Accuracy" }</dt><dd>{ last.map_or("—".into(), |s| percent(s.accuracy as f64)) }</dd></div>
                <div><dt>{ "Learning rate" }</dt><dd>{ last.map_or("—".into(), |s| crate::format::lr(s.lr)) }</dd></div>
                <div><dt>{ "Time left" }</dt><dd id="eta">{ eta(run).map_or("—".into(), duration) }</dd></div>
            </dl>
            { charts(run) }
            { epoch_table(&run.epochs, &run.memory) }
            if let Some(epoch) = run.epochs.last() {
                { evaluation(epoch) }
            }
        </div>
    }
}

/// The saved weights a run that ended early can continue from: this run's own (an epoch it
/// chose as its best, or the epoch it resumed from: not another run's, or a file's, of the
/// same network, which would be trained on under this run's settings), epochs left, and
/// chosen the same way (a network the test set chose trained on the validation images too,
/// so a validation run cannot continue it without its figures being flattered).
fn resumable<'a>(run: &Run, saved: Option<&'a WeightsMeta>) -> Option<&'a WeightsMeta> {
    // The epoch number and network alone do not tell: another run's (or a file's) epoch 5 of
    // the same network has them too. This run's best epoch is saved with the figures its
    // report gave (`WeightsMeta::chosen`); the epoch it resumed from, and the best it ended
    // with, are known whole.
    let chose = |e: &crate::train::EpochReport, m: &WeightsMeta| {
        let accuracy = match e.evaluated_on {
            Selection::Validation => m.validation_accuracy,
            Selection::TestSet => m.test_accuracy,
        };
        accuracy == Some(e.held_out_accuracy) && m.temperature == Some(e.temperature)
    };
    // Or the best the run ended with (a resumed run that found no better epoch saves the one it
    // resumed from again, measured and calibrated afresh).
    let its_own = |m: &WeightsMeta| {
        run.resumes.as_ref() == Some(m)
            || run.best.as_ref() == Some(m)
            || run.epochs.iter().any(|e| e.epoch == m.epoch && e.best_epoch == m.epoch && chose(e, m))
    };
    let ended_early = matches!(
        run.status,
        RunStatus::Failed(_) | RunStatus::Ended(crate::train::RunEnd::Stopped { .. } | crate::train::RunEnd::Diverged { .. })
    );
    let same_choice = |m: &WeightsMeta| m.validation_accuracy.is_some() == (run.config.selection == Selection::Validation);
    saved.filter(|m| ended_early && its_own(m) && m.network == run.config.network && m.epoch + 1 < run.config.schedule.epochs() && same_choice(m))
}

fn status_name(status: &RunStatus) -> &'static str {
    match status {
        RunStatus::Starting => "starting",
        RunStatus::Running => "running",
        RunStatus::Paused => "paused",
        RunStatus::Stopping => "stopping",
        RunStatus::Ended(crate::train::RunEnd::Completed) => "completed",
        RunStatus::Ended(crate::train::RunEnd::Stopped { .. }) => "stopped",
        RunStatus::Ended(crate::train::RunEnd::Diverged { .. }) => "diverged",
        RunStatus::Failed(_) => "failed",
    }
}

fn status_line(run: &Run) -> Html {
    let (class, text) = match &run.status {
        RunStatus::Starting => ("info", "Uploading the dataset to the device and compiling the first kernels…".to_owned()),
        RunStatus::Running => ("info", match run.config.selection {
            Selection::Validation => format!(
                "Training {} on {} images; {} held-out validation images choose the best epoch; the {} test images only measure the epoch chosen, never choose.",
                run.config.network.title(), thousands(run.train_images), thousands(run.held_out_images), thousands(run.test_images)
            ),
            Selection::TestSet => format!(
                "Training {} on {} images; the {} test images choose the best epoch, as the notebook did.",
                run.config.network.title(), thousands(run.train_images), thousands(run.test_images)
            ),
        }),
        RunStatus::Paused => ("info", "Paused. Resume to continue from the same step.".to_owned()),
        RunStatus::Stopping => ("info", "Stopping after the current step…".to_owned()),
        RunStatus::Ended(end) => {
            let best = run.best.as_ref().map(|b| format!(" Keeping the weights of epoch {} ({}).", b.epoch + 1, b.accuracies())).unwrap_or_default();
            (if matches!(end, crate::train::RunEnd::Diverged { .. }) { "error" } else { "done" }, format!("{}{best}", end.describe()))
        }
        RunStatus::Failed(reason) => ("error", format!("Training failed: {reason}")),
    };
    html! { <p class={classes!("status", class)} id="run-status" role="status">{ text }</p> }
}

/// The epochs started again easing into their rate: the finished ones, and the one training
/// now once its first report says so.
fn eased_epochs(run: &Run) -> impl Iterator<Item = (usize, Eased)> + '_ {
    let finished = run.epochs.iter().filter_map(|e| e.eased.map(|eased| (e.epoch, eased)));
    let current = run.steps.last().filter(|s| run.epochs.last().is_none_or(|e| e.epoch < s.epoch));
    finished.chain(current.and_then(|s| s.eased.map(|eased| (s.epoch, eased))))
}

/// Each epoch that was started again easing into its rate, said in one sentence: the run is
/// no longer the schedule exactly (the learning-rate chart draws the ramp it took).
fn eased_notes(run: &Run) -> Html {
    html! {
        for (epoch, eased) in eased_epochs(run) {
            <p class="status info eased" data-epoch={(epoch + 1).to_string()}>{ eased.describe(epoch) }</p>
        }
    }
}

/// Seconds left: from finished epochs' wall time once there are some (evaluation included;
/// `estimate::epoch_seconds`), from the step rate before that.
fn eta(run: &Run) -> Option<f64> {
    if !run.status.is_active() {
        return None;
    }
    let last = run.steps.last()?;
    let epochs = run.config.schedule.epochs() as f64;
    let remaining = (epochs - last.epoch_position()).max(0.0);
    let finished: Vec<f64> = run.epochs.iter().map(|e| e.seconds).collect();
    if let Some(per_epoch) = crate::train::estimate::epoch_seconds(&finished) {
        Some(per_epoch * remaining)
    } else {
        Some(last.ms_per_step as f64 / 1000.0 * remaining * last.steps_per_epoch as f64)
    }
}

fn charts(run: &Run) -> Html {
    let held = run.config.selection.name();
    let x_max = run.config.schedule.epochs() as f64;
    let step_points = |f: fn(&StepReport) -> f64| -> Vec<(f64, f64)> { run.steps.iter().map(|s| (s.epoch_position(), f(s))).collect() };
    let epoch_points = |f: fn(&EpochReport) -> f64| -> Rc<Vec<(f64, f64)>> { Rc::new(run.epochs.iter().map(|e| ((e.epoch + 1) as f64, f(e))).collect()) };
    let loss = step_points(|s| s.loss as f64);
    let acc = step_points(|s| s.accuracy as f64);
    let marker = run.epochs.last().map(|e| ((e.best_epoch + 1) as f64, AttrValue::from(format!("best: epoch {}", e.best_epoch + 1))));
    let series = |name: &'static str, class, points: Vec<(f64, f64)>, faint| Series { name: name.into(), class, points: Rc::new(points), dots: false, faint };
    // The rate each step took: the schedule's, but for an eased epoch its ramp.
    let lr = {
        let eased: Vec<(usize, Eased)> = eased_epochs(run).collect();
        let steps_per_epoch = run.steps.last().map_or(1, |s| s.steps_per_epoch);
        let mut points = Vec::new();
        for e in 0..run.config.schedule.epochs() {
            match eased.iter().find(|(epoch, _)| *epoch == e) {
                Some((_, ramp)) => points.extend(ramp.rate_curve(e, steps_per_epoch)),
                None => {
                    let v = run.config.schedule.lr(e);
                    points.extend([(e as f64, v), ((e + 1) as f64, v)]);
                }
            }
        }
        points
    };
    html! {
        <div class="charts">
            <Chart id="loss-chart" title="Loss" x_max={x_max} precision={4} log_y={true} marker={marker.clone()}
                series={vec![
                    series("train (raw)", "s1", loss.clone(), true),
                    series("train", "s1", smooth(&loss, 0.15), false),
                    Series { name: held.into(), class: "s2", points: epoch_points(|e| e.held_out_loss as f64), dots: true, faint: false },
                ]} />
            <Chart id="accuracy-chart" title="Accuracy" x_max={x_max} precision={4} marker={marker}
                series={vec![
                    series("train (raw)", "s1", acc.clone(), true),
                    series("train", "s1", smooth(&acc, 0.15), false),
                    Series { name: held.into(), class: "s2", points: epoch_points(|e| e.held_out_accuracy as f64), dots: true, faint: false },
                ]} />
            <Chart id="lr-chart" title="Learning rate" x_max={x_max} precision={4} log_y={true}
                series={vec![series("lr", "s3", lr, false)]} />
        </div>
    }
}

fn epoch_table(epochs: &[EpochReport], memory: &[MemorySample]) -> Html {
    let Some(held) = epochs.first().map(|e| e.evaluated_on.name()) else { return Html::default() };
    let best = epochs.last().map(|e| e.best_epoch);
    html! {
        <div class="table-wrap">
            <table id="epoch-log">
                <caption>{ "Per-epoch log (as the notebook prints it)" }</caption>
                <thead><tr>
                    <th scope="col">{ "Epoch" }</th><th scope="col">{ "lr" }</th><th scope="col">{ "loss" }</th><th scope="col">{ "acc" }</th>
                    <th scope="col">{ format!("{held} loss") }</th><th scope="col">{ format!("{held} acc") }</th>
                    <th scope="col" title="How much the logits are divided by so the confidence is calibrated (fitted on the held-out images)">{ "T" }</th>
                    <th scope="col">{ "seconds" }</th>
                    <th scope="col" title="The worker's WebAssembly memory, and burn's GPU buffers in use / held, after the epoch: flat from epoch to epoch when nothing leaks">{ "memory (MB)" }</th>
                </tr></thead>
                <tbody>
                    { for epochs.iter().map(|e| html! {
                        <tr class={classes!((Some(e.epoch) == best).then_some("best"))}>
                            <td>{ e.epoch + 1 }{ if Some(e.epoch) == best { " ★" } else { "" } }</td>
                            <td>{ crate::format::lr(e.lr) }</td>
                            <td>{ format!("{:.4}", e.train_loss) }</td>
                            <td>{ format!("{:.4}", e.train_accuracy) }</td>
                            <td>{ format!("{:.4}", e.held_out_loss) }</td>
                            <td>{ format!("{:.4}", e.held_out_accuracy) }</td>
                            <td>{ format!("{:.2}", e.temperature) }</td>
                            <td>{ format!("{:.1}", e.seconds) }</td>
                            { memory_cell(memory.iter().find(|m| m.epoch == e.epoch)) }
                        </tr>
                    }) }
                </tbody>
            </table>
        </div>
    }
}

/// The cell carries the raw byte counts as data attributes, for the memory benchmark.
fn memory_cell(sample: Option<&MemorySample>) -> Html {
    let Some(m) = sample else { return html! { <td></td> } };
    let mb = |bytes: u64| format!("{:.1}", bytes as f64 / 1e6);
    let text = match m.gpu {
        Some(g) => format!("wasm {} · GPU {} / {}", mb(m.wasm_bytes), mb(g.in_use), mb(g.reserved)),
        None => format!("wasm {}", mb(m.wasm_bytes)),
    };
    html! {
        <td class="memory" data-wasm={m.wasm_bytes.to_string()}
            data-gpu-in-use={m.gpu.map(|g| g.in_use.to_string())}
            data-gpu-reserved={m.gpu.map(|g| g.reserved.to_string())}>{ text }</td>
    }
}

fn evaluation(epoch: &EpochReport) -> Html {
    let counts = &epoch.confusion.counts;
    let max = counts.iter().enumerate().flat_map(|(t, row)| row.iter().enumerate().filter(move |(p, _)| *p != t).map(|(_, &c)| c)).max().unwrap_or(1).max(1);
    let per_class = epoch.confusion.per_class_accuracy();
    html! {
        <div class="evaluation">
            <div class="table-wrap">
                <table class="confusion" id="confusion">
                    <caption>{ format!("Confusion matrix on the {} images, epoch {} (rows: true digit, columns: predicted)", epoch.evaluated_on.name(), epoch.epoch + 1) }</caption>
                    <thead><tr><th></th>{ for (0..10).map(|p| html! { <th scope="col">{ p }</th> }) }<th scope="col">{ "acc" }</th></tr></thead>
                    <tbody>
                        { for counts.iter().enumerate().map(|(t, row)| html! {
                            <tr>
                                <th scope="row">{ t }</th>
                                { for row.iter().enumerate().map(|(p, &c)| {
                                    let level = if p == t || c == 0 { 0 } else { 1 + (c * 4 / max).min(4) };
                                    html! { <td class={classes!(if p == t { "diag".to_owned() } else { format!("heat{level}") })}>{ c }</td> }
                                }) }
                                <td class="per-class">{ format!("{:.1}%", per_class[t] * 100.0) }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            </div>
            <div class="gallery-wrap">
                <h3>{ format!("Misclassified {} digits ({} shown)", epoch.evaluated_on.name(), epoch.misclassified.len()) }</h3>
                <div class="gallery" id="misclassified">
                    { for epoch.misclassified.iter().map(|m| html! {
                        <Digit key={m.index} pixels={Rc::new(m.pixels.clone())}
                            caption={AttrValue::from(format!("{} → {}", m.label, m.predicted))}
                            alt={AttrValue::from(format!("{} digit {}: a {} read as {}", epoch.evaluated_on.name(), m.index, m.label, m.predicted))} />
                    }) }
                </div>
            </div>
        </div>
    }
}
