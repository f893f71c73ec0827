//! Honest confidence: temperature scaling (Guo et al., 2017), fitted on held-out images.
//!
//! A network trained to a low cross-entropy tends to be overconfident: its 99% readings are
//! right less than 99% of the time. One number fixes most of it: divide every logit by a
//! temperature `T` before the softmax, with `T` chosen to minimise the negative
//! log-likelihood of held-out images the network never trained on. `T` does not change which
//! class wins (so accuracy is untouched), only how sure the network says it is.
//!
//! Everything here runs on the CPU on logits already read back (a few thousand rows of ten).

use crate::model::CLASSES;

/// The search range for `T`: wider than any network here needs (seen: 1 to 1.4), narrow
/// enough that a fit on few images cannot make every reading a certainty.
const T_MIN: f64 = 0.25;
const T_MAX: f64 = 10.0;
/// Below this many misread held-out images the fit says nothing (with none, the likelihood
/// only grows as T falls), and T stays 1.
const MIN_ERRORS: usize = 10;

/// Mean negative log-likelihood of `labels` under `softmax(logits / t)`, rows of [`CLASSES`].
pub fn mean_nll(logits: &[f32], labels: &[u8], t: f64) -> f64 {
    let rows = labels.len().max(1);
    logits
        .chunks_exact(CLASSES)
        .zip(labels)
        .map(|(row, &label)| {
            let scaled = row.iter().map(|&z| z as f64 / t);
            let max = scaled.clone().fold(f64::NEG_INFINITY, f64::max);
            let log_sum = scaled.map(|z| (z - max).exp()).sum::<f64>().ln() + max;
            log_sum - row[label as usize] as f64 / t
        })
        .sum::<f64>()
        / rows as f64
}

/// The temperature that minimises [`mean_nll`] on these rows: a golden-section search over
/// ln T (the likelihood is smooth and, in T, has one minimum). 1 when there is nothing to fit:
/// no rows, rows that are not finite (a diverged network), or fewer than [`MIN_ERRORS`]
/// misread rows (a small or easy held-out set).
pub fn fit_temperature(logits: &[f32], labels: &[u8]) -> f32 {
    if labels.is_empty() || logits.len() != labels.len() * CLASSES || logits.iter().any(|z| !z.is_finite()) {
        return 1.0;
    }
    let misread = logits
        .chunks_exact(CLASSES)
        .zip(labels)
        .filter(|(row, label)| row.iter().any(|&z| z > row[**label as usize]))
        .count();
    if misread < MIN_ERRORS {
        return 1.0;
    }
    let f = |log_t: f64| mean_nll(logits, labels, log_t.exp());
    let (mut a, mut b) = (T_MIN.ln(), T_MAX.ln());
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (b - ratio * (b - a), a + ratio * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    // 60 steps shrink the interval by 0.618^60: far below f32's resolution of T.
    for _ in 0..60 {
        if fc < fd {
            (b, d, fd) = (d, c, fc);
            c = b - ratio * (b - a);
            fc = f(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + ratio * (b - a);
            fd = f(d);
        }
    }
    ((a + b) / 2.0).exp() as f32
}

/// The ten probabilities of one row of logits at temperature `t`.
pub fn probabilities(logits: &[f32], t: f32) -> [f32; CLASSES] {
    let t = if t.is_finite() && t > 0.0 { t } else { 1.0 };
    let max = logits.iter().fold(f32::NEG_INFINITY, |m, &z| m.max(z / t));
    let mut out = [0.0; CLASSES];
    for (o, &z) in out.iter_mut().zip(logits) {
        *o = (z / t - max).exp();
    }
    let sum: f32 = out.iter().sum();
    out.iter_mut().for_each(|p| *p /= sum);
    out
}

/// Expected calibration error: the rows binned by their top probability (`bins` equal
/// widths), and the gap between each bin's mean confidence and its accuracy, weighted by the
/// bin's share of rows. 0 is perfectly calibrated.
pub fn expected_calibration_error(logits: &[f32], labels: &[u8], t: f32, bins: usize) -> f64 {
    let mut confidence = vec![0.0f64; bins];
    let mut right = vec![0.0f64; bins];
    let mut count = vec![0usize; bins];
    for (row, &label) in logits.chunks_exact(CLASSES).zip(labels) {
        let p = probabilities(row, t);
        let (top, &conf) = p.iter().enumerate().fold((0, &p[0]), |best, (i, v)| if *v > *best.1 { (i, v) } else { best });
        let bin = ((conf as f64 * bins as f64) as usize).min(bins - 1);
        confidence[bin] += conf as f64;
        right[bin] += (top == label as usize) as u8 as f64;
        count[bin] += 1;
    }
    let total = labels.len().max(1) as f64;
    (0..bins)
        .filter(|&b| count[b] > 0)
        .map(|b| (confidence[b] - right[b]).abs() / total)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Rows whose labels are drawn from `softmax(true_logits)`, handed out as
    /// `scale · true_logits`: a network `scale` times too sure of itself (or too shy, below 1).
    fn miscalibrated(rows: usize, scale: f32, seed: u64) -> (Vec<f32>, Vec<u8>) {
        let mut rng = Rng::new(seed);
        let mut logits = Vec::with_capacity(rows * CLASSES);
        let mut labels = Vec::with_capacity(rows);
        for _ in 0..rows {
            // A clear favourite most of the time, as a trained network has.
            let favourite = rng.below(CLASSES);
            let row: Vec<f32> = (0..CLASSES).map(|c| rng.uniform(-1.0, 1.0) + if c == favourite { 3.0 } else { 0.0 }).collect();
            let p = probabilities(&row, 1.0);
            let (mut u, mut label) = (rng.next_f32(), CLASSES - 1);
            for (c, &pc) in p.iter().enumerate() {
                if u < pc {
                    label = c;
                    break;
                }
                u -= pc;
            }
            logits.extend(row.iter().map(|z| z * scale));
            labels.push(label as u8);
        }
        (logits, labels)
    }

    #[test]
    fn an_overconfident_network_gets_its_own_factor_back_and_a_lower_calibration_error() {
        let (logits, labels) = miscalibrated(5000, 3.0, 1);
        let t = fit_temperature(&logits, &labels);
        assert!((t - 3.0).abs() < 0.3, "T = {t}");
        let (before, after) = (expected_calibration_error(&logits, &labels, 1.0, 15), expected_calibration_error(&logits, &labels, t, 15));
        assert!(before > 0.05 && after < before / 3.0, "ECE {before} -> {after}");
        assert!(mean_nll(&logits, &labels, t as f64) < mean_nll(&logits, &labels, 1.0));
    }

    #[test]
    fn a_shy_network_is_sharpened_and_a_calibrated_one_left_near_one() {
        let (shy, labels) = miscalibrated(5000, 0.5, 2);
        let t = fit_temperature(&shy, &labels);
        assert!((t - 0.5).abs() < 0.06, "T = {t}");
        let (fair, labels) = miscalibrated(5000, 1.0, 3);
        let t = fit_temperature(&fair, &labels);
        assert!((t - 1.0).abs() < 0.1, "T = {t}");
    }

    #[test]
    fn temperature_keeps_the_winner_and_nothing_to_fit_gives_one() {
        let row = [0.5, 4.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0];
        for t in [0.5, 1.0, 3.0] {
            let p = probabilities(&row, t);
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            assert_eq!(p.iter().cloned().fold(0.0, f32::max), p[1]);
        }
        assert!(probabilities(&row, 3.0)[1] < probabilities(&row, 1.0)[1], "a higher T is less sure");
        assert_eq!(fit_temperature(&[], &[]), 1.0);
        assert_eq!(fit_temperature(&[f32::NAN; 10], &[0]), 1.0);
        // Every row read right: the likelihood would only grow as T falls to nothing.
        let (logits, _) = miscalibrated(300, 1.0, 4);
        let argmax: Vec<u8> = logits.chunks_exact(CLASSES).map(|r| (0..CLASSES).fold(0, |b, c| if r[c] > r[b] { c } else { b }) as u8).collect();
        assert_eq!(fit_temperature(&logits, &argmax), 1.0);
    }
}
