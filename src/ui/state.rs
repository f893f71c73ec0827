//! The page's state: one reducer fed by the worker's messages and the user's requests.
//! Components get slices of it as props and send [`Action`]s up; none of them holds data of
//! its own beyond what an input field needs.

use std::rc::Rc;

use yew::Reducible;

use crate::data::DataError;
use crate::train::bench::BenchResult;
use crate::train::report::drop_from;
use crate::train::{EpochReport, RunEnd, StepReport, TrainConfig};
use crate::ui::bridge::WorkerKind;
use crate::export::ExportFormat;
use crate::runs::KeptRun;
use crate::weights::WeightsMeta;
use crate::worker::protocol::{Backend, DatasetSummary, GpuInfo, Inside, MemorySample, WorkerOutput};

#[derive(Debug, Clone, PartialEq)]
pub enum GpuStatus {
    Probing,
    Ready(GpuInfo),
    Unavailable(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum DataStatus {
    Loading { received: u64, total: Option<u64> },
    Ready(Rc<DatasetSummary>),
    Failed(DataError),
}

#[derive(Debug, Clone, PartialEq)]
pub enum RunStatus {
    /// Asked for, not yet confirmed by the worker.
    Starting,
    Running,
    Paused,
    /// Stop asked for, not yet confirmed.
    Stopping,
    Ended(RunEnd),
    Failed(String),
}

impl RunStatus {
    pub fn is_active(&self) -> bool {
        matches!(self, Self::Starting | Self::Running | Self::Paused | Self::Stopping)
    }
}

/// One training run as the page sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub config: TrainConfig,
    pub steps_per_epoch: usize,
    pub train_images: usize,
    /// What chooses the best epoch: validation images, or the test set (`config.selection`).
    pub held_out_images: usize,
    pub test_images: usize,
    pub steps: Vec<StepReport>,
    pub epochs: Vec<EpochReport>,
    /// The worker's memory after each epoch, to show it stays flat.
    pub memory: Vec<MemorySample>,
    pub status: RunStatus,
    pub best: Option<WeightsMeta>,
    /// The saved weights this run continues from ("Resume from epoch N"), if it does.
    pub resumes: Option<WeightsMeta>,
}

impl Run {
    /// A progress report. One from an epoch started again replaces the first attempt's
    /// ([`drop_from`]), so the charts and the time left follow the attempt that counts.
    pub fn add_step(&mut self, step: StepReport) {
        drop_from(&mut self.steps, step.epoch_position(), StepReport::epoch_position);
        self.steps.push(step);
    }

    pub fn new(config: TrainConfig) -> Self {
        Self {
            config,
            steps_per_epoch: 0,
            train_images: 0,
            held_out_images: 0,
            test_images: 0,
            steps: Vec::new(),
            epochs: Vec::new(),
            memory: Vec::new(),
            status: RunStatus::Starting,
            best: None,
            resumes: None,
        }
    }

    /// Fraction of the whole run done, 0-1.
    pub fn progress(&self) -> f64 {
        let epochs = self.config.schedule.epochs().max(1) as f64;
        self.steps.last().map_or(0.0, |s| s.epoch_position() / epochs).min(1.0)
    }
}

/// The network reading drawn digits.
#[derive(Debug, Clone, PartialEq)]
pub enum ReaderStatus {
    Loading,
    Ready(WeightsMeta),
    Failed(String),
    /// Its worker failed or crashed: started again (after a pause) when `restarting`, given
    /// up otherwise (a script that cannot load fails every time).
    Stopped { reason: String, restarting: bool },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Studio {
    pub gpu: GpuStatus,
    /// Where training runs; `None` until the worker has chosen.
    pub backend: Option<Backend>,
    /// Why the worker chose the CPU, when it did.
    pub backend_note: Option<String>,
    /// Which build trains: the page replaces it when the user's backend or thread count
    /// needs the other one.
    pub worker: WorkerKind,
    /// CPU threads the training worker uses, once it has said; and why fewer than asked.
    pub threads: Option<usize>,
    pub threads_note: Option<String>,
    pub data: DataStatus,
    pub run: Option<Run>,
    pub reader: ReaderStatus,
    /// How many times the reader has said which network it reads with: each time, the drawing
    /// on the pad is read again, even by a network with the same record as the last (a run's
    /// last epoch, also its best, is handed over again at the run's end with its detector).
    pub reader_told: u32,
    /// Latest probabilities for the drawing, with the request they answer.
    pub prediction: Option<(u32, Rc<Vec<f32>>)>,
    /// The drawing's distance from every digit, over the detector's threshold (above 1: not a
    /// digit); `None` when the reader's network has no detector.
    pub strangeness: Option<f32>,
    /// Answers for drawings up to this id are late: the pad was cleared after they were asked.
    pub answered_through: Option<u32>,
    /// The run that ended or failed last is still being kept by the worker (its network,
    /// detector and record): until [`WorkerOutput::RunKept`], the worker must not be replaced, nor asked
    /// for another run (it would refuse: one is in progress).
    pub keeping_run: bool,
    /// The worker itself failed; nothing else will arrive.
    pub crashed: Option<String>,
    /// The worker has said it listens.
    pub listening: bool,
    /// Speed measurements, newest last.
    pub bench: Bench,
    /// The user's saved weights (IndexedDB), and what happened to the last save or load.
    pub saved: Option<WeightsMeta>,
    pub weights_note: Option<WeightsNote>,
    /// The file of the saved weights this tab reads with: handed to a worker that replaces
    /// this one ([`WorkerInput::Adopt`]), which would otherwise restore what the browser's
    /// storage holds by then (nothing, when they are kept for this visit only; another tab's
    /// network, when a file loaded there or a better run has replaced ours since).
    pub own_weights: Option<Rc<Vec<u8>>>,
    /// A weights file the worker sent for download, waiting for the page to hand it over.
    pub download: Option<(WeightsMeta, ExportFormat, Rc<Vec<u8>>)>,
    /// What the network computes for the drawing (while the inside view is open), or why it
    /// could not be shown.
    pub inside: Option<Result<Rc<Inside>, String>>,
    /// The runs this browser keeps, to compare and read with.
    pub runs: KeptRuns,
}

/// The kept runs as the worker last listed them, and the last problem with them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeptRuns {
    pub list: Rc<Vec<KeptRun>>,
    pub problem: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WeightsNote {
    Saved,
    Restored,
    /// Kept for this visit, not in the browser (another tab's run is better): why.
    ThisVisitOnly(String),
    /// Kept for this visit: the browser's storage failed. Why, for the user.
    NotSaved(String),
    Problem(String),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bench {
    pub running: bool,
    /// Backend, CPU threads, figures.
    pub results: Vec<(Backend, usize, BenchResult)>,
    pub error: Option<String>,
}

impl Default for Studio {
    fn default() -> Self {
        Self {
            gpu: GpuStatus::Probing,
            backend: None,
            backend_note: None,
            worker: WorkerKind::Trainer { wants: None },
            threads: None,
            threads_note: None,
            data: DataStatus::Loading { received: 0, total: None },
            run: None,
            reader: ReaderStatus::Loading,
            reader_told: 0,
            prediction: None,
            strangeness: None,
            answered_through: None,
            keeping_run: false,
            crashed: None,
            listening: false,
            bench: Bench::default(),
            saved: None,
            weights_note: None,
            own_weights: None,
            download: None,
            inside: None,
            runs: KeptRuns::default(),
        }
    }
}

pub enum Action {
    Heard(WorkerOutput),
    Crashed(String),
    /// The user asked for the dataset (again).
    LoadRequested,
    TrainRequested(TrainConfig),
    /// A run continuing from the saved weights, these.
    ResumeRequested(TrainConfig, WeightsMeta),
    StopRequested,
    /// The drawing was cleared: forget its probabilities, and any answer still on its way
    /// for a drawing up to this id (the last one sent to be read, if any).
    DrawingCleared(Option<u32>),
    BenchRequested,
    /// The page has handed the downloaded file to the browser.
    DownloadTaken,
    /// A problem with a weights file found in the page, before the worker saw it.
    WeightsProblem(String),
    /// The reader's worker failed or crashed; `restarting`: the page starts another.
    ReaderStopped { reason: String, restarting: bool },
    /// The training worker was replaced by one of this kind; the new one starts afresh (it
    /// loads the dataset again, from the browser's cache, and restores the saved weights).
    WorkerReplaced(WorkerKind),
}

impl Reducible for Studio {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            Action::Heard(output) => s.hear(output),
            Action::Crashed(reason) => {
                s.crashed = Some(reason.clone());
                // Nothing more will come from it: no wrap-up, no measurement's end.
                s.keeping_run = false;
                s.bench.running = false;
                if let Some(run) = s.run.as_mut().filter(|r| r.status.is_active()) {
                    run.status = RunStatus::Failed(reason);
                }
            }
            Action::LoadRequested => s.data = DataStatus::Loading { received: 0, total: None },
            Action::TrainRequested(config) => s.run = Some(Run::new(config)),
            Action::ResumeRequested(config, from) => s.run = Some(Run { resumes: Some(from), ..Run::new(config) }),
            Action::StopRequested => {
                if let Some(run) = s.run.as_mut().filter(|r| r.status.is_active()) {
                    run.status = RunStatus::Stopping;
                }
            }
            Action::DrawingCleared(through) => {
                s.forget_reading();
                s.answered_through = s.answered_through.max(through);
            }
            Action::ReaderStopped { reason, restarting } => {
                s.reader = ReaderStatus::Stopped { reason, restarting };
                s.forget_reading();
            }
            Action::DownloadTaken => s.download = None,
            Action::WeightsProblem(reason) => s.weights_note = Some(WeightsNote::Problem(reason)),
            Action::WorkerReplaced(kind) => {
                s.worker = kind;
                s.listening = false;
                s.backend = None;
                s.threads = None;
                s.threads_note = None;
                s.data = DataStatus::Loading { received: 0, total: None };
                s.bench.running = false;
                // The new worker has nothing of the old one's left to keep, and a crash was
                // the old one's.
                s.keeping_run = false;
                s.crashed = None;
            }
            Action::BenchRequested => {
                s.bench.running = true;
                s.bench.error = None;
            }
        }
        Rc::new(s)
    }
}

impl Studio {
    fn hear(&mut self, output: WorkerOutput) {
        match output {
            WorkerOutput::Listening => self.listening = true,
            WorkerOutput::Started { gpu, backend, why, threads, threads_note } => {
                // The first verdict on the GPU stands: a threaded trainer's look at the adapter
                // is taken only when it is the first trainer (the CPU went first). After a
                // single-threaded one, that one knows more (a device that would not start) or
                // the user chose the CPU, and its word and reason are kept.
                let first = matches!(self.gpu, GpuStatus::Probing);
                if first || !matches!(self.worker, WorkerKind::ThreadedTrainer { .. }) {
                    self.gpu = match gpu {
                        Ok(info) => GpuStatus::Ready(info),
                        Err(reason) => GpuStatus::Unavailable(reason),
                    };
                    self.backend_note = why;
                }
                self.backend = Some(backend);
                self.threads = Some(threads);
                self.threads_note = threads_note;
            }
            WorkerOutput::BackendChanged(backend) => self.backend = Some(backend),
            WorkerOutput::GpuLost(reason) => self.gpu = GpuStatus::Unavailable(reason),
            WorkerOutput::DataProgress { received, total } => {
                if matches!(self.data, DataStatus::Loading { .. }) {
                    self.data = DataStatus::Loading { received, total };
                }
            }
            WorkerOutput::DataReady(summary) => self.data = DataStatus::Ready(Rc::new(summary)),
            WorkerOutput::DataFailed(error) => self.data = DataStatus::Failed(error),
            WorkerOutput::TrainStarted { config, steps_per_epoch, train_images, held_out_images, test_images } => {
                let mut run = Run::new(config);
                run.steps_per_epoch = steps_per_epoch;
                run.train_images = train_images;
                run.held_out_images = held_out_images;
                run.test_images = test_images;
                // A stop asked for while the run was starting still stands (the worker stops
                // it at its first step).
                let stopping = self.run.as_ref().is_some_and(|r| r.status == RunStatus::Stopping);
                run.status = if stopping { RunStatus::Stopping } else { RunStatus::Running };
                // So does the epoch it resumes from, which it may offer to resume from again.
                run.resumes = self.run.as_ref().and_then(|r| r.resumes.clone());
                self.run = Some(run);
            }
            WorkerOutput::Step(step) => {
                if let Some(run) = &mut self.run {
                    run.add_step(step);
                }
            }
            WorkerOutput::Epoch(epoch) => {
                if let Some(run) = &mut self.run {
                    run.epochs.push(epoch);
                }
            }
            WorkerOutput::Memory(sample) => {
                if let Some(run) = &mut self.run {
                    run.memory.push(sample);
                }
            }
            // Only a run still under way pauses or resumes: a pause answered just as the run
            // ended must not bring an ended run back.
            WorkerOutput::Paused => self.set_active_status(RunStatus::Paused),
            WorkerOutput::Resumed => self.set_active_status(RunStatus::Running),
            WorkerOutput::TrainEnded { end, best } => {
                if let Some(run) = &mut self.run {
                    run.best = best;
                }
                self.keeping_run = true;
                self.set_status(RunStatus::Ended(end));
            }
            WorkerOutput::RunKept => {
                self.keeping_run = false;
            }
            // A failed run is kept too, if it finished an epoch: until then the worker stays.
            WorkerOutput::TrainFailed(reason) => {
                self.keeping_run = true;
                self.set_status(RunStatus::Failed(reason));
            }
            // Handled by the page's hook: passed on to the reader worker.
            WorkerOutput::ReaderWeights { .. } => {}
            WorkerOutput::Reader(meta) => {
                self.reader = ReaderStatus::Ready(meta);
                self.reader_told = self.reader_told.wrapping_add(1);
            }
            WorkerOutput::ReaderFailed(reason) => {
                // A failed load keeps the network already in use, if any.
                if !matches!(self.reader, ReaderStatus::Ready(_)) {
                    self.reader = ReaderStatus::Failed(reason);
                }
            }
            WorkerOutput::ReaderLost(reason) => {
                self.reader = ReaderStatus::Failed(reason);
                self.forget_reading();
            }
            // An answer for a drawing cleared since it was sent is not shown.
            WorkerOutput::Prediction { id, .. } if self.late(id) => {}
            WorkerOutput::Prediction { id, probabilities, strangeness } => {
                self.prediction = Some((id, Rc::new(probabilities)));
                self.strangeness = strangeness;
            }
            WorkerOutput::Saved { meta, bytes } => {
                self.saved = Some(meta);
                self.weights_note = Some(WeightsNote::Saved);
                self.own_weights = Some(Rc::new(bytes));
            }
            // A replacing worker that read the browser's copy before the page's hand-over
            // reached it: this tab's network is the one handed over, which it then uses.
            WorkerOutput::Restored { .. } if self.own_weights.is_some() => {}
            WorkerOutput::Restored { meta, bytes } => {
                self.saved = Some(meta);
                self.weights_note = Some(WeightsNote::Restored);
                self.own_weights = Some(Rc::new(bytes));
            }
            WorkerOutput::SaveSkipped { meta, reason, bytes } => {
                self.saved = Some(meta);
                self.weights_note = Some(WeightsNote::ThisVisitOnly(reason));
                self.own_weights = Some(Rc::new(bytes));
            }
            // The worker holds them: they can be downloaded and resumed from all the same.
            WorkerOutput::NotSaved { meta, reason, bytes } => {
                self.saved = Some(meta);
                self.weights_note = Some(WeightsNote::NotSaved(reason));
                self.own_weights = Some(Rc::new(bytes));
            }
            WorkerOutput::SaveFailed(reason) | WorkerOutput::LoadFailed(reason) | WorkerOutput::RestoreFailed(reason) => {
                self.weights_note = Some(WeightsNote::Problem(reason));
            }
            WorkerOutput::WeightsFile { meta, format, bytes } => self.download = Some((meta, format, Rc::new(bytes))),
            WorkerOutput::BenchResult { backend, threads, result } => self.bench.results.push((backend, threads, result)),
            WorkerOutput::BenchEnded(error) => {
                self.bench.running = false;
                self.bench.error = error;
            }
            WorkerOutput::Inside(view) if self.late(view.id) => {}
            WorkerOutput::Inside(view) => self.inside = Some(Ok(Rc::new(view))),
            WorkerOutput::InsideFailed(reason) => self.inside = Some(Err(reason)),
            WorkerOutput::Runs(list) => self.runs = KeptRuns { list: Rc::new(list), problem: None },
            WorkerOutput::RunsProblem(problem) => self.runs.problem = Some(problem),
        }
    }

    /// Whether an answer for drawing `id` comes after the pad was cleared of it.
    fn late(&self, id: u32) -> bool {
        self.answered_through.is_some_and(|t| id <= t)
    }

    /// The reading shown for the drawing, and what the inside view showed of it.
    fn forget_reading(&mut self) {
        self.prediction = None;
        self.strangeness = None;
        self.inside = None;
    }

    /// A pause or resume answered: for a run still under way, and not one being stopped.
    fn set_active_status(&mut self, status: RunStatus) {
        if let Some(run) = self.run.as_mut().filter(|r| r.status.is_active() && r.status != RunStatus::Stopping) {
            run.status = status;
        }
    }

    fn set_status(&mut self, status: RunStatus) {
        if let Some(run) = &mut self.run {
            run.status = status;
        }
    }
}

