#![allow(dead_code)] // The app's modules, of which only the kernels are timed.
//! The app's own kernel sources, included by path, timed one layer and direction at a time.

// At the crate root, as siblings, so that their `super::` paths resolve as in the app.
#[path = "../../../src/kernels/conv.rs"]
mod conv;
#[path = "../../../src/kernels/parallel.rs"]
mod parallel;
#[path = "../../../src/kernels/winograd.rs"]
mod winograd;

mod kernels {
    use super::{conv, winograd};
    use conv::Dims;

    unsafe extern "C" {
        /// `performance.now()`, in ms.
        fn now() -> f64;
    }

    /// Milliseconds per call of layer `layer` (the VGG-like network's second, third and fourth
    /// convolutions at batch 64), path `path` (0 columns, 1 Winograd), direction `dir` (0
    /// forward, 1 input gradient, 2 weight gradient), averaged over `reps` calls.
    pub fn bench(layer: u32, path: u32, dir: u32, reps: u32) -> f64 {
        let (c_in, h, c_out) = match layer {
            0 => (32, 26, 32),
            1 => (32, 12, 64),
            _ => (64, 10, 64),
        };
        let d = Dims { batch: 64, c_in, height: h, width: h, c_out, k_height: 3, k_width: 3 };
        let values = |n: usize| (0..n).map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0).collect::<Vec<f32>>();
        let (x, w, g) = (values(d.input_len()), values(d.weight_len()), values(d.output_len()));
        let start = unsafe { now() };
        for _ in 0..reps {
            let r = match (path, dir) {
                (0, 0) => conv::forward_by_columns(&x, &w, None, d),
                (_, 0) => winograd::forward(&x, &w, None, d),
                (0, 1) => conv::backward_input_by_columns(&w, &g, d),
                (_, 1) => winograd::backward_input(&w, &g, d),
                (0, _) => conv::backward_weight_by_columns(&x, &g, d),
                _ => winograd::backward_weight(&x, &g, d),
            };
            std::hint::black_box(r);
        }
        (unsafe { now() } - start) / reps as f64
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn bench(layer: u32, path: u32, dir: u32, reps: u32) -> f64 {
    kernels::bench(layer, path, dir, reps)
}
