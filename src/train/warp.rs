//! Augmentation on the device: each image resampled through its own affine matrix, bilinear,
//! edges replicated (Keras' `order=1, fill_mode='nearest'`). The matrices come from
//! [`crate::data::augment`]; this is the device twin of [`crate::data::augment::warp_cpu`].
//! The default network's recipe adds an elastic field to the same resampling and changes the
//! pen's width afterwards ([`crate::data::strokes`]).

use burn::prelude::*;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;

use crate::data::strokes::{CONTROL, PEAK_FLOOR, PEN};
use crate::data::{IMAGE_PIXELS, IMAGE_SIDE};

/// Resample `images` (`[batch, 1, 28, 28]`) through `matrices` (`[batch, 6]`, see
/// [`crate::data::augment::Affine::matrix`]), each source position moved further by the
/// elastic field of `strokes` when given (`[batch, STROKE_PARAMS]`, expanded through
/// `weights`, [`crate::data::strokes::control_weights`] as `[CONTROL², 784]`).
pub fn warp(images: Tensor<4>, matrices: Tensor<2>, strokes: Option<(&Tensor<2>, &Tensor<2>)>) -> Tensor<4> {
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
    let mut src_r = rows.clone() * m(0) + cols.clone() * m(1) + m(2); // [batch, 784]
    let mut src_c = rows * m(3) + cols * m(4) + m(5);
    if let Some((params, weights)) = strokes {
        // The fields are smooth: 16 numbers per axis, spread over the pixels by one product.
        let grid = CONTROL * CONTROL;
        src_r = src_r + params.clone().slice([0..batch, 0..grid]).matmul(weights.clone());
        src_c = src_c + params.clone().slice([0..batch, grid..2 * grid]).matmul(weights.clone());
    }
    let src_r = src_r.clamp(0.0, max);
    let src_c = src_c.clamp(0.0, max);

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

/// A wider or narrower pen: each image blended towards its 3x3 dilation by its amount in
/// `strokes`' pen column when positive, towards its erosion when negative (the device twin of
/// [`crate::data::strokes::pen_width_cpu`]). Works on normalised images as well as on pixels:
/// the normalisation is increasing, so it keeps which value is the window's largest.
pub fn pen_width(images: Tensor<4>, strokes: &Tensor<2>) -> Tensor<4> {
    let [batch, ..] = images.dims();
    // Padding is ignored by max pooling (it pads with -inf), so windows stop at the border.
    let window = MaxPoolOptions::new([3, 3]).with_stride([1, 1]).with_padding([1, 1]);
    let dilated = max_pool2d(images.clone(), window.clone());
    let eroded = max_pool2d(images.clone().neg(), window).neg();
    let amount = strokes.clone().slice([0..batch, PEN..PEN + 1]).reshape([batch, 1, 1, 1]);
    let thicker = amount.clone().clamp_min(0.0);
    let thinner = amount.neg().clamp_min(0.0);
    let flat = |t: Tensor<4>| t.reshape([batch, IMAGE_PIXELS]);
    let background = flat(images.clone()).min_dim(1).reshape([batch, 1, 1, 1]);
    let peak = flat(images.clone()).max_dim(1).reshape([batch, 1, 1, 1]);
    let blended = images.clone() + thicker * (dilated - images.clone()) + thinner * (eroded - images);
    // A thin pen is not a faint one: the ink goes back to the image's own darkest value.
    let reached = flat(blended.clone()).max_dim(1).reshape([batch, 1, 1, 1]);
    let scale = (peak - background.clone()) / (reached - background.clone()).clamp_min(PEAK_FLOOR);
    background.clone() + (blended - background) * scale
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::augment::{random_matrices, warp_cpu, warp_cpu_displaced, AugmentRanges};
    use crate::data::strokes::{control_weights, field, pen_width_cpu, random_strokes, StrokeRanges, STROKE_PARAMS};
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
            None,
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

    #[test]
    fn the_device_strokes_agree_with_the_reference() {
        let device = cpu();
        let mut rng = Rng::new(22);
        // Ink inside a uniform background, as MNIST's images are. (The borders would agree
        // too: both sides clamp samples to the edge and pool in-bounds pixels only.)
        let images: Vec<f32> = (0..4 * IMAGE_PIXELS)
            .map(|i| {
                let (r, c) = ((i % IMAGE_PIXELS) / IMAGE_SIDE, i % IMAGE_SIDE);
                if (4..24).contains(&r) && (4..24).contains(&c) { rng.next_f32() } else { -0.4 }
            })
            .collect();
        let matrices = random_matrices(4, &AugmentRanges::default(), &mut rng);
        let mut strokes = random_strokes(4, &StrokeRanges::default(), &mut rng);
        // One image of each kind of pen, and one unchanged.
        for (i, amount) in [1.0, -0.6, 0.35, 0.0].into_iter().enumerate() {
            strokes[i * STROKE_PARAMS + PEN] = amount;
        }
        let params = Tensor::<2>::from_data(TensorData::new(strokes.clone(), [4, STROKE_PARAMS]), &device);
        let weights = Tensor::<2>::from_data(TensorData::new(control_weights(), [CONTROL * CONTROL, IMAGE_PIXELS]), &device);
        let warped = warp(
            Tensor::from_data(TensorData::new(images.clone(), [4, 1, 28, 28]), &device),
            Tensor::from_data(TensorData::new(matrices.clone(), [4, 6]), &device),
            Some((&params, &weights)),
        );
        let out: Vec<f32> = floats(pen_width(warped, &params));
        let grid = CONTROL * CONTROL;
        for i in 0..4 {
            let m: [f32; 6] = matrices[i * 6..i * 6 + 6].try_into().unwrap();
            let p = &strokes[i * STROKE_PARAMS..(i + 1) * STROKE_PARAMS];
            let image = &images[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS];
            let moved = warp_cpu_displaced(image, &m, &field(&p[..grid]), &field(&p[grid..2 * grid]));
            let expected = pen_width_cpu(&moved, p[PEN]);
            for (k, (a, b)) in out[i * IMAGE_PIXELS..].iter().zip(&expected).enumerate() {
                assert!((a - b).abs() < 1e-4, "image {i} pixel {k}: {a} vs {b}");
            }
        }
    }
}
