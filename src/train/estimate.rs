//! How long a run will take, before it starts, from one measured figure: ms per training
//! step at batch 64 on the backend in use ([`super::bench`]).
//!
//! A step's cost is taken as proportional to its images (true once a batch fills the device;
//! an estimate, said as one on the page). Evaluation after each epoch is a forward pass over
//! the held-out images, plus the test images when the epoch is a new best (counted every
//! epoch here: early epochs usually are): about a third of a training step's cost per image
//! (forward only, no backward, no update).

use super::TrainConfig;

/// The batch size the measurement is made at.
pub const MEASURED_BATCH: usize = 64;
/// Training sets that take longer than this are offered as a subset first.
pub const FEW_MINUTES: f64 = 5.0 * 60.0;

/// Seconds `config` will take on `train_images` and `test_images` (before its limits), if a
/// training step of `MEASURED_BATCH` images takes `ms_per_step`.
pub fn run_seconds(config: &TrainConfig, train_images: usize, test_images: usize, ms_per_step: f64) -> f64 {
    let limit = |n: usize| config.test_limit.map_or(n, |l| l.min(n));
    let held_out = config.selection.held_out(train_images);
    let pool = train_images - held_out;
    let train = config.train_limit.map_or(pool, |l| l.min(pool));
    let test = limit(held_out) + limit(test_images);
    let ms_per_image = ms_per_step / MEASURED_BATCH as f64;
    let steps = train.div_ceil(config.batch_size.max(1));
    let epoch_ms = steps as f64 * config.batch_size as f64 * ms_per_image + test as f64 * ms_per_image / 3.0;
    config.schedule.epochs() as f64 * epoch_ms / 1000.0
}

/// What an epoch of a run under way takes, from the seconds its finished epochs took: their
/// median, leaving out the first where others have finished (it carries the kernels' first
/// compile, seconds on a GPU, which no later epoch pays), so neither that nor an epoch started
/// again easing in (`Eased`, twice the work) stretches the time left for the whole run.
pub fn epoch_seconds(finished: &[f64]) -> Option<f64> {
    let mut seconds: Vec<f64> = finished.iter().skip(usize::from(finished.len() > 1)).copied().filter(|s| s.is_finite()).collect();
    if seconds.is_empty() {
        return None;
    }
    seconds.sort_by(f64::total_cmp);
    let middle = seconds.len() / 2;
    Some(if seconds.len() % 2 == 1 { seconds[middle] } else { (seconds[middle - 1] + seconds[middle]) / 2.0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NetworkKind;
    use crate::train::{Schedule, Selection};

    #[test]
    fn an_epoch_under_way_is_expected_to_take_what_the_typical_finished_one_took() {
        assert_eq!(epoch_seconds(&[]), None);
        assert_eq!(epoch_seconds(&[30.0]), Some(30.0));
        // The first epoch's compile is left out once another has finished.
        assert_eq!(epoch_seconds(&[90.0, 20.0]), Some(20.0));
        assert_eq!(epoch_seconds(&[90.0, 20.0, 22.0]), Some(21.0));
        // An eased epoch (about twice the work) does not move the median.
        assert_eq!(epoch_seconds(&[90.0, 20.0, 41.0, 21.0]), Some(21.0));
        assert_eq!(epoch_seconds(&[90.0, f64::NAN]), None);
    }

    #[test]
    fn a_run_costs_its_steps_and_its_evaluations() {
        let config = TrainConfig::new(NetworkKind::Linear, Schedule::constant(2, 0.1), false).with_selection(Selection::TestSet);
        // 938 steps of 64 at 6.4 ms, plus 10,000 test images at a third of 0.1 ms, twice.
        let seconds = run_seconds(&config, 60_000, 10_000, 6.4);
        assert!((seconds - 2.0 * (938.0 * 6.4 + 10_000.0 * 0.1 / 3.0) / 1000.0).abs() < 1e-9, "{seconds}");
        let subset = config.clone().with_train_limit(Some(2_000)).with_test_limit(Some(400));
        assert!(run_seconds(&subset, 60_000, 10_000, 6.4) < seconds / 20.0);
        // Twice the batch, half the steps: the same images, the same time.
        let big = config.clone().with_batch_size(128);
        assert!((run_seconds(&big, 60_000, 10_000, 6.4) - seconds).abs() < 0.1);
        // Validation choosing: 55,000 images train (860 steps), 5,000 + 10,000 are evaluated.
        let held = config.with_selection(Selection::Validation);
        let expected = 2.0 * (860.0 * 6.4 + 15_000.0 * 0.1 / 3.0) / 1000.0;
        assert!((run_seconds(&held, 60_000, 10_000, 6.4) - expected).abs() < 1e-9);
    }
}
