//! A training batch gathered and unpacked on WebGPU in one kernel: the GPU side of
//! [`super::gather_batch`].
//!
//! Why: with burn's operations a batch is a row `select`, four shifts and masks of the packed
//! words, a concatenation, a cast and a multiply-add: about ten dispatches every step, which
//! on a small network cost as much as its training arithmetic (the linear network's whole
//! batch took 4-6 ms of a 50 ms step on SwiftShader,
//! `results/browser/bench-linear-webgpu-breakdown.txt`). Here one invocation per packed word
//! reads it from the chosen row, shifts its four bytes out and scales them; the first of each
//! image's invocations also copies its label. The rows are read through the epoch's shuffled
//! order from the batch's first position on, so neither the order's slice nor the labels'
//! `select` is a dispatch of its own (two of the twenty a linear step took on WebGPU).

use burn::backend::cubecl::dtype_to_storage_type;
use burn::tensor::{DType, Shape};
use burn_cubecl::cubecl;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_dtype;
use burn_cubecl::tensor::CubeTensor;

use super::gpu_tile::{elementwise_count, elementwise_position, u, ELEMENTWISE_GROUP};

/// One invocation per packed word: its four pixels written, lowest byte first. Per word, not
/// per pixel, because on SwiftShader a kernel costs its loads (each one four scalar loads behind
/// lane-mask branches): a word's index and the word itself were loaded once per pixel, four
/// times over (`results/browser/bench-webgpu-narrow.txt`).
#[cube(launch)]
fn gather_batch_kernel<I: Int, F: Float>(
    packed: &Tensor<I>,
    labels: &Tensor<I>,
    order: &Tensor<I>,
    images: &mut Tensor<F>,
    picked: &mut Tensor<I>,
    total_words: u32,
    words: u32,
    rows: u32,
    first: u32,
    scale: f32,
    offset: f32,
    #[define(I, F)] _dtypes: [ElemType; 2],
) {
    let at = elementwise_position();
    if at < total_words {
        let image = at / words;
        let w = at - image * words;
        // An index outside the split (never produced by the trainer) reads its last row.
        let wanted = u32::cast_from(order[(first + image) as usize]);
        let row = select(wanted < rows, wanted, rows - 1);
        let word = u32::cast_from(packed[(row * words + w) as usize]);
        let to = at * 4;
        #[unroll]
        for j in 0..4u32 {
            let value = (word >> (j * 8)) & 255;
            images[(to + j) as usize] = F::cast_from(value) * F::cast_from(scale) + F::cast_from(offset);
        }
        if w == 0 {
            picked[image as usize] = labels[row as usize];
        }
    }
}

/// The examples at `order[first..first + count]`: rows of `packed` `[rows, words]`, each
/// word's four bytes (lowest first) as `byte·scale + offset`, `[count, words·4]` f32, and their
/// `labels`, `[count]`.
pub fn gather_batch(packed: CubeTensor, labels: CubeTensor, order: CubeTensor, first: usize, count: usize, scale: f32, offset: f32) -> (CubeTensor, CubeTensor) {
    let (packed, labels, order) = (into_contiguous(packed), into_contiguous(labels), into_contiguous(order));
    let [rows, words] = packed.meta.shape().dims::<2>();
    assert!(first + count <= order.meta.shape().num_elements(), "a batch should lie within the order");
    let images = empty_device_dtype(packed.client.clone(), packed.device.clone(), Shape::new([count, words * 4]), DType::F32);
    let picked = empty_device_dtype(labels.client.clone(), labels.device.clone(), Shape::new([count]), labels.dtype);
    let total_words = count * words;
    let dtypes = [dtype_to_storage_type(packed.dtype), dtype_to_storage_type(images.dtype)];
    gather_batch_kernel::launch(
        &images.client,
        elementwise_count(total_words),
        CubeDim::new_1d(ELEMENTWISE_GROUP),
        packed.into_tensor_arg(),
        labels.into_tensor_arg(),
        order.into_tensor_arg(),
        images.clone().into_tensor_arg(),
        picked.clone().into_tensor_arg(),
        u(total_words),
        u(words),
        u(rows),
        u(first),
        scale,
        offset,
        dtypes,
    );
    (images, picked)
}
