//! The worker's event loop: receives [`WorkerInput`], runs the long jobs as local tasks, and
//! posts [`WorkerOutput`]. Everything it awaits yields to the browser, so Pause and Stop are
//! handled while a network trains.
//!
//! The trainer owns the dataset, the device, the runs and the user's saved weights, and says
//! which network should read digits ([`WorkerOutput::ReaderWeights`]); the reader, a worker
//! and a build of its own without burn (`crate::reader`), reads them, so that a reading never
//! queues behind a training step.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use burn::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::DedicatedWorkerGlobalScope;

use super::keeping::{self, Owner};
use super::store::Kept;
use super::{adapter, channel, gpu, locks, store, threads};
use super::protocol::{Backend, DataSource, DatasetSummary, ExportFormat, GpuMemory, MemorySample, Sample, WorkerInput, WorkerOutput};
use crate::data::fetch::load_mnist;
use crate::data::Encoding;
use crate::data::Mnist;
use crate::model::{Network, NetworkKind};
use crate::platform::{now_ms, yield_to_events};
use crate::train::{self, EpochReport, Flow, Observer, Resume, Selection, StepReport, TrainConfig, TrainData};
use crate::weights::{self, WeightsMeta};

mod kept_runs;
use kept_runs::Detected;

/// Sample digits shown per class in the page's grid.
const SAMPLES_PER_CLASS: usize = 10;
/// Why the CPU trains when the only adapter is a software one (SwiftShader, say).
const SOFTWARE_ADAPTER: &str = "Only a software WebGPU adapter is available; it is slower than the CPU for these networks, so training runs on the CPU. You can switch to WebGPU.";

/// What the page asked of this worker in its URL.
struct Launch {
    /// The backend the page asks for (`?backend=`): WebGPU even on a software adapter, or the
    /// CPU even on a real GPU (the user chose it, and the threaded build that would have
    /// trained there did not start). `None`: this worker decides.
    wants: Option<Backend>,
    /// CPU threads wanted (the threaded build only); default: every core.
    threads: usize,
}

impl Launch {
    fn from_url(scope: &DedicatedWorkerGlobalScope) -> Self {
        let search = scope.location().search();
        let params = web_sys::UrlSearchParams::new_with_str(&search).ok();
        let get = |key: &str| params.as_ref().and_then(|p| p.get(key));
        let cores = scope.navigator().hardware_concurrency() as usize;
        Self {
            wants: get("backend").as_deref().and_then(Backend::from_id),
            threads: get("threads").and_then(|t| t.parse().ok()).unwrap_or(cores).max(1),
        }
    }
}

/// Start the worker: install the message handler, start the CPU threads (threaded build),
/// say it listens, then (trainer) find the GPU and the network to read with.
pub fn start() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let launch = Launch::from_url(&scope);
    let worker = Rc::new(Worker::new(scope.clone(), launch.wants));
    let receiver = worker.clone();
    channel::listen(&scope, "worker", move |input| receiver.clone().receive(input));
    spawn_local(async move {
        // Before anything can touch burn: see `threads`.
        let (threads, note) = threads::start(launch.threads).await;
        worker.threads.set(threads);
        worker.post(&WorkerOutput::Listening);
        worker.boot(note).await;
    });
}

type UploadKey = (Backend, Option<usize>, Option<usize>, Selection);

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
    /// The trainer's count of networks handed to the reader: an encoding that finishes after a
    /// newer one started is dropped, so the reader never goes back to an older network.
    published: Cell<u64>,
    /// How many times the user chose the network to read with (a file loaded, a kept run's
    /// "Read with these weights"): a run that ends while the user chooses one (its detector
    /// is fitted for seconds) does not take the reader and the saved entry back.
    chosen: Cell<u64>,
    /// The backend the page asked for ([`Launch::wants`]).
    wants: Option<Backend>,
    /// Threads of the CPU backend (1 unless this is the threaded build).
    threads: Cell<usize>,
    /// The user's weights: the best epoch of the latest run, or the file they loaded. Kept as
    /// bytes, off the device, so a lost GPU cannot take them along.
    saved: RefCell<Option<(WeightsMeta, Rc<Vec<u8>>)>>,
    /// The id of the run training now (`keeping`): its best epochs are kept under it.
    run_id: RefCell<Option<String>>,
    /// When that run started (ms since the epoch): who overlapped whom (`keeping`).
    run_started: Cell<f64>,
    /// The run being recorded, and the runs kept ([`crate::runs`]; `kept_runs`).
    runs: super::run_log::RunLog,
    /// The run training now's wrap-up guard, from its start: each task keeping its networks
    /// holds a clone, and the page hears `RunKept` when the last lets go.
    wrap_up: RefCell<Option<Rc<kept_runs::WrapUp>>>,
    /// The page handed this worker the saved weights it reads with ([`WorkerInput::Adopt`]):
    /// what the browser's storage holds is not restored over them.
    adopted: Cell<bool>,
}

impl Worker {
    fn new(scope: DedicatedWorkerGlobalScope, wants: Option<Backend>) -> Self {
        Self {
            scope,
            webgpu: RefCell::new(DeviceState::Pending),
            cpu: RefCell::new(None),
            backend: Cell::new(Backend::WebGpu),
            mnist: RefCell::new(None),
            loading: Cell::new(false),
            uploaded: RefCell::new(None),
            control: Control::default(),
            published: Cell::new(0),
            chosen: Cell::new(0),
            wants,
            threads: Cell::new(1),
            saved: RefCell::new(None),
            run_id: RefCell::new(None),
            run_started: Cell::new(0.0),
            runs: Default::default(),
            wrap_up: RefCell::new(None),
            adopted: Cell::new(false),
        }
    }

    fn post(&self, output: &WorkerOutput) {
        channel::post(&self.scope, "worker", output);
    }

    /// The current run as the owner of a network written now, chosen by `accuracy` on the
    /// images `measured_on` names (`keeping`).
    fn run_owner(&self, accuracy: f32, measured_on: &str) -> Owner {
        Owner {
            run: self.run_id.borrow().clone(),
            accuracy,
            measured_on: measured_on.to_owned(),
            started_ms: Some(self.run_started.get()),
            written_ms: Some(js_sys::Date::now()),
        }
    }

    /// Find the GPU and choose the backend: WebGPU on a real GPU; the CPU when there is no
    /// WebGPU, or only a software adapter (SwiftShader runs these networks far slower than
    /// burn's CPU backend does on one core), unless the page asked for WebGPU. The threaded
    /// build has no WebGPU and trains on the CPU, as the page meant it to.
    async fn boot(self: Rc<Self>, threads_note: Option<String>) {
        let gpu = adapter::probe().await;
        // The threaded build cannot create a WebGPU device (`gpu_none`): it trains on the CPU
        // and says what it found, as the single-threaded build does.
        let state = match &gpu {
            Ok(_) if !threads::THREADED => match gpu::init_device().await {
                Ok(device) => DeviceState::Ready(device),
                Err(e) => DeviceState::Failed(e),
            },
            Ok(_) => DeviceState::Failed("this worker has no WebGPU".into()),
            Err(e) => DeviceState::Failed(e.clone()),
        };
        let (gpu, backend, why) = match (&state, gpu) {
            // A real GPU: the user chose the CPU; a software one: as below.
            (_, Ok(info)) if threads::THREADED => {
                let why = info.fallback.then(|| SOFTWARE_ADAPTER.to_owned());
                (Ok(info), Backend::Cpu, why)
            }
            (DeviceState::Failed(e), _) => (
                Err(e.clone()),
                Backend::Cpu,
                Some(format!("{e} Training runs on the CPU instead.")),
            ),
            // The CPU where the page asked for it (the device stays ready for a later switch to
            // WebGPU), or, where it asked for nothing, on a software adapter.
            (_, Ok(info)) if self.wants.map_or(info.fallback, |b| b == Backend::Cpu) => {
                let why = info.fallback.then(|| SOFTWARE_ADAPTER.to_owned());
                (Ok(info), Backend::Cpu, why)
            }
            (_, gpu) => (gpu, Backend::WebGpu, None),
        };
        *self.webgpu.borrow_mut() = state;
        self.backend.set(backend);
        self.post(&WorkerOutput::Started { gpu, backend, why, threads: self.threads.get(), threads_note });
        // The reader loads the default network itself; a saved one replaces it.
        self.restore().await;
        self.post_runs(self.runs.list().await, "Runs cannot be kept in this browser");
    }

    fn receive(self: Rc<Self>, input: WorkerInput) {
        match input {
            WorkerInput::LoadData(source) => spawn_local(self.load_data(source)),
            WorkerInput::Train(config) => spawn_local(self.train(config, false)),
            WorkerInput::TrainFromSaved(config) => spawn_local(self.train(config, true)),
            WorkerInput::ExportWeights(format) => match &*self.saved.borrow() {
                Some((meta, bytes)) => match format {
                    ExportFormat::Studio => self.post(&WorkerOutput::WeightsFile { meta: meta.clone(), format, bytes: bytes.to_vec() }),
                    ExportFormat::Safetensors => match crate::export::safetensors(bytes) {
                        Ok(bytes) => self.post(&WorkerOutput::WeightsFile { meta: meta.clone(), format, bytes }),
                        Err(e) => self.post(&WorkerOutput::LoadFailed(format!("the weights could not be exported: {e}"))),
                    },
                },
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
            // The reader's (`crate::reader`); the page never sends them here.
            WorkerInput::Predict { .. } | WorkerInput::ShowInside(_) | WorkerInput::UseReader { .. } => {
                web_sys::console::warn_1(&"worker: a reader's message reached the trainer".into())
            }
            WorkerInput::Adopt { bytes } => {
                // Said at once, before the start's restore has read the browser's copy.
                self.adopted.set(true);
                spawn_local(async move {
                    // A file the user loaded, or a kept run chosen, while this worker started
                    // (sent before it listened, so handled first) is newer than the page's.
                    if self.chosen.get() > 0 {
                        return;
                    }
                    if let Err(e) = self.use_as_saved(bytes).await {
                        self.post(&WorkerOutput::RestoreFailed(format!("The network in use was lost when the training worker was replaced: {e}.")));
                    }
                });
            }
            WorkerInput::LoadWeights { bytes } => spawn_local(async move {
                if let Err(e) = self.load(bytes).await {
                    self.post(&WorkerOutput::LoadFailed(format!("That file was not loaded: {e}. The network in use is unchanged.")));
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
            WorkerInput::DeleteRun(id) => spawn_local(self.delete_run(id)),
            WorkerInput::UseRun(id) => spawn_local(self.use_run(id)),
        }
    }

    /// Check a weights file (the user's, or a kept run's) and make it the reader and the
    /// saved weights, as a file the user chose: it replaces whatever is kept.
    async fn load(&self, bytes: Vec<u8>) -> Result<(), String> {
        let meta = self.use_weights(&bytes).await?;
        self.chosen.set(self.chosen.get() + 1);
        self.keep(meta, Rc::new(bytes), Owner::file()).await;
        Ok(())
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
        // The CPU pool's threads decode the image files' parts (`data::lanes`); it has started
        // before any message is handled (`start`).
        let result = load_mnist(&source, self.threads.get(), |p| {
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
                let summary = summarise(&mnist, received.get(), source.encoding, now_ms() - started);
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
            // The page waits for this after any failure; this request has nothing to keep.
            self.post(&WorkerOutput::RunKept);
            return;
        }
        self.control.stop.set(false);
        self.control.paused.set(false);
        let result = self.clone().run(config, from_saved).await;
        // A run that ended handed its guard to its wrap-up; one that failed holds it until its
        // record is kept, so that the page, which waits for `RunKept` after a failure too, does
        // not replace this worker (say, with the threaded build after a GPU lost) before then.
        // One that failed before it started has no guard: it is told kept at once.
        let guard = self.wrap_up.borrow_mut().take();
        self.control.running.set(false);
        self.control.paused.set(false);
        if let Err(e) = result {
            let guard = guard.unwrap_or_else(|| kept_runs::WrapUp::new(&self));
            self.post(&WorkerOutput::TrainFailed(e.clone()));
            self.keep_failed_run(e).await;
            drop(guard);
        }
    }

    async fn run(self: Rc<Self>, config: TrainConfig, from_saved: bool) -> Result<(), String> {
        config.validate()?;
        let device = self.device().await?;
        if self.backend.get() == Backend::WebGpu {
            super::gpu::batch_fits(config.network, config.batch_size)?;
        }
        let mnist = self.mnist.borrow().clone().ok_or("the dataset is not loaded yet")?;
        let resume = if from_saved { Some(self.resume_point(&config, &device)?) } else { None };
        let data = self.upload(&mnist, &config, &device);
        // This run's id, and a Web Lock under it for as long as it trains: another tab can
        // then tell that the network it kept is a live run's (`keeping`).
        let run_id = format!("{:013x}", (js_sys::Math::random() * 2f64.powi(52)) as u64);
        let _lock = locks::hold(&keeping::lock_name(&run_id));
        *self.run_id.borrow_mut() = Some(run_id.clone());
        self.run_started.set(js_sys::Date::now());
        self.record_run(run_id, &config, &data);
        self.post(&WorkerOutput::TrainStarted {
            config: config.clone(),
            steps_per_epoch: data.train.len().div_ceil(config.batch_size),
            train_images: data.train.len(),
            held_out_images: data.held_out.len(),
            test_images: data.test_len(),
        });
        let mut observer = WorkerObserver {
            worker: self.clone(),
            config: config.clone(),
            stats: mnist.stats,
            device: device.clone().inner(),
            measured_on: format!("{} {} images", crate::format::thousands(data.held_out.len()), config.selection.name()),
            paused_ms: 0.0,
        };
        *self.wrap_up.borrow_mut() = Some(kept_runs::WrapUp::new(&self));
        let outcome = match train::train(&config, &data, &device, &mut observer, resume).await {
            Ok(outcome) => outcome,
            Err(train::TrainError::Device(e)) if self.backend.get() == Backend::WebGpu => return Err(self.gpu_lost(&e)),
            Err(e) => return Err(e.to_string()),
        };
        let best = outcome.best.map(|best| {
            let meta = WeightsMeta::chosen(
                config.network, mnist.stats, best.epoch, config.selection, best.held_out_accuracy, Some(best.test_accuracy), best.temperature,
            );
            (best.model, meta)
        });
        let wrap_up = self.wrap_up.borrow_mut().take();
        // What the user chooses to read with from now on, while this run is wrapped up, stays.
        let chosen = self.chosen.get();
        self.post(&WorkerOutput::TrainEnded { end: outcome.end.clone(), best: best.as_ref().map(|(_, meta)| meta.clone()) });
        let detected = match &best {
            Some((model, meta)) => self.with_detector(model, meta, &mnist, &data, &config).await.map(|bytes| Detected {
                bytes,
                owner: self.run_owner(meta.validation_accuracy.unwrap_or(0.0), &observer.measured_on),
            }),
            None => None,
        };
        let overruled = self.chosen.get() != chosen;
        self.publish_and_keep_run(outcome.end, best, detected, wrap_up, overruled);
        Ok(())
    }

    /// The network a run chose as a weights file with its "not a digit" detector
    /// (`train::novelty`), fitted on the CPU from a copy of that file: on up to 10,000 of the
    /// run's training images, the thresholds on its held-out ones. `None` for the linear
    /// network, a run the test set chose (no held-out images) or one on too few images; also
    /// when fitting fails, which is logged: the network is then handed over without one.
    async fn with_detector(&self, model: &Network, meta: &WeightsMeta, mnist: &Mnist, data: &TrainData, config: &TrainConfig) -> Option<Vec<u8>> {
        use crate::train::novelty::{fit_network, FIT_IMAGES, MIN_HELD_OUT, MIN_TRAIN};
        let enough = data.train.len() >= MIN_TRAIN && data.held_out.len() >= MIN_HELD_OUT;
        if matches!(model, Network::Linear(_)) || config.selection != Selection::Validation || !enough {
            return None;
        }
        let fitted = async {
            let bytes = weights::encode(model, meta).await.map_err(|e| e.to_string())?;
            let (copy, _) = weights::decode(&bytes, None, &Device::flex()).map_err(|e| e.to_string())?;
            let train = mnist.train.rows(0, data.train.len().min(FIT_IMAGES));
            match fit_network(&copy, &train, data.held_out_images(), meta.stats).await? {
                Some(novelty) => weights::with_novelty(&bytes, &novelty).map(Some).map_err(|e| e.to_string()),
                None => Ok(None),
            }
        };
        match fitted.await {
            Ok(bytes) => bytes,
            Err(e) => {
                web_sys::console::warn_1(&format!("worker: the \"not a digit\" detector was not fitted: {e}").into());
                None
            }
        }
    }

    /// The saved weights as a starting point for `config`.
    fn resume_point(&self, config: &TrainConfig, device: &Device) -> Result<Resume, String> {
        let saved = self.saved.borrow();
        let (_, bytes) = saved.as_ref().ok_or("there are no saved weights to resume from")?;
        let (model, meta) = weights::decode(bytes, Some(config.network), &device.clone().inner()).map_err(|e| e.to_string())?;
        Ok(Resume { model, epoch: meta.epoch })
    }

    /// The GPU failed mid-run: stop using it, keep the saved weights, and say what to do.
    fn gpu_lost(&self, error: &str) -> String {
        *self.webgpu.borrow_mut() = DeviceState::Failed(format!("the GPU was lost during training ({error})"));
        *self.uploaded.borrow_mut() = None;
        self.backend.set(Backend::Cpu);
        self.post(&WorkerOutput::GpuLost(format!("the GPU was lost during training ({error}). Reload the page to try it again.")));
        self.post(&WorkerOutput::BackendChanged(Backend::Cpu));
        let kept = match &*self.saved.borrow() {
            Some((meta, _)) => format!(
                " The best weights so far (epoch {}, {}) are kept: resume from them on the CPU, or reload the page to try the GPU again.",
                meta.epoch + 1,
                meta.accuracies()
            ),
            None => " No epoch had finished, so there are no weights to keep.".into(),
        };
        format!("The GPU stopped working ({error}).{kept}")
    }

    /// Make `meta`/`bytes` the user's saved weights: in memory and in IndexedDB.
    /// `ours`: the run these weights come from and the accuracy that chose them (no run for
    /// a file the user loaded), which decide whether they may replace what another tab kept
    /// (`keeping`).
    async fn keep(&self, meta: WeightsMeta, bytes: Rc<Vec<u8>>, ours: Owner) {
        *self.saved.borrow_mut() = Some((meta.clone(), bytes.clone()));
        let running = locks::held().await;
        match store::put_best(&bytes, &ours, running).await {
            Ok(Kept::Written) => self.post(&WorkerOutput::Saved { meta, bytes: bytes.to_vec() }),
            Ok(Kept::Theirs(theirs)) => self.post(&WorkerOutput::SaveSkipped {
                bytes: bytes.to_vec(),
                reason: format!(
                    "Epoch {} is kept for this visit only: a run training in another tab keeps its network in this browser ({} on {}).",
                    meta.epoch + 1,
                    crate::format::percent(theirs.accuracy as f64),
                    theirs.measured_on
                ),
                meta,
            }),
            Err(e) => self.post(&WorkerOutput::NotSaved {
                bytes: bytes.to_vec(),
                meta,
                reason: format!("The weights are kept for this visit but could not be saved in this browser: {e}."),
            }),
        }
    }

    /// Weights saved on an earlier visit, if any and if they pass every check, handed to the
    /// reader (in place of the default network it loaded itself).
    async fn restore(&self) {
        let found = store::get(store::BEST).await;
        // The page handed over this tab's network (the browser's copy may be another tab's, or
        // older), or the user has chosen one here meanwhile: either stands.
        if self.adopted.get() || self.chosen.get() > 0 {
            return;
        }
        let bytes = match found {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return,
            // An entry that is there but holds no bytes is a saved network lost: said like
            // one that fails its checks. Storage that cannot be opened may hold nothing.
            Err(e @ store::ReadError::NotBytes) => return self.post(&WorkerOutput::RestoreFailed(restore_failed(&e.to_string()))),
            Err(e @ store::ReadError::Unavailable(_)) => return web_sys::console::warn_1(&format!("worker: saved weights unreadable: {e}").into()),
        };
        match self.use_as_saved(bytes.clone()).await {
            Ok(meta) => self.post(&WorkerOutput::Restored { meta, bytes }),
            // Said to the user, not only logged: otherwise their trained network would seem
            // to have vanished without a word.
            Err(e) => self.post(&WorkerOutput::RestoreFailed(restore_failed(&e))),
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
                self.post(&WorkerOutput::BenchResult { backend: self.backend.get(), threads: self.threads.get(), result });
            }
            Ok::<(), String>(())
        }
        .await;
        self.control.running.set(false);
        self.post(&WorkerOutput::BenchEnded(result.err()));
    }

    fn upload(&self, mnist: &Mnist, config: &TrainConfig, device: &Device) -> Rc<TrainData> {
        let key = (self.backend.get(), config.train_limit, config.test_limit, config.selection);
        if let Some((k, data)) = &*self.uploaded.borrow() {
            if *k == key {
                return data.clone();
            }
        }
        // Drop the previous upload before making the next: GPU memory is finite.
        *self.uploaded.borrow_mut() = None;
        let data = Rc::new(TrainData::upload(mnist, key.1, key.2, key.3, &device.clone().inner()));
        *self.uploaded.borrow_mut() = Some((key, data.clone()));
        data
    }

    /// Trainer: hand the page a weights file for the reader worker.
    fn publish_bytes(&self, meta: WeightsMeta, bytes: Vec<u8>) {
        self.published.set(self.published.get() + 1);
        self.post(&WorkerOutput::ReaderWeights { meta, bytes });
    }

    /// Trainer: the same for a network on the device, taken off it first (asynchronously,
    /// while training goes on); `also` gets the bytes too (to keep a new best epoch).
    fn publish_model(self: &Rc<Self>, model: Network, meta: WeightsMeta) {
        self.publish_model_and(model, meta, None::<fn(Rc<Self>, Rc<Vec<u8>>) -> std::future::Ready<()>>);
    }

    fn publish_model_and<F, Fut>(self: &Rc<Self>, model: Network, meta: WeightsMeta, also: Option<F>)
    where
        F: FnOnce(Rc<Self>, Rc<Vec<u8>>) -> Fut + 'static,
        Fut: std::future::Future<Output = ()>,
    {
        self.encode_model_and(model, meta, true, also);
    }

    /// [`Self::publish_model_and`], handing the network to the reader only when `publish`.
    pub(super) fn encode_model_and<F, Fut>(self: &Rc<Self>, model: Network, meta: WeightsMeta, publish: bool, also: Option<F>)
    where
        F: FnOnce(Rc<Self>, Rc<Vec<u8>>) -> Fut + 'static,
        Fut: std::future::Future<Output = ()>,
    {
        let ticket = self.published.get() + u64::from(publish);
        self.published.set(ticket);
        let worker = self.clone();
        spawn_local(async move {
            let encoded = weights::encode(&model, &meta).await;
            // Off the device now: let its buffers go before the slower work below (IndexedDB).
            drop(model);
            match encoded {
                Ok(bytes) => {
                    let bytes = Rc::new(bytes);
                    if publish && worker.published.get() == ticket {
                        worker.post(&WorkerOutput::ReaderWeights { meta, bytes: bytes.to_vec() });
                    }
                    if let Some(also) = also {
                        also(worker.clone(), bytes).await;
                    }
                }
                // Only a network that was to be kept is a failed save; otherwise the reader
                // just keeps the network it has (which `ReaderFailed` leaves in place).
                Err(e) if also.is_some() => worker.post(&WorkerOutput::SaveFailed(format!("the weights of epoch {} could not be kept: {e}", meta.epoch + 1))),
                Err(e) => worker.post(&WorkerOutput::ReaderFailed(format!("the network to read with was not updated: {e}"))),
            }
        });
    }

    /// Check a weights file and have the reader read digits with it; the network in use is
    /// untouched on error. Checked here on the CPU, before the page passes it on.
    /// Read with the network in `bytes` and hold it as the saved weights, without writing
    /// it anywhere: it came from the browser's storage, or from the worker this one replaced.
    async fn use_as_saved(&self, bytes: Vec<u8>) -> Result<WeightsMeta, String> {
        let meta = self.use_weights(&bytes).await?;
        *self.saved.borrow_mut() = Some((meta.clone(), Rc::new(bytes)));
        Ok(meta)
    }

    async fn use_weights(&self, bytes: &[u8]) -> Result<WeightsMeta, String> {
        let (_, meta) = weights::decode(bytes, None, &Device::flex()).map_err(|e| e.to_string())?;
        self.publish_bytes(meta.clone(), bytes.to_vec());
        Ok(meta)
    }
}

/// Streams a run to the page and obeys Pause/Stop.
struct WorkerObserver {
    worker: Rc<Worker>,
    config: TrainConfig,
    stats: crate::data::PixelStats,
    /// Where the run's inference-mode networks live.
    device: Device,
    /// What the held-out accuracy is measured on, for comparing with another tab's run.
    measured_on: String,
    /// How long the last `between_steps` waited paused, in ms.
    paused_ms: f64,
}

impl Observer for WorkerObserver {
    fn on_step(&mut self, report: &StepReport) {
        self.worker.runs.step(report);
        self.worker.post(&WorkerOutput::Step(report.clone()));
    }

    fn on_epoch(&mut self, report: &EpochReport, model: &Network) {
        self.worker.runs.epoch(report);
        self.worker.post(&WorkerOutput::Epoch(report.clone()));
        self.worker.post(&WorkerOutput::Memory(memory_sample(report.epoch, &self.device)));
        // Let the person drawing see the network improve, epoch by epoch; a new best is also
        // saved. Both from one copy taken off the device while training goes on.
        // An epoch that is not the best has no test figure (it was not measured): the reader
        // shows its held-out one.
        let meta = WeightsMeta::chosen(
            self.config.network, self.stats, report.epoch, self.config.selection, report.held_out_accuracy, report.test_accuracy, report.temperature,
        );
        if report.best_epoch == report.epoch {
            let kept = meta.clone();
            let owner = self.worker.run_owner(report.held_out_accuracy, &self.measured_on);
            // The run is not kept until this epoch's network is (`RunKept`).
            let guard = self.worker.wrap_up.borrow().clone();
            self.worker.publish_model_and(model.clone(), meta, Some(move |worker: Rc<Worker>, bytes: Rc<Vec<u8>>| async move {
                worker.runs.best_weights(owner.run.as_deref(), kept.epoch, bytes.clone());
                worker.keep(kept, bytes, owner).await;
                drop(guard);
            }));
        } else {
            self.worker.publish_model(model.clone(), meta);
        }
    }

    async fn between_steps(&mut self) -> Flow {
        yield_to_events().await;
        let control = &self.worker.control;
        let paused_from = now_ms();
        while control.paused.get() && !control.stop.get() {
            sleep_ms(50).await;
        }
        self.paused_ms = now_ms() - paused_from;
        if control.stop.get() { Flow::Stop } else { Flow::Continue }
    }

    fn paused_ms(&self) -> f64 {
        self.paused_ms
    }
}

fn summarise(mnist: &Mnist, downloaded_bytes: u64, encoding: Encoding, load_ms: f64) -> DatasetSummary {
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
        encoding,
        load_ms,
    }
}

/// What the page says when the weights saved on an earlier visit fail their checks.
fn restore_failed(reason: &str) -> String {
    // Dashes, not brackets: the reason often ends in brackets of its own.
    format!("The network saved on an earlier visit could not be used — {reason} — so the default network is in use.")
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
