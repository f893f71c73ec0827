//! The network the reader reads with, as a weights file gives it, and one reading: what the
//! reader worker holds and computes, kept apart from the worker so that native tests run the
//! very code a drawing goes through (`hostile`'s property tests feed it altered files).

use super::net::PlainNetwork;
use crate::train::calibrate;
use crate::train::novelty::Novelty;
use crate::weights::{self, WeightsMeta};
use crate::data::IMAGE_SIDE;

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

    /// Refused unless a blank pad and a fully inked one both read as numbers: every value in a
    /// file is checked finite, but finite weights near f32's limit still overflow a sum, and
    /// such a network would read no drawing (the worker would drop it at the first stroke,
    /// and with it the network that was reading well). Not asked of the default network,
    /// shipped with the app and checked natively, so the reader's start does not pay for it.
    pub fn reads_numbers(&self) -> Result<(), String> {
        for ink in [0.0, 1.0] {
            let (probabilities, _) = self.read(&[ink; IMAGE_SIDE * IMAGE_SIDE]);
            if !probabilities.iter().all(|p| p.is_finite()) {
                return Err("the network to read with was refused: its outputs are not numbers (weights so large that its sums overflow)".into());
            }
        }
        Ok(())
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
