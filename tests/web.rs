//! Browser tests: one wasm-bindgen-test binary, run in headless Chromium with WebGPU
//! (SwiftShader on machines without a GPU) by `cargo test --target wasm32-unknown-unknown
//! --features webgpu` (the feature with our WebGPU kernels, Cargo.toml).
//! wasm-bindgen-test-runner serves the repository root, so `www/data/` is reachable over HTTP
//! exactly as the app fetches it.
#![cfg(target_arch = "wasm32")]

use burn::prelude::*;
use mnist_studio::data::fetch::{fetch_bytes, load_mnist};
use mnist_studio::data::{DataError, DataSource, Encoding};
use mnist_studio::model::NetworkKind;
use mnist_studio::train::{self, EpochReport, Flow, Observer, Schedule, StepReport, TrainConfig, TrainData};
use mnist_studio::worker::{adapter, gpu};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn served() -> DataSource {
    DataSource { base_url: "/www/data/".into(), encoding: Encoding::Brotli }
}

#[wasm_bindgen_test]
async fn webgpu_gives_a_device_that_computes_and_reads_back_asynchronously() {
    let info = adapter::probe().await.expect("headless Chromium should offer a WebGPU adapter");
    web_sys::console::log_1(&format!("adapter: {}", info.label()).into());
    let device = gpu::init_device().await.expect("burn should start on WebGPU").inner();
    let x = Tensor::<1>::from_floats([1.0, 2.0, 3.0], &device);
    let sum = (x.clone() * x).sum().into_scalar_async::<f32>().await.unwrap();
    assert_eq!(sum, 14.0);
}

#[wasm_bindgen_test]
async fn the_served_mnist_is_fetched_and_parsed_with_the_published_counts() {
    let mnist = load_mnist(&served(), 1, |_| {}).await.expect("MNIST should be served from www/data");
    assert_eq!((mnist.train.len(), mnist.test.len()), (60_000, 10_000));
    assert_eq!(mnist.test.label_counts(), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    assert!((mnist.stats.mean - 0.1307).abs() < 1e-4);
}

#[wasm_bindgen_test]
async fn a_missing_file_is_a_typed_http_error() {
    let err = fetch_bytes("/www/data/no-such-file", "no-such-file", |_, _| {}).await.unwrap_err();
    assert!(matches!(err, DataError::Http { status: 404, .. }), "{err:?}");
}

/// Records progress; stops after a number of steps when asked.
#[derive(Default)]
struct Recorder {
    steps: Vec<StepReport>,
    epochs: Vec<EpochReport>,
    calls: usize,
    stop_after: Option<usize>,
}

impl Observer for Recorder {
    fn on_step(&mut self, report: &StepReport) {
        web_sys::console::log_1(&format!("step {:?}", report).into());
        self.steps.push(report.clone());
    }
    fn on_epoch(&mut self, report: &EpochReport, _: &mnist_studio::model::Network) {
        self.epochs.push(report.clone());
    }
    async fn between_steps(&mut self) -> Flow {
        self.calls += 1;
        if self.stop_after.is_some_and(|n| self.calls >= n) { Flow::Stop } else { Flow::Continue }
    }
}

async fn run(config: TrainConfig, recorder: &mut Recorder) -> train::Outcome {
    let mnist = load_mnist(&served(), 1, |_| {}).await.unwrap();
    let device = gpu::init_device().await.unwrap();
    let data = TrainData::upload(&mnist, config.train_limit, config.test_limit, config.selection, &device.clone().inner());
    train::train(&config, &data, &device, recorder, None).await.unwrap()
}

#[wasm_bindgen_test]
async fn the_linear_network_learns_a_subset_on_webgpu() {
    let config = TrainConfig::new(NetworkKind::Linear, Schedule::constant(2, 0.1), false)
        .with_train_limit(Some(4_096))
        .with_test_limit(Some(500))
        .with_report_every(16);
    let mut recorder = Recorder::default();
    let outcome = run(config, &mut recorder).await;
    assert_eq!(outcome.end, train::RunEnd::Completed);
    let accuracies: Vec<f32> = recorder.epochs.iter().map(|e| e.held_out_accuracy).collect();
    assert!(accuracies[1] > 0.85, "validation accuracy per epoch {accuracies:?}");
    let best = outcome.best.expect("two epochs finished");
    assert!(best.test_accuracy > 0.85 && best.temperature.is_finite() && best.temperature > 0.0, "{best:?}");
    assert!(recorder.steps.last().unwrap().loss < recorder.steps[0].loss);
}

/// On a WebGPU device holding WebGPU's default limits and nothing more (what many laptops
/// report), through our kernels: the VGG-like network, and the BatchNorm + dropout one (the
/// shipped recipe, with our batch normalisation).
#[wasm_bindgen_test]
async fn a_few_vgg_steps_lower_the_loss_on_webgpu_with_the_default_limits() {
    gpu::init_device().await.expect("burn should start on WebGPU");
    let limits = gpu::device_limits().expect("the WebGPU device is kept");
    let defaults = burn::tensor::wgpu::wgpu::Limits::defaults();
    assert_eq!(
        (limits.max_storage_buffers_per_shader_stage, limits.max_compute_workgroup_storage_size, limits.max_storage_buffer_binding_size),
        (defaults.max_storage_buffers_per_shader_stage, defaults.max_compute_workgroup_storage_size, defaults.max_storage_buffer_binding_size)
    );
    // A batch whose largest buffer the device cannot hold is refused before it trains, with
    // the largest that fits (the form allows 4,096).
    assert_eq!(gpu::batch_fits(NetworkKind::Vgg, 1337), Ok(()));
    let refused = gpu::batch_fits(NetworkKind::VggBnDropout, 1338).expect_err("too large for 128 MiB");
    assert!(refused.contains("at most 1337"), "{refused}");
    assert_eq!(gpu::batch_fits(NetworkKind::Linear, 4096), Ok(()));
    for network in [NetworkKind::Vgg, NetworkKind::VggBnDropout] {
        let config = TrainConfig::new(network, Schedule::constant(1, 0.05), false)
            .with_batch_size(16)
            .with_train_limit(Some(16 * 8))
            .with_test_limit(Some(16))
            .with_report_every(4);
        let mut recorder = Recorder::default();
        run(config, &mut recorder).await;
        assert_eq!(recorder.steps.len(), 2, "{network:?}");
        assert!(recorder.steps[1].loss < recorder.steps[0].loss, "{network:?}: {:?}", recorder.steps);
    }
}

#[wasm_bindgen_test]
async fn stop_is_honoured_mid_epoch_on_webgpu() {
    let config = TrainConfig::new(NetworkKind::Linear, Schedule::constant(1, 0.1), false)
        .with_train_limit(Some(640))
        .with_test_limit(Some(100))
        .with_report_every(2);
    let mut recorder = Recorder { stop_after: Some(3), ..Recorder::default() };
    let outcome = run(config, &mut recorder).await;
    assert_eq!(outcome.end, train::RunEnd::Stopped { epoch: 0, step: 3 });
    assert!(recorder.epochs.is_empty());
}

/// A worker whose script cannot be loaded fails before it says it listens: the bridge hears a
/// failure to start (not a crash, which would end the page's training), and hands back, once,
/// every message it was sent, for the build that replaces it (`use_worker` sends them on: a
/// threaded trainer refused at boot must not lose the file the user chose meanwhile).
#[wasm_bindgen_test]
async fn a_worker_that_never_listens_hands_back_what_it_was_sent() {
    use std::cell::RefCell;
    use std::rc::Rc;

    use mnist_studio::ui::bridge::{Heard, WorkerBridge, WorkerKind};
    use mnist_studio::worker::protocol::{Backend, WorkerInput};

    let heard = Rc::new(RefCell::new(Vec::new()));
    let into = heard.clone();
    // wasm-bindgen-test-runner serves no worker scripts: this one's request is a 404.
    let bridge = WorkerBridge::spawn(WorkerKind::ThreadedTrainer { threads: 2 }, move |h| {
        into.borrow_mut().push(match h {
            Heard::FailedToStart(reason) => Ok(reason),
            Heard::Crashed(reason) => Err(format!("crashed: {reason}")),
            Heard::Output(output) => Err(format!("heard {output:?}")),
        })
    })
    .expect("a worker is created even when its script will not load");
    let sent = vec![WorkerInput::SetBackend(Backend::Cpu), WorkerInput::LoadWeights { bytes: vec![1, 2, 3] }];
    sent.iter().for_each(|input| bridge.send(input));
    for _ in 0..250 {
        if !heard.borrow().is_empty() {
            break;
        }
        gloo::timers::future::TimeoutFuture::new(20).await;
    }
    // A moment more, so that a second report of the same failure would be seen.
    gloo::timers::future::TimeoutFuture::new(200).await;
    let heard = heard.borrow().clone();
    assert_eq!(heard.len(), 1, "one failure heard within 5 s, and only one: {heard:?}");
    // The browser's words vary (a plain load-failure event, or an ErrorEvent naming the
    // script): what matters is that it failed before listening, not that it crashed.
    heard[0].clone().expect("a failure to start, not a crash");
    assert_eq!(bridge.unsent(), sent, "what it was sent, in order");
    assert!(bridge.unsent().is_empty(), "handed back once");
}

/// Components rendered on their own into the document, with the DOM checked after yew has
/// rendered (it renders on its scheduler, so each check waits a moment first).
mod components {
    use std::cell::Cell;
    use std::rc::Rc;

    use mnist_studio::data::{DataError, FileProblem};
    use mnist_studio::model::NetworkKind;
    use mnist_studio::train::{Confusion, EpochReport, Misclassified, StepReport, TrainConfig};
    use mnist_studio::ui::components::dataset_panel::{DatasetPanel, DatasetPanelProps};
    use mnist_studio::ui::components::run_view::{RunView, RunViewProps};
    use mnist_studio::ui::state::{DataStatus, Run, RunStatus};
    use mnist_studio::worker::protocol::{GpuMemory, MemorySample, WorkerOutput};
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::*;
    use yew::Callback;

    fn root() -> web_sys::Element {
        let document = gloo::utils::document();
        let root = document.create_element("div").unwrap();
        document.body().unwrap().append_child(&root).unwrap();
        root
    }

    async fn rendered() {
        gloo::timers::future::TimeoutFuture::new(20).await;
    }

    /// Waits (up to 2 s) until `done` holds. Yew paints canvases in effects that run after a
    /// render, and a loaded machine can take longer than one [`rendered`] (a CI run read a
    /// canvas still blank once).
    async fn until(mut done: impl FnMut() -> bool) {
        for _ in 0..100 {
            if done() {
                return;
            }
            rendered().await;
        }
    }

    /// How many elements match (through JS: web-sys' NodeList is not among our features, and
    /// adding one would rebuild wgpu).
    fn count(root: &web_sys::Element, selector: &str) -> u32 {
        let query: js_sys::Function = js_sys::Reflect::get(root, &"querySelectorAll".into()).unwrap().unchecked_into();
        let list = query.call1(root, &selector.into()).unwrap();
        js_sys::Reflect::get(&list, &"length".into()).unwrap().as_f64().unwrap() as u32
    }

    fn text(root: &web_sys::Element, selector: &str) -> String {
        root.query_selector(selector).unwrap().unwrap_or_else(|| panic!("{selector} not rendered")).text_content().unwrap()
    }

    /// The inside view of a real network's look at a drawing (computed here as the reader
    /// worker does): a grid per layer, of the right size and painted; the filters;
    /// the toggle; a failure shown as a sentence.
    #[wasm_bindgen_test]
    async fn the_inside_view_paints_every_layer_the_filters_and_the_saliency() {
        use burn::prelude::Device;
        use mnist_studio::reader::{look::look, net::PlainNetwork};
        use mnist_studio::ui::components::inside_view::{InsideView, InsideViewProps};
        use std::cell::RefCell;
        let device = Device::flex();
        let kind = NetworkKind::VggBnDropout;
        let pixels: Vec<f32> = (0..784).map(|i| if (8..20).contains(&(i % 28)) && (5..23).contains(&(i / 28)) { 0.8 } else { 0.0 }).collect();
        let stats = mnist_studio::data::PixelStats { mean: 0.1307, std: 0.3081 };
        // As the reader gets it: a weights file, read as plain values.
        let meta = mnist_studio::weights::WeightsMeta::new(kind, stats, 0, 0.5);
        let bytes = mnist_studio::weights::encode(&kind.config().init_seeded(&device, 4), &meta).await.unwrap();
        let (_, tensors, _) = mnist_studio::weights::parse_for_reading(&bytes).unwrap();
        let net = PlainNetwork::new(kind, kind.batch_norm_epsilon().unwrap(), &tensors).unwrap();
        let inside = Rc::new(look(&net, 3, &pixels, stats));
        let toggled = Rc::new(RefCell::new(Vec::new()));
        let props = |open, inside: Option<Result<Rc<mnist_studio::inside::Inside>, String>>| InsideViewProps {
            open,
            drawing: true,
            inside,
            on_toggle: { let t = toggled.clone(); Callback::from(move |b| t.borrow_mut().push(b)) },
        };

        let el = root();
        yew::Renderer::<InsideView>::with_root_and_props(el.clone(), props(true, Some(Ok(inside.clone())))).render();
        rendered().await;
        assert_eq!(count(&el, "figure.layer"), 7);
        let conv1 = el.query_selector("figure.layer[data-layer=conv1] canvas").unwrap().unwrap().unchecked_into::<web_sys::HtmlCanvasElement>();
        // 32 maps of 26x26, eight across with a pixel between.
        assert_eq!((conv1.width(), conv1.height()), (8 * 27 - 1, 4 * 27 - 1));
        let ctx: web_sys::CanvasRenderingContext2d = conv1.get_context("2d").unwrap().unwrap().unchecked_into();
        let first_map = || ctx.get_image_data(0.0, 0.0, 26.0, 26.0).unwrap().data();
        until(|| first_map().chunks(4).all(|px| px[3] == 255)).await;
        let data = first_map();
        assert!(data.chunks(4).all(|px| px[3] == 255), "the first map is painted, opaque");
        assert!(data.chunks(4).any(|px| px[0] as u32 + px[1] as u32 + px[2] as u32 > 100), "and something in it responds");
        assert_eq!(el.query_selector("#weights-pictures").unwrap().unwrap().get_attribute("data-layer").as_deref(), Some("filters"));
        assert!(text(&el, "#saliency").contains(&format!("What makes it a {}", inside.digit)));
        el.query_selector("#inside-toggle").unwrap().unwrap().unchecked_into::<web_sys::HtmlElement>().click();
        rendered().await;
        assert_eq!(*toggled.borrow(), vec![false], "an open view asks to close");
        el.remove();

        let el = root();
        yew::Renderer::<InsideView>::with_root_and_props(el.clone(), props(true, Some(Err("the view inside the network could not be computed: x".into())))).render();
        rendered().await;
        assert!(text(&el, "#inside-error").ends_with("computed: x"));
        el.remove();

        let el = root();
        yew::Renderer::<InsideView>::with_root_and_props(el.clone(), props(false, Some(Ok(inside)))).render();
        rendered().await;
        assert_eq!(count(&el, "#inside-body *"), 0, "closed, nothing is drawn");
        assert_eq!(text(&el, "#inside-toggle"), "Look inside");
        el.remove();
    }

    #[wasm_bindgen_test]
    async fn the_thread_status_says_why_the_cpu_uses_one_core_or_how_many_it_uses() {
        use mnist_studio::ui::components::threads_status::{ThreadsStatus, ThreadsStatusProps};
        let case = |threads, note: Option<&str>, shared_memory, cores| ThreadsStatusProps {
            threads: Some(threads),
            note: note.map(str::to_owned),
            shared_memory,
            threaded_failure: None,
            cores,
        };
        let failed = ThreadsStatusProps { threaded_failure: Some("refused".into()), ..case(1, None, true, 8) };
        let cases = [
            (case(4, None, true, 8), "with 4 threads (8 cores reported)"),
            (case(1, None, false, 8), "not cross-origin isolated"),
            (case(1, None, true, 1), "the one core this device reports"),
            (case(1, Some("The CPU thread pool did not start (x)."), true, 8), "did not start (x)"),
            (failed, "The multi-threaded build did not start here (refused), so training on the CPU uses one core."),
        ];
        for (props, expected) in cases {
            let root = root();
            let threads = props.threads.unwrap();
            yew::Renderer::<ThreadsStatus>::with_root_and_props(root.clone(), props).render();
            rendered().await;
            let shown = text(&root, "#threads-status");
            assert!(shown.contains(expected), "{shown}");
            let attribute = root.query_selector("#threads-status").unwrap().unwrap().get_attribute("data-threads");
            assert_eq!(attribute, Some(threads.to_string()));
            root.remove();
        }
    }

    /// Set a field's value as a person would and fire the event the browser fires (bubbling,
    /// as yew listens at the root).
    fn enter(root: &web_sys::Element, selector: &str, value: &str, event: &str) {
        let element = root.query_selector(selector).unwrap().unwrap_or_else(|| panic!("{selector} not rendered"));
        js_sys::Reflect::set(&element, &"value".into(), &value.into()).unwrap();
        let init = js_sys::Object::new();
        js_sys::Reflect::set(&init, &"bubbles".into(), &true.into()).unwrap();
        let constructor: js_sys::Function = js_sys::Reflect::get(&js_sys::global(), &"Event".into()).unwrap().unchecked_into();
        let fired = js_sys::Reflect::construct(&constructor, &js_sys::Array::of2(&event.into(), &init)).unwrap();
        element.dispatch_event(fired.unchecked_ref()).unwrap();
    }

    fn value(root: &web_sys::Element, selector: &str) -> String {
        js_sys::Reflect::get(&root.query_selector(selector).unwrap().unwrap(), &"value".into()).unwrap().as_string().unwrap()
    }

    /// Training controls, ready, whose Start puts the config in `started`.
    fn controls(
        started: &Rc<std::cell::RefCell<Option<TrainConfig>>>,
        slow_device: bool,
        initial: mnist_studio::link::RunSettings,
        on_settings: Callback<mnist_studio::link::RunSettings>,
    ) -> mnist_studio::ui::components::train_controls::TrainControlsProps {
        let started = started.clone();
        mnist_studio::ui::components::train_controls::TrainControlsProps {
            ready: true,
            status: None,
            on_start: Callback::from(move |config| *started.borrow_mut() = Some(config)),
            on_pause: Callback::noop(),
            on_resume: Callback::noop(),
            on_stop: Callback::noop(),
            slow_device,
            initial,
            on_settings,
            measured: Default::default(),
            measuring: false,
            on_measure: Callback::noop(),
            images: (60_000, 10_000),
        }
    }

    #[wasm_bindgen_test]
    async fn typed_settings_survive_a_rerender_and_start_trains_with_them() {
        use mnist_studio::ui::components::train_controls::TrainControls;
        use std::cell::RefCell;
        let started = Rc::new(RefCell::new(None::<TrainConfig>));
        // Fresh callbacks each time, as the page makes on every render.
        let props = || controls(&started, false, Default::default(), Callback::noop());
        let root = root();
        let mut app = yew::Renderer::<TrainControls>::with_root_and_props(root.clone(), props()).render();
        rendered().await;
        enter(&root, "#schedule", "custom", "change");
        rendered().await;
        enter(&root, "#epochs", "4", "input");
        enter(&root, "#lr", "0.1", "input");
        enter(&root, "#batch", "32", "input");
        // A worker message re-renders the page before the field is left: what was typed stays.
        app.update(props());
        rendered().await;
        assert_eq!(value(&root, "#epochs"), "4");
        assert_eq!(value(&root, "#lr"), "0.1");
        let click = |selector: &str| root.query_selector(selector).unwrap().unwrap().unchecked_into::<web_sys::HtmlElement>().click();
        click("#start");
        let config = started.borrow_mut().take().expect("Start calls back");
        assert_eq!((config.schedule.epochs(), config.schedule.lr(3), config.batch_size), (4, 0.1, 32));

        // What cannot be a setting is refused with a message, and nothing starts.
        // Nor what a link of it would refuse: the address must start the same run again.
        for (selector, typed, message) in [
            ("#epochs", "four", "epochs must be a whole number"),
            ("#lr", "-1", "learning rate -1 is not a positive number"),
            ("#epochs", "10000000", "a run may have at most 100 epochs, not 10000000"),
            ("#lr", "50", "the learning rate must be at most 10, not 50"),
        ] {
            enter(&root, selector, typed, "input");
            rendered().await;
            click("#start");
            rendered().await;
            assert!(started.borrow().is_none(), "{typed} started a run");
            let shown = text(&root, "#train-controls .error");
            assert!(shown.contains(message), "{shown}");
            enter(&root, selector, if selector == "#lr" { "0.1" } else { "4" }, "input");
        }
        root.remove();
    }

    #[wasm_bindgen_test]
    async fn a_link_fills_the_controls_and_what_the_user_changes_goes_back_to_it() {
        use mnist_studio::link::{self, RunSettings, ScheduleChoice};
        use mnist_studio::ui::components::train_controls::TrainControls;
        use std::cell::RefCell;
        let query = [("network", "bn-dropout"), ("schedule", "custom"), ("epochs", "7"), ("lr", "0.003"), ("batch", "<b>"), ("subset", "500"), ("seed", "9")];
        let (initial, problems) = link::parse(|key| query.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string()));
        assert_eq!(problems, vec!["batch=\"<b>\" (a whole number from 1 to 4096)".to_owned()]);
        let reported = Rc::new(RefCell::new(Vec::<RunSettings>::new()));
        let started = Rc::new(RefCell::new(None::<TrainConfig>));
        // A slow device suggests a subset: the link's own wins.
        let on_settings = Callback::from({
            let reported = reported.clone();
            move |s| reported.borrow_mut().push(s)
        });
        let props = controls(&started, true, initial, on_settings);
        let root = root();
        yew::Renderer::<TrainControls>::with_root_and_props(root.clone(), props).render();
        rendered().await;
        for (selector, want) in [("#network", "bn-dropout"), ("#schedule", "custom"), ("#epochs", "7"), ("#lr", "0.003"), ("#batch", "64"), ("#subset", "500"), ("#seed", "9")] {
            assert_eq!(value(&root, selector), want, "{selector}");
        }
        assert!(reported.borrow().is_empty(), "what the page set up itself is not written back");
        root.query_selector("#start").unwrap().unwrap().unchecked_into::<web_sys::HtmlElement>().click();
        let config = started.borrow_mut().take().expect("Start calls back");
        assert_eq!((config.network, config.schedule.epochs(), config.seed, config.train_limit), (mnist_studio::model::NetworkKind::VggBnDropout, 7, 9, Some(500)));

        enter(&root, "#seed", "11", "input");
        rendered().await;
        let last = reported.borrow().last().cloned().expect("a change the user made is reported");
        assert_eq!((last.seed, last.schedule, last.subset, last.augment), (11, ScheduleChoice::Custom, Some(500), Some(false)));
        root.remove();
    }

    #[wasm_bindgen_test]
    async fn a_failed_download_shows_the_file_and_what_is_wrong_and_retry_calls_back() {
        let root = root();
        let retried = Rc::new(Cell::new(false));
        let error = DataError::File {
            file: "t10k-labels-idx1-ubyte".into(),
            problem: FileProblem::LabelOutOfRange { index: 1234, label: 12 },
        };
        let props = DatasetPanelProps {
            status: DataStatus::Failed(error),
            on_retry: Callback::from({
                let retried = retried.clone();
                move |()| retried.set(true)
            }),
        };
        yew::Renderer::<DatasetPanel>::with_root_and_props(root.clone(), props).render();
        rendered().await;
        assert_eq!(root.query_selector("#dataset").unwrap().unwrap().get_attribute("data-state").as_deref(), Some("failed"));
        let message = text(&root, "#data-error");
        assert!(message.contains("t10k-labels-idx1-ubyte: label #1234 is 12, outside 0-9"), "{message}");
        root.query_selector("#retry").unwrap().unwrap().unchecked_into::<web_sys::HtmlElement>().click();
        assert!(retried.get(), "Retry calls back");
    }

    fn epoch(epoch: usize, held_out_accuracy: f32, best_epoch: usize) -> EpochReport {
        let labels: Vec<u8> = (0..100).map(|i| (i % 10) as u8).collect();
        let mut predictions = labels.clone();
        predictions[3] = 5;
        EpochReport {
            epoch,
            lr: 0.1,
            train_loss: 0.5 / (epoch + 1) as f32,
            train_accuracy: 0.9,
            evaluated_on: mnist_studio::train::Selection::Validation,
            held_out_loss: 0.3,
            held_out_accuracy,
            test_accuracy: (epoch == best_epoch).then_some(0.95),
            temperature: 1.3,
            seconds: 12.5,
            confusion: Confusion::from_predictions(&labels, &predictions),
            misclassified: vec![Misclassified { index: 3, label: 3, predicted: 5, pixels: vec![0; 784] }],
            best_epoch,
            eased: None,
        }
    }

    #[wasm_bindgen_test]
    async fn a_run_shows_its_log_with_the_best_epoch_memory_confusion_and_mistakes() {
        let root = root();
        let mut run = Run::new(TrainConfig::notebook(NetworkKind::Linear));
        run.steps_per_epoch = 10;
        run.status = RunStatus::Running;
        run.steps = (1..=20)
            .map(|i| StepReport {
                epoch: (i - 1) / 10,
                epochs: 11,
                step: (i - 1) % 10 + 1,
                steps_per_epoch: 10,
                lr: 0.1,
                loss: 1.0 / i as f32,
                accuracy: 0.5,
                images_per_sec: 1000.0,
                ms_per_step: 64.0,
                elapsed_ms: 64.0 * i as f64,
                eased: None,
            })
            .collect();
        run.epochs = vec![epoch(0, 0.90, 0), epoch(1, 0.80, 0)];
        run.memory = vec![
            MemorySample { epoch: 0, wasm_bytes: 70_000_000, gpu: Some(GpuMemory { in_use: 500_000, reserved: 3_000_000, allocations: 9 }) },
            MemorySample { epoch: 1, wasm_bytes: 70_000_000, gpu: None },
        ];
        let props = RunViewProps { run, saved: None, on_resume_saved: Callback::noop(), can_resume: true };
        yew::Renderer::<RunView>::with_root_and_props(root.clone(), props).render();
        rendered().await;
        assert_eq!(count(&root, "#epoch-log tbody tr"), 2);
        let first = text(&root, "#epoch-log tbody tr:nth-child(1)");
        assert!(first.starts_with("1 ★"), "the best epoch is marked: {first}");
        assert!(first.contains("0.9000") && first.contains("wasm 70.0 · GPU 0.5 / 3.0"), "{first}");
        assert!(text(&root, "#epoch-log tbody tr:nth-child(2)").contains("wasm 70.0"));
        assert_eq!(count(&root, "#confusion tbody tr"), 10);
        assert_eq!(count(&root, "#misclassified canvas"), 1);
        assert!(root.query_selector("#loss-chart").unwrap().is_some(), "the loss chart is drawn");
        assert_eq!(root.query_selector("#run").unwrap().unwrap().get_attribute("data-status").as_deref(), Some("running"));
    }

    /// An epoch started again easing into its rate says so in one sentence, while it runs and
    /// once it is in the log; its first attempt's reports give way to the new ones.
    #[wasm_bindgen_test]
    async fn an_eased_epoch_is_said_and_its_first_attempt_replaced() {
        use mnist_studio::train::Eased;
        let eased = Eased { dead_step: 25, dead_loss: 13.2, from_lr: 0.01, to_lr: 0.1, over_steps: 2 };
        let report = |epoch: usize, step: usize, eased: Option<Eased>| StepReport {
            epoch,
            epochs: 11,
            step,
            steps_per_epoch: 10,
            lr: 0.1,
            loss: 1.0,
            accuracy: 0.5,
            images_per_sec: 1000.0,
            ms_per_step: 64.0,
            elapsed_ms: 0.0,
            eased,
        };
        let mut run = Run::new(TrainConfig::notebook(NetworkKind::VggAugmented));
        run.steps_per_epoch = 10;
        run.status = RunStatus::Running;
        for step in [5, 10] {
            run.add_step(report(0, step, None));
        }
        run.epochs = vec![epoch(0, 0.96, 0)];
        run.add_step(report(1, 5, None)); // the first attempt, later dead
        run.add_step(report(1, 5, Some(eased)));
        assert_eq!(run.steps.len(), 3);
        assert!(run.steps[2].eased.is_some());
        let running = root();
        let props = RunViewProps { run: run.clone(), saved: None, on_resume_saved: Callback::noop(), can_resume: true };
        yew::Renderer::<RunView>::with_root_and_props(running.clone(), props).render();
        rendered().await;
        assert_eq!(count(&running, ".eased"), 1);
        let said = text(&running, ".eased");
        assert!(said.starts_with("Epoch 2 started again: at learning rate 0.1 the loss went dead (13.2 at step 25)"), "{said}");
        assert!(said.contains("rises from 0.01 to 0.1 over the epoch's first 2 steps"), "{said}");
        // The learning-rate chart draws the ramp the eased epoch took: two points for each of
        // the other ten epochs, three for this one (its two ramp steps, then its end).
        let lr_points = |root: &web_sys::Element| {
            let d = root.query_selector("#lr-chart .series path").unwrap().unwrap().get_attribute("d").unwrap();
            d.matches(['M', 'L']).count()
        };
        assert_eq!(lr_points(&running), 23);
        running.remove();
        // Once the epoch is in the log, its report carries the sentence.
        run.epochs.push(EpochReport { eased: Some(eased), ..epoch(1, 0.97, 1) });
        let logged = root();
        let props = RunViewProps { run, saved: None, on_resume_saved: Callback::noop(), can_resume: true };
        yew::Renderer::<RunView>::with_root_and_props(logged.clone(), props).render();
        rendered().await;
        assert_eq!(count(&logged, ".eased"), 1);
        assert_eq!(logged.query_selector(".eased").unwrap().unwrap().get_attribute("data-epoch").as_deref(), Some("2"));
        assert_eq!(lr_points(&logged), 23);
        logged.remove();
    }

    /// A diverged run offers to resume from the kept epoch as it was, or at a tenth of the
    /// learning rate from there on; a stopped run only as it was.
    #[wasm_bindgen_test]
    async fn a_diverged_run_offers_to_resume_at_a_tenth_of_the_learning_rate() {
        use mnist_studio::train::RunEnd;
        use mnist_studio::weights::WeightsMeta;
        use std::cell::RefCell;
        let resumed = Rc::new(RefCell::new(Vec::<TrainConfig>::new()));
        // As the worker saves a best epoch: the figures of its report (`epoch` below).
        let saved = WeightsMeta {
            validation_accuracy: Some(0.975),
            temperature: Some(1.3),
            ..WeightsMeta::new(NetworkKind::VggAugmented, mnist_studio::data::PixelStats { mean: 0.1307, std: 0.3081 }, 0, 0.95)
        };
        for (end, buttons) in [
            (RunEnd::Diverged { epoch: 1, step: 100, loss: f32::NAN }, 2),
            (RunEnd::Stopped { epoch: 1, step: 100 }, 1),
        ] {
            let root = root();
            let mut run = Run::new(TrainConfig::notebook(NetworkKind::VggAugmented));
            run.status = RunStatus::Ended(end);
            // Its first epoch was its best, and is the one saved.
            run.epochs.push(epoch(0, 0.975, 0));
            let on_resume_saved = {
                let resumed = resumed.clone();
                Callback::from(move |config| resumed.borrow_mut().push(config))
            };
            let props = RunViewProps { run, saved: Some(saved.clone()), on_resume_saved, can_resume: true };
            yew::Renderer::<RunView>::with_root_and_props(root.clone(), props).render();
            rendered().await;
            assert_eq!(count(&root, ".resume-choices button"), buttons);
            if buttons == 2 {
                let gentler = text(&root, "#resume-gentler");
                assert_eq!(gentler, "Resume from epoch 1 at a tenth of the learning rate");
                root.query_selector("#resume-gentler").unwrap().unwrap().unchecked_into::<web_sys::HtmlElement>().click();
                rendered().await;
                let config = resumed.borrow_mut().pop().expect("the gentler resume was asked for");
                let lrs: Vec<f64> = (0..11).map(|e| config.schedule.lr(e)).collect();
                let expected = [0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.001, 0.001, 0.001, 0.001, 0.001];
                assert!(lrs.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-12), "{lrs:?}");
                assert_eq!((config.network, config.augment, config.seed), (NetworkKind::VggAugmented, true, 42));
            }
            root.query_selector("#resume-saved").unwrap().unwrap().unchecked_into::<web_sys::HtmlElement>().click();
            rendered().await;
            assert_eq!(resumed.borrow_mut().pop(), Some(TrainConfig::notebook(NetworkKind::VggAugmented)), "as it was");
            root.remove();
        }
        // While the trainer cannot start a run (its dataset reloading after a change of
        // backend, a measurement under way), the choices are there but cannot be taken.
        let waiting = root();
        let mut run = Run::new(TrainConfig::notebook(NetworkKind::VggAugmented));
        run.status = RunStatus::Ended(RunEnd::Diverged { epoch: 1, step: 100, loss: f32::NAN });
        run.epochs.push(epoch(0, 0.975, 0));
        let props = RunViewProps { run, saved: Some(saved.clone()), on_resume_saved: Callback::noop(), can_resume: false };
        yew::Renderer::<RunView>::with_root_and_props(waiting.clone(), props).render();
        rendered().await;
        assert_eq!(count(&waiting, ".resume-choices button:disabled"), 2);
        waiting.remove();
        // The resume choices a run offers with these saved weights.
        async fn offered(run: Run, saved: WeightsMeta) -> u32 {
            let root = root();
            let props = RunViewProps { run, saved: Some(saved), on_resume_saved: Callback::noop(), can_resume: true };
            yew::Renderer::<RunView>::with_root_and_props(root.clone(), props).render();
            rendered().await;
            let n = count(&root, ".resume-choices button");
            root.remove();
            n
        }
        let stopped = || Run { status: RunStatus::Ended(RunEnd::Stopped { epoch: 1, step: 50 }), ..Run::new(TrainConfig::notebook(NetworkKind::VggAugmented)) };
        // Saved weights that are not this run's (an earlier run's, a file's, of the same
        // network: this run stopped before its first epoch) are not offered to continue under
        // its settings; those of the epoch a resumed run started from are.
        // Another run's epoch 1 of the same network is not this run's, though the numbers match.
        let another = WeightsMeta { validation_accuracy: Some(0.981), ..saved.clone() };
        for (resumes, n) in [(None, 0), (Some(saved.clone()), 1), (Some(another.clone()), 0)] {
            assert_eq!(offered(Run { resumes: resumes.clone(), ..stopped() }, saved.clone()).await, n, "resumes {resumes:?}");
        }
        // A run whose best epoch 1 was saved, then another run's epoch 1 read with (its "Read
        // with these weights"): not offered to continue that one under this run's settings.
        let mut run = stopped();
        run.epochs.push(epoch(0, 0.975, 0));
        assert_eq!(offered(run, another).await, 0, "another run's epoch 1 is not offered");
        // A resumed run that stopped before beating the epoch it resumed from saves that epoch
        // again, measured and calibrated afresh: the best it ended with, still its own.
        let remeasured = WeightsMeta { temperature: Some(1.31), ..saved.clone() };
        let run = Run { resumes: Some(saved.clone()), best: Some(remeasured.clone()), ..stopped() };
        assert_eq!(offered(run, remeasured).await, 1, "the best a resumed run ended with is offered");
        // Weights the test set chose (no validation figure) trained on the validation images:
        // a run choosing on validation is not offered to continue them.
        let mut run = Run::new(TrainConfig::notebook(NetworkKind::VggAugmented));
        run.status = RunStatus::Ended(RunEnd::Diverged { epoch: 1, step: 100, loss: f32::NAN });
        let chosen_on_test = WeightsMeta { validation_accuracy: None, ..saved.clone() };
        assert_eq!(offered(run, chosen_on_test).await, 0);
    }

    /// What the page's state makes of messages that arrive late or out of turn: a reader that
    /// is lost takes its reading with it; an answer for a drawing cleared since is not shown;
    /// a pause answered as the run ended does not bring the run back; a stop asked while the
    /// run started still stands.
    #[wasm_bindgen_test]
    fn late_or_out_of_turn_messages_leave_the_page_as_it_should_be() {
        use mnist_studio::train::{RunEnd, Schedule};
        use mnist_studio::ui::state::{Action, ReaderStatus, Studio};
        use mnist_studio::weights::WeightsMeta;
        use yew::Reducible;
        let heard = |s: Rc<Studio>, output: WorkerOutput| s.reduce(Action::Heard(output));
        let meta = WeightsMeta::new(NetworkKind::Linear, mnist_studio::data::PixelStats { mean: 0.13, std: 0.31 }, 0, 0.9);
        let prediction = |id| WorkerOutput::Prediction { id, probabilities: vec![0.1; 10], strangeness: None };

        let s = heard(Rc::new(Studio::default()), WorkerOutput::Reader(meta.clone()));
        let s = heard(s, prediction(1));
        assert!(s.prediction.is_some());
        // A load that fails keeps the network in use and its reading.
        let s = heard(s, WorkerOutput::ReaderFailed("the network to read with was refused: x".into()));
        assert!(matches!(s.reader, ReaderStatus::Ready(_)) && s.prediction.is_some());
        // A reader that has lost its network, or stopped, says so, and its reading goes.
        let s = heard(s, WorkerOutput::ReaderLost("the network in use gives outputs that are not numbers".into()));
        assert_eq!(s.reader, ReaderStatus::Failed("the network in use gives outputs that are not numbers".into()));
        assert!(s.prediction.is_none());

        // A reader whose worker stopped: its reading goes, and the page says whether another
        // is on its way.
        let s = heard(s, WorkerOutput::Reader(meta.clone()));
        let s = heard(s, prediction(1));
        let s = s.reduce(Action::ReaderStopped { reason: "Error: x".into(), restarting: true });
        assert_eq!(s.reader, ReaderStatus::Stopped { reason: "Error: x".into(), restarting: true });
        assert!(s.prediction.is_none());
        // The same network said again (a run's last epoch, also its best, handed over with
        // its detector) is news: the pad is read again (the page's effect watches the count).
        let s = heard(s, WorkerOutput::Reader(meta.clone()));
        let told = s.reader_told;
        let s = heard(s, WorkerOutput::Reader(meta.clone()));
        assert_eq!(s.reader_told, told + 1);

        // Drawings 2 and 3 sent, the pad cleared after 3: their answers are late.
        let s = heard(s, WorkerOutput::Reader(meta));
        let s = s.reduce(Action::DrawingCleared(Some(3)));
        let s = heard(heard(s, prediction(2)), prediction(3));
        assert!(s.prediction.is_none(), "an answer for a cleared drawing is not shown");
        let s = heard(s, prediction(4));
        assert_eq!(s.prediction.as_ref().map(|(id, _)| *id), Some(4));
        // Cleared before anything was sent: nothing is late.
        let s = s.reduce(Action::DrawingCleared(None));
        assert!(s.prediction.is_none());
        assert_eq!(heard(s, prediction(5)).prediction.as_ref().map(|(id, _)| *id), Some(5));

        let config = TrainConfig::new(NetworkKind::Linear, Schedule::constant(1, 0.1), false);
        let started = || WorkerOutput::TrainStarted { config: config.clone(), steps_per_epoch: 8, train_images: 500, held_out_images: 0, test_images: 100 };
        let s = Rc::new(Studio::default()).reduce(Action::TrainRequested(config.clone()));
        let s = heard(s, started());
        let s = heard(s, WorkerOutput::TrainEnded { end: RunEnd::Completed, best: None });
        assert!(s.keeping_run, "an ended run is being kept until the worker says it is");
        let s = heard(s, WorkerOutput::Paused);
        assert_eq!(s.run.as_ref().unwrap().status, RunStatus::Ended(RunEnd::Completed), "an ended run stays ended");
        // A new run asked for meanwhile does not make the old one kept.
        let asked = s.clone().reduce(Action::TrainRequested(config.clone()));
        assert!(asked.keeping_run);
        let s = heard(s, WorkerOutput::RunKept);
        assert!(!s.keeping_run);
        // A failed run too is kept (if it finished an epoch) before the worker may go.
        let failed = heard(s.clone().reduce(Action::TrainRequested(config.clone())), WorkerOutput::TrainFailed("the GPU stopped working".into()));
        assert!(failed.keeping_run && matches!(failed.run.as_ref().unwrap().status, RunStatus::Failed(_)));
        assert!(!heard(failed, WorkerOutput::RunKept).keeping_run);
        // A worker that crashed will say nothing more: nothing waits for it.
        let crashed = heard(Rc::new(Studio::default()).reduce(Action::TrainRequested(config.clone())), started());
        let crashed = heard(crashed, WorkerOutput::TrainEnded { end: RunEnd::Completed, best: None }).reduce(Action::BenchRequested).reduce(Action::Crashed("out of memory".into()));
        assert!(!crashed.keeping_run && !crashed.bench.running);
        // Replacing it (another backend or thread count) is the way back: the crash was the
        // old worker's.
        assert!(crashed.crashed.is_some());
        assert_eq!(crashed.reduce(Action::WorkerReplaced(mnist_studio::ui::bridge::WorkerKind::ThreadedTrainer { threads: 1 })).crashed, None);
        // A GPU lost: the badge says so, and the picker stops offering WebGPU.
        let lost = heard(Rc::new(Studio::default()), WorkerOutput::GpuLost("the GPU was lost during training (x).".into()));
        assert!(matches!(&lost.gpu, mnist_studio::ui::state::GpuStatus::Unavailable(r) if r.starts_with("the GPU was lost")));
        let s = heard(s, WorkerOutput::Resumed);
        assert_eq!(s.run.as_ref().unwrap().status, RunStatus::Ended(RunEnd::Completed));

        // A resumed run remembers the epoch it resumed from once the worker has started it.
        let from = mnist_studio::weights::WeightsMeta::new(NetworkKind::Linear, mnist_studio::data::PixelStats { mean: 0.1307, std: 0.3081 }, 2, 0.9);
        let resumed = heard(s.clone().reduce(Action::ResumeRequested(config.clone(), from.clone())), started());
        assert_eq!(resumed.run.as_ref().unwrap().resumes, Some(from));
        let s = s.reduce(Action::TrainRequested(config.clone())).reduce(Action::StopRequested);
        let s = heard(s, started());
        assert_eq!(s.run.as_ref().unwrap().status, RunStatus::Stopping, "the stop asked while it started stands");
        // A pause answered after Stop was pressed leaves the run stopping.
        let stopping = heard(s.clone().reduce(Action::TrainRequested(config.clone())), started()).reduce(Action::StopRequested);
        assert_eq!(heard(stopping, WorkerOutput::Paused).run.as_ref().unwrap().status, RunStatus::Stopping);
        let s = heard(s.reduce(Action::TrainRequested(config.clone())), started());
        let s = heard(s, WorkerOutput::Paused);
        assert_eq!(s.run.as_ref().unwrap().status, RunStatus::Paused, "a live run pauses");
        assert_eq!(heard(s, WorkerOutput::Resumed).run.as_ref().unwrap().status, RunStatus::Running, "and resumes");

        // Weights the browser's storage refused are still the worker's, to download or resume
        // from; weights that could not be made into a file are nothing to offer.
        let meta = WeightsMeta::new(NetworkKind::Linear, mnist_studio::data::PixelStats { mean: 0.13, std: 0.31 }, 3, 0.9);
        let file = vec![7u8; 16];
        let s = heard(Rc::new(Studio::default()), WorkerOutput::NotSaved { meta: meta.clone(), reason: "QuotaExceededError".into(), bytes: file.clone() });
        assert_eq!(s.saved, Some(meta.clone()));
        assert!(matches!(&s.weights_note, Some(mnist_studio::ui::state::WeightsNote::NotSaved(r)) if r == "QuotaExceededError"));
        // Kept for the visit only: the page holds the file for a worker that replaces this one,
        // through the replacement, and a replacing worker's restore of what the browser keeps
        // (another tab's network) does not take its place.
        let replaced = s.clone().reduce(Action::WorkerReplaced(mnist_studio::ui::bridge::WorkerKind::Trainer { wants: None }));
        assert_eq!(replaced.own_weights.as_deref(), Some(&file));
        let other = WeightsMeta::new(NetworkKind::VggBnDropout, mnist_studio::data::PixelStats { mean: 0.13, std: 0.31 }, 9, 0.99);
        let restored = heard(replaced, WorkerOutput::Restored { meta: other.clone(), bytes: vec![1] });
        assert_eq!(restored.saved, Some(meta.clone()));
        assert!(matches!(restored.weights_note, Some(mnist_studio::ui::state::WeightsNote::NotSaved(_))));
        // Saved in the browser too, they are still handed over: by then the browser may keep
        // another tab's network (a file loaded there), which a replacing worker would restore.
        let saved = heard(s.clone(), WorkerOutput::Saved { meta: meta.clone(), bytes: file.clone() });
        assert_eq!(saved.own_weights.as_deref(), Some(&file));
        let replaced = saved.reduce(Action::WorkerReplaced(mnist_studio::ui::bridge::WorkerKind::ThreadedTrainer { threads: 2 }));
        assert_eq!(heard(replaced, WorkerOutput::Restored { meta: other.clone(), bytes: vec![1] }).saved, Some(meta.clone()));
        // The first worker's restore is the page's network, and its file the one handed over.
        let first = heard(Rc::new(Studio::default()), WorkerOutput::Restored { meta: other.clone(), bytes: file.clone() });
        assert_eq!((first.saved.clone(), first.own_weights.as_deref()), (Some(other.clone()), Some(&file)));
        let skipped = heard(Rc::new(Studio::default()), WorkerOutput::SaveSkipped { meta: meta.clone(), reason: "another tab".into(), bytes: file.clone() });
        assert_eq!(skipped.own_weights.as_deref(), Some(&file));
        let s = heard(Rc::new(Studio::default()), WorkerOutput::SaveFailed("the weights of epoch 4 could not be kept: x".into()));
        assert_eq!(s.saved, None);
    }

    mod runs_panel;

    /// A report crosses the page/worker boundary as the bridge sends it: serde_wasm_bindgen,
    /// then the structured clone of postMessage (through a MessageChannel).
    #[wasm_bindgen_test]
    async fn worker_messages_survive_the_trip_through_post_message() {
        let sent = WorkerOutput::Epoch(epoch(4, 0.99, 4));
        let channel = web_sys::MessageChannel::new().unwrap();
        let (tx, rx) = futures::channel::oneshot::channel();
        let tx = Rc::new(Cell::new(Some(tx)));
        let on_message = wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            if let Some(tx) = tx.take() {
                let _ = tx.send(e.data());
            }
        });
        channel.port2().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        channel.port1().post_message(&serde_wasm_bindgen::to_value(&sent).unwrap()).unwrap();
        let received: WorkerOutput = serde_wasm_bindgen::from_value(rx.await.unwrap()).unwrap();
        assert_eq!(received, sent);
        drop(on_message);
    }
}

/// A tensor's values, read asynchronously (the only way on WebGPU).
async fn read<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data_async().await.expect("a WebGPU tensor should read back").convert::<f32>().try_to_vec::<f32>().unwrap()
}

/// Our WebGPU convolution kernels (src/kernels/gpu_conv.rs) against burn's own convolution on
/// the same device: the output and the gradients of input, weight and bias, for the
/// network's four layer shapes at batch 1, 7 and 64, and odd ones (a 2x2 kernel, 3 output
/// channels, a non-square image). Tolerance: relative to the largest magnitude, 1e-4 — f32
/// sums of up to 36,864 terms in a different order.
/// The default network's recipe can be trained in the page on WebGPU too: its stroke
/// augmentation (the elastic field in the resampling, the pen width by max pooling with
/// stride 1) gives there what the CPU reference gives.
#[wasm_bindgen_test]
async fn the_stroke_augmentation_on_webgpu_agrees_with_the_reference() {
    use mnist_studio::data::augment::{random_matrices, warp_cpu_displaced, AugmentRanges};
    use mnist_studio::data::strokes::{control_weights, field, pen_width_cpu, random_strokes, StrokeRanges, CONTROL, PEN, STROKE_PARAMS};
    use mnist_studio::data::IMAGE_PIXELS;
    use mnist_studio::rng::Rng;
    use mnist_studio::train::warp::{pen_width, warp};

    let device = gpu::init_device().await.expect("burn should start on WebGPU").inner();
    let mut rng = Rng::new(23);
    let n = 5;
    let images: Vec<f32> = (0..n * IMAGE_PIXELS).map(|_| rng.uniform(-0.42, 2.8)).collect();
    let matrices = random_matrices(n, &AugmentRanges::default(), &mut rng);
    let mut strokes = random_strokes(n, &StrokeRanges::default(), &mut rng);
    for (i, amount) in [1.0, -0.6, 0.4, -0.2, 0.0].into_iter().enumerate() {
        strokes[i * STROKE_PARAMS + PEN] = amount;
    }
    let params = Tensor::<2>::from_data(TensorData::new(strokes.clone(), [n, STROKE_PARAMS]), &device);
    let weights = Tensor::<2>::from_data(TensorData::new(control_weights(), [CONTROL * CONTROL, IMAGE_PIXELS]), &device);
    let warped = warp(
        Tensor::from_data(TensorData::new(images.clone(), [n, 1, 28, 28]), &device),
        Tensor::from_data(TensorData::new(matrices.clone(), [n, 6]), &device),
        Some((&params, &weights)),
    );
    let out = read(pen_width(warped, &params)).await;
    let grid = CONTROL * CONTROL;
    for i in 0..n {
        let m: [f32; 6] = matrices[i * 6..i * 6 + 6].try_into().unwrap();
        let p = &strokes[i * STROKE_PARAMS..(i + 1) * STROKE_PARAMS];
        let moved = warp_cpu_displaced(&images[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS], &m, &field(&p[..grid]), &field(&p[grid..2 * grid]));
        let expected = pen_width_cpu(&moved, p[PEN]);
        for (k, (a, b)) in out[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS].iter().zip(&expected).enumerate() {
            assert!((a - b).abs() < 1e-3, "image {i} pixel {k}: {a} on WebGPU, {b} in the reference");
        }
    }
}

#[wasm_bindgen_test]
async fn our_webgpu_convolution_matches_burns_values_and_gradients() {
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::Distribution;
    use mnist_studio::kernels::{choose_gpu_tiles_as_if_software, conv2d_valid, conv2d_valid_relu, has_our_conv};

    let device = gpu::init_device().await.expect("burn should start on WebGPU");
    assert!(has_our_conv(&device), "this build should route WebGPU convolutions to our kernels");
    // Both register tiles: a GPU's 8 rows and a software adapter's 16 (this adapter's own).
    for software in [false, true] {
        choose_gpu_tiles_as_if_software(Some(software));
        // With `relu`, our fused convolution and ReLU against our plain convolution followed by
        // burn's ReLU: the same pre-activations bit for bit, so the same mask. (Against burn's
        // convolution, a pre-activation within rounding of zero, about one in a million, can fall
        // on the other side and move a whole gradient entry; the plain convolution is compared
        // with burn's in the other cases.)
        let cases = [
            (1, 1, 28, 28, 32, 3, true),
            (7, 32, 26, 26, 32, 3, true),
            (64, 32, 12, 12, 64, 3, true),
            (64, 64, 10, 10, 64, 3, false),
            (64, 32, 26, 26, 32, 3, false),
            (3, 2, 7, 5, 3, 2, true),
            // 75 outputs: the ReLU's element-wise passes one value per invocation, not four.
            (1, 2, 6, 6, 3, 2, true),
            (2, 5, 4, 4, 17, 3, false),
            // 15 output positions, no ReLU: the bias gradient one value per load, compared with
            // burn's (a ReLU case's reference goes through our bias gradient too).
            (2, 3, 5, 7, 4, 3, false),
        ];
        // An input that is not tracked, as the network's first convolution's (its input is the
        // data): the weight's and bias's gradients alone.
        let untracked = [(7, 1, 28, 28, 32, 3, true), (3, 2, 7, 5, 3, 2, false)];
        let all = cases.iter().map(|&c| (c, true)).chain(untracked.iter().map(|&c| (c, false)));
        for ((batch, c_in, h, w, c_out, k, relu), tracked) in all {
            let conv = Conv2dConfig::new([c_in, c_out], [k, k]).init(&device);
            let x = Tensor::<4>::random([batch, c_in, h, w], Distribution::Uniform(-1.0, 1.0), &device);
            let g = Tensor::<4>::random([batch, c_out, h + 1 - k, w + 1 - k], Distribution::Uniform(-1.0, 1.0), &device);
            let mut results = Vec::new();
            for ours in [true, false] {
                let x = if tracked { x.clone().detach().require_grad() } else { x.clone().detach() };
                let y = match (ours, relu) {
                    (true, true) => conv2d_valid_relu(x.clone(), &conv),
                    (true, false) => conv2d_valid(x.clone(), &conv),
                    (false, true) => burn::tensor::activation::relu(conv2d_valid(x.clone(), &conv)),
                    (false, false) => conv.forward(x.clone()),
                };
                results.push(conv_values_and_gradients(&conv, x, y, g.clone()).await);
            }
            let burns = results.pop().unwrap();
            let ours = results.pop().unwrap();
            let case = format!("{:?}, input tracked {tracked}, software tiles {software}", (batch, c_in, h, w, c_out, k, relu));
            web_sys::console::log_1(&format!("convolution {case} compared").into());
            assert_conv_results_close(&case, &ours, &burns);
        }
    }
    choose_gpu_tiles_as_if_software(None);
}

/// A convolution's output `y` of `x`, and the gradients of input (empty when `x` is not
/// tracked), weight and bias for the output gradient `g`.
async fn conv_values_and_gradients(conv: &burn::nn::conv::Conv2d, x: Tensor<4>, y: Tensor<4>, g: Tensor<4>) -> [Vec<f32>; 4] {
    let c_out = g.dims()[1];
    let grads = (y.clone() * g).sum().backward();
    let bias = conv.bias.as_ref().expect("a bias");
    let dx = match x.grad(&grads) {
        Some(dx) => read(dx).await,
        None => Vec::new(),
    };
    [
        read(y.inner()).await,
        dx,
        read(conv.weight.val().grad(&grads).expect("the weight's gradient")).await,
        read(bias.val().grad(&grads).expect("the bias's gradient").reshape([1, 1, 1, c_out])).await,
    ]
}

/// Ours against burn's, each value within 1e-4 of the largest magnitude.
fn assert_conv_results_close(case: &str, ours: &[Vec<f32>; 4], burns: &[Vec<f32>; 4]) {
    for (what, (a, b)) in ["output", "input gradient", "weight gradient", "bias gradient"].iter().zip(ours.iter().zip(burns)) {
        assert_eq!(a.len(), b.len(), "{what} {case}: lengths");
        let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (i, (p, q)) in a.iter().zip(b).enumerate() {
            assert!((p - q).abs() <= 1e-4 * (1.0 + scale), "{what} {case} [{i}]: ours {p}, burn's {q}");
        }
    }
}

/// Our CPU convolution kernels compiled to wasm (src/kernels/conv.rs, winograd.rs) against
/// burn's CPU backend on the same device: output and the gradients of input, weight and bias,
/// at the networks' shapes (batch 8: which path a layer takes depends on its channels and
/// image size, not on the batch) and odd ones. In wasm every input gradient of a 3x3
/// convolution with 8 or more channels each side takes Winograd, the third's and fourth's
/// included, where natively those keep the column path (`winograd::INPUT_GRAD_SAVING`), so
/// only a browser test covers them on the path users run. Tolerance as on WebGPU: 1e-4 of the
/// largest magnitude (Winograd's transforms add terms before multiplying).
#[wasm_bindgen_test]
async fn our_cpu_convolution_in_wasm_matches_burns_values_and_gradients() {
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::Distribution;
    use mnist_studio::kernels::{conv2d_valid, has_our_conv};

    let device = Device::flex().autodiff();
    assert!(has_our_conv(&device), "the CPU backend's convolutions should be ours");
    let cases = [(8, 1, 28, 28, 32), (8, 32, 26, 26, 32), (8, 32, 12, 12, 64), (8, 64, 10, 10, 64), (3, 9, 7, 5, 8), (2, 8, 4, 4, 9)];
    for (batch, c_in, h, w, c_out) in cases {
        let conv = Conv2dConfig::new([c_in, c_out], [3, 3]).init(&device);
        let x = Tensor::<4>::random([batch, c_in, h, w], Distribution::Uniform(-1.0, 1.0), &device);
        let g = Tensor::<4>::random([batch, c_out, h - 2, w - 2], Distribution::Uniform(-1.0, 1.0), &device);
        let mut results = Vec::new();
        for ours in [true, false] {
            let x = x.clone().detach().require_grad();
            let y = if ours { conv2d_valid(x.clone(), &conv) } else { conv.forward(x.clone()) };
            results.push(conv_values_and_gradients(&conv, x, y, g.clone()).await);
        }
        let burns = results.pop().unwrap();
        let ours = results.pop().unwrap();
        assert_conv_results_close(&format!("{:?}", (batch, c_in, h, w, c_out)), &ours, &burns);
    }
}

/// Our WebGPU dense-layer kernel (src/kernels/gpu_dense.rs) against burn's `Linear` on the
/// same device: the output and the gradients of input, weight and bias, at the networks' three
/// dense layers (batch 64, and 7 and 1) and odd sizes; the forward's long products are split
/// along their shared dimension, the gradients read transposed views. Tolerance as for the
/// convolution: relative to the largest magnitude, 1e-4.
#[wasm_bindgen_test]
async fn our_webgpu_dense_layer_matches_burns_values_and_gradients() {
    use burn::nn::LinearConfig;
    use burn::tensor::Distribution;
    use mnist_studio::kernels::{choose_gpu_tiles_as_if_software, dense, dense_relu, has_our_gpu_kernels};

    let device = gpu::init_device().await.expect("burn should start on WebGPU");
    assert!(has_our_gpu_kernels(&device), "this build should route WebGPU dense layers to our kernel");
    // Both register tiles, as for the convolution.
    for software in [false, true] {
        choose_gpu_tiles_as_if_software(Some(software));
        // With `relu` (the hidden layer's), split or not: our fused product and ReLU against our
        // plain product followed by burn's ReLU (the same pre-activations, so the same mask; see
        // the convolution's test).
        let cases = [(64, 1024, 512, true), (64, 512, 10, false), (64, 784, 10, false), (7, 784, 10, true), (1, 1024, 512, true), (3, 100, 17, true), (2, 5, 3, false)];
        for (batch, d_in, d_out, relu) in cases {
            let linear = LinearConfig::new(d_in, d_out).init(&device);
            let x = Tensor::<2>::random([batch, d_in], Distribution::Uniform(-1.0, 1.0), &device);
            let g = Tensor::<2>::random([batch, d_out], Distribution::Uniform(-1.0, 1.0), &device);
            let mut results = Vec::new();
            for ours in [true, false] {
                let x = x.clone().detach().require_grad();
                let y = match (ours, relu) {
                    (true, true) => dense_relu(x.clone(), &linear),
                    (true, false) => dense(x.clone(), &linear),
                    (false, true) => burn::tensor::activation::relu(dense(x.clone(), &linear)),
                    (false, false) => linear.forward(x.clone()),
                };
                let grads = (y.clone() * g.clone()).sum().backward();
                let bias = linear.bias.as_ref().expect("a bias");
                results.push([
                    read(y.inner()).await,
                    read(x.grad(&grads).expect("x's gradient")).await,
                    read(linear.weight.val().grad(&grads).expect("the weight's gradient")).await,
                    read(bias.val().grad(&grads).expect("the bias's gradient").reshape([1, d_out])).await,
                ]);
            }
            let burns = results.pop().unwrap();
            let ours = results.pop().unwrap();
            let shape = (batch, d_in, d_out, relu, software);
            for (what, (a, b)) in ["output", "input gradient", "weight gradient", "bias gradient"].iter().zip(ours.iter().zip(&burns)) {
                assert_eq!(a.len(), b.len(), "{what} {shape:?}: lengths");
                let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                for (i, (p, q)) in a.iter().zip(b).enumerate() {
                    assert!((p - q).abs() <= 1e-4 * (1.0 + scale), "{what} {shape:?}[{i}]: ours {p}, burn's {q}");
                }
            }
        }
    }
    choose_gpu_tiles_as_if_software(None);
}

/// Our WebGPU cross-entropy kernel (src/kernels/gpu_loss.rs) against burn's operations on the
/// same device: the loss and the logits' gradient (with a gradient of 3 arriving from above),
/// for logits large enough that an unshifted softmax would overflow (and rows that Keras' clip
/// cuts off). Tolerance 1e-4 relative.
#[wasm_bindgen_test]
async fn our_webgpu_cross_entropy_matches_burns_value_and_gradient() {
    use burn::tensor::Distribution;
    use mnist_studio::kernels::{has_our_gpu_kernels, mean_cross_entropy};
    use mnist_studio::train::loss::cross_entropy_with_burn;

    let device = gpu::init_device().await.expect("burn should start on WebGPU");
    assert!(has_our_gpu_kernels(&device), "this build should route the WebGPU loss to our kernel");
    for (batch, classes, spread) in [(64, 10, 4.0), (7, 10, 60.0), (1, 3, 1.0), (130, 10, 8.0)] {
        let logits = Tensor::<2>::random([batch, classes], Distribution::Uniform(-spread, spread), &device);
        let targets = Tensor::<1, Int>::arange(0..batch as i64, &device).remainder_scalar(classes as i64);
        let mut results = Vec::new();
        for ours in [true, false] {
            let z = logits.clone().detach().require_grad();
            let loss = if ours { mean_cross_entropy(z.clone(), targets.clone()) } else { cross_entropy_with_burn(z.clone(), targets.clone()) };
            let grads = loss.clone().mul_scalar(3.0).backward();
            results.push([read(loss.inner()).await, read(z.grad(&grads).expect("the logits' gradient")).await]);
        }
        let burns = results.pop().unwrap();
        let ours = results.pop().unwrap();
        for (what, (a, b)) in ["loss", "gradient"].iter().zip(ours.iter().zip(&burns)) {
            assert_eq!(a.len(), b.len(), "{what} {batch}x{classes}: lengths");
            let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (i, (p, q)) in a.iter().zip(b).enumerate() {
                assert!((p - q).abs() <= 1e-4 * (1.0 + scale), "{what} {batch}x{classes}[{i}]: ours {p}, burn's {q}");
            }
        }
    }
    // Keras' clip in our kernel: a hopeless row costs -ln 1e-7 and a certain one -ln(1 - 1e-7),
    // and neither has a gradient; the reasonable row between them keeps softmax - onehot.
    let z = Tensor::<2>::from_floats([[-40.0, 0.0, 0.0], [1.0, 0.0, 0.0], [40.0, 0.0, 0.0]], &device).require_grad();
    let loss = mean_cross_entropy(z.clone(), Tensor::from_ints([0, 0, 0], &device));
    let grad = read(z.grad(&loss.backward()).expect("the logits' gradient")).await;
    let value = read(loss.inner()).await[0];
    let e = std::f32::consts::E;
    let p = e / (e + 2.0);
    assert!((value - (16.118_095 - p.ln() + 1e-7) / 3.0).abs() < 1e-5, "{value}");
    assert_eq!((&grad[0..3], &grad[6..9]), (&[0.0; 3][..], &[0.0; 3][..]), "{grad:?}");
    assert!((grad[3] - (p - 1.0) / 3.0).abs() < 1e-6, "{grad:?}");
}

/// The trainer's tally on WebGPU, kept by the loss kernel in the same pass
/// (src/kernels/gpu_loss.rs): the mean loss times the batch and the rows read right, added to
/// the running totals, equal to the same count made on the host from the logits read back;
/// the loss and its gradient as burn's. Whole-number logits from a narrow range make ties,
/// which go to the first maximum as burn's argmax has them; 130 rows make invocations take two.
#[wasm_bindgen_test]
async fn our_webgpu_loss_keeps_the_tally_counting_the_rows_read_right_as_burns_argmax_does() {
    use burn::tensor::Distribution;
    use mnist_studio::kernels::has_our_gpu_kernels;
    use mnist_studio::train::loss::{cross_entropy_tallied, cross_entropy_with_burn};

    let device = gpu::init_device().await.expect("burn should start on WebGPU");
    assert!(has_our_gpu_kernels(&device), "this build should route the tally to our kernel");
    for (batch, classes) in [(64, 10), (130, 10), (7, 3), (1, 10)] {
        let logits = Tensor::<2>::random([batch, classes], Distribution::Uniform(0.0, 4.0), &device).floor();
        let targets = Tensor::<1, Int>::arange(0..batch as i64, &device).remainder_scalar(classes as i64);
        let z = logits.clone().autodiff().require_grad();
        let (loss, tally) = cross_entropy_tallied(z.clone(), targets.clone(), Tensor::from_floats([2.5, 3.0], &device));
        let grad = read(z.grad(&loss.clone().backward()).expect("the logits' gradient")).await;
        let w = logits.clone().autodiff().require_grad();
        let burns_loss = cross_entropy_with_burn(w.clone(), targets.clone());
        let burns_grad = read(w.grad(&burns_loss.clone().backward()).expect("the logits' gradient")).await;
        let (mean, burns_mean) = (read(loss.inner()).await[0], read(burns_loss.inner()).await[0]);
        assert!((mean - burns_mean).abs() < 1e-5, "{batch}x{classes}: loss {mean} against burn's {burns_mean}");
        for (i, (p, q)) in grad.iter().zip(&burns_grad).enumerate() {
            assert!((p - q).abs() < 1e-5, "{batch}x{classes}: gradient [{i}] {p} against burn's {q}");
        }
        let z = read(logits.clone()).await;
        let right = (0..batch)
            .filter(|&r| {
                let row = &z[r * classes..(r + 1) * classes];
                let first_max = (1..classes).fold(0, |best, c| if row[c] > row[best] { c } else { best });
                first_max == r % classes
            })
            .count();
        let burns = read(logits.argmax(1).squeeze_dim::<1>(1).equal(targets).int().sum().float()).await[0];
        assert_eq!(right as f32, burns, "{batch}x{classes}: the host's count against burn's argmax");
        let got = read(tally).await;
        assert!((got[0] - (2.5 + mean * batch as f32)).abs() < 1e-4 * batch as f32, "{batch}x{classes}: {got:?}");
        assert_eq!(got[1], 3.0 + right as f32, "{batch}x{classes}: rows read right");
    }
}

/// A batch gathered and unpacked on WebGPU by our kernel (src/kernels/gpu_batch.rs): every
/// pixel equals the CPU's normalisation of the stored byte, for rows in a shuffled order, with
/// bytes of every value (the top byte of a word included, where a signed shift would smear).
#[wasm_bindgen_test]
async fn a_batch_gathered_on_webgpu_is_the_normalised_images_in_index_order() {
    use mnist_studio::data::{PixelStats, Split, IMAGE_PIXELS};
    use mnist_studio::train::batch::DeviceSplit;

    let device = gpu::init_device().await.expect("burn should start on WebGPU");
    let images: Vec<u8> = (0..5 * IMAGE_PIXELS).map(|i| (i * 37 % 256) as u8).collect();
    let split = Split::from_parts(images, vec![4, 0, 9, 1, 7]);
    let stats = PixelStats { mean: 0.13, std: 0.31 };
    let on_device = DeviceSplit::upload(&split, &device);
    // The batch is positions 1..6 of an epoch's order, as the trainer takes it.
    let epoch_order = [1usize, 3, 0, 4, 4, 2, 0];
    let order = &epoch_order[1..6];
    let indices = Tensor::<1, Int>::from_data(TensorData::new(epoch_order.iter().map(|&i| i as i32).collect::<Vec<_>>(), [7]), &device);
    let batch = on_device.batch(&indices, 1..6, &stats);
    assert_eq!(batch.images.dims(), [5, 1, 28, 28]);
    let pixels = read(batch.images).await;
    for (k, &i) in order.iter().enumerate() {
        for p in 0..IMAGE_PIXELS {
            let expected = stats.normalise(split.image(i)[p]);
            assert!((pixels[k * IMAGE_PIXELS + p] - expected).abs() < 1e-5, "row {k} (image {i}) pixel {p}: {} against {expected}", pixels[k * IMAGE_PIXELS + p]);
        }
    }
    let labels = batch.labels.into_data_async().await.expect("labels read back").convert::<i64>().try_to_vec::<i64>().unwrap();
    assert_eq!(labels, vec![1, 4, 7, 7, 9]);
}

/// Our WebGPU 2x2 max pooling (src/kernels/gpu_pool.rs) against burn's `MaxPool2d` on the same
/// device: the output and the input gradient, after a ReLU (so many windows are all zeros and
/// the gradient must go to the first of them, as burn's does), at the network's two pooling
/// shapes and an odd one whose last row and column belong to no window.
#[wasm_bindgen_test]
async fn our_webgpu_max_pooling_matches_burns_values_and_gradient() {
    use burn::nn::pool::MaxPool2dConfig;
    use burn::tensor::Distribution;
    use mnist_studio::kernels::{has_our_gpu_kernels, max_pool};

    let device = gpu::init_device().await.expect("burn should start on WebGPU");
    assert!(has_our_gpu_kernels(&device), "this build should route WebGPU pooling to our kernels");
    let pool = MaxPool2dConfig::new([2, 2]).init();
    for shape in [[64, 32, 24, 24], [64, 64, 8, 8], [3, 2, 5, 7]] {
        let x = Tensor::<4>::random(shape, Distribution::Uniform(-1.0, 1.0), &device).clamp_min(0.0);
        let g = Tensor::<4>::random([shape[0], shape[1], shape[2] / 2, shape[3] / 2], Distribution::Uniform(-1.0, 1.0), &device);
        let mut results = Vec::new();
        for ours in [true, false] {
            let x = x.clone().detach().require_grad();
            let y = if ours { max_pool(x.clone(), &pool) } else { pool.forward(x.clone()) };
            let grads = (y.clone() * g.clone()).sum().backward();
            results.push([read(y.inner()).await, read(x.grad(&grads).expect("x's gradient")).await]);
        }
        let burns = results.pop().unwrap();
        let ours = results.pop().unwrap();
        for (what, (a, b)) in ["output", "input gradient"].iter().zip(ours.iter().zip(&burns)) {
            assert_eq!(a.len(), b.len(), "{what} {shape:?}: lengths");
            for (i, (p, q)) in a.iter().zip(b).enumerate() {
                assert!(p == q, "{what} {shape:?}[{i}]: ours {p}, burn's {q}");
            }
        }
    }
}

/// Our WebGPU SGD update (src/kernels/gpu_sgd.rs) against burn's `p - lr·g` on the same
/// device, for a convolution kernel's shape and a bias's; and two training steps with our
/// optimizer against burn's `Sgd` give the same network.
#[wasm_bindgen_test]
async fn our_webgpu_sgd_update_matches_burns() {
    use burn::optim::{GradientsParams, SgdConfig};
    use burn::tensor::Distribution;
    use mnist_studio::kernels::{has_our_gpu_kernels, sgd_update};
    use mnist_studio::train::sgd::PlainSgd;

    let device = gpu::init_device().await.expect("burn should start on WebGPU");
    assert!(has_our_gpu_kernels(&device), "this build should route the WebGPU update to our kernel");
    let p = Tensor::<4>::random([64, 32, 3, 3], Distribution::Uniform(-1.0, 1.0), &device);
    let g = Tensor::<4>::random([64, 32, 3, 3], Distribution::Uniform(-1.0, 1.0), &device);
    let ours = read(sgd_update(p.clone(), g.clone(), 0.1)).await;
    let burns = read(p - g.mul_scalar(0.1)).await;
    assert_eq!(ours.len(), burns.len());
    for (i, (a, b)) in ours.iter().zip(&burns).enumerate() {
        assert!((a - b).abs() <= 1e-6, "[{i}]: ours {a}, burn's {b}");
    }

    let device = device.autodiff();
    let images = Tensor::<4>::random([8, 1, 28, 28], Distribution::Uniform(-1.0, 1.0), &device);
    let targets = Tensor::<1, Int>::arange(0..8, &device).remainder_scalar(10);
    let mut outputs = Vec::new();
    for ours in [true, false] {
        let mut model = NetworkKind::Linear.config().init_seeded(&device, 3);
        let mut optim = if ours { PlainSgd::for_network() } else { SgdConfig::new().init() };
        for lr in [0.1, 0.01] {
            let loss = train::loss::cross_entropy(model.forward(images.clone()), targets.clone());
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
        }
        outputs.push(read(model.forward(images.clone()).inner()).await);
    }
    for (i, (a, b)) in outputs[0].iter().zip(&outputs[1]).enumerate() {
        assert!((a - b).abs() <= 1e-5, "after two steps, logit {i}: ours {a}, burn's {b}");
    }
}

/// Our WebGPU batch normalisation (src/kernels/gpu_batch_norm.rs) against burn's `BatchNorm`
/// in training on the same device: the output, the gradients of input, γ and β, and the
/// running statistics, for the network's first convolution's output, its dense layer's, and
/// odd sizes (a channel of fewer values than a workgroup has invocations, one that is not a
/// multiple of it), with a mean far from zero. Tolerance 1e-4 relative.
#[wasm_bindgen_test]
async fn our_webgpu_batch_norm_matches_burns_with_gradients_and_running_statistics() {
    use burn::nn::BatchNormConfig;
    use burn::tensor::Distribution;
    use mnist_studio::kernels::{batch_norm, has_our_gpu_kernels};

    let device = gpu::init_device().await.expect("burn should start on WebGPU");
    assert!(has_our_gpu_kernels(&device), "this build should route WebGPU batch normalisation to our kernels");
    for shape in [vec![64, 32, 26, 26], vec![64, 512], vec![3, 5, 7, 2], vec![7, 3, 37]] {
        let channels = shape[1];
        let gamma = Tensor::<1>::random([channels], Distribution::Uniform(0.5, 2.0), &device);
        let dims: [usize; 4] = match shape.len() {
            2 => [shape[0], shape[1], 1, 1],
            3 => [shape[0], shape[1], shape[2], 1],
            _ => [shape[0], shape[1], shape[2], shape[3]],
        };
        let x = Tensor::<4>::random(dims, Distribution::Uniform(2.0, 5.0), &device);
        let g = Tensor::<4>::random(dims, Distribution::Uniform(-1.0, 1.0), &device);
        let mut results = Vec::new();
        for ours in [true, false] {
            let mut bn = BatchNormConfig::new(channels).with_momentum(0.01).with_epsilon(1e-3).init(&device);
            bn.gamma = burn::module::Param::from_tensor(gamma.clone());
            let x = x.clone().detach().require_grad();
            // The dense layer's `[batch, features]` as burn's BatchNorm takes it, the rest 4-D.
            let y = if shape.len() == 2 {
                let flat = x.clone().reshape([dims[0], dims[1]]);
                let y = if ours { batch_norm(flat, &bn) } else { bn.forward(flat) };
                y.reshape(dims)
            } else if ours {
                batch_norm(x.clone(), &bn)
            } else {
                bn.forward(x.clone())
            };
            let grads = (y.clone() * g.clone()).sum().backward();
            results.push([
                read(y.inner()).await,
                read(x.grad(&grads).expect("x's gradient")).await,
                read(bn.gamma.val().grad(&grads).expect("γ's gradient").reshape([1, 1, 1, channels])).await,
                read(bn.beta.val().grad(&grads).expect("β's gradient").reshape([1, 1, 1, channels])).await,
                read(bn.running_mean.value_sync().inner().reshape([1, 1, 1, channels])).await,
                read(bn.running_var.value_sync().inner().reshape([1, 1, 1, channels])).await,
            ]);
        }
        let burns = results.pop().unwrap();
        let ours = results.pop().unwrap();
        let names = ["output", "input gradient", "γ gradient", "β gradient", "running mean", "running variance"];
        for (what, (a, b)) in names.iter().zip(ours.iter().zip(&burns)) {
            assert_eq!(a.len(), b.len(), "{what} {shape:?}: lengths");
            let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (i, (p, q)) in a.iter().zip(b).enumerate() {
                assert!((p - q).abs() <= 1e-4 * (1.0 + scale), "{what} {shape:?}[{i}]: ours {p}, burn's {q}");
            }
        }
    }
}
