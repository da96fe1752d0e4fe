//! The classifiers: small CNNs sized from the data and residual networks, behind one
//! [`Classifier`] that the engine, prediction and the benchmarks use.

mod cnn;
pub mod init_from;
mod resnet;

use burn::module::Module;
use burn::prelude::*;
use burn::store::ModuleRecord;
use serde::{Deserialize, Serialize};

pub use cnn::Cnn;
pub use resnet::{ResNet, ResNetLayout, Stage, TORCHVISION_KEY_REMAP};

/// Which architecture to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// The classic small CNN: conv(32)–pool–conv(64)–pool–fc(128)–fc.
    Small,
    /// The same shape with BatchNorm after each convolution and dropout before the last layer.
    Default,
    /// CIFAR-style ResNet-8: a 3×3 stem, three stages of one residual block (16, 32, 64 wide).
    Resnet8,
    /// CIFAR-style ResNet-20: three stages of three residual blocks (16, 32, 64 wide).
    Resnet20,
    /// ResNet-18 in torchvision's exact layout (loads torchvision weights by name).
    Resnet18,
}

impl ModelKind {
    /// The residual layout of a ResNet kind, `None` for the CNNs.
    pub fn resnet_layout(self) -> Option<ResNetLayout> {
        match self {
            ModelKind::Small | ModelKind::Default => None,
            ModelKind::Resnet8 => Some(ResNetLayout::Cifar {
                blocks_per_stage: 1,
            }),
            ModelKind::Resnet20 => Some(ResNetLayout::Cifar {
                blocks_per_stage: 3,
            }),
            ModelKind::Resnet18 => Some(ResNetLayout::ImageNet18),
        }
    }

    /// The name the flag and `model.json` use.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Small => "small",
            ModelKind::Default => "default",
            ModelKind::Resnet8 => "resnet8",
            ModelKind::Resnet20 => "resnet20",
            ModelKind::Resnet18 => "resnet18",
        }
    }

    /// Whether the model has dropout before its last layer (what MC-dropout needs).
    pub fn has_dropout(self) -> bool {
        self != ModelKind::Small
    }

    /// The width of the first layer when not set: 32 filters for the CNNs, 16 for the CIFAR
    /// ResNets, torchvision's 64 for ResNet-18.
    pub fn default_filters(self) -> usize {
        match self {
            ModelKind::Small | ModelKind::Default => 32,
            ModelKind::Resnet8 | ModelKind::Resnet20 => 16,
            ModelKind::Resnet18 => 64,
        }
    }
}

/// Everything needed to rebuild a model (saved in the run's `model.json`).
#[derive(Config, Debug, PartialEq)]
pub struct ModelConfig {
    /// Architecture.
    pub kind: ModelKind,
    /// Input channels.
    pub channels: usize,
    /// Input height.
    pub height: usize,
    /// Input width.
    pub width: usize,
    /// Number of classes.
    pub num_classes: usize,
    /// Dropout before the last layer (not for the small CNN).
    #[config(default = 0.3)]
    pub dropout: f64,
    /// Width of the first layer: the CNN's first convolution (the second has twice as many),
    /// a ResNet's stem; [`ModelConfig::for_kind`] sets [`ModelKind::default_filters`].
    #[config(default = 32)]
    pub filters: usize,
    /// Width of the CNN's hidden fully connected layer (unused by the ResNets).
    #[config(default = 128)]
    pub hidden: usize,
    /// Per-channel mean subtracted from the pixels (in [0, 1]) before the first layer; with
    /// `input_std`, absent = no normalisation.
    #[config(default = "None")]
    pub input_mean: Option<Vec<f32>>,
    /// Per-channel standard deviation the centred pixels are divided by.
    #[config(default = "None")]
    pub input_std: Option<Vec<f32>>,
}

impl ModelConfig {
    /// The configuration of `kind` for images `channels × height × width`, with the kind's
    /// default width.
    pub fn for_kind(
        kind: ModelKind,
        channels: usize,
        height: usize,
        width: usize,
        num_classes: usize,
    ) -> Self {
        Self::new(kind, channels, height, width, num_classes).with_filters(kind.default_filters())
    }

    /// Builds the model on `device` with freshly initialised weights.
    pub fn init(&self, device: &Device) -> Classifier {
        let network = match self.kind.resnet_layout() {
            None => Network::Cnn(Cnn::new(self, device)),
            Some(layout) => Network::ResNet(ResNet::new(
                layout,
                self.channels,
                self.num_classes,
                self.filters,
                self.dropout,
                device,
            )),
        };
        Classifier {
            network,
            input: InputNorm::new(self.input_mean.as_deref(), self.input_std.as_deref()),
        }
    }

    /// The width of the embedding [`Classifier::features`] returns.
    pub fn feature_width(&self) -> usize {
        match self.kind.resnet_layout() {
            None => self.hidden,
            Some(layout) => layout.feature_width(self.filters),
        }
    }

    /// The key prefix of the last (classifier) layer, what is replaced when a model is
    /// initialised from one trained on other classes.
    pub fn head_prefix(&self) -> &'static str {
        match self.kind.resnet_layout() {
            None => "fc2.",
            Some(_) => "fc.",
        }
    }
}

/// Per-channel normalisation of the input, `(x − mean) / std`, part of the model so that
/// training, prediction and `predict` on new files all apply it.
#[derive(Debug, Clone, PartialEq)]
pub struct InputNorm {
    mean: Vec<f32>,
    /// 1 / std, computed once rather than at every forward pass.
    inv_std: Vec<f32>,
}

impl InputNorm {
    /// `Some` when both are given.
    pub fn new(mean: Option<&[f32]>, std: Option<&[f32]>) -> Option<Self> {
        Some(Self {
            mean: mean?.to_vec(),
            inv_std: std?.iter().map(|s| 1.0 / s).collect(),
        })
    }

    fn apply(&self, images: Tensor<4>) -> Tensor<4> {
        let device = images.device();
        let c = self.mean.len();
        let column =
            |v: &[f32]| Tensor::<4>::from_data(TensorData::new(v.to_vec(), [1, c, 1, 1]), &device);
        (images - column(&self.mean)) * column(&self.inv_std)
    }
}

/// The architectures [`Classifier`] wraps.
// One model exists per run (and its copies): the size of the smaller variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Network {
    /// `small` or `default`.
    Cnn(Cnn),
    /// `resnet8`, `resnet20` or `resnet18`.
    ResNet(ResNet),
}

/// One of the classifiers. Input `[batch, channels, height, width]` in `[0, 1]`, output
/// logits. Every kind splits into an embedding ([`Classifier::features`]) and a last layer
/// ([`Classifier::classify`]), which the MC-dropout passes and the outlier score use.
#[derive(Module, Debug)]
pub struct Classifier {
    /// The network.
    pub network: Network,
    /// Input normalisation, from the model's configuration (not a weight: not in model files).
    #[module(skip)]
    pub input: Option<InputNorm>,
}

impl Classifier {
    /// Logits `[batch, classes]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.classify(self.features(images))
    }

    /// The penultimate embedding `[batch, width]`, non-negative (after a ReLU).
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let images = match &self.input {
            Some(norm) => norm.apply(images),
            None => images,
        };
        match &self.network {
            Network::Cnn(m) => m.features(images),
            Network::ResNet(m) => m.features(images),
        }
    }

    /// Logits from [`Classifier::features`]: dropout (active only when training), then the
    /// last layer.
    pub fn classify(&self, features: Tensor<2>) -> Tensor<2> {
        match &self.network {
            Network::Cnn(m) => m.classify(features),
            Network::ResNet(m) => m.classify(features),
        }
    }

    /// Logits from the features times an explicit dropout `mask` of the same shape (kept
    /// units already scaled by 1/(1−p)): one MC-dropout pass, drawn by the caller so that it is
    /// reproducible and works on a device without autodiff, where dropout never drops.
    pub fn classify_masked(&self, features: Tensor<2>, mask: Tensor<2>) -> Tensor<2> {
        match &self.network {
            Network::Cnn(m) => m.classify_masked(features, mask),
            Network::ResNet(m) => m.classify_masked(features, mask),
        }
    }

    /// The dropout probability before the last layer.
    pub fn dropout_prob(&self) -> f64 {
        match &self.network {
            Network::Cnn(m) => m.dropout_prob(),
            Network::ResNet(m) => m.dropout_prob(),
        }
    }

    /// A backward pass's gradients split into the last layer's and everything else's, so that
    /// the backbone can learn slower than the head, or not at all.
    pub fn split_gradients(
        &self,
        mut grads: burn::tensor::Gradients,
    ) -> (burn::optim::GradientsParams, burn::optim::GradientsParams) {
        use burn::optim::GradientsParams;
        let head = match &self.network {
            Network::Cnn(m) => GradientsParams::from_module(&mut grads, m.head()),
            Network::ResNet(m) => GradientsParams::from_module(&mut grads, m.head()),
        };
        (head, GradientsParams::from_grads(grads, self))
    }

    /// The weights as a record keyed like the architecture's own fields (`conv1.weight`,
    /// `layer1.0.bn1.gamma`, …): the wrapper is not part of the keys, so model files stay those
    /// of the architecture alone.
    pub fn to_record(&self) -> ModuleRecord {
        match &self.network {
            Network::Cnn(m) => m.clone().into_record(),
            Network::ResNet(m) => m.clone().into_record(),
        }
    }

    /// Loads a record written by [`Classifier::to_record`].
    pub fn try_load(self, record: ModuleRecord) -> Result<Self, burn::store::RecordError> {
        let network = match self.network {
            Network::Cnn(m) => Network::Cnn(m.try_load_record(record)?),
            Network::ResNet(m) => Network::ResNet(m.try_load_record(record)?),
        };
        Ok(Self {
            network,
            input: self.input,
        })
    }
}

#[cfg(test)]
mod tests;
