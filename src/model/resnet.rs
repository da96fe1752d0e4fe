//! Residual networks with global average pooling, so any input size works.
//!
//! Two layouts share one set of blocks:
//! - **CIFAR-style** ResNet-8 / ResNet-20 (He et al. 2016, §4.2): a 3×3 stem of `filters`
//!   channels, three stages of 1 or 3 basic blocks at 1×, 2× and 4× the width, strides 1, 2, 2.
//!   Small enough to train on a CPU.
//! - **ResNet-18 with torchvision's exact layout**: a 7×7 stride-2 stem and a max pool, four
//!   stages of two blocks at 64–512 channels. Field names follow torchvision's `state_dict`
//!   (`conv1`, `bn1`, `layer1.0.conv1`, …, `fc`), so its weights load by name; only a
//!   projection shortcut's `downsample.0` / `downsample.1` are renamed (`downsample.conv` /
//!   `downsample.bn`, see [`TORCHVISION_KEY_REMAP`]).

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d, Relu,
};
use burn::prelude::*;

/// Regex → replacement pairs that turn torchvision's key names into this module's.
pub const TORCHVISION_KEY_REMAP: [(&str, &str); 2] = [
    (r"\.downsample\.0\.", ".downsample.conv."),
    (r"\.downsample\.1\.", ".downsample.bn."),
];

/// Which residual layout to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResNetLayout {
    /// CIFAR-style, `n` blocks per stage (depth 6n + 2).
    Cifar { blocks_per_stage: usize },
    /// torchvision's ResNet-18.
    ImageNet18,
}

/// One stage of a layout: `blocks` basic blocks of `width` channels, the first with `stride`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    /// Output channels of every block.
    pub width: usize,
    /// Basic blocks.
    pub blocks: usize,
    /// Stride of the first block.
    pub stride: usize,
}

impl ResNetLayout {
    /// The stem: its square kernel, its stride and whether a 3×3 stride-2 max pool follows.
    pub fn stem(self) -> (usize, usize, bool) {
        match self {
            ResNetLayout::Cifar { .. } => (3, 1, false),
            ResNetLayout::ImageNet18 => (7, 2, true),
        }
    }

    /// The stages after the stem, for a stem `filters` wide.
    pub fn stages(self, filters: usize) -> Vec<Stage> {
        let (f, n) = match self {
            ResNetLayout::Cifar { blocks_per_stage } => (filters, blocks_per_stage),
            ResNetLayout::ImageNet18 => (filters, 2),
        };
        let stage = |width, stride| Stage {
            width,
            blocks: n,
            stride,
        };
        let mut stages = vec![stage(f, 1), stage(2 * f, 2), stage(4 * f, 2)];
        if self == ResNetLayout::ImageNet18 {
            stages.push(stage(8 * f, 2));
        }
        stages
    }

    /// The width of the pooled embedding: the last stage's.
    pub fn feature_width(self, filters: usize) -> usize {
        self.stages(filters).last().map_or(filters, |s| s.width)
    }
}

fn conv(cin: usize, cout: usize, kernel: usize, stride: usize, device: &Device) -> Conv2d {
    let pad = kernel / 2;
    Conv2dConfig::new([cin, cout], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .init(device)
}

/// The 1×1 projection of a block whose shape changes (torchvision's `downsample`).
#[derive(Module, Debug)]
pub struct Downsample {
    conv: Conv2d,
    bn: BatchNorm,
}

/// Two 3×3 convolutions with a shortcut: relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x)).
#[derive(Module, Debug)]
pub struct BasicBlock {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    downsample: Option<Downsample>,
    relu: Relu,
}

impl BasicBlock {
    fn new(cin: usize, cout: usize, stride: usize, device: &Device) -> Self {
        let downsample = (stride != 1 || cin != cout).then(|| Downsample {
            conv: conv(cin, cout, 1, stride, device),
            bn: BatchNormConfig::new(cout).init(device),
        });
        Self {
            conv1: conv(cin, cout, 3, stride, device),
            bn1: BatchNormConfig::new(cout).init(device),
            conv2: conv(cout, cout, 3, 1, device),
            bn2: BatchNormConfig::new(cout).init(device),
            downsample,
            relu: Relu::new(),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let shortcut = match &self.downsample {
            Some(d) => d.bn.forward(d.conv.forward(x.clone())),
            None => x.clone(),
        };
        let y = self.relu.forward(self.bn1.forward(self.conv1.forward(x)));
        let y = self.bn2.forward(self.conv2.forward(y));
        self.relu.forward(y + shortcut)
    }
}

/// A residual classifier. Input `[batch, channels, height, width]`, output logits.
#[derive(Module, Debug)]
pub struct ResNet {
    conv1: Conv2d,
    bn1: BatchNorm,
    maxpool: Option<MaxPool2d>,
    layer1: Vec<BasicBlock>,
    layer2: Vec<BasicBlock>,
    layer3: Vec<BasicBlock>,
    layer4: Vec<BasicBlock>,
    avgpool: AdaptiveAvgPool2d,
    dropout: Dropout,
    fc: Linear,
    relu: Relu,
}

impl ResNet {
    /// A fresh network: `filters` is the stem's width (16 for the CIFAR layout, 64 for
    /// torchvision's), `dropout` the probability before `fc` (torchvision has none: 0).
    pub fn new(
        layout: ResNetLayout,
        channels: usize,
        num_classes: usize,
        filters: usize,
        dropout: f64,
        device: &Device,
    ) -> Self {
        let (kernel, stride, max_pool) = layout.stem();
        let mut cin = filters;
        let mut stages = layout.stages(filters).into_iter().map(|stage| {
            let blocks = (0..stage.blocks)
                .map(|i| {
                    let block_in = if i == 0 { cin } else { stage.width };
                    let stride = if i == 0 { stage.stride } else { 1 };
                    BasicBlock::new(block_in, stage.width, stride, device)
                })
                .collect();
            cin = stage.width;
            blocks
        });
        let mut next_stage = || stages.next().unwrap_or_default();
        let (layer1, layer2, layer3, layer4) =
            (next_stage(), next_stage(), next_stage(), next_stage());
        Self {
            conv1: conv(channels, filters, kernel, stride, device),
            bn1: BatchNormConfig::new(filters).init(device),
            maxpool: max_pool.then(|| {
                MaxPool2dConfig::new([3, 3])
                    .with_strides([2, 2])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .init()
            }),
            layer1,
            layer2,
            layer3,
            layer4,
            avgpool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            dropout: DropoutConfig::new(dropout).init(),
            fc: LinearConfig::new(layout.feature_width(filters), num_classes).init(device),
            relu: Relu::new(),
        }
    }

    /// The globally pooled embedding `[batch, width]` (non-negative: after the last ReLU).
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = self
            .relu
            .forward(self.bn1.forward(self.conv1.forward(images)));
        if let Some(pool) = &self.maxpool {
            x = pool.forward(x);
        }
        for block in self
            .layer1
            .iter()
            .chain(&self.layer2)
            .chain(&self.layer3)
            .chain(&self.layer4)
        {
            x = block.forward(x);
        }
        self.avgpool.forward(x).flatten(1, 3)
    }

    /// Logits from [`ResNet::features`]: dropout (active only when training), then `fc`.
    pub fn classify(&self, features: Tensor<2>) -> Tensor<2> {
        self.fc.forward(self.dropout.forward(features))
    }

    /// Logits from the features times an explicit dropout mask (one MC-dropout pass).
    pub fn classify_masked(&self, features: Tensor<2>, mask: Tensor<2>) -> Tensor<2> {
        self.fc.forward(features * mask)
    }

    /// The last layer.
    pub fn head(&self) -> &Linear {
        &self.fc
    }

    /// The dropout probability before `fc`.
    pub fn dropout_prob(&self) -> f64 {
        self.dropout.prob
    }
}
