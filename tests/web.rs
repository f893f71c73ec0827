//! Browser tests: one wasm-bindgen-test binary, run in headless Chromium with WebGPU
//! (SwiftShader on machines without a GPU) by `cargo test --target wasm32-unknown-unknown`.
//! wasm-bindgen-test-runner serves the repository root, so `www/data/` is reachable over HTTP
//! exactly as the app fetches it.
#![cfg(target_arch = "wasm32")]

use burn::prelude::*;
use mnist_studio::data::fetch::{fetch_bytes, load_mnist};
use mnist_studio::data::{DataError, DataSource};
use mnist_studio::model::NetworkKind;
use mnist_studio::train::{self, EpochReport, Flow, Observer, Schedule, StepReport, TrainConfig, TrainData};
use mnist_studio::worker::gpu;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn served() -> DataSource {
    DataSource { base_url: "/www/data/".into(), compressed: true }
}

#[wasm_bindgen_test]
async fn webgpu_gives_a_device_that_computes_and_reads_back_asynchronously() {
    let info = gpu::probe().await.expect("headless Chromium should offer a WebGPU adapter");
    web_sys::console::log_1(&format!("adapter: {}", info.label()).into());
    let device = gpu::init_device().await.expect("burn should start on WebGPU").inner();
    let x = Tensor::<1>::from_floats([1.0, 2.0, 3.0], &device);
    let sum = (x.clone() * x).sum().into_scalar_async::<f32>().await.unwrap();
    assert_eq!(sum, 14.0);
}

#[wasm_bindgen_test]
async fn the_served_mnist_is_fetched_and_parsed_with_the_published_counts() {
    let mnist = load_mnist(&served(), |_| {}).await.expect("MNIST should be served from www/data");
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
    let mnist = load_mnist(&served(), |_| {}).await.unwrap();
    let device = gpu::init_device().await.unwrap();
    let data = TrainData::upload(&mnist, config.train_limit, config.test_limit, &device.clone().inner());
    train::train(&config, &data, &device, recorder, None).await.unwrap()
}

#[wasm_bindgen_test]
async fn the_linear_network_learns_a_subset_on_webgpu() {
    let config = TrainConfig::new(NetworkKind::Linear, Schedule::constant(2, 0.1), false)
        .with_train_limit(Some(2_048))
        .with_test_limit(Some(500))
        .with_report_every(8);
    let mut recorder = Recorder::default();
    let outcome = run(config, &mut recorder).await;
    assert_eq!(outcome.end, train::RunEnd::Completed);
    let last = recorder.epochs.last().unwrap();
    assert!(last.test_accuracy > 0.85, "{last:?}");
    assert!(recorder.steps.last().unwrap().loss < recorder.steps[0].loss);
}

#[wasm_bindgen_test]
async fn a_few_vgg_steps_lower_the_loss_on_webgpu() {
    let config = TrainConfig::new(NetworkKind::Vgg, Schedule::constant(1, 0.05), false)
        .with_batch_size(16)
        .with_train_limit(Some(16 * 8))
        .with_test_limit(Some(16))
        .with_report_every(4);
    let mut recorder = Recorder::default();
    run(config, &mut recorder).await;
    assert_eq!(recorder.steps.len(), 2);
    assert!(recorder.steps[1].loss < recorder.steps[0].loss, "{:?}", recorder.steps);
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
