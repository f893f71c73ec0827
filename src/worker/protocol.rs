//! Messages between the page and the worker. Kept apart from the model and training code
//! so the page can speak to the worker without linking burn (the page's wasm stays small).

use serde::{Deserialize, Serialize};

use crate::data::error::DataError;
pub use crate::data::source::DataSource;
use crate::data::{Encoding, PixelStats};
pub use crate::inside::Inside;
use crate::model::NetworkKind;
use crate::runs::KeptRun;
use crate::train::bench::BenchResult;
use crate::train::{EpochReport, RunEnd, StepReport, TrainConfig};
use crate::weights::WeightsMeta;
pub use crate::export::ExportFormat;

/// Where the worker trains and reads digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Backend {
    /// burn's wgpu backend on the browser's WebGPU.
    WebGpu,
    /// burn's CPU backend (flex) inside the worker, wasm SIMD: on a pool of threads where the
    /// page is cross-origin isolated, else on one core.
    Cpu,
}

impl Backend {
    /// Stable identifier: the page's address (`?backend=`) and its backend picker.
    pub fn id(self) -> &'static str {
        match self {
            Self::WebGpu => "webgpu",
            Self::Cpu => "cpu",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        [Self::WebGpu, Self::Cpu].into_iter().find(|b| b.id() == id)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::WebGpu => "WebGPU",
            Self::Cpu => "CPU (WebAssembly SIMD)",
        }
    }
}

/// Page to worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum WorkerInput {
    /// Fetch and check MNIST (again, after a failure).
    LoadData(DataSource),
    Train(TrainConfig),
    /// Continue training from the saved best weights (after a stop, a divergence or a lost
    /// GPU): the configuration must be for the saved network.
    TrainFromSaved(TrainConfig),
    Pause,
    Resume,
    Stop,
    /// Read a drawn digit: 784 pixels in [0, 1], already centred and scaled like MNIST.
    Predict { id: u32, pixels: Vec<f32> },
    /// Measure training speed of each network on the current backend (needs the dataset).
    Benchmark { networks: Vec<NetworkKind>, batch_size: usize, warmup_steps: usize, timed_steps: usize },
    /// Train and read on this backend from now on.
    SetBackend(Backend),
    /// Use the network in this weights file (chosen by the user) for reading digits, and keep
    /// it as the saved weights.
    LoadWeights {
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// Send the saved weights back as a file, in this format.
    ExportWeights(ExportFormat),
    /// To a worker that replaces one: the saved weights the page reads with (the file of the
    /// last [`WorkerOutput::Saved`], `Restored`, `NotSaved` or `SaveSkipped`). Read with this
    /// weights file and keep it as the saved weights, not written to the browser's storage;
    /// what the storage holds (another tab's network, say) is not restored over it.
    Adopt {
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// To the reader worker: read digits with the network in this weights file (the training
    /// worker's [`WorkerOutput::ReaderWeights`], passed on by the page).
    UseReader {
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// Destroy the WebGPU device, as a driver reset would (for tests of what survives).
    LoseDevice,
    /// To the reader worker: after each reading, also show what the network computes inside
    /// ([`WorkerOutput::Inside`]), or stop doing so.
    ShowInside(bool),
    /// Forget this kept run ([`crate::runs`]) and its weights.
    DeleteRun(String),
    /// Read digits with this kept run's best weights, and keep them as the saved weights, as
    /// [`WorkerInput::LoadWeights`] does with a file.
    UseRun(String),
}

/// The GPU the worker found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    pub vendor: String,
    pub architecture: String,
    pub description: String,
    /// A software adapter (SwiftShader, ...): correct, but slow.
    pub fallback: bool,
}

impl GpuInfo {
    pub fn label(&self) -> String {
        let parts: Vec<&str> = [&self.vendor, &self.architecture, &self.description]
            .into_iter()
            .map(|s| s.as_str())
            .filter(|s| !s.is_empty())
            .collect();
        let name = if parts.is_empty() { "unnamed adapter".to_owned() } else { parts.join(" · ") };
        if self.fallback { format!("{name} (software fallback)") } else { name }
    }
}

/// A digit from the dataset, for the sample grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    pub label: u8,
    #[serde(with = "serde_bytes")]
    pub pixels: Vec<u8>,
}

/// What the page shows once the dataset is in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSummary {
    pub train_images: usize,
    pub test_images: usize,
    pub stats: PixelStats,
    pub train_label_counts: [u32; 10],
    pub samples: Vec<Sample>,
    /// Bytes that came over the network (compressed or not).
    pub downloaded_bytes: u64,
    pub encoding: Encoding,
    /// From the request to the parsed, checked dataset.
    pub load_ms: f64,
}

/// The worker's memory at the end of one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemorySample {
    /// 0-based, as in [`EpochReport::epoch`].
    pub epoch: usize,
    /// The worker's WebAssembly memory: Rust's heap, where the CPU backend keeps its tensors.
    /// It never shrinks, so any leak shows as growth here.
    pub wasm_bytes: u64,
    /// burn's GPU buffer pools, when training on WebGPU.
    pub gpu: Option<GpuMemory>,
}

/// burn's (cubecl's) allocator on the GPU device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuMemory {
    /// Bytes live tensors use.
    pub in_use: u64,
    /// Bytes of GPU buffers held, in use or kept for reuse.
    pub reserved: u64,
    pub allocations: u64,
}

/// Worker to page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum WorkerOutput {
    /// The worker listens: messages sent before this could be lost, so the page waits for it.
    Listening,
    /// The worker runs: its GPU (or why it has none), the backend it chose, with the reason
    /// when that is not WebGPU (none when a real GPU is passed over), and the threads its
    /// CPU backend uses, with the reason when fewer than asked for.
    Started {
        gpu: Result<GpuInfo, String>,
        backend: Backend,
        why: Option<String>,
        threads: usize,
        threads_note: Option<String>,
    },
    /// The backend changed (at the user's request).
    BackendChanged(Backend),
    /// The WebGPU device was lost: this worker will not train there again. Why, for the
    /// user (the page's GPU badge; its backend picker no longer offers WebGPU, which this
    /// worker would refuse).
    GpuLost(String),
    DataProgress { received: u64, total: Option<u64> },
    DataReady(DatasetSummary),
    DataFailed(DataError),
    /// `held_out_images` choose the best epoch (the validation images, or the test set).
    TrainStarted { config: TrainConfig, steps_per_epoch: usize, train_images: usize, held_out_images: usize, test_images: usize },
    Step(StepReport),
    Epoch(EpochReport),
    /// What the worker held when an epoch ended: a long run must not grow it epoch by epoch.
    Memory(MemorySample),
    Paused,
    Resumed,
    TrainEnded { end: RunEnd, best: Option<WeightsMeta> },
    /// The run failed, or could not start: why. `RunKept` follows once what it leaves is
    /// kept (a run that finished an epoch is kept for comparing).
    TrainFailed(String),
    /// From the training worker: the network that should read digits now (a new best epoch,
    /// the end of a run, a loaded or restored file, the default network), as a weights file
    /// for the page to pass on to the reader worker ([`WorkerInput::UseReader`]).
    ReaderWeights {
        meta: WeightsMeta,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// The run that ended or failed last is kept (its network, its detector, its record):
    /// from now on the worker may be replaced without losing any of it.
    RunKept,
    /// From the reader worker: the network now used for reading digits.
    Reader(WeightsMeta),
    /// No network could be loaded for reading (the default is missing, say); a network the
    /// reader already has stays in use.
    ReaderFailed(String),
    /// The reader has no network any more, or is gone: it stopped, or the network in use gives
    /// outputs that are not numbers. Whatever it read before no longer stands.
    ReaderLost(String),
    /// These weights are saved (IndexedDB) and will be restored on the next visit. `bytes`,
    /// their file: the page hands it to a worker that replaces this one
    /// ([`WorkerInput::Adopt`]), which by then may find another tab's network in the
    /// browser's storage (a file loaded there, a better run).
    Saved {
        meta: WeightsMeta,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// Saved weights were found from an earlier visit and are in use; `bytes` as for `Saved`.
    Restored {
        meta: WeightsMeta,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// Weights could not be made into a file, so nothing was kept.
    SaveFailed(String),
    /// These weights could not be saved in the browser (IndexedDB unavailable or full): they
    /// are kept for this visit, and can be downloaded or resumed from. One sentence why.
    /// `bytes`, the weights file: the page hands it to a worker that replaces this one
    /// ([`WorkerInput::Adopt`]), which could not find it in the browser's storage.
    NotSaved {
        meta: WeightsMeta,
        reason: String,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// These weights are kept for this visit only: a run still training in another tab keeps
    /// a network at least as good, or not comparable, in this browser. `reason` is one
    /// sentence for the user; `bytes` as for `NotSaved` (a replacing worker would otherwise
    /// restore the other tab's network).
    SaveSkipped {
        meta: WeightsMeta,
        reason: String,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// Weights saved on an earlier visit were found but failed their checks; the default
    /// network is in use. One sentence for the user.
    RestoreFailed(String),
    /// A weights file the user chose was refused; the network in use is unchanged.
    LoadFailed(String),
    WeightsFile {
        meta: WeightsMeta,
        format: ExportFormat,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// `strangeness`: how far the drawing lies from every digit the network learned from, as
    /// a multiple of its detector's threshold (above 1: "not a digit"); `None` when the
    /// network has no detector (`train::novelty`).
    Prediction { id: u32, probabilities: Vec<f32>, strangeness: Option<f32> },
    /// One network measured (several follow one Benchmark request), on this backend with
    /// this many CPU threads.
    BenchResult { backend: Backend, threads: usize, result: BenchResult },
    /// The benchmark ended (`Some` reason if it could not run to the end).
    BenchEnded(Option<String>),
    /// From the reader worker, after a reading while [`WorkerInput::ShowInside`] is on: what
    /// the network computed for that drawing. Skipped for a drawing already replaced by a
    /// newer one.
    Inside(Inside),
    /// The inside view could not be computed (the reading itself stands).
    InsideFailed(String),
    /// The kept runs (without their weights): at boot and after every change.
    Runs(Vec<KeptRun>),
    /// Runs could not be kept, listed, deleted or used: one sentence for the user.
    RunsProblem(String),
}

/// The network names the page lists, with their parameter counts: computed here so the page
/// need not build networks to count them.
pub fn catalogue() -> Vec<(NetworkKind, usize)> {
    NetworkKind::ALL.iter().map(|&k| (k, k.num_params())).collect()
}
