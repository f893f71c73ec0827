//! The training worker: a dedicated Web Worker that owns the GPU device, the dataset and
//! every network, so the page's main thread never waits on training. (Drawn digits are read
//! by another worker, `crate::reader`, so a reading never waits for a training step.)
//!
//! Only [`protocol`] is shared with the page: two serde enums, posted as structured clones
//! (`channel`, which the reader uses too). The rest runs inside the worker only, and is not
//! in the page's or the reader's build (Cargo.toml's `engine`).
//!
//! The worker is built twice (README, "Two worker builds"): single-threaded with WebGPU, and
//! multi-threaded for the CPU without it; [`threads`] and the choice of `gpu` below are the
//! only places that differ, and `runtime`'s start-up reads [`threads::THREADED`] (the threaded
//! build reports the adapter it found but cannot create a device).

#[cfg(all(feature = "engine", target_arch = "wasm32"))]
pub mod adapter;
// The page's messages, in and out: the trainer's and the reader's (built without the engine).
#[cfg(target_arch = "wasm32")]
pub mod channel;
#[cfg(all(feature = "engine", target_arch = "wasm32", not(target_feature = "atomics")))]
pub mod gpu;
#[cfg(all(feature = "engine", target_arch = "wasm32", target_feature = "atomics"))]
#[path = "gpu_none.rs"]
pub mod gpu;
#[cfg(feature = "engine")]
pub mod keeping;
pub mod protocol;
#[cfg(all(feature = "engine", target_arch = "wasm32"))]
mod runtime;
#[cfg(all(feature = "engine", target_arch = "wasm32"))]
mod store;
#[cfg(all(feature = "engine", target_arch = "wasm32"))]
mod run_log;
#[cfg(all(feature = "engine", target_arch = "wasm32"))]
mod locks;
#[cfg(all(feature = "engine", target_arch = "wasm32"))]
pub mod threads;

#[cfg(all(feature = "engine", target_arch = "wasm32"))]
pub use runtime::start;
