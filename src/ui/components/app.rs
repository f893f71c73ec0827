//! The studio's layout and wiring: state down, callbacks up, messages to the worker.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::bench_panel::BenchPanel;
use super::dataset_panel::DatasetPanel;
use super::draw_panel::DrawPanel;
use super::gpu_badge::{BackendPicker, GpuBadge};
use super::inside_view::InsideView;
use super::run_view::RunView;
use super::runs_panel::RunsPanel;
use super::threads_status::ThreadsStatus;
use super::train_controls::TrainControls;
use super::weights_panel::WeightsPanel;
use crate::data::{DataSource, Encoding};
use crate::link::{self, RunSettings};
use crate::model::NetworkKind;
use crate::train::TrainConfig;
use crate::ui::bridge::{cores, shared_memory, threaded_failure, threads_possible, WorkerKind};
use crate::ui::hooks::use_worker;
use crate::ui::state::{Action, DataStatus, GpuStatus, RunStatus, Studio};
use crate::worker::protocol::{Backend, WorkerInput};

#[component]
pub fn App() -> Html {
    let studio = use_reducer(Studio::default);
    let source = use_memo((), |_| {
        let source = data_source();
        // The page downloads the files itself (asked here, at its first render; started once
        // the reader's files are in), so that they are in or on their way when a trainer asks
        // for them (`bridge::prefetch_data`).
        crate::ui::bridge::prefetch_data(&data_urls(&source), false);
        source
    });
    let workers = use_worker(studio.dispatcher());
    let send = workers.send.clone();
    let threads_possible = threads_possible();
    // WebGPU can be chosen: the training worker found an adapter.
    let gpu_usable = matches!(studio.gpu, GpuStatus::Ready(_));
    // The run's settings from the address (a shared link), read once.
    let link = use_memo((), |_| link::parse(|key| search_params().and_then(|p| p.get(key))));

    // Load the dataset once the worker that will train listens. Where the page may replace its
    // first worker by the threaded build (see `use_worker`), that is only known once the
    // first has chosen its backend: loading earlier would fetch MNIST twice.
    let want_data = studio.listening && (studio.backend.is_some() || !threads_possible);
    {
        let (send, source) = (send.clone(), source.clone());
        use_effect_with(want_data, move |want| {
            if *want {
                send.emit(WorkerInput::LoadData((*source).clone()));
            }
        });
    }

    // The service worker keeps a copy of this build, and www/boot.js registers it on this
    // event: only once the dataset is in (or its download failed), so that the copy's
    // downloads are answered by the HTTP cache rather than racing the page's own for the same
    // 9 MB (which, measured, sometimes fetched the training images twice on a first visit).
    let data_settled = matches!(studio.data, DataStatus::Ready(_) | DataStatus::Failed(_));
    use_effect_with(data_settled, |settled| {
        if let (true, Some(window)) = (*settled, web_sys::window()) {
            if let Ok(event) = web_sys::Event::new("mnist-studio-settled") {
                let _ = window.dispatch_event(&event);
            }
        }
    });

    let on_retry = {
        let (send, source, dispatch) = (send.clone(), source.clone(), studio.dispatcher());
        Callback::from(move |()| {
            dispatch.dispatch(Action::LoadRequested);
            crate::ui::bridge::prefetch_data(&data_urls(&source), true);
            send.emit(WorkerInput::LoadData((*source).clone()));
        })
    };
    let on_start = {
        let (send, dispatch) = (send.clone(), studio.dispatcher());
        Callback::from(move |config: TrainConfig| {
            dispatch.dispatch(Action::TrainRequested(config.clone()));
            send.emit(WorkerInput::Train(config));
        })
    };
    let on_resume_saved = {
        let (send, dispatch, from) = (send.clone(), studio.dispatcher(), studio.saved.clone());
        Callback::from(move |config: TrainConfig| {
            // The run view offers this only with saved weights (`run_view::resumable`).
            let Some(from) = from.clone() else { return };
            dispatch.dispatch(Action::ResumeRequested(config.clone(), from));
            send.emit(WorkerInput::TrainFromSaved(config));
        })
    };
    let on_stop = {
        let (send, dispatch) = (send.clone(), studio.dispatcher());
        Callback::from(move |()| {
            dispatch.dispatch(Action::StopRequested);
            send.emit(WorkerInput::Stop);
        })
    };
    let on_bench = {
        let (send, dispatch) = (send.clone(), studio.dispatcher());
        Callback::from(move |()| {
            dispatch.dispatch(Action::BenchRequested);
            send.emit(WorkerInput::Benchmark { networks: bench_networks(), batch_size: 64, warmup_steps: 3, timed_steps: 20 });
        })
    };
    let measure = {
        let (send, dispatch) = (send.clone(), studio.dispatcher());
        Callback::from(move |(network, warmup_steps, timed_steps): (NetworkKind, usize, usize)| {
            dispatch.dispatch(Action::BenchRequested);
            send.emit(WorkerInput::Benchmark { networks: vec![network], batch_size: 64, warmup_steps, timed_steps });
        })
    };
    // A step measured on demand: few steps, since on a software adapter one can take seconds.
    let on_measure = measure.reform(|network: NetworkKind| (network, 1, 4));
    // The drawing last sent to be read, so it can be read again when the reader's network
    // changes (every epoch of a run) or the inside view opens.
    let drawing = use_mut_ref(|| None::<(u32, Vec<f32>)>);
    let on_read = {
        let (send, drawing) = (send.clone(), drawing.clone());
        Callback::from(move |(id, pixels): (u32, Vec<f32>)| {
            *drawing.borrow_mut() = Some((id, pixels.clone()));
            send.emit(WorkerInput::Predict { id, pixels });
        })
    };
    let read_again = {
        let (send, drawing) = (send.clone(), drawing.clone());
        move || {
            if let Some((id, pixels)) = drawing.borrow().clone() {
                send.emit(WorkerInput::Predict { id, pixels });
            }
        }
    };
    {
        // A new network to read with: the drawing on the pad is read by it, so a person
        // drawing sees the network improve epoch by epoch.
        let read_again = read_again.clone();
        use_effect_with((studio.reader.clone(), studio.reader_told), move |_| read_again());
    }
    let inside_open = use_state(|| false);
    let on_inside = {
        let (send, inside_open, read_again) = (send.clone(), inside_open.clone(), read_again.clone());
        Callback::from(move |open: bool| {
            inside_open.set(open);
            send.emit(WorkerInput::ShowInside(open));
            if open {
                read_again();
            }
        })
    };
    {
        // A new training worker finds in the browser's storage only what is there by then: this
        // tab's network is handed to it once it listens, or it would read with another tab's
        // (a file loaded there, a better run kept since), or with none (ours kept for this
        // visit alone: another tab's run keeps its own there, or the storage failed). Every
        // replacement, the user's or the page's own (the threaded build taking over from a
        // trainer that found no usable GPU), starts a worker that says it listens.
        let (send, own) = (send.clone(), studio.own_weights.clone());
        use_effect_with((studio.listening, studio.worker), move |(listening, _)| {
            if let (true, Some(bytes)) = (*listening, &own) {
                send.emit(WorkerInput::Adopt { bytes: bytes.to_vec() });
            }
        });
    }
    let replace = workers.replace.clone();
    // WebGPU is the single-threaded build's; the CPU, where threads are possible, the
    // threaded build's: a change between them replaces the training worker.
    let choose_backend = {
        let (send, replace, kind) = (send.clone(), replace.clone(), studio.worker);
        Callback::from(move |backend: Backend| match (backend, kind) {
            (Backend::Cpu, WorkerKind::Trainer { .. }) if threads_possible => {
                replace.emit(WorkerKind::ThreadedTrainer { threads: cores() })
            }
            (Backend::WebGpu, WorkerKind::ThreadedTrainer { .. }) => replace.emit(WorkerKind::Trainer { wants: Some(Backend::WebGpu) }),
            _ => send.emit(WorkerInput::SetBackend(backend)),
        })
    };
    // The user's choice goes in the address; the page's own (on the first visit) does not, so
    // a link never forces the sender's device's backend on someone else's.
    let on_backend = choose_backend.reform(|backend: Backend| {
        write_link(&[("backend", Some(backend.id().to_owned()))]);
        backend
    });
    {
        // A link's backend, once the first worker has chosen its own. WebGPU only where the
        // first worker found an adapter: the picker offers no more (the badge says why), and
        // a trainer started for it would only end on the CPU again.
        let (wanted, chosen) = (link.0.backend, studio.backend);
        let applied = use_mut_ref(|| false);
        use_effect_with(chosen, move |chosen| {
            if let (Some(wanted), Some(chosen)) = (wanted, *chosen) {
                let possible = wanted != Backend::WebGpu || gpu_usable;
                if !std::mem::replace(&mut *applied.borrow_mut(), true) && wanted != chosen && possible {
                    choose_backend.emit(wanted);
                }
            }
        });
    }
    let on_settings = Callback::from(|settings: RunSettings| {
        let pairs = link::pairs(&settings);
        let updates: Vec<(&str, Option<String>)> = link::KEYS
            .iter()
            .filter(|k| **k != "backend")
            .map(|k| (*k, pairs.iter().find(|(p, _)| p == k).map(|(_, v)| v.clone())))
            .collect();
        write_link(&updates);
    });
    let on_threads = replace.reform(|threads| WorkerKind::ThreadedTrainer { threads });
    let on_clear = {
        let (dispatch, drawing) = (studio.dispatcher(), drawing.clone());
        Callback::from(move |()| {
            let last = drawing.borrow_mut().take().map(|(id, _)| id);
            dispatch.dispatch(Action::DrawingCleared(last))
        })
    };

    let data_ready = matches!(studio.data, DataStatus::Ready(_));
    // A crashed worker answers nothing: a run or a measurement asked of it would wait for
    // good. Replacing it (another backend or thread count) is still offered.
    let ready = data_ready && studio.backend.is_some() && studio.crashed.is_none();
    // The dataset panel leads until MNIST has loaded once, and whenever loading fails; a
    // replaced worker reloading it (from the browser's cache) does not move it back up.
    let loaded_once = use_mut_ref(|| false);
    *loaded_once.borrow_mut() |= data_ready;
    let active = studio.run.as_ref().is_some_and(|r| r.status.is_active());
    // Changing the backend or thread count may replace the training worker: not while a run
    // trains, nor while the one that ended is still being kept (its detector fitted, its
    // network and record written), nor during a measurement (the worker would refuse the
    // change, and the address would name a backend not in use).
    let worker_free = !studio.keeping_run && !studio.bench.running;
    let may_replace = !active && worker_free;
    // Nor a new run until then: the worker would refuse it.
    let may_start = ready && worker_free;
    {
        // The CPU is the threaded build's wherever the page can give it threads. The one way
        // a single-threaded trainer still ends up on the CPU here is a GPU lost mid-run (it
        // moves to its own CPU backend, on one core): once that run is over and kept (a
        // replacement would drop the wrap-up under way), the threaded build takes over, and
        // finds the kept weights in the browser's storage, or is handed them (above), so a
        // resumed run trains on every core. (A trainer that starts on the CPU is replaced as
        // it says so, before its dataset is in, by `use_worker`: only one with its dataset is
        // this effect's, so the two never both replace it.)
        // Not a crashed one: replacing it would take away the page's word on why it stopped.
        let (replace, kind, backend) = (replace.clone(), studio.worker, studio.backend);
        let free = may_replace && data_ready && studio.crashed.is_none();
        use_effect_with((kind, backend, free), move |(kind, backend, free)| {
            let single = matches!(kind, WorkerKind::Trainer { .. });
            if single && *backend == Some(Backend::Cpu) && threads_possible && *free {
                replace.emit(WorkerKind::ThreadedTrainer { threads: cores() });
            }
        });
    }
    let keeping = if studio.run.as_ref().is_some_and(|r| matches!(r.status, RunStatus::Failed(_))) {
        "Keeping what this run finished (its record and best epoch, if it finished one)…"
    } else {
        "Keeping this run (its network, and for a VGG-like network its \u{201c}not a digit\u{201d} detector)…"
    };
    let dataset_first = matches!(studio.data, DataStatus::Failed(_)) || !*loaded_once.borrow();
    // Steps measured on the backend and thread count in use, for the run's time estimate.
    let measured: Rc<Vec<(NetworkKind, f64)>> = Rc::new(
        studio.bench.results.iter()
            .filter(|(backend, threads, _)| Some(*backend) == studio.backend && Some(*threads) == studio.threads)
            .map(|(_, _, r)| (r.network, r.ms_per_step))
            .collect(),
    );
    let images = match &studio.data {
        DataStatus::Ready(summary) => (summary.train_images, summary.test_images),
        _ => (60_000, 10_000),
    };
    {
        // Once per backend and thread count, measure the linear network's step (a second at
        // most, even on a software adapter): the estimate before Start, and the default subset.
        let key = (studio.backend, studio.threads);
        let idle = ready && !active && !studio.bench.running;
        let done = use_mut_ref(Vec::new);
        let measure = measure.clone();
        use_effect_with((key, idle), move |(key, idle)| {
            if *idle && !done.borrow().contains(key) {
                done.borrow_mut().push(*key);
                measure.emit((NetworkKind::Linear, 2, 10));
            }
        });
    }
    let on_cpu = studio.backend == Some(Backend::Cpu);
    // Suggest a subset where full epochs would take long: the CPU, or a software adapter.
    let slow = studio.backend == Some(Backend::Cpu) || matches!(&studio.gpu, GpuStatus::Ready(info) if info.fallback);

    html! {
        <>
            <header class="masthead">
                <div>
                    <h1>{ "MNIST Studio" }</h1>
                    <p class="tagline">{ "Train real networks on your GPU, watch them learn, and draw digits for them to read." }</p>
                </div>
                <GpuBadge status={studio.gpu.clone()} />
            </header>
            if let Some(reason) = &studio.crashed {
                <div class="banner error" role="alert" id="crashed">
                    <p><strong>{ "The training worker stopped. " }</strong>{ reason.clone() }</p>
                    <button onclick={Callback::from(|_| { let _ = web_sys::window().map(|w| w.location().reload()); })}>{ "Reload the page" }</button>
                </div>
            }
            <main class="layout">
                <div class="column">
                    // Loading (or failed), the dataset comes first; once loaded, training does,
                    // and the dataset's facts and samples follow it. (Both slots keep their
                    // places, so the training controls are never rebuilt.)
                    if dataset_first {
                        <DatasetPanel status={studio.data.clone()} on_retry={on_retry.clone()} />
                    }
                    <section class="panel" id="training" aria-labelledby="training-title"
                        data-ready={ready.to_string()} data-worker={worker_name(studio.worker)}>
                        <h2 id="training-title">{ "Train" }</h2>
                        <BackendPicker backend={studio.backend} note={studio.backend_note.clone()}
                            gpu_usable={gpu_usable}
                            disabled={!may_replace} on_change={on_backend} />
                        if on_cpu {
                            <ThreadsStatus threads={studio.threads} note={studio.threads_note.clone()}
                                shared_memory={shared_memory()} threaded_failure={threaded_failure()} cores={cores()} />
                        }
                        if !link.1.is_empty() {
                            <p class="warning" role="status" id="link-note">
                                { format!("Ignored from the address: {}. The rest of the link's settings apply.", link.1.join("; ")) }
                            </p>
                        }
                        <TrainControls ready={may_start} slow_device={slow} initial={link.0.clone()} {on_settings}
                            {measured} measuring={studio.bench.running} {on_measure} {images}
                            status={studio.run.as_ref().map(|r| r.status.clone())}
                            {on_start} {on_stop}
                            on_pause={send.reform(|()| WorkerInput::Pause)}
                            on_resume={send.reform(|()| WorkerInput::Resume)} />
                        if let Some(run) = &studio.run {
                            <RunView run={run.clone()} saved={studio.saved.clone()} on_resume_saved={on_resume_saved}
                                can_resume={may_start} />
                            if studio.keeping_run {
                                <p class="muted" id="keeping" role="status">{ keeping }</p>
                            }
                        }
                    </section>
                    <RunsPanel runs={studio.runs.list.clone()} problem={studio.runs.problem.clone()}
                        on_read={send.reform(WorkerInput::UseRun)} on_delete={send.reform(WorkerInput::DeleteRun)} />
                    if !dataset_first {
                        <DatasetPanel status={studio.data.clone()} on_retry={on_retry.clone()} />
                    }
                    <BenchPanel bench={studio.bench.clone()} on_run={on_bench} on_lose_gpu={send.reform(|()| WorkerInput::LoseDevice)}
                        can_run={may_start && !active}
                        threads={on_cpu.then_some(studio.threads).flatten()}
                        max_threads={if threads_possible { cores() } else { 1 }}
                        can_set_threads={on_cpu && may_replace && studio.threads.is_some()}
                        {on_threads} />
                </div>
                <aside class="column side">
                    <DrawPanel reader={studio.reader.clone()} prediction={studio.prediction.clone()} strangeness={studio.strangeness} {on_read} {on_clear}>
                        <WeightsPanel saved={studio.saved.clone()} note={studio.weights_note.clone()} download={studio.download.clone()}
                            on_export={send.reform(WorkerInput::ExportWeights)}
                            on_downloaded={{ let d = studio.dispatcher(); Callback::from(move |()| d.dispatch(Action::DownloadTaken)) }}
                            on_load={send.reform(|bytes| WorkerInput::LoadWeights { bytes })}
                            on_problem={{ let d = studio.dispatcher(); Callback::from(move |p| d.dispatch(Action::WeightsProblem(p))) }} />
                    </DrawPanel>
                    <InsideView open={*inside_open} drawing={studio.prediction.is_some()}
                        inside={studio.inside.clone().filter(|_| studio.prediction.is_some())} on_toggle={on_inside} />
                </aside>
            </main>
            <footer>
                <p>{ "MNIST Studio — burn on WebGPU in a Web Worker, yew on the page. The networks and schedule reproduce a well-known Keras notebook." }</p>
            </footer>
        </>
    }
}

/// The networks "Measure" times: all of them, or those named in `?bench=vgg,linear` (for
/// benchmark scripts that need only some; unknown ids are ignored).
fn bench_networks() -> Vec<NetworkKind> {
    let named = search_params().and_then(|p| p.get("bench"));
    let chosen: Vec<NetworkKind> = named.iter().flat_map(|n| n.split(',')).filter_map(NetworkKind::from_id).collect();
    if chosen.is_empty() { NetworkKind::ALL.to_vec() } else { chosen }
}

/// The page address's query.
fn search_params() -> Option<web_sys::UrlSearchParams> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search).ok()
}

/// Set (`Some`) or remove (`None`) query keys in the address, in place: no navigation, no new
/// history entry. Other keys (`raw`, `bench`, `data`) stay.
fn write_link(updates: &[(&str, Option<String>)]) {
    let Some(params) = search_params() else { return };
    for (key, value) in updates {
        match value {
            Some(v) => params.set(key, v),
            None => params.delete(key),
        }
    }
    let Some(window) = web_sys::window() else { return };
    let query = String::from(params.to_string());
    let path = window.location().pathname().unwrap_or_default();
    let url = if query.is_empty() { path } else { format!("{path}?{query}") };
    // `history.replaceState` through JS: web-sys' History is not among our features, and
    // adding one would rebuild wgpu.
    let history = js_sys::Reflect::get(&window, &"history".into()).ok();
    let replace = history.as_ref().and_then(|h| js_sys::Reflect::get(h, &"replaceState".into()).ok());
    if let (Some(history), Some(replace)) = (history, replace.and_then(|f| f.dyn_into::<js_sys::Function>().ok())) {
        let _ = replace.call3(&history, &wasm_bindgen::JsValue::NULL, &"".into(), &url.into());
    }
}

/// Where to fetch MNIST: `data/` next to the page, Brotli-compressed, unless the query says
/// otherwise (`?data=<folder>` to point elsewhere, `?gzip` or `?raw` for the gzip or the
/// uncompressed files; used by the benchmark and the end-to-end tests).
fn data_source() -> DataSource {
    let href = web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default();
    let params = search_params();
    let folder = params.as_ref().and_then(|p| p.get("data")).unwrap_or_else(|| "data/".into());
    let base_url = web_sys::Url::new_with_base(&folder, &href).map(|u| u.href()).unwrap_or(folder);
    let asked = |name: &str| params.as_ref().is_some_and(|p| p.has(name));
    let encoding = if asked("raw") {
        Encoding::Raw
    } else if asked("gzip") {
        Encoding::Gzip
    } else {
        Encoding::Brotli
    };
    DataSource { base_url, encoding }
}

/// The dataset's four files from `source`.
fn data_urls(source: &DataSource) -> Vec<String> {
    crate::data::dataset::FILES.iter().map(|name| source.url(name)).collect()
}

/// Which build trains, for tests and benchmarks to wait on (`#training[data-worker]`).
fn worker_name(kind: WorkerKind) -> &'static str {
    match kind {
        WorkerKind::ThreadedTrainer { .. } => "threaded",
        WorkerKind::Trainer { .. } => "single",
        // Never a trainer's kind.
        WorkerKind::Reader => "reader",
    }
}
