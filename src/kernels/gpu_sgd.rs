//! A parameter's plain SGD update, `p − lr·g`, on WebGPU in one pass: the GPU side of
//! [`super::sgd_update`].
//!
//! Why: burn's `Sgd` multiplies the gradient by the learning rate and then subtracts, two
//! dispatches per parameter (24 per VGG-like step, 4 per linear one), each about 0.5 ms on
//! SwiftShader whatever its size.

use burn::backend::cubecl::dtype_to_storage_type;
use burn::tensor::DType;
use burn_cubecl::cubecl;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;

use super::gpu_tile::{elementwise_count, elementwise_position, output, u, vector_width, ELEMENTWISE_GROUP};

/// `N` values per invocation ([`vector_width`]).
#[cube(launch)]
fn sgd_kernel<F: Float, N: Size>(
    param: &Tensor<Vector<F, N>>,
    grad: &Tensor<Vector<F, N>>,
    out: &mut Tensor<Vector<F, N>>,
    total: u32,
    lr: f32,
    #[define(F)] _dtype: ElemType,
) {
    let at = elementwise_position();
    if at < total {
        out[at as usize] = param[at as usize] - Vector::new(F::cast_from(lr)) * grad[at as usize];
    }
}

/// `param − lr·grad`, a new tensor of `param`'s shape.
pub fn update(param: CubeTensor, grad: CubeTensor, lr: f64) -> CubeTensor {
    let (param, grad) = (into_contiguous(param), into_contiguous(grad));
    let out = output(&param, param.meta.shape().clone());
    let total = out.meta.shape().num_elements();
    let width = vector_width(total);
    let invocations = total / width;
    sgd_kernel::launch(
        &out.client,
        elementwise_count(invocations),
        CubeDim::new_1d(ELEMENTWISE_GROUP),
        width,
        param.into_tensor_arg(),
        grad.into_tensor_arg(),
        out.clone().into_tensor_arg(),
        u(invocations),
        lr as f32,
        dtype_to_storage_type(out.dtype),
    );
    out
}

/// Whether this kernel takes tensors of this type (f32; anything else takes burn's path).
pub fn supports(dtype: DType) -> bool {
    dtype == DType::F32
}
