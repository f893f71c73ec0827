//! Plain SGD, the notebook's optimizer (no momentum, no weight decay, so no state): burn's
//! `Sgd` with each parameter's update `p − lr·g` as one operation,
//! [`crate::kernels::sgd_update`] (one kernel on WebGPU instead of a multiply and a
//! subtraction).

use burn::optim::{ModuleOptimizer, Optimizer, SgdState};
use burn::tensor::{Device, Tensor};

#[derive(Clone, Debug)]
pub struct PlainSgd;

impl PlainSgd {
    /// The optimizer for a whole network (burn walks its parameters).
    pub fn for_network() -> ModuleOptimizer {
        ModuleOptimizer::from(PlainSgd)
    }
}

impl Optimizer for PlainSgd {
    /// burn's `Sgd`'s state type, never created: there is nothing to keep between steps.
    type State<const D: usize> = SgdState<D>;

    fn step<const D: usize>(&self, lr: f64, tensor: Tensor<D>, grad: Tensor<D>, _state: Option<Self::State<D>>) -> (Tensor<D>, Option<Self::State<D>>) {
        (crate::kernels::sgd_update(tensor, grad, lr), None)
    }

    fn to_device<const D: usize>(state: Self::State<D>, _device: &Device) -> Self::State<D> {
        state
    }
}

#[cfg(test)]
mod tests {
    use burn::optim::{GradientsParams, SgdConfig};
    use burn::prelude::*;
    use burn::tensor::Distribution;

    use super::*;
    use crate::model::NetworkKind;
    use crate::testing::{cpu, floats};

    /// Two steps of ours against burn's `Sgd` from the same network and data: the same weights.
    #[test]
    fn updates_as_burns_sgd_does() {
        let device = cpu().autodiff();
        let images = Tensor::<4>::random([4, 1, 28, 28], Distribution::Uniform(-1.0, 1.0), &device);
        let targets = Tensor::<1, Int>::from_ints([1, 7, 3, 0], &device);
        let train = |ours: bool| {
            let mut model = NetworkKind::Linear.config().init_seeded(&device, 3);
            let mut optim = if ours { PlainSgd::for_network() } else { SgdConfig::new().init() };
            for lr in [0.1, 0.01] {
                let loss = crate::train::loss::cross_entropy(model.forward(images.clone()), targets.clone());
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optim.step(lr, model, grads);
            }
            floats(model.forward(images.clone()).inner())
        };
        let (ours, burns) = (train(true), train(false));
        for (a, b) in ours.iter().zip(&burns) {
            assert!((a - b).abs() < 1e-5, "ours {a}, burn's {b}");
        }
    }
}
