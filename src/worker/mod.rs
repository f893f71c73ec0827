//! The training worker: a dedicated Web Worker that owns the GPU device, the dataset and
//! every network, so the page's main thread never waits on training. A second instance of
//! the same worker, in the reader role, reads drawn digits, so a reading never waits for a
//! training step.
//!
//! Only [`protocol`] is shared with the page: two serde enums, posted as structured clones.
//! The rest runs inside the worker only.
//!
//! The worker is built twice (README, "Two worker builds"): single-threaded with WebGPU, and
//! multi-threaded for the CPU without it; [`threads`] and the choice of `gpu` below are the
//! only places that differ, and `runtime`'s start-up reads [`threads::THREADED`] (the threaded
//! build reports the adapter it found but cannot create a device).

#[cfg(target_arch = "wasm32")]
pub mod adapter;
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
pub mod gpu;
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
#[path = "gpu_none.rs"]
pub mod gpu;
pub mod keeping;
pub mod protocol;
#[cfg(target_arch = "wasm32")]
mod runtime;
#[cfg(target_arch = "wasm32")]
mod store;
#[cfg(target_arch = "wasm32")]
mod run_log;
#[cfg(target_arch = "wasm32")]
mod locks;
#[cfg(target_arch = "wasm32")]
pub mod threads;

#[cfg(target_arch = "wasm32")]
pub use runtime::start;
