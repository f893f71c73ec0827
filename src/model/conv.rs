//! The VGG-like network's 3x3 "valid" convolutions, computed per backend.
//!
//! On the CPU, burn-flex's own convolution kernels. On the GPU (burn's wgpu backend, built
//! without `autotune`, which Chrome's WebGPU needs: README, Notes), burn has only its
//! fallback kernels: a direct convolution, and the weight gradient as a direct convolution by
//! the output gradient, where each of a few thousand invocations loops over tens of
//! thousands of products. There the convolution is written as im2col plus one matrix
//! product instead: nine shifted views of the input side by side (`[pixels, 9·channels]`)
//! times the kernel as a `[9·channels, filters]` matrix. Autodiff then gives the two
//! gradients as matrix products too (burn's tiled matmul, workgroup memory, no subgroups),
//! plus slices for the input gradient.
//!
//! Reference: [`Conv2d::forward`] (checked against it below, values and gradients, on odd
//! shapes). The memory price: the columns of the second convolution at batch 64 are
//! 64·24·24 × 288 floats, 42 MB.

use burn::nn::conv::Conv2d;
use burn::prelude::*;

/// `conv` applied to `x`: burn's kernel on the CPU, im2col + matmul elsewhere.
///
/// # Shapes
/// - x: `[batch, channels_in, height, width]`
/// - output: `[batch, channels_out, height - 2, width - 2]`
pub fn conv3x3(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    if x.device().inner() == Device::flex() {
        conv.forward(x)
    } else {
        im2col(x, conv.weight.val(), conv.bias.as_ref().map(|b| b.val()))
    }
}

/// A stride-1, unpadded convolution as one matrix product.
///
/// # Shapes
/// - x: `[batch, c, h, w]`; weight: `[filters, c, kh, kw]`; bias: `[filters]`
/// - output: `[batch, filters, h - kh + 1, w - kw + 1]`
pub fn im2col(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>) -> Tensor<4> {
    let [batch, c, h, w] = x.dims();
    let [filters, c_in, kh, kw] = weight.dims();
    assert_eq!(c, c_in, "input channels");
    let (ho, wo) = (h + 1 - kh, w + 1 - kw);
    // Channels last once, so each shifted view is a block of whole pixels.
    let x = x.permute([0, 2, 3, 1]); // [batch, h, w, c]
    let views: Vec<Tensor<4>> = (0..kh)
        .flat_map(|i| (0..kw).map(move |j| (i, j)))
        .map(|(i, j)| x.clone().slice([0..batch, i..i + ho, j..j + wo, 0..c])) // [batch, ho, wo, c]
        .collect();
    let columns = Tensor::cat(views, 3).reshape([batch * ho * wo, kh * kw * c]); // [pixels, 9c]
    // Row (i·kw + j)·c + channel, as the columns are laid out.
    let kernel = weight.permute([2, 3, 1, 0]).reshape([kh * kw * c, filters]); // [9c, filters]
    let mut y = columns.matmul(kernel); // [pixels, filters]
    if let Some(bias) = bias {
        y = y + bias.unsqueeze::<2>();
    }
    y.reshape([batch, ho, wo, filters]).permute([0, 3, 1, 2]) // [batch, filters, ho, wo]
}

#[cfg(test)]
mod tests {
    use burn::nn::conv::Conv2dConfig;

    use super::*;
    use crate::rng::Rng;
    use crate::testing::{cpu, floats};

    fn random(shape: [usize; 4], seed: u64, device: &Device) -> Tensor<4> {
        let mut rng = Rng::new(seed);
        let values: Vec<f32> = (0..shape.iter().product()).map(|_| rng.uniform(-1.0, 1.0)).collect();
        Tensor::from_data(TensorData::new(values, shape), device)
    }

    fn close(a: &[f32], b: &[f32], tolerance: f32, what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
        assert!(worst <= tolerance, "{what}: differs by {worst}");
    }

    /// Values and both gradients equal burn's convolution's, within float rounding of sums of
    /// up to 9·64 products of numbers below 1 (1e-4), on the network's shapes and odd ones.
    #[test]
    fn im2col_matches_burns_convolution_in_values_and_gradients() {
        let device = cpu().autodiff();
        for (i, &(batch, c_in, side, filters)) in [(1, 1, 28, 32), (7, 32, 26, 32), (3, 5, 9, 4), (2, 64, 10, 64)].iter().enumerate() {
            let seed = i as u64 * 10;
            let mut conv = Conv2dConfig::new([c_in, filters], [3, 3]).init(&device);
            conv.weight = burn::module::Param::from_tensor(random([filters, c_in, 3, 3], seed + 1, &device).require_grad());
            let x = random([batch, c_in, side, side], seed + 2, &device).require_grad();
            let upstream = random([batch, filters, side - 2, side - 2], seed + 3, &device);

            let reference = conv.forward(x.clone());
            let ours = im2col(x.clone(), conv.weight.val(), conv.bias.as_ref().map(|b| b.val()));
            assert_eq!(ours.dims(), reference.dims());
            close(&floats(ours.clone().inner()), &floats(reference.clone().inner()), 1e-4, "values");

            let grads_ref = (reference * upstream.clone()).sum().backward();
            let grads_ours = (ours * upstream).sum().backward();
            let grad = |g: &_, t: &Tensor<4>| floats(t.grad(g).expect("a gradient"));
            close(&grad(&grads_ours, &x), &grad(&grads_ref, &x), 1e-4, "input gradient");
            close(&grad(&grads_ours, &conv.weight.val()), &grad(&grads_ref, &conv.weight.val()), 1e-3, "weight gradient");
            let bias = conv.bias.as_ref().unwrap().val();
            let (b_ours, b_ref) = (floats(bias.grad(&grads_ours).unwrap()), floats(bias.grad(&grads_ref).unwrap()));
            close(&b_ours, &b_ref, 1e-3, "bias gradient");
        }
    }

    #[test]
    fn the_cpu_backend_keeps_burns_own_kernel() {
        let device = cpu();
        let conv = Conv2dConfig::new([2, 3], [3, 3]).init(&device);
        let x = random([1, 2, 6, 6], 1, &device);
        assert_eq!(floats(conv3x3(&conv, x.clone())), floats(conv.forward(x)));
    }
}
