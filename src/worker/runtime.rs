//! The worker's event loop: receives [`WorkerInput`], runs the long jobs as local tasks, and
//! posts [`WorkerOutput`]. Everything it awaits yields to the browser, so Pause, Stop and
//! drawings to read are handled while a network trains.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use burn::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use super::{gpu, store};
use super::protocol::{Backend, DataSource, DatasetSummary, GpuMemory, MemorySample, Sample, WorkerInput, WorkerOutput};
use crate::data::fetch::{fetch_bytes, load_mnist};
use crate::data::{Mnist, IMAGE_SIDE};
use crate::model::{Network, NetworkKind};
use crate::platform::{now_ms, yield_to_events};
use crate::train::{self, EpochReport, Flow, Observer, Resume, StepReport, TrainConfig, TrainData};
use crate::weights::{self, WeightsMeta};

/// Shipped with the app so digits can be read before anything is trained.
const DEFAULT_WEIGHTS: &str = "models/default.weights";
/// Sample digits shown per class in the page's grid.
const SAMPLES_PER_CLASS: usize = 10;

/// Start the worker: install the message handler and find the GPU.
pub fn start() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let worker = Rc::new(Worker::new(scope.clone()));
    let receiver = worker.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        match serde_wasm_bindgen::from_value::<WorkerInput>(event.data()) {
            Ok(input) => receiver.clone().receive(input),
            Err(e) => web_sys::console::error_1(&format!("worker: unreadable message: {e}").into()),
        }
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
    worker.post(&WorkerOutput::Listening);
    spawn_local(worker.boot());
}

type UploadKey = (Backend, Option<usize>, Option<usize>);

enum DeviceState {
    Pending,
    Ready(Device),
    Failed(String),
}

/// Pause/Stop requests, read by the training loop between steps.
#[derive(Default)]
struct Control {
    running: Cell<bool>,
    paused: Cell<bool>,
    stop: Cell<bool>,
}

/// The network that reads drawn digits, with what it was trained on and where it lives.
struct Reader {
    model: Network,
    meta: WeightsMeta,
    device: Device,
}

struct Worker {
    scope: DedicatedWorkerGlobalScope,
    /// burn's WebGPU device, once boot has tried to create it.
    webgpu: RefCell<DeviceState>,
    /// burn's CPU backend (autodiff), created on first use.
    cpu: RefCell<Option<Device>>,
    backend: Cell<Backend>,
    mnist: RefCell<Option<Rc<Mnist>>>,
    loading: Cell<bool>,
    /// The last upload, keyed by backend and limits: a second run on the same data re-uses it.
    uploaded: RefCell<Option<(UploadKey, Rc<TrainData>)>>,
    control: Control,
    reader: RefCell<Option<Reader>>,
    /// The user's weights: the best epoch of the latest run, or the file they loaded. Kept as
    /// bytes, off the device, so a lost GPU cannot take them along.
    saved: RefCell<Option<(WeightsMeta, Rc<Vec<u8>>)>>,
}

impl Worker {
    fn new(scope: DedicatedWorkerGlobalScope) -> Self {
        Self {
            scope,
            webgpu: RefCell::new(DeviceState::Pending),
            cpu: RefCell::new(None),
            backend: Cell::new(Backend::WebGpu),
            mnist: RefCell::new(None),
            loading: Cell::new(false),
            uploaded: RefCell::new(None),
            control: Control::default(),
            reader: RefCell::new(None),
            saved: RefCell::new(None),
        }
    }

    fn post(&self, output: &WorkerOutput) {
        match serde_wasm_bindgen::to_value(output) {
            Ok(value) => {
                if let Err(e) = self.scope.post_message(&value) {
                    web_sys::console::error_2(&"worker: postMessage failed".into(), &e);
                }
            }
            Err(e) => web_sys::console::error_1(&format!("worker: cannot encode message: {e}").into()),
        }
    }

    /// Find the GPU and choose the backend: WebGPU on a real GPU; the CPU when there is no
    /// WebGPU, or only a software adapter (SwiftShader runs these networks far slower than
    /// burn's CPU backend does on one core).
    async fn boot(self: Rc<Self>) {
        let gpu = gpu::probe().await;
        let state = match &gpu {
            Ok(_) => match gpu::init_device().await {
                Ok(device) => DeviceState::Ready(device),
                Err(e) => DeviceState::Failed(e),
            },
            Err(e) => DeviceState::Failed(e.clone()),
        };
        let (gpu, backend, why) = match (&state, gpu) {
            (DeviceState::Failed(e), _) => (
                Err(e.clone()),
                Backend::Cpu,
                Some(format!("{e} Training runs on the CPU instead.")),
            ),
            (_, Ok(info)) if info.fallback => (
                Ok(info),
                Backend::Cpu,
                Some("Only a software WebGPU adapter is available; it is slower than the CPU for these networks, so training runs on the CPU. You can switch to WebGPU.".into()),
            ),
            (_, gpu) => (gpu, Backend::WebGpu, None),
        };
        *self.webgpu.borrow_mut() = state;
        self.backend.set(backend);
        self.post(&WorkerOutput::Started { gpu, backend, why });
        if !self.restore().await {
            self.load_default_reader().await;
        }
    }

    fn receive(self: Rc<Self>, input: WorkerInput) {
        match input {
            WorkerInput::LoadData(source) => spawn_local(self.load_data(source)),
            WorkerInput::Train(config) => spawn_local(self.train(config, false)),
            WorkerInput::TrainFromSaved(config) => spawn_local(self.train(config, true)),
            WorkerInput::ExportWeights => match &*self.saved.borrow() {
                Some((meta, bytes)) => self.post(&WorkerOutput::WeightsFile { meta: meta.clone(), bytes: bytes.to_vec() }),
                None => self.post(&WorkerOutput::LoadFailed("there are no trained weights to download yet".into())),
            },
            WorkerInput::LoseDevice => {
                if !gpu::lose_device() {
                    web_sys::console::warn_1(&"worker: no WebGPU device to lose".into());
                }
            }
            WorkerInput::Pause => {
                if self.control.running.get() && !self.control.paused.replace(true) {
                    self.post(&WorkerOutput::Paused);
                }
            }
            WorkerInput::Resume => {
                if self.control.paused.replace(false) {
                    self.post(&WorkerOutput::Resumed);
                }
            }
            WorkerInput::Stop => {
                if self.control.running.get() {
                    self.control.stop.set(true);
                    self.control.paused.set(false);
                }
            }
            WorkerInput::Predict { id, pixels } => spawn_local(self.predict(id, pixels)),
            WorkerInput::LoadWeights { bytes } => spawn_local(async move {
                match self.use_weights(&bytes).await {
                    Ok(meta) => self.keep(meta, Rc::new(bytes)).await,
                    Err(e) => self.post(&WorkerOutput::LoadFailed(format!("That file was not loaded: {e}. The network in use is unchanged."))),
                }
            }),
            WorkerInput::Benchmark { networks, batch_size, warmup_steps, timed_steps } => {
                spawn_local(self.benchmark(networks, batch_size, warmup_steps, timed_steps))
            }
            WorkerInput::SetBackend(backend) => {
                let usable = backend == Backend::Cpu || matches!(*self.webgpu.borrow(), DeviceState::Ready(_));
                if usable && !self.control.running.get() {
                    self.backend.set(backend);
                }
                self.post(&WorkerOutput::BackendChanged(self.backend.get()));
            }
        }
    }

    /// The current backend's device (with autodiff), once boot has settled.
    async fn device(&self) -> Result<Device, String> {
        match self.backend.get() {
            Backend::Cpu => Ok(self.cpu.borrow_mut().get_or_insert_with(|| Device::flex().autodiff()).clone()),
            Backend::WebGpu => loop {
                match &*self.webgpu.borrow() {
                    DeviceState::Ready(device) => return Ok(device.clone()),
                    DeviceState::Failed(e) => return Err(e.clone()),
                    DeviceState::Pending => {}
                }
                sleep_ms(20).await;
            },
        }
    }

    async fn load_data(self: Rc<Self>, source: DataSource) {
        if self.loading.replace(true) {
            return;
        }
        let started = now_ms();
        let received = Cell::new(0u64);
        let last_post = Cell::new(0.0);
        let result = load_mnist(&source, |p| {
            received.set(p.received);
            // A progress message per network chunk would flood the page; ten a second is smooth.
            let now = now_ms();
            if now - last_post.get() > 100.0 || p.total == Some(p.received) {
                last_post.set(now);
                self.post(&WorkerOutput::DataProgress { received: p.received, total: p.total });
            }
        })
        .await;
        self.loading.set(false);
        match result {
            Ok(mnist) => {
                let summary = summarise(&mnist, received.get(), source.compressed, now_ms() - started);
                *self.uploaded.borrow_mut() = None;
                *self.mnist.borrow_mut() = Some(Rc::new(mnist));
                self.post(&WorkerOutput::DataReady(summary));
            }
            Err(e) => self.post(&WorkerOutput::DataFailed(e)),
        }
    }

    async fn train(self: Rc<Self>, config: TrainConfig, from_saved: bool) {
        if self.control.running.replace(true) {
            self.post(&WorkerOutput::TrainFailed("a run is already in progress".into()));
            return;
        }
        self.control.stop.set(false);
        self.control.paused.set(false);
        let result = self.clone().run(config, from_saved).await;
        self.control.running.set(false);
        self.control.paused.set(false);
        if let Err(e) = result {
            self.post(&WorkerOutput::TrainFailed(e));
        }
    }

    async fn run(self: Rc<Self>, config: TrainConfig, from_saved: bool) -> Result<(), String> {
        config.validate()?;
        let device = self.device().await?;
        let mnist = self.mnist.borrow().clone().ok_or("the dataset is not loaded yet")?;
        let resume = if from_saved { Some(self.resume_point(&config, &device)?) } else { None };
        let data = self.upload(&mnist, &config, &device);
        self.post(&WorkerOutput::TrainStarted {
            config: config.clone(),
            steps_per_epoch: data.train.len().div_ceil(config.batch_size),
            train_images: data.train.len(),
            test_images: data.test.len(),
        });
        let mut observer = WorkerObserver {
            worker: self.clone(),
            config: config.clone(),
            stats: mnist.stats,
            device: device.clone().inner(),
        };
        let outcome = match train::train(&config, &data, &device, &mut observer, resume).await {
            Ok(outcome) => outcome,
            Err(train::TrainError::Device(e)) if self.backend.get() == Backend::WebGpu => return Err(self.gpu_lost(&e)),
            Err(e) => return Err(e.to_string()),
        };
        let best = outcome.best.map(|best| {
            let meta = WeightsMeta {
                network: config.network,
                stats: mnist.stats,
                epoch: best.epoch,
                test_accuracy: best.test_accuracy,
            };
            self.set_reader(best.model, meta.clone(), device.clone().inner());
            meta
        });
        self.post(&WorkerOutput::TrainEnded { end: outcome.end, best });
        Ok(())
    }

    /// The saved weights as a starting point for `config`.
    fn resume_point(&self, config: &TrainConfig, device: &Device) -> Result<Resume, String> {
        let saved = self.saved.borrow();
        let (_, bytes) = saved.as_ref().ok_or("there are no saved weights to resume from")?;
        let (model, meta) = weights::decode(bytes, Some(config.network), &device.clone().inner()).map_err(|e| e.to_string())?;
        Ok(Resume { model, epoch: meta.epoch, test_accuracy: meta.test_accuracy })
    }

    /// The GPU failed mid-run: stop using it, keep the saved weights, and say what to do.
    fn gpu_lost(&self, error: &str) -> String {
        *self.webgpu.borrow_mut() = DeviceState::Failed(format!("the GPU was lost during training ({error})"));
        *self.uploaded.borrow_mut() = None;
        self.backend.set(Backend::Cpu);
        self.post(&WorkerOutput::BackendChanged(Backend::Cpu));
        let kept = match &*self.saved.borrow() {
            Some((meta, _)) => format!(
                " The best weights so far (epoch {}, test accuracy {:.2}%) are kept: resume from them on the CPU, or reload the page to try the GPU again.",
                meta.epoch + 1,
                meta.test_accuracy * 100.0
            ),
            None => " No epoch had finished, so there are no weights to keep.".into(),
        };
        format!("The GPU stopped working ({error}).{kept}")
    }

    /// Make `meta`/`bytes` the user's saved weights: in memory and in IndexedDB.
    async fn keep(&self, meta: WeightsMeta, bytes: Rc<Vec<u8>>) {
        *self.saved.borrow_mut() = Some((meta.clone(), bytes.clone()));
        match store::put(store::BEST, &bytes).await {
            Ok(()) => self.post(&WorkerOutput::Saved(meta)),
            Err(e) => self.post(&WorkerOutput::SaveFailed(format!("the weights are kept for this visit but could not be saved: {e}"))),
        }
    }

    /// Weights saved on an earlier visit, if any and if they pass every check.
    async fn restore(&self) -> bool {
        let bytes = match store::get(store::BEST).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return false,
            Err(e) => {
                web_sys::console::warn_1(&format!("worker: saved weights unreadable: {e}").into());
                return false;
            }
        };
        match self.use_weights(&bytes).await {
            Ok(meta) => {
                *self.saved.borrow_mut() = Some((meta.clone(), Rc::new(bytes)));
                self.post(&WorkerOutput::Restored(meta));
                true
            }
            Err(e) => {
                web_sys::console::warn_1(&format!("worker: saved weights refused: {e}").into());
                false
            }
        }
    }

    /// Measure each network in turn; refuses to run beside a training run (the figures would
    /// be meaningless and the GPU shared).
    async fn benchmark(self: Rc<Self>, networks: Vec<NetworkKind>, batch: usize, warmup: usize, timed: usize) {
        if self.control.running.replace(true) {
            return self.post(&WorkerOutput::BenchEnded(Some("a run is in progress".into())));
        }
        let result = async {
            let device = self.device().await?;
            let mnist = self.mnist.borrow().clone().ok_or("the dataset is not loaded yet")?;
            let config = TrainConfig::new(NetworkKind::Linear, train::Schedule::constant(1, 0.01), false)
                .with_train_limit(Some(batch * 8))
                .with_test_limit(Some(batch));
            let data = self.upload(&mnist, &config, &device);
            for network in networks {
                let result = train::bench::measure(network, &data.train, &data.stats, &device, batch, warmup, timed)
                    .await
                    .map_err(|e| e.to_string())?;
                self.post(&WorkerOutput::BenchResult { backend: self.backend.get(), result });
            }
            Ok::<(), String>(())
        }
        .await;
        self.control.running.set(false);
        self.post(&WorkerOutput::BenchEnded(result.err()));
    }

    fn upload(&self, mnist: &Mnist, config: &TrainConfig, device: &Device) -> Rc<TrainData> {
        let key = (self.backend.get(), config.train_limit, config.test_limit);
        if let Some((k, data)) = &*self.uploaded.borrow() {
            if *k == key {
                return data.clone();
            }
        }
        // Drop the previous upload before making the next: GPU memory is finite.
        *self.uploaded.borrow_mut() = None;
        let data = Rc::new(TrainData::upload(mnist, key.1, key.2, &device.clone().inner()));
        *self.uploaded.borrow_mut() = Some((key, data.clone()));
        data
    }

    fn set_reader(&self, model: Network, meta: WeightsMeta, device: Device) {
        *self.reader.borrow_mut() = Some(Reader { model, meta: meta.clone(), device });
        self.post(&WorkerOutput::Reader(meta));
    }

    async fn predict(self: Rc<Self>, id: u32, pixels: Vec<f32>) {
        let prepared = {
            let reader = self.reader.borrow();
            reader.as_ref().map(|r| {
                let stats = r.meta.stats;
                let input: Vec<f32> = pixels.iter().map(|p| (p - stats.mean) / stats.std).collect();
                let x = Tensor::<4>::from_data(TensorData::new(input, [1, 1, IMAGE_SIDE, IMAGE_SIDE]), &r.device);
                r.model.probabilities(x)
            })
        };
        let Some(probabilities) = prepared else { return };
        match train::runner::read_floats(probabilities).await {
            Ok(probabilities) => self.post(&WorkerOutput::Prediction { id, probabilities }),
            Err(e) => self.post(&WorkerOutput::ReaderFailed(e.to_string())),
        }
    }

    /// Check a weights file and read digits with it; the current reader is untouched on error.
    async fn use_weights(&self, bytes: &[u8]) -> Result<WeightsMeta, String> {
        let device = self.device().await?.inner();
        let (model, meta) = weights::decode(bytes, None, &device).map_err(|e| e.to_string())?;
        self.set_reader(model, meta.clone(), device);
        Ok(meta)
    }

    async fn load_default_reader(&self) {
        let url = self.relative_url(DEFAULT_WEIGHTS);
        let loaded = match fetch_bytes(&url, DEFAULT_WEIGHTS, |_, _| {}).await {
            Ok(bytes) => self.use_weights(&bytes).await,
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = loaded {
            self.post(&WorkerOutput::ReaderFailed(format!("the default network did not load ({e})")));
        }
    }

    /// `path` relative to the worker script (which sits next to index.html).
    fn relative_url(&self, path: &str) -> String {
        let base = self.scope.location().href();
        web_sys::Url::new_with_base(path, &base).map(|u| u.href()).unwrap_or_else(|_| path.to_owned())
    }
}

/// Streams a run to the page and obeys Pause/Stop.
struct WorkerObserver {
    worker: Rc<Worker>,
    config: TrainConfig,
    stats: crate::data::PixelStats,
    /// Where the run's inference-mode networks live.
    device: Device,
}

impl Observer for WorkerObserver {
    fn on_step(&mut self, report: &StepReport) {
        self.worker.post(&WorkerOutput::Step(report.clone()));
    }

    fn on_epoch(&mut self, report: &EpochReport, model: &Network) {
        self.worker.post(&WorkerOutput::Epoch(report.clone()));
        self.worker.post(&WorkerOutput::Memory(memory_sample(report.epoch, &self.device)));
        if report.best_epoch == report.epoch {
            // A new best: take it off the device and save it, while training goes on.
            let (worker, model, network, stats) = (self.worker.clone(), model.clone(), self.config.network, self.stats);
            let (epoch, accuracy) = (report.epoch, report.test_accuracy);
            spawn_local(async move {
                match weights::encode(&model, network, &stats, epoch, accuracy).await {
                    Ok(bytes) => {
                        let meta = WeightsMeta { network, stats, epoch, test_accuracy: accuracy };
                        worker.keep(meta, Rc::new(bytes)).await;
                    }
                    Err(e) => worker.post(&WorkerOutput::SaveFailed(e.to_string())),
                }
            });
        }
        // Let the person drawing see the network improve, epoch by epoch.
        let meta = WeightsMeta {
            network: self.config.network,
            stats: self.stats,
            epoch: report.epoch,
            test_accuracy: report.test_accuracy,
        };
        self.worker.set_reader(model.clone(), meta, self.device.clone());
    }

    async fn between_steps(&mut self) -> Flow {
        yield_to_events().await;
        let control = &self.worker.control;
        while control.paused.get() && !control.stop.get() {
            sleep_ms(50).await;
        }
        if control.stop.get() { Flow::Stop } else { Flow::Continue }
    }
}

fn summarise(mnist: &Mnist, downloaded_bytes: u64, compressed: bool, load_ms: f64) -> DatasetSummary {
    let mut samples = Vec::with_capacity(10 * SAMPLES_PER_CLASS);
    for digit in 0..10u8 {
        let indices = mnist.train.labels().iter().enumerate().filter(|(_, l)| **l == digit).map(|(i, _)| i);
        for i in indices.take(SAMPLES_PER_CLASS) {
            samples.push(Sample { label: digit, pixels: mnist.train.image(i).to_vec() });
        }
    }
    DatasetSummary {
        train_images: mnist.train.len(),
        test_images: mnist.test.len(),
        stats: mnist.stats,
        train_label_counts: mnist.train.label_counts(),
        samples,
        downloaded_bytes,
        compressed,
        load_ms,
    }
}

fn memory_sample(epoch: usize, device: &Device) -> MemorySample {
    let wasm_bytes = wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .map(|m| m.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length() as u64)
        .unwrap_or(0);
    // `None` on the CPU backend, which keeps its tensors in the wasm heap measured above.
    let gpu = device.memory_pool_usage().map(|u| GpuMemory {
        in_use: u.bytes_in_use,
        reserved: u.bytes_reserved,
        allocations: u.number_allocs,
    });
    MemorySample { epoch, wasm_bytes, gpu }
}

async fn sleep_ms(ms: i32) {
    gloo::timers::future::TimeoutFuture::new(ms as u32).await;
}
