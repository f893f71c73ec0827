//! Helpers for native unit tests: a CPU device and small fixtures.

use burn::prelude::*;

/// burn's CPU backend (flex), the one native tests run on.
pub fn cpu() -> Device {
    Device::flex()
}

/// A tensor's values as f32, whatever the backend's float type.
pub fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().expect("converted data should be f32")
}

/// A tensor's values as i64, whatever the backend's int type.
pub fn ints<const D: usize>(t: Tensor<D, Int>) -> Vec<i64> {
    t.into_data().convert::<i64>().try_to_vec::<i64>().expect("converted data should be i64")
}

use crate::data::{Mnist, Split, IMAGE_PIXELS};
use crate::model::Network;
use crate::rng::Rng;
use crate::train::{EpochReport, Flow, Observer, StepReport};

/// A learnable toy dataset: digit `d` is a noisy bright square at a position of its own.
pub fn toy_mnist(n_train: usize, n_test: usize, seed: u64) -> Mnist {
    let mut rng = Rng::new(seed);
    let mut split = |n: usize| {
        let labels: Vec<u8> = (0..n).map(|_| rng.below(10) as u8).collect();
        let mut images = vec![0u8; n * IMAGE_PIXELS];
        for (i, &l) in labels.iter().enumerate() {
            let (r0, c0) = (4 + (l as usize / 5) * 10, 2 + (l as usize % 5) * 5);
            for r in r0..r0 + 6 {
                for c in c0..c0 + 4 {
                    images[i * IMAGE_PIXELS + r * 28 + c] = 150 + rng.below(100) as u8;
                }
            }
        }
        Split::from_parts(images, labels)
    };
    let train = split(n_train);
    let test = split(n_test);
    Mnist::new(train, test)
}

/// An observer that records everything and can stop the run after a number of steps.
#[derive(Default)]
pub struct Recorder {
    pub steps: Vec<StepReport>,
    pub epochs: Vec<EpochReport>,
    pub calls: usize,
    pub stop_after: Option<usize>,
    /// At this call of `between_steps`, wait this long (as a pause would).
    pub pause: Option<(usize, std::time::Duration)>,
    /// What the last call waited paused.
    pub paused: f64,
}

impl Observer for Recorder {
    fn on_step(&mut self, report: &StepReport) {
        self.steps.push(report.clone());
    }

    fn on_epoch(&mut self, report: &EpochReport, _model: &Network) {
        self.epochs.push(report.clone());
    }

    fn paused_ms(&self) -> f64 {
        self.paused
    }

    async fn between_steps(&mut self) -> Flow {
        self.calls += 1;
        self.paused = 0.0;
        if let Some((_, wait)) = self.pause.filter(|(at, _)| *at == self.calls) {
            std::thread::sleep(wait);
            self.paused = wait.as_secs_f64() * 1000.0;
        }
        if self.stop_after.is_some_and(|n| self.calls >= n) { Flow::Stop } else { Flow::Continue }
    }
}
