//! Keras-style initialisation: Glorot-uniform weights, zero biases.

use burn::module::Param;
use burn::nn::Initializer;
use burn::prelude::*;

/// Glorot (Xavier) uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), Keras' default.
pub const GLOROT_UNIFORM: Initializer = Initializer::XavierUniform { gain: 1.0 };

/// A zero bias of `size` elements, as Keras initialises every bias.
pub fn zero_bias(size: usize, device: &Device) -> Option<Param<Tensor<1>>> {
    Some(Param::from_tensor(Tensor::zeros([size], device)))
}
