//! How a digit drawn on a screen differs from MNIST's beyond an affine transform: the pen
//! is wider or narrower than MNIST's, and a hand's strokes bend (Simard et al. 2003's
//! elastic distortion). Used by the default network's recipe (issue 9), on top of the
//! notebook's affine ranges ([`super::augment`]); the notebook's five recipes never use it.
//!
//! As with the affine part, only numbers are drawn here, on the CPU and seeded: per image the
//! displacements of a 4x4 grid of control points (rows, then columns) and one pen-width
//! amount. The device expands the grid into a smooth field with one matrix product
//! ([`control_weights`]) and resamples ([`crate::train::warp`]); the functions here are the
//! reference the device must agree with.

use serde::{Deserialize, Serialize};

use super::idx::{IMAGE_PIXELS, IMAGE_SIDE};
use crate::rng::Rng;

/// Control points per side: spaced 9 pixels apart, so the field bends a stroke over about a
/// third of the digit, as a hand does, rather than making it wavy pixel to pixel.
pub const CONTROL: usize = 4;
/// Numbers drawn per image: row and column displacement of each control point, then the
/// pen-width amount.
pub const STROKE_PARAMS: usize = 2 * CONTROL * CONTROL + 1;
/// Column of the pen-width amount.
pub const PEN: usize = 2 * CONTROL * CONTROL;

/// The ranges of the stroke augmentation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StrokeRanges {
    /// Each control point moves by up to this many pixels along each axis (uniform).
    pub elastic_px: f32,
    /// Pen width: the image is blended up to this far towards its 3x3 dilation (thicker)...
    pub thicker: f32,
    /// ...or up to this far towards its 3x3 erosion (thinner).
    pub thinner: f32,
}

impl Default for StrokeRanges {
    /// Two pixels at a control point is about what the generated hurried hand's tremor and a
    /// real hand's wobble do to a 20-pixel digit; a full dilation widens MNIST's 2-3 pixel
    /// strokes by two pixels (a thick pen on a small digit), and erosion is held to 0.6 so that
    /// a thin stroke is thinned, not erased.
    fn default() -> Self {
        Self { elastic_px: 2.0, thicker: 1.0, thinner: 0.6 }
    }
}

/// Parameters for `count` images, flattened `[count * STROKE_PARAMS]`, reproducible from the
/// generator's state.
pub fn random_strokes(count: usize, ranges: &StrokeRanges, rng: &mut Rng) -> Vec<f32> {
    let mut out = Vec::with_capacity(count * STROKE_PARAMS);
    for _ in 0..count {
        for _ in 0..PEN {
            out.push(rng.uniform(-ranges.elastic_px, ranges.elastic_px));
        }
        out.push(rng.uniform(-ranges.thinner, ranges.thicker));
    }
    out
}

/// Bilinear weights of the control grid at each pixel, `[CONTROL², 784]` row-major: a field
/// is `control · weights`. Control point k of an axis sits at pixel `k · 27 / 3`.
pub fn control_weights() -> Vec<f32> {
    let spacing = (IMAGE_SIDE - 1) as f32 / (CONTROL - 1) as f32;
    // Weight of control index k at pixel coordinate p along one axis.
    let axis = |k: usize, p: usize| {
        let s = p as f32 / spacing;
        let i = (s.floor() as usize).min(CONTROL - 2);
        let f = s - i as f32;
        match k {
            _ if k == i => 1.0 - f,
            _ if k == i + 1 => f,
            _ => 0.0,
        }
    };
    let mut w = vec![0.0; CONTROL * CONTROL * IMAGE_PIXELS];
    for i in 0..CONTROL {
        for j in 0..CONTROL {
            for p in 0..IMAGE_PIXELS {
                w[(i * CONTROL + j) * IMAGE_PIXELS + p] = axis(i, p / IMAGE_SIDE) * axis(j, p % IMAGE_SIDE);
            }
        }
    }
    w
}

/// The smooth field (784 values) of one axis' control displacements (`CONTROL²`).
pub fn field(control: &[f32]) -> Vec<f32> {
    let w = control_weights();
    (0..IMAGE_PIXELS).map(|p| control.iter().enumerate().map(|(k, c)| c * w[k * IMAGE_PIXELS + p]).sum()).collect()
}

/// The pen-width change, reference version: `amount > 0` blends towards the 3x3 dilation
/// (the largest value in the window, within the image), `amount < 0` towards the erosion.
/// The ink is then scaled back to the image's own darkest value (measured from its
/// background, its lightest): erosion dims a thin stroke's core, and a thin pen is not a
/// faint one.
pub fn pen_width_cpu(image: &[f32], amount: f32) -> Vec<f32> {
    let blended = pen_blend(image, amount);
    let (background, peak) = (image.iter().copied().fold(f32::INFINITY, f32::min), image.iter().copied().fold(f32::NEG_INFINITY, f32::max));
    let reached = blended.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let scale = (peak - background) / (reached - background).max(PEAK_FLOOR);
    blended.into_iter().map(|v| background + (v - background) * scale).collect()
}

/// Below this the image is taken as blank (no ink to scale back).
pub const PEAK_FLOOR: f32 = 1e-3;

fn pen_blend(image: &[f32], amount: f32) -> Vec<f32> {
    let n = IMAGE_SIDE as isize;
    let window = |r: isize, c: isize, pick: fn(f32, f32) -> f32| {
        let mut v = image[(r * n + c) as usize];
        for dr in -1..=1 {
            for dc in -1..=1 {
                let (rr, cc) = (r + dr, c + dc);
                if (0..n).contains(&rr) && (0..n).contains(&cc) {
                    v = pick(v, image[(rr * n + cc) as usize]);
                }
            }
        }
        v
    };
    (0..n * n)
        .map(|i| {
            let (r, c, x) = (i / n, i % n, image[i as usize]);
            let towards = if amount >= 0.0 { window(r, c, f32::max) } else { window(r, c, f32::min) };
            x + amount.abs() * (towards - x)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::augment::{warp_cpu, warp_cpu_displaced, Affine};

    fn stroke() -> Vec<f32> {
        // A vertical bar two pixels wide, away from the borders.
        (0..IMAGE_PIXELS).map(|i| if (13..15).contains(&(i % IMAGE_SIDE)) && (6..22).contains(&(i / IMAGE_SIDE)) { 1.0 } else { 0.0 }).collect()
    }

    #[test]
    fn the_control_weights_interpolate_and_sum_to_one() {
        let w = control_weights();
        for p in 0..IMAGE_PIXELS {
            let total: f32 = (0..CONTROL * CONTROL).map(|k| w[k * IMAGE_PIXELS + p]).sum();
            assert!((total - 1.0).abs() < 1e-5, "pixel {p}: {total}");
        }
        // At a control point the field is that point's displacement.
        let mut control = vec![0.0; CONTROL * CONTROL];
        control[CONTROL + 2] = 1.5; // grid (1, 2): pixel (9, 18)
        let f = field(&control);
        assert!((f[9 * IMAGE_SIDE + 18] - 1.5).abs() < 1e-5);
        assert!(f[9 * IMAGE_SIDE + 9].abs() < 1e-5 && f[0] == 0.0);
        // Halfway between two control points, half of it.
        assert!((f[9 * IMAGE_SIDE + 27] - 0.0).abs() < 1e-5 && (f[(9 * IMAGE_SIDE) + 13] - 1.5 * 4.0 / 9.0).abs() < 1e-4);
    }

    #[test]
    fn a_uniform_field_shifts_like_the_affine_shift() {
        let image = stroke();
        let m = Affine::IDENTITY.matrix();
        let by_field = warp_cpu_displaced(&image, &m, &vec![0.0; IMAGE_PIXELS], &field(&[2.0; CONTROL * CONTROL]));
        let by_shift = warp_cpu(&image, &Affine { shift_cols: 2.0, ..Affine::IDENTITY }.matrix());
        for (a, b) in by_field.iter().zip(&by_shift) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    fn the_pen_widens_and_narrows_a_stroke() {
        let image = stroke();
        let ink = |v: &[f32]| v.iter().sum::<f32>();
        let thicker = pen_width_cpu(&image, 1.0);
        let thinner = pen_width_cpu(&image, -0.5);
        // Full dilation: the 2-wide bar becomes 4 wide and 2 longer.
        assert!((ink(&thicker) - 4.0 * 18.0).abs() < 1e-4, "{}", ink(&thicker));
        // Half erosion: each pixel of the bar has a background neighbour, so half of it goes,
        // and the rest is brought back to full ink: the same bar, as the 1-wide bar it is
        // not (a 2-wide bar has no core to keep), at full intensity.
        assert!((ink(&thinner) - ink(&image)).abs() < 1e-4, "{}", ink(&thinner));
        let antialiased: Vec<f32> = image.iter().enumerate().map(|(i, v)| if i % IMAGE_SIDE == 12 && (6..22).contains(&(i / IMAGE_SIDE)) { 0.5 } else { *v }).collect();
        let thinner = pen_width_cpu(&antialiased, -0.5);
        // Its grey edge goes (0.5 -> 0.25 before scaling), its core stays at full ink.
        assert!((thinner[10 * IMAGE_SIDE + 13] - 1.0).abs() < 1e-5 && thinner[10 * IMAGE_SIDE + 12] < 0.5, "{:?}", &thinner[10 * IMAGE_SIDE + 11..10 * IMAGE_SIDE + 16]);
        assert_eq!(pen_width_cpu(&image, 0.0), image);
    }

    #[test]
    fn stroke_parameters_stay_within_their_ranges_and_repeat_under_a_seed() {
        let ranges = StrokeRanges::default();
        let p = random_strokes(500, &ranges, &mut Rng::new(3));
        assert_eq!(p.len(), 500 * STROKE_PARAMS);
        for image in p.chunks_exact(STROKE_PARAMS) {
            assert!(image[..PEN].iter().all(|d| d.abs() <= ranges.elastic_px));
            assert!((-ranges.thinner..=ranges.thicker).contains(&image[PEN]));
        }
        assert_eq!(p, random_strokes(500, &ranges, &mut Rng::new(3)));
        assert_ne!(p, random_strokes(500, &ranges, &mut Rng::new(4)));
    }
}
