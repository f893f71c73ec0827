//! Keras-style initialisation: Glorot-uniform weights, zero biases.

use burn::module::{Module, ModuleMapper, Param};
use burn::nn::Initializer;
use burn::prelude::*;

use super::Network;
use crate::rng::Rng;

/// Glorot (Xavier) uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), Keras' default.
pub const GLOROT_UNIFORM: Initializer = Initializer::XavierUniform { gain: 1.0 };

/// A zero bias of `size` elements, as Keras initialises every bias.
pub fn zero_bias(size: usize, device: &Device) -> Option<Param<Tensor<1>>> {
    Some(Param::from_tensor(Tensor::zeros([size], device)))
}

/// Redraw every weight of `network` (each parameter of rank 2 or 4: dense and convolution
/// kernels) Glorot-uniform from `rng`; biases, BatchNorm scales and running statistics are
/// left as built (zeros and ones).
///
/// Why not burn's initialiser alone: it draws from the backend's generator, which on the CPU
/// backend is one per process. Two runs initialising at once on different threads (parallel
/// tests, or a test beside a benchmark) then take interleaved draws and start from different
/// weights than their seeds promise. A run's own generator makes its starting point a pure
/// function of its seed, on every backend and thread count.
pub fn redraw_weights(network: Network, rng: &mut Rng) -> Network {
    network.map(&mut Redraw { rng })
}

struct Redraw<'a> {
    rng: &'a mut Rng,
}

impl ModuleMapper for Redraw<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let rng = &mut *self.rng;
        param.map(|tensor| {
            let dims = tensor.dims();
            // burn's layouts: dense [in, out]; convolution [out, in, k, k]. Keras counts a
            // convolution's fans with its receptive field: in·k·k and out·k·k.
            let (fan_in, fan_out) = match D {
                2 => (dims[0], dims[1]),
                4 => (dims[1] * dims[2] * dims[3], dims[0] * dims[2] * dims[3]),
                _ => return tensor,
            };
            let a = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
            let values: Vec<f32> = (0..dims.iter().product::<usize>()).map(|_| rng.uniform(-a, a)).collect();
            let fresh = Tensor::<D>::from_data(TensorData::new(values, dims), &tensor.device());
            if tensor.is_require_grad() { fresh.require_grad() } else { fresh }
        })
    }
}

#[cfg(test)]
mod tests {
    use burn::module::ModuleVisitor;

    use super::*;
    use crate::model::NetworkKind;
    use crate::testing::{cpu, floats};

    /// Every float parameter's rank and values, in the module's order.
    fn params_of(network: &Network) -> Vec<(usize, Vec<f32>)> {
        struct Collect(Vec<(usize, Vec<f32>)>);
        impl ModuleVisitor for Collect {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                self.0.push((D, floats(param.val())));
            }
        }
        let mut collect = Collect(Vec::new());
        network.visit(&mut collect);
        collect.0
    }

    #[test]
    fn the_same_seed_gives_the_same_weights_whatever_the_backend_generator_did() {
        let device = cpu();
        let config = NetworkKind::VggBnDropout.config();
        device.seed(1);
        let a = redraw_weights(config.init(&device), &mut Rng::new(5));
        device.seed(2);
        let b = redraw_weights(config.init(&device), &mut Rng::new(5));
        let c = redraw_weights(config.init(&device), &mut Rng::new(6));
        assert_eq!(params_of(&a), params_of(&b));
        assert_ne!(params_of(&a), params_of(&c));
    }

    #[test]
    fn redrawn_weights_are_glorot_uniform_and_the_rest_is_untouched() {
        let device = cpu();
        let params = params_of(&redraw_weights(NetworkKind::VggBnDropout.config().init(&device), &mut Rng::new(3)));
        // The first convolution: 1 input channel, 32 outputs, 3x3: a = sqrt(6 / (9 + 288)).
        let (rank, first) = &params[0];
        assert_eq!((*rank, first.len()), (4, 32 * 9));
        let a = (6.0f32 / (9.0 + 288.0)).sqrt();
        assert!(first.iter().all(|v| v.abs() <= a), "within ±{a}");
        let spread = first.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(spread > 0.9 * a, "uses the whole range ({spread} of {a})");
        // Biases and BatchNorm shifts are zeros, BatchNorm scales ones, as built.
        for (rank, values) in &params {
            if *rank == 1 {
                assert!(values.iter().all(|&v| v == 0.0) || values.iter().all(|&v| v == 1.0), "{values:?}");
            }
        }
        assert_eq!(params.iter().filter(|(rank, _)| *rank != 1).count(), 6, "four convolutions, two dense layers");
    }
}
