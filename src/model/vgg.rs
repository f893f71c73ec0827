//! Networks 2-5: the notebook's VGG-like convnet, optionally with dropout and BatchNorm.
//!
//! conv3x3(32) relu, conv3x3(32) relu, maxpool 2, conv3x3(64) relu, conv3x3(64) relu,
//! maxpool 2, flatten, dense 512 relu, dense 10. Convolutions are "valid" (no padding), as in
//! the notebook. BatchNorm, when on, follows each activation (Conv, ReLU, BN: the notebook's
//! order) and the dense 512 layer.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;

use super::init::{zero_bias, GLOROT_UNIFORM};
use super::Layer;

/// Keras' BatchNormalization defaults: moving averages with momentum 0.99 (burn counts the
/// other way: the weight of the new batch, 0.01) and epsilon 1e-3 (`sizes::BN_EPSILON`).
const BN_MOMENTUM: f64 = 0.01;
use super::sizes::{BN_EPSILON, CONV_CHANNELS, FLAT, HIDDEN};

#[derive(Config, Debug, PartialEq)]
pub struct VggNetConfig {
    /// Dropout probability after each max-pool; 0 for none.
    #[config(default = 0.0)]
    pub pool_dropout: f64,
    /// BatchNorm after every convolution and after the dense 512 layer.
    #[config(default = false)]
    pub batch_norm: bool,
    /// Dropout probability before the output layer; 0 for none.
    #[config(default = 0.0)]
    pub head_dropout: f64,
    #[config(default = 10)]
    pub classes: usize,
}

#[derive(Module, Debug)]
pub struct VggNet {
    conv1: Conv2d,
    conv2: Conv2d,
    conv3: Conv2d,
    conv4: Conv2d,
    bn1: Option<BatchNorm>,
    bn2: Option<BatchNorm>,
    bn3: Option<BatchNorm>,
    bn4: Option<BatchNorm>,
    pool: MaxPool2d,
    pool_dropout: Option<Dropout>,
    dense: Linear,
    bn_dense: Option<BatchNorm>,
    head_dropout: Option<Dropout>,
    head: Linear,
}

impl VggNetConfig {
    pub fn init(&self, device: &Device) -> VggNet {
        let conv = |c_in: usize, c_out: usize| {
            let mut conv = Conv2dConfig::new([c_in, c_out], [3, 3])
                .with_initializer(GLOROT_UNIFORM)
                .init(device);
            conv.bias = zero_bias(c_out, device);
            conv
        };
        let dense = |d_in: usize, d_out: usize| {
            let mut dense = LinearConfig::new(d_in, d_out).with_initializer(GLOROT_UNIFORM).init(device);
            dense.bias = zero_bias(d_out, device);
            dense
        };
        let bn = |features: usize| {
            self.batch_norm.then(|| {
                BatchNormConfig::new(features)
                    .with_momentum(BN_MOMENTUM)
                    .with_epsilon(BN_EPSILON)
                    .init(device)
            })
        };
        let dropout = |prob: f64| (prob > 0.0).then(|| DropoutConfig::new(prob).init());
        let [c1, c2, c3, c4] = CONV_CHANNELS;
        VggNet {
            conv1: conv(1, c1),
            conv2: conv(c1, c2),
            conv3: conv(c2, c3),
            conv4: conv(c3, c4),
            bn1: bn(c1),
            bn2: bn(c2),
            bn3: bn(c3),
            bn4: bn(c4),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            pool_dropout: dropout(self.pool_dropout),
            dense: dense(FLAT, HIDDEN),
            bn_dense: bn(HIDDEN),
            head_dropout: dropout(self.head_dropout),
            head: dense(HIDDEN, self.classes),
        }
    }

    /// Parameters as Keras' `model.summary()` counts "Total params": weights and biases, and
    /// for each BatchNorm channel gamma and beta (trained) plus moving mean and variance (not).
    pub fn num_params(&self) -> usize {
        super::sizes::vgg_params(self.batch_norm, self.classes)
    }
}

impl VggNet {
    /// # Shapes
    /// - images: `[batch, 1, 28, 28]`
    /// - output: `[batch, 10]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.forward_seen(images, &mut |_, _| {})
    }

    /// [`Self::forward`], showing `seen` what each layer computes: every convolution's output
    /// after its ReLU (before BatchNorm: what the filters found), every pooling's output, and
    /// the dense 512 layer's (as `[batch, 1, 16, 32]`). One forward for both, so the pictures
    /// of the layers are of the network that reads.
    pub fn forward_seen(&self, images: Tensor<4>, seen: &mut impl FnMut(Layer, &Tensor<4>)) -> Tensor<2> {
        let x = self.block(images, &self.conv1, &self.bn1, Layer::Conv(1), seen); // [batch, 32, 26, 26]
        let x = self.block(x, &self.conv2, &self.bn2, Layer::Conv(2), seen); // [batch, 32, 24, 24]
        let x = self.pool_and_drop(x, Layer::Pool(1), seen); // [batch, 32, 12, 12]
        let x = self.block(x, &self.conv3, &self.bn3, Layer::Conv(3), seen); // [batch, 64, 10, 10]
        let x = self.block(x, &self.conv4, &self.bn4, Layer::Conv(4), seen); // [batch, 64, 8, 8]
        let x = self.pool_and_drop(x, Layer::Pool(2), seen); // [batch, 64, 4, 4]
        let x = x.flatten::<2>(1, 3); // [batch, 1024]
        let x = crate::kernels::dense_relu(x, &self.dense); // [batch, 512]
        let [batch, _] = x.dims();
        seen(Layer::Dense, &x.clone().reshape([batch, 1, 16, 32]));
        let x = normalise(x, &self.bn_dense);
        let x = drop(x, &self.head_dropout);
        crate::kernels::dense(x, &self.head) // [batch, 10]
    }

    /// The first convolution's filters: `[32, 1, 3, 3]`.
    pub fn first_filters(&self) -> Tensor<4> {
        self.conv1.weight.val()
    }

    /// Conv, ReLU, then BatchNorm if present (the notebook's order). On the CPU the
    /// convolution runs on our kernels (`crate::kernels`), elsewhere on burn's.
    fn block(&self, x: Tensor<4>, conv: &Conv2d, bn: &Option<BatchNorm>, layer: Layer, seen: &mut impl FnMut(Layer, &Tensor<4>)) -> Tensor<4> {
        let x = crate::kernels::conv2d_valid_relu(x, conv);
        seen(layer, &x);
        normalise(x, bn)
    }

    fn pool_and_drop(&self, x: Tensor<4>, layer: Layer, seen: &mut impl FnMut(Layer, &Tensor<4>)) -> Tensor<4> {
        let x = crate::kernels::max_pool(x, &self.pool);
        seen(layer, &x);
        drop(x, &self.pool_dropout)
    }
}

fn normalise<const D: usize>(x: Tensor<D>, bn: &Option<BatchNorm>) -> Tensor<D> {
    match bn {
        // On the CPU while training, our kernels (`crate::kernels`); burn's elsewhere.
        Some(bn) => crate::kernels::batch_norm(x, bn),
        None => x,
    }
}

fn drop<const D: usize>(x: Tensor<D>, dropout: &Option<Dropout>) -> Tensor<D> {
    match dropout {
        Some(d) => d.forward(x),
        None => x,
    }
}
