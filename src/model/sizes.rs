//! The networks' sizes as plain numbers, free of burn: the page shows parameter counts and
//! is built without burn (Cargo.toml's `engine`); the modules build their layers from the
//! same constants.

use crate::data::IMAGE_PIXELS;

/// Keras' BatchNormalization epsilon (1e-3).
pub const BN_EPSILON: f64 = 1e-3;
pub const CONV_CHANNELS: [usize; 4] = [32, 32, 64, 64];
pub const HIDDEN: usize = 512;
/// 28 -> 26 -> 24 -> pool 12 -> 10 -> 8 -> pool 4: 64 channels of 4x4 reach the dense layer.
pub const FLAT: usize = 64 * 4 * 4;

/// The linear network's weights and biases.
pub fn linear_params(classes: usize) -> usize {
    IMAGE_PIXELS * classes + classes
}

/// Parameters as Keras' `model.summary()` counts "Total params": weights and biases, and
/// for each BatchNorm channel gamma and beta (trained) plus moving mean and variance (not).
pub fn vgg_params(batch_norm: bool, classes: usize) -> usize {
    let [c1, c2, c3, c4] = CONV_CHANNELS;
    let conv = |c_in: usize, c_out: usize| c_in * c_out * 9 + c_out;
    let bn = |features: usize| if batch_norm { 4 * features } else { 0 };
    conv(1, c1) + conv(c1, c2) + conv(c2, c3) + conv(c3, c4)
        + FLAT * HIDDEN + HIDDEN
        + HIDDEN * classes + classes
        + bn(c1) + bn(c2) + bn(c3) + bn(c4) + bn(HIDDEN)
}

/// The largest buffer one image takes in a training step, in bytes: for the VGG networks the
/// gradient of the second convolution's output (32 channels of 24x24) padded by two pixels
/// all round for its input's gradient (`kernels/gpu_conv.rs`: 32 channels of 28x28 f32, more
/// than the first convolution's 26x26 output); for the linear network its input row. A
/// batch's must fit one WebGPU buffer.
pub fn largest_buffer_per_image(convolutional: bool) -> u64 {
    let floats = if convolutional { CONV_CHANNELS[0] * (crate::data::IMAGE_SIDE * crate::data::IMAGE_SIDE) } else { IMAGE_PIXELS };
    (floats * std::mem::size_of::<f32>()) as u64
}
