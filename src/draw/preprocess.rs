//! MNIST's own recipe (LeCun et al.): each digit was fitted into a 20x20 box keeping its
//! aspect ratio, anti-aliased, then placed in a 28x28 field so that its centre of mass sits
//! at the centre. A drawn digit must go through the same steps, or a network trained on MNIST
//! misreads it.

use crate::data::{IMAGE_PIXELS, IMAGE_SIDE};

/// The box the digit's larger side is scaled to.
const BOX: usize = 20;
/// Below this intensity a pixel is background when finding the ink's bounding box.
const INK_THRESHOLD: f32 = 0.05;

/// A grayscale drawing, row-major, 0 = background, 1 = full ink.
#[derive(Debug, Clone)]
pub struct Ink<'a> {
    pub width: usize,
    pub height: usize,
    pub pixels: &'a [f32],
}

/// The larger side of the ink's bounding box, in the drawing's pixels (`None`: blank).
pub fn ink_extent(ink: &Ink) -> Option<usize> {
    let (top, left, bottom, right) = bounding_box(ink)?;
    Some((bottom - top + 1).max(right - left + 1))
}

/// The 784 pixels in [0, 1] the network sees, or `None` for a blank drawing.
pub fn preprocess(ink: &Ink) -> Option<Vec<f32>> {
    let (top, left, bottom, right) = bounding_box(ink)?;
    let (h, w) = (bottom - top + 1, right - left + 1);
    let scale = BOX as f32 / h.max(w) as f32;
    let (out_h, out_w) = (((h as f32 * scale).round() as usize).clamp(1, BOX), ((w as f32 * scale).round() as usize).clamp(1, BOX));
    let boxed = resample(ink, (top, left), (h, w), (out_h, out_w));

    // Place the box so the centre of mass lands on the field's centre (14, 14), shifting by
    // whole pixels as MNIST did, and never pushing ink off the field.
    let (cr, cc) = centre_of_mass(&boxed, out_w);
    let centre = IMAGE_SIDE as f32 / 2.0;
    let top0 = ((centre - cr).round() as isize).clamp(0, (IMAGE_SIDE - out_h) as isize) as usize;
    let left0 = ((centre - cc).round() as isize).clamp(0, (IMAGE_SIDE - out_w) as isize) as usize;
    let mut field = vec![0.0; IMAGE_PIXELS];
    for r in 0..out_h {
        for c in 0..out_w {
            field[(top0 + r) * IMAGE_SIDE + left0 + c] = boxed[r * out_w + c];
        }
    }
    Some(field)
}

fn bounding_box(ink: &Ink) -> Option<(usize, usize, usize, usize)> {
    let mut bounds: Option<(usize, usize, usize, usize)> = None;
    for r in 0..ink.height {
        for c in 0..ink.width {
            if ink.pixels[r * ink.width + c] > INK_THRESHOLD {
                bounds = Some(match bounds {
                    None => (r, c, r, c),
                    Some((t, l, b, rt)) => (t.min(r), l.min(c), b.max(r), rt.max(c)),
                });
            }
        }
    }
    bounds
}

/// Area-average resampling of the crop at `origin` of size `size` into `out`: each output
/// pixel is the mean of the source area it covers, with fractional edges. This is what
/// anti-aliases the strokes.
fn resample(ink: &Ink, origin: (usize, usize), size: (usize, usize), out: (usize, usize)) -> Vec<f32> {
    let (sy, sx) = (size.0 as f32 / out.0 as f32, size.1 as f32 / out.1 as f32);
    let mut result = vec![0.0; out.0 * out.1];
    for r in 0..out.0 {
        let (y0, y1) = (r as f32 * sy, (r + 1) as f32 * sy);
        for c in 0..out.1 {
            let (x0, x1) = (c as f32 * sx, (c + 1) as f32 * sx);
            let mut sum = 0.0;
            for y in y0.floor() as usize..(y1.ceil() as usize).min(size.0) {
                let wy = (y1.min(y as f32 + 1.0) - y0.max(y as f32)).max(0.0);
                for x in x0.floor() as usize..(x1.ceil() as usize).min(size.1) {
                    let wx = (x1.min(x as f32 + 1.0) - x0.max(x as f32)).max(0.0);
                    sum += wy * wx * ink.pixels[(origin.0 + y) * ink.width + origin.1 + x];
                }
            }
            result[r * out.1 + c] = (sum / (sy * sx)).clamp(0.0, 1.0);
        }
    }
    result
}

/// Centre of mass (row, col) in pixel-centre coordinates (pixel i spans [i, i+1)).
fn centre_of_mass(image: &[f32], width: usize) -> (f32, f32) {
    let total: f32 = image.iter().sum::<f32>().max(f32::MIN_POSITIVE);
    let (mut r, mut c) = (0.0, 0.0);
    for (i, &v) in image.iter().enumerate() {
        r += ((i / width) as f32 + 0.5) * v;
        c += ((i % width) as f32 + 0.5) * v;
    }
    (r / total, c / total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A drawing of `size` with a filled rectangle of ink.
    fn rectangle(size: usize, top: usize, left: usize, h: usize, w: usize) -> Vec<f32> {
        let mut pixels = vec![0.0; size * size];
        for r in top..top + h {
            for c in left..left + w {
                pixels[r * size + c] = 1.0;
            }
        }
        pixels
    }

    fn extent(field: &[f32]) -> (usize, usize, usize, usize) {
        bounding_box(&Ink { width: 28, height: 28, pixels: field }).unwrap()
    }

    #[test]
    fn the_extent_is_the_larger_side_of_the_ink() {
        let mut pixels = vec![0.0; 100 * 100];
        for r in 40..45 {
            for c in 10..30 {
                pixels[r * 100 + c] = 1.0;
            }
        }
        assert_eq!(ink_extent(&Ink { width: 100, height: 100, pixels: &pixels }), Some(20));
        assert_eq!(ink_extent(&Ink { width: 100, height: 100, pixels: &[0.0; 10_000] }), None);
    }

    #[test]
    fn a_blank_drawing_has_no_digit() {
        assert_eq!(preprocess(&Ink { width: 280, height: 280, pixels: &[0.0; 280 * 280] }), None);
    }

    #[test]
    fn an_off_centre_small_digit_is_scaled_up_and_centred() {
        // A tall stroke, 40x10, in the top-left corner of a 280x280 canvas.
        let pixels = rectangle(280, 5, 8, 40, 10);
        let field = preprocess(&Ink { width: 280, height: 280, pixels: &pixels }).unwrap();
        let (t, l, b, r) = extent(&field);
        assert_eq!(b - t + 1, 20, "the longer side fills the 20-pixel box");
        assert_eq!(r - l + 1, 5, "aspect ratio kept: 40x10 becomes 20x5");
        let (cr, cc) = centre_of_mass(&field, 28);
        assert!((cr - 14.0).abs() <= 0.5 && (cc - 14.0).abs() <= 0.5, "centre of mass ({cr}, {cc})");
    }

    #[test]
    fn a_too_large_digit_is_shrunk_into_the_box() {
        let pixels = rectangle(280, 0, 0, 280, 200);
        let field = preprocess(&Ink { width: 280, height: 280, pixels: &pixels }).unwrap();
        let (t, l, b, r) = extent(&field);
        assert_eq!((b - t + 1, r - l + 1), (20, 14));
        assert!(field.iter().all(|&v| (0.0..=1.0).contains(&v)));
    }

    #[test]
    fn the_centre_of_mass_not_the_box_is_centred() {
        // An L: heavy bottom bar, so the mass sits low and the box must move up.
        let mut pixels = rectangle(100, 10, 10, 80, 8);
        for (i, v) in rectangle(100, 82, 10, 8, 60).into_iter().enumerate() {
            pixels[i] = f32::max(pixels[i], v);
        }
        let field = preprocess(&Ink { width: 100, height: 100, pixels: &pixels }).unwrap();
        let (cr, cc) = centre_of_mass(&field, 28);
        assert!((cr - 14.0).abs() <= 0.5 && (cc - 14.0).abs() <= 0.5, "({cr}, {cc})");
        let (t, _, b, _) = extent(&field);
        assert!(t + b < 27, "the box sits above centre because its mass is low ({t}..{b})");
    }

    #[test]
    fn downscaling_anti_aliases_edges() {
        // A slanted stroke at 10x scale becomes fractional intensities along its edges.
        let mut pixels = vec![0.0; 200 * 200];
        for r in 0..200usize {
            for c in r / 2..(r / 2 + 25).min(200) {
                pixels[r * 200 + c] = 1.0;
            }
        }
        let field = preprocess(&Ink { width: 200, height: 200, pixels: &pixels }).unwrap();
        assert!(field.iter().any(|&v| v > 0.05 && v < 0.95), "some partially covered pixels");
    }
}
