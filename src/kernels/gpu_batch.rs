//! A training batch gathered and unpacked on WebGPU in one kernel: the GPU side of
//! [`super::gather_unpack`].
//!
//! Why: with burn's operations a batch is a row `select`, four shifts and masks of the packed
//! words, a concatenation, a cast and a multiply-add: about ten dispatches every step, which
//! on a small network cost as much as its training arithmetic (the linear network's whole
//! batch took 4-6 ms of a 50 ms step on SwiftShader,
//! `results/browser/bench-linear-webgpu-breakdown.txt`). Here one invocation per output value
//! reads its word from the chosen row, shifts its byte out and scales it.

use burn::backend::cubecl::dtype_to_storage_type;
use burn::tensor::{DType, Shape};
use burn_cubecl::cubecl;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_dtype;
use burn_cubecl::tensor::CubeTensor;

use super::gpu_tile::{elementwise_count, elementwise_position, u, ELEMENTWISE_GROUP};

#[cube(launch)]
fn gather_unpack_kernel<I: Int, F: Float>(
    packed: &Tensor<I>,
    indices: &Tensor<I>,
    out: &mut Tensor<F>,
    total: u32,
    words: u32,
    rows: u32,
    scale: f32,
    offset: f32,
    #[define(I, F)] _dtypes: [ElemType; 2],
) {
    let at = elementwise_position();
    if at < total {
        let values = words * 4;
        let image = at / values;
        let byte = at - image * values;
        // An index outside the split (never produced by the trainer) reads its last row.
        let wanted = u32::cast_from(indices[image as usize]);
        let row = select(wanted < rows, wanted, rows - 1);
        let word = u32::cast_from(packed[(row * words + byte / 4) as usize]);
        let value = (word >> ((byte % 4) * 8)) & 255;
        out[at as usize] = F::cast_from(value) * F::cast_from(scale) + F::cast_from(offset);
    }
}

/// Rows `indices` of `packed` `[rows, words]`, each word's four bytes (lowest first) as
/// `byte·scale + offset`: `[indices, words·4]` f32.
pub fn gather_unpack(packed: CubeTensor, indices: CubeTensor, scale: f32, offset: f32) -> CubeTensor {
    let (packed, indices) = (into_contiguous(packed), into_contiguous(indices));
    let [rows, words] = packed.meta.shape().dims::<2>();
    let batch = indices.meta.shape().num_elements();
    let out = empty_device_dtype(packed.client.clone(), packed.device.clone(), Shape::new([batch, words * 4]), DType::F32);
    let total = batch * words * 4;
    let dtypes = [dtype_to_storage_type(packed.dtype), dtype_to_storage_type(out.dtype)];
    gather_unpack_kernel::launch(
        &out.client,
        elementwise_count(total),
        CubeDim::new_1d(ELEMENTWISE_GROUP),
        packed.into_tensor_arg(),
        indices.into_tensor_arg(),
        out.clone().into_tensor_arg(),
        u(total),
        u(words),
        u(rows),
        scale,
        offset,
        dtypes,
    );
    out
}
