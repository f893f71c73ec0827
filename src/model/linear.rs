//! Network 1: softmax regression, a single dense layer from 784 pixels to 10 classes.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use super::init::{zero_bias, GLOROT_UNIFORM};
use super::CLASSES;
use crate::data::IMAGE_PIXELS;

#[derive(Config, Debug, PartialEq)]
pub struct LinearNetConfig {
    #[config(default = 10)]
    pub classes: usize,
}

#[derive(Module, Debug)]
pub struct LinearNet {
    dense: Linear,
}

impl LinearNetConfig {
    pub fn init(&self, device: &Device) -> LinearNet {
        let mut dense = LinearConfig::new(IMAGE_PIXELS, self.classes)
            .with_initializer(GLOROT_UNIFORM)
            .init(device);
        dense.bias = zero_bias(self.classes, device);
        LinearNet { dense }
    }

    pub fn num_params(&self) -> usize {
        super::sizes::linear_params(self.classes)
    }
}

impl LinearNet {
    /// # Shapes
    /// - images: `[batch, 1, 28, 28]`
    /// - output: `[batch, 10]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = images.flatten::<2>(1, 3); // [batch, 784]
        crate::kernels::dense(x, &self.dense) // [batch, 10]
    }

    /// Each digit's weights as an image, `[10, 1, 28, 28]`: the pixels whose ink counts for
    /// (positive) or against (negative) that digit; the network's whole knowledge.
    pub fn templates(&self) -> Tensor<4> {
        let w = self.dense.weight.val(); // [784, 10]
        let [_, classes] = w.dims();
        w.transpose().reshape([classes, 1, crate::data::IMAGE_SIDE, crate::data::IMAGE_SIDE])
    }
}

const _: () = assert!(CLASSES == 10);
