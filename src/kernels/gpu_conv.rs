//! The valid, stride-1 convolution on WebGPU (burn's cubecl backend), forward and backward,
//! each as one implicit matrix product: the GPU side of [`super::conv`].
//!
//! Why: built without `autotune` (whose subgroup kernels Chrome rejects, see the README),
//! burn 0.22.1 runs its fallback kernels on WebGPU. Its weight gradient is a direct
//! convolution of the input by the output gradient, one invocation per weight summing over
//! the whole batch (for the second convolution 9,216 invocations of 36,864 products each: too
//! few threads for a real GPU), and its forward and input gradient re-read every input value
//! once per output channel.
//!
//! As matrix products (`P` output positions per image, `T` taps of the kernel):
//! - forward: `y[b, co, p] = bias[co] + Σ_(ci,t) w[co, ci, t] · x[b, ci, p + t]`
//!   (rows: c_out; columns: batch·P; sum: c_in·T);
//! - input gradient: `dx[b, ci, q] = Σ_(co,t) w[co, ci, t] · dy[b, co, q - t]`, zero where
//!   `q - t` falls outside `dy`: computed as the forward of `dy` padded with zeros by the
//!   kernel turned around (rows: c_in; columns: batch·H·W; sum: c_out·T); on a GPU a padded
//!   copy is made, on a software adapter [`conv_rows`] reads `dy` with the border implicit;
//! - weight gradient: `dw[co, ci, t] = Σ_(b,p) dy[b, co, p] · x[b, ci, p + t]` (rows: c_out;
//!   columns: c_in·T; sum: batch·P, a long one, so it is split by image over the workgroups'
//!   z axis and the partial products are added by one reduction afterwards: a 32 x 288 result
//!   then still occupies hundreds of workgroups).
//!
//! One kernel, [`conv_gemm`], does all three on a GPU; on a software adapter the forward and
//! the input gradient take [`conv_rows`], which loads each input value once per row of taps,
//! and the weight gradient [`wgrad_rows`] (but for an input of one channel, the first
//! convolution's, which keeps `conv_gemm`'s narrow tile). Each invocation keeps an `rm x rn` block of sums
//! in registers; its `rm` left values are the same for every invocation of the workgroup (one
//! broadcast load each on a GPU) and its `rn` right values are consecutive across invocations
//! (coalesced). No workgroup memory, no barrier, no subgroup or cooperative-matrix instruction:
//! it runs wherever WebGPU does, within WebGPU's default limits (4 storage buffers).
//!
//! Shaped by measurement on SwiftShader (Chromium's software WebGPU on this repository's
//! 2-core machines, `results/browser/bench-webgpu-conv.txt`), where a first version that
//! staged 16-deep tiles in workgroup memory behind two barriers per step was 1.5 times
//! *slower* than burn's direct kernels, and a register-only version with a branch around
//! every load no faster; what made the difference:
//! - no branch around any load in the inner loop (a tile's missing rows and columns read a
//!   clamped address and are never stored; the input gradient's zero border is a zero-padded
//!   copy of `dy` for `conv_gemm`, a `select` of zero over a load from a valid address in
//!   `conv_rows`),
//!   since SwiftShader runs divergent code under a lane mask and takes its slow path for
//!   masked loads;
//! - 8 x 8 sums per invocation, each row's offset computed once: each value loaded serves
//!   eight products;
//! - the shared dimension walked as nested loops (channel, then the taps unrolled at compile
//!   time; or image, row, column) rather than decoded from a flat index: no integer division
//!   in the inner loop (SwiftShader scalarises them).
//!
//! Checked against burn's own convolution on the same WebGPU device, output and all three
//! gradients, at the network's shapes and odd ones (`tests/web.rs`,
//! `our_webgpu_convolution_matches_burns_values_and_gradients`).

use burn::backend::cubecl::dtype_to_storage_type;
use burn::backend::ops::FloatTensorOps;
use burn::tensor::{DType, Shape};
use burn_cubecl::cubecl;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::CubeBackend;

use super::gpu_tile::{
    accumulate, channel_at, channel_layout, channel_share, elementwise_count, elementwise_position, left_values, on_software, output, right_values, row_offsets, tile,
    tile_columns, tile_rows, u, vector_width, workgroup_sum, zero_sums, ChannelLayout, CHANNEL_GROUP, CHANNEL_LEVELS, ELEMENTWISE_GROUP,
};

const FORWARD: u32 = 0;
const INPUT_GRAD: u32 = 1;
const WEIGHT_GRAD: u32 = 2;

/// The convolution's sizes, as the kernel reads them.
#[derive(CubeLaunch, CubeType, Clone, Copy, Debug)]
pub struct Geometry {
    batch: u32,
    c_in: u32,
    height: u32,
    width: u32,
    c_out: u32,
    out_height: u32,
    out_width: u32,
    /// Rows and columns of the product.
    m: u32,
    n: u32,
    /// Images per workgroup along z (the weight gradient's split sum).
    images_per_split: u32,
}

/// One `rm x (wide·rn)` tile of the product per workgroup of `wide` invocations (rows along
/// the workgroup's y, columns along x, the weight gradient's image ranges along z); invocation
/// `u` takes columns `u, u + wide, …`. `kh x kw` is the convolution's kernel.
#[cube(launch)]
fn conv_gemm<F: Float>(
    a: &Tensor<F>,
    b: &Tensor<F>,
    bias: &Tensor<F>,
    out: &mut Tensor<F>,
    g: &Geometry,
    #[comptime] mode: u32,
    #[comptime] kh: u32,
    #[comptime] kw: u32,
    #[comptime] rm: u32,
    #[comptime] rn: u32,
    #[comptime] wide: u32,
    #[comptime] with_bias: bool,
    #[comptime] relu: bool,
    #[define(F)] _dtype: ElemType,
) {
    let taps = comptime![kh * kw];
    let mut acc = zero_sums::<F>(rm * rn);
    let row0 = CUBE_POS_Y * rm;
    let col0 = CUBE_POS_X * wide * rn + UNIT_POS_X;
    let split = CUBE_POS_Z;
    let in_plane = g.height * g.width;
    let out_plane = g.out_height * g.out_width;
    let rows = tile_rows(g.m, row0, rm);
    let columns = tile_columns(col0, g.n, wide, rn);

    // Per column: where its right values start.
    let mut bases = Sequence::<u32>::new();
    #[unroll]
    for j in 0..rn {
        let c = *columns.index(j as usize);
        if comptime![mode == WEIGHT_GRAD] {
            let ci = c / taps;
            let t = c - ci * taps;
            let ky = t / kw;
            bases.push(ci * in_plane + ky * g.width + t - ky * kw);
        } else {
            let img = c / out_plane;
            let p = c - img * out_plane;
            let oy = p / g.out_width;
            bases.push(img * g.c_in * in_plane + oy * g.width + p - oy * g.out_width);
        }
    }

    // Rows' offsets in the left matrix, once.
    let row_stride = if comptime![mode == FORWARD] {
        g.c_in * taps
    } else if comptime![mode == INPUT_GRAD] {
        taps + 0 * g.m
    } else {
        out_plane
    };
    let row_off = row_offsets(rows, row_stride, rm);

    if comptime![mode != WEIGHT_GRAD] {
        // Step (ci, ky, kx): right x[img, ci, oy + ky, ox + kx]; left w[row, ci, ky, kx] for
        // the forward, and for the input gradient (x being dy padded, ci an output channel)
        // the kernel turned around, w[ci, row, kh - 1 - ky, kw - 1 - kx].
        for ci in 0..g.c_in {
            #[unroll]
            for t in 0..taps {
                let (ky, kx) = comptime![(t / kw, t % kw)];
                let at = if comptime![mode == FORWARD] {
                    (row0 * g.c_in + ci) * taps + t
                } else {
                    (ci * g.c_out + row0) * taps + comptime![taps - 1 - t]
                };
                let av = left_values::<F>(a, at, &row_off, rm);
                let bv = right_values::<F>(b, &bases, ci * in_plane + ky * g.width + kx, rn);
                accumulate::<F>(&mut acc, &av, &bv, rm, rn);
            }
        }
    } else {
        // Step (img, oy, ox) over this split's images: left dy[img, row, oy, ox], right
        // x[img, ci, oy + ky, ox + kx].
        let img_begin = split * g.images_per_split;
        let img_end = select(img_begin + g.images_per_split < g.batch, img_begin + g.images_per_split, g.batch);
        for img in img_begin..img_end {
            for oy in 0..g.out_height {
                for ox in 0..g.out_width {
                    let at = (img * g.c_out + row0) * out_plane + oy * g.out_width + ox;
                    let av = left_values::<F>(a, at, &row_off, rm);
                    let bv = right_values::<F>(b, &bases, img * g.c_in * in_plane + oy * g.width + ox, rn);
                    accumulate::<F>(&mut acc, &av, &bv, rm, rn);
                }
            }
        }
    }

    #[unroll]
    for i in 0..rm {
        let row = row0 + i;
        #[unroll]
        for j in 0..rn {
            let col = col0 + j * wide;
            if row < g.m && col < g.n {
                out[out_index(g, row, col, split, mode) as usize] = finished::<F>(*acc.index((i * rn + j) as usize), bias, row, with_bias, relu);
            }
        }
    }
}

/// A sum as stored: plus the row's bias, then through the ReLU, where the launch asks.
#[cube]
fn finished<F: Float>(sum: F, bias: &Tensor<F>, row: u32, #[comptime] with_bias: bool, #[comptime] relu: bool) -> F {
    let mut v = sum;
    if comptime![with_bias] {
        v += bias[row as usize];
    }
    if comptime![relu] {
        v = select(v > F::new(0.0), v, F::new(0.0));
    }
    v
}

/// Where output element `(row, col)` goes (for the weight gradient, in this split's slice).
#[cube]
fn out_index(g: &Geometry, row: u32, col: u32, split: u32, #[comptime] mode: u32) -> u32 {
    if comptime![mode == WEIGHT_GRAD] {
        (split * g.m + row) * g.n + col
    } else {
        let positions = g.out_height * g.out_width;
        let img = col / positions;
        (img * g.c_out + row) * positions + col - img * positions
    }
}

/// Where [`conv_rows`]'s blocks lie: each image's output positions counted along the input's
/// rows (`oy·width + ox`, `width` the input's), cut into `blocks_per_image` runs of `rn`.
#[derive(CubeLaunch, CubeType, Clone, Copy, Debug)]
pub struct Runs {
    blocks: u32,
    blocks_per_image: u32,
    /// The last index of the right matrix: a window running past it reads this value instead
    /// (only the last image's last runs do, and their sums are never stored).
    last: u32,
}

/// The forward and the input gradient on a software adapter: [`conv_gemm`]'s product with each
/// invocation's `rn` columns one run of consecutive output positions along the input's rows,
/// so that a row of the kernel's taps reads one window of `rn + kw - 1` input values, loaded
/// once and shared by its `kw` taps (`conv_gemm`'s columns are `wide` apart, so each tap loads
/// its own `rn`). Counted along the input's rows, an output position's inputs are at
/// `position + ky·width + kx` whichever row it is on, so a run may cross rows; the positions
/// past a row's last output (`kw - 1` of every `width`) are computed and never stored.
///
/// Per channel and `rm x rn` sums: `kh·(rn + kw - 1) + kh·kw·rm` loads instead of
/// `kh·kw·(rm + rn)`; at 8 x 16 and 3x3, 126 loads per 1,152 products instead of 216 per 1,152
/// at `conv_gemm`'s 16 x 8 (the same 128 sums), before the 8-20% of positions wasted past the
/// rows' ends at the network's widths.
///
/// Measured against `conv_gemm` on SwiftShader (`results/browser/bench-webgpu-conv-rows.txt`):
/// the two kernels' time natively about 9% less, not the 40% fewer loads, so loads are not all
/// of a kernel's cost there; the VGG-like step within this host's noise (natively and in
/// Chromium); the first step, which compiles every kernel, 30-40% shorter (natively 5.3-7.1 s
/// against 8.1-11.9, in Chromium 8.0 s against 11.9), for a reason not found: the two unrolled
/// bodies hold about as many operations (1,350 and 1,368 per channel), this one fewer
/// distinct load addresses (126 against 216).
/// Not on a GPU, where `conv_gemm`'s columns `wide` apart are what makes its loads coalesce
/// (unmeasured there).
#[cube(launch)]
fn conv_rows<F: Float>(
    a: &Tensor<F>,
    b: &Tensor<F>,
    bias: &Tensor<F>,
    out: &mut Tensor<F>,
    g: &Geometry,
    r: &Runs,
    #[comptime] mode: u32,
    #[comptime] kh: u32,
    #[comptime] kw: u32,
    #[comptime] rm: u32,
    #[comptime] rn: u32,
    #[comptime] with_bias: bool,
    #[comptime] relu: bool,
    #[define(F)] _dtype: ElemType,
) {
    let taps = comptime![kh * kw];
    let span = comptime![rn + kw - 1];
    let mut acc = zero_sums::<F>(rm * rn);
    let row0 = CUBE_POS_Y * rm;
    let rows = tile_rows(g.m, row0, rm);
    let block = CUBE_POS_X * CUBE_DIM_X + UNIT_POS_X;
    // A block past the last computes the last one's sums again, never stored.
    let run = select(block < r.blocks, block, r.blocks - 1);
    let img = run / r.blocks_per_image;
    let p0 = (run - img * r.blocks_per_image) * rn;
    let in_plane = g.height * g.width;
    let base = img * g.c_in * in_plane + p0;
    let row_stride = if comptime![mode == FORWARD] { g.c_in * taps } else { taps + 0 * g.m };
    let row_off = row_offsets(rows, row_stride, rm);

    // The input gradient reads `dy` itself, not a copy padded with `kh - 1` rows and `kw - 1`
    // columns of zeros: `g` is the padded input's geometry, and a window value that falls in
    // that border is a zero by `select` (no branch; its load reads a valid address). Per
    // window position, once: its row in `dy` at the first tap row, or a row no tap brings
    // inside when its column is outside; and its offset in `dy`'s plane.
    let (dy_h, dy_w) = (g.out_height + 1 - kh, g.out_width + 1 - kw);
    let dy_plane = dy_h * dy_w;
    let mut first_rows = Sequence::<u32>::new();
    let mut offsets = Sequence::<u32>::new();
    if comptime![mode == INPUT_GRAD] {
        let row0 = p0 / g.width;
        let col0 = p0 - row0 * g.width;
        #[unroll]
        for k in 0..span {
            // Once per invocation; a run wider than a row wraps more than once.
            let wraps = (col0 + k) / g.width;
            // In u32 arithmetic, which wraps (WGSL's): a row above `dy` is a huge value, and
            // adding a tap row `ky` brings it back exactly to the row that tap reads, inside
            // or still huge; the offset below wraps the same way.
            let row = row0 + wraps - comptime![kh - 1];
            let col = col0 + k - wraps * g.width - comptime![kw - 1];
            let row = select(col < dy_w, row, 1_073_741_824u32);
            first_rows.push(row);
            offsets.push(row * dy_w + col);
        }
    }

    // Step (ci, ky): the window x[img, ci, oy + ky, ox..ox + rn + kw - 1] along the input's
    // rows, then its kw taps; left values as in `conv_gemm`.
    for ci in 0..g.c_in {
        #[unroll]
        for ky in 0..kh {
            let mut window = Sequence::<F>::new();
            if comptime![mode == INPUT_GRAD] {
                let plane = (img * g.c_in + ci) * dy_plane + ky * dy_w;
                #[unroll]
                for k in 0..span {
                    let inside = *first_rows.index(k as usize) + ky < dy_h;
                    let at = plane + *offsets.index(k as usize);
                    window.push(select(inside, b[select(inside, at, 0u32) as usize], F::new(0.0)));
                }
            } else {
                let start = base + ci * in_plane + ky * g.width;
                #[unroll]
                for k in 0..span {
                    let at = start + k;
                    window.push(b[select(at < r.last, at, r.last) as usize]);
                }
            }
            #[unroll]
            for kx in 0..kw {
                let t = comptime![ky * kw + kx];
                let at = if comptime![mode == FORWARD] {
                    (row0 * g.c_in + ci) * taps + t
                } else {
                    (ci * g.c_out + row0) * taps + comptime![taps - 1 - t]
                };
                let av = left_values::<F>(a, at, &row_off, rm);
                #[unroll]
                for i in 0..rm {
                    #[unroll]
                    for j in 0..rn {
                        let sum = acc.index_mut((i * rn + j) as usize);
                        *sum += *av.index(i as usize) * *window.index((j + kx) as usize);
                    }
                }
            }
        }
    }

    let out_plane = g.out_height * g.out_width;
    #[unroll]
    for j in 0..rn {
        let p = p0 + j;
        let oy = p / g.width;
        let ox = p - oy * g.width;
        let stored = block < r.blocks && oy < g.out_height && ox < g.out_width;
        #[unroll]
        for i in 0..rm {
            let row = row0 + i;
            if stored && row < g.m {
                out[((img * g.c_out + row) * out_plane + oy * g.out_width + ox) as usize] = finished::<F>(*acc.index((i * rn + j) as usize), bias, row, with_bias, relu);
            }
        }
    }
}

/// The weight gradient on a software adapter: each invocation sums `rm` output channels by
/// `cg` input channels' `kh x kw` taps over its split's images, walking each output row in
/// chunks of `run` positions. A chunk loads `rm·run` values of `dy` (zero past the row's end)
/// and, per input channel and row of taps, one window of `run + kw - 1` values of `x` shared by
/// the row's `kw` taps, for `rm·cg·kh·kw·run` products: at 8 rows, 2 channels, 3x3 and runs of
/// 4, 68 loads per 576 products, where `conv_gemm`'s 16 x 8 tile loads 24 per 128 (0.12
/// against 0.19 a product; on SwiftShader a kernel costs about what its loads cost, see
/// [`super::gpu_tile::tile`]). The partial sums per split are laid out as `conv_gemm`'s.
#[cube(launch)]
fn wgrad_rows<F: Float>(
    dy: &Tensor<F>,
    x: &Tensor<F>,
    out: &mut Tensor<F>,
    g: &Geometry,
    #[comptime] kh: u32,
    #[comptime] kw: u32,
    #[comptime] rm: u32,
    #[comptime] cg: u32,
    #[comptime] run: u32,
    #[define(F)] _dtype: ElemType,
) {
    let taps = comptime![kh * kw];
    let span = comptime![run + kw - 1];
    let cols = comptime![cg * kh * kw];
    let mut acc = zero_sums::<F>(rm * cols);
    let row0 = CUBE_POS_Y * rm;
    let rows = tile_rows(g.m, row0, rm);
    let group = CUBE_POS_X * CUBE_DIM_X + UNIT_POS_X;
    let split = CUBE_POS_Z;
    let in_plane = g.height * g.width;
    let out_plane = g.out_height * g.out_width;
    let row_off = row_offsets(rows, out_plane, rm);
    // The invocation's input channels; one past the last computes a copy that is never stored.
    let mut channels = Sequence::<u32>::new();
    #[unroll]
    for c in 0..cg {
        let ci = group * cg + c;
        channels.push(select(ci < g.c_in, ci, g.c_in - 1) * in_plane);
    }
    let chunks = (g.out_width + run - 1) / run;
    let img_begin = split * g.images_per_split;
    let img_end = select(img_begin + g.images_per_split < g.batch, img_begin + g.images_per_split, g.batch);
    for img in img_begin..img_end {
        let dy_img = (img * g.c_out + row0) * out_plane;
        let x_img = img * g.c_in * in_plane;
        for oy in 0..g.out_height {
            for chunk in 0..chunks {
                let ox = chunk * run;
                // dy[img, row0 + i, oy, ox + r]; past the row's end a zero (read at its last
                // position, no branch).
                let mut dv = Sequence::<F>::new();
                #[unroll]
                for i in 0..rm {
                    #[unroll]
                    for r in 0..run {
                        let col = ox + r;
                        let inside = col < g.out_width;
                        let at = dy_img + *row_off.index(i as usize) + oy * g.out_width + select(inside, col, g.out_width - 1);
                        dv.push(select(inside, dy[at as usize], F::new(0.0)));
                    }
                }
                #[unroll]
                for c in 0..cg {
                    #[unroll]
                    for ky in 0..kh {
                        // x[img, ci, oy + ky, ox..ox + span], kept within the row (the values
                        // past it meet only zeros of dy).
                        let start = x_img + *channels.index(c as usize) + (oy + ky) * g.width;
                        let mut window = Sequence::<F>::new();
                        #[unroll]
                        for k in 0..span {
                            let col = ox + k;
                            window.push(x[(start + select(col < g.width, col, g.width - 1)) as usize]);
                        }
                        #[unroll]
                        for kx in 0..kw {
                            let t = comptime![ky * kw + kx];
                            #[unroll]
                            for i in 0..rm {
                                #[unroll]
                                for r in 0..run {
                                    let sum = acc.index_mut((i * cols + c * taps + t) as usize);
                                    *sum += *dv.index((i * run + r) as usize) * *window.index((r + kx) as usize);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[unroll]
    for i in 0..rm {
        let row = row0 + i;
        #[unroll]
        for c in 0..cg {
            let ci = group * cg + c;
            #[unroll]
            for t in 0..taps {
                if row < g.m && ci < g.c_in {
                    out[((split * g.m + row) * g.n + ci * taps + t) as usize] = *acc.index((i * cols + c * taps + t) as usize);
                }
            }
        }
    }
}

/// [`wgrad_rows`]'s output channels and input channels per invocation, and invocations per
/// workgroup (one SIMD group of SwiftShader's).
const WGRAD_TILE: (u32, u32, u32) = (8, 2, 4);

/// [`wgrad_rows`]'s positions per chunk for output rows `width` wide: 4, or a count that
/// divides the row where 4 does not (the third convolution's 10), so no chunk is part waste.
fn wgrad_run(width: u32) -> u32 {
    [4, 5, 3].into_iter().find(|r| width % r == 0).unwrap_or(4)
}

/// [`conv_rows`]'s sums per invocation, rows by columns, and invocations per workgroup: the
/// 128 sums of [`super::gpu_tile::tile`]'s 16 x 8 on a software adapter (the same registers,
/// and about the same unrolled body for SwiftShader's JIT to compile), laid out the way that
/// loads the fewest values (8 x 16: 126 loads per channel against 174 at 16 x 8).
const RUNS_TILE: (u32, u32, u32) = (8, 16, 16);

struct Launch {
    geometry: Geometry,
    mode: u32,
    kernel: (usize, usize),
    splits: usize,
    relu: bool,
}

fn launch(a: CubeTensor, b: CubeTensor, bias: Option<CubeTensor>, out: &CubeTensor, l: Launch) {
    let g = l.geometry;
    let software = on_software(out);
    let dtype = dtype_to_storage_type(out.dtype);
    let with_bias = bias.is_some();
    // A kernel without a bias still binds a buffer there, never read: `a` is read-only.
    let bias = bias.unwrap_or_else(|| a.clone());
    let geometry = || GeometryLaunch::new(g.batch, g.c_in, g.height, g.width, g.c_out, g.out_height, g.out_width, g.m, g.n, g.images_per_split);
    if software && l.mode == WEIGHT_GRAD && g.c_in >= WGRAD_TILE.1 {
        let (rm, cg, wide) = WGRAD_TILE;
        let groups = g.c_in.div_ceil(cg);
        wgrad_rows::launch(
            &out.client,
            CubeCount::Static(groups.div_ceil(wide), g.m.div_ceil(rm), u(l.splits)),
            CubeDim::new_1d(wide),
            a.into_tensor_arg(),
            b.into_tensor_arg(),
            out.clone().into_tensor_arg(),
            geometry(),
            u(l.kernel.0),
            u(l.kernel.1),
            rm.min(g.m.max(1)),
            cg,
            wgrad_run(g.out_width),
            dtype,
        );
        return;
    }
    if software && l.mode != WEIGHT_GRAD {
        let (rm, rn, wide) = RUNS_TILE;
        let rm = rm.min(g.m.max(1));
        let positions = (g.out_height - 1) * g.width + g.out_width;
        let blocks_per_image = positions.div_ceil(rn);
        let blocks = g.batch * blocks_per_image;
        let last = u(b.meta.shape().num_elements() - 1);
        conv_rows::launch(
            &out.client,
            CubeCount::Static(blocks.div_ceil(wide), g.m.div_ceil(rm), 1),
            CubeDim::new_1d(wide),
            a.into_tensor_arg(),
            b.into_tensor_arg(),
            bias.into_tensor_arg(),
            out.clone().into_tensor_arg(),
            geometry(),
            RunsLaunch::new(blocks, blocks_per_image, last),
            l.mode,
            u(l.kernel.0),
            u(l.kernel.1),
            rm,
            rn,
            with_bias,
            l.relu,
            dtype,
        );
        return;
    }
    // `conv_gemm`'s input gradient reads `dy` padded with zeros (see `input_grad`).
    let b = if l.mode == INPUT_GRAD { pad(b, (l.kernel.0 - 1, l.kernel.1 - 1)) } else { b };
    let (rm, rn, wide) = tile(g.m as usize, g.n as usize, software);
    let cube_count = CubeCount::Static(g.n.div_ceil(wide * rn), g.m.div_ceil(rm), u(l.splits));
    conv_gemm::launch(
        &out.client,
        cube_count,
        CubeDim::new_1d(wide),
        a.into_tensor_arg(),
        b.into_tensor_arg(),
        bias.into_tensor_arg(),
        out.clone().into_tensor_arg(),
        geometry(),
        l.mode,
        u(l.kernel.0),
        u(l.kernel.1),
        rm,
        rn,
        wide,
        with_bias,
        l.relu,
        dtype,
    );
}

/// The sizes of a convolution of `[batch, c_in, height, width]` by a `k_height x k_width`
/// kernel into `c_out` channels.
#[allow(clippy::too_many_arguments)]
fn geometry(batch: usize, c_in: usize, height: usize, width: usize, c_out: usize, kernel: (usize, usize), m: usize, n: usize) -> Geometry {
    Geometry {
        batch: u(batch),
        c_in: u(c_in),
        height: u(height),
        width: u(width),
        c_out: u(c_out),
        out_height: u(height + 1 - kernel.0),
        out_width: u(width + 1 - kernel.1),
        m: u(m),
        n: u(n),
        images_per_split: u(batch),
    }
}

/// `x` `[batch, c_in, h, w]`, `weight` `[c_out, c_in, kh, kw]`, `bias` `[c_out]` →
/// `[batch, c_out, h - kh + 1, w - kw + 1]`; with `relu`, its ReLU, in the same pass.
pub fn forward(x: CubeTensor, weight: CubeTensor, bias: CubeTensor, relu: bool) -> CubeTensor {
    let (x, weight, bias) = (into_contiguous(x), into_contiguous(weight), into_contiguous(bias));
    let ([batch, c_in, height, width], [c_out, _, kh, kw]) = (x.meta.shape().dims(), weight.meta.shape().dims());
    let (oh, ow) = (height + 1 - kh, width + 1 - kw);
    let out = output(&x, Shape::new([batch, c_out, oh, ow]));
    let geometry = geometry(batch, c_in, height, width, c_out, (kh, kw), c_out, batch * oh * ow);
    launch(weight, x, Some(bias), &out, Launch { geometry, mode: FORWARD, kernel: (kh, kw), splits: 1, relu });
    out
}

/// The gradient with respect to the input, `[batch, c_in, h, w]`, from `weight` and the
/// output's gradient `dy` `[batch, c_out, oh, ow]`: `dy` padded with `k - 1` zeros on every
/// side, then a valid convolution of it by the kernel turned around, channels swapped (so
/// `conv_gemm`'s inner loop has no bounds to check; `conv_rows` selects the border's zeros).
pub fn input_grad(weight: CubeTensor, dy: CubeTensor) -> CubeTensor {
    let (weight, dy) = (into_contiguous(weight), into_contiguous(dy));
    let ([c_out, c_in, kh, kw], [batch, _, oh, ow]) = (weight.meta.shape().dims(), dy.meta.shape().dims());
    let (height, width) = (oh + kh - 1, ow + kw - 1);
    let out = output(&dy, Shape::new([batch, c_in, height, width]));
    // As a forward pass: input `dy` padded (c_out channels of (h + kh - 1) x (w + kw - 1)),
    // output c_in channels of h x w. `launch` makes the padded copy for `conv_gemm`; a
    // software adapter's `conv_rows` reads `dy` with the border implicit (the three copies per
    // VGG-like step cost 4% of it on SwiftShader, an element-wise pass's accesses dear there).
    let geometry = geometry(batch, c_out, height + kh - 1, width + kw - 1, c_in, (kh, kw), c_in, batch * height * width);
    launch(weight, dy, None, &out, Launch { geometry, mode: INPUT_GRAD, kernel: (kh, kw), splits: 1, relu: false });
    out
}

/// `t` `[.., h, w]` with `pad.0` rows of zeros above and below and `pad.1` columns left and
/// right.
fn pad(t: CubeTensor, pad: (usize, usize)) -> CubeTensor {
    let dims = t.meta.shape().dims::<4>();
    let (h, w) = (dims[2], dims[3]);
    let (ph, pw) = (h + 2 * pad.0, w + 2 * pad.1);
    let planes = dims[0] * dims[1];
    let out = output(&t, Shape::new([dims[0], dims[1], ph, pw]));
    let total = planes * ph * pw;
    pad_kernel::launch(
        &t.client,
        elementwise_count(total),
        CubeDim::new_1d(ELEMENTWISE_GROUP),
        t.clone().into_tensor_arg(),
        out.clone().into_tensor_arg(),
        u(total),
        u(h),
        u(w),
        u(pad.0),
        u(pad.1),
        dtype_to_storage_type(t.dtype),
    );
    out
}

#[cube(launch)]
fn pad_kernel<F: Float>(
    input: &Tensor<F>,
    out: &mut Tensor<F>,
    total: u32,
    h: u32,
    w: u32,
    pad_h: u32,
    pad_w: u32,
    #[define(F)] _dtype: ElemType,
) {
    let index = elementwise_position();
    if index < total {
        let (ph, pw) = (h + 2 * pad_h, w + 2 * pad_w);
        let plane = index / (ph * pw);
        let r = index - plane * ph * pw;
        let y = r / pw;
        let x = r - y * pw;
        let inside = y >= pad_h && y < pad_h + h && x >= pad_w && x < pad_w + w;
        let at = select(inside, (plane * h + y - pad_h) * w + x - pad_w, 0u32);
        out[index as usize] = select(inside, input[at as usize], F::new(0.0));
    }
}

/// The gradient with respect to the weight, `[c_out, c_in, kh, kw]`, from the input `x` and
/// the output's gradient `dy`: one partial product per image (at most 64 ranges of whole
/// images), then their sum.
pub fn weight_grad(x: CubeTensor, dy: CubeTensor) -> CubeTensor {
    let (x, dy) = (into_contiguous(x), into_contiguous(dy));
    let ([batch, c_in, height, width], [_, c_out, oh, ow]) = (x.meta.shape().dims(), dy.meta.shape().dims());
    let (kh, kw) = (height + 1 - oh, width + 1 - ow);
    let (m, n) = (c_out, c_in * kh * kw);
    let images_per_split = batch.div_ceil(64).max(1);
    let splits = batch.div_ceil(images_per_split).max(1);
    let partial = output(&x, Shape::new([splits, m, n]));
    let mut geometry = geometry(batch, c_in, height, width, c_out, (kh, kw), m, n);
    geometry.images_per_split = u(images_per_split);
    launch(dy, x, None, &partial, Launch { geometry, mode: WEIGHT_GRAD, kernel: (kh, kw), splits, relu: false });
    let summed = if splits == 1 { partial } else { CubeBackend::float_sum_dim(partial, 0) };
    CubeBackend::float_reshape(summed, Shape::new([c_out, c_in, kh, kw]))
}

/// The gradient with respect to the bias, `[c_out]`: `dy` `[batch, c_out, oh, ow]` summed over
/// images and positions, in one dispatch (burn's is three reductions, one per dimension).
///
/// Why: on a real GPU the step is bound by the host's work per dispatch, not by the kernels.
/// On an NVIDIA H200 the VGG-like step took 1.88 ms natively and 5.9 ms over Dawn in Node,
/// whose main thread was busy 98% of the time, a third of it creating bind groups, one per
/// dispatch (`results/gpu-h200/`). This saves two dispatches per convolution, eight per
/// VGG-like step. Not on a software adapter ([`on_software`]): natively on SwiftShader these
/// four dispatches took 43 ms of a 1,290 ms VGG-like step, burn's twelve 16 ms (each
/// workgroup's 10 barriers and an integer division per load, likely; SwiftShader runs a
/// dispatch's work on the CPU, so saving dispatches saves little there;
/// `results/gpu-h200/bias-grad-ab.txt`).
pub fn bias_grad(dy: CubeTensor) -> CubeTensor {
    let dy = into_contiguous(dy);
    let [_, _, oh, ow] = dy.meta.shape().dims();
    // Four values a load where a plane holds whole `vec4`s (on SwiftShader a load costs per
    // access, not per byte: `vector_width`).
    let width = vector_width(oh * ow);
    let (channels, l) = channel_layout(&dy, width);
    let out = output(&dy, Shape::new([channels]));
    bias_grad_kernel::launch(
        &dy.client,
        CubeCount::Static(u(channels), 1, 1),
        CubeDim::new_1d(CHANNEL_GROUP),
        width,
        dy.clone().into_tensor_arg(),
        out.clone().into_tensor_arg(),
        l,
        dtype_to_storage_type(dy.dtype),
    );
    out
}

/// One workgroup per channel ([`ChannelLayout`], in vectors of `N` values): each invocation
/// sums its share of the channel's vectors, and the workgroup adds the sums.
#[cube(launch)]
fn bias_grad_kernel<F: Float, N: Size>(dy: &Tensor<Vector<F, N>>, db: &mut Tensor<F>, l: &ChannelLayout, #[define(F)] _dtype: ElemType) {
    let channel = CUBE_POS_X;
    let mut sums = Shared::<[F]>::new_slice(CHANNEL_GROUP as usize);
    let mut sum = Vector::<F, N>::empty().fill(F::new(0.0));
    for k in 0..channel_share(l) {
        sum += dy[channel_at(l, channel, UNIT_POS_X + k * CHANNEL_GROUP) as usize];
    }
    let total = workgroup_sum::<F>(&mut sums, sum.vector_sum(), CHANNEL_LEVELS);
    if UNIT_POS_X == 0 {
        db[channel as usize] = total;
    }
}

/// Whether these kernels take tensors of this type (f32; anything else takes burn's path).
pub fn supports(dtype: DType) -> bool {
    dtype == DType::F32
}
