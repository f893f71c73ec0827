//! The five networks of the Keras notebook this project reproduces, as burn modules.
//!
//! Each network is a `#[derive(Module)]` struct holding only layers, built from a
//! `#[derive(Config)]`. [`NetworkKind`] is the catalogue the UI and the worker speak in;
//! [`Network`] is the module itself. Inputs are already normalised images
//! `[batch, 1, 28, 28]` (see [`crate::train::batch`]); outputs are logits `[batch, 10]`.
//!
//! Initialisation follows the notebook deliberately: Keras' defaults are Glorot-uniform
//! weights and zero biases, so every dense and conv layer here uses
//! `Initializer::XavierUniform { gain: 1.0 }` (Glorot-uniform is Xavier-uniform) and its bias
//! is replaced by zeros after init (burn would otherwise draw biases from the same range).

// Without the `engine` feature (the page's build) only the catalogue and the layers' names.
#[cfg(feature = "engine")]
mod init;
#[cfg(feature = "engine")]
mod linear;
pub mod sizes;
#[cfg(feature = "engine")]
mod vgg;

#[cfg(feature = "engine")]
use burn::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "engine")]
pub use linear::{LinearNet, LinearNetConfig};
#[cfg(feature = "engine")]
pub use vgg::{VggNet, VggNetConfig};

/// Number of classes: the ten digits.
pub const CLASSES: usize = 10;

/// The notebook's five experiments. The augmented variant shares the plain VGG architecture;
/// what differs is how it is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NetworkKind {
    Linear,
    Vgg,
    VggAugmented,
    VggDropout,
    VggBnDropout,
}

impl NetworkKind {
    pub const ALL: [NetworkKind; 5] =
        [Self::Linear, Self::Vgg, Self::VggAugmented, Self::VggDropout, Self::VggBnDropout];

    /// Stable identifier: command-line flag values, file names, weight-file headers.
    pub fn id(self) -> &'static str {
        match self {
            Self::Linear => "linear",
            Self::Vgg => "vgg",
            Self::VggAugmented => "vgg-augmented",
            Self::VggDropout => "vgg-dropout",
            Self::VggBnDropout => "bn-dropout",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.id() == id)
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Linear => "Linear",
            Self::Vgg => "VGG-like",
            Self::VggAugmented => "VGG-like + augmentation",
            Self::VggDropout => "VGG-like + dropout",
            Self::VggBnDropout => "VGG-like + BatchNorm + dropout",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Linear => "Normalise, flatten, one dense layer of 10: softmax regression.",
            Self::Vgg => "Two 3x3 conv blocks (32, 64 filters) with max-pooling, then dense 512 and 10.",
            Self::VggAugmented => "The VGG-like network trained on randomly rotated, shifted, sheared and zoomed digits.",
            Self::VggDropout => "The VGG-like network with Dropout(0.5) after each max-pool.",
            Self::VggBnDropout => "BatchNorm after every conv and dense 512, Dropout(0.5) before the output.",
        }
    }

    /// Test accuracy the Keras notebook reports: the floor this project aims to match.
    pub fn notebook_accuracy(self) -> &'static str {
        match self {
            Self::Linear => "92.5%",
            Self::Vgg => "98.6%",
            Self::VggAugmented => "97.6%",
            Self::VggDropout => "98.8%",
            Self::VggBnDropout => "99.4-99.55%",
        }
    }

    /// Whether training draws a fresh random affine transform of every image each epoch.
    pub fn augmented(self) -> bool {
        self == Self::VggAugmented
    }

    /// BatchNorm after every convolution and the dense 512 layer.
    pub fn batch_norm(self) -> bool {
        self == Self::VggBnDropout
    }

    #[cfg(feature = "engine")]
    pub fn config(self) -> NetworkConfig {
        match self {
            Self::Linear => NetworkConfig::Linear(LinearNetConfig::new()),
            Self::Vgg | Self::VggAugmented => NetworkConfig::Vgg(VggNetConfig::new()),
            Self::VggDropout => NetworkConfig::Vgg(VggNetConfig::new().with_pool_dropout(0.5)),
            Self::VggBnDropout => {
                NetworkConfig::Vgg(VggNetConfig::new().with_batch_norm(self.batch_norm()).with_head_dropout(0.5))
            }
        }
    }

    /// Parameter count, computed from the architecture without building it.
    pub fn num_params(self) -> usize {
        match self {
            Self::Linear => sizes::linear_params(CLASSES),
            _ => sizes::vgg_params(self.batch_norm(), CLASSES),
        }
    }

    /// The epsilon of its BatchNorm layers, `None` for a network without them: weights files
    /// record it, since running statistics only mean something with the epsilon they were
    /// normalised with.
    pub fn batch_norm_epsilon(self) -> Option<f64> {
        self.batch_norm().then_some(sizes::BN_EPSILON)
    }
}

/// Which architecture to build, with its settings.
#[cfg(feature = "engine")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum NetworkConfig {
    Linear(LinearNetConfig),
    Vgg(VggNetConfig),
}

#[cfg(feature = "engine")]
impl NetworkConfig {
    pub fn init(&self, device: &Device) -> Network {
        match self {
            Self::Linear(c) => Network::Linear(c.init(device)),
            Self::Vgg(c) => Network::Vgg(c.init(device)),
        }
    }

    /// The network with its weights drawn from its own generator, seeded with `seed` (see
    /// [`init::redraw_weights`]: the starting point then depends on nothing else).
    pub fn init_seeded(&self, device: &Device, seed: u64) -> Network {
        init::redraw_weights(self.init(device), &mut crate::rng::Rng::new(seed))
    }

    pub fn num_params(&self) -> usize {
        match self {
            Self::Linear(c) => c.num_params(),
            Self::Vgg(c) => c.num_params(),
        }
    }
}

/// One of the networks, as a single module type the training loop and the worker can hold.
#[cfg(feature = "engine")]
#[derive(Module, Debug)]
pub enum Network {
    Linear(LinearNet),
    Vgg(VggNet),
}

#[cfg(feature = "engine")]
impl Network {
    /// # Shapes
    /// - images: `[batch, 1, 28, 28]`, normalised with the training set's mean and std
    /// - output: `[batch, 10]` logits (softmax is applied by the loss, or by the reader after
    ///   dividing by the weights' temperature: `train::calibrate::probabilities`)
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Self::Linear(net) => net.forward(images),
            Self::Vgg(net) => net.forward(images),
        }
    }

    /// [`Self::forward`], showing `seen` each hidden layer's output (see
    /// [`VggNet::forward_seen`]; the linear network has none).
    pub fn forward_seen(&self, images: Tensor<4>, seen: &mut impl FnMut(Layer, &Tensor<4>)) -> Tensor<2> {
        match self {
            Self::Linear(net) => net.forward(images),
            Self::Vgg(net) => net.forward_seen(images, seen),
        }
    }

    /// The weights worth looking at as images: the first convolution's 3x3 filters
    /// `[32, 1, 3, 3]`, or the linear network's ten 28x28 templates `[10, 1, 28, 28]`.
    pub fn weight_pictures(&self) -> (Layer, Tensor<4>) {
        match self {
            Self::Linear(net) => (Layer::Templates, net.templates()),
            Self::Vgg(net) => (Layer::Filters, net.first_filters()),
        }
    }
}

/// A layer of a network, for pictures of what it computes ([`Network::forward_seen`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layer {
    /// The 28x28 input (what the saliency is drawn over).
    Input,
    /// The n-th convolution (from 1), after its ReLU.
    Conv(u8),
    /// The n-th 2x2 max-pooling (from 1).
    Pool(u8),
    /// The dense 512 layer, after its ReLU.
    Dense,
    /// The first convolution's filters (weights, not outputs).
    Filters,
    /// The linear network's weights, one 28x28 image per digit.
    Templates,
}

impl Layer {
    /// A stable name for the page's tests and styles: `conv1`, `pool2`, `dense`, `filters`.
    pub fn id(self) -> String {
        match self {
            Self::Input => "input".into(),
            Self::Conv(n) => format!("conv{n}"),
            Self::Pool(n) => format!("pool{n}"),
            Self::Dense => "dense".into(),
            Self::Filters => "filters".into(),
            Self::Templates => "templates".into(),
        }
    }

    /// What the page calls it.
    pub fn title(self) -> String {
        match self {
            Self::Input => "Input".into(),
            Self::Conv(n) => format!("Convolution {n}"),
            Self::Pool(n) => format!("Max-pooling {n}"),
            Self::Dense => "Dense 512".into(),
            Self::Filters => "Filters of convolution 1".into(),
            Self::Templates => "Weights of each digit".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::cpu;

    #[test]
    fn parameter_counts_match_the_notebook() {
        // Keras' model.summary() for the notebook's networks.
        assert_eq!(NetworkKind::Linear.num_params(), 7_850);
        assert_eq!(NetworkKind::Vgg.num_params(), 594_922);
        assert_eq!(NetworkKind::VggAugmented.num_params(), 594_922);
        assert_eq!(NetworkKind::VggDropout.num_params(), 594_922);
        // BatchNorm adds gamma, beta, moving mean and moving variance per channel:
        // 4 * (32 + 32 + 64 + 64 + 512) = 2,816 more (Keras: 596,330 trainable + 1,408 not).
        assert_eq!(NetworkKind::VggBnDropout.num_params(), 597_738);
    }

    #[test]
    fn built_networks_have_the_counted_parameters_and_output_ten_logits() {
        let device = cpu();
        for kind in NetworkKind::ALL {
            let net = kind.config().init(&device);
            assert_eq!(net.num_params(), kind.num_params(), "{kind:?}");
            let out = net.forward(Tensor::zeros([3, 1, 28, 28], &device));
            assert_eq!(out.dims(), [3, CLASSES], "{kind:?}");
        }
    }

    #[test]
    fn ids_round_trip() {
        for kind in NetworkKind::ALL {
            assert_eq!(NetworkKind::from_id(kind.id()), Some(kind));
        }
        assert_eq!(NetworkKind::from_id("resnet"), None);
    }
}
