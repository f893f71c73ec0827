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
}
