//! What a run tells its observer: progress every few steps, a full report every epoch.
//! Plain data (serde), so the worker can post it to the page unchanged.

use serde::{Deserialize, Serialize};

use super::config::Selection;
use crate::model::CLASSES;

/// Training progress over the last few steps (one device read's worth).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// 0-based.
    pub epoch: usize,
    pub epochs: usize,
    /// Steps done in this epoch, 1-based.
    pub step: usize,
    pub steps_per_epoch: usize,
    pub lr: f64,
    /// Mean training loss and accuracy over the steps since the previous report.
    pub loss: f32,
    pub accuracy: f32,
    pub images_per_sec: f32,
    /// Milliseconds per step over the same steps.
    pub ms_per_step: f32,
    /// Milliseconds since the run started, pauses excluded.
    pub elapsed_ms: f64,
    /// Set in every report of an epoch that was started again easing into its rate.
    #[serde(default)]
    pub eased: Option<Eased>,
}

impl StepReport {
    /// Position in the run, in epochs (the charts' x axis).
    pub fn epoch_position(&self) -> f64 {
        self.epoch as f64 + self.step as f64 / self.steps_per_epoch.max(1) as f64
    }
}

/// A 10x10 confusion matrix: `counts[true][predicted]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    pub counts: [[u32; CLASSES]; CLASSES],
}

impl Confusion {
    pub fn from_predictions(labels: &[u8], predictions: &[u8]) -> Self {
        let mut counts = [[0; CLASSES]; CLASSES];
        for (&l, &p) in labels.iter().zip(predictions) {
            counts[l as usize][p as usize] += 1;
        }
        Self { counts }
    }

    /// Fraction of each digit's test images read correctly (NaN-free: 0 for an absent digit).
    pub fn per_class_accuracy(&self) -> [f32; CLASSES] {
        std::array::from_fn(|c| {
            let total: u32 = self.counts[c].iter().sum();
            if total == 0 { 0.0 } else { self.counts[c][c] as f32 / total as f32 }
        })
    }

    pub fn accuracy(&self) -> f32 {
        let total: u32 = self.counts.iter().flatten().sum();
        let right: u32 = (0..CLASSES).map(|c| self.counts[c][c]).sum();
        if total == 0 { 0.0 } else { right as f32 / total as f32 }
    }
}

/// A held-out digit the network got wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Misclassified {
    /// Index in the held-out split.
    pub index: u32,
    pub label: u8,
    pub predicted: u8,
    #[serde(with = "serde_bytes")]
    pub pixels: Vec<u8>,
}

/// One epoch, as the notebook's log prints it, plus what the studio shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// 0-based.
    pub epoch: usize,
    pub lr: f64,
    pub train_loss: f32,
    pub train_accuracy: f32,
    /// What `held_out_*`, the confusion matrix and the mistakes are measured on.
    pub evaluated_on: Selection,
    pub held_out_loss: f32,
    pub held_out_accuracy: f32,
    /// This epoch's test accuracy, measured only when the epoch is the best so far (with
    /// validation choosing; with the test set choosing it is `held_out_accuracy`).
    pub test_accuracy: Option<f32>,
    /// The temperature fitted on the held-out images' logits ([`super::calibrate`]).
    pub temperature: f32,
    /// Wall time of the epoch, evaluation included.
    pub seconds: f64,
    pub confusion: Confusion,
    pub misclassified: Vec<Misclassified>,
    /// The best epoch so far (this one if it improved on every earlier one).
    pub best_epoch: usize,
    /// Set when this epoch was started again easing into its rate.
    #[serde(default)]
    pub eased: Option<Eased>,
}

/// An epoch that raised the learning rate went dead at the full rate (its loss reached
/// [`super::loss::DEAD_LOSS`]), and was started again from the weights it began with, the
/// same shuffle and augmentation, with the rate rising linearly from the previous epoch's to
/// its own over its first steps. Plain SGD that has settled at one rate can be knocked far
/// off by a sudden tenfold rise (the notebook's jump from 0.01 to 0.1 sends the loss above
/// chance at every seed tried, and at one seed in the browser into the clipped dead zone:
/// `results/browser/lr-jump-seeds.txt`); a gradual rise lets it adapt. A run that never goes
/// dead is untouched, so it is the recipe exactly.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Eased {
    /// The first attempt's report that was dead: its last step (1-based) and mean loss.
    pub dead_step: usize,
    pub dead_loss: f32,
    /// The rate rises from the previous epoch's (`from_lr`) to the epoch's own (`to_lr`)
    /// over its first `over_steps` steps.
    pub from_lr: f64,
    pub to_lr: f64,
    pub over_steps: usize,
}

impl Eased {
    /// The steps an epoch eases over: a quarter of it (215 of the notebook's 860 steps).
    pub fn steps_for(steps_per_epoch: usize) -> usize {
        (steps_per_epoch / 4).max(1)
    }

    /// The rate of 0-based `step` of the eased epoch.
    pub fn lr_at(&self, step: usize) -> f64 {
        match step + 1 < self.over_steps {
            true => self.from_lr + (self.to_lr - self.from_lr) * (step + 1) as f64 / self.over_steps as f64,
            false => self.to_lr,
        }
    }

    /// The rate over the eased epoch `epoch` as (epoch position, rate) points for a chart:
    /// the ramp sampled at no more than 17 of its steps (a straight line between two points
    /// would bend on the chart's log axis), then the epoch's own rate to its end. A step is
    /// placed where it starts.
    pub fn rate_curve(&self, epoch: usize, steps_per_epoch: usize) -> Vec<(f64, f64)> {
        let per_epoch = steps_per_epoch.max(1) as f64;
        let last = self.over_steps.saturating_sub(1);
        let samples = last.clamp(1, 16);
        let mut points: Vec<(f64, f64)> = (0..=samples)
            .map(|k| k * last / samples)
            .map(|step| (epoch as f64 + step as f64 / per_epoch, self.lr_at(step)))
            .collect();
        points.push(((epoch + 1) as f64, self.to_lr));
        points
    }

    /// One sentence for the page and the log.
    pub fn describe(&self, epoch: usize) -> String {
        let Self { dead_step, dead_loss, from_lr, to_lr, over_steps } = self;
        let (from_lr, to_lr) = (crate::format::lr(*from_lr), crate::format::lr(*to_lr));
        format!(
            "Epoch {} started again: at learning rate {to_lr} the loss went dead ({dead_loss:.1} at step {dead_step}), so the rate now rises from {from_lr} to {to_lr} over the epoch's first {over_steps} steps.",
            epoch + 1,
        )
    }
}

/// Drops the trailing `points` at or past `position`: an epoch started again ([`Eased`])
/// reports its steps anew, and they replace the first attempt's wherever progress is kept.
pub fn drop_from<T, P: PartialOrd>(points: &mut Vec<T>, position: P, position_of: impl Fn(&T) -> P) {
    while points.last().is_some_and(|p| position_of(p) >= position) {
        points.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_counts_true_against_predicted() {
        let c = Confusion::from_predictions(&[0, 0, 1, 2, 2, 2], &[0, 1, 1, 2, 2, 0]);
        assert_eq!(c.counts[0][1], 1);
        assert_eq!(c.counts[2][0], 1);
        assert_eq!(c.per_class_accuracy()[..3], [0.5, 1.0, 2.0 / 3.0]);
        assert!((c.accuracy() - 4.0 / 6.0).abs() < 1e-6);
        assert_eq!(c.per_class_accuracy()[9], 0.0);
    }

    #[test]
    fn an_eased_epoch_rises_linearly_to_its_rate_and_stays_there() {
        let eased = Eased { dead_step: 25, dead_loss: 13.2, from_lr: 0.01, to_lr: 0.1, over_steps: Eased::steps_for(860) };
        assert_eq!(eased.over_steps, 215);
        let lrs: Vec<f64> = [0, 106, 214, 215, 859].iter().map(|&s| eased.lr_at(s)).collect();
        assert!((lrs[0] - (0.01 + 0.09 / 215.0)).abs() < 1e-12, "{lrs:?}");
        assert!(lrs[1] > 0.05 && lrs[1] < 0.06, "{lrs:?}");
        assert_eq!(&lrs[2..], [0.1, 0.1, 0.1]);
        assert_eq!(Eased::steps_for(3), 1);
        assert!(eased.describe(1).contains("rises from 0.01 to 0.1 over the epoch's first 215 steps"), "{}", eased.describe(1));
    }

    #[test]
    fn an_eased_epochs_rate_curve_follows_the_rates_its_steps_took() {
        let eased = Eased { dead_step: 25, dead_loss: 13.2, from_lr: 0.01, to_lr: 0.1, over_steps: Eased::steps_for(860) };
        let curve = eased.rate_curve(1, 860);
        assert_eq!(curve.len(), 18);
        assert_eq!(curve[0], (1.0, eased.lr_at(0)));
        // Every point is a step's own rate at that step's start, rising, until the ramp's
        // last step reaches the epoch's rate, which holds to the epoch's end.
        for &(x, lr) in &curve[..17] {
            let step = ((x - 1.0) * 860.0).round() as usize;
            assert!((lr - eased.lr_at(step)).abs() < 1e-12, "{curve:?}");
        }
        assert!(curve.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1), "{curve:?}");
        assert_eq!(curve[16], (1.0 + 214.0 / 860.0, 0.1));
        assert_eq!(curve[17], (2.0, 0.1));
        // A ramp of one step is the epoch's rate at once.
        let short = Eased { over_steps: 1, ..eased }.rate_curve(0, 3);
        assert_eq!(short, [(0.0, 0.1), (0.0, 0.1), (1.0, 0.1)]);
    }
}
