//! Trained weights for other tools: a weights file rewritten as safetensors, with the tensor
//! names and layouts of the PyTorch modules the README gives, so `load_state_dict` takes it
//! as it is.
//!
//! What changes on the way:
//! - names lose the network's variant ("Vgg.conv1.weight" is `conv1.weight`);
//! - a dense layer's weight: burn keeps it `[in, out]`, PyTorch's `nn.Linear` `[out, in]`:
//!   transposed;
//! - BatchNorm's `gamma`/`beta` are PyTorch's `weight`/`bias`; `running_mean`/`running_var`
//!   keep their names, and `num_batches_tracked` (which PyTorch's state dict expects) is
//!   written as 0: it only matters with `momentum=None`;
//! - convolution weights are `[out, in, kh, kw]` in both, and the network flattens
//!   `[64, 4, 4]` in channel-row-column order as `nn.Flatten` does: unchanged.
//!
//! The normalisation statistics, network, epoch and test accuracy go in the file's
//! `__metadata__` (strings, as the format requires).

#[cfg(feature = "engine")]
use {
    crate::weights::{self, WeightsError},
    serde::Serialize,
    std::collections::BTreeMap,
};

/// How the user wants the saved weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ExportFormat {
    /// This app's own file: loads back here.
    Studio,
    /// safetensors, named and laid out for PyTorch.
    Safetensors,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Studio => "weights",
            Self::Safetensors => "safetensors",
        }
    }
}

// The conversion reads a weights file, which needs the engine (the page only names the format).
#[cfg(feature = "engine")]
#[derive(Serialize)]
struct Entry {
    dtype: &'static str,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

#[cfg(feature = "engine")]
/// `file` (a weights file, checked as any other) as safetensors.
pub fn safetensors(file: &[u8]) -> Result<Vec<u8>, WeightsError> {
    let (meta, tensors) = weights::parse_file(file)?;
    let mut named: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::with_capacity(tensors.len() + 4);
    for (path, shape, values) in tensors {
        let path = module_path(&path).to_owned();
        let (module, field) = path.rsplit_once('.').unwrap_or(("", path.as_str()));
        let batch_norm = module.starts_with("bn");
        match (field, batch_norm, shape.as_slice()) {
            ("gamma", true, _) => named.push((format!("{module}.weight"), shape, values)),
            ("beta", true, _) => named.push((format!("{module}.bias"), shape, values)),
            ("running_var", true, _) => {
                named.push((path.clone(), shape, values));
                named.push((format!("{module}.num_batches_tracked"), vec![], vec![]));
            }
            ("weight", false, &[rows, cols]) => named.push((path.clone(), vec![cols, rows], transpose(&values, rows, cols))),
            _ => named.push((path.clone(), shape, values)),
        }
    }

    // Data in name order, as the header lists them (the format does not require it; tools
    // that map the file are happier with one contiguous, ordered block).
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let mut header = BTreeMap::new();
    let mut data = Vec::new();
    for (name, shape, values) in &named {
        let start = data.len();
        let dtype = if name.ends_with("num_batches_tracked") {
            data.extend_from_slice(&0i64.to_le_bytes());
            "I64"
        } else {
            values.iter().for_each(|v| data.extend_from_slice(&v.to_le_bytes()));
            "F32"
        };
        header.insert(name.clone(), serde_json::to_value(Entry { dtype, shape: shape.clone(), data_offsets: [start, data.len()] }).expect("plain data"));
    }
    let metadata = BTreeMap::from([
        ("network".to_owned(), meta.network.id().to_owned()),
        ("input_mean".to_owned(), meta.stats.mean.to_string()),
        ("input_std".to_owned(), meta.stats.std.to_string()),
        ("input".to_owned(), "[batch, 1, 28, 28]: pixels / 255, minus input_mean, divided by input_std".to_owned()),
        ("epoch".to_owned(), (meta.epoch + 1).to_string()),
        ("test_accuracy".to_owned(), meta.test_accuracy.map_or(String::new(), |a| a.to_string())),
        ("validation_accuracy".to_owned(), meta.validation_accuracy.map_or(String::new(), |a| a.to_string())),
        ("temperature".to_owned(), meta.temperature().to_string()),
        ("probabilities".to_owned(), "softmax(logits / temperature): calibrated on held-out images".to_owned()),
        ("written_by".to_owned(), "MNIST Studio".to_owned()),
    ]);
    header.insert("__metadata__".to_owned(), serde_json::to_value(metadata).expect("plain data"));

    let mut json = serde_json::to_vec(&header).expect("plain data");
    // The data that follows starts 8-aligned, as the format recommends.
    while (8 + json.len()) % 8 != 0 {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + data.len());
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&data);
    Ok(out)
}

#[cfg(feature = "engine")]
/// A path inside the network: the weights file's paths start with the `Network` variant
/// ("Vgg.conv1.weight"), which a PyTorch module does not have.
fn module_path(path: &str) -> &str {
    path.split_once('.').map_or(path, |(_, rest)| rest)
}

#[cfg(feature = "engine")]
/// `values`, a row-major `[rows, cols]` matrix, as `[cols, rows]`.
fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols).flat_map(|c| (0..rows).map(move |r| values[r * cols + c])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposing_swaps_rows_and_columns() {
        assert_eq!(transpose(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }

    /// The file's tensors, as `weights` reads them, by path.
    fn studio_tensors(file: &[u8]) -> BTreeMap<String, (Vec<usize>, Vec<f32>)> {
        weights::parse_file(file).unwrap().1.into_iter().map(|(p, s, v)| (module_path(&p).to_owned(), (s, v))).collect()
    }

    #[test]
    fn the_export_reads_back_with_pytorch_names_layouts_and_values() {
        use futures::executor::block_on;
        use safetensors::{Dtype, SafeTensors};

        use crate::data::PixelStats;
        use crate::model::NetworkKind;
        use crate::testing::cpu;

        let stats = PixelStats { mean: 0.1307, std: 0.3081 };
        for kind in [NetworkKind::Linear, NetworkKind::VggBnDropout] {
            let model = kind.config().init_seeded(&cpu(), 5);
            let file = block_on(weights::encode(&model, &weights::WeightsMeta::new(kind, stats, 3, 0.9912))).unwrap();
            let studio = studio_tensors(&file);
            let exported = safetensors(&file).unwrap();
            let read = SafeTensors::deserialize(&exported).unwrap();
            let floats = |name: &str| -> (Vec<usize>, Vec<f32>) {
                let view = read.tensor(name).unwrap_or_else(|_| panic!("{name} missing"));
                assert_eq!(view.dtype(), Dtype::F32, "{name}");
                (view.shape().to_vec(), view.data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect())
            };

            let mut names = read.names().into_iter().map(str::to_owned).collect::<Vec<_>>();
            names.sort();
            let expected: Vec<String> = match kind {
                NetworkKind::Linear => vec!["dense.bias".into(), "dense.weight".into()],
                _ => {
                    let mut n = Vec::new();
                    for bn in ["bn1", "bn2", "bn3", "bn4", "bn_dense"] {
                        for f in ["bias", "num_batches_tracked", "running_mean", "running_var", "weight"] {
                            n.push(format!("{bn}.{f}"));
                        }
                    }
                    for layer in ["conv1", "conv2", "conv3", "conv4", "dense", "head"] {
                        n.push(format!("{layer}.bias"));
                        n.push(format!("{layer}.weight"));
                    }
                    n.sort();
                    n
                }
            };
            assert_eq!(names, expected, "{kind:?}: PyTorch's state_dict keys");

            // Dense weights transposed to PyTorch's [out, in]; the rest as they were.
            let (shape, values) = floats("dense.weight");
            let (studio_shape, studio_values) = &studio["dense.weight"];
            let (rows, cols) = (studio_shape[0], studio_shape[1]);
            assert_eq!(shape, vec![cols, rows]);
            for (r, c) in [(0, 0), (rows - 1, 0), (3, cols - 1), (rows / 2, cols / 2)] {
                assert_eq!(values[c * rows + r], studio_values[r * cols + c], "dense.weight[{c}, {r}]");
            }
            assert_eq!(floats("dense.bias"), studio["dense.bias"]);
            if kind == NetworkKind::VggBnDropout {
                assert_eq!(floats("conv2.weight"), studio["conv2.weight"]);
                assert_eq!(floats("conv2.weight").0, vec![32, 32, 3, 3]);
                assert_eq!(floats("head.weight").0, vec![10, 512]);
                assert_eq!(floats("bn3.weight"), studio["bn3.gamma"]);
                assert_eq!(floats("bn3.bias"), studio["bn3.beta"]);
                assert_eq!(floats("bn_dense.running_var"), studio["bn_dense.running_var"]);
                let tracked = read.tensor("bn1.num_batches_tracked").unwrap();
                assert_eq!((tracked.dtype(), tracked.shape(), tracked.data()), (Dtype::I64, &[][..], &[0u8; 8][..]));
            }

            let (_, header) = SafeTensors::read_metadata(&exported).unwrap();
            let metadata = header.metadata().as_ref().unwrap();
            assert_eq!(metadata["network"], kind.id());
            assert_eq!(metadata["input_mean"], "0.1307");
            assert_eq!(metadata["input_std"], "0.3081");
            assert_eq!(metadata["epoch"], "4");
        }
    }

    #[test]
    fn a_file_that_is_not_weights_is_refused() {
        assert_eq!(safetensors(b"not a weights file"), Err(WeightsError::NotWeights));
    }
}
