//! Everything a run needs to be reproduced.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::schedule::Schedule;
use crate::data::strokes::StrokeRanges;
use crate::model::NetworkKind;

#[derive(Config, Debug, PartialEq)]
pub struct TrainConfig {
    pub network: NetworkKind,
    pub schedule: Schedule,
    /// Random affine augmentation of every training image, drawn afresh each epoch.
    pub augment: bool,
    /// With `augment`, also bend the strokes and change the pen's width, as drawings on a
    /// screen differ from MNIST's (the default network's recipe; none of the notebook's).
    /// An `Option` so that runs kept before it existed still read back (a missing field is
    /// `None` to serde).
    #[config(default = "None")]
    pub strokes: Option<StrokeRanges>,
    #[config(default = 64)]
    pub batch_size: usize,
    /// What chooses the best epoch and fits the confidence's temperature.
    #[config(default = "Selection::Validation")]
    pub selection: Selection,
    /// Seeds initialisation, dropout, shuffling and augmentation.
    #[config(default = 42)]
    pub seed: u64,
    /// Read loss and accuracy back from the device every this many steps. Each read is a
    /// synchronisation point, so not every step.
    #[config(default = 25)]
    pub report_every: usize,
    /// Train on the first this-many training images only (quick runs, browser tests).
    #[config(default = "None")]
    pub train_limit: Option<usize>,
    /// Evaluate on the first this-many test images (and held-out validation images) only.
    #[config(default = "None")]
    pub test_limit: Option<usize>,
    /// Images per forward pass during evaluation (no gradients, so larger than training's).
    #[config(default = 500)]
    pub eval_batch: usize,
    /// How many misclassified test digits each epoch report carries.
    #[config(default = 48)]
    pub gallery_size: usize,
}

impl TrainConfig {
    /// The notebook's recipe for `network`: its schedule, batch 64, augmentation for the
    /// augmented variant only.
    pub fn notebook(network: NetworkKind) -> Self {
        Self::new(network, Schedule::notebook(false), network.augmented())
    }

    /// The stroke augmentation's ranges when it applies: only on top of the affine one, so a
    /// config with `strokes` but not `augment` trains (and replays) without either.
    pub fn strokes_in_use(&self) -> Option<StrokeRanges> {
        self.strokes.filter(|_| self.augment)
    }

    /// Check what a user can get wrong before any work starts.
    pub fn validate(&self) -> Result<(), String> {
        self.schedule.validate()?;
        if !(1..=4096).contains(&self.batch_size) {
            return Err(format!("batch size {} is outside 1-4096", self.batch_size));
        }
        if self.report_every == 0 || self.eval_batch == 0 {
            return Err("report_every and eval_batch must be positive".into());
        }
        Ok(())
    }
}

/// What each epoch is evaluated on, and so what chooses the best epoch and fits the
/// temperature that calibrates its confidence ([`super::calibrate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Selection {
    /// The last twelfth of the training file (5,000 of MNIST's 60,000 images) is held out:
    /// never trained on, it chooses; the test set is evaluated only for the epoch chosen so
    /// far, so its figure is an honest estimate.
    #[default]
    Validation,
    /// The test set chooses, as the notebook did (every image trains): the notebook's table
    /// reproduces, but the chosen epoch's test figure is optimistic.
    TestSet,
}

impl Selection {
    /// How many of `train_images` (the whole training file) are held out.
    pub fn held_out(self, train_images: usize) -> usize {
        match self {
            Self::Validation => train_images / 12,
            Self::TestSet => 0,
        }
    }

    /// What the held-out images are called on the page and in logs, and the value of
    /// `choose=` in a link and of `train --choose-on`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Validation => "validation",
            Self::TestSet => "test",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Validation, Self::TestSet].into_iter().find(|s| s.name() == name)
    }
}
