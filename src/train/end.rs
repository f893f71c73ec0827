//! How a run ends, and what stops one: types the page shows, so they are free of burn
//! (the page's wasm is built without it, Cargo.toml's `engine`).

use serde::{Deserialize, Serialize};

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RunEnd {
    Completed,
    Stopped { epoch: usize, step: usize },
    /// The loss stopped being a finite number, or reached `DEAD_LOSS` (the loss module's), where the clipped
    /// loss leaves the network nothing to learn from.
    Diverged { epoch: usize, step: usize, loss: f32 },
}

impl RunEnd {
    /// One sentence for the page.
    pub fn describe(&self) -> String {
        match self {
            Self::Completed => "Training finished.".into(),
            Self::Stopped { epoch, step } => format!("Stopped at epoch {}, step {step}.", epoch + 1),
            Self::Diverged { epoch, step, loss } if !loss.is_finite() => format!(
                "Training stopped: the loss became {loss} at epoch {}, step {step}. The learning rate is probably too high; try a smaller one.",
                epoch + 1
            ),
            Self::Diverged { epoch, step, loss } => format!(
                "Training stopped: the loss reached {loss:.1} at epoch {}, step {step}: the network is confidently wrong on most images, and those give the loss no gradient to learn from. The learning rate is probably too high; try a smaller one.",
                epoch + 1
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum TrainError {
    #[error("invalid settings: {0}")]
    Config(String),
    #[error("the device failed while reading results: {0}")]
    Device(String),
}
