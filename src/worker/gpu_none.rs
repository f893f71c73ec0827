//! The threaded build's stand-in for [`super::gpu`]: no WebGPU. wgpu's WebGPU types are not
//! `Send` once wasm has threads, so burn's wgpu backend cannot be built there; the page uses
//! the single-threaded worker whenever the user trains on WebGPU (README, "Two worker builds").

use burn::prelude::*;

const WHY: &str = "this worker is the multi-threaded CPU build, which has no WebGPU";

pub async fn init_device() -> Result<Device, String> {
    Err(WHY.into())
}

pub fn lose_device() -> bool {
    false
}

/// Never asked: this build trains on the CPU only.
pub fn batch_fits(_network: crate::model::NetworkKind, _batch: usize) -> Result<(), String> {
    Ok(())
}
