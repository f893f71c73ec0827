//! Training speed, measured the same way on every backend: the first step (which includes
//! compiling kernels) on its own, a few warm-up steps, then a timed stretch of steps ended by
//! one read, so the figure is wall time per step with the device kept busy.

use serde::{Deserialize, Serialize};

use crate::model::NetworkKind;
#[cfg(feature = "engine")]
use {
    super::batch::DeviceSplit,
    super::end::TrainError,
    super::loss::cross_entropy_tallied,
    super::runner::read_floats,
    crate::data::PixelStats,
    crate::kernels::timeline,
    crate::model::Network,
    crate::platform::{now_ms, yield_to_events},
    burn::optim::GradientsParams,
    burn::prelude::*,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchResult {
    pub network: NetworkKind,
    pub batch_size: usize,
    /// From nothing to the first step's loss read back: kernel compilation included.
    pub first_step_ms: f64,
    pub warmup_steps: usize,
    pub timed_steps: usize,
    pub ms_per_step: f64,
    pub images_per_sec: f64,
}

#[cfg(feature = "engine")]
/// Time training steps of `network` on `split` (needs at least `batch_size` images) on
/// `device` (with autodiff).
pub async fn measure(
    network: NetworkKind,
    split: &DeviceSplit,
    stats: &PixelStats,
    device: &Device,
    batch_size: usize,
    warmup_steps: usize,
    timed_steps: usize,
) -> Result<BenchResult, TrainError> {
    if split.len() < batch_size {
        return Err(TrainError::Config(format!("{} images cannot fill a batch of {batch_size}", split.len())));
    }
    device.seed(7);
    let mut model = network.config().init_seeded(device, 7);
    let mut optim = super::sgd::PlainSgd::for_network();
    let data_device = device.clone().inner();
    let batches = split.len() / batch_size;
    let order = Tensor::<1, Int>::arange(0..split.len() as i64, &data_device);
    // The step the trainer takes (`runner`), its tally of loss and accuracy included: with
    // burn's operations that bookkeeping is several dispatches on WebGPU, so leaving it out
    // would flatter the figure.
    let mut step = |k: usize, model: Network, tally: Tensor<1>| {
        let start = (k % batches) * batch_size;
        let batch = split.batch(&order, start..start + batch_size, stats);
        let logits = model.forward(batch.images.autodiff());
        let (loss, tally) = cross_entropy_tallied(logits, batch.labels, tally);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        (optim.step(0.01, model, grads), tally)
    };
    let fresh = || Tensor::<1>::zeros([2], &data_device);

    let t0 = now_ms();
    let (m, tally) = step(0, model, fresh());
    model = m;
    read_floats(tally).await?;
    let first_step_ms = now_ms() - t0;

    let mut tally = fresh();
    for k in 1..=warmup_steps {
        let (m, t) = step(k, model, tally);
        (model, tally) = (m, t);
        yield_to_events().await;
    }
    read_floats(tally).await?;
    timeline::reset();
    let t1 = now_ms();
    let mut tally = fresh();
    for k in 0..timed_steps {
        let (m, t) = step(warmup_steps + 1 + k, model, tally);
        (model, tally) = (m, t);
        yield_to_events().await;
    }
    read_floats(tally).await?;
    let ms_per_step = (now_ms() - t1) / timed_steps.max(1) as f64;
    if let Some(report) = timeline::report(timed_steps, ms_per_step) {
        #[cfg(target_arch = "wasm32")]
        web_sys::console::log_1(&report.into());
        #[cfg(not(target_arch = "wasm32"))]
        eprintln!("{report}");
    }
    Ok(BenchResult {
        network,
        batch_size,
        first_step_ms,
        warmup_steps,
        timed_steps,
        ms_per_step,
        images_per_sec: batch_size as f64 * 1000.0 / ms_per_step.max(1e-9),
    })
}


#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;
    use crate::testing::{cpu, toy_mnist};

    #[test]
    fn a_benchmark_reports_positive_times_for_the_steps_it_ran() {
        let device = cpu().autodiff();
        let mnist = toy_mnist(64, 8, 1);
        let split = DeviceSplit::upload(&mnist.train, &device.clone().inner());
        let r = block_on(measure(NetworkKind::Linear, &split, &mnist.stats, &device, 16, 2, 5)).unwrap();
        assert_eq!((r.batch_size, r.warmup_steps, r.timed_steps), (16, 2, 5));
        assert!(r.first_step_ms > 0.0 && r.ms_per_step > 0.0 && r.images_per_sec > 0.0);
        let too_few = block_on(measure(NetworkKind::Linear, &split, &mnist.stats, &device, 128, 1, 1));
        assert!(matches!(too_few, Err(TrainError::Config(_))));
    }
}
