//! A burn network from a weights file's values and a file from a network: what training,
//! export and the trainer's checks need. The file's own reading and writing, without burn,
//! is `file`'s.

use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;

use super::file::{parse, write, Parsed, Precision};
use super::{Tensors, WeightsError, WeightsMeta};
use crate::model::{Network, NetworkKind};
use crate::train::novelty::Novelty;

/// Serialise an (inference-mode) network with its metadata.
pub async fn encode(model: &Network, meta: &WeightsMeta) -> Result<Vec<u8>, WeightsError> {
    let mut collect = Collect::default();
    model.visit(&mut collect);
    let flat = Tensor::cat(collect.tensors, 0);
    let values = crate::train::runner::read_floats(flat).await.map_err(|e| WeightsError::Device(e.to_string()))?;

    let mut offset = 0;
    let tensors = collect
        .shapes
        .into_iter()
        .map(|(path, shape)| {
            let n: usize = shape.iter().product();
            offset += n;
            (path, shape, values[offset - n..offset].to_vec())
        })
        .collect::<Tensors>();
    Ok(write(meta, &tensors, None, Precision::Full))
}

/// Check a file and build its network on `device`. With `expected`, a file for another
/// network is refused before anything is built.
pub fn decode(bytes: &[u8], expected: Option<NetworkKind>, device: &Device) -> Result<(Network, WeightsMeta), WeightsError> {
    decode_parsed(parse(bytes)?, expected, device).map(|(network, meta, _)| (network, meta))
}

/// [`decode`], with the file's "not a digit" detector when it has one: what the reader needs.
pub fn decode_for_reading(bytes: &[u8], device: &Device) -> Result<(Network, WeightsMeta, Option<Novelty>), WeightsError> {
    decode_parsed(parse(bytes)?, None, device)
}

fn decode_parsed(parsed: Parsed, expected: Option<NetworkKind>, device: &Device) -> Result<(Network, WeightsMeta, Option<Novelty>), WeightsError> {
    let Parsed { meta, tensors, novelty, .. } = parsed;
    if let Some(expected) = expected.filter(|&e| e != meta.network) {
        return Err(WeightsError::WrongNetwork { expected: expected.id().into(), found: meta.network.id().into() });
    }
    let fresh = meta.network.config().init(device);
    let mut shapes = Collect::default();
    fresh.visit(&mut shapes);
    let mismatch = |detail: String| WeightsError::Mismatch { network: meta.network.id().into(), detail };
    if shapes.shapes.len() != tensors.len() {
        return Err(mismatch(format!("{} tensors where {} are needed", tensors.len(), shapes.shapes.len())));
    }
    for ((path, shape), (file_path, file_shape, _)) in shapes.shapes.iter().zip(&tensors) {
        if path != file_path || shape != file_shape {
            return Err(mismatch(format!("{file_path} {file_shape:?} where {path} {shape:?} is needed")));
        }
    }
    let mut load = Load { tensors: tensors.into_iter(), device: device.clone() };
    Ok((fresh.map(&mut load), meta, novelty))
}

/// Collects every float tensor (parameters and BatchNorm running statistics) in visit
/// order, with its path and shape, flattened so all can be read in one transfer.
#[derive(Default)]
struct Collect {
    path: Vec<String>,
    shapes: Vec<(String, Vec<usize>)>,
    tensors: Vec<Tensor<1>>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_owned());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = param.val();
        let shape = tensor.dims().to_vec();
        self.tensors.push(tensor.reshape([shape.iter().product::<usize>()]));
        self.shapes.push((self.path.join("."), shape));
    }
}

/// Replaces each float tensor, in the same visit order, with the file's values.
struct Load {
    tensors: std::vec::IntoIter<(String, Vec<usize>, Vec<f32>)>,
    device: Device,
}

impl ModuleMapper for Load {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (_, shape, values) = self.tensors.next().expect("shapes were checked against the module");
        let device = self.device.clone();
        param.map(move |_| Tensor::from_data(TensorData::new(values, shape), &device))
    }
}
