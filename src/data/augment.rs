//! Random affine transforms with the ranges of the notebook's Keras `ImageDataGenerator`:
//! rotation_range=8, width_shift_range=0.08, height_shift_range=0.08, shear_range=0.3,
//! zoom_range=0.08, fill_mode='nearest'.
//!
//! Only the 2x3 matrices are drawn here, on the CPU (six numbers per image, seeded); the
//! resampling itself runs on the device ([`crate::train::warp`]). The matrix composition
//! follows Keras 2's `random_transform` / `apply_affine_transform` exactly: it maps each
//! *output* pixel (row, col) to the *input* position it samples, about the image centre.

use super::idx::IMAGE_SIDE;
use crate::rng::Rng;

/// The notebook's augmentation ranges.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AugmentRanges {
    /// Maximum rotation, degrees.
    pub rotation_deg: f32,
    /// Maximum shift as a fraction of the height (rows) and width (cols).
    pub shift: f32,
    /// Maximum shear angle, radians (Keras before 2.2.3 read shear_range in radians).
    pub shear_rad: f32,
    /// Zoom factors are drawn per axis from [1 - zoom, 1 + zoom].
    pub zoom: f32,
}

impl Default for AugmentRanges {
    fn default() -> Self {
        Self { rotation_deg: 8.0, shift: 0.08, shear_rad: 0.3, zoom: 0.08 }
    }
}

/// One transform's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    pub theta_rad: f32,
    /// Shift in pixels along rows (Keras' tx) and columns (ty).
    pub shift_rows: f32,
    pub shift_cols: f32,
    pub shear_rad: f32,
    pub zoom_rows: f32,
    pub zoom_cols: f32,
}

impl Affine {
    pub const IDENTITY: Self =
        Self { theta_rad: 0.0, shift_rows: 0.0, shift_cols: 0.0, shear_rad: 0.0, zoom_rows: 1.0, zoom_cols: 1.0 };

    /// Draw parameters in Keras' order (theta, tx, ty, shear, zx, zy).
    pub fn random(ranges: &AugmentRanges, rng: &mut Rng) -> Self {
        let side = IMAGE_SIDE as f32;
        let sym = |rng: &mut Rng, r: f32| rng.uniform(-r, r);
        Self {
            theta_rad: sym(rng, ranges.rotation_deg).to_radians(),
            shift_rows: sym(rng, ranges.shift) * side,
            shift_cols: sym(rng, ranges.shift) * side,
            shear_rad: sym(rng, ranges.shear_rad),
            zoom_rows: rng.uniform(1.0 - ranges.zoom, 1.0 + ranges.zoom),
            zoom_cols: rng.uniform(1.0 - ranges.zoom, 1.0 + ranges.zoom),
        }
    }

    /// The 2x3 matrix `[a, b, c, d, e, f]`: input (row, col) = (a·r + b·c + c, d·r + e·c + f)
    /// for output pixel (r, c). rotation · shift · shear · zoom, then centred on
    /// (14.5, 14.5) as Keras' `transform_matrix_offset_center` does (it adds 0.5).
    pub fn matrix(&self) -> [f32; 6] {
        type M = [[f32; 3]; 3];
        fn mul(a: &M, b: &M) -> M {
            let mut out = [[0.0; 3]; 3];
            for i in 0..3 {
                for j in 0..3 {
                    out[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
                }
            }
            out
        }
        let (s, c) = self.theta_rad.sin_cos();
        let rotation = [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]];
        let shift = [[1.0, 0.0, self.shift_rows], [0.0, 1.0, self.shift_cols], [0.0, 0.0, 1.0]];
        let shear = [[1.0, -self.shear_rad.sin(), 0.0], [0.0, self.shear_rad.cos(), 0.0], [0.0, 0.0, 1.0]];
        let zoom = [[self.zoom_rows, 0.0, 0.0], [0.0, self.zoom_cols, 0.0], [0.0, 0.0, 1.0]];
        let transform = mul(&mul(&mul(&rotation, &shift), &shear), &zoom);
        let o = IMAGE_SIDE as f32 / 2.0 + 0.5;
        let offset = [[1.0, 0.0, o], [0.0, 1.0, o], [0.0, 0.0, 1.0]];
        let reset = [[1.0, 0.0, -o], [0.0, 1.0, -o], [0.0, 0.0, 1.0]];
        let m = mul(&mul(&offset, &transform), &reset);
        [m[0][0], m[0][1], m[0][2], m[1][0], m[1][1], m[1][2]]
    }
}

/// Matrices for `count` images, flattened `[count * 6]`, reproducible from the generator's
/// state.
pub fn random_matrices(count: usize, ranges: &AugmentRanges, rng: &mut Rng) -> Vec<f32> {
    (0..count).flat_map(|_| Affine::random(ranges, rng).matrix()).collect()
}

/// Reference CPU implementation of the resampling (bilinear, edges replicated: Keras'
/// `order=1, fill_mode='nearest'`). The device version must agree with it; tests use it.
pub fn warp_cpu(image: &[f32], m: &[f32; 6]) -> Vec<f32> {
    let still = [0.0; IMAGE_SIDE * IMAGE_SIDE];
    warp_cpu_displaced(image, m, &still, &still)
}

/// [`warp_cpu`] with each output pixel's source moved further by `(rows[p], cols[p])` pixels
/// (an elastic field, [`super::strokes`]) before the clamp to the image.
pub fn warp_cpu_displaced(image: &[f32], m: &[f32; 6], rows: &[f32], cols: &[f32]) -> Vec<f32> {
    let n = IMAGE_SIDE;
    let max = (n - 1) as f32;
    let at = |r: usize, c: usize| image[r * n + c];
    let mut out = vec![0.0; n * n];
    for r in 0..n {
        for c in 0..n {
            let (rf, cf) = (r as f32, c as f32);
            let sr = (m[0] * rf + m[1] * cf + m[2] + rows[r * n + c]).clamp(0.0, max);
            let sc = (m[3] * rf + m[4] * cf + m[5] + cols[r * n + c]).clamp(0.0, max);
            let (r0, c0) = (sr.floor() as usize, sc.floor() as usize);
            let (r1, c1) = ((r0 + 1).min(n - 1), (c0 + 1).min(n - 1));
            let (fr, fc) = (sr - r0 as f32, sc - c0 as f32);
            let top = at(r0, c0) * (1.0 - fc) + at(r0, c1) * fc;
            let bottom = at(r1, c0) * (1.0 - fc) + at(r1, c1) * fc;
            out[r * n + c] = top * (1.0 - fr) + bottom * fr;
        }
    }
    out
}

/// Centre of mass (row, col) of an image's intensities.
pub fn centre_of_mass(image: &[f32]) -> (f32, f32) {
    let total: f32 = image.iter().sum();
    let (mut r, mut c) = (0.0, 0.0);
    for (i, &v) in image.iter().enumerate() {
        r += (i / IMAGE_SIDE) as f32 * v;
        c += (i % IMAGE_SIDE) as f32 * v;
    }
    (r / total, c / total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A blob of ink, away from the borders.
    pub(crate) fn blob() -> Vec<f32> {
        (0..IMAGE_SIDE * IMAGE_SIDE)
            .map(|i| {
                let (r, c) = ((i / IMAGE_SIDE) as f32, (i % IMAGE_SIDE) as f32);
                let d2 = (r - 12.0).powi(2) + (c - 15.0).powi(2);
                (-d2 / 8.0).exp()
            })
            .collect()
    }

    #[test]
    fn the_identity_transform_leaves_a_digit_unchanged() {
        let image = blob();
        let m = Affine::IDENTITY.matrix();
        for (a, b) in m.iter().zip([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]) {
            assert!((a - b).abs() < 1e-5, "{m:?}");
        }
        assert_eq!(warp_cpu(&image, &m), image);
    }

    #[test]
    fn a_shift_moves_the_centre_of_mass_by_the_shift() {
        let image = blob();
        let shifted = Affine { shift_rows: 3.0, shift_cols: -2.0, ..Affine::IDENTITY };
        let out = warp_cpu(&image, &shifted.matrix());
        let (r0, c0) = centre_of_mass(&image);
        let (r1, c1) = centre_of_mass(&out);
        // Output pixel (r, c) samples input (r + 3, c - 2): the digit moves up 3 and right 2.
        assert!((r1 - (r0 - 3.0)).abs() < 0.05, "{r0} -> {r1}");
        assert!((c1 - (c0 + 2.0)).abs() < 0.05, "{c0} -> {c1}");
    }

    #[test]
    fn a_rotation_turns_about_the_image_centre() {
        let m = Affine { theta_rad: 0.3, ..Affine::IDENTITY }.matrix();
        // Keras' centre is (14.5, 14.5): that point maps onto itself.
        let (r, c) = (14.5, 14.5);
        assert!((m[0] * r + m[1] * c + m[2] - r).abs() < 1e-4);
        assert!((m[3] * r + m[4] * c + m[5] - c).abs() < 1e-4);
    }

    #[test]
    fn random_transforms_stay_within_the_notebook_ranges_and_repeat_under_a_seed() {
        let ranges = AugmentRanges::default();
        let mut rng = Rng::new(11);
        for _ in 0..1000 {
            let a = Affine::random(&ranges, &mut rng);
            assert!(a.theta_rad.abs() <= 8f32.to_radians());
            assert!(a.shift_rows.abs() <= 0.08 * 28.0 && a.shift_cols.abs() <= 0.08 * 28.0);
            assert!(a.shear_rad.abs() <= 0.3);
            assert!((0.92..=1.08).contains(&a.zoom_rows) && (0.92..=1.08).contains(&a.zoom_cols));
        }
        let first = random_matrices(4, &ranges, &mut Rng::new(5));
        assert_eq!(first, random_matrices(4, &ranges, &mut Rng::new(5)));
        assert_ne!(first, random_matrices(4, &ranges, &mut Rng::new(6)));
    }
}
