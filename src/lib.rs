//! MNIST Studio: train the networks of a well-known Keras MNIST notebook in the browser on
//! WebGPU, watch them learn, and draw digits for them to read.
//!
//! See README.md, section Architecture, for the code map and the invariants.

pub mod data;
pub mod draw;
pub mod export;
pub mod format;
pub mod inside;
pub mod link;
mod hostile;
pub mod kernels;
pub mod model;
pub mod platform;
pub mod rng;
pub mod runs;
pub mod train;
pub mod worker;
pub mod weights;
#[cfg(test)]
mod testing;
#[cfg(target_arch = "wasm32")]
pub mod ui;
