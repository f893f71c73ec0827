//! MNIST Studio: train the networks of a well-known Keras MNIST notebook in the browser on
//! WebGPU, watch them learn, and draw digits for them to read.
//!
//! See README.md, section Architecture, for the code map and the invariants.

// Built without the `engine` feature (the page's wasm, see Cargo.toml), the crate keeps only
// what the page needs: the types it speaks to the worker in, the drawing's preprocessing,
// links, formats. Everything that touches a tensor is `engine`'s.

// The single-threaded worker trains on WebGPU with our kernels: a build of it without them
// would quietly fall back to burn's, several times slower.
#[cfg(all(feature = "engine", not(feature = "webgpu"), target_arch = "wasm32", not(target_feature = "atomics")))]
compile_error!("the browser's single-threaded engine needs `--features webgpu` (see Cargo.toml)");

pub mod data;
pub mod draw;
pub mod export;
pub mod format;
pub mod inside;
pub mod link;
#[cfg(feature = "engine")]
mod hostile;
#[cfg(feature = "engine")]
pub mod kernels;
pub mod model;
pub mod platform;
pub mod reader;
pub mod rng;
pub mod runs;
pub mod train;
pub mod worker;
pub mod weights;
#[cfg(test)]
mod testing;
#[cfg(target_arch = "wasm32")]
pub mod ui;
