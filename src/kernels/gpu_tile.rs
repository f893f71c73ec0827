//! What our WebGPU kernels share: the grid of the element-wise ones (one invocation per value,
//! or per four where [`vector_width`] allows; [`ELEMENTWISE_GROUP`], [`elementwise_position`],
//! [`elementwise_count`]), and the register
//! tile of the two matrix-product ones ([`super::gpu_conv`], [`super::gpu_dense`]):
//! each invocation keeps an `rm x rn` block of sums in registers and, per step of the shared
//! dimension, loads `rm` left values and `rn` right values, each of which then serves `rn` or
//! `rm` products. Loads never sit behind a branch (a missing row or column reads a clamped
//! address and is never stored): on SwiftShader, which runs divergent code under a lane mask,
//! masked loads take a slow path (`results/browser/bench-webgpu-conv.txt`).

use std::sync::atomic::{AtomicU8, Ordering};

use burn::backend::cubecl::dtype_to_storage_type;
use burn::tensor::{DType, Shape};
use burn_cubecl::cubecl;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_dtype;
use burn_cubecl::tensor::CubeTensor;

/// Invocations per workgroup of an element-wise kernel.
pub const ELEMENTWISE_GROUP: u32 = 256;
/// Workgroups along x before the rest go along y (WebGPU allows 65,535 per axis).
const ROW_OF_GROUPS: u32 = 32_768;

/// The value this invocation of an element-wise kernel launched with
/// [`elementwise_count`] handles (at or past the total in a last workgroup: check it).
#[cube]
pub fn elementwise_position() -> u32 {
    (CUBE_POS_Y * ROW_OF_GROUPS + CUBE_POS_X) * ELEMENTWISE_GROUP + UNIT_POS_X
}

/// Workgroups of [`ELEMENTWISE_GROUP`] invocations for `total` values.
pub fn elementwise_count(total: usize) -> CubeCount {
    let groups = u(total.div_ceil(ELEMENTWISE_GROUP as usize));
    CubeCount::Static(groups.min(ROW_OF_GROUPS), groups.div_ceil(ROW_OF_GROUPS), 1)
}

/// The sum of every invocation's `value` in a workgroup of `1 << levels` invocations along x,
/// returned to all of them: a tree in workgroup memory `sums` (one value per invocation), one
/// barrier per level.
#[cube]
pub fn workgroup_sum<F: Float>(sums: &mut Shared<[F]>, value: F, #[comptime] levels: u32) -> F {
    sums[UNIT_POS_X as usize] = value;
    sync_cube();
    #[unroll]
    for level in 0..levels {
        let half = comptime![1u32 << (levels - 1 - level)];
        if UNIT_POS_X < half {
            let other = sums[(UNIT_POS_X + half) as usize];
            sums[UNIT_POS_X as usize] += other;
        }
        sync_cube();
    }
    let total = sums[0];
    // Every invocation reads the total before the memory is used again.
    sync_cube();
    total
}

/// log2 of the invocations per channel of a per-channel kernel ([`ChannelLayout`]).
pub const CHANNEL_LEVELS: u32 = 8;
/// Invocations per channel of a per-channel kernel: one workgroup per channel, each invocation
/// walking a strided share of the channel's `batch x positions` values ([`channel_share`],
/// [`channel_at`]), their sums added across the workgroup ([`workgroup_sum`]). Batch
/// normalisation's kernels and the convolution's bias gradient.
pub const CHANNEL_GROUP: u32 = 1 << CHANNEL_LEVELS;

/// `[batch, channels, positions]`, as the per-channel kernels read them (positions counted in
/// the values, or vectors of values, each load takes).
#[derive(CubeLaunch, CubeType, Clone, Copy, Debug)]
pub struct ChannelLayout {
    pub channels: u32,
    pub positions: u32,
    /// batch x positions: the values per channel.
    pub count: u32,
}

/// Where this channel's `i`-th value (image after image) is.
#[cube]
pub fn channel_at(l: &ChannelLayout, channel: u32, i: u32) -> u32 {
    let image = i / l.positions;
    (image * l.channels + channel) * l.positions + i - image * l.positions
}

/// How many of the channel's values this invocation walks (`i = UNIT_POS_X + k·CHANNEL_GROUP`).
#[cube]
pub fn channel_share(l: &ChannelLayout) -> u32 {
    (l.count + CHANNEL_GROUP - 1 - UNIT_POS_X) / CHANNEL_GROUP
}

/// `x` `[batch, channels, ...]` as a [`ChannelLayout`] read `width` values a load (`width`
/// dividing the positions per plane), and its channels.
pub fn channel_layout(x: &CubeTensor, width: usize) -> (usize, ChannelLayoutLaunch) {
    let shape = x.meta.shape();
    let (batch, channels) = (shape[0], shape[1]);
    let positions = shape.num_elements() / (batch * channels).max(1) / width;
    (channels, ChannelLayoutLaunch::new(u(channels), u(positions), u(batch * positions)))
}

/// `count` sums, each its own mutable variable starting at zero (a pushed constant could not
/// be added to: the IR verifier rejects it).
#[cube]
pub fn zero_sums<F: Float>(#[comptime] count: u32) -> Sequence<F> {
    let mut acc = Sequence::<F>::new();
    #[unroll]
    for _ in 0..count {
        let mut zero = F::new(0.0);
        zero += F::new(0.0);
        acc.push(zero);
    }
    acc
}

/// Adds `a[i] · b[j]` to every sum: `a` this step's left values (rows), `b` its right values
/// (columns).
#[cube]
pub fn accumulate<F: Float>(acc: &mut Sequence<F>, a: &Sequence<F>, b: &Sequence<F>, #[comptime] rm: u32, #[comptime] rn: u32) {
    #[unroll]
    for i in 0..rm {
        #[unroll]
        for j in 0..rn {
            let sum = acc.index_mut((i * rn + j) as usize);
            *sum += *a.index(i as usize) * *b.index(j as usize);
        }
    }
}

/// This step's left values: `a[at + offsets[i]]` for the tile's rows `i`.
#[cube]
pub fn left_values<F: Float>(a: &Tensor<F>, at: u32, offsets: &Sequence<u32>, #[comptime] rm: u32) -> Sequence<F> {
    let mut values = Sequence::<F>::new();
    #[unroll]
    for i in 0..rm {
        values.push(a[(at + *offsets.index(i as usize)) as usize]);
    }
    values
}

/// Row `i`'s offset in the left matrix, `i·stride`; a row past `rows` (the last tile's missing
/// ones) reads row `rows - 1`, so no branch surrounds the load.
#[cube]
pub fn row_offsets(rows: u32, stride: u32, #[comptime] rm: u32) -> Sequence<u32> {
    let mut offsets = Sequence::<u32>::new();
    #[unroll]
    for i in 0..rm {
        offsets.push(select(i < rows, i + 0 * rows, rows - 1) * stride);
    }
    offsets
}

/// How many of the `rm` rows from `row0` on exist in an `m`-row product (`rm` except in a
/// last, partial tile).
#[cube]
pub fn tile_rows(m: u32, row0: u32, #[comptime] rm: u32) -> u32 {
    select(m - row0 < rm, m - row0, rm + 0 * m)
}

/// The invocation's `rn` columns, `col0 + j·wide`, each clamped to the last of `n` (a missing
/// column computes a copy that is never stored).
#[cube]
pub fn tile_columns(col0: u32, n: u32, #[comptime] wide: u32, #[comptime] rn: u32) -> Sequence<u32> {
    let mut columns = Sequence::<u32>::new();
    #[unroll]
    for j in 0..rn {
        let col = col0 + j * wide;
        columns.push(select(col < n, col, n - 1));
    }
    columns
}

/// This step's right values: `b[bases[j] + offset]` for the invocation's columns `j`.
#[cube]
pub fn right_values<F: Float>(b: &Tensor<F>, bases: &Sequence<u32>, offset: u32, #[comptime] rn: u32) -> Sequence<F> {
    let mut values = Sequence::<F>::new();
    #[unroll]
    for j in 0..rn {
        values.push(b[(*bases.index(j as usize) + offset) as usize]);
    }
    values
}

/// Rows and columns per invocation and invocations per workgroup for an `m x n` product, on
/// a GPU or (`software`) on a software adapter ([`on_software`]).
///
/// On a GPU, 8 x 8 sums per invocation: each value loaded serves eight. A narrow product (the
/// first convolution's weight gradient has 9 columns, the last dense layer 10) gets a narrow
/// workgroup rather than idle invocations. A wider one takes 8 columns per invocation and the
/// workgroup width (a multiple of 4, SwiftShader's SIMD width) that wastes the fewest columns,
/// 16 (or, past 1,024 columns, 64) when several fit: the weight gradients' 288 columns are 3
/// workgroups of 12 invocations, not 3 of 16 with a quarter of them idle. Measured on
/// SwiftShader against 2 and 4 columns and 16 rows (`results/browser/bench-webgpu-conv.txt`).
///
/// On a software adapter, 16 rows (the convolution's forward and input gradient there take a
/// layout of their own, `gpu_conv`'s `conv_rows`, 8 x 16 along the input's rows, and its
/// weight gradient another, `wgrad_rows`, but for the first convolution's): SwiftShader compiles every load whose address is not known
/// when the shader is compiled as four scalar loads behind four lane-mask branches, and its
/// multiply-adds are nearly free beside them (3% of a VGG-like step's samples in its JIT code,
/// against about two thirds in moving lanes in and out of vectors and through the stack), so a
/// kernel costs what its loads cost, and 16 x 8 sums load 24 values per 128 products instead
/// of 16 per 64. Measured in Chromium on SwiftShader, interleaved with the 8 x 8 build: the
/// VGG-like step 4-15% faster (2,450-2,870 against 2,880-2,990 ms), the linear one 10-15%; the
/// first step's shader compilation 14-16 s against 9 (the JIT compiles each kernel's longer
/// unrolled body). 16 x 16 was 21% faster but took 37 s to compile: not worth a first step
/// that long (with the kernel's rows loop not unrolled, 26 s and slower than 16 x 8; 16 x 16
/// only in the kernels whose loop body is one step, the dense products and weight gradients,
/// whose bodies compile quickly: 1-2% slower, `bench-webgpu-one-step-tiles.txt`; 16 x 16 only
/// for the second convolution's forward and input gradient: no faster, first step 25 s,
/// `bench-webgpu-big-conv-tiles.txt`). A GPU's
/// registers are what 16 rows would spend, so a GPU keeps 8
/// (`results/browser/bench-webgpu-swiftshader-loads.txt`).
///
/// A narrow product on a software adapter (the dense layers' 10 outputs, the first
/// convolution's 9 weight-gradient columns) is one SIMD group wide, [`SOFTWARE_SIMD`]
/// invocations, each taking every fourth column: with one column each, an invocation loaded
/// 17 values per 16 products and a 16-wide workgroup left 6 of 16 invocations computing copies;
/// so 19 loads per 48 products for 10 columns. Measured on the linear network's step, whose two
/// products (64 x 784 x 10 and its weight gradient) took about 2.6 and 3.1 ms of its 10.5
/// (`results/browser/bench-webgpu-narrow.txt`).
pub fn tile(m: usize, n: usize, software: bool) -> (u32, u32, u32) {
    let rm = m.clamp(1, if software { 16 } else { 8 }) as u32;
    let preferred: &[usize] = match n {
        0..=16 if software => return (rm, u(n.div_ceil(SOFTWARE_SIMD).max(1)), SOFTWARE_SIMD as u32),
        0..=16 => return (rm, 1, 16),
        17..=64 => return (rm, 1, 64),
        65..=1024 => &[16, 12, 20, 24, 28, 32, 8],
        _ => &[64, 32, 48, 16, 24, 12, 20, 28, 8],
    };
    let units = n.div_ceil(8);
    let waste = |wide: usize| units.div_ceil(wide) * wide - units;
    let wide = preferred.iter().copied().min_by_key(|&w| waste(w)).unwrap_or(16);
    (rm, 8, wide as u32)
}

/// SwiftShader's SIMD width: the invocations it runs side by side, one per lane.
const SOFTWARE_SIMD: usize = 4;

/// Whether `t` lives on a software adapter: no card behind the device (cubecl's identity of
/// it has no physical device when wgpu reports a CPU, which the browser's fallback adapter,
/// SwiftShader in Chrome, is).
pub fn on_software(t: &CubeTensor) -> bool {
    match TILES_AS_IF_SOFTWARE.load(Ordering::Relaxed) {
        AUTO => t.client.properties().identity.physical.is_none(),
        flag => flag == SOFTWARE,
    }
}

const AUTO: u8 = 0;
const GPU: u8 = 1;
const SOFTWARE: u8 = 2;

/// [`tile`]'s choice made as if on a software adapter (`Some(true)`), a GPU (`Some(false)`)
/// or as the device says (`None`), so that the browser tests, which only have SwiftShader,
/// check the products with a GPU's tiles too.
static TILES_AS_IF_SOFTWARE: AtomicU8 = AtomicU8::new(AUTO);

/// See [`TILES_AS_IF_SOFTWARE`]; for tests.
pub fn choose_tiles_as_if_software(software: Option<bool>) {
    let flag = match software {
        None => AUTO,
        Some(false) => GPU,
        Some(true) => SOFTWARE,
    };
    TILES_AS_IF_SOFTWARE.store(flag, Ordering::Relaxed);
}

pub fn u(v: usize) -> u32 {
    u32::try_from(v).expect("a kernel's sizes should fit in 32 bits")
}

/// A new tensor of `shape` on `like`'s device, with its dtype; its values are undefined.
pub fn output(like: &CubeTensor, shape: Shape) -> CubeTensor {
    empty_device_dtype(like.client.clone(), like.device.clone(), shape, like.dtype)
}

/// ReLU's backward, `dz = dy` where `y > 0`, else 0; or, with `y` bound twice
/// (`backward = false`), ReLU itself. `N` values per invocation ([`vector_width`]).
#[cube(launch)]
fn relu_kernel<F: Float, N: Size>(
    y: &Tensor<Vector<F, N>>,
    dy: &Tensor<Vector<F, N>>,
    out: &mut Tensor<Vector<F, N>>,
    total: u32,
    #[comptime] backward: bool,
    #[define(F)] _dtype: ElemType,
) {
    let at = elementwise_position();
    if at < total {
        let v = y[at as usize];
        let passed = if comptime![backward] { dy[at as usize] } else { v };
        out[at as usize] = select_many(v.greater_than(&Vector::zero()), passed, Vector::zero());
    }
}

/// Values per invocation of an element-wise kernel over `total` values: 4 (one `vec4` load or
/// store each) when they divide evenly, else 1. On SwiftShader every load or store whose
/// address depends on the invocation is emitted as a per-lane gather, and its cost is per
/// access rather than per byte: a ReLU backward over 1.18 million values took 40 ns a value
/// one float at a time and 14.5 as `vec4`s (dawn.node on SwiftShader, WGSL written by hand,
/// `results/browser/bench-webgpu-vec4.txt`).
pub fn vector_width(total: usize) -> usize {
    if total % 4 == 0 { 4 } else { 1 }
}

fn launch_relu(y: CubeTensor, dy: CubeTensor, backward: bool) -> CubeTensor {
    let out = output(&y, y.meta.shape().clone());
    let total = out.meta.shape().num_elements();
    let width = vector_width(total);
    let invocations = total / width;
    relu_kernel::launch(
        &out.client,
        elementwise_count(invocations),
        CubeDim::new_1d(ELEMENTWISE_GROUP),
        width,
        y.into_tensor_arg(),
        dy.into_tensor_arg(),
        out.clone().into_tensor_arg(),
        u(invocations),
        backward,
        dtype_to_storage_type(out.dtype),
    );
    out
}

/// The gradient through a ReLU whose output was `y`: `dy` where `y` is positive, zero elsewhere
/// (one pass; burn's is a comparison and a masked fill). The backward of our layers with a
/// fused ReLU.
pub fn relu_grad(y: CubeTensor, dy: CubeTensor) -> CubeTensor {
    launch_relu(into_contiguous(y), into_contiguous(dy), true)
}

/// The ReLU of `t`, in one pass.
pub fn relu_of(t: CubeTensor) -> CubeTensor {
    let t = into_contiguous(t);
    launch_relu(t.clone(), t, false)
}

/// Whether these kernels take tensors of this type (f32; anything else takes burn's path).
pub fn supports(dtype: DType) -> bool {
    dtype == DType::F32
}
