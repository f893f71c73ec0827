//! Computing an [`Inside`] with burn, in the reader worker: one forward pass that shows each
//! layer ([`Network::forward_seen`]), then one backward pass from the read digit's logit to
//! the input pixels for the saliency.
//!
//! Why the input gradient and not occlusion: occlusion needs a forward pass per covered
//! patch (169 for 4x4 patches at stride 2), a hundred times this cost, and the view is meant
//! to follow the pen. The gradient is exact for the network as it is, and cheap.
//!
//! The network must be on an autodiff device and frozen ([`for_looking`]): frozen, its
//! BatchNorm uses the running statistics and its dropout is off, as when it reads; on an
//! autodiff device, the input can carry a gradient.

use burn::module::Module;
use burn::prelude::*;

use super::{Inside, Pictures};
use crate::data::{PixelStats, IMAGE_SIDE};
use crate::model::{Layer, Network};
use crate::platform::now_ms;
use crate::train::runner::read_floats;

/// `model` (from any device) made ready for [`look`]: on `device`'s autodiff twin, frozen.
pub fn for_looking(model: Network, device: &Device) -> Network {
    model.to_device(&device.clone().inner().autodiff()).freeze()
}

/// What `model` (prepared by [`for_looking`]) computes for `pixels`: 784 intensities in
/// [0, 1], preprocessed like MNIST, normalised here with `stats` as for reading.
pub async fn look(model: &Network, id: u32, pixels: &[f32], stats: PixelStats) -> Result<Inside, String> {
    let started = now_ms();
    // The parameters' device, with autodiff (whether a tensor reports it or not).
    let device = model.devices().into_iter().next().ok_or("the network has no device")?.inner().autodiff();
    // The gradient is taken with respect to the pixels as drawn, before normalisation: what
    // the picture shows is what more or less ink there would do.
    let x = Tensor::<4>::from_data(TensorData::new(pixels.to_vec(), [1, 1, IMAGE_SIDE, IMAGE_SIDE]), &device).require_grad();
    let normalised = (x.clone() - stats.mean) / stats.std;
    let mut seen: Vec<(Layer, Tensor<4>)> = Vec::new();
    let logits = model.forward_seen(normalised, &mut |layer, t| seen.push((layer, t.clone())));
    let scores = read(logits.clone()).await?;
    let digit = argmax(&scores);
    let grads = logits.slice([0..1, digit..digit + 1]).sum().backward();
    let gradient = x.grad(&grads).ok_or("no gradient reached the input")?;
    let saliency: Vec<f32> = read(gradient).await?.into_iter().map(f32::abs).collect();
    let mut layers = Vec::with_capacity(seen.len());
    for (layer, t) in seen {
        layers.push(pictures(layer, t).await?);
    }
    let (layer, w) = model.weight_pictures();
    let weights = pictures(layer, w).await?;
    Ok(Inside {
        id,
        digit: digit as u8,
        input: pixels.iter().map(|p| (p.clamp(0.0, 1.0) * 255.0).round() as u8).collect(),
        saliency: Pictures::new(Layer::Input, [1, IMAGE_SIDE, IMAGE_SIDE], &saliency),
        layers,
        weights,
        ms: (now_ms() - started) as f32,
    })
}

/// A `[1, channels, h, w]` output, or `[n, 1, h, w]` weights, as `channels` (or `n`) images.
async fn pictures(layer: Layer, t: Tensor<4>) -> Result<Pictures, String> {
    let [a, b, h, w] = t.dims();
    let values = read(t).await?;
    Ok(Pictures::new(layer, [a * b, h, w], &values))
}

async fn read<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, String> {
    read_floats(t).await.map_err(|e| e.to_string())
}

fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().fold((0, f32::NEG_INFINITY), |best, (i, &v)| if v > best.1 { (i, v) } else { best }).0
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;
    use crate::model::NetworkKind;
    use crate::testing::cpu;

    const STATS: PixelStats = PixelStats { mean: 0.1307, std: 0.3081 };

    /// A stroke-like image: a bright bar with soft edges, every pixel a little different. (A
    /// flat bar ties in max-pooling everywhere, where a finite difference sees half the
    /// slope the gradient of the pooling's chosen winner has.)
    fn drawing() -> Vec<f32> {
        let mut rng = crate::rng::Rng::new(9);
        (0..784).map(|i| {
            let (r, c) = (i / 28, i % 28);
            let ink = if (6..22).contains(&r) && (12..16).contains(&c) { 0.9 } else if (6..22).contains(&r) && (11..17).contains(&c) { 0.4 } else { 0.0 };
            ink + 0.1 * rng.next_f32()
        }).collect()
    }

    #[test]
    fn every_layer_of_the_vgg_network_is_pictured_with_its_shape() {
        let device = cpu();
        let net = for_looking(NetworkKind::VggBnDropout.config().init_seeded(&device, 3), &device);
        let inside = block_on(look(&net, 7, &drawing(), STATS)).unwrap();
        let shapes: Vec<(Layer, usize, usize, usize)> = inside.layers.iter().map(|p| (p.layer, p.count, p.height, p.width)).collect();
        assert_eq!(shapes, vec![
            (Layer::Conv(1), 32, 26, 26),
            (Layer::Conv(2), 32, 24, 24),
            (Layer::Pool(1), 32, 12, 12),
            (Layer::Conv(3), 64, 10, 10),
            (Layer::Conv(4), 64, 8, 8),
            (Layer::Pool(2), 64, 4, 4),
            (Layer::Dense, 1, 16, 32),
        ]);
        assert_eq!((inside.weights.layer, inside.weights.count, inside.weights.height, inside.weights.width), (Layer::Filters, 32, 3, 3));
        assert!(inside.weights.signed, "Glorot-uniform filters have both signs");
        // Convolutions are pictured after their ReLU: nothing below zero.
        assert!(inside.layers.iter().filter(|p| matches!(p.layer, Layer::Conv(_))).all(|p| !p.signed));
        assert_eq!(inside.id, 7);
        assert_eq!(inside.input.len(), 784);
        assert!(inside.saliency.pixels.iter().any(|&b| b > 0));
    }

    #[test]
    fn the_linear_network_shows_its_ten_templates_and_its_saliency_is_the_digits_template() {
        let device = cpu();
        let net = for_looking(NetworkKind::Linear.config().init_seeded(&device, 5), &device);
        let inside = block_on(look(&net, 1, &drawing(), STATS)).unwrap();
        assert!(inside.layers.is_empty());
        assert_eq!((inside.weights.layer, inside.weights.count, inside.weights.height, inside.weights.width), (Layer::Templates, 10, 28, 28));
        // For a linear network the gradient of a logit is that digit's weights over the std:
        // its saliency is the template's magnitude, exactly.
        let Network::Linear(_) = &net else { panic!("a linear network") };
        let (_, templates) = net.weight_pictures();
        let template = crate::testing::floats(templates.slice([inside.digit as usize..inside.digit as usize + 1]));
        let expected: Vec<f32> = template.iter().map(|w| w.abs() / STATS.std).collect();
        let max = expected.iter().copied().fold(0.0, f32::max);
        assert!((inside.saliency.scale - max).abs() < 1e-5 * max.max(1.0));
        for (byte, e) in inside.saliency.pixels.iter().zip(&expected) {
            assert!((inside.saliency.value(*byte) - e).abs() <= max / 255.0, "{} vs {e}", inside.saliency.value(*byte));
        }
    }

    #[test]
    fn the_saliency_is_the_input_gradient_of_the_read_digits_logit() {
        // Against central finite differences through the frozen network's own forward, at
        // the pixels where the gradient is largest (where rounding matters least).
        let device = cpu();
        let net = for_looking(NetworkKind::VggBnDropout.config().init_seeded(&device, 11), &device);
        let pixels = drawing();
        let inside = block_on(look(&net, 1, &pixels, STATS)).unwrap();
        let logit = |pixels: &[f32]| -> f64 {
            let x: Vec<f32> = pixels.iter().map(|p| (p - STATS.mean) / STATS.std).collect();
            let out = net.forward(Tensor::<4>::from_data(TensorData::new(x, [1, 1, 28, 28]), &device.clone().inner().autodiff()));
            crate::testing::floats(out)[inside.digit as usize] as f64
        };
        let mut strongest: Vec<usize> = (0..784).collect();
        strongest.sort_by_key(|&i| std::cmp::Reverse(inside.saliency.pixels[i]));
        for &i in &strongest[..5] {
            let h = 1e-3f32;
            let (mut up, mut down) = (pixels.clone(), pixels.clone());
            up[i] += h;
            down[i] -= h;
            let numeric = ((logit(&up) - logit(&down)) / (2.0 * h as f64)).abs() as f32;
            let ours = inside.saliency.value(inside.saliency.pixels[i]);
            assert!((numeric - ours).abs() <= 0.05 * numeric.max(ours) + inside.saliency.scale / 255.0, "pixel {i}: numeric {numeric}, ours {ours}");
        }
    }

    #[test]
    fn looking_reads_the_same_digit_as_reading() {
        let device = cpu();
        let model = NetworkKind::Vgg.config().init_seeded(&device, 2);
        let pixels = drawing();
        let x: Vec<f32> = pixels.iter().map(|p| (p - STATS.mean) / STATS.std).collect();
        let read = crate::testing::floats(model.forward(Tensor::<4>::from_data(TensorData::new(x, [1, 1, 28, 28]), &device)));
        let inside = block_on(look(&for_looking(model, &device), 1, &pixels, STATS)).unwrap();
        assert_eq!(inside.digit as usize, argmax(&read));
    }
}
