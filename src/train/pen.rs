//! A 28x28 image redrawn as the page's pad would hold it, for fitting the "not a digit"
//! detector ([`super::novelty`]): cropped to its ink, scaled to a size a person draws at,
//! thinned to a skeleton, drawn again with the pad's round pen, placed somewhere on the pad,
//! and put through the page's own preprocessing ([`crate::draw::preprocess`]).
//!
//! Why: MNIST's digits were written with pens on paper and scanned; what the page reads was
//! drawn with a fixed round pen on a canvas, whose strokes at a small size come out thicker,
//! rounder at the ends and even in width. Taught on MNIST's images alone, anything drawn with
//! the pad's pen looks a little strange to the detector, digit or not; a detector taught to
//! tell Quick, Draw! doodles (also redrawn here) from MNIST's own images learned the pen
//! instead of the shapes and refused 16% of hurried drawn digits
//! (`results/cpu/novelty-doodles.txt`). Redrawing both the same way leaves it only the shapes.

use crate::data::{IMAGE_PIXELS, IMAGE_SIDE};
use crate::draw::preprocess::bounding_box;
use crate::draw::{preprocess, Ink};
use crate::rng::Rng;

/// The pad, at half the page's resolution (280 px and a 22 px pen there): the same
/// proportions, a quarter of the pixels to thin.
pub const PAD: usize = 140;
pub const PEN: f32 = 11.0;
/// The drawing's larger side, as a share of the pad: from a small digit in a corner to one
/// filling most of it, as `tests/e2e/drawn.mjs` draws and people do.
const SIZE: (f32, f32) = (0.3, 0.8);
/// A source pixel at least this dark is ink when cropping.
const INK: f32 = 0.3;

/// `image` (`IMAGE_SIDE` square, 0 background to 1 ink) redrawn with the pad's pen at a
/// random size and place, then preprocessed as the page does: the 784 pixels the network
/// would see. `None` for an image without ink.
pub fn redraw(image: &[f32], rng: &mut Rng) -> Option<Vec<f32>> {
    assert_eq!(image.len(), IMAGE_PIXELS);
    let side = IMAGE_SIDE;
    let (top, left, bottom, right) = bounding_box(&Ink { width: side, height: side, pixels: image }, INK)?;
    let (h, w) = (bottom - top + 1, right - left + 1);
    let size = rng.uniform(SIZE.0, SIZE.1) * PAD as f32;
    let zoom = size / h.max(w) as f32;
    let (out_h, out_w) = (((h as f32 * zoom).round() as usize).clamp(1, PAD), ((w as f32 * zoom).round() as usize).clamp(1, PAD));
    // Bilinear, each output pixel's centre mapped back into the crop.
    let at = |r: isize, c: isize| if r >= 0 && c >= 0 && (r as usize) < h && (c as usize) < w { image[(top + r as usize) * side + left + c as usize] } else { 0.0 };
    let mut mask = vec![false; out_h * out_w];
    for (i, m) in mask.iter_mut().enumerate() {
        let y = ((i / out_w) as f32 + 0.5) / zoom - 0.5;
        let x = ((i % out_w) as f32 + 0.5) / zoom - 0.5;
        let (y0, x0) = (y.floor(), x.floor());
        let (fy, fx) = (y - y0, x - x0);
        let (y0, x0) = (y0 as isize, x0 as isize);
        let v = at(y0, x0) * (1.0 - fy) * (1.0 - fx) + at(y0, x0 + 1) * (1.0 - fy) * fx + at(y0 + 1, x0) * fy * (1.0 - fx) + at(y0 + 1, x0 + 1) * fy * fx;
        *m = v > 0.5;
    }
    let mut skeleton = thin(&mask, out_w, out_h);
    if !skeleton.iter().any(|&s| s) {
        // A faint drawing: every scaled pixel that carries any ink is the stroke's centre.
        skeleton = mask;
        if !skeleton.iter().any(|&s| s) {
            return None;
        }
    }
    // The pen: a disc of diameter PEN, its edge anti-aliased over a pixel, stamped on every
    // skeleton pixel; the drawing placed at random where it fits.
    let (r0, c0) = (rng.uniform(0.0, (PAD - out_h) as f32 + 0.999) as usize, rng.uniform(0.0, (PAD - out_w) as f32 + 0.999) as usize);
    let mut pad = vec![0f32; PAD * PAD];
    let radius = PEN / 2.0;
    let reach = radius.ceil() as isize + 1;
    for (i, _) in skeleton.iter().enumerate().filter(|(_, s)| **s) {
        let (sr, sc) = ((r0 + i / out_w) as isize, (c0 + i % out_w) as isize);
        for dr in -reach..=reach {
            for dc in -reach..=reach {
                let (r, c) = (sr + dr, sc + dc);
                if r < 0 || c < 0 || r >= PAD as isize || c >= PAD as isize {
                    continue;
                }
                let ink = (radius + 0.5 - ((dr * dr + dc * dc) as f32).sqrt()).clamp(0.0, 1.0);
                let p = &mut pad[r as usize * PAD + c as usize];
                *p = p.max(ink);
            }
        }
    }
    preprocess(&Ink { width: PAD, height: PAD, pixels: &pad })
}

/// Zhang and Suen's thinning (1984): ink pixels peeled from the outside in, two half-passes
/// at a time, until every stroke is one pixel wide and no connection has been cut.
fn thin(mask: &[bool], width: usize, height: usize) -> Vec<bool> {
    let mut ink = mask.to_vec();
    let get = |ink: &[bool], r: isize, c: isize| r >= 0 && c >= 0 && (r as usize) < height && (c as usize) < width && ink[r as usize * width + c as usize];
    loop {
        let mut changed = false;
        for pass in 0..2 {
            let mut remove = Vec::new();
            for r in 0..height as isize {
                for c in 0..width as isize {
                    if !get(&ink, r, c) {
                        continue;
                    }
                    // The eight neighbours clockwise from north: P2..P9.
                    let p = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)].map(|(dr, dc)| get(&ink, r + dr, c + dc));
                    let neighbours = p.iter().filter(|&&b| b).count();
                    let transitions = (0..8).filter(|&k| !p[k] && p[(k + 1) % 8]).count();
                    let (p2, p4, p6, p8) = (p[0], p[2], p[4], p[6]);
                    let open = if pass == 0 { !(p2 && p4 && p6) && !(p4 && p6 && p8) } else { !(p2 && p4 && p8) && !(p2 && p6 && p8) };
                    if (2..=6).contains(&neighbours) && transitions == 1 && open {
                        remove.push(r as usize * width + c as usize);
                    }
                }
            }
            changed |= !remove.is_empty();
            for i in remove {
                ink[i] = false;
            }
        }
        if !changed {
            return ink;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ink's width across a vertical bar at the image's middle row.
    fn width_at_middle(image: &[f32]) -> f32 {
        image[14 * IMAGE_SIDE..][..IMAGE_SIDE].iter().sum()
    }

    #[test]
    fn a_thick_bar_and_a_thin_one_come_back_equally_thick() {
        // Two vertical bars, 5 and 1 pixels wide: the pen, not the source, sets the width.
        let bar = |width: usize| -> Vec<f32> { (0..IMAGE_PIXELS).map(|i| if (4..24).contains(&(i / IMAGE_SIDE)) && (12..12 + width).contains(&(i % IMAGE_SIDE)) { 1.0 } else { 0.0 }).collect() };
        let mut rng = Rng::new(3);
        for _ in 0..5 {
            let (thick, thin) = (redraw(&bar(5), &mut rng).unwrap(), redraw(&bar(1), &mut rng).unwrap());
            // Scaled to MNIST's 20-pixel box, a bar's pen is 20 x 11 / its drawn length,
            // 2-5 pixels wide here, whichever bar it was.
            for image in [&thick, &thin] {
                let w = width_at_middle(image);
                assert!((1.5..6.5).contains(&w), "{w}");
            }
        }
    }

    #[test]
    fn a_blank_image_is_none_and_a_digit_stays_whole() {
        let mut rng = Rng::new(1);
        assert!(redraw(&vec![0.0; IMAGE_PIXELS], &mut rng).is_none());
        // A ring (a 0): thinning keeps it closed, so its middle stays empty.
        let ring: Vec<f32> = (0..IMAGE_PIXELS)
            .map(|i| {
                let (r, c) = ((i / IMAGE_SIDE) as f32 - 13.5, (i % IMAGE_SIDE) as f32 - 13.5);
                let d = (r * r / 100.0 + c * c / 64.0).sqrt();
                if (0.8..1.0).contains(&d) { 1.0 } else { 0.0 }
            })
            .collect();
        let out = redraw(&ring, &mut rng).unwrap();
        assert!(out[14 * IMAGE_SIDE + 14] < 0.1, "the ring's middle filled in");
        assert!(out.iter().filter(|&&v| v > 0.5).count() > 40);
    }
}
