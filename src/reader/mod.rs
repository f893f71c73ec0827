//! The reader: a weights file's network as plain vectors, reading drawn digits on the CPU,
//! and the worker that does it. None of it touches burn: the reader's binary
//! (`src/bin/reader.rs`) is built without the `engine` feature, so that it is small and
//! starts within a few hundred milliseconds of the page, long before the trainer's module
//! has compiled. Native tests hold it to burn's networks (forward pass, input gradient,
//! inside view), which stay the reference.

pub mod look;
pub mod net;
pub mod network;
#[cfg(target_arch = "wasm32")]
mod worker;

#[cfg(target_arch = "wasm32")]
pub use worker::start;
