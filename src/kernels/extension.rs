//! [`super::conv`]'s, [`super::batch_norm`]'s and the WebGPU kernels as burn operations with
//! their own backward passes (burn's backend extension API), on burn's CPU backend (Flex), on
//! burn's cubecl backend where the build has it, and on autodiff over them.
//!
//! The trait's default bodies are burn's own operations, so the gradients of the autodiff
//! implementation stay defined on any backend; Flex overrides them with our kernels.
//! Only CPU devices are routed here (see [`super::conv2d_valid`], [`super::batch_norm`]): on
//! another backend the generated dispatch would panic.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::ops::{ConvOptions, ConvTransposeOptions};
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{backend_extension, AutodiffBackend, Backend, ExtensionType, Flex, TensorMetadata};
use burn::tensor::{Bytes, DType, FloatDType, IndexingUpdateOp, IntDType, Shape, Slice};
use burn_flex::{FlexTensor, Layout};

use super::batch_norm;
use super::conv::{self, Dims};
use super::{pool, relu};

const STRIDE_1: [usize; 2] = [1, 1];
const NO_PADDING: [usize; 2] = [0, 0];

#[backend_extension(Flex, Autodiff, Cube: cfg(cube_kernels))]
pub trait ValidConv: Backend {
    /// `x` `[batch, c_in, h, w]`, `weight` `[c_out, c_in, kh, kw]`, `bias` `[c_out]` →
    /// `[batch, c_out, h - kh + 1, w - kw + 1]`: stride 1, no padding, no groups; with `relu`,
    /// the ReLU of it.
    fn valid_conv(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>, relu: bool) -> FloatTensor<Self> {
        then_relu::<Self>(burns_conv::<Self>(x, weight, bias), relu)
    }

    /// The gradient of [`ValidConv::valid_conv`] with respect to `x`, from the output's
    /// gradient `dy`: the transposed convolution, whose output is exactly `x`'s size.
    fn valid_conv_input_grad(weight: FloatTensor<Self>, dy: FloatTensor<Self>) -> FloatTensor<Self> {
        burns_input_grad::<Self>(weight, dy)
    }

    /// The gradient with respect to `weight`: `x` convolved by `dy`, batch and channels swapped.
    fn valid_conv_weight_grad(x: FloatTensor<Self>, dy: FloatTensor<Self>) -> FloatTensor<Self> {
        burns_weight_grad::<Self>(x, dy)
    }

    /// The gradient with respect to `bias`: `dy` summed over batch and positions.
    fn valid_conv_bias_grad(dy: FloatTensor<Self>) -> FloatTensor<Self> {
        burns_bias_grad::<Self>(dy)
    }
}

impl ValidConv for Flex {
    fn valid_conv(x: FlexTensor, weight: FlexTensor, bias: FlexTensor, relu: bool) -> FlexTensor {
        let d = dims(&x.shape(), &weight.shape());
        match (contiguous(&x), contiguous(&weight), contiguous(&bias)) {
            (Some(x), Some(w), Some(b)) => {
                let mut y = conv::forward(values(&x), values(&w), Some(values(&b)), d);
                if relu {
                    relu::in_place(&mut y);
                }
                tensor(y, [d.batch, d.c_out, d.out_height(), d.out_width()])
            }
            _ => then_relu::<Flex>(burns_conv::<Flex>(x, weight, bias), relu),
        }
    }

    fn valid_conv_input_grad(weight: FlexTensor, dy: FlexTensor) -> FlexTensor {
        let (ws, ys) = (weight.shape(), dy.shape());
        let d = Dims {
            batch: ys[0],
            c_in: ws[1],
            height: (ys[2] + ws[2]).saturating_sub(1),
            width: (ys[3] + ws[3]).saturating_sub(1),
            c_out: ws[0],
            k_height: ws[2],
            k_width: ws[3],
        };
        match (contiguous(&weight), contiguous(&dy)) {
            (Some(w), Some(g)) => {
                tensor(conv::backward_input(values(&w), values(&g), d), [d.batch, d.c_in, d.height, d.width])
            }
            _ => burns_input_grad::<Flex>(weight, dy),
        }
    }

    fn valid_conv_weight_grad(x: FlexTensor, dy: FlexTensor) -> FlexTensor {
        let (xs, ys) = (x.shape(), dy.shape());
        let d = Dims {
            batch: xs[0],
            c_in: xs[1],
            height: xs[2],
            width: xs[3],
            c_out: ys[1],
            k_height: xs[2] + 1 - ys[2],
            k_width: xs[3] + 1 - ys[3],
        };
        match (contiguous(&x), contiguous(&dy)) {
            (Some(x), Some(g)) => {
                tensor(conv::backward_weight(values(&x), values(&g), d), [d.c_out, d.c_in, d.k_height, d.k_width])
            }
            _ => burns_weight_grad::<Flex>(x, dy),
        }
    }

    fn valid_conv_bias_grad(dy: FlexTensor) -> FlexTensor {
        let ys = dy.shape();
        let d = Dims { batch: ys[0], c_in: 0, height: ys[2], width: ys[3], c_out: ys[1], k_height: 1, k_width: 1 };
        match contiguous(&dy) {
            Some(g) => tensor(conv::backward_bias(values(&g), d), [d.c_out]),
            None => burns_bias_grad::<Flex>(dy),
        }
    }
}

/// WebGPU (and wgpu natively): [`super::gpu_conv`]'s kernels.
#[cfg(cube_kernels)]
impl ValidConv for burn_cubecl::CubeBackend {
    fn valid_conv(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>, relu: bool) -> FloatTensor<Self> {
        match super::gpu_conv::supports(x.dtype) {
            true => super::gpu_conv::forward(x, weight, bias, relu),
            false => then_relu::<Self>(burns_conv::<Self>(x, weight, bias), relu),
        }
    }

    fn valid_conv_input_grad(weight: FloatTensor<Self>, dy: FloatTensor<Self>) -> FloatTensor<Self> {
        match super::gpu_conv::supports(dy.dtype) {
            true => super::gpu_conv::input_grad(weight, dy),
            false => burns_input_grad::<Self>(weight, dy),
        }
    }

    fn valid_conv_weight_grad(x: FloatTensor<Self>, dy: FloatTensor<Self>) -> FloatTensor<Self> {
        match super::gpu_conv::supports(x.dtype) {
            true => super::gpu_conv::weight_grad(x, dy),
            false => burns_weight_grad::<Self>(x, dy),
        }
    }

    fn valid_conv_bias_grad(dy: FloatTensor<Self>) -> FloatTensor<Self> {
        // On a software adapter burn's three reductions stay: there the host's work per
        // dispatch is small beside the kernels', and ours took 43 ms of a 1,290 ms step where
        // burn's took 16 (see `gpu_conv::bias_grad`).
        match super::gpu_conv::supports(dy.dtype) && !super::gpu_tile::on_software(&dy) {
            true => super::gpu_conv::bias_grad(dy),
            false => burns_bias_grad::<Self>(dy),
        }
    }
}

/// Autodiff: the forward on the inner backend, and a backward step that calls the inner
/// backend's three gradient kernels for whichever inputs are tracked (the network's first
/// convolution needs no input gradient: its input is the data).
impl<B: Backend + ValidConv + ReluGrad, C: CheckpointStrategy> ValidConv for Autodiff<B, C> {
    fn valid_conv(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>, relu: bool) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct ValidConvBackward;

        impl<B: Backend + ValidConv + ReluGrad> Backward<B, 3> for ValidConvBackward {
            type State = LayerState<B>;

            fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
                let [node_x, node_weight, node_bias] = ops.parents;
                let (x, weight, relu_output) = ops.state;
                let dy = through_relu::<B>(relu_output, grads.consume::<B>(&ops.node));
                if let Some(node) = node_x {
                    grads.register::<B>(node.id, B::valid_conv_input_grad(weight, dy.clone()));
                }
                if let Some(node) = node_weight {
                    grads.register::<B>(node.id, B::valid_conv_weight_grad(x, dy.clone()));
                }
                if let Some(node) = node_bias {
                    grads.register::<B>(node.id, B::valid_conv_bias_grad(dy));
                }
            }
        }

        layer::<B, C, _>(ValidConvBackward, [x, weight, bias], relu, B::valid_conv)
    }
}

#[backend_extension(Flex, Autodiff, Cube: cfg(cube_kernels))]
pub trait Dense: Backend {
    /// `x` `[batch, d_in]` · `weight` `[d_in, d_out]` + `bias` `[d_out]` → `[batch, d_out]`:
    /// burn's `Linear` (whose weight is stored `[d_in, d_out]`); with `relu`, the ReLU of it.
    fn dense(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>, relu: bool) -> FloatTensor<Self> {
        then_relu::<Self>(burns_dense::<Self>(x, weight, bias), relu)
    }

    /// `a` `[m, k]` · `b` `[k, n]`: the gradients' products (`dy · wᵀ`, `xᵀ · dy`).
    fn dense_product(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_matmul(a, b)
    }
}

/// The CPU keeps burn's matrix product (`gemm`); only the extension's dispatch needs this.
impl Dense for Flex {}

/// WebGPU (and wgpu natively): [`super::gpu_dense`]'s kernel.
#[cfg(cube_kernels)]
impl Dense for burn_cubecl::CubeBackend {
    fn dense(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>, relu: bool) -> FloatTensor<Self> {
        match super::gpu_dense::supports(x.dtype) {
            true => super::gpu_dense::product(x, weight, Some(bias), relu),
            false => then_relu::<Self>(burns_dense::<Self>(x, weight, bias), relu),
        }
    }

    fn dense_product(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        match super::gpu_dense::supports(a.dtype) {
            true => super::gpu_dense::product(a, b, None, false),
            false => burns_product::<Self>(a, b),
        }
    }
}

/// Autodiff: `dx = dy · wᵀ`, `dw = xᵀ · dy` (transposed views, not copies), `db = Σ_batch dy`,
/// each only for a tracked input (the linear network's input is the data).
impl<B: Backend + Dense + ReluGrad, C: CheckpointStrategy> Dense for Autodiff<B, C> {
    fn dense(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>, relu: bool) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct DenseBackward;

        impl<B: Backend + Dense + ReluGrad> Backward<B, 3> for DenseBackward {
            type State = LayerState<B>;

            fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
                let [node_x, node_weight, node_bias] = ops.parents;
                let (x, weight, relu_output) = ops.state;
                let dy = through_relu::<B>(relu_output, grads.consume::<B>(&ops.node));
                if let Some(node) = node_x {
                    grads.register::<B>(node.id, B::dense_product(dy.clone(), B::float_transpose(weight)));
                }
                if let Some(node) = node_weight {
                    grads.register::<B>(node.id, B::dense_product(B::float_transpose(x), dy.clone()));
                }
                if let Some(node) = node_bias {
                    let d_out = dy.shape()[1];
                    grads.register::<B>(node.id, B::float_reshape(B::float_sum_dim(dy, 0), Shape::new([d_out])));
                }
            }
        }

        layer::<B, C, _>(DenseBackward, [x, weight, bias], relu, B::dense)
    }
}

/// What [`MeanCrossEntropy::cross_entropy_parts`] returns: the mean loss, `[1]`, and its
/// gradient with respect to the logits, `[batch, classes]`; with a tally passed in, the tally
/// plus this batch's `[loss·batch, rows read right]` (else the placeholder passed in).
#[derive(ExtensionType)]
pub struct LossParts<B: Backend> {
    pub loss: FloatTensor<B>,
    pub grad: FloatTensor<B>,
    pub tally: FloatTensor<B>,
}

/// What [`MeanCrossEntropy::mean_cross_entropy_tallied`] returns: the mean loss, `[1]`, and the
/// tally, `[2]` (no gradient).
#[derive(ExtensionType)]
pub struct LossAndTally<B: Backend> {
    pub loss: FloatTensor<B>,
    pub tally: FloatTensor<B>,
}

#[backend_extension(Flex, Autodiff, Cube: cfg(cube_kernels))]
pub trait MeanCrossEntropy: Backend {
    /// The loss's parts for `logits` `[batch, classes]` and `targets` `[batch]`, with Keras'
    /// clip (`train::loss`): burn's operations (log-softmax, gather, clamp; softmax minus the
    /// one-hot targets, zero for a clipped row). With `tallied`, `tally` `[2]` plus the loss
    /// summed over the batch and the rows whose first maximum is the target (the trainer's
    /// running totals between two reports); without, `tally` is a placeholder, returned as is.
    fn cross_entropy_parts(logits: FloatTensor<Self>, targets: IntTensor<Self>, tally: FloatTensor<Self>, tallied: bool) -> LossParts<Self> {
        burns_cross_entropy_parts::<Self>(logits, targets, tally, tallied)
    }

    /// The mean cross-entropy, `[1]`. On autodiff its backward step scales the gradient
    /// computed with it.
    fn mean_cross_entropy(logits: FloatTensor<Self>, targets: IntTensor<Self>) -> FloatTensor<Self> {
        let placeholder = Self::float_empty(Shape::new([1]), &logits.device(), FloatDType::from(logits.dtype()));
        Self::cross_entropy_parts(logits, targets, placeholder, false).loss
    }

    /// [`MeanCrossEntropy::mean_cross_entropy`] and the tally in the same pass (one kernel on
    /// WebGPU, where the tally by itself was eight dispatches of burn's operations).
    fn mean_cross_entropy_tallied(logits: FloatTensor<Self>, targets: IntTensor<Self>, tally: FloatTensor<Self>) -> LossAndTally<Self> {
        let parts = Self::cross_entropy_parts(logits, targets, tally, true);
        LossAndTally { loss: parts.loss, tally: parts.tally }
    }
}

/// The CPU keeps burn's operations; only the extension's dispatch needs this.
impl MeanCrossEntropy for Flex {}

/// WebGPU (and wgpu natively): [`super::gpu_loss`]'s kernel.
#[cfg(cube_kernels)]
impl MeanCrossEntropy for burn_cubecl::CubeBackend {
    fn cross_entropy_parts(logits: FloatTensor<Self>, targets: IntTensor<Self>, tally: FloatTensor<Self>, tallied: bool) -> LossParts<Self> {
        match super::gpu_loss::supports(logits.dtype) && (!tallied || tally.dtype == logits.dtype) {
            true => {
                let (loss, grad, summed) = super::gpu_loss::cross_entropy(logits, targets, tallied.then_some(tally.clone()));
                LossParts { loss, grad, tally: summed.unwrap_or(tally) }
            }
            false => burns_cross_entropy_parts::<Self>(logits, targets, tally, tallied),
        }
    }
}

/// The backward step of the loss: the gradient computed with the loss, times the loss's own
/// (1 when the loss is what is differentiated).
#[derive(Debug)]
struct CrossEntropyBackward;

impl<B: Backend + MeanCrossEntropy> Backward<B, 1> for CrossEntropyBackward {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_logits] = ops.parents;
        let upstream = grads.consume::<B>(&ops.node);
        if let Some(node) = node_logits {
            let upstream = B::float_reshape(upstream, Shape::new([1, 1]));
            grads.register::<B>(node.id, B::float_mul(ops.state, upstream));
        }
    }
}

/// Autodiff: the loss and its gradient from one call on the inner backend; the tally, which
/// carries no gradient, passes through untracked.
impl<B: Backend + MeanCrossEntropy, C: CheckpointStrategy> MeanCrossEntropy for Autodiff<B, C> {
    fn mean_cross_entropy(logits: FloatTensor<Self>, targets: IntTensor<Self>) -> FloatTensor<Self> {
        tracked_loss::<B, C>(logits, targets, None).0
    }

    fn mean_cross_entropy_tallied(logits: FloatTensor<Self>, targets: IntTensor<Self>, tally: FloatTensor<Self>) -> LossAndTally<Self> {
        let (loss, tally) = tracked_loss::<B, C>(logits, targets, Some(tally.into_primitive()));
        LossAndTally { loss, tally: Self::from_inner(tally) }
    }
}

/// The loss on `B` under [`CrossEntropyBackward`], and with a `tally`, the tally on `B`.
fn tracked_loss<B: Backend + MeanCrossEntropy, C: CheckpointStrategy>(
    logits: FloatTensor<Autodiff<B, C>>,
    targets: IntTensor<Autodiff<B, C>>,
    tally: Option<FloatTensor<B>>,
) -> (FloatTensor<Autodiff<B, C>>, FloatTensor<B>) {
    let prepared = CrossEntropyBackward.prepare::<C>([logits.node()]).compute_bound().stateful();
    let logits = logits.into_primitive();
    let tallied = tally.is_some();
    let tally = tally.unwrap_or_else(|| B::float_empty(Shape::new([1]), &logits.device(), FloatDType::from(logits.dtype())));
    let parts = B::cross_entropy_parts(logits, targets, tally, tallied);
    let loss = match prepared {
        OpsKind::Tracked(prep) => prep.finish(parts.grad, parts.loss),
        OpsKind::UnTracked(prep) => prep.finish(parts.loss),
    };
    (loss, parts.tally)
}

/// What [`GatherBatch::gather_batch`] returns: the images, `[count, words·4]` f32, and their
/// labels, `[count]`.
#[derive(ExtensionType)]
pub struct BatchParts<B: Backend> {
    pub images: FloatTensor<B>,
    pub labels: IntTensor<B>,
}

#[backend_extension(Flex, Autodiff, Cube: cfg(cube_kernels))]
pub trait GatherBatch: Backend {
    /// The examples at `order[first..first + count]`: their rows of `packed` `[rows, words]`,
    /// each word's four bytes (lowest first) as `byte·scale + offset`, and their `labels`.
    /// Burn's operations: the order's slice, two `select`s, a shift and mask per byte, a
    /// concatenation, a cast and a multiply-add.
    fn gather_batch(packed: IntTensor<Self>, labels: IntTensor<Self>, order: IntTensor<Self>, first: usize, count: usize, scale: f32, offset: f32) -> BatchParts<Self> {
        burns_gather_batch::<Self>(packed, labels, order, first, count, scale, offset)
    }
}

impl GatherBatch for Flex {}

/// Data carries no gradient: burn's operations on autodiff too (never routed here in
/// practice, the trainer gathers on the inner device).
impl<B: Backend, C: CheckpointStrategy> GatherBatch for Autodiff<B, C> {}

/// WebGPU (and wgpu natively): [`super::gpu_batch`]'s kernel.
#[cfg(cube_kernels)]
impl GatherBatch for burn_cubecl::CubeBackend {
    fn gather_batch(packed: IntTensor<Self>, labels: IntTensor<Self>, order: IntTensor<Self>, first: usize, count: usize, scale: f32, offset: f32) -> BatchParts<Self> {
        // The kernel reads labels as the packed words' integer type.
        match packed.dtype == labels.dtype && packed.dtype == order.dtype {
            true => {
                let (images, labels) = super::gpu_batch::gather_batch(packed, labels, order, first, count, scale, offset);
                BatchParts { images, labels }
            }
            false => burns_gather_batch::<Self>(packed, labels, order, first, count, scale, offset),
        }
    }
}

#[backend_extension(Flex, Autodiff, Cube: cfg(cube_kernels))]
pub trait MaxPool2x2: Backend {
    /// `x` `[batch, channels, h, w]` → `[batch, channels, h / 2, w / 2]`, the maximum of each
    /// 2x2 window (stride 2, no padding): burn's `max_pool2d`.
    fn max_pool_2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        burns_max_pool::<Self>(x)
    }

    /// Its gradient with respect to `x`, given the output's `dy`: each window's gradient goes
    /// to its first maximum. Burn's `max_pool2d_with_indices` and its backward.
    fn max_pool_2x2_backward(x: FloatTensor<Self>, dy: FloatTensor<Self>) -> FloatTensor<Self> {
        burns_max_pool_backward::<Self>(x, dy)
    }
}

/// The CPU: [`super::pool`]'s kernels.
impl MaxPool2x2 for Flex {
    fn max_pool_2x2(x: FlexTensor) -> FlexTensor {
        match contiguous(&x) {
            Some(xc) => {
                let (p, [batch, channels, h, w]) = planes(&x.shape());
                tensor(pool::forward(values(&xc), p), [batch, channels, h / 2, w / 2])
            }
            None => burns_max_pool::<Flex>(x),
        }
    }

    fn max_pool_2x2_backward(x: FlexTensor, dy: FlexTensor) -> FlexTensor {
        match (contiguous(&x), contiguous(&dy)) {
            (Some(xc), Some(g)) => {
                let (p, shape) = planes(&x.shape());
                tensor(pool::backward(values(&xc), values(&g), p), shape)
            }
            _ => burns_max_pool_backward::<Flex>(x, dy),
        }
    }
}

/// `[batch, channels, h, w]` as planes for [`super::pool`], and as an array.
fn planes(shape: &Shape) -> (pool::Planes, [usize; 4]) {
    let dims = [shape[0], shape[1], shape[2], shape[3]];
    (pool::Planes { planes: dims[0] * dims[1], h: dims[2], w: dims[3] }, dims)
}

/// WebGPU (and wgpu natively): [`super::gpu_pool`]'s kernels.
#[cfg(cube_kernels)]
impl MaxPool2x2 for burn_cubecl::CubeBackend {
    fn max_pool_2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match super::gpu_pool::supports(x.dtype) {
            true => super::gpu_pool::forward(x),
            false => burns_max_pool::<Self>(x),
        }
    }

    fn max_pool_2x2_backward(x: FloatTensor<Self>, dy: FloatTensor<Self>) -> FloatTensor<Self> {
        match super::gpu_pool::supports(x.dtype) {
            true => super::gpu_pool::backward(x, dy),
            false => burns_max_pool_backward::<Self>(x, dy),
        }
    }
}

/// Autodiff: the forward on the inner backend, keeping `x`; the backward step finds each
/// window's maximum again (no indices kept).
impl<B: Backend + MaxPool2x2, C: CheckpointStrategy> MaxPool2x2 for Autodiff<B, C> {
    fn max_pool_2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct MaxPoolBackward;

        impl<B: Backend + MaxPool2x2> Backward<B, 1> for MaxPoolBackward {
            type State = FloatTensor<B>;

            fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
                let [node_x] = ops.parents;
                let dy = grads.consume::<B>(&ops.node);
                if let Some(node) = node_x {
                    grads.register::<B>(node.id, B::max_pool_2x2_backward(ops.state, dy));
                }
            }
        }

        match MaxPoolBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let x = x.into_primitive();
                let output = B::max_pool_2x2(x.clone());
                prep.finish(x, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::max_pool_2x2(x.into_primitive())),
        }
    }
}

#[backend_extension(Flex, Autodiff, Cube: cfg(cube_kernels))]
pub trait SgdUpdate: Backend {
    /// `param − lr·grad`: burn's `Sgd` without momentum or weight decay (a multiply, then a
    /// subtraction).
    fn sgd_update(param: FloatTensor<Self>, grad: FloatTensor<Self>, lr: f64) -> FloatTensor<Self> {
        burns_sgd_update::<Self>(param, grad, lr)
    }
}

impl SgdUpdate for Flex {}

/// Parameters are updated on the inner backend (burn's optimizers see untracked tensors):
/// burn's operations here too, never routed in practice.
impl<B: Backend, C: CheckpointStrategy> SgdUpdate for Autodiff<B, C> {}

/// WebGPU (and wgpu natively): [`super::gpu_sgd`]'s kernel.
#[cfg(cube_kernels)]
impl SgdUpdate for burn_cubecl::CubeBackend {
    fn sgd_update(param: FloatTensor<Self>, grad: FloatTensor<Self>, lr: f64) -> FloatTensor<Self> {
        match super::gpu_sgd::supports(param.dtype) {
            true => super::gpu_sgd::update(param, grad, lr),
            false => burns_sgd_update::<Self>(param, grad, lr),
        }
    }
}

/// The backward of a ReLU fused into a layer (the convolution's, the dense layer's): what
/// their autodiff backward steps call before their own gradients.
#[backend_extension(Flex, Autodiff, Cube: cfg(cube_kernels))]
pub trait ReluGrad: Backend {
    /// `dy` where the ReLU's output `y` is positive, zero elsewhere: burn's `relu_backward`.
    fn relu_grad(y: FloatTensor<Self>, dy: FloatTensor<Self>) -> FloatTensor<Self> {
        burns_relu_grad::<Self>(y, dy)
    }
}

/// The CPU: [`super::relu::grad`], on every thread.
impl ReluGrad for Flex {
    fn relu_grad(y: FlexTensor, dy: FlexTensor) -> FlexTensor {
        match (contiguous(&y), contiguous(&dy)) {
            (Some(yc), Some(mut g)) if yc.shape() == g.shape() => {
                // Masked in place when the gradient's buffer is its alone and all of it (it
                // usually is: the layer above has just made it); into a copy otherwise. `g` is
                // contiguous, so a buffer of exactly its length is all of it, from offset 0.
                drop(dy);
                let n = g.shape().num_elements();
                match g.try_storage_mut::<f32>() {
                    Some(s) if s.len() == n => {
                        relu::grad_in_place(values(&yc), s);
                        g
                    }
                    _ => FlexTensor::new(Bytes::from_elems(relu::grad(values(&yc), values(&g))), Layout::contiguous(yc.shape()), DType::F32),
                }
            }
            _ => burns_relu_grad::<Flex>(y, dy),
        }
    }
}

/// Gradients are computed on the inner backend: never routed here in practice.
impl<B: Backend, C: CheckpointStrategy> ReluGrad for Autodiff<B, C> {}

/// WebGPU (and wgpu natively): one pass ([`super::gpu_tile::relu_grad`]) instead of a
/// comparison and a masked fill.
#[cfg(cube_kernels)]
impl ReluGrad for burn_cubecl::CubeBackend {
    fn relu_grad(y: FloatTensor<Self>, dy: FloatTensor<Self>) -> FloatTensor<Self> {
        match super::gpu_tile::supports(y.dtype) {
            true => super::gpu_tile::relu_grad(y, dy),
            false => burns_relu_grad::<Self>(y, dy),
        }
    }
}

/// `dy` through the layer's fused ReLU, if it has one (its output kept for this).
fn through_relu<B: Backend + ReluGrad>(relu_output: Option<FloatTensor<B>>, dy: FloatTensor<B>) -> FloatTensor<B> {
    match relu_output {
        Some(y) => B::relu_grad(y, dy),
        None => dy,
    }
}

/// What a layer's backward step keeps: `x`, `weight`, and with a fused ReLU its output (whose
/// sign masks the gradient arriving from above).
type LayerState<B> = (FloatTensor<B>, FloatTensor<B>, Option<FloatTensor<B>>);

/// A layer `forward(x, weight, bias, relu)` on autodiff: computed on the inner backend, and when
/// any input is tracked, recorded with `backward`.
fn layer<B, C, K>(
    backward: K,
    [x, weight, bias]: [FloatTensor<Autodiff<B, C>>; 3],
    relu: bool,
    forward: fn(FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, bool) -> FloatTensor<B>,
) -> FloatTensor<Autodiff<B, C>>
where
    B: Backend,
    C: CheckpointStrategy,
    K: Backward<B, 3, State = LayerState<B>>,
{
    match backward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let (x, weight, bias) = (x.into_primitive(), weight.into_primitive(), bias.into_primitive());
            let output = forward(x.clone(), weight.clone(), bias, relu);
            prep.finish((x, weight, relu.then(|| output.clone())), output)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(x.into_primitive(), weight.into_primitive(), bias.into_primitive(), relu)),
    }
}

/// `t`, or its ReLU.
fn then_relu<B: Backend>(t: FloatTensor<B>, relu: bool) -> FloatTensor<B> {
    match relu {
        true => B::relu(t),
        false => t,
    }
}

// burn's own operations for the same results: the trait's default bodies, and Flex's path for
// a dtype other than f32.

fn burns_conv<B: Backend>(x: FloatTensor<B>, weight: FloatTensor<B>, bias: FloatTensor<B>) -> FloatTensor<B> {
    B::conv2d(x, weight, Some(bias), ConvOptions::new(STRIDE_1, NO_PADDING, STRIDE_1, 1))
}

/// The transposed convolution, whose output is exactly the input's size.
fn burns_input_grad<B: Backend>(weight: FloatTensor<B>, dy: FloatTensor<B>) -> FloatTensor<B> {
    B::conv_transpose2d(dy, weight, None, ConvTransposeOptions::new(STRIDE_1, NO_PADDING, NO_PADDING, STRIDE_1, 1))
}

/// `x` convolved by `dy`, batch and channels swapped.
fn burns_weight_grad<B: Backend>(x: FloatTensor<B>, dy: FloatTensor<B>) -> FloatTensor<B> {
    let options = ConvOptions::new(STRIDE_1, NO_PADDING, STRIDE_1, 1);
    let swapped = B::conv2d(B::float_swap_dims(x, 0, 1), B::float_swap_dims(dy, 0, 1), None, options);
    B::float_swap_dims(swapped, 0, 1)
}

/// burn's `Linear`: the product, then the bias added on every row.
fn burns_dense<B: Backend>(x: FloatTensor<B>, weight: FloatTensor<B>, bias: FloatTensor<B>) -> FloatTensor<B> {
    let d_out = weight.shape()[1];
    B::float_add(B::float_matmul(x, weight), B::float_reshape(bias, Shape::new([1, d_out])))
}

/// burn's product, where our dense kernel does not take the dtype (builds with it only).
#[cfg(cube_kernels)]
fn burns_product<B: Backend>(a: FloatTensor<B>, b: FloatTensor<B>) -> FloatTensor<B> {
    B::float_matmul(a, b)
}

/// Log-softmax (shifted by each row's maximum), the targets' entries gathered, negated and
/// divided by the batch; the gradient as softmax minus the one-hot targets, divided likewise.
fn burns_cross_entropy_parts<B: Backend>(logits: FloatTensor<B>, targets: IntTensor<B>, tally: FloatTensor<B>, tallied: bool) -> LossParts<B> {
    let [batch, classes] = logits.shape().dims::<2>();
    let tally = match tallied {
        true => burns_step_tally::<B>(tally, logits.clone(), targets.clone()),
        false => tally,
    };
    let dtype = FloatDType::from(logits.dtype());
    let device = logits.device();
    let shifted = B::float_sub(logits.clone(), B::float_max_dim(logits, 1));
    let log_sum = B::float_log(B::float_sum_dim(B::float_exp(shifted.clone()), 1));
    let log_p = B::float_sub(shifted, log_sum);
    let targets = B::int_reshape(targets, Shape::new([batch, 1]));
    let picked = B::float_gather(1, log_p.clone(), targets.clone());
    // Keras' clip (train::loss): a log-probability outside [ln ε, ln(1 − ε)] costs the bound
    // and its row gets no gradient; a NaN is in neither mask, so it still shows.
    let (low, high) = (crate::train::loss::LOG_LOW, crate::train::loss::LOG_HIGH);
    let bools = burn::backend::get_or_init_device_settings::<B>(&device).bool_dtype;
    let clipped = B::bool_or(
        B::float_lower_elem(picked.clone(), low.into(), bools),
        B::float_greater_elem(picked.clone(), high.into(), bools),
    );
    let picked = B::float_clamp(picked, low.into(), high.into());
    let shares = B::float_reshape(B::float_div_scalar(B::float_neg(picked), (batch as f64).into()), Shape::new([batch]));
    let minus_one = B::float_full(Shape::new([batch, 1]), (-1.0).into(), &device, dtype);
    let grad = B::float_scatter(1, B::float_exp(log_p), targets, minus_one, IndexingUpdateOp::Add);
    let grad = B::float_mask_fill(grad, B::bool_expand(clipped, Shape::new([batch, classes])), 0.0.into());
    let loss = B::float_sum(shares);
    // The loss's own share of the tally, added once the loss exists.
    let tally = match tallied {
        true => B::float_add(tally, B::float_cat(vec![B::float_mul_scalar(loss.clone(), (batch as f64).into()), B::float_zeros(Shape::new([1]), &device, dtype)], 0)),
        false => tally,
    };
    LossParts { loss, grad: B::float_div_scalar(grad, (batch as f64).into()), tally }
}

fn burns_gather_batch<B: Backend>(packed: IntTensor<B>, labels: IntTensor<B>, order: IntTensor<B>, first: usize, count: usize, scale: f32, offset: f32) -> BatchParts<B> {
    let indices = B::int_slice(order, &[Slice { start: first as isize, end: Some((first + count) as isize), step: 1 }]);
    let labels = B::int_select(labels, 0, indices.clone());
    BatchParts { images: burns_gather_unpack::<B>(packed, indices, scale, offset), labels }
}

/// `tally` plus `[0, rows of logits whose first maximum is the target]`.
fn burns_step_tally<B: Backend>(tally: FloatTensor<B>, logits: FloatTensor<B>, targets: IntTensor<B>) -> FloatTensor<B> {
    let [batch, _] = logits.shape().dims::<2>();
    let dtype = FloatDType::from(logits.dtype());
    let device = logits.device();
    let bools = burn::backend::get_or_init_device_settings::<B>(&device).bool_dtype;
    let ints = IntDType::from(targets.dtype());
    let guessed = B::int_reshape(B::float_argmax(logits, 1, ints), Shape::new([batch]));
    let right = B::int_sum(B::bool_into_int(B::int_equal(guessed, targets, bools), ints));
    let step = B::float_cat(vec![B::float_zeros(Shape::new([1]), &device, dtype), B::int_into_float(right, dtype)], 0);
    B::float_add(tally, step)
}

fn burns_gather_unpack<B: Backend>(packed: IntTensor<B>, indices: IntTensor<B>, scale: f32, offset: f32) -> FloatTensor<B> {
    let [_, words] = packed.shape().dims::<2>();
    let rows = B::int_select(packed, 0, indices);
    let batch = rows.shape()[0];
    let as_column = |t: IntTensor<B>| B::int_reshape(t, Shape::new([batch, words, 1]));
    let bytes = (0..4)
        .map(|j| as_column(B::bitwise_and_scalar(B::bitwise_right_shift_scalar(rows.clone(), (8 * j).into()), 0xff.into())))
        .collect();
    let bytes = B::int_reshape(B::int_cat(bytes, 2), Shape::new([batch, words * 4]));
    let values = B::int_into_float(bytes, FloatDType::F32);
    B::float_add_scalar(B::float_mul_scalar(values, scale.into()), offset.into())
}

fn burns_sgd_update<B: Backend>(param: FloatTensor<B>, grad: FloatTensor<B>, lr: f64) -> FloatTensor<B> {
    B::float_sub(param, B::float_mul_scalar(grad, lr.into()))
}

fn burns_relu_grad<B: Backend>(y: FloatTensor<B>, dy: FloatTensor<B>) -> FloatTensor<B> {
    B::relu_backward(y, dy)
}

const POOL: [usize; 2] = [2, 2];

fn burns_max_pool<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    B::max_pool2d(x, POOL, POOL, NO_PADDING, STRIDE_1, false)
}

/// The gradient through burn's pooling: its maxima's indices found again, then its backward.
fn burns_max_pool_backward<B: Backend>(x: FloatTensor<B>, dy: FloatTensor<B>) -> FloatTensor<B> {
    let pooled = B::max_pool2d_with_indices(x.clone(), POOL, POOL, NO_PADDING, STRIDE_1, false, IntDType::I32);
    B::max_pool2d_with_indices_backward(x, POOL, POOL, NO_PADDING, STRIDE_1, false, dy, pooled.indices).x_grad
}

/// `dy` summed over batch and positions.
fn burns_bias_grad<B: Backend>(dy: FloatTensor<B>) -> FloatTensor<B> {
    let channels = dy.shape()[1];
    let summed = B::float_sum_dim(B::float_sum_dim(B::float_sum_dim(dy, 3), 2), 0);
    B::float_reshape(summed, Shape::new([channels]))
}

fn burns_batch_norm<B: Backend>(x: FloatTensor<B>, gamma: FloatTensor<B>, beta: FloatTensor<B>, epsilon: f64) -> Normalised<B> {
    let result = B::batch_norm_train(x, gamma, beta, epsilon);
    Normalised { output: result.output, mean: result.mean, variance: result.variance }
}

fn burns_batch_norm_backward<B: Backend>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    mean: FloatTensor<B>,
    variance: FloatTensor<B>,
    epsilon: f64,
    dy: FloatTensor<B>,
) -> NormGrads<B> {
    let grads = B::batch_norm_train_backward(x, gamma, mean, variance, epsilon, dy);
    NormGrads { x: grads.x_grad, gamma: grads.gamma_grad, beta: grads.beta_grad }
}

fn dims(x: &Shape, weight: &Shape) -> Dims {
    Dims {
        batch: x[0],
        c_in: x[1],
        height: x[2],
        width: x[3],
        c_out: weight[0],
        k_height: weight[2],
        k_width: weight[3],
    }
}

/// `t` in row-major order if it holds f32 (a cheap clone when it already is); `None` for
/// another dtype, which takes burn's own path.
fn contiguous(t: &FlexTensor) -> Option<FlexTensor> {
    (t.dtype() == DType::F32).then(|| t.to_contiguous())
}

fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("a contiguous f32 tensor has a slice view")
}

fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::new(Bytes::from_elems(values), Layout::contiguous(Shape::new(shape)), DType::F32)
}

/// What [`TrainBatchNorm::batch_norm_batch_stats`] returns: the output, and the batch's mean
/// and biased variance per channel.
#[derive(ExtensionType)]
pub struct Normalised<B: Backend> {
    pub output: FloatTensor<B>,
    pub mean: FloatTensor<B>,
    pub variance: FloatTensor<B>,
}

/// The gradients of [`TrainBatchNorm::batch_norm_batch_stats`] with respect to `x`, γ and β.
#[derive(ExtensionType)]
pub struct NormGrads<B: Backend> {
    pub x: FloatTensor<B>,
    pub gamma: FloatTensor<B>,
    pub beta: FloatTensor<B>,
}

#[backend_extension(Flex, Autodiff, Cube: cfg(cube_kernels))]
pub trait TrainBatchNorm: Backend {
    /// Batch normalisation with the batch's own statistics: burn's `batch_norm_train`.
    fn batch_norm_batch_stats(x: FloatTensor<Self>, gamma: FloatTensor<Self>, beta: FloatTensor<Self>, epsilon: f64) -> Normalised<Self> {
        burns_batch_norm::<Self>(x, gamma, beta, epsilon)
    }

    /// Its gradients, given the statistics it returned: burn's `batch_norm_train_backward`.
    fn batch_norm_batch_stats_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        dy: FloatTensor<Self>,
    ) -> NormGrads<Self> {
        burns_batch_norm_backward::<Self>(x, gamma, mean, variance, epsilon, dy)
    }
}

impl TrainBatchNorm for Flex {
    fn batch_norm_batch_stats(x: FlexTensor, gamma: FlexTensor, beta: FlexTensor, epsilon: f64) -> Normalised<Self> {
        match (contiguous(&x), contiguous(&gamma), contiguous(&beta)) {
            (Some(xc), Some(g), Some(b)) => {
                let shape = x.shape();
                let d = norm_dims(&shape);
                let out = batch_norm::forward(values(&xc), values(&g), values(&b), epsilon, d);
                Normalised {
                    output: FlexTensor::new(Bytes::from_elems(out.output), Layout::contiguous(shape), DType::F32),
                    mean: tensor(out.mean, [d.channels]),
                    variance: tensor(out.variance, [d.channels]),
                }
            }
            _ => burns_batch_norm::<Flex>(x, gamma, beta, epsilon),
        }
    }

    fn batch_norm_batch_stats_backward(
        x: FlexTensor,
        gamma: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        epsilon: f64,
        dy: FlexTensor,
    ) -> NormGrads<Self> {
        let all = (contiguous(&x), contiguous(&gamma), contiguous(&mean), contiguous(&variance), contiguous(&dy));
        match all {
            (Some(xc), Some(g), Some(m), Some(v), Some(dyc)) => {
                let shape = x.shape();
                let d = norm_dims(&shape);
                let grads = batch_norm::backward(values(&xc), values(&g), values(&m), values(&v), epsilon, values(&dyc), d);
                NormGrads {
                    x: FlexTensor::new(Bytes::from_elems(grads.x), Layout::contiguous(shape), DType::F32),
                    gamma: tensor(grads.gamma, [d.channels]),
                    beta: tensor(grads.beta, [d.channels]),
                }
            }
            _ => burns_batch_norm_backward::<Flex>(x, gamma, mean, variance, epsilon, dy),
        }
    }
}

/// WebGPU (and wgpu natively): [`super::gpu_batch_norm`]'s kernels.
#[cfg(cube_kernels)]
impl TrainBatchNorm for burn_cubecl::CubeBackend {
    fn batch_norm_batch_stats(x: FloatTensor<Self>, gamma: FloatTensor<Self>, beta: FloatTensor<Self>, epsilon: f64) -> Normalised<Self> {
        match super::gpu_batch_norm::supports(x.dtype) {
            true => {
                let (output, mean, variance) = super::gpu_batch_norm::forward(x, gamma, beta, epsilon);
                Normalised { output, mean, variance }
            }
            false => burns_batch_norm::<Self>(x, gamma, beta, epsilon),
        }
    }

    fn batch_norm_batch_stats_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        dy: FloatTensor<Self>,
    ) -> NormGrads<Self> {
        match super::gpu_batch_norm::supports(x.dtype) {
            true => {
                let (x, gamma, beta) = super::gpu_batch_norm::backward(x, gamma, mean, variance, epsilon, dy);
                NormGrads { x, gamma, beta }
            }
            false => burns_batch_norm_backward::<Self>(x, gamma, mean, variance, epsilon, dy),
        }
    }
}

/// Autodiff: the output is tracked, with a backward step calling the inner backend's
/// gradient kernel; the statistics come back untracked (they feed running statistics only).
impl<B: Backend + TrainBatchNorm, C: CheckpointStrategy> TrainBatchNorm for Autodiff<B, C> {
    fn batch_norm_batch_stats(x: FloatTensor<Self>, gamma: FloatTensor<Self>, beta: FloatTensor<Self>, epsilon: f64) -> Normalised<Self> {
        #[derive(Debug)]
        struct BatchNormBackward;

        impl<B: Backend + TrainBatchNorm> Backward<B, 3> for BatchNormBackward {
            /// x, γ, the batch's mean and variance, ε.
            type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, f64);

            fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
                let [node_x, node_gamma, node_beta] = ops.parents;
                let dy = grads.consume::<B>(&ops.node);
                let (x, gamma, mean, variance, epsilon) = ops.state;
                let g = B::batch_norm_batch_stats_backward(x, gamma, mean, variance, epsilon, dy);
                if let Some(node) = node_x {
                    grads.register::<B>(node.id, g.x);
                }
                if let Some(node) = node_gamma {
                    grads.register::<B>(node.id, g.gamma);
                }
                if let Some(node) = node_beta {
                    grads.register::<B>(node.id, g.beta);
                }
            }
        }

        let prepared = BatchNormBackward.prepare::<C>([x.node(), gamma.node(), beta.node()]).compute_bound().stateful();
        let (x, gamma, beta) = (x.into_primitive(), gamma.into_primitive(), beta.into_primitive());
        let result = B::batch_norm_batch_stats(x.clone(), gamma.clone(), beta, epsilon);
        let (mean, variance) = (Self::from_inner(result.mean.clone()), Self::from_inner(result.variance.clone()));
        let output = match prepared {
            OpsKind::Tracked(prep) => prep.finish((x, gamma, result.mean, result.variance, epsilon), result.output),
            OpsKind::UnTracked(prep) => prep.finish(result.output),
        };
        Normalised { output, mean, variance }
    }
}

/// `[batch, channels, ...]` as batch, channels and positions per channel.
fn norm_dims(shape: &Shape) -> batch_norm::Dims {
    let (batch, channels) = (shape[0], shape[1]);
    let positions = shape.num_elements() / (batch * channels).max(1);
    batch_norm::Dims { batch, channels, positions }
}
