//! Batch normalisation in training mode (statistics of the batch itself) on the CPU, forward
//! and backward, in two passes over the data each.
//!
//! Why our own: burn 0.22.1 differentiates `batch_norm_train` as one operation, but its CPU
//! backend computes it from general tensor operations: each statistic first copies the input
//! with batch and channels swapped, and the normalisation and its gradient are a chain of
//! broadcast element-wise operations, each a full pass that allocates its result. Here one
//! pass per channel gathers the statistics (in f64) and one pass per image writes the result.
//!
//! - forward: `mean_c`, biased `var_c` over batch and positions; `y = (x - mean) · inv · γ + β`
//!   with `inv = 1 / sqrt(var + ε)`;
//! - backward: with `x̂ = (x - mean) · inv`, `dβ = Σ dy`, `dγ = Σ dy · x̂`,
//!   `dx = γ · inv · (dy - dβ / n - x̂ · dγ / n)`, n = batch x positions.
//!
//! Checked against burn's own `batch_norm_train` and its gradients (`kernels/mod.rs` tests).
//! Shapes tuned on: batch 64, 32 and 64 channels of 26x26 to 8x8 positions, and 512 features
//! of the dense layer. The figures are in README, "The CPU on every core".

use super::parallel;

/// The sizes of one normalisation: `[batch, channels, positions]` (positions 1 for a dense
/// layer's `[batch, features]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    pub batch: usize,
    pub channels: usize,
    pub positions: usize,
}

impl Dims {
    fn len(&self) -> usize {
        self.batch * self.channels * self.positions
    }

    fn count(&self) -> f64 {
        (self.batch * self.positions) as f64
    }
}

/// What the forward pass returns: the output, and the batch's mean and biased variance per
/// channel (what running statistics are fed).
pub struct Normalised {
    pub output: Vec<f32>,
    pub mean: Vec<f32>,
    pub variance: Vec<f32>,
}

/// The gradients with respect to the input, γ and β.
pub struct Gradients {
    pub x: Vec<f32>,
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
}

pub fn forward(x: &[f32], gamma: &[f32], beta: &[f32], epsilon: f64, d: Dims) -> Normalised {
    check(d, x.len(), gamma.len());
    assert_eq!(beta.len(), d.channels, "beta of the wrong size");
    let stats = parallel::map(d.channels, || (), |_, c| {
        let n = d.count();
        let mean = channel(x, d, c).map(|v| v as f64).sum::<f64>() / n;
        let variance = channel(x, d, c).map(|v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        (mean, variance)
    });
    // y = (x - mean) · scale + β, per channel. The mean is subtracted first, not folded into
    // a shift: with a mean far from zero the two large terms would cancel in f32.
    let scale: Vec<f32> =
        stats.iter().zip(gamma).map(|(&(_, variance), &g)| (g as f64 / (variance + epsilon).sqrt()) as f32).collect();
    let mean: Vec<f32> = stats.iter().map(|s| s.0 as f32).collect();
    let mut output = vec![0.0; d.len()];
    for_each_image(&mut output, d, |b, image| {
        let src = &x[b * d.channels * d.positions..][..d.channels * d.positions];
        for (c, (dst, src)) in image.chunks_exact_mut(d.positions).zip(src.chunks_exact(d.positions)).enumerate() {
            let (m, k, b) = (mean[c], scale[c], beta[c]);
            for (y, &v) in dst.iter_mut().zip(src) {
                *y = (v - m) * k + b;
            }
        }
    });
    Normalised { output, mean, variance: stats.iter().map(|s| s.1 as f32).collect() }
}

pub fn backward(x: &[f32], gamma: &[f32], mean: &[f32], variance: &[f32], epsilon: f64, dy: &[f32], d: Dims) -> Gradients {
    check(d, x.len(), gamma.len());
    assert_eq!(dy.len(), d.len(), "output gradient of the wrong size");
    assert!(mean.len() == d.channels && variance.len() == d.channels, "statistics of the wrong size");
    let inv: Vec<f64> = variance.iter().map(|&v| 1.0 / (v as f64 + epsilon).sqrt()).collect();
    let sums = parallel::map(d.channels, || (), |_, c| {
        let (m, inv) = (mean[c] as f64, inv[c]);
        channel(x, d, c).zip(channel(dy, d, c)).fold((0.0f64, 0.0f64), |(s, sx), (v, g)| {
            (s + g as f64, sx + g as f64 * (v as f64 - m) * inv)
        })
    });
    let n = d.count();
    // dx = dy · k + (x - mean) · b + c per channel, from the formula above (the mean
    // subtracted first, as in the forward pass).
    let coefficients: Vec<(f32, f32, f32)> = (0..d.channels)
        .map(|ch| {
            let (sum, sum_xhat) = sums[ch];
            let k = gamma[ch] as f64 * inv[ch];
            let b = -k * inv[ch] * sum_xhat / n;
            let c = -k * sum / n;
            (k as f32, b as f32, c as f32)
        })
        .collect();
    let mut dx = vec![0.0; d.len()];
    for_each_image(&mut dx, d, |b, image| {
        let offset = b * d.channels * d.positions;
        let (xs, gs) = (&x[offset..][..d.channels * d.positions], &dy[offset..][..d.channels * d.positions]);
        for (c, ((dst, xs), gs)) in image
            .chunks_exact_mut(d.positions)
            .zip(xs.chunks_exact(d.positions))
            .zip(gs.chunks_exact(d.positions))
            .enumerate()
        {
            let ((k, bx, cc), m) = (coefficients[c], mean[c]);
            for ((out, &v), &g) in dst.iter_mut().zip(xs).zip(gs) {
                *out = g * k + (v - m) * bx + cc;
            }
        }
    });
    Gradients {
        x: dx,
        gamma: sums.iter().map(|s| s.1 as f32).collect(),
        beta: sums.iter().map(|s| s.0 as f32).collect(),
    }
}

fn check(d: Dims, x: usize, gamma: usize) {
    assert_eq!(x, d.len(), "input of the wrong size");
    assert_eq!(gamma, d.channels, "gamma of the wrong size");
    assert!(d.batch * d.positions > 0, "batch normalisation needs at least one value per channel");
}

/// Channel `c`'s values, image after image.
fn channel(x: &[f32], d: Dims, c: usize) -> impl Iterator<Item = f32> + '_ {
    (0..d.batch).flat_map(move |b| x[(b * d.channels + c) * d.positions..][..d.positions].iter().copied())
}

fn for_each_image(out: &mut [f32], d: Dims, work: impl Fn(usize, &mut [f32]) + Send + Sync) {
    if out.is_empty() {
        return;
    }
    parallel::for_each_chunk(out, d.channels * d.positions, || (), |_, b, image| work(b, image));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = crate::rng::Rng::new(seed);
        (0..n).map(|_| rng.below(2001) as f32 / 500.0 - 2.0).collect()
    }

    #[test]
    fn the_output_has_zero_mean_and_unit_variance_before_gamma_and_beta() {
        let d = Dims { batch: 5, channels: 3, positions: 7 };
        let x = values(d.len(), 1);
        let out = forward(&x, &[1.0; 3], &[0.0; 3], 0.0, d);
        for c in 0..3 {
            let vals: Vec<f64> = channel(&out.output, d, c).map(|v| v as f64).collect();
            let mean = vals.iter().sum::<f64>() / vals.len() as f64;
            let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64;
            assert!(mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4, "channel {c}: mean {mean}, variance {var}");
        }
    }

    /// A mean far from zero with a small spread is still standardised (the mean is
    /// subtracted before scaling, so no two large terms cancel).
    #[test]
    fn a_large_mean_with_a_small_spread_is_standardised() {
        let d = Dims { batch: 4, channels: 1, positions: 2 };
        let x: Vec<f32> = [-3.0, -1.0, 1.0, 3.0, -2.0, 2.0, 0.5, -0.5].iter().map(|v| 100.0 + 0.01 * v).collect();
        let out = forward(&x, &[1.0], &[0.0], 0.0, d);
        let exact: Vec<f64> = x.iter().map(|&v| (v as f64 - 100.0) / 0.01).collect();
        let (mean, var) = (exact.iter().sum::<f64>() / 8.0, exact.iter().map(|v| v * v).sum::<f64>() / 8.0);
        for (y, e) in out.output.iter().zip(&exact) {
            let want = (e - mean) / (var - mean * mean).sqrt();
            assert!((*y as f64 - want).abs() < 2e-2, "{y} vs {want}");
        }
    }

    /// Each gradient against a central difference of L = Σ y · g.
    #[test]
    fn gradients_match_finite_differences() {
        let d = Dims { batch: 4, channels: 2, positions: 3 };
        let (x, gamma, beta, g) = (values(d.len(), 2), vec![0.7, -1.3], vec![0.2, 0.5], values(d.len(), 3));
        let loss = |x: &[f32], gamma: &[f32], beta: &[f32]| {
            let y = forward(x, gamma, beta, 1e-3, d).output;
            y.iter().zip(&g).map(|(&y, &g)| y as f64 * g as f64).sum::<f64>()
        };
        let out = forward(&x, &gamma, &beta, 1e-3, d);
        let grads = backward(&x, &gamma, &out.mean, &out.variance, 1e-3, &g, d);
        let h = 1e-2f32;
        let numeric = |f: &dyn Fn(f32) -> f64| (f(h) - f(-h)) / (2.0 * h as f64);
        for i in 0..d.len() {
            let n = numeric(&|e| {
                let mut x = x.clone();
                x[i] += e;
                loss(&x, &gamma, &beta)
            });
            assert!((n - grads.x[i] as f64).abs() < 2e-2 * (1.0 + n.abs()), "dx[{i}]: {n} vs {}", grads.x[i]);
        }
        for c in 0..2 {
            let n = numeric(&|e| {
                let mut gm = gamma.clone();
                gm[c] += e;
                loss(&x, &gm, &beta)
            });
            assert!((n - grads.gamma[c] as f64).abs() < 1e-2 * (1.0 + n.abs()), "dgamma[{c}]: {n} vs {}", grads.gamma[c]);
            let n = numeric(&|e| {
                let mut bt = beta.clone();
                bt[c] += e;
                loss(&x, &gamma, &bt)
            });
            assert!((n - grads.beta[c] as f64).abs() < 1e-2 * (1.0 + n.abs()), "dbeta[{c}]: {n} vs {}", grads.beta[c]);
        }
    }
}
