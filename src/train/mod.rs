//! Training: the notebook's schedule, a hand-written loop that only ever reads the device
//! asynchronously, evaluation after every epoch, and the best epoch's weights kept.
//!
//! The same code runs natively on burn's CPU backend (`cargo test`, the `train` binary) and
//! in the browser's worker on WebGPU.

// Without the `engine` feature (the page's build) only what the page shows and sends: the
// config, the schedule, the reports, how a run ended, the estimate and the bench's figures;
// and for the reader (built without burn too), the calibration and the "not a digit" detector.
#[cfg(feature = "engine")]
pub mod batch;
pub mod bench;
pub mod calibrate;
pub mod end;
#[cfg(feature = "engine")]
pub mod loss;
pub mod novelty;
#[cfg(feature = "engine")]
pub mod pen;
#[cfg(feature = "engine")]
pub mod warp;
pub mod config;
pub mod estimate;
pub mod report;
#[cfg(feature = "engine")]
pub mod runner;
pub mod schedule;
#[cfg(feature = "engine")]
pub mod sgd;

pub use config::{Selection, TrainConfig};
pub use report::{Confusion, Eased, EpochReport, Misclassified, StepReport};
pub use end::{RunEnd, TrainError};
#[cfg(feature = "engine")]
pub use runner::{evaluate, train, BestModel, Flow, Observer, Outcome, Resume, TrainData};
pub use schedule::{Phase, Schedule};
