//! Augmentation on the device: each image resampled through its own affine matrix, bilinear,
//! edges replicated (Keras' `order=1, fill_mode='nearest'`). The matrices come from
//! [`crate::data::augment`]; this is the device twin of [`crate::data::augment::warp_cpu`].

use burn::prelude::*;

use crate::data::{IMAGE_PIXELS, IMAGE_SIDE};

/// Resample `images` (`[batch, 1, 28, 28]`) through `matrices` (`[batch, 6]`, see
/// [`crate::data::augment::Affine::matrix`]).
pub fn warp(images: Tensor<4>, matrices: Tensor<2>) -> Tensor<4> {
    let [batch, ..] = images.dims();
    let device = images.device();
    let flat = images.reshape([batch, IMAGE_PIXELS]);
    let side = IMAGE_SIDE as f32;
    let max = side - 1.0;

    // Output pixel coordinates, [1, 784].
    let index = Tensor::<1, Int>::arange(0..IMAGE_PIXELS as i64, &device).float();
    let rows = index.clone().div_scalar(side).floor().reshape([1, IMAGE_PIXELS]);
    let cols = (index.reshape([1, IMAGE_PIXELS]) - rows.clone().mul_scalar(side)).reshape([1, IMAGE_PIXELS]);

    let m = |k: usize| matrices.clone().slice([0..batch, k..k + 1]); // [batch, 1]
    let src_r = (rows.clone() * m(0) + cols.clone() * m(1) + m(2)).clamp(0.0, max); // [batch, 784]
    let src_c = (rows * m(3) + cols * m(4) + m(5)).clamp(0.0, max);

    let r0 = src_r.clone().floor();
    let c0 = src_c.clone().floor();
    let fr = src_r - r0.clone();
    let fc = src_c - c0.clone();
    let r1 = r0.clone().add_scalar(1.0).clamp_max(max);
    let c1 = c0.clone().add_scalar(1.0).clamp_max(max);

    let sample = |r: &Tensor<2>, c: &Tensor<2>| {
        let idx = (r.clone().mul_scalar(side) + c.clone()).int();
        flat.clone().gather(1, idx)
    };
    let top = sample(&r0, &c0) * (fc.clone().neg().add_scalar(1.0)) + sample(&r0, &c1) * fc.clone();
    let bottom = sample(&r1, &c0) * (fc.clone().neg().add_scalar(1.0)) + sample(&r1, &c1) * fc;
    let out = top * (fr.clone().neg().add_scalar(1.0)) + bottom * fr;
    out.reshape([batch, 1, IMAGE_SIDE, IMAGE_SIDE])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::augment::{random_matrices, warp_cpu, AugmentRanges};
    use crate::rng::Rng;
    use crate::testing::{cpu, floats};

    #[test]
    fn the_device_warp_agrees_with_the_reference() {
        let device = cpu();
        let mut rng = Rng::new(21);
        let images: Vec<f32> = (0..3 * IMAGE_PIXELS).map(|_| rng.next_f32()).collect();
        let matrices = random_matrices(3, &AugmentRanges::default(), &mut rng);
        let out = warp(
            Tensor::from_data(TensorData::new(images.clone(), [3, 1, 28, 28]), &device),
            Tensor::from_data(TensorData::new(matrices.clone(), [3, 6]), &device),
        );
        let out: Vec<f32> = floats(out);
        for i in 0..3 {
            let m: [f32; 6] = matrices[i * 6..i * 6 + 6].try_into().unwrap();
            let expected = warp_cpu(&images[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS], &m);
            for (p, (a, b)) in out[i * IMAGE_PIXELS..].iter().zip(&expected).enumerate() {
                assert!((a - b).abs() < 1e-4, "image {i} pixel {p}: {a} vs {b}");
            }
        }
    }
}
