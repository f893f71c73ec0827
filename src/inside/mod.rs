//! "Inside the network": what a network computes for one drawing, as pictures the page can
//! paint without knowing anything of tensors. The reader fills an [`Inside`]
//! (`crate::reader::look`); the page draws it (`ui/components/inside_view.rs`).
//!
//! Every picture is one byte per pixel, scaled per layer rather than per map: a map that
//! barely responds then looks dark beside one that fires, which is what a learner should
//! see (a map scaled to its own maximum would make noise look like a feature).

// The inside view computed with burn: the reference the reader's own (`crate::reader::look`,
// without burn) is held to by native tests.
#[cfg(all(test, feature = "engine"))]
pub mod look;

use serde::{Deserialize, Serialize};

use crate::model::Layer;

/// One layer's pictures: `count` images of `height` x `width`, row-major, image after image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pictures {
    pub layer: Layer,
    pub count: usize,
    pub height: usize,
    pub width: usize,
    /// Values of both signs: byte 128 is zero, 255 is `+scale` and 1 is `-scale`. Otherwise
    /// byte 0 is zero (or below) and 255 is `scale`.
    pub signed: bool,
    /// The largest magnitude in the layer (what the brightest byte stands for).
    pub scale: f32,
    #[serde(with = "serde_bytes")]
    pub pixels: Vec<u8>,
}

impl Pictures {
    /// Quantise `values` (`count` images of `height` x `width`) with one scale for the layer.
    /// Signed when any value is below zero; a layer of zeros is all zero bytes.
    pub fn new(layer: Layer, [count, height, width]: [usize; 3], values: &[f32]) -> Self {
        assert_eq!(values.len(), count * height * width, "{layer:?}: values for {count} images of {height}x{width}");
        let finite = values.iter().copied().filter(|v| v.is_finite());
        let signed = finite.clone().any(|v| v < 0.0);
        let scale = finite.map(f32::abs).fold(0.0, f32::max);
        let unit = if scale > 0.0 { 1.0 / scale } else { 0.0 };
        let pixels = values
            .iter()
            .map(|&v| {
                let v = if v.is_finite() { v * unit } else { 0.0 };
                if signed { (128.0 + v * 127.0).round().clamp(1.0, 255.0) as u8 } else { (v * 255.0).round().clamp(0.0, 255.0) as u8 }
            })
            .collect();
        Self { layer, count, height, width, signed, scale, pixels }
    }

    /// The `i`-th image's bytes.
    pub fn image(&self, i: usize) -> &[u8] {
        let size = self.height * self.width;
        &self.pixels[i * size..(i + 1) * size]
    }

    /// The value a byte stands for (the inverse of [`Self::new`], within one step).
    pub fn value(&self, byte: u8) -> f32 {
        if self.signed { (byte as f32 - 128.0) / 127.0 * self.scale } else { byte as f32 / 255.0 * self.scale }
    }
}

/// Everything shown for one drawing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inside {
    /// The drawing it answers (the id of its reading).
    pub id: u32,
    /// The digit the network read, whose score the saliency explains.
    pub digit: u8,
    /// The 28x28 image the network saw, 0-255.
    #[serde(with = "serde_bytes")]
    pub input: Vec<u8>,
    /// |∂ logit of `digit` / ∂ pixel|: how strongly each pixel moves the score of the digit
    /// read (the input gradient, Simonyan et al. 2014), one 28x28 image.
    pub saliency: Pictures,
    /// Each hidden layer's output, input to output: convolutions (after ReLU), poolings,
    /// dense 512. Empty for the linear network, which has none.
    pub layers: Vec<Pictures>,
    /// The first convolution's filters, or the linear network's ten templates.
    pub weights: Pictures,
    /// Worker time for all of it beyond the reading itself, in ms.
    pub ms: f32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_layers_map_zero_to_black_and_their_maximum_to_white() {
        let p = Pictures::new(Layer::Conv(1), [2, 1, 2], &[0.0, 1.0, 2.0, 4.0]);
        assert!(!p.signed);
        assert_eq!(p.scale, 4.0);
        assert_eq!(p.pixels, vec![0, 64, 128, 255]);
        assert_eq!(p.image(1), &[128, 255]);
        assert!((p.value(128) - 2.0).abs() < 4.0 / 255.0);
    }

    #[test]
    fn one_scale_serves_the_whole_layer_so_a_weak_map_stays_dark() {
        let p = Pictures::new(Layer::Pool(1), [2, 1, 1], &[0.1, 10.0]);
        assert_eq!(p.image(0), &[3]);
        assert_eq!(p.image(1), &[255]);
    }

    #[test]
    fn signed_layers_centre_zero_and_keep_the_sign() {
        let p = Pictures::new(Layer::Filters, [1, 1, 3], &[-2.0, 0.0, 1.0]);
        assert!(p.signed);
        assert_eq!(p.pixels, vec![1, 128, 192]);
        assert!((p.value(1) + 2.0).abs() < 1e-6);
        assert_eq!(p.value(128), 0.0);
    }

    #[test]
    fn a_layer_of_zeros_or_nan_is_black_not_a_division_by_zero() {
        let p = Pictures::new(Layer::Dense, [1, 1, 3], &[0.0, f32::NAN, 0.0]);
        assert_eq!(p.pixels, vec![0, 0, 0]);
        assert_eq!(p.scale, 0.0);
    }
}
