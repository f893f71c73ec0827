//! 2-D "valid" convolution with stride 1 (the VGG-like network's 3x3 convolutions) on the
//! CPU, forward and backward, as one matrix product per image.
//!
//! Why our own: burn's CPU backend (burn-flex 0.22.1) computes these through its general
//! convolution. Its forward converts every input to channels-last and transposes the weights
//! on each call; the input gradient is a transposed convolution; the weight gradient is a
//! convolution of the input, batch and channels swapped, by the output gradient as a 24x24
//! kernel, which first copies both tensors into a swapped layout and then builds an im2col
//! matrix of 9 rows per input channel. Profiled on the VGG-like training step (native, one
//! thread), the copies and layout changes took more time than the matrix products.
//!
//! Here every image is one product on the `gemm` crate (the one burn-flex uses), in the
//! layouts the tensors already have (NCHW input, `[out, in, kh, kw]` weights, NCHW output):
//! - forward: `y[b] (O x S) = W (O x C·K) · col(x[b]) (C·K x S) + bias`;
//! - input gradient: `dx[b] = col⁻¹(Wᵀ · dy[b])`, the columns added back into the image;
//! - weight gradient: `dW = Σ_b dy[b] · col(x[b])ᵀ`, summed over fixed groups of images;
//! - bias gradient: `db = Σ_b Σ_s dy[b]`,
//!
//! where S = out height x out width, K = kernel height x kernel width, and `col(x[b])` holds
//! row `(c, kh, kw)`, column `(i, j)` = `x[b, c, i + kh, j + kw]`: each of its rows is a
//! run of plain row copies, rebuilt per image in a buffer that stays in cache (about 650 kB
//! for the second convolution) rather than kept from the forward pass (42 MB for it).
//!
//! Checked against burn's own `conv2d` and its gradients (tests below and in
//! `kernels/extension.rs`). Shapes tuned on: batch 64, 1→32 at 28x28, 32→32 at 26x26,
//! 32→64 at 12x12, 64→64 at 10x10, 3x3 kernels. The figures that justified it are in
//! README, "The CPU on every core".

use super::{parallel, winograd};

/// Images per partial sum of the weight gradient. Fixed, not one per thread, so that the
/// sum's order (and its rounding) is the same whatever the thread count.
pub(super) const WEIGHT_GRAD_GROUP: usize = 8;

/// The sizes of one convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    pub batch: usize,
    pub c_in: usize,
    pub height: usize,
    pub width: usize,
    pub c_out: usize,
    pub k_height: usize,
    pub k_width: usize,
}

impl Dims {
    pub fn out_height(&self) -> usize {
        self.height + 1 - self.k_height
    }

    pub fn out_width(&self) -> usize {
        self.width + 1 - self.k_width
    }

    /// Output positions per image and channel.
    fn spatial(&self) -> usize {
        self.out_height() * self.out_width()
    }

    /// Rows of an image's column matrix: input channels x kernel positions.
    fn patch(&self) -> usize {
        self.c_in * self.k_height * self.k_width
    }

    fn image_in(&self) -> usize {
        self.c_in * self.height * self.width
    }

    fn image_out(&self) -> usize {
        self.c_out * self.spatial()
    }

    pub fn input_len(&self) -> usize {
        self.batch * self.image_in()
    }

    pub fn weight_len(&self) -> usize {
        self.c_out * self.patch()
    }

    pub fn output_len(&self) -> usize {
        self.batch * self.image_out()
    }

    /// Whether the kernel fits the image (a valid convolution has at least one output).
    pub fn is_valid(&self) -> bool {
        self.k_height >= 1 && self.k_width >= 1 && self.k_height <= self.height && self.k_width <= self.width
    }
}

/// `[batch, c_out, out_h, out_w]` from `x` `[batch, c_in, h, w]`, `weight`
/// `[c_out, c_in, kh, kw]` and `bias` `[c_out]`.
pub fn forward(x: &[f32], weight: &[f32], bias: Option<&[f32]>, d: Dims) -> Vec<f32> {
    check(d, x.len(), weight.len(), None);
    if let Some(bias) = bias {
        assert_eq!(bias.len(), d.c_out, "bias of the wrong size");
    }
    match winograd::fits(d) {
        true => winograd::forward(x, weight, bias, d),
        false => forward_by_columns(x, weight, bias, d),
    }
}

/// [`forward`] as one product per image on its column matrix.
pub(super) fn forward_by_columns(x: &[f32], weight: &[f32], bias: Option<&[f32]>, d: Dims) -> Vec<f32> {
    let (s, patch) = (d.spatial(), d.patch());
    let mut out = vec![0.0; d.output_len()];
    // No input channels need no special case: the product over zero terms leaves the bias.
    if d.output_len() == 0 {
        return out;
    }
    parallel::for_each_chunk(&mut out, d.image_out(), || vec![0.0; patch * s], |col, b, y| {
        im2col(&x[b * d.image_in()..][..d.image_in()], d, col);
        if let Some(bias) = bias {
            for (row, &v) in y.chunks_exact_mut(s).zip(bias) {
                row.fill(v);
            }
        }
        // y (O x S) [+]= W (O x patch) · col (patch x S)
        matmul(d.c_out, s, patch, y, bias.is_some(), (weight, patch, 1), (col, s, 1));
    });
    out
}

/// The gradient of [`forward`] with respect to `x`, from the output gradient `dy`.
pub fn backward_input(weight: &[f32], dy: &[f32], d: Dims) -> Vec<f32> {
    check(d, d.input_len(), weight.len(), Some(dy.len()));
    match winograd::fits_input_grad(d) {
        true => winograd::backward_input(weight, dy, d),
        false => backward_input_by_columns(weight, dy, d),
    }
}

/// [`backward_input`] as one product per image, its columns added back into the image.
pub(super) fn backward_input_by_columns(weight: &[f32], dy: &[f32], d: Dims) -> Vec<f32> {
    let (s, patch) = (d.spatial(), d.patch());
    let mut dx = vec![0.0; d.input_len()];
    // Nothing to differentiate, and no image to chunk `dx` by.
    if d.output_len() == 0 || d.input_len() == 0 {
        return dx;
    }
    parallel::for_each_chunk(&mut dx, d.image_in(), || vec![0.0; patch * s], |dcol, b, dx| {
        // dcol (patch x S) = Wᵀ (patch x O) · dy[b] (O x S)
        let dy = &dy[b * d.image_out()..][..d.image_out()];
        matmul(patch, s, d.c_out, dcol, false, (weight, 1, patch), (dy, s, 1));
        col2im_add(dcol, d, dx);
    });
    dx
}

/// The gradient of [`forward`] with respect to `weight`, `[c_out, c_in, kh, kw]`.
pub fn backward_weight(x: &[f32], dy: &[f32], d: Dims) -> Vec<f32> {
    check(d, x.len(), d.weight_len(), Some(dy.len()));
    match winograd::fits(d) {
        true => winograd::backward_weight(x, dy, d),
        false => backward_weight_by_columns(x, dy, d),
    }
}

/// [`backward_weight`] as one product per image on its column matrix.
pub(super) fn backward_weight_by_columns(x: &[f32], dy: &[f32], d: Dims) -> Vec<f32> {
    let (s, patch) = (d.spatial(), d.patch());
    let groups = d.batch.div_ceil(WEIGHT_GRAD_GROUP);
    let partials = parallel::map(groups, || vec![0.0; patch * s], |col, g| {
        let mut dw = vec![0.0; d.weight_len()];
        let first = g * WEIGHT_GRAD_GROUP;
        for b in first..(first + WEIGHT_GRAD_GROUP).min(d.batch) {
            im2col(&x[b * d.image_in()..][..d.image_in()], d, col);
            // dW (O x patch) += dy[b] (O x S) · colᵀ (S x patch)
            let dy = &dy[b * d.image_out()..][..d.image_out()];
            matmul(d.c_out, patch, s, &mut dw, b > first, (dy, s, 1), (col, 1, s));
        }
        dw
    });
    sum_in_order(partials, d.weight_len())
}

/// The gradient of [`forward`] with respect to `bias`, `[c_out]`.
pub fn backward_bias(dy: &[f32], d: Dims) -> Vec<f32> {
    assert_eq!(dy.len(), d.output_len(), "output gradient of the wrong size");
    let (s, image) = (d.spatial(), d.image_out());
    // One channel per task, its images in order: the same sums on any number of threads (on
    // one thread it was a serial part of the step; README "The CPU on every core").
    parallel::map(d.c_out, || (), |_, c| {
        let rows = (0..d.batch).map(|b| &dy[b * image + c * s..][..s]);
        rows.map(|row| row.iter().map(|&v| v as f64).sum::<f64>()).sum::<f64>() as f32
    })
}

fn check(d: Dims, x: usize, weight: usize, dy: Option<usize>) {
    assert!(d.is_valid(), "kernel {}x{} larger than the image {}x{}", d.k_height, d.k_width, d.height, d.width);
    assert_eq!(x, d.input_len(), "input of the wrong size");
    assert_eq!(weight, d.weight_len(), "weight of the wrong size");
    if let Some(dy) = dy {
        assert_eq!(dy, d.output_len(), "output gradient of the wrong size");
    }
}

/// One image's column matrix: row `(c, kh, kw)`, column `(i, j)` = `x[c, i + kh, j + kw]`.
/// Every element is written, so `col` needs no clearing between images.
fn im2col(x: &[f32], d: Dims, col: &mut [f32]) {
    let (oh, ow) = (d.out_height(), d.out_width());
    let mut rows = col.chunks_exact_mut(oh * ow);
    for channel in x.chunks_exact(d.height * d.width) {
        for kh in 0..d.k_height {
            for kw in 0..d.k_width {
                let row = rows.next().expect("col has a row per channel and kernel position");
                for (i, dst) in row.chunks_exact_mut(ow).enumerate() {
                    let start = (i + kh) * d.width + kw;
                    dst.copy_from_slice(&channel[start..start + ow]);
                }
            }
        }
    }
}

/// The inverse of [`im2col`] for gradients: each column entry is added to the input position
/// it was copied from.
fn col2im_add(dcol: &[f32], d: Dims, dx: &mut [f32]) {
    let (oh, ow) = (d.out_height(), d.out_width());
    let mut rows = dcol.chunks_exact(oh * ow);
    for channel in dx.chunks_exact_mut(d.height * d.width) {
        for kh in 0..d.k_height {
            for kw in 0..d.k_width {
                let row = rows.next().expect("dcol has a row per channel and kernel position");
                for (i, src) in row.chunks_exact(ow).enumerate() {
                    let start = (i + kh) * d.width + kw;
                    for (a, &g) in channel[start..start + ow].iter_mut().zip(src) {
                        *a += g;
                    }
                }
            }
        }
    }
}

pub(super) fn sum_in_order(partials: Vec<Vec<f32>>, len: usize) -> Vec<f32> {
    let mut parts = partials.into_iter();
    let mut total = parts.next().unwrap_or_else(|| vec![0.0; len]);
    for part in parts {
        for (t, p) in total.iter_mut().zip(part) {
            *t += p;
        }
    }
    total
}

/// `dst (m x n, row-major) [+]= lhs (m x k) · rhs (k x n)`, each operand given as
/// `(data, row stride, column stride)`, so a transposed operand needs no copy.
pub(super) fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    accumulate: bool,
    (lhs, lhs_rs, lhs_cs): (&[f32], usize, usize),
    (rhs, rhs_rs, rhs_cs): (&[f32], usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(dst.len() > last(m, n, n, 1), "matmul: destination too small");
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    assert!(lhs.len() > last(m, k, lhs_rs, lhs_cs), "matmul: left operand too small");
    assert!(rhs.len() > last(k, n, rhs_rs, rhs_cs), "matmul: right operand too small");
    // Safety: the asserts above keep every index gemm reads or writes inside the slices, and
    // `dst` is borrowed mutably, so it aliases neither operand.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            // The images are already spread over the threads (see `parallel`).
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct definition of the valid convolution, for comparison.
    fn reference(x: &[f32], w: &[f32], bias: Option<&[f32]>, d: Dims) -> Vec<f32> {
        let (oh, ow) = (d.out_height(), d.out_width());
        let mut y = vec![0.0f32; d.output_len()];
        for b in 0..d.batch {
            for o in 0..d.c_out {
                for i in 0..oh {
                    for j in 0..ow {
                        let mut acc = bias.map_or(0.0, |bias| bias[o] as f64);
                        for c in 0..d.c_in {
                            for kh in 0..d.k_height {
                                for kw in 0..d.k_width {
                                    let xv = x[((b * d.c_in + c) * d.height + i + kh) * d.width + j + kw];
                                    let wv = w[((o * d.c_in + c) * d.k_height + kh) * d.k_width + kw];
                                    acc += (xv * wv) as f64;
                                }
                            }
                        }
                        y[((b * d.c_out + o) * oh + i) * ow + j] = acc as f32;
                    }
                }
            }
        }
        y
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state % 2001) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    fn dims(batch: usize, c_in: usize, height: usize, width: usize, c_out: usize, k: usize) -> Dims {
        Dims { batch, c_in, height, width, c_out, k_height: k, k_width: k }
    }

    fn close(a: &[f32], b: &[f32], tol: f32) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= tol * (1.0 + y.abs()), "element {i}: {x} vs {y}");
        }
    }

    #[test]
    fn forward_matches_the_definition_on_odd_shapes() {
        for d in [dims(3, 2, 7, 5, 4, 3), dims(1, 1, 28, 28, 32, 3), dims(9, 5, 6, 6, 3, 1), dims(2, 3, 4, 9, 2, 4), dims(2, 2, 3, 3, 5, 3)] {
            let (x, w, b) = (values(d.input_len(), 1), values(d.weight_len(), 2), values(d.c_out, 3));
            close(&forward(&x, &w, Some(&b), d), &reference(&x, &w, Some(&b), d), 1e-5);
            close(&forward(&x, &w, None, d), &reference(&x, &w, None, d), 1e-5);
        }
    }

    /// The gradients against the definition: for a loss L = Σ y · g, dL/dx and dL/dW are
    /// linear in g, so each is checked through the identity <dx, e> = <g, conv(e, W)> for a
    /// random direction e (and likewise for W and the bias).
    #[test]
    fn gradients_agree_with_the_forward_pass_they_differentiate() {
        for d in [dims(3, 2, 7, 5, 4, 3), dims(17, 3, 6, 8, 2, 3), dims(2, 3, 4, 9, 2, 4)] {
            let (x, w, g) = (values(d.input_len(), 4), values(d.weight_len(), 5), values(d.output_len(), 6));
            let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(&a, &b)| (a * b) as f64).sum::<f64>();
            let ex = values(d.input_len(), 7);
            let dx = backward_input(&w, &g, d);
            let (lhs, rhs) = (dot(&dx, &ex), dot(&g, &reference(&ex, &w, None, d)));
            assert!((lhs - rhs).abs() < 1e-3 * (1.0 + rhs.abs()), "input gradient {lhs} vs {rhs}");
            let ew = values(d.weight_len(), 8);
            let dw = backward_weight(&x, &g, d);
            let (lhs, rhs) = (dot(&dw, &ew), dot(&g, &reference(&x, &ew, None, d)));
            assert!((lhs - rhs).abs() < 1e-3 * (1.0 + rhs.abs()), "weight gradient {lhs} vs {rhs}");
            let eb = values(d.c_out, 9);
            let db = backward_bias(&g, d);
            let zero_x = vec![0.0; d.input_len()];
            let (lhs, rhs) = (dot(&db, &eb), dot(&g, &reference(&zero_x, &w, Some(&eb), d)));
            assert!((lhs - rhs).abs() < 1e-3 * (1.0 + rhs.abs()), "bias gradient {lhs} vs {rhs}");
        }
    }

    /// `|a - b| <= tol * max |b|` element by element.
    fn close_to_scale(a: &[f32], b: &[f32], tol: f32) {
        let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(scale > 0.0);
        close(&a.iter().map(|v| v / scale).collect::<Vec<_>>(), &b.iter().map(|v| v / scale).collect::<Vec<_>>(), tol);
    }

    /// Shapes that take the Winograd path (3x3, at least 8 channels each side), odd output
    /// sizes included (the last tiles read zeros and write nothing), and the network's own.
    fn winograd_dims() -> [Dims; 5] {
        [dims(3, 8, 9, 7, 9, 3), dims(2, 9, 6, 6, 8, 3), dims(5, 8, 3, 4, 8, 3), dims(2, 32, 26, 26, 32, 3), dims(3, 64, 10, 10, 64, 3)]
    }

    #[test]
    fn the_winograd_path_matches_the_definition_and_the_column_path() {
        for d in winograd_dims() {
            assert!(winograd::fits(d), "{d:?}");
            let (x, w, b, g) = (values(d.input_len(), 21), values(d.weight_len(), 22), values(d.c_out, 23), values(d.output_len(), 24));
            // Relative to the largest output: the transforms add terms before multiplying, so
            // their rounding follows the size of the sums, not of one output (a small output
            // from a long sum differs by about 1e-5 of itself). A wrong term would be off by
            // about a tenth of the scale.
            close_to_scale(&forward(&x, &w, Some(&b), d), &reference(&x, &w, Some(&b), d), 1e-6);
            close_to_scale(&forward(&x, &w, None, d), &forward_by_columns(&x, &w, None, d), 1e-6);
            close_to_scale(&winograd::backward_input(&w, &g, d), &backward_input_by_columns(&w, &g, d), 1e-6);
            close_to_scale(&backward_weight(&x, &g, d), &backward_weight_by_columns(&x, &g, d), 1e-6);
        }
    }

    #[test]
    fn the_input_gradient_takes_winograd_only_where_it_saves_enough() {
        assert!(winograd::fits_input_grad(dims(64, 32, 26, 26, 32, 3)), "the second convolution's 24x24 output");
        // Natively the third's and fourth's keep the column path; in wasm they take Winograd,
        // whose values the browser test `our_cpu_convolution_in_wasm_matches_burns_values_and_gradients`
        // checks there.
        assert!(!winograd::fits_input_grad(dims(64, 32, 12, 12, 64, 3)), "the third's 10x10");
        assert!(!winograd::fits_input_grad(dims(64, 64, 10, 10, 64, 3)), "the fourth's 8x8");
        assert!(!winograd::fits_input_grad(dims(64, 32, 4, 4, 32, 3)), "a 2x2 output: 1.3 times fewer products");
        assert!(!winograd::fits(dims(64, 1, 28, 28, 32, 3)), "one input channel");
    }

    #[test]
    fn the_winograd_path_does_not_depend_on_the_thread_count() {
        let d = dims(19, 8, 10, 9, 8, 3);
        let (x, w, g) = (values(d.input_len(), 25), values(d.weight_len(), 26), values(d.output_len(), 27));
        let pool = |n| rayon::ThreadPoolBuilder::new().num_threads(n).build().expect("a pool");
        let run = |n| pool(n).install(|| (forward(&x, &w, None, d), winograd::backward_input(&w, &g, d), backward_weight(&x, &g, d)));
        assert_eq!(run(1), run(3), "same groups, same order of sums: bit for bit");
    }

    /// Not a test: per-layer time of both paths, natively. `cargo test --release --lib
    /// winograd_timing -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn winograd_timing() {
        for d in [dims(64, 32, 26, 26, 32, 3), dims(64, 32, 12, 12, 64, 3), dims(64, 64, 10, 10, 64, 3)] {
            let (x, w, g) = (values(d.input_len(), 1), values(d.weight_len(), 2), values(d.output_len(), 3));
            let time = |f: &dyn Fn() -> Vec<f32>| {
                let start = std::time::Instant::now();
                for _ in 0..5 {
                    std::hint::black_box(f());
                }
                start.elapsed().as_secs_f64() * 200.0
            };
            println!(
                "{d:?}\n  forward {:.2} / {:.2} ms, input grad {:.2} / {:.2}, weight grad {:.2} / {:.2} (columns / winograd)",
                time(&|| forward_by_columns(&x, &w, None, d)),
                time(&|| winograd::forward(&x, &w, None, d)),
                time(&|| backward_input_by_columns(&w, &g, d)),
                time(&|| winograd::backward_input(&w, &g, d)),
                time(&|| backward_weight_by_columns(&x, &g, d)),
                time(&|| winograd::backward_weight(&x, &g, d)),
            );
        }
    }

    #[test]
    fn no_input_channels_give_the_bias_and_no_panic() {
        let d = dims(2, 0, 4, 4, 3, 3);
        let y = forward(&[], &[], Some(&[1.0, 2.0, 3.0]), d);
        assert_eq!(y, [[1.0; 4], [2.0; 4], [3.0; 4]].concat().repeat(2));
        assert!(backward_input(&[], &vec![1.0; d.output_len()], d).is_empty());
    }

    #[test]
    fn the_weight_gradient_does_not_depend_on_the_thread_count() {
        let d = dims(64, 4, 10, 10, 8, 3);
        let (x, g) = (values(d.input_len(), 10), values(d.output_len(), 11));
        let pool = |n| rayon::ThreadPoolBuilder::new().num_threads(n).build().expect("a pool");
        let one = pool(1).install(|| backward_weight(&x, &g, d));
        let three = pool(3).install(|| backward_weight(&x, &g, d));
        assert_eq!(one, three, "same groups, same order of sums: bit for bit");
    }
}
