//! Everything a run needs to be reproduced.

use serde::{Deserialize, Serialize};

use super::schedule::Schedule;
use crate::data::strokes::StrokeRanges;
use crate::model::NetworkKind;

/// A plain struct, not burn's `#[derive(Config)]` as the networks' configs are: the page
/// builds and shows it, and the page's wasm is built without burn (Cargo.toml, `engine`).
/// `new` and the `with_` setters are what that derive would write, and the serde form is the
/// same field by field, so runs kept before this change read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub network: NetworkKind,
    pub schedule: Schedule,
    /// Random affine augmentation of every training image, drawn afresh each epoch.
    pub augment: bool,
    /// With `augment`, also bend the strokes and change the pen's width, as drawings on a
    /// screen differ from MNIST's (the default network's recipe; none of the notebook's).
    /// An `Option` so that runs kept before it existed still read back (a missing field is
    /// `None` to serde). Default `None`.
    pub strokes: Option<StrokeRanges>,
    /// Default 64.
    pub batch_size: usize,
    /// What chooses the best epoch and fits the confidence's temperature. Default
    /// [`Selection::Validation`].
    pub selection: Selection,
    /// Seeds initialisation, dropout, shuffling and augmentation. Default 42.
    pub seed: u64,
    /// Read loss and accuracy back from the device every this many steps. Each read is a
    /// synchronisation point, so not every step. Default 25.
    pub report_every: usize,
    /// Train on the first this-many training images only (quick runs, browser tests).
    pub train_limit: Option<usize>,
    /// Evaluate on the first this-many test images (and held-out validation images) only.
    pub test_limit: Option<usize>,
    /// Images per forward pass during evaluation (no gradients, so larger than training's).
    /// Default 500.
    pub eval_batch: usize,
    /// How many misclassified test digits each epoch report carries. Default 48.
    pub gallery_size: usize,
}

/// `with_<field>` for each field with a default, as burn's `Config` derive writes them.
impl TrainConfig {
    pub fn with_strokes(mut self, strokes: Option<StrokeRanges>) -> Self {
        self.strokes = strokes;
        self
    }

    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    pub fn with_selection(mut self, selection: Selection) -> Self {
        self.selection = selection;
        self
    }

    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub fn with_report_every(mut self, report_every: usize) -> Self {
        self.report_every = report_every;
        self
    }

    pub fn with_train_limit(mut self, train_limit: Option<usize>) -> Self {
        self.train_limit = train_limit;
        self
    }

    pub fn with_test_limit(mut self, test_limit: Option<usize>) -> Self {
        self.test_limit = test_limit;
        self
    }

    pub fn with_eval_batch(mut self, eval_batch: usize) -> Self {
        self.eval_batch = eval_batch;
        self
    }

    pub fn with_gallery_size(mut self, gallery_size: usize) -> Self {
        self.gallery_size = gallery_size;
        self
    }
}

impl TrainConfig {
    pub fn new(network: NetworkKind, schedule: Schedule, augment: bool) -> Self {
        Self {
            network,
            schedule,
            augment,
            strokes: None,
            batch_size: 64,
            selection: Selection::Validation,
            seed: 42,
            report_every: 25,
            train_limit: None,
            test_limit: None,
            eval_batch: 500,
            gallery_size: 48,
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Phase;

    /// A kept run's settings as burn's `#[derive(Config)]` wrote them (field by field, in
    /// declaration order), which IndexedDB still holds: the plain struct must read and write
    /// the very same JSON, and read runs kept before `strokes` existed.
    #[test]
    fn the_serde_form_is_the_one_kept_runs_were_written_in() {
        let kept = r#"{"network":"VggBnDropout","schedule":{"phases":[{"epochs":1,"lr":0.01},{"epochs":5,"lr":0.1}]},"augment":true,"strokes":{"elastic_px":2.0,"thicker":1.0,"thinner":0.6},"batch_size":64,"selection":"Validation","seed":42,"report_every":25,"train_limit":null,"test_limit":null,"eval_batch":500,"gallery_size":48}"#;
        let schedule = Schedule { phases: vec![Phase { epochs: 1, lr: 0.01 }, Phase { epochs: 5, lr: 0.1 }] };
        let strokes = StrokeRanges { elastic_px: 2.0, thicker: 1.0, thinner: 0.6 };
        let config = TrainConfig::new(NetworkKind::VggBnDropout, schedule, true).with_strokes(Some(strokes));
        assert_eq!(serde_json::from_str::<TrainConfig>(kept).unwrap(), config);
        assert_eq!(serde_json::to_string(&config).unwrap(), kept);

        let before_strokes = kept.replace(r#""strokes":{"elastic_px":2.0,"thicker":1.0,"thinner":0.6},"#, "");
        assert_eq!(serde_json::from_str::<TrainConfig>(&before_strokes).unwrap(), config.with_strokes(None));
    }
}
