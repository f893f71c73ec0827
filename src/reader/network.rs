//! The network the reader reads with, as a weights file gives it, and one reading: what the
//! reader worker holds and computes, kept apart from the worker so that native tests run the
//! very code a drawing goes through (`hostile`'s property tests feed it altered files).

use super::net::PlainNetwork;
use crate::train::calibrate;
use crate::train::novelty::Novelty;
use crate::weights::{self, WeightsMeta};

/// The network that reads, with what it was trained on and its "not a digit" detector.
pub struct Network {
    pub net: PlainNetwork,
    pub meta: WeightsMeta,
    pub novelty: Option<Novelty>,
}

impl Network {
    /// The network in a weights file, checked as the trainer checks a file (the checksum,
    /// every bound, the shapes its network needs); the error is the sentence the page shows.
    pub fn from_file(bytes: &[u8]) -> Result<Self, String> {
        let refused = |e: String| format!("the network to read with was refused: {e}");
        let (meta, tensors, novelty) = weights::parse_for_reading(bytes).map_err(|e| refused(e.to_string()))?;
        let epsilon = meta.network.batch_norm_epsilon().unwrap_or(0.0);
        let net = PlainNetwork::new(meta.network, epsilon, &tensors).map_err(refused)?;
        Ok(Self { net, meta, novelty })
    }

    /// The calibrated probabilities of 784 preprocessed pixels, and how unlike every digit
    /// they are when the network has a detector.
    pub fn read(&self, pixels: &[f32]) -> (Vec<f32>, Option<f32>) {
        let stats = self.meta.stats;
        let input: Vec<f32> = pixels.iter().map(|p| (p - stats.mean) / stats.std).collect();
        // The same pass gives the features the "not a digit" detector judges.
        let (logits, dense) = self.net.forward(&input);
        // Calibrated: the logits over the weights' temperature (1 for older files).
        let probabilities = calibrate::probabilities(&logits, self.meta.temperature()).to_vec();
        let strangeness = self.novelty.as_ref().zip(dense).map(|(novelty, features)| {
            novelty.strangeness(&features, crate::draw::reading::read(&probabilities).is_some_and(|r| r.sure()))
        });
        (probabilities, strangeness)
    }
}
