//! The ReLU fused into our CPU layers and its gradient, on every thread.
//!
//! Why: burn's `relu_backward` and the forward's loop ran on one thread while the others
//! waited (in the threaded browser worker, `tests/e2e/profile-cpu.mjs`: with the bias
//! gradient, most of the step's serial part outside the products).
//!
//! Element-wise, split into fixed parts: the result does not depend on the thread count.

use super::parallel;

/// Values per part of the parallel work.
const PART: usize = 1 << 14;

/// `max(v, 0)` for each value, a NaN becoming 0 as with `f32::max`.
pub fn in_place(values: &mut [f32]) {
    if values.is_empty() {
        return;
    }
    parallel::for_each_chunk(values, PART, || (), |_, _, part| {
        // `v > 0` is false for a NaN: as `v.max(0.0)`, and one comparison the compiler keeps in
        // SIMD lanes.
        part.iter_mut().for_each(|v| *v = if *v > 0.0 { *v } else { 0.0 });
    });
}

/// `dy` where the ReLU's output `y` is positive, zero elsewhere (burn's `relu_backward`).
pub fn grad(y: &[f32], dy: &[f32]) -> Vec<f32> {
    let mut out = dy.to_vec();
    grad_in_place(y, &mut out);
    out
}

/// [`grad`] in `dy`'s own buffer: no copy, which would be a serial pass over it.
pub fn grad_in_place(y: &[f32], dy: &mut [f32]) {
    assert_eq!(y.len(), dy.len(), "the gradient's size differs from the output's");
    if dy.is_empty() {
        return;
    }
    parallel::for_each_chunk(dy, PART, || (), |_, part, out| {
        for (g, &y) in out.iter_mut().zip(&y[part * PART..]) {
            *g = if y > 0.0 { *g } else { 0.0 };
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu_and_its_gradient_over_several_parts() {
        let n = 3 * PART + 17;
        let y: Vec<f32> = (0..n).map(|i| ((i * 31) % 7) as f32 - 3.0).collect();
        let dy: Vec<f32> = (0..n).map(|i| i as f32 * 0.25 + 1.0).collect();
        let mut r = y.clone();
        r[5] = f32::NAN;
        in_place(&mut r);
        let want: Vec<f32> = y.iter().enumerate().map(|(i, &v)| if i == 5 { 0.0 } else { v.max(0.0) }).collect();
        assert_eq!(r, want);
        let got = grad(&y, &dy);
        let want: Vec<f32> = y.iter().zip(&dy).map(|(&y, &g)| if y > 0.0 { g } else { 0.0 }).collect();
        assert_eq!(got, want);
        assert!(grad(&[], &[]).is_empty());
    }
}
