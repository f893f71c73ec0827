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
    let (top, left, bottom, right) = bounding_box(ink, INK_THRESHOLD)?;
    Some((bottom - top + 1).max(right - left + 1))
}

/// How far MNIST's digits lean: the slope of column on row through the ink's centre of mass,
/// `cov(row, col) / var(row)`, lies between these for the middle 80% of its 60,000 training
/// digits (the 10th and 90th percentiles; a hand that leans right gives a negative slope, the
/// median is -0.10). The slope does not change when a digit is scaled, so it is the same on the
/// pad as in the 28x28 field. Chosen among the 1st-99th and 5th-95th percentiles and the median
/// itself (every drawing sheared to it) on generated drawings, then measured on fresh ones
/// (README, "A lean brought within MNIST's"): the median read the most hurried digits but let
/// more letters pass as digits.
pub const LEAN: (f32, f32) = (-0.465, 0.232);

/// The 784 pixels in [0, 1] the network sees, or `None` for a blank drawing. A drawing that
/// leans further than most of MNIST's digits ([`LEAN`]) is first sheared back to the nearer
/// limit, not upright: one that leans as they do is left as drawn.
pub fn preprocess(ink: &Ink) -> Option<Vec<f32>> {
    match within_lean(ink) {
        Some(sheared) => fit(&Ink { width: sheared.1, height: ink.height, pixels: &sheared.0 }),
        None => fit(ink),
    }
}

/// Past this slope a drawing is not a digit leaning but a flat shape (56 degrees from upright;
/// a dash drawn at a slight angle has a slope of 3 or more): it is left as drawn, since
/// shearing it by its slope would stand it up into a stroke that is no longer what was drawn.
/// One of MNIST's 60,000 training digits leans that far.
pub const FLAT: f32 = 1.5;

/// The slope of column on row through the ink's centre of mass (`None`: no ink, or a
/// horizontal line).
pub fn lean(ink: &Ink) -> Option<f32> {
    let Mass { total, row: cr, col: cc } = centre_of_mass(ink.pixels, ink.width)?;
    let (mut var, mut cov) = (0.0f64, 0.0f64);
    for (i, &v) in ink.pixels.iter().enumerate() {
        let (dr, dc) = ((i / ink.width) as f64 + 0.5 - cr, (i % ink.width) as f64 + 0.5 - cc);
        var += v as f64 * dr * dr;
        cov += v as f64 * dr * dc;
    }
    (var > 1e-9 * total).then(|| (cov / var) as f32)
}

/// The drawing sheared along its rows so that its lean is within [`LEAN`], and its new width
/// (wider, so that no ink leaves it); `None` when it already is.
fn within_lean(ink: &Ink) -> Option<(Vec<f32>, usize)> {
    let slope = lean(ink).filter(|s| s.abs() <= FLAT)?;
    let excess = slope - slope.clamp(LEAN.0, LEAN.1);
    if excess == 0.0 {
        return None;
    }
    // `lean` found ink, so there is a centre.
    let cr = centre_of_mass(ink.pixels, ink.width)?.row as f32;
    // Row r's ink moves left by `shift(r)` (right where negative).
    let shift = |r: usize| excess * (r as f32 + 0.5 - cr);
    let (first, last) = (shift(0), shift(ink.height - 1));
    let (low, high) = (first.min(last), first.max(last));
    let width = ink.width + (high - low).ceil() as usize + 1;
    let mut out = vec![0.0; width * ink.height];
    for r in 0..ink.height {
        let row = &ink.pixels[r * ink.width..][..ink.width];
        // Output column c takes the source column c + shift(r) - high (linearly between the
        // two nearest): the row that moves furthest left starts at column 0.
        let offset = shift(r) - high;
        let at = |x: f32| if x >= 0.0 && (x as usize) < ink.width { row[x as usize] } else { 0.0 };
        for (c, o) in out[r * width..][..width].iter_mut().enumerate() {
            let x = c as f32 + offset;
            let (x0, f) = (x.floor(), x - x.floor());
            *o = at(x0) * (1.0 - f) + at(x0 + 1.0) * f;
        }
    }
    Some((out, width))
}

/// MNIST's recipe: the ink's bounding box fitted into the 20-pixel box, its centre of mass
/// on the field's centre.
fn fit(ink: &Ink) -> Option<Vec<f32>> {
    let (top, left, bottom, right) = bounding_box(ink, INK_THRESHOLD)?;
    let (h, w) = (bottom - top + 1, right - left + 1);
    let scale = BOX as f32 / h.max(w) as f32;
    let (out_h, out_w) = (((h as f32 * scale).round() as usize).clamp(1, BOX), ((w as f32 * scale).round() as usize).clamp(1, BOX));
    let boxed = resample(ink, (top, left), (h, w), (out_h, out_w));

    // Place the box so the centre of mass lands on the field's centre (14, 14), shifting by
    // whole pixels as MNIST did, and never pushing ink off the field.
    // The box holds the crop's ink (some pixel was above the threshold), so it has a centre.
    let Mass { row: cr, col: cc, .. } = centre_of_mass(&boxed, out_w)?;
    let (cr, cc) = (cr as f32, cc as f32);
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

/// The rows and columns (top, left, bottom, right) holding every pixel darker than
/// `threshold`; `None` when none is.
pub(crate) fn bounding_box(ink: &Ink, threshold: f32) -> Option<(usize, usize, usize, usize)> {
    let mut bounds: Option<(usize, usize, usize, usize)> = None;
    for r in 0..ink.height {
        for c in 0..ink.width {
            if ink.pixels[r * ink.width + c] > threshold {
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

/// An image's total ink and its centre of mass (row, col) in pixel-centre coordinates (pixel i
/// spans [i, i+1)).
struct Mass {
    total: f64,
    row: f64,
    col: f64,
}

/// The image's [`Mass`] (`None`: no ink). Summed in f64: a drawing pad's tens of thousands of
/// pixels, weighted by coordinates in the hundreds, would lose digits in f32, and the lean's
/// variance is taken about this very centre.
fn centre_of_mass(image: &[f32], width: usize) -> Option<Mass> {
    let (mut total, mut r, mut c) = (0.0f64, 0.0f64, 0.0f64);
    for (i, &v) in image.iter().enumerate() {
        let v = v as f64;
        total += v;
        r += ((i / width) as f64 + 0.5) * v;
        c += ((i % width) as f64 + 0.5) * v;
    }
    (total > 0.0).then(|| Mass { total, row: r / total, col: c / total })
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
        bounding_box(&Ink { width: 28, height: 28, pixels: field }, INK_THRESHOLD).unwrap()
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
        let Mass { row: cr, col: cc, .. } = centre_of_mass(&field, 28).expect("the field has ink");
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
        let Mass { row: cr, col: cc, .. } = centre_of_mass(&field, 28).expect("the field has ink");
        assert!((cr - 14.0).abs() <= 0.5 && (cc - 14.0).abs() <= 0.5, "({cr}, {cc})");
        let (t, _, b, _) = extent(&field);
        assert!(t + b < 27, "the box sits above centre because its mass is low ({t}..{b})");
    }

    /// A bar 12 pixels wide whose column moves by `slope` per row, rows 20..180 of a 200x300
    /// canvas.
    fn leaning_bar(slope: f32) -> Vec<f32> {
        let mut pixels = vec![0.0; 200 * 300];
        for r in 20..180usize {
            let left = (150.0 + slope * (r as f32 - 100.0)).round() as usize;
            for c in left..left + 12 {
                pixels[r * 300 + c] = 1.0;
            }
        }
        pixels
    }

    #[test]
    fn the_lean_is_the_slope_of_column_on_row() {
        for slope in [-0.9, -0.3, 0.0, 0.5] {
            let lean = lean(&Ink { width: 300, height: 200, pixels: &leaning_bar(slope) }).unwrap();
            assert!((lean - slope).abs() < 0.01, "{lean} for {slope}");
        }
        assert_eq!(lean(&Ink { width: 10, height: 10, pixels: &[0.0; 100] }), None);
    }

    #[test]
    fn a_flat_shape_is_left_as_drawn() {
        // A dash at 20 degrees to the horizontal: its slope is about 2.7, no digit's lean.
        let mut dash = vec![0.0; 200 * 300];
        for c in 50..250usize {
            let r = (100.0 - (c as f32 - 150.0) * 20f32.to_radians().tan()).round() as usize;
            dash[r * 300 + c] = 1.0;
            dash[(r + 1) * 300 + c] = 1.0;
        }
        let ink = Ink { width: 300, height: 200, pixels: &dash };
        assert!(lean(&ink).unwrap().abs() > FLAT);
        assert_eq!(preprocess(&ink), fit(&ink));
    }

    #[test]
    fn a_drawing_leaning_as_mnist_digits_do_is_left_as_drawn() {
        for slope in [LEAN.0 + 0.05, -0.3, 0.0, LEAN.1 - 0.05] {
            let pixels = leaning_bar(slope);
            let ink = Ink { width: 300, height: 200, pixels: &pixels };
            assert_eq!(preprocess(&ink), fit(&ink), "slope {slope}");
        }
    }

    #[test]
    fn a_drawing_leaning_further_than_mnist_digits_is_brought_to_their_limit() {
        for (slope, limit) in [(-1.3, LEAN.0), (-1.1, LEAN.0), (0.9, LEAN.1), (1.3, LEAN.1)] {
            let pixels = leaning_bar(slope);
            let field = preprocess(&Ink { width: 300, height: 200, pixels: &pixels }).unwrap();
            let seen = lean(&Ink { width: 28, height: 28, pixels: &field }).unwrap();
            assert!((seen - limit).abs() < 0.06, "slope {slope}: the network sees {seen}, the limit is {limit}");
            let ink: f32 = field.iter().sum();
            assert!(ink > 20.0, "the bar is still there ({ink})");
        }
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
