//! The trained-weights file: what is downloaded, uploaded, kept in IndexedDB and shipped as
//! the default network. Every file is hostile until checked: every length is bounded before
//! anything is allocated, and a checksum covers the whole file.
//!
//! Layout (little-endian):
//! ```text
//! "MNISTSTD"  magic, 8 bytes
//! u32         format version (1; 2 where a tensor is stored at half precision; 3 where
//!             one is stored as int8)
//! u32 n, n bytes   header, JSON (network id, normalisation stats, epoch, accuracy, and
//!                  BatchNorm's epsilon for a network that has BatchNorm)
//! u32 t       tensor count
//! t times:    u16 n, n bytes path; u8 rank; rank x u32 dims; [version 2: u8 storage,
//!             0 for f32, 1 for IEEE half precision, [version 3:] 2 for int8]; the
//!             values: f32, f16, or for int8 one f32 scale per row (first dimension)
//!             then one signed byte per value (value = byte x its row's scale)
//! u32         CRC-32 of everything before it
//! ```
//! A file is written in the oldest version that holds it: version 1 unless a tensor is half
//! precision ([`halve`]) or int8 ([`quantise`], which the shipped default network is: 0.84 MB
//! Brotli on a first visit instead of 1.53 at half precision), so older builds still read
//! every file a run saves.
//! Every format version, present and future, ends with that CRC-32: it is checked before the
//! version is read, so a damaged file says "damaged" rather than whatever its damaged version
//! field happens to say.
//! burn's own record format is not used because writing it reads tensors synchronously,
//! which a browser forbids; here the parameters are read in one asynchronous transfer.

use serde::{Deserialize, Serialize};

use crate::data::PixelStats;
use crate::model::NetworkKind;
use crate::train::Selection;

// The file as plain values (`file`: what the reader, built without burn, needs) and as a
// burn network (`network`: training, export and the trainer's checks). The page, built
// without burn too, only shows [`WeightsMeta`].
mod file;
#[cfg(feature = "engine")]
mod network;
pub use file::*;
#[cfg(feature = "engine")]
pub use network::*;

/// What the file says about the network it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightsMeta {
    /// Written as the network's stable id (`NetworkKind::id`), so renaming a Rust variant
    /// does not orphan saved files; files written before that hold the variant's name, and
    /// are read too.
    #[serde(with = "network_id")]
    pub network: NetworkKind,
    /// The training set's statistics the network was trained with: inputs are normalised
    /// with these, so they travel with the weights.
    pub stats: PixelStats,
    /// 0-based epoch the weights come from.
    pub epoch: usize,
    /// On the test set; absent for an epoch published to the reader without being measured
    /// there (with validation choosing, only a new best epoch is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_accuracy: Option<f32>,
    /// On the held-out validation images that chose the epoch; absent when the test set chose
    /// (as the notebook did) and in files written before validation existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_accuracy: Option<f32>,
    /// What the logits are divided by before the softmax so the confidence is calibrated
    /// (`train::calibrate`); absent in files written before calibration existed (read as 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
}

impl WeightsMeta {
    /// Metadata with no validation figure and no temperature.
    pub fn new(network: NetworkKind, stats: PixelStats, epoch: usize, test_accuracy: f32) -> Self {
        Self { network, stats, epoch, test_accuracy: Some(test_accuracy), validation_accuracy: None, temperature: None }
    }

    /// A network a run chose at `epoch`: with validation choosing, its validation figure
    /// beside the test one (when that was measured); the temperature fitted on the held-out
    /// images.
    pub fn chosen(
        network: NetworkKind,
        stats: PixelStats,
        epoch: usize,
        selection: Selection,
        held_out_accuracy: f32,
        test_accuracy: Option<f32>,
        temperature: f32,
    ) -> Self {
        Self {
            network,
            stats,
            epoch,
            test_accuracy,
            validation_accuracy: (selection == Selection::Validation).then_some(held_out_accuracy),
            temperature: Some(temperature),
        }
    }

    /// The accuracies this network has, for a sentence: "validation accuracy 99.40%, test
    /// accuracy 99.47%", either alone, or "no accuracy recorded".
    pub fn accuracies(&self) -> String {
        let parts: Vec<String> = [("validation", self.validation_accuracy), ("test", self.test_accuracy)]
            .into_iter()
            .filter_map(|(name, a)| a.map(|a| format!("{name} accuracy {}", crate::format::percent(a as f64))))
            .collect();
        if parts.is_empty() { "no accuracy recorded".into() } else { parts.join(", ") }
    }

    /// The temperature to read with: the recorded one when it is usable, else 1.
    pub fn temperature(&self) -> f32 {
        self.temperature.filter(|t| t.is_finite() && *t > 0.0).unwrap_or(1.0)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum WeightsError {
    #[error("this is not an MNIST Studio weights file")]
    NotWeights,
    #[error("the file is damaged: {0}")]
    Damaged(String),
    #[error("the file was written by a newer version (format {0})")]
    UnknownVersion(u32),
    #[error("the file holds a {found} network, but {expected} was asked for")]
    WrongNetwork { expected: String, found: String },
    #[error("the weights do not fit the {network} network: {detail}")]
    Mismatch { network: String, detail: String },
    #[error("the device failed while reading the weights: {0}")]
    Device(String),
}

/// [`NetworkKind`] as its stable id; reading also accepts the variant's name, which files
/// written before the id was used hold.
mod network_id {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::model::NetworkKind;

    pub fn serialize<S: Serializer>(network: &NetworkKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(network.id())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NetworkKind, D::Error> {
        let name = String::deserialize(d)?;
        NetworkKind::from_id(&name)
            .or_else(|| NetworkKind::ALL.into_iter().find(|k| format!("{k:?}") == name))
            .ok_or_else(|| serde::de::Error::custom(format!("unknown network {name:?}")))
    }
}

