//! Training: the notebook's schedule, a hand-written loop that only ever reads the device
//! asynchronously, evaluation after every epoch, and the best epoch's weights kept.
//!
//! The same code runs natively on burn's CPU backend (`cargo test`, the `train` binary) and
//! in the browser's worker on WebGPU.

pub mod batch;
pub mod bench;
pub mod calibrate;
pub mod loss;
pub mod novelty;
pub mod warp;
pub mod config;
pub mod estimate;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod sgd;

pub use config::{Selection, TrainConfig};
pub use report::{Confusion, Eased, EpochReport, Misclassified, StepReport};
pub use runner::{evaluate, train, BestModel, Flow, Observer, Outcome, Resume, RunEnd, TrainData, TrainError};
pub use schedule::{Phase, Schedule};
