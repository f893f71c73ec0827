//! Runs kept and compared: what the browser keeps of every finished, stopped or diverged run
//! (its settings, its per-epoch log and its training curve), so the user can list them,
//! overlay two, and read with any one's weights.
//!
//! Pure data and decisions, no tensors and no web APIs, so it is tested natively: the worker
//! records a run with [`Recorder`] and stores the [`KeptRun`] (`worker/run_log.rs`); the page
//! shows them (`ui/components/runs_panel.rs`). A kept run's curve is downsampled
//! ([`downsample`]) so that twenty kept runs stay a few hundred kilobytes of IndexedDB
//! whatever their length; its weights (up to 2.4 MB for a VGG-like network) are stored beside
//! it, never in it, so the list the page receives stays small.

use serde::{Deserialize, Serialize};

use crate::train::report::drop_from;
use crate::train::{EpochReport, RunEnd, StepReport, TrainConfig};

/// Runs kept at most: with their weights about 50 MB for twenty VGG-like runs, well within
/// what browsers grant an origin, and more than a table can usefully compare.
pub const MAX_KEPT: usize = 20;
/// Points of a kept training curve at most: more than a chart 560 units wide can show.
pub const CURVE_POINTS: usize = 400;

/// A point of the training curve: the mean loss and accuracy of the steps around `position`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// In epochs from the start of the schedule, as the live charts' x axis.
    pub position: f32,
    pub loss: f32,
    pub accuracy: f32,
}

/// How a kept run ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Ending {
    Ended(RunEnd),
    /// It failed after at least one epoch (a lost GPU, say): why, as the page said it.
    Failed(String),
}

impl Ending {
    /// A few words for the runs table.
    pub fn short(&self) -> String {
        match self {
            Self::Ended(RunEnd::Completed) => "completed".into(),
            Self::Ended(RunEnd::Stopped { epoch, .. }) => format!("stopped in epoch {}", epoch + 1),
            Self::Ended(RunEnd::Diverged { epoch, .. }) => format!("diverged in epoch {}", epoch + 1),
            Self::Failed(_) => "failed".into(),
        }
    }
}

/// A run as the browser keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptRun {
    /// The run's id (the one its Web Lock is named after, `worker::keeping`).
    pub id: String,
    /// Shown as "#3": one more than the highest number kept when it was written.
    pub number: u32,
    /// When it started, in milliseconds since the Unix epoch.
    pub started: f64,
    /// Training and evaluation time, pauses excluded.
    pub seconds: f64,
    pub config: TrainConfig,
    pub ending: Ending,
    pub train_images: usize,
    pub held_out_images: usize,
    pub test_images: usize,
    /// The per-epoch log, without the misclassified digits (which would make a kept run a
    /// hundred times larger).
    pub epochs: Vec<EpochReport>,
    pub curve: Vec<CurvePoint>,
    /// Its best epoch's weights are stored beside it (absent when no epoch finished, or when
    /// they could not be encoded).
    pub has_weights: bool,
}

impl KeptRun {
    /// The epoch the run chose (the best on its held-out images), 0-based, if one finished.
    /// A resumed run may still choose the epoch it resumed from, which is not in its log.
    pub fn best_epoch(&self) -> Option<usize> {
        self.epochs.last().map(|e| e.best_epoch)
    }

    /// The chosen epoch's line of the log, when the run trained that epoch itself.
    pub fn best(&self) -> Option<&EpochReport> {
        let best = self.best_epoch()?;
        self.epochs.iter().find(|e| e.epoch == best)
    }

    /// Epochs finished (counted from the schedule's start, so a resumed run counts the
    /// epochs it continued from).
    pub fn epochs_done(&self) -> usize {
        self.epochs.last().map_or(0, |e| e.epoch + 1)
    }

    /// How the page names it in legends: "#2 Linear, 3 epochs".
    pub fn name(&self) -> String {
        let done = self.epochs_done();
        format!("#{} {}, {done} epoch{}", self.number, self.config.network.title(), if done == 1 { "" } else { "s" })
    }
}

/// Collects a run as it trains; [`Recorder::finish`] makes the [`KeptRun`].
#[derive(Debug, Clone)]
pub struct Recorder {
    run: KeptRun,
    /// Every step report's point; downsampled once, at the end (a full run reports a few
    /// hundred times, a long one a few thousand: nothing to bound while it trains).
    steps: Vec<CurvePoint>,
    /// Milliseconds of training when the last step was reported (pauses excluded).
    elapsed_ms: f64,
}

/// What a run was given, known when it starts.
#[derive(Debug, Clone)]
pub struct Start {
    pub id: String,
    pub started: f64,
    pub config: TrainConfig,
    pub train_images: usize,
    pub held_out_images: usize,
    pub test_images: usize,
}

impl Recorder {
    pub fn new(start: Start) -> Self {
        let run = KeptRun {
            id: start.id,
            number: 0,
            started: start.started,
            seconds: 0.0,
            config: start.config,
            ending: Ending::Ended(RunEnd::Completed),
            train_images: start.train_images,
            held_out_images: start.held_out_images,
            test_images: start.test_images,
            epochs: Vec::new(),
            curve: Vec::new(),
            has_weights: false,
        };
        Self { run, steps: Vec::new(), elapsed_ms: 0.0 }
    }

    pub fn id(&self) -> &str {
        &self.run.id
    }

    pub fn step(&mut self, report: &StepReport) {
        // One from an epoch started again replaces the first attempt's.
        let position = report.epoch_position() as f32;
        drop_from(&mut self.steps, position, |s| s.position);
        self.steps.push(CurvePoint { position, loss: report.loss, accuracy: report.accuracy });
        self.elapsed_ms = report.elapsed_ms;
    }

    pub fn epoch(&mut self, report: &EpochReport) {
        self.run.epochs.push(EpochReport { misclassified: Vec::new(), ..report.clone() });
    }

    /// Whether a run that ended `end` is worth keeping: a run stopped before its first report
    /// has nothing to show, but one that diverged before it (a rate far too high) is itself
    /// the thing to compare, and the table says every diverged run is kept.
    pub fn worth_keeping(&self, end: &RunEnd) -> bool {
        !self.steps.is_empty() || matches!(end, RunEnd::Diverged { .. })
    }

    /// The weights to keep with a failed run, from its latest best epoch `encoded` (that
    /// epoch, its file): only if that is the epoch its log names as chosen. An epoch's file is
    /// encoded after the epoch, so a GPU lost meanwhile can leave the previous best's file
    /// beside a log that names the newer one: such a run is kept without weights rather than
    /// with another epoch's under its name.
    pub fn weights_for<T>(&self, encoded: Option<(usize, T)>) -> Option<T> {
        encoded.filter(|(epoch, _)| self.run.best_epoch() == Some(*epoch)).map(|(_, file)| file)
    }

    /// Whether a failed run is worth keeping: it finished an epoch (before that there is no
    /// log to compare and no network to read with).
    pub fn has_epochs(&self) -> bool {
        !self.run.epochs.is_empty()
    }

    /// The kept run, numbered after those already kept.
    pub fn finish(self, ending: Ending, has_weights: bool, kept: &[KeptRun]) -> KeptRun {
        // Epoch times include evaluation, which step times do not; a run stopped mid-epoch
        // has steps after its last epoch. The larger of the two counts both.
        let epochs: f64 = self.run.epochs.iter().map(|e| e.seconds).sum();
        KeptRun {
            number: next_number(kept),
            seconds: epochs.max(self.elapsed_ms / 1000.0),
            ending,
            curve: downsample(&self.steps, CURVE_POINTS),
            has_weights,
            ..self.run
        }
    }
}

/// One more than the highest number kept (1 for the first run).
pub fn next_number(kept: &[KeptRun]) -> u32 {
    kept.iter().map(|r| r.number).max().unwrap_or(0) + 1
}

/// At most `max` points, in order: consecutive points averaged in buckets of (nearly) equal
/// size, so a noisy curve keeps its shape and loses its noise. Points whose loss or accuracy
/// is not finite (a diverging step) are left out of the averages: they would turn a whole
/// bucket into NaN; the run's ending says it diverged.
pub fn downsample(points: &[CurvePoint], max: usize) -> Vec<CurvePoint> {
    let finite: Vec<CurvePoint> = points.iter().copied().filter(|p| p.loss.is_finite() && p.accuracy.is_finite()).collect();
    if finite.len() <= max {
        return finite;
    }
    let n = finite.len();
    (0..max)
        .map(|b| {
            let bucket = &finite[b * n / max..(b + 1) * n / max];
            let mean = |f: fn(&CurvePoint) -> f32| bucket.iter().map(|p| f(p) as f64).sum::<f64>() / bucket.len() as f64;
            CurvePoint { position: mean(|p| p.position) as f32, loss: mean(|p| p.loss) as f32, accuracy: mean(|p| p.accuracy) as f32 }
        })
        .collect()
}

/// The ids to delete so that at most `max` runs stay, oldest first: the runs that started
/// earliest go, but never `keeping`, the run being kept now (a long run that started before
/// the runs another tab kept meanwhile would otherwise be deleted as it is written).
pub fn to_drop(kept: &[KeptRun], max: usize, keeping: &str) -> Vec<String> {
    let mut by_age: Vec<&KeptRun> = kept.iter().filter(|r| r.id != keeping).collect();
    by_age.sort_by(|a, b| a.started.total_cmp(&b.started));
    by_age.iter().take(kept.len().saturating_sub(max)).map(|r| r.id.clone()).collect()
}

/// Newest first, as the table lists them.
pub fn newest_first(mut kept: Vec<KeptRun>) -> Vec<KeptRun> {
    kept.sort_by(|a, b| b.started.total_cmp(&a.started));
    kept
}

/// The runs chosen for comparison after the user ticks or unticks `id`: at most two, in the
/// order chosen; a third choice replaces the oldest one.
pub fn toggle(chosen: &[String], id: &str) -> Vec<String> {
    if chosen.iter().any(|c| c == id) {
        return chosen.iter().filter(|c| *c != id).cloned().collect();
    }
    let mut next: Vec<String> = chosen.iter().rev().take(1).rev().cloned().collect();
    next.push(id.to_owned());
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NetworkKind;
    use crate::train::{Confusion, Misclassified, Schedule, Selection};

    fn point(position: f32, loss: f32) -> CurvePoint {
        CurvePoint { position, loss, accuracy: 1.0 - loss }
    }

    fn kept(id: &str, number: u32, started: f64) -> KeptRun {
        let recorder = Recorder::new(Start {
            id: id.into(),
            started,
            config: TrainConfig::new(NetworkKind::Linear, Schedule::constant(3, 0.1), false),
            train_images: 500,
            held_out_images: 100,
            test_images: 100,
        });
        KeptRun { number, ..recorder.finish(Ending::Ended(RunEnd::Completed), false, &[]) }
    }

    fn epoch_report(epoch: usize, held_out_accuracy: f32, best_epoch: usize) -> EpochReport {
        EpochReport {
            epoch,
            lr: 0.1,
            train_loss: 0.5,
            train_accuracy: 0.9,
            evaluated_on: Selection::Validation,
            held_out_loss: 0.4,
            held_out_accuracy,
            test_accuracy: (epoch == best_epoch).then_some(0.91),
            temperature: 1.2,
            seconds: 2.0,
            confusion: Confusion::default(),
            misclassified: vec![Misclassified { index: 1, label: 2, predicted: 3, pixels: vec![0; 784] }],
            best_epoch,
            eased: None,
        }
    }

    #[test]
    fn a_short_curve_is_kept_as_it_is() {
        let points: Vec<CurvePoint> = (0..10).map(|i| point(i as f32 / 10.0, 1.0)).collect();
        assert_eq!(downsample(&points, CURVE_POINTS), points);
        assert!(downsample(&[], CURVE_POINTS).is_empty());
    }

    #[test]
    fn a_long_curve_is_bounded_in_order_and_averaged_bucket_by_bucket() {
        let points: Vec<CurvePoint> = (0..1000).map(|i| point(i as f32 / 100.0, if i % 2 == 0 { 1.0 } else { 0.5 })).collect();
        let curve = downsample(&points, 400);
        assert_eq!(curve.len(), 400);
        assert!(curve.windows(2).all(|w| w[0].position < w[1].position), "in order");
        assert!((curve[0].position - points[0].position).abs() < 0.02, "it starts where the run started");
        assert!((curve[399].position - points[999].position).abs() < 0.02, "it ends where the run ended");
        // Buckets of 2 or 3 alternating points: each mean lies between the two values, and the
        // whole curve's mean is the raw one's.
        assert!(curve.iter().all(|p| (0.5..=1.0).contains(&p.loss)));
        let two = downsample(&points[..4], 2);
        assert_eq!(two.len(), 2);
        for (got, want) in two.iter().zip([point(0.005, 0.75), point(0.025, 0.75)]) {
            assert!((got.position - want.position).abs() < 1e-6 && got.loss == want.loss && got.accuracy == want.accuracy, "{got:?}");
        }
    }

    #[test]
    fn a_diverging_step_does_not_poison_its_bucket() {
        let mut points: Vec<CurvePoint> = (0..10).map(|i| point(i as f32, 0.5)).collect();
        points[4].loss = f32::NAN;
        points[5].loss = f32::INFINITY;
        let curve = downsample(&points, 4);
        assert_eq!(curve.len(), 4);
        assert!(curve.iter().all(|p| p.loss == 0.5));
        assert_eq!(downsample(&points, 100).len(), 8, "short curves lose only the non-finite points");
    }

    #[test]
    fn over_the_bound_the_oldest_runs_are_dropped_first() {
        let runs = vec![kept("c", 3, 300.0), kept("a", 1, 100.0), kept("d", 4, 400.0), kept("b", 2, 200.0)];
        assert_eq!(to_drop(&runs, 2, "d"), vec!["a".to_owned(), "b".to_owned()]);
        assert!(to_drop(&runs, 4, "d").is_empty());
        assert!(to_drop(&runs, MAX_KEPT, "d").is_empty());
        // The run being kept is never the one dropped, however early it started.
        assert_eq!(to_drop(&runs, 3, "a"), vec!["b".to_owned()]);
        let ids: Vec<String> = newest_first(runs).into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["d", "c", "b", "a"]);
    }

    #[test]
    fn a_third_choice_replaces_the_oldest_and_a_second_click_unticks() {
        let chosen = toggle(&[], "a");
        let chosen = toggle(&chosen, "b");
        assert_eq!(chosen, ["a", "b"]);
        assert_eq!(toggle(&chosen, "c"), ["b", "c"]);
        assert_eq!(toggle(&chosen, "a"), ["b"]);
        assert!(toggle(&["a".to_owned()], "a").is_empty());
    }

    #[test]
    fn a_recorded_run_keeps_its_log_best_epoch_time_and_next_number() {
        let config = TrainConfig::new(NetworkKind::Linear, Schedule::constant(3, 0.1), false);
        let mut recorder = Recorder::new(Start { id: "x".into(), started: 5.0, config, train_images: 500, held_out_images: 100, test_images: 100 });
        for step in 1..=20 {
            recorder.step(&StepReport {
                epoch: (step - 1) / 10,
                epochs: 3,
                step: (step - 1) % 10 + 1,
                steps_per_epoch: 10,
                lr: 0.1,
                loss: 1.0,
                accuracy: 0.5,
                images_per_sec: 1.0,
                ms_per_step: 1.0,
                elapsed_ms: step as f64 * 250.0,
                eased: None,
            });
            if step % 10 == 0 {
                let epoch = step / 10 - 1;
                recorder.epoch(&epoch_report(epoch, [0.9, 0.8][epoch], 0));
            }
        }
        assert!(recorder.has_epochs() && recorder.worth_keeping(&RunEnd::Stopped { epoch: 1, step: 1 }));
        // Its log names epoch 0 as chosen: that epoch's file is kept with it, an older or
        // newer one's is not.
        assert_eq!(recorder.weights_for(Some((0, "epoch 0"))), Some("epoch 0"));
        assert_eq!(recorder.weights_for(Some((1, "epoch 1"))), None);
        assert_eq!(recorder.weights_for(None::<(usize, &str)>), None);
        // Before its first report: a stop leaves nothing to keep, a divergence is kept.
        let early = Recorder::new(Start { id: "y".into(), started: 6.0, config: recorder.run.config.clone(), train_images: 500, held_out_images: 100, test_images: 100 });
        assert!(!early.worth_keeping(&RunEnd::Stopped { epoch: 0, step: 3 }));
        assert!(early.worth_keeping(&RunEnd::Diverged { epoch: 0, step: 5, loss: f32::NAN }));
        assert!(recorder.run.epochs.iter().all(|e| e.misclassified.is_empty()), "no digits kept");
        let earlier = [kept("a", 4, 1.0), kept("b", 2, 2.0)];
        let run = recorder.finish(Ending::Ended(RunEnd::Stopped { epoch: 2, step: 3 }), true, &earlier);
        assert_eq!(run.number, 5);
        assert_eq!(run.curve.len(), 20);
        assert_eq!(run.seconds, 5.0, "the steps' 5 s exceed the epochs' 4 s");
        assert_eq!(run.best().map(|e| (e.epoch, e.test_accuracy)), Some((0, Some(0.91))));
        assert_eq!(run.epochs_done(), 2);
        assert_eq!(run.name(), "#5 Linear, 2 epochs");
        assert_eq!(run.ending.short(), "stopped in epoch 3");
        assert_eq!(next_number(&[]), 1);
        // Resumed after epoch 1 and never bettered it: the choice is known, its line is not.
        let resumed = KeptRun { epochs: vec![epoch_report(1, 0.7, 0), epoch_report(2, 0.7, 0)], ..run };
        assert_eq!((resumed.best_epoch(), resumed.best().is_none()), (Some(0), true));
    }

    #[test]
    fn a_kept_run_survives_serialisation() {
        let mut run = kept("a", 1, 1.0);
        run.epochs.push(epoch_report(0, 0.9, 0));
        run.curve = vec![point(0.5, 0.25)];
        let json = serde_json::to_string(&run).unwrap();
        assert_eq!(serde_json::from_str::<KeptRun>(&json).unwrap(), run);
    }

    #[test]
    fn a_run_kept_before_the_stroke_augmentation_existed_still_reads() {
        // Kept runs live in users' IndexedDB: a field added to the settings must not orphan them.
        let run = kept("a", 1, 1.0);
        let mut value = serde_json::to_value(&run).unwrap();
        assert!(value["config"].as_object_mut().unwrap().remove("strokes").is_some());
        let read: KeptRun = serde_json::from_value(value).unwrap();
        assert_eq!((read.config.strokes, read), (None, run));
    }
}
