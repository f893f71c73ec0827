//! Choosing what to train and how: network, schedule, batch size, augmentation, subset;
//! and Start / Pause / Resume / Stop.

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use std::rc::Rc;

use crate::format::{duration, rate, thousands};
use crate::train::estimate;
use crate::link::{RunSettings, ScheduleChoice, SUBSETS};
use crate::data::strokes::StrokeRanges;
use crate::model::NetworkKind;
use crate::train::{Schedule, Selection, TrainConfig};
use crate::ui::state::RunStatus;

#[derive(Properties, PartialEq)]
pub struct TrainControlsProps {
    /// The dataset is loaded and the worker can train.
    pub ready: bool,
    pub status: Option<RunStatus>,
    pub on_start: Callback<TrainConfig>,
    pub on_pause: Callback<()>,
    pub on_resume: Callback<()>,
    pub on_stop: Callback<()>,
    /// Suggest a small subset (slow software adapter).
    #[prop_or_default]
    pub slow_device: bool,
    /// Where the controls start (the page's address); read once, when they first render.
    #[prop_or_default]
    pub initial: RunSettings,
    /// The settings after each change the user makes (not the page's own defaults), for the
    /// address.
    #[prop_or_default]
    pub on_settings: Callback<RunSettings>,
    /// ms per training step of 64 images measured on the backend in use, by network (latest
    /// last), for the estimate of how long a run takes.
    #[prop_or_default]
    pub measured: Rc<Vec<(NetworkKind, f64)>>,
    /// A measurement is under way.
    #[prop_or_default]
    pub measuring: bool,
    /// Measure this network's training step.
    #[prop_or_default]
    pub on_measure: Callback<NetworkKind>,
    /// Training and test images in the dataset.
    #[prop_or((60_000, 10_000))]
    pub images: (usize, usize),
}

#[component]
pub fn TrainControls(props: &TrainControlsProps) -> Html {
    let initial = &props.initial;
    let network = use_state(|| initial.network);
    let schedule = use_state(|| initial.schedule);
    // The number fields keep the text as typed: the page re-renders on every worker message,
    // and a field whose state lagged behind what was typed would be reset to the old value
    // (yew writes its value back into the DOM on each render). Parsed when Start is pressed.
    let epochs = use_state(|| initial.epochs.to_string());
    let lr = use_state(|| initial.lr.to_string());
    let batch = use_state(|| initial.batch.to_string());
    let seed = use_state(|| initial.seed.to_string());
    let augment = use_state(|| initial.augment.unwrap_or(initial.network.augmented()));
    let strokes = use_state(|| initial.strokes);
    let on_test = use_state(|| initial.selection == Some(Selection::TestSet));
    let subset = use_state(|| initial.subset.unwrap_or(0));
    let error = use_state(|| None::<String>);
    // Set by the user's own changes: only those go to the address, so a shared link never
    // carries a default that depended on the sender's device.
    let touched = use_mut_ref(|| false);
    // The user picked a subset: no default replaces it.
    let subset_chosen = use_mut_ref(|| false);
    {
        // On a slow backend, start from a subset that trains in minutes, not hours (unless the
        // address chose one).
        // Once a step has been measured: the whole training set when the notebook's schedule
        // on it takes a few minutes at most here, else a subset that trains in minutes.
        let full = measured_ms(props, *network).map(|ms| {
            let config = TrainConfig::notebook(*network);
            estimate::run_seconds(&config, props.images.0, props.images.1, ms)
        });
        let (subset, chosen) = (subset.clone(), initial.subset.is_some() || *subset_chosen.borrow());
        use_effect_with((props.slow_device, full.map(|s| s <= estimate::FEW_MINUTES)), move |(slow, quick)| {
            if !chosen {
                subset.set(match quick {
                    Some(true) => 0,
                    Some(false) => 2_000,
                    None if *slow => 2_000,
                    None => 0,
                })
            }
        });
    }
    let current = Typed { network: *network, schedule: *schedule, epochs: &epochs, lr: &lr, batch: &batch, subset: *subset, augment: *augment, strokes: *strokes, on_test: *on_test, seed: &seed };
    {
        // What the fields say, once they all parse, to the address after each change.
        let (touched, on_settings) = (touched.clone(), props.on_settings.clone());
        use_effect_with(current.settings(), move |settings| {
            if let (true, Some(settings)) = (*touched.borrow(), settings) {
                on_settings.emit(settings.clone());
            }
        });
    }
    let touch = {
        let touched = touched.clone();
        move || *touched.borrow_mut() = true
    };

    let active = props.status.as_ref().is_some_and(|s| s.is_active());
    let paused = props.status == Some(RunStatus::Paused);

    let on_network = {
        let (network, augment, strokes, touch) = (network.clone(), augment.clone(), strokes.clone(), touch.clone());
        Callback::from(move |e: Event| {
            touch();
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            if let Some(kind) = NetworkKind::from_id(&value) {
                network.set(kind);
                augment.set(kind.augmented());
                strokes.set(false);
            }
        })
    };
    let on_schedule = {
        let (schedule, touch) = (schedule.clone(), touch.clone());
        Callback::from(move |e: Event| {
            touch();
            schedule.set(ScheduleChoice::from_id(&e.target_unchecked_into::<HtmlSelectElement>().value()).unwrap_or(ScheduleChoice::Notebook))
        })
    };
    let typed = |state: UseStateHandle<String>| {
        let touch = touch.clone();
        Callback::from(move |e: InputEvent| {
            touch();
            state.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on_augment = {
        let (augment, touch) = (augment.clone(), touch.clone());
        Callback::from(move |e: Event| {
            touch();
            augment.set(e.target_unchecked_into::<HtmlInputElement>().checked())
        })
    };
    let on_strokes = {
        let (strokes, touch) = (strokes.clone(), touch.clone());
        Callback::from(move |e: Event| {
            touch();
            strokes.set(e.target_unchecked_into::<HtmlInputElement>().checked())
        })
    };
    let on_choose = {
        let (on_test, touch) = (on_test.clone(), touch.clone());
        Callback::from(move |e: Event| {
            touch();
            on_test.set(e.target_unchecked_into::<HtmlInputElement>().checked())
        })
    };
    let on_start = {
        let (network, schedule, epochs, lr, batch, augment, strokes, on_test, subset, seed, error) = (
            network.clone(), schedule.clone(), epochs.clone(), lr.clone(), batch.clone(),
            augment.clone(), strokes.clone(), on_test.clone(), subset.clone(), seed.clone(), error.clone(),
        );
        let on_start = props.on_start.clone();
        Callback::from(move |_: MouseEvent| {
            let typed = Typed { network: *network, schedule: *schedule, epochs: &epochs, lr: &lr, batch: &batch, subset: *subset, augment: *augment, strokes: *strokes, on_test: *on_test, seed: &seed };
            match typed.config() {
                Ok(config) => {
                    error.set(None);
                    on_start.emit(config);
                }
                Err(e) => error.set(Some(e)),
            }
        })
    };

    let estimate = estimate_line(&current, props, active);

    html! {
        // While a run is active its settings cannot change: the fields make way for the run's
        // progress and charts (hidden, not removed, so what was typed stays).
        <form class={classes!("controls", active.then_some("running"))} id="train-controls" onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())}>
            <div class="field wide">
                <label for="network">{ "Network" }</label>
                <select id="network" onchange={on_network} disabled={active}>
                    { for NetworkKind::ALL.iter().map(|k| html! {
                        <option value={k.id()} selected={*k == *network}>
                            { format!("{} — {} parameters", k.title(), thousands(k.num_params())) }
                        </option>
                    }) }
                </select>
                <p class="hint" id="network-description">
                    { network.description() }{ format!(" Notebook test accuracy: {}.", network.notebook_accuracy()) }
                </p>
            </div>
            <div class="field schedule">
                <label for="schedule">{ "Schedule" }</label>
                <select id="schedule" onchange={on_schedule} disabled={active}>
                    <option value={ScheduleChoice::Notebook.id()} selected={*schedule == ScheduleChoice::Notebook}>{ "Notebook: 1 @ 0.01, 5 @ 0.1, 5 @ 0.01" }</option>
                    <option value={ScheduleChoice::NotebookExtended.id()} selected={*schedule == ScheduleChoice::NotebookExtended}>{ "Notebook + 5 @ 0.001" }</option>
                    <option value={ScheduleChoice::Custom.id()} selected={*schedule == ScheduleChoice::Custom}>{ "Custom" }</option>
                </select>
            </div>
            if *schedule == ScheduleChoice::Custom {
                <div class="field">
                    <label for="epochs">{ "Epochs" }</label>
                    <input id="epochs" type="number" min="1" max="100" value={(*epochs).clone()} oninput={typed(epochs.clone())} disabled={active} />
                </div>
                <div class="field">
                    <label for="lr">{ "Learning rate" }</label>
                    <input id="lr" type="number" min="0" step="any" value={(*lr).clone()} oninput={typed(lr.clone())} disabled={active} />
                </div>
            }
            <div class="field">
                <label for="batch">{ "Batch size" }</label>
                <input id="batch" type="number" min="1" max="4096" value={(*batch).clone()} oninput={typed(batch.clone())} disabled={active} />
            </div>
            <div class="field">
                <label for="subset">{ "Training images" }</label>
                <select id="subset" disabled={active} onchange={{
                    let (subset, touch, chosen) = (subset.clone(), touch.clone(), subset_chosen.clone());
                    Callback::from(move |e: Event| {
                        touch();
                        *chosen.borrow_mut() = true;
                        subset.set(e.target_unchecked_into::<HtmlSelectElement>().value().parse().unwrap_or(0))
                    })
                }}>
                    { for SUBSETS.iter().map(|&n| html! {
                        <option value={n.to_string()} selected={*subset == n}>
                            { if n == 0 { "All 60,000".to_owned() } else { format!("First {}", thousands(n)) } }
                        </option>
                    }) }
                </select>
            </div>
            <div class="field">
                <label for="seed">{ "Seed" }</label>
                <input id="seed" type="number" min="0" step="1" value={(*seed).clone()} oninput={typed(seed.clone())} disabled={active}
                    title="Seeds the initial weights, dropout, shuffling and augmentation: the same seed and settings train the same network" />
            </div>
            <div class="field check">
                <input id="augment" type="checkbox" checked={*augment} onchange={on_augment} disabled={active} />
                <label for="augment">{ "Augment (rotate, shift, shear, zoom)" }</label>
            </div>
            <div class="field check">
                <input id="strokes" type="checkbox" checked={*augment && *strokes} onchange={on_strokes} disabled={active || !*augment} />
                <label for="strokes" title="Each image's strokes bent by a smooth random field and drawn with a wider or narrower pen, as drawings on a screen differ from MNIST's: the recipe of the network the page reads with before anything is trained">
                    { "…and bend strokes, vary the pen (the default network's recipe)" }
                </label>
            </div>
            <div class="field check">
                <input id="choose-on-test" type="checkbox" checked={*on_test} onchange={on_choose} disabled={active} />
                <label for="choose-on-test" title="Otherwise the last 5,000 training images are held out: they choose the best epoch and calibrate the confidence, and the test set only measures each epoch chosen, never chooses">
                    { "Choose the best epoch on the test set, as the notebook did" }
                </label>
            </div>
            <div class="buttons">
                if !active {
                    <button id="start" class="primary" onclick={on_start} disabled={!props.ready}>{ "Start training" }</button>
                } else if paused {
                    <button id="resume" class="primary" onclick={props.on_resume.reform(|_: MouseEvent| ())}>{ "Resume" }</button>
                } else {
                    <button id="pause" onclick={props.on_pause.reform(|_: MouseEvent| ())}
                        disabled={props.status != Some(RunStatus::Running)}>{ "Pause" }</button>
                }
                if active {
                    <button id="stop" class="danger" onclick={props.on_stop.reform(|_: MouseEvent| ())}
                        disabled={props.status == Some(RunStatus::Stopping)}>{ "Stop" }</button>
                }
            </div>
            { estimate }
            if let Some(e) = &*error {
                <p class="error" role="alert">{ e.clone() }</p>
            }
        </form>
    }
}

/// A whole number typed into the field called `what` (its range is checked by the config).
fn parse_whole<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, String> {
    text.trim().parse().map_err(|_| format!("{what} must be a whole number, not \"{}\"", text.trim()))
}

/// Held to the bounds a shared link is (`link`), so that the address of a run started here
/// starts it again; millions of epochs also froze the page (its learning-rate chart has
/// points for every epoch).
fn parse_epochs(text: &str) -> Result<usize, String> {
    match parse_whole("epochs", text)? {
        n if n > crate::link::MAX_EPOCHS => Err(format!("a run may have at most {} epochs, not {n}", crate::link::MAX_EPOCHS)),
        n => Ok(n),
    }
}

/// Its sign and finiteness are the schedule's to check; its bound a link's, as for epochs.
fn parse_lr(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(lr) if lr > crate::link::MAX_LR => Err(format!("the learning rate must be at most {}, not {lr}", crate::link::MAX_LR)),
        Ok(lr) => Ok(lr),
        Err(_) => Err(format!("the learning rate must be a number, not \"{}\"", text.trim())),
    }
}

/// The settings as the fields hold them.
struct Typed<'a> {
    network: NetworkKind,
    schedule: ScheduleChoice,
    epochs: &'a str,
    lr: &'a str,
    batch: &'a str,
    subset: usize,
    augment: bool,
    /// Only with `augment`.
    strokes: bool,
    on_test: bool,
    seed: &'a str,
}

impl Typed<'_> {
    /// The settings for the address, when every field parses (its ranges are the link's to
    /// check when it is read back).
    fn settings(&self) -> Option<RunSettings> {
        Some(RunSettings {
            network: self.network,
            schedule: self.schedule,
            epochs: parse_whole("epochs", self.epochs).ok()?,
            lr: parse_lr(self.lr).ok()?,
            batch: parse_whole("batch size", self.batch).ok()?,
            subset: Some(self.subset),
            augment: Some(self.augment),
            strokes: self.strokes_in_use(),
            selection: Some(self.selection()),
            seed: parse_whole("the seed", self.seed).ok()?,
            backend: None,
        })
    }

    /// The stroke box counts only while Augment is ticked (it is disabled otherwise).
    fn strokes_in_use(&self) -> bool {
        self.augment && self.strokes
    }

    fn selection(&self) -> Selection {
        if self.on_test { Selection::TestSet } else { Selection::Validation }
    }

    /// The run these settings describe, or what is wrong with them.
    fn config(&self) -> Result<TrainConfig, String> {
        let schedule = match self.schedule {
            ScheduleChoice::Notebook => Schedule::notebook(false),
            ScheduleChoice::NotebookExtended => Schedule::notebook(true),
            ScheduleChoice::Custom => Schedule::constant(parse_epochs(self.epochs)?, parse_lr(self.lr)?),
        };
        let limit = (self.subset > 0).then_some(self.subset);
        let seed = parse_whole("the seed", self.seed)?;
        let config = TrainConfig::new(self.network, schedule, self.augment)
            .with_strokes(self.strokes_in_use().then(StrokeRanges::default))
            .with_selection(self.selection())
            .with_batch_size(parse_whole("batch size", self.batch)?)
            .with_seed(seed)
            .with_train_limit(limit)
            .with_test_limit(limit.map(|n| (n / 5).max(100)))
            .with_report_every(if limit.is_some() { 5 } else { 25 });
        config.validate().map(|()| config)
    }
}

/// How long the chosen run will take here: from a measured step of this network on this
/// backend, or an offer to measure one.
fn estimate_line(typed: &Typed, props: &TrainControlsProps, active: bool) -> Html {
    if active || !props.ready {
        return Html::default();
    }
    let Ok(config) = typed.config() else { return Html::default() };
    let (train_images, test_images) = props.images;
    match measured_ms(props, typed.network) {
        Some(ms) => {
            let seconds = estimate::run_seconds(&config, train_images, test_images, ms);
            html! {
                <p class="hint" id="estimate" data-seconds={format!("{seconds:.0}")}>
                    { format!("This run: about {} here (a training step of {} images took {} ms on this backend).",
                        duration(seconds), estimate::MEASURED_BATCH, rate(ms)) }
                </p>
            }
        }
        None if props.measuring => html! { <p class="hint" id="estimate">{ "Measuring a few training steps to estimate how long runs take here…" }</p> },
        None => html! {
            <p class="hint" id="estimate">
                { "How long will it take here? " }
                <button type="button" id="measure" class="link" onclick={props.on_measure.reform({
                    let network = typed.network;
                    move |_: MouseEvent| network
                })}>{ "Measure a few steps" }</button>
            </p>
        },
    }
}

/// The latest measured ms per step of `network` on the backend in use.
fn measured_ms(props: &TrainControlsProps, network: NetworkKind) -> Option<f64> {
    props.measured.iter().rev().find(|(n, _)| *n == network).map(|&(_, ms)| ms)
}
