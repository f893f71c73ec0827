//! Cross-entropy on logits, written out so it is clear what is averaged and what is summed.
//!
//! It is Keras' `categorical_crossentropy` on softmax outputs, clip included: Keras clips each
//! probability to [ε, 1 − ε] (ε = 1e-7) before the log, so a sample the network rates below ε
//! (hopeless) or above 1 − ε costs a constant and gives no gradient. What that changes, measured
//! at the notebook's jump from lr 0.01 to 0.1 (`results/cpu/keras-clip.txt`): not whether the
//! jump knocks the network back (it does, at every seed tried, clip or not), but how a run that
//! does blow up ends: the loss stays finite and the run goes dead instead of NaN, which
//! [`DEAD_LOSS`] catches. The clip is applied to the log-probability: the same bound, without
//! computing a probability that underflows.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

/// Keras' `epsilon()`, the probability clip of its cross-entropy.
pub const KERAS_EPSILON: f64 = 1e-7;
/// ln ε: a log-probability below it is clipped (its sample gives no gradient).
pub const LOG_LOW: f32 = -16.118_095;
/// ln(1 − ε): a log-probability above it is clipped.
pub const LOG_HIGH: f32 = -1.000_000_05e-7;

/// A mean loss this high means the network is confidently wrong on (about) 80% of the images
/// or more: a sample costs at most −ln ε ≈ 16.1 once clipped, and the clipped ones push
/// nothing, so training has almost nothing left to learn from. A network that collapsed onto
/// one class sits at 14.5 (−0.9 ln ε, the Keras loss "stuck at 14.5"); one guessing at random
/// costs ln 10 ≈ 2.3; the sharpest spike seen at the notebook's jump to lr 0.1 was 2.7 in most
/// runs, 9.3 (recovered) and 13.2 (collapsed, 14.2 over the next 25 steps) at one seed
/// natively and in the browser (`results/browser/lr-jump-seeds.txt`). An epoch that raised the
/// rate and reports this is started again once, easing into its rate
/// ([`super::report::Eased`]); otherwise, or if that goes dead too, the run has diverged.
pub const DEAD_LOSS: f32 = -LOG_LOW * 0.8;

/// Summed negative log-likelihood of `targets` (`[batch]`) under `logits` (`[batch, 10]`),
/// each log-probability clipped to [ln ε, ln(1 − ε)] as Keras does.
pub fn cross_entropy_sum(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    let picked = log_softmax(logits, 1).gather(1, targets.unsqueeze_dim(1)); // [batch, 1]
    // burn's clamp is a masked fill: the clipped entries get no gradient, as in Keras, and a
    // NaN passes through (so a diverged run is still seen).
    picked.clamp(LOG_LOW, LOG_HIGH).sum().neg()
}

/// Mean cross-entropy over the batch: the training loss (Keras' categorical_crossentropy).
/// On WebGPU one kernel of ours computes it with its gradient
/// ([`crate::kernels::mean_cross_entropy`]); elsewhere burn's operations.
pub fn cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    match crate::kernels::has_our_gpu_kernels(&logits.device()) {
        true => crate::kernels::mean_cross_entropy(logits, targets),
        false => cross_entropy_with_burn(logits, targets),
    }
}

/// [`cross_entropy`] with burn's operations on any device.
pub fn cross_entropy_with_burn(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    let [batch, _] = logits.dims();
    cross_entropy_sum(logits, targets).div_scalar(batch as f32)
}

/// [`cross_entropy`], and the trainer's running `tally` `[2]` (an inner tensor) plus this
/// batch's `[loss summed over the images, rows whose largest logit is the target]` (ties go to
/// the first class, as burn's argmax has them). On WebGPU the loss kernel keeps the tally in
/// the same pass; elsewhere burn's operations.
pub fn cross_entropy_tallied(logits: Tensor<2>, targets: Tensor<1, Int>, tally: Tensor<1>) -> (Tensor<1>, Tensor<1>) {
    if crate::kernels::has_our_gpu_kernels(&logits.device()) {
        return crate::kernels::mean_cross_entropy_tallied(logits, targets, tally);
    }
    let [batch, _] = logits.dims();
    let loss = cross_entropy_with_burn(logits.clone(), targets.clone());
    let right = logits.inner().argmax(1).squeeze_dim::<1>(1).equal(targets.inner()).int().sum().float();
    let step = Tensor::cat(vec![loss.clone().inner().mul_scalar(batch as f32), right], 0);
    (loss, tally + step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{cpu, floats};

    /// The tally: the mean loss times the batch, and the rows whose first maximum is the target
    /// (a tie goes to the first, as burn's argmax), added to what it held; the loss as without.
    #[test]
    fn a_tallied_loss_adds_the_loss_over_the_images_and_the_rows_read_right() {
        let device = cpu();
        let logits = Tensor::<2>::from_floats([[0.0, 5.0, 0.0], [3.0, 0.0, 1.0], [0.0, 2.0, 2.0]], &device);
        let targets = Tensor::<1, Int>::from_ints([1, 2, 1], &device);
        let (loss, tally) = cross_entropy_tallied(logits.clone(), targets.clone(), Tensor::from_floats([1.5, 3.0], &device));
        let mean: f32 = cross_entropy(logits, targets).into_scalar();
        assert_eq!(loss.into_scalar::<f32>(), mean);
        let tally = floats(tally);
        assert!((tally[0] - (1.5 + 3.0 * mean)).abs() < 1e-5 && tally[1] == 5.0, "{tally:?}");
    }

    #[test]
    fn uniform_logits_cost_log_ten() {
        let device = cpu();
        let loss = cross_entropy(Tensor::zeros([4, 10], &device), Tensor::from_ints([0, 3, 5, 9], &device));
        let value: f32 = loss.into_scalar();
        assert!((value - 10f32.ln()).abs() < 1e-5, "{value}");
    }

    #[test]
    fn the_bounds_are_the_logs_of_kerass_clip() {
        assert!((LOG_LOW as f64 - KERAS_EPSILON.ln()).abs() < 1e-6);
        assert!((LOG_HIGH as f64 - (-KERAS_EPSILON).ln_1p()).abs() < 1e-13);
    }

    /// A hopeless sample (its class far below the others) costs -ln ε and pushes nothing; a
    /// reasonable one beside it still gets softmax − onehot; a certain one costs −ln(1 − ε).
    #[test]
    fn a_hopeless_sample_costs_minus_log_epsilon_and_gives_no_gradient() {
        let device = cpu().autodiff();
        let z = Tensor::<2>::from_floats([[-40.0, 0.0, 0.0], [1.0, 0.0, 0.0], [40.0, 0.0, 0.0]], &device).require_grad();
        let loss = cross_entropy(z.clone(), Tensor::from_ints([0, 0, 0], &device));
        let grad: Vec<f32> = z.grad(&loss.backward()).unwrap().into_data().try_to_vec::<f32>().unwrap();
        let value: f32 = loss.inner().into_scalar();
        let e = std::f32::consts::E;
        let reasonable = -(e / (e + 2.0)).ln();
        assert!((value - (16.118_095 + reasonable + 1e-7) / 3.0).abs() < 1e-5, "{value}");
        assert_eq!(&grad[0..3], &[0.0; 3], "the hopeless row");
        assert_eq!(&grad[6..9], &[0.0; 3], "the certain row");
        let p = e / (e + 2.0);
        assert!((grad[3] - (p - 1.0) / 3.0).abs() < 1e-6 && (grad[4] - (1.0 - p) / 6.0).abs() < 1e-6, "{grad:?}");
    }
}
