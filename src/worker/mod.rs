//! The training worker: a dedicated Web Worker that owns the GPU device, the dataset and
//! every network, so the page's main thread never waits on training.
//!
//! Only [`protocol`] is shared with the page: two serde enums, posted as structured clones.
//! The rest runs inside the worker only.

#[cfg(target_arch = "wasm32")]
pub mod gpu;
pub mod protocol;
#[cfg(target_arch = "wasm32")]
mod runtime;
#[cfg(target_arch = "wasm32")]
mod store;

#[cfg(target_arch = "wasm32")]
pub use runtime::start;
