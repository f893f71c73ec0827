//! The mean cross-entropy on WebGPU (burn's cubecl backend) as one kernel that also writes its
//! gradient: the GPU side of [`super::cross_entropy`].
//!
//! Why: written with burn's operations (log-softmax, gather, sum, negate, divide) the loss is
//! about a dozen dispatches forward and as many backward; on a small network each dispatch
//! costs as much as the arithmetic (about 0.5 ms on SwiftShader,
//! `results/browser/bench-linear-webgpu-breakdown.txt`). Here an invocation computes, per row,
//! the row's share of the loss, `(log Σ_c e^(z_c) − z_target) / batch` (shifted by the row's
//! maximum, so nothing overflows; clipped as Keras clips, see `train::loss`), and the gradient
//! of the mean with respect to its logits, `(softmax(z) − onehot(target)) / batch` (zero for a
//! clipped row), which the backward step only has to scale by the gradient arriving from above.
//! One workgroup does it all, its invocations taking rows in turn, and adds the rows' shares in
//! workgroup memory: one dispatch (a batch is tens to hundreds of rows of ten classes).
//!
//! The same pass can also keep the trainer's tally: the loss summed over the images and the
//! rows read right (the row's first maximum, which it finds anyway, is the target), added to
//! the running `[2]` totals the live charts read once per report. With burn's operations (a
//! multiply, an argmax, a comparison, a cast, a sum and three more) that bookkeeping was eight
//! of the twenty dispatches of a linear training step on WebGPU; here it costs none.

use burn::backend::cubecl::dtype_to_storage_type;
use burn::tensor::{DType, Shape};
use burn_cubecl::cubecl;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;

use super::gpu_tile::{output, u, workgroup_sum};
use crate::train::loss::{LOG_HIGH, LOG_LOW};

/// log2 of the invocations of the one workgroup: each takes rows `u, u + 64, …`.
const LEVELS: u32 = 6;
const GROUP: u32 = 1 << LEVELS;

#[cube(launch)]
fn cross_entropy_kernel<F: Float, I: Int>(
    logits: &Tensor<F>,
    targets: &Tensor<I>,
    tally: &Tensor<F>,
    loss: &mut Tensor<F>,
    grad: &mut Tensor<F>,
    tallied: &mut Tensor<F>,
    batch: u32,
    classes: u32,
    #[comptime] with_tally: bool,
    #[define(F, I)] _dtypes: [ElemType; 2],
) {
    let mut sums = Shared::<[F]>::new_slice(GROUP as usize);
    let per_row = F::new(1.0) / F::cast_from(batch);
    let mut share = F::new(0.0);
    let mut right = F::new(0.0);
    for k in 0..(batch + GROUP - 1 - UNIT_POS_X) / GROUP {
        let row = UNIT_POS_X + k * GROUP;
        let base = row * classes;
        // The row's maximum, and where it first occurs (burn's argmax).
        let mut max = logits[base as usize];
        let mut first = 0u32;
        for c in 1..classes {
            let z = logits[(base + c) as usize];
            let higher = z > max;
            max = select(higher, z, max);
            first = select(higher, c, first);
        }
        let mut sum = F::new(0.0);
        for c in 0..classes {
            sum += F::exp(logits[(base + c) as usize] - max);
        }
        let log_sum = F::ln(sum) + max;
        // A label outside the classes (never in checked data) reads the last class, not out
        // of bounds.
        let label = u32::cast_from(targets[row as usize]);
        let target = select(label < classes, label, classes - 1);
        right += select(first == label, F::new(1.0), F::new(0.0));
        // Keras' clip (train::loss): outside [ln ε, ln(1 − ε)] the row costs the bound and
        // gets no gradient. A NaN fails both tests, so it reaches the loss.
        let log_p = logits[(base + target) as usize] - log_sum;
        let below = log_p < F::new(LOG_LOW);
        let above = log_p > F::new(LOG_HIGH);
        share -= select(below, F::new(LOG_LOW), select(above, F::new(LOG_HIGH), log_p)) * per_row;
        let weight = select(below || above, F::new(0.0), per_row);
        for c in 0..classes {
            let p = F::exp(logits[(base + c) as usize] - log_sum);
            grad[(base + c) as usize] = (p - select(c == target, F::new(1.0), F::new(0.0))) * weight;
        }
    }
    let total = workgroup_sum::<F>(&mut sums, share, LEVELS);
    let hits = workgroup_sum::<F>(&mut sums, right, LEVELS);
    if UNIT_POS_X == 0 {
        loss[0] = total;
        if comptime![with_tally] {
            tallied[0] = tally[0] + total * F::cast_from(batch);
            tallied[1] = tally[1] + hits;
        }
    }
}

/// The mean cross-entropy, `[1]`, and its gradient with respect to `logits`,
/// `[batch, classes]`, from one workgroup; given the trainer's `tally` `[2]`, also the tally
/// plus this batch's `[loss·batch, rows read right]`.
pub fn cross_entropy(logits: CubeTensor, targets: CubeTensor, tally: Option<CubeTensor>) -> (CubeTensor, CubeTensor, Option<CubeTensor>) {
    let (logits, targets) = (into_contiguous(logits), into_contiguous(targets));
    let [batch, classes] = logits.meta.shape().dims::<2>();
    let loss = output(&logits, Shape::new([1]));
    let grad = output(&logits, Shape::new([batch, classes]));
    let with_tally = tally.is_some();
    // Without a tally, the logits stand in for the unused input (read-only bindings may
    // alias) and a spare value for the unused output (writable ones may not).
    let (tally, tallied) = match tally {
        Some(t) => (into_contiguous(t), output(&logits, Shape::new([2]))),
        None => (logits.clone(), output(&logits, Shape::new([1]))),
    };
    let dtypes = [dtype_to_storage_type(logits.dtype), dtype_to_storage_type(targets.dtype)];
    cross_entropy_kernel::launch(
        &logits.client,
        CubeCount::Static(1, 1, 1),
        CubeDim::new_1d(GROUP),
        logits.clone().into_tensor_arg(),
        targets.into_tensor_arg(),
        tally.into_tensor_arg(),
        loss.clone().into_tensor_arg(),
        grad.clone().into_tensor_arg(),
        tallied.clone().into_tensor_arg(),
        u(batch),
        u(classes),
        with_tally,
        dtypes,
    );
    (loss, grad, with_tally.then_some(tallied))
}

/// Whether this kernel takes logits of this type (f32; anything else takes burn's path).
pub fn supports(dtype: DType) -> bool {
    dtype == DType::F32
}
