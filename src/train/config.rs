//! Everything a run needs to be reproduced.

use burn::prelude::*;

use super::schedule::Schedule;
use crate::model::NetworkKind;

#[derive(Config, Debug, PartialEq)]
pub struct TrainConfig {
    pub network: NetworkKind,
    pub schedule: Schedule,
    /// Random affine augmentation of every training image, drawn afresh each epoch.
    pub augment: bool,
    #[config(default = 64)]
    pub batch_size: usize,
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
    /// Evaluate on the first this-many test images only.
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
