//! Batch normalisation in training mode on WebGPU (burn's cubecl backend), forward and
//! backward, one kernel each: the GPU side of [`super::batch_norm`].
//!
//! Why: burn-nn's `BatchNorm` builds the training-mode normalisation from general tensor
//! operations (means over swapped dimensions, a chain of broadcast element-wise operations,
//! and their gradients), about two dozen dispatches per layer and step. The BatchNorm network
//! has five such layers: natively through wgpu on SwiftShader its step took 2,719 ms against
//! 1,541 for the same network without them (`results/browser/
//! bench-webgpu-kernels-tfjs-dawn-native.log`).
//!
//! One workgroup per channel, [`CHANNEL_GROUP`](super::gpu_tile::CHANNEL_GROUP) invocations,
//! each walking a strided share of the channel's `batch x positions` values (the walk the
//! convolution's bias gradient shares, [`super::gpu_tile::ChannelLayout`]); sums are added across the workgroup in workgroup
//! memory (a tree, one barrier per level). Forward: the mean, then the biased variance from it
//! (two passes: a mean far from zero would cancel `Σx²` against `(Σx)²` in f32), then the
//! output, `(x - mean) · γ / sqrt(var + ε) + β`. Backward, with `x̂ = (x - mean) / sqrt(var + ε)`:
//! `dβ = Σ dy`, `dγ = Σ dy · x̂`, then `dx = γ / sqrt(var + ε) · (dy - dβ / n - x̂ · dγ / n)`.
//! The same formulas as the CPU kernel, [`super::batch_norm`].

use burn::backend::cubecl::dtype_to_storage_type;
use burn::backend::ops::FloatTensorOps;
use burn::tensor::{DType, Shape, Slice};
use burn_cubecl::cubecl;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::CubeBackend;

use super::gpu_tile::{channel_at, channel_layout, channel_share, output, u, workgroup_sum, ChannelLayout, CHANNEL_GROUP, CHANNEL_LEVELS};

#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn forward_kernel<F: Float>(
    x: &Tensor<F>,
    gamma: &Tensor<F>,
    beta: &Tensor<F>,
    y: &mut Tensor<F>,
    mean_out: &mut Tensor<F>,
    var_out: &mut Tensor<F>,
    l: &ChannelLayout,
    epsilon: f32,
    #[define(F)] _dtype: ElemType,
) {
    let channel = CUBE_POS_X;
    let mut sums = Shared::<[F]>::new_slice(CHANNEL_GROUP as usize);
    let n = F::cast_from(l.count);
    let steps = channel_share(l);
    let mut sum = F::new(0.0);
    for k in 0..steps {
        sum += x[channel_at(l, channel, UNIT_POS_X + k * CHANNEL_GROUP) as usize];
    }
    let mean = workgroup_sum::<F>(&mut sums, sum, CHANNEL_LEVELS) / n;
    let mut squares = F::new(0.0);
    for k in 0..steps {
        let d = x[channel_at(l, channel, UNIT_POS_X + k * CHANNEL_GROUP) as usize] - mean;
        squares += d * d;
    }
    let variance = workgroup_sum::<F>(&mut sums, squares, CHANNEL_LEVELS) / n;
    let scale = gamma[channel as usize] * F::inverse_sqrt(variance + F::cast_from(epsilon));
    let shift = beta[channel as usize];
    for k in 0..steps {
        let index = channel_at(l, channel, UNIT_POS_X + k * CHANNEL_GROUP) as usize;
        y[index] = (x[index] - mean) * scale + shift;
    }
    if UNIT_POS_X == 0 {
        mean_out[channel as usize] = mean;
        var_out[channel as usize] = variance;
    }
}

#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn backward_kernel<F: Float>(
    x: &Tensor<F>,
    gamma: &Tensor<F>,
    mean: &Tensor<F>,
    variance: &Tensor<F>,
    dy: &Tensor<F>,
    dx: &mut Tensor<F>,
    // dγ then dβ, one tensor: WebGPU's default limits allow 8 storage buffers per kernel and
    // cubecl binds one of its own.
    dgamma_dbeta: &mut Tensor<F>,
    l: &ChannelLayout,
    epsilon: f32,
    #[define(F)] _dtype: ElemType,
) {
    let channel = CUBE_POS_X;
    let mut sums = Shared::<[F]>::new_slice(CHANNEL_GROUP as usize);
    let n = F::cast_from(l.count);
    let steps = channel_share(l);
    let m = mean[channel as usize];
    let inv = F::inverse_sqrt(variance[channel as usize] + F::cast_from(epsilon));
    let mut sum = F::new(0.0);
    let mut sum_xhat = F::new(0.0);
    for k in 0..steps {
        let index = channel_at(l, channel, UNIT_POS_X + k * CHANNEL_GROUP) as usize;
        let g = dy[index];
        sum += g;
        sum_xhat += g * (x[index] - m) * inv;
    }
    let total = workgroup_sum::<F>(&mut sums, sum, CHANNEL_LEVELS);
    let total_xhat = workgroup_sum::<F>(&mut sums, sum_xhat, CHANNEL_LEVELS);
    let k_dy = gamma[channel as usize] * inv;
    for k in 0..steps {
        let index = channel_at(l, channel, UNIT_POS_X + k * CHANNEL_GROUP) as usize;
        let xhat = (x[index] - m) * inv;
        dx[index] = k_dy * (dy[index] - total / n - xhat * total_xhat / n);
    }
    if UNIT_POS_X == 0 {
        dgamma_dbeta[channel as usize] = total_xhat;
        dgamma_dbeta[(l.channels + channel) as usize] = total;
    }
}

/// The output, and the batch's mean and biased variance per channel.
pub fn forward(x: CubeTensor, gamma: CubeTensor, beta: CubeTensor, epsilon: f64) -> (CubeTensor, CubeTensor, CubeTensor) {
    let (x, gamma, beta) = (into_contiguous(x), into_contiguous(gamma), into_contiguous(beta));
    let (channels, l) = channel_layout(&x, 1);
    let y = output(&x, x.meta.shape().clone());
    let (mean, variance) = (output(&x, Shape::new([channels])), output(&x, Shape::new([channels])));
    forward_kernel::launch(
        &y.client,
        CubeCount::Static(u(channels), 1, 1),
        CubeDim::new_1d(CHANNEL_GROUP),
        x.into_tensor_arg(),
        gamma.into_tensor_arg(),
        beta.into_tensor_arg(),
        y.clone().into_tensor_arg(),
        mean.clone().into_tensor_arg(),
        variance.clone().into_tensor_arg(),
        l,
        epsilon as f32,
        dtype_to_storage_type(y.dtype),
    );
    (y, mean, variance)
}

/// The gradients with respect to `x`, γ and β.
pub fn backward(
    x: CubeTensor,
    gamma: CubeTensor,
    mean: CubeTensor,
    variance: CubeTensor,
    epsilon: f64,
    dy: CubeTensor,
) -> (CubeTensor, CubeTensor, CubeTensor) {
    let (x, gamma, dy) = (into_contiguous(x), into_contiguous(gamma), into_contiguous(dy));
    let (mean, variance) = (into_contiguous(mean), into_contiguous(variance));
    let (channels, l) = channel_layout(&x, 1);
    let dx = output(&x, x.meta.shape().clone());
    let dgamma_dbeta = output(&x, Shape::new([2 * channels]));
    backward_kernel::launch(
        &dx.client,
        CubeCount::Static(u(channels), 1, 1),
        CubeDim::new_1d(CHANNEL_GROUP),
        x.into_tensor_arg(),
        gamma.into_tensor_arg(),
        mean.into_tensor_arg(),
        variance.into_tensor_arg(),
        dy.into_tensor_arg(),
        dx.clone().into_tensor_arg(),
        dgamma_dbeta.clone().into_tensor_arg(),
        l,
        epsilon as f32,
        dtype_to_storage_type(dx.dtype),
    );
    let half = |i: usize| {
        let range = Slice::new((i * channels) as isize, Some(((i + 1) * channels) as isize), 1);
        CubeBackend::float_slice(dgamma_dbeta.clone(), &[range])
    };
    (dx, half(0), half(1))
}

/// Whether these kernels take tensors of this type (f32; anything else takes burn's path).
pub fn supports(dtype: DType) -> bool {
    dtype == DType::F32
}
