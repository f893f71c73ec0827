//! 2x2 max pooling with stride 2 on WebGPU (burn's cubecl backend), forward and backward, in
//! the tensors' own layout: the GPU side of [`super::max_pool`].
//!
//! Why: burn 0.22.1's cubecl pooling works channels-last, so each call converts the
//! `[batch, channels, h, w]` activations and converts back, its forward also writes the index
//! of every maximum, and its backward reads those; on SwiftShader the pooling after the second
//! convolution took about 120 ms of a VGG-like step, forward and backward
//! (`results/browser/bench-webgpu-dense.txt`). Here the forward is one pass writing the
//! maxima; the backward one pass that reads each window again and gives the output's
//! gradient to the window's maximum (the first one in row-major order when several are
//! equal, as burn's `max_pool2d_with_indices` records it: after a ReLU, all-zero windows are
//! common).

use burn::backend::cubecl::dtype_to_storage_type;
use burn::tensor::{DType, Shape};
use burn_cubecl::cubecl;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;

use super::gpu_tile::{elementwise_count, elementwise_position, output, u, ELEMENTWISE_GROUP};

/// Input and output planes' sizes.
#[derive(CubeLaunch, CubeType, Clone, Copy, Debug)]
pub struct Planes {
    height: u32,
    width: u32,
    out_height: u32,
    out_width: u32,
}

/// `at` in planes of `height x width`: (plane, row, column).
#[cube]
fn locate(at: u32, height: u32, width: u32) -> (u32, u32, u32) {
    let plane = at / (height * width);
    let r = at - plane * height * width;
    let row = r / width;
    (plane, row, r - row * width)
}

/// The 2x2 window of output `(oy, ox)` in `plane`: its four values in row-major order.
#[cube]
fn window<F: Float>(x: &Tensor<F>, p: &Planes, plane: u32, oy: u32, ox: u32) -> (F, F, F, F) {
    let base = plane * p.height * p.width + 2 * oy * p.width + 2 * ox;
    (x[base as usize], x[(base + 1) as usize], x[(base + p.width) as usize], x[(base + p.width + 1) as usize])
}

/// Which of a window's four values, in row-major order, is its maximum: the first one when
/// several are equal (a later value wins only if strictly greater), as burn records it.
#[cube]
fn first_maximum<F: Float>(a: F, b: F, c: F, d: F) -> u32 {
    let mut best = a;
    let mut which = 0u32;
    which = select(b > best, 1u32, which);
    best = select(b > best, b, best);
    which = select(c > best, 2u32, which);
    best = select(c > best, c, best);
    select(d > best, 3u32, which)
}

#[cube(launch)]
fn max_pool_kernel<F: Float>(x: &Tensor<F>, y: &mut Tensor<F>, p: &Planes, total: u32, #[define(F)] _dtype: ElemType) {
    let at = elementwise_position();
    if at < total {
        let (plane, oy, ox) = locate(at, p.out_height, p.out_width);
        let (a, b, c, d) = window(x, p, plane, oy, ox);
        let top = select(b > a, b, a);
        let bottom = select(d > c, d, c);
        y[at as usize] = select(bottom > top, bottom, top);
    }
}

/// The backward pass. `by_window` (inputs of even height and width, every position in
/// exactly one window): one invocation per window, 4 loads of `x`, one of `dy` and 4 stores,
/// instead of one per input position, 6 accesses for each of a window's 4 positions. On
/// SwiftShader each access is a per-lane gather or scatter, and they are what a kernel costs.
/// `total` counts the windows or the input positions accordingly.
#[cube(launch)]
fn max_pool_backward_kernel<F: Float>(
    x: &Tensor<F>,
    dy: &Tensor<F>,
    dx: &mut Tensor<F>,
    p: &Planes,
    total: u32,
    #[comptime] by_window: bool,
    #[define(F)] _dtype: ElemType,
) {
    let at = elementwise_position();
    if at < total {
        if comptime![by_window] {
            let (plane, oy, ox) = locate(at, p.out_height, p.out_width);
            let (a, b, c, d) = window(x, p, plane, oy, ox);
            let which = first_maximum::<F>(a, b, c, d);
            let g = dy[at as usize];
            let zero = F::new(0.0);
            let base = plane * p.height * p.width + 2 * oy * p.width + 2 * ox;
            dx[base as usize] = select(which == 0, g, zero);
            dx[(base + 1) as usize] = select(which == 1, g, zero);
            dx[(base + p.width) as usize] = select(which == 2, g, zero);
            dx[(base + p.width + 1) as usize] = select(which == 3, g, zero);
        } else {
            let (plane, iy, ix) = locate(at, p.height, p.width);
            // A last odd row or column belongs to no window: its gradient is zero. Its loads
            // read the last window instead, so none sits behind a branch.
            let inside = iy / 2 < p.out_height && ix / 2 < p.out_width;
            let oy = select(iy / 2 < p.out_height, iy / 2, p.out_height - 1);
            let ox = select(ix / 2 < p.out_width, ix / 2, p.out_width - 1);
            let (a, b, c, d) = window(x, p, plane, oy, ox);
            let which = first_maximum::<F>(a, b, c, d);
            let mine = (iy - 2 * (iy / 2)) * 2 + ix - 2 * (ix / 2);
            let g = dy[((plane * p.out_height + oy) * p.out_width + ox) as usize];
            dx[at as usize] = select(inside && which == mine, g, F::new(0.0));
        }
    }
}

fn planes(x: &CubeTensor) -> ([usize; 4], PlanesLaunch) {
    let dims = x.meta.shape().dims::<4>();
    let (h, w) = (dims[2], dims[3]);
    (dims, PlanesLaunch::new(u(h), u(w), u(h / 2), u(w / 2)))
}

/// `x` `[batch, channels, h, w]` (h, w at least 2) → `[batch, channels, h / 2, w / 2]`, the
/// maximum of each 2x2 window.
pub fn forward(x: CubeTensor) -> CubeTensor {
    let x = into_contiguous(x);
    let (dims, planes) = planes(&x);
    let y = output(&x, Shape::new([dims[0], dims[1], dims[2] / 2, dims[3] / 2]));
    let total = y.meta.shape().num_elements();
    max_pool_kernel::launch(
        &y.client,
        elementwise_count(total),
        CubeDim::new_1d(ELEMENTWISE_GROUP),
        x.into_tensor_arg(),
        y.clone().into_tensor_arg(),
        planes,
        u(total),
        dtype_to_storage_type(y.dtype),
    );
    y
}

/// The gradient with respect to `x` from the output's gradient `dy`.
pub fn backward(x: CubeTensor, dy: CubeTensor) -> CubeTensor {
    let (x, dy) = (into_contiguous(x), into_contiguous(dy));
    let (dims, planes) = planes(&x);
    let dx = output(&x, Shape::new(dims));
    let by_window = dims[2] % 2 == 0 && dims[3] % 2 == 0;
    let total = if by_window { dy.meta.shape().num_elements() } else { dims.iter().product::<usize>() };
    max_pool_backward_kernel::launch(
        &dx.client,
        elementwise_count(total),
        CubeDim::new_1d(ELEMENTWISE_GROUP),
        x.into_tensor_arg(),
        dy.into_tensor_arg(),
        dx.clone().into_tensor_arg(),
        planes,
        u(total),
        by_window,
        dtype_to_storage_type(dx.dtype),
    );
    dx
}

/// Whether these kernels take tensors of this type (f32; anything else takes burn's path).
pub fn supports(dtype: DType) -> bool {
    dtype == DType::F32
}
