//! Operations of our own where burn's kernels for a backend do needless work.
//!
//! - [`conv`]: the valid, stride-1 convolution on the CPU as one matrix product per image,
//!   forward and backward (the VGG-like network's four convolutions); why, how it was checked
//!   and what it gained are in its `//!` paragraph.
//! - [`winograd`]: the 3x3 ones among them with enough channels by Winograd's F(2x2, 3x3),
//!   2.25 times fewer multiplications (chosen in [`conv`]).
//! - [`batch_norm`]: batch normalisation with the batch's statistics on the CPU, forward and
//!   backward (the BatchNorm network's five), two passes over the data each.
//! - [`pool`]: 2x2 max pooling on the CPU, forward and backward, no indices kept.
//! - [`relu`]: the ReLU fused into our CPU convolution, and its gradient, on every thread.
//! - [`gpu_conv`], [`gpu_dense`], [`gpu_pool`], [`gpu_batch_norm`], [`gpu_loss`],
//!   [`gpu_batch`], [`gpu_sgd`]: the convolution, the dense layer, 2x2 max pooling, batch
//!   normalisation, the cross-entropy (and the trainer's tally of it), the batch's gathering
//!   and unpacking and the SGD update on WebGPU as
//!   cubecl kernels, the first two sharing [`gpu_tile`]'s register tile (builds with burn's
//!   cubecl backend only).
//! - [`extension`]: those kernels as a burn backend extension with an autodiff backward.
//! - [`parallel`]: the one place that knows whether this build has threads for them.
//!
//! [`conv2d_valid`] is what the networks call: it takes our kernels where they apply (a CPU
//! or WebGPU device, a layer with stride 1, no padding, no dilation, no groups, a bias) and
//! burn's `Conv2d::forward` everywhere else; [`batch_norm`] likewise for `BatchNorm::forward`
//! in training; [`dense`] for `Linear::forward` (WebGPU only: on the CPU burn's
//! product is `gemm`'s, already fast); [`max_pool`] for `MaxPool2d::forward` (CPU and
//! WebGPU) and [`mean_cross_entropy`] for the training loss (WebGPU only).

pub mod batch_norm;
pub mod conv;
mod extension;
#[cfg(cube_kernels)]
mod gpu_batch;
#[cfg(cube_kernels)]
mod gpu_batch_norm;
#[cfg(cube_kernels)]
mod gpu_conv;
#[cfg(cube_kernels)]
mod gpu_dense;
#[cfg(cube_kernels)]
mod gpu_loss;
#[cfg(cube_kernels)]
mod gpu_pool;
#[cfg(cube_kernels)]
mod gpu_sgd;
#[cfg(cube_kernels)]
mod gpu_tile;
mod parallel;
mod pool;
mod relu;
mod winograd;

pub use parallel::timeline;

use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::nn::{BatchNorm, Linear, PaddingConfig2d};
use burn::prelude::*;
use burn::backend::{Dispatch, DispatchDevice};

use extension::{Dense, GatherBatch, MaxPool2x2, MeanCrossEntropy, SgdUpdate, TrainBatchNorm, ValidConv};

/// `conv.forward(x)`, on our CPU kernels where they apply.
///
/// # Shapes
/// - x: `[batch, c_in, h, w]`
/// - output: `[batch, c_out, h - kh + 1, w - kw + 1]` (a valid convolution)
pub fn conv2d_valid(x: Tensor<4>, conv: &Conv2d) -> Tensor<4> {
    conv_maybe_relu(x, conv, false)
}

/// `relu(conv.forward(x))`, as [`conv2d_valid`], with the ReLU in the convolution's own pass
/// on our kernels (and its backward one pass on WebGPU).
pub fn conv2d_valid_relu(x: Tensor<4>, conv: &Conv2d) -> Tensor<4> {
    conv_maybe_relu(x, conv, true)
}

fn conv_maybe_relu(x: Tensor<4>, conv: &Conv2d, relu: bool) -> Tensor<4> {
    let plain = conv.stride == [1, 1]
        && conv.dilation == [1, 1]
        && conv.groups == 1
        && matches!(conv.padding, PaddingConfig2d::Valid);
    match (&conv.bias, plain && has_our_conv(&x.device())) {
        (Some(bias), true) => Tensor::from_dispatch(<Dispatch as ValidConv>::valid_conv(
            x.into_dispatch(),
            conv.weight.val().into_dispatch(),
            bias.val().into_dispatch(),
            relu,
        )),
        _ if relu => burn::tensor::activation::relu(conv.forward(x)),
        _ => conv.forward(x),
    }
}

/// `linear.forward(x)`, on our WebGPU kernel where the build has it (the bias added in the
/// product's own pass; the gradients as two more products).
///
/// # Shapes
/// - x: `[batch, d_in]`
/// - output: `[batch, d_out]`
pub fn dense(x: Tensor<2>, linear: &Linear) -> Tensor<2> {
    match has_our_gpu_kernels(&x.device()) {
        true => dense_through_extension(x, linear, false),
        false => linear.forward(x),
    }
}

/// `relu(linear.forward(x))`, as [`dense`], with the ReLU in the product's pass on WebGPU.
pub fn dense_relu(x: Tensor<2>, linear: &Linear) -> Tensor<2> {
    match has_our_gpu_kernels(&x.device()) {
        true => dense_through_extension(x, linear, true),
        false => burn::tensor::activation::relu(linear.forward(x)),
    }
}

/// `linear.forward(x)` through the [`Dense`] extension whatever the device (on the CPU its
/// default bodies, burn's own operations, under our autodiff backward).
fn dense_through_extension(x: Tensor<2>, linear: &Linear, relu: bool) -> Tensor<2> {
    let bias = match &linear.bias {
        Some(bias) => bias.val(),
        None => Tensor::zeros([linear.weight.dims()[1]], &x.device()),
    };
    Tensor::from_dispatch(<Dispatch as Dense>::dense(x.into_dispatch(), linear.weight.val().into_dispatch(), bias.into_dispatch(), relu))
}

/// The mean cross-entropy of `logits` `[batch, classes]` against `targets` `[batch]`, `[1]`,
/// as one kernel that also computes the gradient, where the build has it (see
/// [`has_our_gpu_kernels`]); callers take burn's operations elsewhere
/// (`train::loss::cross_entropy`).
pub fn mean_cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    Tensor::from_dispatch(<Dispatch as MeanCrossEntropy>::mean_cross_entropy(logits.into_dispatch(), targets.into_dispatch()))
}

/// `pool.forward(x)`, on our CPU kernels ([`pool`]) or our WebGPU ones where the build has
/// them, when the pool is the networks' (2x2 windows, stride 2, no padding, no dilation,
/// floor).
///
/// # Shapes
/// - x: `[batch, channels, h, w]`
/// - output: `[batch, channels, h / 2, w / 2]`
pub fn max_pool(x: Tensor<4>, pool: &MaxPool2d) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    let plain = pool.kernel_size == [2, 2]
        && pool.stride == [2, 2]
        && pool.dilation == [1, 1]
        && !pool.ceil_mode
        && matches!(pool.padding, PaddingConfig2d::Valid)
        && h >= 2
        && w >= 2;
    match plain && has_our_conv(&x.device()) {
        true => pool_through_extension(x),
        false => pool.forward(x),
    }
}

/// 2x2 max pooling through the [`MaxPool2x2`] extension.
fn pool_through_extension(x: Tensor<4>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as MaxPool2x2>::max_pool_2x2(x.into_dispatch()))
}

/// `param − lr·grad`: plain SGD's update of one parameter (`train::sgd`), one kernel on
/// WebGPU; burn's operations elsewhere.
pub fn sgd_update<const D: usize>(param: Tensor<D>, grad: Tensor<D>, lr: f64) -> Tensor<D> {
    match has_our_gpu_kernels(&param.device()) {
        true => Tensor::from_dispatch(<Dispatch as SgdUpdate>::sgd_update(param.into_dispatch(), grad.into_dispatch(), lr)),
        false => param - grad.mul_scalar(lr),
    }
}

/// The examples at `order[first..first + count]`: their rows of `packed` `[rows, words]` (four
/// bytes to a word, the first in the low bits), each byte as `byte·scale + offset`,
/// `[count, words·4]`, and their `labels`, `[count]`. One kernel on WebGPU; burn's operations
/// elsewhere.
pub fn gather_batch(packed: Tensor<2, Int>, labels: Tensor<1, Int>, order: Tensor<1, Int>, first: usize, count: usize, scale: f32, offset: f32) -> (Tensor<2>, Tensor<1, Int>) {
    let parts = <Dispatch as GatherBatch>::gather_batch(packed.into_dispatch(), labels.into_dispatch(), order.into_dispatch(), first, count, scale, offset);
    (Tensor::from_dispatch(parts.images), Tensor::from_dispatch(parts.labels))
}

/// [`mean_cross_entropy`] and the trainer's `tally` (`[2]`, an inner tensor: no gradient) plus
/// this batch's `[loss·batch, rows whose first maximum is the target]`, from the same kernel
/// (WebGPU only, like [`mean_cross_entropy`]; `train::loss::cross_entropy_tallied` routes).
pub fn mean_cross_entropy_tallied(logits: Tensor<2>, targets: Tensor<1, Int>, tally: Tensor<1>) -> (Tensor<1>, Tensor<1>) {
    // The tally takes the logits' side of autodiff, as the dispatch wants of its operands.
    let tally = if logits.is_autodiff() { tally.autodiff() } else { tally };
    let parts = <Dispatch as MeanCrossEntropy>::mean_cross_entropy_tallied(logits.into_dispatch(), targets.into_dispatch(), tally.into_dispatch());
    (Tensor::from_dispatch(parts.loss), Tensor::<1>::from_dispatch(parts.tally).inner())
}

/// Whether our WebGPU-only kernels (the dense layer, the loss) run on `device`: WebGPU / wgpu
/// in builds with the cubecl backend.
pub fn has_our_gpu_kernels(device: &Device) -> bool {
    match device.clone().inner().as_dispatch() {
        #[cfg(cube_kernels)]
        DispatchDevice::Cube(_) => true,
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// `bn.forward(x)`, on our CPU or WebGPU kernels while training (batch statistics, running
/// statistics updated exactly as burn's `BatchNorm` does); burn's own otherwise.
///
/// # Shapes
/// - x: `[batch, channels, ...]`
/// - output: the same
pub fn batch_norm<const D: usize>(x: Tensor<D>, bn: &BatchNorm) -> Tensor<D> {
    let device = x.device();
    // Anything unusual (a rank below 2 included) takes burn's path, with burn's checks.
    let ours = on_the_cpu(&device) || has_our_gpu_kernels(&device);
    if !(D >= 2 && device.is_autodiff() && bn.training.is_enabled() && ours) {
        return bn.forward(x);
    }
    let result = <Dispatch as TrainBatchNorm>::batch_norm_batch_stats(
        x.into_dispatch(),
        bn.gamma.val().into_dispatch(),
        bn.beta.val().into_dispatch(),
        bn.epsilon,
    );
    let (mean, variance) = (Tensor::<1>::from_dispatch(result.mean), Tensor::<1>::from_dispatch(result.variance));
    // As burn-nn 0.22.1's `BatchNorm::forward_train`.
    let momentum = bn.momentum;
    let running_mean = bn.running_mean.value_sync().to_device(&device);
    let running_var = bn.running_var.value_sync().to_device(&device);
    let running_mean = running_mean.mul_scalar(1.0 - momentum).add(mean.detach().mul_scalar(momentum));
    let running_var = running_var.mul_scalar(1.0 - momentum).add(variance.detach().mul_scalar(momentum));
    bn.running_mean.update(running_mean.detach());
    bn.running_var.update(running_var.detach());
    Tensor::from_dispatch(result.output)
}

/// For tests: our WebGPU products' register tiles chosen as on a software adapter
/// (`Some(true)`), as on a GPU (`Some(false)`), or by the device (`None`, the default); see
/// `gpu_tile::tile`. A build without those kernels ignores it.
pub fn choose_gpu_tiles_as_if_software(software: Option<bool>) {
    #[cfg(cube_kernels)]
    gpu_tile::choose_tiles_as_if_software(software);
    #[cfg(not(cube_kernels))]
    let _ = software;
}

/// Whether our convolution kernels run on `device`: burn's CPU backend, and in builds with
/// the cubecl backend (the single-threaded browser worker, `native-gpu`) WebGPU / wgpu.
pub fn has_our_conv(device: &Device) -> bool {
    match device.clone().inner().as_dispatch() {
        DispatchDevice::Flex(_) => true,
        #[cfg(cube_kernels)]
        DispatchDevice::Cube(_) => true,
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// Whether `device` is burn's CPU backend (Flex), with or without autodiff.
fn on_the_cpu(device: &Device) -> bool {
    matches!(device.clone().inner().as_dispatch(), DispatchDevice::Flex(_))
}

#[cfg(test)]
mod tests {
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::Distribution;

    use super::*;
    use crate::testing::{cpu, floats};

    fn close(ours: Vec<f32>, burns: Vec<f32>, what: &str) {
        assert_eq!(ours.len(), burns.len(), "{what}: lengths");
        let scale = burns.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (i, (a, b)) in ours.iter().zip(&burns).enumerate() {
            assert!((a - b).abs() <= 1e-4 * (1.0 + scale), "{what}[{i}]: ours {a}, burn's {b}");
        }
    }

    #[test]
    fn the_cpu_device_takes_our_kernels_with_and_without_autodiff() {
        assert!(on_the_cpu(&cpu()));
        assert!(on_the_cpu(&cpu().autodiff()));
    }

    /// Values and all three gradients against burn's own `Conv2d` on the same CPU device,
    /// through autodiff, for the network's shapes and odd ones.
    #[test]
    fn matches_burns_convolution_and_its_gradients() {
        let device = cpu().autodiff();
        // The network's first convolution (columns), its third (Winograd, src/kernels/winograd.rs)
        // and second (Winograd for the input gradient too), odd shapes.
        let cases = [(4, 1, 28, 28, 32, 3, true), (3, 32, 12, 12, 64, 3, false), (2, 32, 26, 26, 32, 3, true), (2, 3, 7, 5, 4, 2, true), (5, 2, 3, 3, 3, 3, false)];
        for (batch, c_in, h, w, c_out, k, relu) in cases {
            let conv = Conv2dConfig::new([c_in, c_out], [k, k]).init(&device);
            let x = Tensor::<4>::random([batch, c_in, h, w], Distribution::Uniform(-1.0, 1.0), &device);
            let g = Tensor::<4>::random([batch, c_out, h + 1 - k, w + 1 - k], Distribution::Uniform(-1.0, 1.0), &device);
            let run = |ours: bool| {
                let x = x.clone().detach().require_grad();
                let y = match (ours, relu) {
                    (true, true) => conv2d_valid_relu(x.clone(), &conv),
                    (true, false) => conv2d_valid(x.clone(), &conv),
                    // Our plain convolution, then burn's ReLU: the same pre-activations, so
                    // the same mask (burn's own convolution rounds differently, and a value
                    // within rounding of zero would move a whole gradient entry).
                    (false, true) => burn::tensor::activation::relu(conv2d_valid(x.clone(), &conv)),
                    (false, false) => conv.forward(x.clone()),
                };
                let grads = (y.clone() * g.clone()).sum().backward();
                let bias = conv.bias.as_ref().expect("a bias");
                (
                    floats(y.inner()),
                    floats(x.grad(&grads).expect("x is tracked")),
                    floats(conv.weight.grad(&grads).expect("weight is tracked")),
                    floats(bias.grad(&grads).expect("bias is tracked")),
                )
            };
            let (ours, burns) = (run(true), run(false));
            let shape = format!("{batch}x{c_in}x{h}x{w} -> {c_out}, {k}x{k}, relu {relu}");
            close(ours.0, burns.0, &format!("output {shape}"));
            close(ours.1, burns.1, &format!("input gradient {shape}"));
            close(ours.2, burns.2, &format!("weight gradient {shape}"));
            close(ours.3, burns.3, &format!("bias gradient {shape}"));
        }
    }

    /// Output, all three gradients and the running statistics against burn's `BatchNorm`,
    /// for a convolution's `[batch, channels, h, w]` and a dense layer's `[batch, features]`.
    #[test]
    fn batch_norm_matches_burns_with_its_gradients_and_running_statistics() {
        check_batch_norm([8, 3, 5, 4]);
        check_batch_norm([16, 7]);
    }

    fn check_batch_norm<const D: usize>(shape: [usize; D]) {
        use burn::nn::BatchNormConfig;
        let device = cpu().autodiff();
        let gamma = Tensor::<1>::random([shape[1]], Distribution::Uniform(0.5, 2.0), &device);
        let x = Tensor::<D>::random(shape, Distribution::Uniform(-2.0, 3.0), &device);
        let g = Tensor::<D>::random(shape, Distribution::Uniform(-1.0, 1.0), &device);
        let run = |ours: bool| {
            // A module of its own per run: clones would share their running statistics.
            let mut bn = BatchNormConfig::new(shape[1]).with_momentum(0.01).with_epsilon(1e-3).init(&device);
            bn.gamma = burn::module::Param::from_tensor(gamma.clone());
            let x = x.clone().detach().require_grad();
            let y = if ours { batch_norm(x.clone(), &bn) } else { bn.forward(x.clone()) };
            let grads = (y.clone() * g.clone()).sum().backward();
            (
                floats(y.inner()),
                floats(x.grad(&grads).expect("x is tracked")),
                floats(bn.gamma.grad(&grads).expect("gamma is tracked")),
                floats(bn.beta.grad(&grads).expect("beta is tracked")),
                floats(bn.running_mean.value_sync().inner()),
                floats(bn.running_var.value_sync().inner()),
            )
        };
        let (ours, burns) = (run(true), run(false));
        let what = format!("{shape:?}");
        close(ours.0, burns.0, &format!("output {what}"));
        close(ours.1, burns.1, &format!("input gradient {what}"));
        close(ours.2, burns.2, &format!("gamma gradient {what}"));
        close(ours.3, burns.3, &format!("beta gradient {what}"));
        close(ours.4, burns.4, &format!("running mean {what}"));
        close(ours.5, burns.5, &format!("running variance {what}"));
    }

    /// The dense extension's forward and its autodiff backward (on the CPU, burn's products
    /// under our backward) against burn's `Linear`: output and the three gradients. The
    /// WebGPU kernel itself is compared in the browser (`tests/web.rs`).
    #[test]
    fn the_dense_extension_matches_burns_linear_and_its_gradients() {
        use burn::nn::LinearConfig;
        let device = cpu().autodiff();
        assert!(!has_our_gpu_kernels(&device), "the CPU keeps burn's product");
        for (batch, d_in, d_out, relu) in [(64, 1024, 512, true), (7, 784, 10, false), (1, 5, 3, false), (3, 6, 5, true)] {
            let linear = LinearConfig::new(d_in, d_out).init(&device);
            let x = Tensor::<2>::random([batch, d_in], Distribution::Uniform(-1.0, 1.0), &device);
            let g = Tensor::<2>::random([batch, d_out], Distribution::Uniform(-1.0, 1.0), &device);
            let run = |ours: bool| {
                let x = x.clone().detach().require_grad();
                let y = match (ours, relu) {
                    (true, _) => dense_through_extension(x.clone(), &linear, relu),
                    (false, true) => burn::tensor::activation::relu(dense_through_extension(x.clone(), &linear, false)),
                    (false, false) => linear.forward(x.clone()),
                };
                let grads = (y.clone() * g.clone()).sum().backward();
                let bias = linear.bias.as_ref().expect("a bias");
                (
                    floats(y.inner()),
                    floats(x.grad(&grads).expect("x is tracked")),
                    floats(linear.weight.grad(&grads).expect("weight is tracked")),
                    floats(bias.grad(&grads).expect("bias is tracked")),
                )
            };
            let (ours, burns) = (run(true), run(false));
            let shape = format!("{batch}x{d_in} -> {d_out}, relu {relu}");
            close(ours.0, burns.0, &format!("output {shape}"));
            close(ours.1, burns.1, &format!("input gradient {shape}"));
            close(ours.2, burns.2, &format!("weight gradient {shape}"));
            close(ours.3, burns.3, &format!("bias gradient {shape}"));
        }
    }

    /// The loss extension (on the CPU its default body, burn's operations, under our
    /// backward step) against `train::loss`'s cross-entropy: the loss and the logits'
    /// gradient, also with a gradient other than 1 arriving from above. The widest logits
    /// make hopeless and certain rows, which both must clip as Keras does.
    #[test]
    fn the_loss_extension_matches_burns_cross_entropy_and_its_gradient() {
        let device = cpu().autodiff();
        for (batch, classes, spread) in [(64, 10, 8.0), (7, 10, 8.0), (1, 3, 8.0), (32, 10, 40.0)] {
            let logits = Tensor::<2>::random([batch, classes], Distribution::Uniform(-spread, spread), &device);
            let targets = Tensor::<1, Int>::arange(0..batch as i64, &device).remainder_scalar(classes as i64);
            let run = |ours: bool| {
                let z = logits.clone().detach().require_grad();
                let loss = if ours {
                    mean_cross_entropy(z.clone(), targets.clone())
                } else {
                    crate::train::loss::cross_entropy_with_burn(z.clone(), targets.clone())
                };
                let grads = loss.clone().mul_scalar(3.0).backward();
                (floats(loss.inner()), floats(z.grad(&grads).expect("logits are tracked")))
            };
            let (ours, burns) = (run(true), run(false));
            close(ours.0, burns.0, &format!("loss {batch}x{classes}"));
            close(ours.1, burns.1, &format!("gradient {batch}x{classes}"));
        }
    }

    /// The pooling extension's forward and autodiff backward (on the CPU, burn's pooling under
    /// our backward step) against burn's `MaxPool2d`, with ties (ReLU's zeros) and odd sizes.
    #[test]
    fn the_pooling_extension_matches_burns_max_pool_and_its_gradient() {
        use burn::nn::pool::MaxPool2dConfig;
        let device = cpu().autodiff();
        let pool = MaxPool2dConfig::new([2, 2]).init();
        for shape in [[4, 3, 24, 24], [2, 2, 5, 7]] {
            let x = Tensor::<4>::random(shape, Distribution::Uniform(-1.0, 1.0), &device).clamp_min(0.0);
            let g = Tensor::<4>::random([shape[0], shape[1], shape[2] / 2, shape[3] / 2], Distribution::Uniform(-1.0, 1.0), &device);
            let run = |ours: bool| {
                let x = x.clone().detach().require_grad();
                let y = if ours { pool_through_extension(x.clone()) } else { pool.forward(x.clone()) };
                let grads = (y.clone() * g.clone()).sum().backward();
                (floats(y.inner()), floats(x.grad(&grads).expect("x is tracked")))
            };
            let (ours, burns) = (run(true), run(false));
            close(ours.0, burns.0, &format!("output {shape:?}"));
            close(ours.1, burns.1, &format!("input gradient {shape:?}"));
        }
    }

    #[test]
    fn layers_it_does_not_cover_take_burns_path() {
        let device = cpu();
        let conv = Conv2dConfig::new([2, 3], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(&device);
        let x = Tensor::<4>::random([2, 2, 5, 5], Distribution::Uniform(-1.0, 1.0), &device);
        assert_eq!(conv2d_valid(x.clone(), &conv).dims(), [2, 3, 5, 5]);
        close(floats(conv2d_valid(x.clone(), &conv)), floats(conv.forward(x)), "padded");
    }
}
