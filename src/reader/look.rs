//! Computing an [`Inside`] without burn: what `inside::look::look` computes with burn, from a
//! [`PlainNetwork`]. One forward pass that keeps each layer, then one backward pass from the
//! read digit's logit to the pixels for the saliency (why the input gradient: that module's
//! documentation).

use super::net::PlainNetwork;
use crate::data::{PixelStats, IMAGE_SIDE};
use crate::inside::{Inside, Pictures};
use crate::model::Layer;
use crate::platform::now_ms;

/// What `net` computes for `pixels`: 784 intensities in [0, 1], preprocessed like MNIST,
/// normalised here with `stats` as for reading.
pub fn look(net: &PlainNetwork, id: u32, pixels: &[f32], stats: PixelStats) -> Inside {
    let started = now_ms();
    let normalised: Vec<f32> = pixels.iter().map(|&p| (p - stats.mean) / stats.std).collect();
    let seen = net.forward_seen(&normalised);
    let digit = argmax(&seen.logits);
    // The saliency is taken with respect to the pixels as drawn, before normalisation (what
    // more or less ink there would do): normalising divides by the std, so its gradient does.
    let saliency: Vec<f32> = net.input_gradient(&seen, digit).iter().map(|g| (g / stats.std).abs()).collect();
    let layers = seen.layers.iter().map(|(layer, shape, values)| Pictures::new(*layer, *shape, values)).collect();
    let (layer, shape, values) = net.weight_pictures();
    Inside {
        id,
        digit: digit as u8,
        input: pixels.iter().map(|p| (p.clamp(0.0, 1.0) * 255.0).round() as u8).collect(),
        saliency: Pictures::new(Layer::Input, [1, IMAGE_SIDE, IMAGE_SIDE], &saliency),
        layers,
        weights: Pictures::new(layer, shape, &values),
        ms: (now_ms() - started) as f32,
    }
}

/// The first largest value's index, as `inside::look` picks the digit.
fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().fold((0, f32::NEG_INFINITY), |best, (i, &v)| if v > best.1 { (i, v) } else { best }).0
}

#[cfg(all(test, feature = "engine"))]
mod tests {
    use futures::executor::block_on;

    use super::*;
    use crate::model::NetworkKind;
    use crate::reader::net::tests::{drawing, networks, STATS};

    /// Both pictures of `what`, alike: the same layer and shape, scales within the networks'
    /// tolerance (`net::tests`), every byte within one step (rounding near a half step may go
    /// either way).
    fn assert_alike(ours: &Pictures, theirs: &Pictures, what: &str) {
        assert_eq!(
            (ours.layer, ours.count, ours.height, ours.width, ours.signed),
            (theirs.layer, theirs.count, theirs.height, theirs.width, theirs.signed),
            "{what}"
        );
        assert!((ours.scale - theirs.scale).abs() <= 1e-4 * theirs.scale, "{what}: scale {} against {}", ours.scale, theirs.scale);
        for (i, (a, b)) in ours.pixels.iter().zip(&theirs.pixels).enumerate() {
            assert!(a.abs_diff(*b) <= 1, "{what}: byte {i}, ours {a}, burn's {b}");
        }
    }

    #[test]
    fn every_network_looks_inside_as_burns_look_does() {
        for kind in NetworkKind::ALL {
            let (net, plain) = networks(kind, 8);
            for seed in [4, 5] {
                let pixels = drawing(seed);
                let theirs = block_on(crate::inside::look::look(&net, 3, &pixels, STATS)).expect("burn's look");
                let ours = look(&plain, 3, &pixels, STATS);
                assert_eq!((ours.id, ours.digit, &ours.input), (theirs.id, theirs.digit, &theirs.input), "{kind:?}");
                assert_eq!(ours.layers.len(), theirs.layers.len(), "{kind:?}: layers");
                for (a, b) in ours.layers.iter().zip(&theirs.layers) {
                    assert_alike(a, b, &format!("{kind:?} {:?}", b.layer));
                }
                assert_alike(&ours.saliency, &theirs.saliency, &format!("{kind:?} saliency"));
                assert_eq!(ours.weights, theirs.weights, "{kind:?}: weights, the file's own values");
                assert!(ours.ms >= 0.0);
            }
        }
    }
}
