//! The dataset resident on the device, and batches gathered from it there.
//!
//! Pixels go up once, packed four bytes to a 32-bit integer (MNIST's 47 MB of training
//! pixels stay 47 MB on the GPU instead of 188 MB of floats, and stay under WebGPU's default
//! 128 MiB storage-binding limit). A batch is a `select` of rows by index followed by an
//! unpack and the normalisation, all on the device: nothing is re-uploaded per step except,
//! once an epoch, the shuffled order.

use std::ops::Range;

use burn::prelude::*;

use crate::data::{PixelStats, Split, IMAGE_PIXELS, IMAGE_SIDE};

/// Packed 32-bit words per image.
const WORDS: usize = IMAGE_PIXELS / 4;

/// One split on the device.
#[derive(Debug, Clone)]
pub struct DeviceSplit {
    /// `[len, 196]`: pixel `4k + j` of an image in bits `8j..8j+8` of word `k`.
    packed: Tensor<2, Int>,
    /// `[len]`, digits 0-9.
    labels: Tensor<1, Int>,
    len: usize,
}

/// A batch ready for a network.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `[batch, 1, 28, 28]`, normalised.
    pub images: Tensor<4>,
    /// `[batch]`
    pub labels: Tensor<1, Int>,
}

impl DeviceSplit {
    pub fn upload(split: &Split, device: &Device) -> Self {
        let words: Vec<i32> = split
            .images()
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let labels: Vec<i32> = split.labels().iter().map(|&l| i32::from(l)).collect();
        Self {
            packed: Tensor::from_data(TensorData::new(words, [split.len(), WORDS]), device),
            labels: Tensor::from_data(TensorData::new(labels, [split.len()]), device),
            len: split.len(),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The examples at `order[range]` (`order` `[n]`, on the same device, indices into this
    /// split), normalised: one kernel on WebGPU (no slice of the order, no separate gather of
    /// the labels).
    pub fn batch(&self, order: &Tensor<1, Int>, range: Range<usize>, stats: &PixelStats) -> Batch {
        let count = range.len();
        // (p / 255 - mean) / std as one multiply-add, in the same pass as the unpacking.
        let scale = 1.0 / (255.0 * stats.std);
        let (pixels, labels) =
            crate::kernels::gather_batch(self.packed.clone(), self.labels.clone(), order.clone(), range.start, count, scale, -stats.mean / stats.std);
        Batch { images: pixels.reshape([count, 1, IMAGE_SIDE, IMAGE_SIDE]), labels }
    }

    /// Examples `start..end` in their stored order (evaluation).
    pub fn range(&self, start: usize, end: usize, stats: &PixelStats) -> Batch {
        self.batch(&Tensor::arange(start as i64..end as i64, &self.labels.device()), 0..end - start, stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{cpu, floats, ints};

    #[test]
    fn a_gathered_batch_is_the_normalised_images_in_the_orders_range() {
        let device = cpu();
        let images: Vec<u8> = (0..3 * IMAGE_PIXELS).map(|i| (i * 7 % 256) as u8).collect();
        let split = Split::from_parts(images, vec![4, 0, 9]);
        let stats = PixelStats { mean: 0.25, std: 0.5 };
        let on_device = DeviceSplit::upload(&split, &device);
        // The batch is the order's positions 1 and 2: images 2 and 0.
        let order = Tensor::<1, Int>::from_data(TensorData::new(vec![1i32, 2, 0], [3]), &device);
        let batch = on_device.batch(&order, 1..3, &stats);
        assert_eq!(batch.images.dims(), [2, 1, 28, 28]);
        let labels: Vec<i64> = ints(batch.labels);
        assert_eq!(labels, vec![9, 4]);
        let pixels: Vec<f32> = floats(batch.images);
        for (k, &i) in [2usize, 0].iter().enumerate() {
            for p in 0..IMAGE_PIXELS {
                let expected = stats.normalise(split.image(i)[p]);
                assert!((pixels[k * IMAGE_PIXELS + p] - expected).abs() < 1e-5, "image {i} pixel {p}");
            }
        }
    }

    #[test]
    fn a_range_matches_the_stored_order() {
        let device = cpu();
        let split = Split::from_parts(vec![255; 2 * IMAGE_PIXELS], vec![1, 2]);
        let stats = PixelStats { mean: 0.0, std: 1.0 };
        let batch = DeviceSplit::upload(&split, &device).range(1, 2, &stats);
        let pixels: Vec<f32> = floats(batch.images);
        assert!(pixels.iter().all(|&p| (p - 1.0).abs() < 1e-6));
    }
}
