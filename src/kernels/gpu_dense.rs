//! The dense (fully connected) layer on WebGPU (burn's cubecl backend): one matrix-product
//! kernel, [`product`], for its forward (with the bias added in the same pass) and both
//! gradients; the GPU side of [`super::dense`].
//!
//! Why: burn 0.22.1 built without `autotune` multiplies with its default routine, which on
//! SwiftShader took 337 ms for the VGG-like network's `[64, 1024] x [1024, 512]` forward and
//! about 1,000 ms for it and its two gradients, a third of the whole training step, and
//! 15-35 ms for the linear network's `[64, 784] x [784, 10]`, which is 1 MFLOP
//! (`results/browser/bench-webgpu-dense.txt`, `bench-linear-webgpu-breakdown.txt`).
//!
//! `c[m, n] = Σ_k a[m, k] · b[k, n]`, with `a` and `b` read through their strides: the
//! gradients' transposed operands (`dy · wᵀ`, `xᵀ · dy`) are burn's transposed views of the
//! same buffers, never copied. The register tile of [`super::gpu_tile`] (8 x 8 sums per
//! invocation, no branch around a load), columns consecutive across a workgroup's
//! invocations. A product with few output tiles and a long shared dimension (the forward's
//! 64 x 512 outputs over 1,024 products each) is split along `k` over the workgroups' z axis,
//! the partial products added by one reduction afterwards, so that a real GPU has thousands
//! of invocations to run rather than a few hundred.

use burn::backend::cubecl::dtype_to_storage_type;
use burn::backend::ops::FloatTensorOps;
use burn::tensor::{DType, Shape};
use burn_cubecl::cubecl;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::CubeBackend;

use super::gpu_tile::{accumulate, relu_of, left_values, on_software, output, right_values, row_offsets, tile, tile_columns, tile_rows, u, zero_sums};

/// The product's sizes and how its operands are laid out, as the kernel reads them.
#[derive(CubeLaunch, CubeType, Clone, Copy, Debug)]
pub struct Product {
    m: u32,
    n: u32,
    k: u32,
    /// `a[i, k]` is at `i·a_row + k·a_k`; `b[k, j]` at `k·b_k + j·b_col`.
    a_row: u32,
    a_k: u32,
    b_k: u32,
    b_col: u32,
    /// Steps of `k` per split (the whole of `k` when not split).
    k_per_split: u32,
}

/// One `rm x (wide·rn)` tile of `c` per workgroup of `wide` invocations (rows along the
/// workgroup's y, columns along x, splits of `k` along z, each writing its own `m x n` slice of
/// `out`); invocation `u` takes columns `u, u + wide, …`. The bias, one value per column, is
/// added by the first split only.
#[cube(launch)]
fn product_kernel<F: Float>(
    a: &Tensor<F>,
    b: &Tensor<F>,
    bias: &Tensor<F>,
    out: &mut Tensor<F>,
    p: &Product,
    #[comptime] rm: u32,
    #[comptime] rn: u32,
    #[comptime] wide: u32,
    #[comptime] with_bias: bool,
    #[comptime] relu: bool,
    #[define(F)] _dtype: ElemType,
) {
    let mut acc = zero_sums::<F>(rm * rn);
    let row0 = CUBE_POS_Y * rm;
    let col0 = CUBE_POS_X * wide * rn + UNIT_POS_X;
    let split = CUBE_POS_Z;
    let row_off = row_offsets(tile_rows(p.m, row0, rm), p.a_row, rm);
    let columns = tile_columns(col0, p.n, wide, rn);
    let mut bases = Sequence::<u32>::new();
    #[unroll]
    for j in 0..rn {
        bases.push(*columns.index(j as usize) * p.b_col);
    }
    let k_begin = split * p.k_per_split;
    let k_end = select(k_begin + p.k_per_split < p.k, k_begin + p.k_per_split, p.k);
    let a_at = row0 * p.a_row;
    for kk in k_begin..k_end {
        let av = left_values::<F>(a, a_at + kk * p.a_k, &row_off, rm);
        let bv = right_values::<F>(b, &bases, kk * p.b_k, rn);
        accumulate::<F>(&mut acc, &av, &bv, rm, rn);
    }
    #[unroll]
    for i in 0..rm {
        let row = row0 + i;
        #[unroll]
        for j in 0..rn {
            let col = col0 + j * wide;
            if row < p.m && col < p.n {
                let mut v = *acc.index((i * rn + j) as usize);
                if comptime![with_bias] {
                    if split == 0 {
                        v += bias[col as usize];
                    }
                }
                if comptime![relu] {
                    v = select(v > F::new(0.0), v, F::new(0.0));
                }
                out[((split * p.m + row) * p.n + col) as usize] = v;
            }
        }
    }
}

/// A 2-D tensor's element strides, as (rows, columns), if its buffer is read directly: row-major,
/// or a transposed view of a row-major tensor. Anything else is copied to row-major first.
fn layout(t: CubeTensor) -> (CubeTensor, usize, usize) {
    let (shape, strides) = (t.meta.shape().dims::<2>(), t.meta.strides().to_vec());
    let plain = t.is_contiguous_buffer() && strides.len() == 2;
    if plain && ((strides[1] == 1 && strides[0] == shape[1]) || (strides[0] == 1 && strides[1] == shape[0])) {
        return (t, strides[0], strides[1]);
    }
    let t = into_contiguous(t);
    (t, shape[1], 1)
}

/// How many ranges to split a product's `k` steps into: enough that about 4,096 invocations
/// run (a real GPU's many cores; on SwiftShader's few, more splits only add a reduction),
/// each range at least 64 steps long. A product under 4 million multiply-adds (the linear
/// network's 64 x 784 x 10) is not split: it is over in microseconds on a GPU either way, and
/// the reduction is one more dispatch, which costs more than that.
fn splits(invocations: usize, m: usize, n: usize, k: usize) -> usize {
    if m * n * k < 4 << 20 {
        return 1;
    }
    (4096 / invocations.max(1)).clamp(1, (k / 64).max(1))
}

/// `a` `[m, k]` · `b` `[k, n]` (+ `bias` `[n]` on every row) → `[m, n]`; with `relu`, its
/// ReLU (in the product's own pass unless the product is split, then after the sum).
pub fn product(a: CubeTensor, b: CubeTensor, bias: Option<CubeTensor>, relu: bool) -> CubeTensor {
    let ([m, k], [_, n]) = (a.meta.shape().dims::<2>(), b.meta.shape().dims::<2>());
    let ((a, a_row, a_k), (b, b_k, b_col)) = (layout(a), layout(b));
    let (rm, rn, wide) = tile(m, n, on_software(&a));
    let (groups_x, groups_y) = (u(n).div_ceil(wide * rn), u(m).div_ceil(rm));
    let splits = splits((groups_x * groups_y * wide) as usize, m, n, k);
    let k_per_split = k.div_ceil(splits);
    let splits = k.div_ceil(k_per_split.max(1)).max(1);
    let out = output(&a, Shape::new([splits, m, n]));
    let with_bias = bias.is_some();
    let bias = match bias {
        Some(bias) => into_contiguous(bias),
        // Never read, but a buffer must be bound: `a` is read-only.
        None => a.clone(),
    };
    product_kernel::launch(
        &out.client,
        CubeCount::Static(groups_x, groups_y, u(splits)),
        CubeDim::new_1d(wide),
        a.into_tensor_arg(),
        b.into_tensor_arg(),
        bias.into_tensor_arg(),
        out.clone().into_tensor_arg(),
        ProductLaunch::new(u(m), u(n), u(k), u(a_row), u(a_k), u(b_k), u(b_col), u(k_per_split)),
        rm,
        rn,
        wide,
        with_bias,
        relu && splits == 1,
        dtype_to_storage_type(out.dtype),
    );
    if splits == 1 {
        return CubeBackend::float_reshape(out, Shape::new([m, n]));
    }
    let summed = CubeBackend::float_reshape(CubeBackend::float_sum_dim(out, 0), Shape::new([m, n]));
    match relu {
        true => relu_of(summed),
        false => summed,
    }
}

/// Whether this kernel takes tensors of this type (f32; anything else takes burn's path).
pub fn supports(dtype: DType) -> bool {
    dtype == DType::F32
}
