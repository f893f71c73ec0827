//! Cross-entropy on logits, written out so it is clear what is averaged and what is summed.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

/// Summed negative log-likelihood of `targets` (`[batch]`) under `logits` (`[batch, 10]`).
pub fn cross_entropy_sum(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    let picked = log_softmax(logits, 1).gather(1, targets.unsqueeze_dim(1)); // [batch, 1]
    picked.sum().neg()
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

/// Number of rows whose largest logit is the target, `[1]`.
pub fn correct(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1, Int> {
    logits.argmax(1).squeeze_dim::<1>(1).equal(targets).int().sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::cpu;

    #[test]
    fn uniform_logits_cost_log_ten() {
        let device = cpu();
        let loss = cross_entropy(Tensor::zeros([4, 10], &device), Tensor::from_ints([0, 3, 5, 9], &device));
        let value: f32 = loss.into_scalar();
        assert!((value - 10f32.ln()).abs() < 1e-5, "{value}");
    }

    #[test]
    fn correct_counts_argmax_hits() {
        let device = cpu();
        let logits = Tensor::<2>::from_floats([[0.0, 5.0, 0.0], [3.0, 0.0, 1.0], [0.0, 0.0, 2.0]], &device);
        let hits: i64 = correct(logits, Tensor::from_ints([1, 2, 2], &device)).into_scalar();
        assert_eq!(hits, 2);
    }
}
