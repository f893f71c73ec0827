//! 2x2 max pooling (stride 2, no padding) on the CPU, forward and backward, the VGG-like
//! networks' two pools.
//!
//! Why: burn's CPU pooling is a general 3-D pooling that also records every window's index,
//! and its autodiff runs it whenever a pool is trained; profiled in the threaded browser
//! worker (`tests/e2e/profile-cpu.mjs`) it took 4.6% of a VGG-like step, about 6 ns per input
//! value. Here the forward keeps no indices and the backward finds each window's maximum
//! again from `x`, which is kept for it anyway.
//!
//! The same window rules as burn's (`burn-flex`'s `max_pool3d_with_indices`): the first
//! value of a window is taken, a later one only if it is greater or NaN, so a tie (ReLU's
//! zeros) sends the gradient to the first maximum in row-major order and a NaN wins. An odd
//! last row or column belongs to no window: its gradient is zero.
//!
//! Work is split by fixed groups of planes, never by thread, so results do not depend on the
//! thread count.

use super::parallel;

/// Planes per part of the parallel work: at least a few thousand values each, so a part is
/// worth handing to another thread.
const PLANES: usize = 8;

/// The shape of the pooled tensor: `planes` (batch times channels) of `h x w`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planes {
    pub planes: usize,
    pub h: usize,
    pub w: usize,
}

impl Planes {
    fn out_h(&self) -> usize {
        self.h / 2
    }

    fn out_w(&self) -> usize {
        self.w / 2
    }

    fn plane_in(&self) -> usize {
        self.h * self.w
    }

    fn plane_out(&self) -> usize {
        self.out_h() * self.out_w()
    }
}

/// `[planes, h / 2, w / 2]`: the maximum of each 2x2 window.
pub fn forward(x: &[f32], p: Planes) -> Vec<f32> {
    assert_eq!(x.len(), p.planes * p.plane_in(), "input of the wrong size");
    let mut out = vec![0.0; p.planes * p.plane_out()];
    if out.is_empty() {
        return out;
    }
    parallel::for_each_chunk(&mut out, PLANES * p.plane_out(), || (), |_, part, out| {
        for (i, plane) in out.chunks_exact_mut(p.plane_out()).enumerate() {
            let src = &x[(part * PLANES + i) * p.plane_in()..][..p.plane_in()];
            for (r, row) in plane.chunks_exact_mut(p.out_w()).enumerate() {
                let (top, bottom) = (&src[2 * r * p.w..][..p.w], &src[(2 * r + 1) * p.w..][..p.w]);
                for (c, y) in row.iter_mut().enumerate() {
                    *y = window(top, bottom, 2 * c).0;
                }
            }
        }
    });
    out
}

/// The gradient with respect to `x` (`[planes, h, w]`) from the output's `dy`: each window's
/// gradient at its maximum, zero elsewhere.
pub fn backward(x: &[f32], dy: &[f32], p: Planes) -> Vec<f32> {
    assert_eq!(x.len(), p.planes * p.plane_in(), "input of the wrong size");
    assert_eq!(dy.len(), p.planes * p.plane_out(), "output gradient of the wrong size");
    let mut dx = vec![0.0; x.len()];
    if dx.is_empty() || dy.is_empty() {
        return dx;
    }
    parallel::for_each_chunk(&mut dx, PLANES * p.plane_in(), || (), |_, part, dx| {
        for (i, plane) in dx.chunks_exact_mut(p.plane_in()).enumerate() {
            let at = part * PLANES + i;
            let (src, grad) = (&x[at * p.plane_in()..][..p.plane_in()], &dy[at * p.plane_out()..][..p.plane_out()]);
            for (r, g) in grad.chunks_exact(p.out_w()).enumerate() {
                let (top, bottom) = (&src[2 * r * p.w..][..p.w], &src[(2 * r + 1) * p.w..][..p.w]);
                for (c, &g) in g.iter().enumerate() {
                    let which = window(top, bottom, 2 * c).1;
                    plane[(2 * r + which / 2) * p.w + 2 * c + which % 2] = g;
                }
            }
        }
    });
    dx
}

/// The window whose top-left corner is column `c` of `top`: its maximum and which of its four
/// values that is (0 and 1 on the top row, 2 and 3 below), by burn's rules (module doc).
#[inline(always)]
fn window(top: &[f32], bottom: &[f32], c: usize) -> (f32, usize) {
    let values = [top[c], top[c + 1], bottom[c], bottom[c + 1]];
    let mut best = (values[0], 0);
    for (k, &v) in values.iter().enumerate().skip(1) {
        if v > best.0 || v.is_nan() {
            best = (v, k);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, written out: every window's values in row-major order.
    fn reference(x: &[f32], p: Planes) -> (Vec<f32>, Vec<usize>) {
        let (mut out, mut at) = (vec![], vec![]);
        for plane in 0..p.planes {
            for r in 0..p.out_h() {
                for c in 0..p.out_w() {
                    let mut best: Option<(f32, usize)> = None;
                    for (dr, dc) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                        let i = plane * p.plane_in() + (2 * r + dr) * p.w + 2 * c + dc;
                        if best.is_none_or(|(m, _)| x[i] > m || x[i].is_nan()) {
                            best = Some((x[i], i));
                        }
                    }
                    let (m, i) = best.expect("a window has four values");
                    out.push(m);
                    at.push(i);
                }
            }
        }
        (out, at)
    }

    #[test]
    fn pooling_and_its_gradient_follow_the_definition_with_ties_nan_and_odd_sizes() {
        for p in [Planes { planes: 19, h: 24, w: 24 }, Planes { planes: 3, h: 5, w: 7 }, Planes { planes: 1, h: 2, w: 2 }, Planes { planes: 9, h: 8, w: 9 }] {
            // Quantised, so windows often tie; a NaN in some.
            let mut x: Vec<f32> = (0..p.planes * p.plane_in()).map(|i| ((i * 7919) % 13) as f32 * 0.5 - 2.0).map(|v: f32| v.max(0.0)).collect();
            x[3] = f32::NAN;
            let dy: Vec<f32> = (0..p.planes * p.plane_out()).map(|i| 1.0 + i as f32).collect();
            let (want, at) = reference(&x, p);
            let got = forward(&x, p);
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert!(g == w || (g.is_nan() && w.is_nan()), "{p:?}: {g} against {w}");
            }
            let mut want_dx = vec![0.0; x.len()];
            for (&i, &g) in at.iter().zip(&dy) {
                want_dx[i] = g;
            }
            assert_eq!(backward(&x, &dy, p), want_dx, "{p:?}");
        }
    }

    #[test]
    fn nothing_to_pool_is_an_empty_result() {
        let p = Planes { planes: 2, h: 1, w: 4 };
        assert!(forward(&[0.0; 8], p).is_empty());
        assert_eq!(backward(&[1.0; 8], &[], p), vec![0.0; 8]);
    }
}
