//! The 3x3 convolutions of [`super::conv`] by Winograd's minimal filtering, F(2x2, 3x3):
//! every 2x2 block of outputs from a 4x4 block of inputs with 16 multiplications per
//! (output channel, input channel) pair instead of 36, for the forward, the input gradient
//! and the weight gradient alike.
//!
//! Why: on the CPU path in the browser the training step is mostly these products (gemm's
//! 4-lane wasm kernel, no fused multiply-add), so multiplying 2.25 times less is the lever
//! left once the layouts were ours (README, "The CPU on every core").
//!
//! How (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2015), with
//! `U = G g Gᵀ` per filter, `V = Bᵀ d B` per input tile and `Y = Aᵀ (U ⊙ V) A` per output
//! tile: the element-wise product summed over input channels is, for each of the 16
//! positions ξ of a transformed tile, one matrix product `M[ξ] (out x tiles) = U[ξ] (out x in)
//! · V[ξ] (in x tiles)` on `gemm`, over the tiles of a fixed group of images.
//! - input gradient: the same forward, of the output gradient padded by 2 (zeros read, never
//!   stored), with each filter turned by 180° and in/out channels swapped;
//! - weight gradient: the adjoint of the forward, `dg = Gᵀ [Σ_tiles (A dy Aᵀ) ⊙ V] G`, the
//!   sum over tiles again 16 products `dU[ξ] (out x in) = D[ξ] (out x tiles) · V[ξ]ᵀ`.
//!
//! Output sizes need not be even: tiles past the edge read zeros and write nothing.
//! Rounding differs from the direct sum (the transforms add and halve), by about 1e-6
//! relative for these sizes: the tests compare with the direct definition.
//!
//! Work is split by fixed groups of images, never by thread, so results do not depend on the
//! thread count (as in [`super::conv`]).
//!
//! Measured in wasm under V8 (one thread, a microbenchmark of the three layers, medians;
//! README "The CPU on every core"): the forward and the weight gradient 1.4-1.7 times
//! faster than the column path, the second convolution's input gradient 1.4-1.5; natively (AVX2 with fused multiply-add, where
//! `gemm` is four times as fast per instruction) about equal. The transforms were then
//! rewritten to run over a plane's tiles at once (fastest times of 15 interleaved calls of
//! both versions in one V8: each layer and direction 1.1 to 1.3 times faster than before,
//! the products unchanged), and their buffers are kept per thread between calls. Tried and dropped: F(4x4, 3x3)
//! (36 products per 16 outputs, 1.8 times fewer again): its larger transforms ate the gain,
//! and it was no faster than F(2x2, 3x3) on any of the three layers.

use std::cell::RefCell;

use super::conv::{Dims, WEIGHT_GRAD_GROUP, matmul, sum_in_order};
use super::parallel;

/// Positions in a transformed 4x4 tile.
const XI: usize = 16;

/// Fewer channels than this on either side, and the transforms cost more than the saved
/// multiplications (the first convolution has one input channel): [`super::conv`] keeps
/// those.
const MIN_CHANNELS: usize = 8;

/// Columns (tiles) wanted per product: enough that gemm's packing pays, few enough that a
/// group's transformed tiles stay in cache, and groups small enough to share out evenly (the
/// fourth convolution's 64 images make 8 groups, not 4). In wasm 128 was about 4% faster than
/// 256 over the forward and input-gradient calls, 64 no faster than 128; natively 128 and 256
/// were within noise (`tests/wasm-kernels`, `winograd_timing`, 2026-12-02).
const COLUMNS: usize = 128;

/// Whether these convolutions take this path (the forward and the weight gradient): a 3x3
/// kernel and at least [`MIN_CHANNELS`] on each side.
pub fn fits(d: Dims) -> bool {
    d.k_height == 3 && d.k_width == 3 && d.c_in >= MIN_CHANNELS && d.c_out >= MIN_CHANNELS
}

/// Whether the input gradient takes this path too. It is the forward of the output gradient
/// padded by 2, whose tiles cover the whole input: on small images that border costs much of
/// the saving (16 products per 2x2 input block against 9 per output gradient value: 1.9 times
/// fewer for the second convolution's 24x24, 1.56 for the third's 10x10, 1.44 for the
/// fourth's 8x8). Where it pays depends on the machine's products, so the line is drawn per
/// target from measurements ([`INPUT_GRAD_SAVING`]).
pub fn fits_input_grad(d: Dims) -> bool {
    let direct = d.out_height() * d.out_width() * 9;
    let winograd = 16 * d.height.div_ceil(2) * d.width.div_ceil(2);
    let (times, over) = INPUT_GRAD_SAVING;
    fits(d) && over * direct >= times * winograd
}

/// The least saving, `times / over` fewer products, for which the input gradient takes
/// Winograd. In wasm (V8, 4-lane SIMD without fused multiply-add) the products are dear and
/// the third's and fourth's input gradients were 1.12 and 1.18 times faster by Winograd
/// (`tests/wasm-kernels`, one thread, medians of 7, 2026-12-02); natively (AVX2 with fused
/// multiply-add) they were 0.80 and 0.86 times as fast (`winograd_timing` below, the same
/// day), so there only a saving of about 1.75 pays.
#[cfg(target_arch = "wasm32")]
const INPUT_GRAD_SAVING: (usize, usize) = (7, 5);
#[cfg(not(target_arch = "wasm32"))]
const INPUT_GRAD_SAVING: (usize, usize) = (7, 4);

/// The tiling of one image's planes for an output of `out_h x out_w` read from an input
/// plane of `h x w` placed `pad` rows and columns in.
#[derive(Debug, Clone, Copy)]
struct Tiling {
    h: usize,
    w: usize,
    pad: usize,
    out_h: usize,
    out_w: usize,
}

impl Tiling {
    fn tiles_y(&self) -> usize {
        self.out_h.div_ceil(2)
    }

    fn tiles_x(&self) -> usize {
        self.out_w.div_ceil(2)
    }

    fn tiles(&self) -> usize {
        self.tiles_y() * self.tiles_x()
    }

    /// Side of the zero-padded copy of an input plane that every tile's 4x4 read fits in.
    fn padded_h(&self) -> usize {
        2 * self.tiles_y() + 2
    }

    fn padded_w(&self) -> usize {
        2 * self.tiles_x() + 2
    }

    /// Images per group: about [`COLUMNS`] tiles, at least one image.
    fn group(&self) -> usize {
        COLUMNS.div_ceil(self.tiles().max(1)).clamp(1, 16)
    }
}

/// The convolution's output, `[batch, c_out, out_h, out_w]`: as [`super::conv::forward`].
pub fn forward(x: &[f32], weight: &[f32], bias: Option<&[f32]>, d: Dims) -> Vec<f32> {
    let u = filters(weight, d.c_out, d.c_in, false);
    let t = Tiling { h: d.height, w: d.width, pad: 0, out_h: d.out_height(), out_w: d.out_width() };
    convolve(x, &u, bias, d.batch, d.c_in, d.c_out, t)
}

/// The gradient with respect to the input, `[batch, c_in, h, w]`: as
/// [`super::conv::backward_input`].
pub fn backward_input(weight: &[f32], dy: &[f32], d: Dims) -> Vec<f32> {
    let u = filters(weight, d.c_out, d.c_in, true);
    let t = Tiling { h: d.out_height(), w: d.out_width(), pad: 2, out_h: d.height, out_w: d.width };
    convolve(dy, &u, None, d.batch, d.c_out, d.c_in, t)
}

/// The gradient with respect to the weight, `[c_out, c_in, 3, 3]`: as
/// [`super::conv::backward_weight`].
pub fn backward_weight(x: &[f32], dy: &[f32], d: Dims) -> Vec<f32> {
    let t = Tiling { h: d.height, w: d.width, pad: 0, out_h: d.out_height(), out_w: d.out_width() };
    let (tiles, image_in, image_out) = (t.tiles(), d.c_in * d.height * d.width, d.c_out * t.out_h * t.out_w);
    let cols = WEIGHT_GRAD_GROUP * tiles;
    let scratch = || Scratch::new(&t, d.c_in, d.c_out, cols);
    let groups = d.batch.div_ceil(WEIGHT_GRAD_GROUP);
    let partials = parallel::map(groups, scratch, |s, g| {
        let first = g * WEIGHT_GRAD_GROUP;
        let images = WEIGHT_GRAD_GROUP.min(d.batch - first);
        let n = images * tiles;
        // The group's tiles are laid out `[ξ][channel][n]`, n columns (a last group may be short).
        for i in 0..images {
            let b = first + i;
            input_tiles(&x[b * image_in..][..image_in], &t, &mut s.rows, &mut s.v, n, i * tiles);
            gradient_tiles(&dy[b * image_out..][..image_out], &t, &mut s.rows, &mut s.m, n, i * tiles);
        }
        let mut du = vec![0.0; XI * d.c_out * d.c_in];
        for (xi, du) in du.chunks_exact_mut(d.c_out * d.c_in).enumerate() {
            // dU[ξ] (out x in) = D[ξ] (out x n) · V[ξ]ᵀ (n x in)
            let dm = &s.m[xi * d.c_out * n..];
            let v = &s.v[xi * d.c_in * n..];
            matmul(d.c_out, d.c_in, n, du, false, (dm, n, 1), (v, 1, n));
        }
        du
    });
    let du = sum_in_order(partials, XI * d.c_out * d.c_in);
    let mut dw = vec![0.0; d.weight_len()];
    let pairs = d.c_out * d.c_in;
    for (p, g) in dw.chunks_exact_mut(9).enumerate() {
        let tile: [f32; XI] = std::array::from_fn(|xi| du[xi * pairs + p]);
        g.copy_from_slice(&filter_gradient(&tile));
    }
    dw
}

/// Per-thread buffers: rows for the transforms, the transformed tiles of a group
/// (`[ξ][channel][column]`) and the products (`[ξ][out channel][column]`).
struct Scratch {
    rows: Rows,
    v: Vec<f32>,
    m: Vec<f32>,
}

impl Scratch {
    fn new(t: &Tiling, c_in: usize, c_out: usize, cols: usize) -> Self {
        Scratch { rows: Rows::new(t), v: spare(XI * c_in * cols), m: spare(XI * c_out * cols) }
    }
}

thread_local! {
    /// The transformed tiles' buffers of this thread's earlier parts, for its next: a part's
    /// are a megabyte or two, and allocating and zeroing them anew for every part of every
    /// call took 3% of a VGG-like step in the threaded browser worker (profiled). At most
    /// [`SPARES`] are kept, for as long as the thread lives.
    static SPARE: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

const SPARES: usize = 4;

/// A buffer of at least `len` values, from this thread's spares where it has one: the
/// smallest that is long enough, else the longest, grown. Its values are whatever an earlier
/// part left, and it may be longer than asked: `v` and `m` are indexed, never taken whole,
/// and written before they are read (every column a part reads, [`input_tiles`],
/// [`gradient_tiles`] or the products write first).
fn spare(len: usize) -> Vec<f32> {
    let mut buffer = SPARE
        .with_borrow_mut(|spares| {
            let fits = (0..spares.len()).filter(|&i| spares[i].len() >= len).min_by_key(|&i| spares[i].len());
            let which = fits.or_else(|| (0..spares.len()).max_by_key(|&i| spares[i].len()));
            which.map(|i| spares.swap_remove(i))
        })
        .unwrap_or_default();
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    buffer
}

impl Drop for Scratch {
    fn drop(&mut self) {
        SPARE.with_borrow_mut(|spares| {
            for buffer in [std::mem::take(&mut self.v), std::mem::take(&mut self.m)] {
                if spares.len() < SPARES {
                    spares.push(buffer);
                }
            }
        });
    }
}

/// `out[b]` = the valid convolution of `input[b]` (`c_in` planes of `t.h x t.w`, padded by
/// `t.pad`) by the transformed filters `u` (`[ξ][c_out][c_in]`), plus `bias`.
fn convolve(input: &[f32], u: &[f32], bias: Option<&[f32]>, batch: usize, c_in: usize, c_out: usize, t: Tiling) -> Vec<f32> {
    let (image_in, image_out) = (c_in * t.h * t.w, c_out * t.out_h * t.out_w);
    let mut out = vec![0.0; batch * image_out];
    if out.is_empty() {
        return out;
    }
    let (tiles, group) = (t.tiles(), t.group());
    let cols = group * tiles;
    parallel::for_each_chunk(&mut out, group * image_out, || Scratch::new(&t, c_in, c_out, cols), |s, g, out| {
        let images = out.len() / image_out;
        let n = images * tiles;
        // The group's tiles are laid out `[ξ][channel][n]`, n columns (a last group may be short).
        for i in 0..images {
            let b = g * group + i;
            input_tiles(&input[b * image_in..][..image_in], &t, &mut s.rows, &mut s.v, n, i * tiles);
        }
        for xi in 0..XI {
            // M[ξ] (out x n) = U[ξ] (out x in) · V[ξ] (in x n)
            let m = &mut s.m[xi * c_out * n..][..c_out * n];
            matmul(c_out, n, c_in, m, false, (&u[xi * c_out * c_in..], c_in, 1), (&s.v[xi * c_in * n..], n, 1));
        }
        for (i, image) in out.chunks_exact_mut(image_out).enumerate() {
            output_tiles(&s.m, &t, &mut s.rows, n, i * tiles, bias, image);
        }
    });
    out
}

/// `[ξ][out][in]` = `G g Gᵀ` for each 3x3 filter of `weight` `[out, in, 3, 3]`; with
/// `turned`, of the input gradient's filters instead: channels swapped and each filter turned
/// by 180°, so `[ξ][in][out]`.
fn filters(weight: &[f32], c_out: usize, c_in: usize, turned: bool) -> Vec<f32> {
    let pairs = c_out * c_in;
    let mut u = vec![0.0; XI * pairs];
    for o in 0..c_out {
        for c in 0..c_in {
            let g = &weight[(o * c_in + c) * 9..][..9];
            let (g, at): ([f32; 9], usize) = match turned {
                false => (std::array::from_fn(|i| g[i]), o * c_in + c),
                true => (std::array::from_fn(|i| g[8 - i]), c * c_out + o),
            };
            for (xi, v) in filter_transform(&g).into_iter().enumerate() {
                u[xi * pairs + at] = v;
            }
        }
    }
    u
}

/// `G g Gᵀ`: [`times_g`] on each column of the filter, then on each row of that.
fn filter_transform(g: &[f32; 9]) -> [f32; XI] {
    let columns: [[f32; 4]; 3] = std::array::from_fn(|j| times_g([g[j], g[3 + j], g[6 + j]]));
    let mut u = [0.0f32; XI];
    for i in 0..4 {
        u[i * 4..][..4].copy_from_slice(&times_g([columns[0][i], columns[1][i], columns[2][i]]));
    }
    u
}

/// `G v` for three values, with G = [[1, 0, 0], [½, ½, ½], [½, -½, ½], [0, 0, 1]].
fn times_g([a, b, c]: [f32; 3]) -> [f32; 4] {
    [a, 0.5 * (a + b + c), 0.5 * (a - b + c), c]
}

/// `Gᵀ dU G`: the 3x3 filter gradient from a transformed tile's, the adjoint of
/// [`filter_transform`] ([`times_g_transposed`] on each column, then on each row of that).
fn filter_gradient(du: &[f32; XI]) -> [f32; 9] {
    let columns: [[f32; 3]; 4] = std::array::from_fn(|j| times_g_transposed([du[j], du[4 + j], du[8 + j], du[12 + j]]));
    let mut g = [0.0f32; 9];
    for i in 0..3 {
        g[i * 3..][..3].copy_from_slice(&times_g_transposed([columns[0][i], columns[1][i], columns[2][i], columns[3][i]]));
    }
    g
}

/// `Gᵀ v` for four values, the adjoint of [`times_g`].
fn times_g_transposed([a, b, c, d]: [f32; 4]) -> [f32; 3] {
    [a + 0.5 * (b + c), 0.5 * (b - c), 0.5 * (b + c) + d]
}

/// One row of a plane placed `pad` columns in, zero past both ends (`None`: a row above or
/// below the plane, all zeros).
fn padded_row(src: Option<&[f32]>, pad: usize, row: &mut [f32]) {
    row.fill(0.0);
    if let Some(src) = src {
        let len = src.len().min(row.len().saturating_sub(pad));
        row[pad..pad + len].copy_from_slice(&src[..len]);
    }
}

/// The even and odd columns of a row as `padded_row` would place it in `row` (`row.len()`
/// columns): read in place when it needs no padding (most rows), else through `row`.
fn split_row(src: Option<&[f32]>, pad: usize, row: &mut [f32], even: &mut [f32], odd: &mut [f32]) {
    match src {
        Some(src) if pad == 0 && src.len() >= row.len() => deinterleave(&src[..row.len()], even, odd),
        src => {
            padded_row(src, pad, row);
            deinterleave(row, even, odd);
        }
    }
}

/// Row `r` of a padded plane of `t`, as a row of the source plane if it has one.
fn source_row<'a>(src: &'a [f32], r: usize, pad: usize, h: usize, w: usize) -> Option<&'a [f32]> {
    r.checked_sub(pad).filter(|&i| i < h).map(|i| &src[i * w..][..w])
}

/// `V = Bᵀ d B` for every 4x4 input tile of one image's `channels` planes, into columns
/// `first..` of `v` (`[ξ][channel][cols]`), with Bᵀ = [[1, 0, -1, 0], [0, 1, 1, 0],
/// [0, -1, 1, 0], [0, 1, 0, -1]].
///
/// Written as loops over many tiles with the tile's parts in separate arrays, which the
/// compiler turns into SIMD: done tile by tile, the transforms took longer than the products.
/// The second half runs over all of a plane's tiles at once (16 to 169 of them) rather than
/// one row of tiles (4 to 13): with the transforms' loops given parameters that cannot
/// overlap ([`times_b_transposed`]), a whole Winograd layer became 1.1 to 1.3 times faster
/// in wasm (module doc).
fn input_tiles(image: &[f32], t: &Tiling, s: &mut Rows, v: &mut [f32], cols: usize, first: usize) {
    let (tx, pw, ph) = (t.tiles_x(), t.padded_w(), t.padded_h());
    let (tiles, half) = (t.tiles(), ph / 2);
    let channels = image.len() / (t.h * t.w).max(1);
    for (c, src) in image.chunks_exact(t.h * t.w).enumerate() {
        // Columns first, `d B`, once per padded row (tile rows overlap by two rows): part j of
        // row r at `parts[j][r % 2][r / 2]`, so that below, the rows a row of tiles reads
        // (2ty to 2ty + 3) are row ty and ty + 1 of either parity, and every tile's are at
        // the same offsets.
        for r in 0..ph {
            let (even, odd) = (&mut s.even[..=tx], &mut s.odd[..=tx]);
            split_row(source_row(src, r, t.pad, t.h, t.w), t.pad, &mut s.row[..pw], even, odd);
            let (e0, e1, o0, o1) = (&s.even[..tx], &s.even[1..=tx], &s.odd[..tx], &s.odd[1..=tx]);
            let parts = Disjoint(s.parts.as_mut_ptr(), s.parts.len());
            let at = |j: usize| ((2 * j + r % 2) * half + r / 2) * tx;
            // Safety: four different j, so four disjoint ranges of `parts`, each checked.
            let (c0, c1, c2, c3) = unsafe { (parts.slice(at(0), tx), parts.slice(at(1), tx), parts.slice(at(2), tx), parts.slice(at(3), tx)) };
            // d B's columns: (e0 - e1, o0 + e1, e1 - o0, o0 - o1).
            times_b_transposed(c0, c1, c2, c3, e0, o0, e1, o1);
        }
        // Then rows, `Bᵀ (d B)`, for all the plane's tiles at once, straight into the
        // transformed tiles: tile f reads its four rows at f and f + tx of the two parities.
        for j in 0..4 {
            let (p0, p1) = (&s.parts[2 * j * half * tx..][..half * tx], &s.parts[(2 * j + 1) * half * tx..][..half * tx]);
            let (d0, d1, d2, d3) = (&p0[..tiles], &p1[..tiles], &p0[tx..][..tiles], &p1[tx..][..tiles]);
            let [v0, v1, v2, v3] = std::array::from_fn::<_, 4, _>(|i| ((i * 4 + j) * channels + c) * cols + first);
            let v = Disjoint(v.as_mut_ptr(), v.len());
            // Safety: four different ξ, so four disjoint ranges of `v`, each checked.
            let (v0, v1, v2, v3) = unsafe { (v.slice(v0, tiles), v.slice(v1, tiles), v.slice(v2, tiles), v.slice(v3, tiles)) };
            times_b_transposed(v0, v1, v2, v3, d0, d1, d2, d3);
        }
    }
}

/// `(d0 - d2, d1 + d2, d2 - d1, d1 - d3)`, element by element: Bᵀ applied to four rows (or
/// columns) of values at once.
///
/// Eight slices as eight parameters, so that the compiler knows that no output overlaps
/// another or an input (references passed to a function are known not to alias; slices cut
/// from one buffer inside the caller are not) and keeps the loop in SIMD lanes without
/// run-time overlap checks.
#[allow(clippy::too_many_arguments)]
fn times_b_transposed(v0: &mut [f32], v1: &mut [f32], v2: &mut [f32], v3: &mut [f32], d0: &[f32], d1: &[f32], d2: &[f32], d3: &[f32]) {
    let n = v0.len();
    let (v1, v2, v3, d0, d1, d2, d3) = (&mut v1[..n], &mut v2[..n], &mut v3[..n], &d0[..n], &d1[..n], &d2[..n], &d3[..n]);
    for f in 0..n {
        v0[f] = d0[f] - d2[f];
        v1[f] = d1[f] + d2[f];
        v2[f] = d2[f] - d1[f];
        v3[f] = d1[f] - d3[f];
    }
}

/// `A dy Aᵀ` for every 2x2 tile of one image's output-gradient planes (`out_h x out_w`,
/// zeros past an odd edge), into columns `first..` of `m`, with
/// A = [[1, 0], [1, 1], [1, -1], [0, -1]].
fn gradient_tiles(dy: &[f32], t: &Tiling, s: &mut Rows, m: &mut [f32], cols: usize, first: usize) {
    let (tx, tiles) = (t.tiles_x(), t.tiles());
    let channels = dy.len() / (t.out_h * t.out_w).max(1);
    for (k, src) in dy.chunks_exact(t.out_h * t.out_w).enumerate() {
        // Each row's even and odd columns at `[r % 2][r / 2]`: a tile's two rows at the same
        // offset f of the two halves.
        for r in 0..2 * t.tiles_y() {
            let at = (r % 2) * tiles + (r / 2) * tx;
            let (even, odd) = (&mut s.plane_even[at..][..tx], &mut s.plane_odd[at..][..tx]);
            split_row(source_row(src, r, 0, t.out_h, t.out_w), 0, &mut s.row[..2 * tx], even, odd);
        }
        let (e0, e1) = (&s.plane_even[..tiles], &s.plane_even[tiles..][..tiles]);
        let (o0, o1) = (&s.plane_odd[..tiles], &s.plane_odd[tiles..][..tiles]);
        let m = Disjoint(m.as_mut_ptr(), m.len());
        for i in 0..4 {
            let [m0, m1, m2, m3] = std::array::from_fn::<_, 4, _>(|j| ((i * 4 + j) * channels + k) * cols + first);
            // Safety: four different ξ, so four disjoint ranges of `m`, each checked.
            let (m0, m1, m2, m3) = unsafe { (m.slice(m0, tiles), m.slice(m1, tiles), m.slice(m2, tiles), m.slice(m3, tiles)) };
            // Row i of A dy: (a, b); then its columns times Aᵀ: a, a + b, a - b, -b.
            match i {
                0 => a_times_a_transposed(m0, m1, m2, m3, |f| (e0[f], o0[f])),
                1 => a_times_a_transposed(m0, m1, m2, m3, |f| (e0[f] + e1[f], o0[f] + o1[f])),
                2 => a_times_a_transposed(m0, m1, m2, m3, |f| (e0[f] - e1[f], o0[f] - o1[f])),
                _ => a_times_a_transposed(m0, m1, m2, m3, |f| (-e1[f], -o1[f])),
            }
        }
    }
}

/// `(a, a + b, a - b, -b)` into the four rows, for each column's `(a, b)`; one loop per row
/// of A, so each compiles to SIMD without a branch (the rows as parameters for the reason
/// [`times_b_transposed`] gives).
#[inline(always)]
fn a_times_a_transposed(m0: &mut [f32], m1: &mut [f32], m2: &mut [f32], m3: &mut [f32], ab: impl Fn(usize) -> (f32, f32)) {
    let n = m0.len();
    let (m1, m2, m3) = (&mut m1[..n], &mut m2[..n], &mut m3[..n]);
    for f in 0..n {
        let (a, b) = ab(f);
        m0[f] = a;
        m1[f] = a + b;
        m2[f] = a - b;
        m3[f] = -b;
    }
}

/// `Y = Aᵀ M A` for every tile of one image from columns `first..` of `m`
/// (`[ξ][channel][cols]`), plus the bias, into `image` (`channels` planes of
/// `out_h x out_w`), with Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]].
fn output_tiles(m: &[f32], t: &Tiling, s: &mut Rows, cols: usize, first: usize, bias: Option<&[f32]>, image: &mut [f32]) {
    let (tx, tiles) = (t.tiles_x(), t.tiles());
    let channels = image.len() / (t.out_h * t.out_w).max(1);
    for (k, plane) in image.chunks_exact_mut(t.out_h * t.out_w).enumerate() {
        let b = bias.map_or(0.0, |bias| bias[k]);
        let e: [&[f32]; XI] = std::array::from_fn(|xi| &m[(xi * channels + k) * cols + first..][..tiles]);
        // Every tile at once: row i of Aᵀ M, (p, q, r, w), then its two outputs
        // (p + q + r, q - r - w), the even and odd columns of the tile's output row i, at
        // `[i][f]`.
        let (even, odd) = (&mut s.plane_even[..2 * tiles], &mut s.plane_odd[..2 * tiles]);
        let (even0, even1) = even.split_at_mut(tiles);
        let (odd0, odd1) = odd.split_at_mut(tiles);
        for f in 0..tiles {
            let (p, q, r, w) = (e[0][f] + e[4][f] + e[8][f], e[1][f] + e[5][f] + e[9][f], e[2][f] + e[6][f] + e[10][f], e[3][f] + e[7][f] + e[11][f]);
            even0[f] = p + q + r + b;
            odd0[f] = q - r - w + b;
        }
        for f in 0..tiles {
            let (p, q, r, w) = (e[4][f] - e[8][f] - e[12][f], e[5][f] - e[9][f] - e[13][f], e[6][f] - e[10][f] - e[14][f], e[7][f] - e[11][f] - e[15][f]);
            even1[f] = p + q + r + b;
            odd1[f] = q - r - w + b;
        }
        // Then the output rows, interleaving their even and odd columns.
        for (row, out) in plane.chunks_exact_mut(t.out_w).enumerate() {
            let at = (row % 2) * tiles + (row / 2) * tx;
            let (even, odd) = (&s.plane_even[at..][..tx], &s.plane_odd[at..][..tx]);
            for (pair, (&a, &c)) in out.chunks_exact_mut(2).zip(even.iter().zip(odd.iter())) {
                pair[0] = a;
                pair[1] = c;
            }
            if t.out_w % 2 == 1 {
                out[t.out_w - 1] = even[tx - 1];
            }
        }
    }
}

/// Row buffers for the transforms, one set per thread.
struct Rows {
    /// One padded row.
    row: Vec<f32>,
    /// Its even and odd columns.
    even: Vec<f32>,
    odd: Vec<f32>,
    /// Even and odd columns for every tile of a plane, two rows each: `[2][tiles]`.
    plane_even: Vec<f32>,
    plane_odd: Vec<f32>,
    /// `d B` of every padded row of a plane: `[4][row parity][row / 2][tiles_x]`.
    parts: Vec<f32>,
}

impl Rows {
    fn new(t: &Tiling) -> Self {
        let width = t.padded_w().max(2 * t.tiles_x());
        Rows {
            row: vec![0.0; width],
            even: vec![0.0; width / 2 + 1],
            odd: vec![0.0; width / 2 + 1],
            plane_even: vec![0.0; 2 * t.tiles()],
            plane_odd: vec![0.0; 2 * t.tiles()],
            parts: vec![0.0; t.padded_h() * 4 * t.tiles_x()],
        }
    }
}

/// The even and odd columns of `row` (of even length) into the first halves of `even` and
/// `odd`.
fn deinterleave(row: &[f32], even: &mut [f32], odd: &mut [f32]) {
    for ((pair, e), o) in row.chunks_exact(2).zip(even.iter_mut()).zip(odd.iter_mut()) {
        *e = pair[0];
        *o = pair[1];
    }
}

/// A buffer handed out as ranges the caller knows to be disjoint.
#[derive(Clone, Copy)]
struct Disjoint(*mut f32, usize);

impl Disjoint {
    /// # Safety
    /// No two slices alive at once may overlap.
    unsafe fn slice<'a>(self, start: usize, len: usize) -> &'a mut [f32] {
        assert!(start + len <= self.1, "range past the buffer");
        // Safety: in bounds (asserted); disjointness is the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(start), len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spares of every thread filled with NaN between two runs: a value of an earlier
    /// call read before this call wrote it would turn a result into NaN.
    #[test]
    fn what_earlier_calls_left_in_the_spares_never_reaches_a_result() {
        let d = Dims { batch: 5, c_in: 8, height: 10, width: 9, c_out: 9, k_height: 3, k_width: 3 };
        let values = |n: usize, seed: usize| (0..n).map(|i| ((i * 7919 + seed * 104_729) % 2001) as f32 / 1000.0 - 1.0).collect::<Vec<f32>>();
        let (x, w, g) = (values(d.input_len(), 1), values(d.weight_len(), 2), values(d.output_len(), 3));
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("a pool");
        let run = || pool.install(|| (forward(&x, &w, None, d), backward_input(&w, &g, d), backward_weight(&x, &g, d)));
        let clean = run();
        pool.broadcast(|_| {
            SPARE.with_borrow_mut(|spares| {
                spares.clear();
                // Larger and smaller than the parts need: truncated, and grown.
                spares.extend([1 << 20, 64, 1 << 12, 1 << 16].map(|len| vec![f32::NAN; len]));
            })
        });
        assert_eq!(run(), clean);
    }
}
