//! The training loop. Hand-written because burn's `Learner` reads tensors synchronously,
//! which a browser forbids; here every read is an `await`, and there are few of them: one
//! per `report_every` steps and two per evaluation.

use burn::optim::GradientsParams;
use burn::prelude::*;

use super::batch::{Batch, DeviceSplit};
use super::config::TrainConfig;
use super::calibrate::fit_temperature;
use super::config::Selection;
use super::loss::{cross_entropy_sum, cross_entropy_tallied, DEAD_LOSS};
use super::end::{RunEnd, TrainError};
use super::report::{Confusion, Eased, EpochReport, Misclassified, StepReport};
use super::warp::{pen_width, warp};
use crate::data::augment::{random_matrices, AugmentRanges};
use crate::data::strokes::{control_weights, random_strokes, CONTROL, STROKE_PARAMS};
use crate::data::{Mnist, PixelStats, Split, IMAGE_PIXELS};
use crate::model::Network;
use crate::platform::now_ms;
use crate::rng::Rng;

/// Mixed into the seed for the weights' generator, so it is a stream apart from the one that
/// shuffles and augments (which a resumed run replays epoch by epoch).
const INIT_STREAM: u64 = 0x5EED_0F_1417;

/// The dataset as a run uses it: the splits on the device, plus the held-out split on the
/// CPU for the galleries of misclassified digits.
pub struct TrainData {
    pub train: DeviceSplit,
    /// What every epoch is evaluated on and the best epoch chosen by: the held-out validation
    /// images, or the test set ([`Selection`]).
    pub held_out: DeviceSplit,
    pub selection: Selection,
    /// The test set when it is not the held-out split: evaluated only for a new best epoch.
    pub test: Option<DeviceSplit>,
    pub stats: PixelStats,
    held_out_cpu: Split,
}

impl TrainData {
    /// The held-out images, as bytes: what the "not a digit" detector's thresholds come from.
    pub fn held_out_images(&self) -> &Split {
        &self.held_out_cpu
    }

    /// Upload each split once: the training images (the first `train_limit` of those not
    /// held out), the held-out ones (the first `test_limit` of the training file's last twelfth,
    /// with validation choosing), and the first `test_limit` test images.
    pub fn upload(mnist: &Mnist, train_limit: Option<usize>, test_limit: Option<usize>, selection: Selection, device: &Device) -> Self {
        let all = mnist.train.len();
        let kept = all - selection.held_out(all);
        let train = mnist.train.rows(0, kept.min(train_limit.unwrap_or(usize::MAX)));
        let test = mnist.test.head(test_limit.unwrap_or(usize::MAX));
        let (held_out_cpu, test) = match selection {
            Selection::Validation => {
                let end = kept.saturating_add(test_limit.unwrap_or(usize::MAX)).min(all);
                (mnist.train.rows(kept, end), Some(DeviceSplit::upload(&test, device)))
            }
            Selection::TestSet => (test, None),
        };
        Self {
            train: DeviceSplit::upload(&train, device),
            held_out: DeviceSplit::upload(&held_out_cpu, device),
            selection,
            test,
            stats: mnist.stats,
            held_out_cpu,
        }
    }

    /// How many test images a run reports on.
    pub fn test_len(&self) -> usize {
        self.test.as_ref().unwrap_or(&self.held_out).len()
    }

    /// `model`'s test accuracy: measured on the test set when it is not the held-out split,
    /// else the held-out figure it already has.
    async fn test_accuracy(&self, model: &Network, held_out_accuracy: f32, chunk: usize) -> Result<f32, TrainError> {
        match &self.test {
            Some(test) => Ok(evaluate(model, test, &self.stats, chunk).await?.confusion.accuracy()),
            None => Ok(held_out_accuracy),
        }
    }
}

/// What the observer wants after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// Receives progress and decides whether to go on. The worker implements it to stream
/// messages to the page and obey Pause/Stop; the `train` binary prints; tests record.
#[allow(async_fn_in_trait)] // single-threaded: browsers have no Send futures to offer
pub trait Observer {
    fn on_step(&mut self, report: &StepReport);
    /// After each epoch's evaluation. `model` is that epoch's network in inference mode.
    fn on_epoch(&mut self, report: &EpochReport, model: &Network);
    /// Called between steps: a place to let other events run, wait while paused, or stop.
    async fn between_steps(&mut self) -> Flow;
    /// How long the last [`Self::between_steps`] waited paused, in ms: not the epoch's time.
    /// (Other events run in it too, an earlier epoch's network being saved, say: those are
    /// part of what an epoch costs, and stay in its time.)
    fn paused_ms(&self) -> f64 {
        0.0
    }
}

/// The best epoch's network, kept while training goes on.
#[derive(Debug, Clone)]
pub struct BestModel {
    /// In inference mode (BatchNorm uses its running statistics, no dropout).
    pub model: Network,
    pub epoch: usize,
    /// On the held-out images: what made it the best.
    pub held_out_accuracy: f32,
    pub test_accuracy: f32,
    /// Fitted on the held-out images ([`super::calibrate`]).
    pub temperature: f32,
}

/// Where a resumed run picks up: the weights of an earlier epoch (the best one kept).
#[derive(Debug, Clone)]
pub struct Resume {
    /// In inference mode, as [`BestModel::model`] or a decoded weights file is.
    pub model: Network,
    /// 0-based epoch those weights come from; training continues with the next one.
    pub epoch: usize,
}

#[derive(Debug)]
pub struct Outcome {
    pub end: RunEnd,
    /// `None` if no epoch finished.
    pub best: Option<BestModel>,
    pub epochs: Vec<EpochReport>,
}

/// Train `config.network` on `data`, on `device` (which must have autodiff enabled), from
/// scratch or from `resume`.
pub async fn train(
    config: &TrainConfig,
    data: &TrainData,
    device: &Device,
    observer: &mut impl Observer,
    resume: Option<Resume>,
) -> Result<Outcome, TrainError> {
    config.validate().map_err(TrainError::Config)?;
    if data.train.is_empty() || data.held_out.is_empty() || data.test.as_ref().is_some_and(|t| t.is_empty()) {
        return Err(TrainError::Config("there are no images to train or test on".into()));
    }
    // The backend's generator still draws dropout masks; the weights come from the run's own
    // (`init_seeded`), the order and augmentation from `rng`.
    device.seed(config.seed);
    let mut rng = Rng::new(config.seed);
    let n = data.train.len();
    let epochs = config.schedule.epochs();
    let (mut model, first_epoch, mut best) = match resume {
        None => (config.network.config().init_seeded(device, config.seed ^ INIT_STREAM), 0, None),
        Some(r) => {
            if r.epoch + 1 >= epochs {
                return Err(TrainError::Config(format!("epoch {} was the schedule's last: nothing left to train", r.epoch + 1)));
            }
            // Replay the generator through the epochs already trained, so a resumed run sees
            // the same shuffles and augmentations an uninterrupted one would have.
            for _ in 0..=r.epoch {
                rng.permutation(n);
                if config.augment {
                    random_matrices(n, &AugmentRanges::default(), &mut rng);
                }
                if let Some(ranges) = config.strokes_in_use() {
                    random_strokes(n, &ranges, &mut rng);
                }
            }
            let model = r.model.clone().to_device(device).train();
            // What the kept epoch scores on this run's held-out images is measured, not taken
            // from the file: it may have been chosen another way.
            let eval = evaluate(&r.model, &data.held_out, &data.stats, config.eval_batch).await?;
            let held_out_accuracy = eval.confusion.accuracy();
            let best = BestModel {
                epoch: r.epoch,
                held_out_accuracy,
                test_accuracy: data.test_accuracy(&r.model, held_out_accuracy, config.eval_batch).await?,
                temperature: fit_temperature(&eval.logits, &eval.labels),
                model: r.model,
            };
            (model, r.epoch + 1, Some(best))
        }
    };
    let mut optim = super::sgd::PlainSgd::for_network(); // plain SGD: no momentum, no weight decay, no state
    let data_device = device.clone().inner();

    // The elastic fields' interpolation weights, uploaded once per run.
    let stroke_weights = config.strokes_in_use().map(|_| {
        Tensor::<2>::from_data(TensorData::new(control_weights(), [CONTROL * CONTROL, IMAGE_PIXELS]), &data_device)
    });
    let steps_per_epoch = n.div_ceil(config.batch_size);
    let mut reports = Vec::with_capacity(epochs);
    let mut elapsed_ms = 0.0;

    for epoch in first_epoch..epochs {
        let lr = config.schedule.lr(epoch);
        let epoch_start = now_ms();
        // Paused: not the epoch's time.
        let mut paused_ms = 0.0;
        // The epoch's order and augmentation go up once; batches are cut from them on the device.
        let order = rng.permutation(n);
        let order: Tensor<1, Int> =
            Tensor::from_data(TensorData::new(order.into_iter().map(|i| i as i32).collect(), [n]), &data_device);
        let matrices = config.augment.then(|| {
            let m = random_matrices(n, &AugmentRanges::default(), &mut rng);
            Tensor::<2>::from_data(TensorData::new(m, [n, 6]), &data_device)
        });
        let strokes = config.strokes_in_use().map(|ranges| {
            let s = random_strokes(n, &ranges, &mut rng);
            Tensor::<2>::from_data(TensorData::new(s, [n, STROKE_PARAMS]), &data_device)
        });

        // An epoch that raises the rate may be started again once, easing into it ([`Eased`]):
        // from the weights it began with (a clone holds the same tensors, nothing is copied).
        let previous_lr = epoch.checked_sub(1).map(|e| config.schedule.lr(e)).filter(|&p| p < lr);
        let epoch_start_model = previous_lr.map(|_| model.clone());
        let mut eased: Option<Eased> = None;
        let mut interval = Interval::new(&data_device);
        let mut epoch_totals = (0.0f64, 0u64, 0usize); // loss sum, correct, images
        let mut step = 0;
        while step < steps_per_epoch {
            let step_lr = eased.map_or(lr, |e| e.lr_at(step));
            let (start, end) = (step * config.batch_size, ((step + 1) * config.batch_size).min(n));
            let Batch { mut images, labels } = data.train.batch(&order, start..end, &data.stats);
            if let Some(m) = &matrices {
                let strokes = strokes.as_ref().map(|s| s.clone().slice([start..end, 0..STROKE_PARAMS]));
                images = warp(images, m.clone().slice([start..end, 0..6]), strokes.as_ref().zip(stroke_weights.as_ref()));
                if let Some(s) = &strokes {
                    images = pen_width(images, s);
                }
            }
            let logits = model.forward(images.autodiff());
            let (loss, tally) = cross_entropy_tallied(logits, labels, interval.tally.clone());
            interval.add(tally, end - start);

            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(step_lr, model, grads);

            if (step + 1) % config.report_every == 0 || step + 1 == steps_per_epoch {
                let (loss_sum, right, images, ms) = interval.read().await?;
                elapsed_ms += ms;
                let mean_loss = (loss_sum / images as f64) as f32;
                epoch_totals = (epoch_totals.0 + loss_sum, epoch_totals.1 + right, epoch_totals.2 + images);
                if !mean_loss.is_finite() || mean_loss >= DEAD_LOSS {
                    if let (None, Some(from_lr), Some(start)) = (eased, previous_lr, &epoch_start_model) {
                        let over_steps = Eased::steps_for(steps_per_epoch);
                        eased = Some(Eased { dead_step: step + 1, dead_loss: mean_loss, from_lr, to_lr: lr, over_steps });
                        model = start.clone();
                        (interval, epoch_totals, step) = (Interval::new(&data_device), (0.0, 0, 0), 0);
                        continue;
                    }
                    let end = RunEnd::Diverged { epoch, step: step + 1, loss: mean_loss };
                    return Ok(Outcome { end, best, epochs: reports });
                }
                let steps = interval.steps;
                observer.on_step(&StepReport {
                    epoch,
                    epochs,
                    step: step + 1,
                    steps_per_epoch,
                    lr: step_lr,
                    loss: mean_loss,
                    accuracy: right as f32 / images as f32,
                    images_per_sec: (images as f64 / (ms / 1000.0).max(1e-9)) as f32,
                    ms_per_step: (ms / steps as f64) as f32,
                    elapsed_ms,
                    eased,
                });
                interval = Interval::new(&data_device);
            }
            let paused_from = now_ms();
            if observer.between_steps().await == Flow::Stop {
                return Ok(Outcome { end: RunEnd::Stopped { epoch, step: step + 1 }, best, epochs: reports });
            }
            // Time spent paused or in other events does not count as training time.
            interval.started += now_ms() - paused_from;
            paused_ms += observer.paused_ms();
            step += 1;
        }

        let inference = model.valid();
        let eval = evaluate(&inference, &data.held_out, &data.stats, config.eval_batch).await?;
        // The epoch's last update is checked by no step's loss (each is measured before its
        // update; with one step an epoch, none is): a network broken by it must not become
        // the best epoch, saved in place of the user's network and refused when read back.
        if !eval.loss.is_finite() {
            let end = RunEnd::Diverged { epoch, step: steps_per_epoch, loss: eval.loss };
            return Ok(Outcome { end, best, epochs: reports });
        }
        let held_out_accuracy = eval.confusion.accuracy();
        let temperature = fit_temperature(&eval.logits, &eval.labels);
        let improved = best.as_ref().is_none_or(|b| held_out_accuracy > b.held_out_accuracy);
        // The test set never chooses: with validation choosing it is measured for a new best
        // only, after the choice.
        let test_accuracy = match improved || data.test.is_none() {
            true => Some(data.test_accuracy(&inference, held_out_accuracy, config.eval_batch).await?),
            false => None,
        };
        if let Some(test_accuracy) = test_accuracy.filter(|_| improved) {
            best = Some(BestModel { model: inference.clone(), epoch, held_out_accuracy, test_accuracy, temperature });
        }
        let report = EpochReport {
            epoch,
            lr,
            train_loss: (epoch_totals.0 / epoch_totals.2.max(1) as f64) as f32,
            train_accuracy: epoch_totals.1 as f32 / epoch_totals.2.max(1) as f32,
            evaluated_on: data.selection,
            held_out_loss: eval.loss,
            held_out_accuracy,
            test_accuracy,
            temperature,
            seconds: (now_ms() - epoch_start - paused_ms) / 1000.0,
            misclassified: gallery(&data.held_out_cpu, &eval.predictions, config.gallery_size),
            confusion: eval.confusion,
            best_epoch: best.as_ref().map_or(epoch, |b| b.epoch),
            eased,
        };
        observer.on_epoch(&report, &inference);
        reports.push(report);
    }
    Ok(Outcome { end: RunEnd::Completed, best, epochs: reports })
}

/// Loss and hits accumulated on the device between two reads.
struct Interval {
    /// `[loss summed over the images, images read right]` on the device.
    tally: Tensor<1>,
    images: usize,
    steps: usize,
    started: f64,
}

impl Interval {
    fn new(device: &Device) -> Self {
        Self { tally: Tensor::zeros([2], device), images: 0, steps: 0, started: now_ms() }
    }

    /// One more step of `images`: `tally` is the one `loss::cross_entropy_tallied` returned.
    fn add(&mut self, tally: Tensor<1>, images: usize) {
        self.tally = tally;
        self.images += images;
        self.steps += 1;
    }

    /// One device read: (loss sum, correct, images, wall milliseconds of the interval).
    async fn read(&self) -> Result<(f64, u64, usize, f64), TrainError> {
        let values = read_floats(self.tally.clone()).await?;
        Ok((values[0] as f64, values[1] as u64, self.images, now_ms() - self.started))
    }
}

/// A split's loss, accuracy, every prediction, and the logits (for calibration).
pub struct Evaluation {
    pub loss: f32,
    pub predictions: Vec<u8>,
    pub labels: Vec<u8>,
    /// Rows of ten, in the split's order.
    pub logits: Vec<f32>,
    pub confusion: Confusion,
}

/// Evaluate an inference-mode network on a whole split: two device reads in all.
pub async fn evaluate(model: &Network, split: &DeviceSplit, stats: &PixelStats, chunk: usize) -> Result<Evaluation, TrainError> {
    let mut loss_sum: Option<Tensor<1>> = None;
    let mut predictions = Vec::new();
    let mut labels = Vec::new();
    let mut logits_all = Vec::new();
    for start in (0..split.len()).step_by(chunk) {
        let Batch { images, labels: l } = split.range(start, (start + chunk).min(split.len()), stats);
        let logits = model.forward(images);
        let loss = cross_entropy_sum(logits.clone(), l.clone());
        loss_sum = Some(loss_sum.map_or(loss.clone(), |s| s + loss));
        predictions.push(logits.clone().argmax(1).squeeze_dim::<1>(1));
        logits_all.push(logits.reshape([-1]));
        labels.push(l);
    }
    let loss_sum = loss_sum.expect("a non-empty split should give at least one chunk");
    let both = Tensor::cat(vec![Tensor::cat(predictions, 0), Tensor::cat(labels, 0)], 0);
    let ints = read_ints(both).await?;
    let (predictions, labels) = ints.split_at(split.len());
    let floats = read_floats(Tensor::cat(vec![loss_sum, Tensor::cat(logits_all, 0)], 0)).await?;
    Ok(Evaluation {
        loss: floats[0] / split.len() as f32,
        confusion: Confusion::from_predictions(labels, predictions),
        predictions: predictions.to_vec(),
        labels: labels.to_vec(),
        logits: floats[1..].to_vec(),
    })
}

/// A device error as one line for the page: burn's errors span several lines with
/// "Caused by" chains and an empty backtrace; keep the distinct messages.
fn device_error(e: impl std::fmt::Debug) -> TrainError {
    let text = format!("{e:?}");
    let mut parts: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim) {
        let skip = line.is_empty() || line.starts_with("Caused by") || line.starts_with("Backtrace") || line.starts_with("No backtrace");
        if !skip && !parts.contains(&line) {
            parts.push(line);
        }
    }
    TrainError::Device(parts.join(": "))
}

fn gallery(test: &Split, predictions: &[u8], size: usize) -> Vec<Misclassified> {
    test.labels()
        .iter()
        .zip(predictions)
        .enumerate()
        .filter(|(_, (l, p))| l != p)
        .take(size)
        .map(|(i, (&label, &predicted))| Misclassified {
            index: i as u32,
            label,
            predicted,
            pixels: test.image(i).to_vec(),
        })
        .collect()
}

/// Read a float tensor asynchronously (the only kind of read a browser allows).
pub async fn read_floats<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, TrainError> {
    let data = t.into_data_async().await.map_err(device_error)?;
    data.convert::<f32>().try_to_vec::<f32>().map_err(device_error)
}

/// Read an int tensor asynchronously, as digits.
async fn read_ints<const D: usize>(t: Tensor<D, Int>) -> Result<Vec<u8>, TrainError> {
    let data = t.into_data_async().await.map_err(device_error)?;
    let values = data.convert::<i64>().try_to_vec::<i64>().map_err(device_error)?;
    Ok(values.into_iter().map(|v| v.clamp(0, 255) as u8).collect())
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;
    use crate::model::NetworkKind;
    use crate::testing::{cpu, toy_mnist, Recorder};
    use crate::train::Schedule;

    fn run(config: &TrainConfig, mnist: &Mnist, recorder: &mut Recorder) -> Outcome {
        let device = cpu().autodiff();
        let data = TrainData::upload(mnist, config.train_limit, config.test_limit, config.selection, &device.clone().inner());
        block_on(train(config, &data, &device, recorder, None)).unwrap()
    }

    /// [`toy_mnist`] with every third training label shifted to the next digit.
    fn toy_mnist_with_noisy_labels(n_train: usize, n_test: usize, seed: u64) -> Mnist {
        let mut mnist = toy_mnist(n_train, n_test, seed);
        let labels: Vec<u8> = mnist.train.labels().iter().enumerate()
            .map(|(i, &l)| if i % 3 == 0 { (l + 1) % 10 } else { l }).collect();
        mnist.train = Split::from_parts(mnist.train.images().to_vec(), labels);
        mnist
    }

    /// One epoch at `first`, then `epochs` at `then`.
    fn one_epoch_then(first: f64, epochs: usize, then: f64) -> Schedule {
        Schedule { phases: vec![crate::train::Phase { epochs: 1, lr: first }, crate::train::Phase { epochs, lr: then }] }
    }

    #[test]
    fn the_linear_network_learns_a_toy_task_and_reports_every_epoch() {
        let mnist = toy_mnist(640, 200, 1);
        let config = TrainConfig::new(NetworkKind::Linear, Schedule::constant(2, 0.1), false).with_report_every(5);
        let mut recorder = Recorder::default();
        let outcome = run(&config, &mnist, &mut recorder);
        assert_eq!(outcome.end, RunEnd::Completed);
        assert_eq!(recorder.epochs.len(), 2);
        assert_eq!(recorder.steps.len(), 2 * 2); // 10 steps an epoch, a report every 5
        let last = &recorder.epochs[1];
        assert!(last.held_out_accuracy > 0.95, "{last:?}");
        assert!(recorder.steps[3].loss < recorder.steps[0].loss);
        // Evaluated on the held-out twelfth of the 640 training images.
        assert_eq!(last.confusion.counts.iter().flatten().sum::<u32>(), 640 / 12);
        assert_eq!(outcome.best.unwrap().epoch, last.best_epoch);
    }

    #[test]
    fn the_vgg_network_overfits_a_fixed_batch() {
        let mnist = toy_mnist(64, 64, 2);
        let config = TrainConfig::new(NetworkKind::Vgg, Schedule::constant(25, 0.05), false).with_report_every(1);
        let mut recorder = Recorder::default();
        run(&config, &mnist, &mut recorder);
        let (first, last) = (&recorder.steps[0], recorder.steps.last().unwrap());
        assert!(last.loss < 0.05 && last.accuracy == 1.0, "first {first:?}\nlast {last:?}");
        assert!(first.loss > 1.5, "{first:?}");
    }

    /// An epoch's time is its training and evaluation: a pause of 1.5 s in it (a toy epoch
    /// takes milliseconds here) does not count, or the time left and the kept run's time
    /// would grow with every pause.
    #[test]
    fn time_paused_is_not_counted_in_the_epochs_time() {
        let mnist = toy_mnist(128, 64, 5);
        let config = TrainConfig::new(NetworkKind::Linear, Schedule::constant(1, 0.1), false);
        let mut recorder = Recorder { pause: Some((1, std::time::Duration::from_millis(1500))), ..Recorder::default() };
        run(&config, &mnist, &mut recorder);
        assert!(recorder.epochs[0].seconds < 1.0, "{} s", recorder.epochs[0].seconds);
    }

    #[test]
    fn stop_is_honoured_mid_epoch_and_keeps_the_best_epoch() {
        let mnist = toy_mnist(640, 100, 3);
        let config = TrainConfig::new(NetworkKind::Linear, Schedule::constant(3, 0.1), false).with_report_every(5);
        let mut recorder = Recorder { stop_after: Some(14), ..Recorder::default() };
        let outcome = run(&config, &mnist, &mut recorder);
        assert_eq!(outcome.end, RunEnd::Stopped { epoch: 1, step: 4 });
        assert_eq!(recorder.epochs.len(), 1);
        assert_eq!(outcome.best.map(|b| b.epoch), Some(0));
    }

    /// One step an epoch (a batch as large as the training images): the only update of the
    /// first epoch breaks the network, and no step's loss sees it.
    #[test]
    fn a_network_broken_by_an_epochs_last_update_is_not_kept_as_its_best() {
        let mnist = toy_mnist(640, 100, 4);
        let config = TrainConfig::new(NetworkKind::Vgg, Schedule::constant(2, 1e9), false).with_batch_size(4096).with_report_every(1);
        let outcome = run(&config, &mnist, &mut Recorder::default());
        let RunEnd::Diverged { epoch: 0, loss, .. } = outcome.end else { panic!("{:?}", outcome.end) };
        assert!(!loss.is_finite(), "{loss}");
        assert!(outcome.best.is_none(), "a broken network kept as the best epoch");
    }

    #[test]
    fn a_learning_rate_far_too_high_stops_the_run_with_a_clear_reason() {
        let mnist = toy_mnist(640, 100, 4);
        let config = TrainConfig::new(NetworkKind::Vgg, Schedule::constant(2, 1e6), false).with_report_every(2);
        let outcome = run(&config, &mnist, &mut Recorder::default());
        let RunEnd::Diverged { loss, .. } = outcome.end else { panic!("{:?}", outcome.end) };
        assert!(!loss.is_finite() || loss >= DEAD_LOSS, "{loss}");
        assert!(outcome.end.describe().contains("learning rate"));
    }

    /// With Keras' clip a rate far too high need not reach NaN: at rate 100 the VGG-like network
    /// ends confidently wrong on most images (losses 6.8, 11.6, 11.7, then above 12.9), the
    /// clipped samples push nothing, and it would sit there to the end. That is a dead run
    /// too, and it must say so rather than finish.
    #[test]
    fn a_run_stuck_at_the_clipped_loss_stops_as_diverged() {
        let mnist = toy_mnist(640, 100, 4);
        let config = TrainConfig::new(NetworkKind::Vgg, Schedule::constant(3, 1e2), false).with_report_every(2);
        let mut recorder = Recorder::default();
        let outcome = run(&config, &mnist, &mut recorder);
        // The first epoch raises no rate: nothing to ease into, so it is not started again.
        assert!(recorder.steps.iter().all(|s| s.eased.is_none()));
        let RunEnd::Diverged { loss, epoch, .. } = outcome.end else { panic!("{:?}", outcome.end) };
        assert!(loss.is_finite() && loss >= DEAD_LOSS, "{loss}");
        assert_eq!(epoch, 0);
        assert!(outcome.end.describe().contains("confidently wrong"), "{}", outcome.end.describe());
    }

    /// An epoch that raises the rate and goes dead is started again once, from the weights and
    /// batches it began with, the rate rising from the previous epoch's ([`Eased`]); if that
    /// goes dead too, the run ends as diverged. A rate of 1e6 goes dead either way, which
    /// makes the mechanics checkable without depending on a borderline run.
    #[test]
    fn an_epoch_that_raises_the_rate_and_goes_dead_is_started_again_easing_in() {
        // Noisy labels, so that the task is never learned to the point where no gradient is
        // left to blow up. 2,347 images trained on: 37 steps an epoch.
        let mnist = toy_mnist_with_noisy_labels(2560, 100, 4);
        let schedule = one_epoch_then(0.01, 1, 1e6);
        let config = TrainConfig::new(NetworkKind::Vgg, schedule, false).with_report_every(1);
        let mut recorder = Recorder::default();
        let outcome = run(&config, &mnist, &mut recorder);
        let RunEnd::Diverged { epoch: 1, loss, .. } = outcome.end else { panic!("{:?}", outcome.end) };
        assert!(!loss.is_finite() || loss >= DEAD_LOSS, "{loss}");
        // Epoch 1 in full, unchanged.
        assert!(recorder.steps.iter().filter(|s| s.epoch == 0).all(|s| s.eased.is_none() && s.lr == 0.01));
        assert_eq!(recorder.epochs.len(), 1);
        assert_eq!(recorder.epochs[0].eased, None);
        // Epoch 2: the first attempt's reports until it went dead, then the eased attempt's.
        let second: Vec<&StepReport> = recorder.steps.iter().filter(|s| s.epoch == 1).collect();
        let first_attempt: Vec<_> = second.iter().take_while(|s| s.eased.is_none()).collect();
        let again: Vec<_> = second.iter().skip(first_attempt.len()).collect();
        assert!(!first_attempt.is_empty() && first_attempt.iter().all(|s| s.lr == 1e6), "{second:?}");
        assert!(!again.is_empty() && again.iter().all(|s| s.eased.is_some()), "{second:?}");
        let eased = again[0].eased.unwrap();
        assert_eq!((eased.from_lr, eased.to_lr, eased.over_steps, eased.dead_step), (0.01, 1e6, 9, first_attempt.len() + 1));
        assert!(eased.dead_loss >= DEAD_LOSS || !eased.dead_loss.is_finite(), "{eased:?}");
        // Started again from the same weights on the same batch: the first step's loss is the
        // first attempt's, bit for bit; the rate then follows the ramp.
        assert_eq!((again[0].step, again[0].loss), (1, first_attempt[0].loss));
        for s in &again {
            assert_eq!(s.lr, eased.lr_at(s.step - 1), "{s:?}");
        }
    }

    #[test]
    fn the_best_epoch_is_kept_not_the_last() {
        // A sensible first epoch, then a rate high enough to wreck the network without NaN.
        // Noisy training labels: a large rate then chases the noise.
        let mnist = toy_mnist_with_noisy_labels(640, 200, 5);
        let schedule = one_epoch_then(0.1, 2, 40.0);
        // At rate 40 the run is chaotic: which epoch ends best depends on the seed. A run is a
        // pure function of its seed (weights included), so this one stays a run that ends
        // below its best; the premise is still asserted below.
        let config = TrainConfig::new(NetworkKind::Linear, schedule, false).with_report_every(5).with_seed(2).with_selection(Selection::TestSet);
        let mut recorder = Recorder::default();
        let outcome = run(&config, &mnist, &mut recorder);
        let accuracies: Vec<f32> = recorder.epochs.iter().map(|e| e.held_out_accuracy).collect();
        let best = outcome.best.expect("an epoch finished");
        let top = accuracies.iter().cloned().fold(f32::MIN, f32::max);
        assert_eq!(best.test_accuracy, top, "{accuracies:?}");
        assert_eq!(accuracies[best.epoch], top);
        assert!(best.epoch < 2 && accuracies[2] < top, "the scenario should end below its best: {accuracies:?}");
        // The kept network really is that epoch's: evaluating it again gives its accuracy.
        let device = cpu();
        let data = TrainData::upload(&mnist, None, None, Selection::TestSet, &device);
        let again = block_on(evaluate(&best.model, &data.held_out, &data.stats, 64)).unwrap();
        assert_eq!(again.confusion.accuracy(), best.test_accuracy);
    }

    /// With validation choosing: the held-out images are the training file's last twelfth and
    /// are never trained on; the test set is measured for a new best epoch only; every epoch
    /// fits a temperature.
    #[test]
    fn validation_chooses_on_images_it_never_trains_on_and_measures_the_test_set_for_a_new_best() {
        let mnist = toy_mnist(1200, 300, 12);
        let device = cpu();
        let data = TrainData::upload(&mnist, Some(10_000), None, Selection::Validation, &device);
        assert_eq!((data.train.len(), data.held_out.len(), data.test_len()), (1100, 100, 300));
        // Disjoint by construction: the pixels of the held-out images are the file's last 100.
        let held: Vec<u8> = data.held_out_cpu.images().to_vec();
        assert_eq!(held, mnist.train.images()[1100 * 784..].to_vec());
        // A subset comes from the images not held out.
        let small = TrainData::upload(&mnist, Some(50), None, Selection::Validation, &device);
        assert_eq!((small.train.len(), small.held_out.len()), (50, 100));

        let config = TrainConfig::new(NetworkKind::Linear, Schedule::constant(3, 0.05), false).with_report_every(5);
        let mut recorder = Recorder::default();
        let outcome = run(&config, &mnist, &mut recorder);
        for e in &recorder.epochs {
            assert_eq!(e.evaluated_on, Selection::Validation);
            assert_eq!(e.confusion.counts.iter().flatten().sum::<u32>(), 100);
            assert_eq!(e.test_accuracy.is_some(), e.best_epoch == e.epoch, "{e:?}");
            assert!(e.temperature.is_finite() && e.temperature > 0.0);
        }
        let best = outcome.best.unwrap();
        assert_eq!(Some(best.test_accuracy), recorder.epochs[best.epoch].test_accuracy);
        assert_eq!(best.held_out_accuracy, recorder.epochs[best.epoch].held_out_accuracy);
        // The test set chooses only when asked to, and then nothing is held out.
        let notebook = TrainData::upload(&mnist, None, None, Selection::TestSet, &device);
        assert_eq!((notebook.train.len(), notebook.held_out.len(), notebook.test.is_none()), (1200, 300, true));
    }

    #[test]
    fn batch_norm_behaves_differently_in_training_and_inference() {
        let device = cpu().autodiff();
        device.seed(9);
        let net = NetworkKind::VggBnDropout.config().init(&device);
        let mnist = toy_mnist(8, 8, 6);
        let data = TrainData::upload(&mnist, None, None, Selection::TestSet, &device.clone().inner());
        let images = data.held_out.range(0, 8, &data.stats).images;
        let training = crate::testing::floats(net.forward(images.clone().autodiff()).inner());
        let inference = crate::testing::floats(net.valid().forward(images.clone()));
        let inference_again = crate::testing::floats(net.valid().forward(images));
        assert_eq!(inference, inference_again, "inference is deterministic");
        let diff: f32 = training.iter().zip(&inference).map(|(a, b)| (a - b).abs()).sum();
        assert!(diff > 1e-2, "batch statistics and dropout should change the output ({diff})");
    }

    #[test]
    fn a_resumed_run_continues_from_the_kept_epoch_as_an_uninterrupted_one_would() {
        let mnist = toy_mnist(320, 100, 8);
        // With every random draw a run makes (the affine matrices and the strokes too): a
        // resumed run must replay them all to see the epochs an uninterrupted one would.
        let config = TrainConfig::new(NetworkKind::Linear, Schedule::constant(3, 0.05), true)
            .with_strokes(Some(crate::data::strokes::StrokeRanges::default()))
            .with_report_every(5);
        let device = cpu().autodiff();
        let data = TrainData::upload(&mnist, None, None, Selection::Validation, &device.clone().inner());

        let mut whole = Recorder::default();
        block_on(train(&config, &data, &device, &mut whole, None)).unwrap();

        // Stop after the first epoch, then resume from what it kept.
        let mut first = Recorder { stop_after: Some(6), ..Recorder::default() };
        let stopped = block_on(train(&config, &data, &device, &mut first, None)).unwrap();
        let best = stopped.best.expect("epoch 1 finished");
        assert_eq!(best.epoch, 0);
        let resume = Resume { model: best.model, epoch: best.epoch };
        let mut rest = Recorder::default();
        let outcome = block_on(train(&config, &data, &device, &mut rest, Some(resume))).unwrap();
        assert_eq!(outcome.end, RunEnd::Completed);
        assert_eq!(rest.epochs.iter().map(|e| e.epoch).collect::<Vec<_>>(), [1, 2]);
        // Same shuffles, same start: the resumed epochs match the uninterrupted run's.
        for (a, b) in rest.epochs.iter().zip(&whole.epochs[1..]) {
            assert!((a.held_out_accuracy - b.held_out_accuracy).abs() < 1e-6 && (a.train_loss - b.train_loss).abs() < 1e-4, "{a:?}\n{b:?}");
        }
    }

    /// The CPU backend splits its kernels across rayon's threads; how it splits changes only
    /// the order of float additions. Tolerance: a reordered f32 sum of K terms differs by at
    /// most about K·2^-24 relative (K ≤ 1,024 here, so ~6e-5); five steps of SGD can grow
    /// that a little, and 1e-3 of the loss still catches any real divergence (a wrong split
    /// changes the loss in the first or second digit).
    #[test]
    fn training_gives_the_same_losses_on_one_thread_and_on_two() {
        let mnist = toy_mnist(320, 64, 11);
        let config = TrainConfig::new(NetworkKind::Vgg, Schedule::constant(1, 0.05), false)
            .with_train_limit(Some(320))
            .with_report_every(1);
        let losses = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                assert_eq!(rayon::current_num_threads(), threads);
                let mut recorder = Recorder::default();
                run(&config, &mnist, &mut recorder);
                recorder.steps.iter().map(|s| s.loss).collect::<Vec<f32>>()
            })
        };
        let (one, two) = (losses(1), losses(2));
        assert_eq!(one.len(), 5);
        for (a, b) in one.iter().zip(&two) {
            assert!((a - b).abs() <= 1e-3 * a.abs(), "1 thread {one:?}\n2 threads {two:?}");
        }
        assert!(one[4] < one[0], "and it learns: {one:?}");
    }

    #[test]
    fn resuming_after_the_last_epoch_is_refused() {
        let mnist = toy_mnist(64, 20, 9);
        let config = TrainConfig::new(NetworkKind::Linear, Schedule::constant(1, 0.05), false);
        let device = cpu().autodiff();
        let data = TrainData::upload(&mnist, None, None, Selection::Validation, &device.clone().inner());
        let model = NetworkKind::Linear.config().init(&device.clone().inner());
        let resume = Resume { model, epoch: 0 };
        let err = block_on(train(&config, &data, &device, &mut Recorder::default(), Some(resume))).unwrap_err();
        assert!(matches!(err, TrainError::Config(_)));
    }
}
