//! Small convolutional networks sized from the data: conv–pool–conv–pool–fc–fc.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d, Relu,
};
use burn::prelude::*;

use super::{ModelConfig, ModelKind};

/// The classifier. Input `[batch, channels, height, width]` in `[0, 1]`, output logits.
#[derive(Module, Debug)]
pub struct Cnn {
    conv1: Conv2d,
    bn1: Option<BatchNorm>,
    conv2: Conv2d,
    bn2: Option<BatchNorm>,
    pool: MaxPool2d,
    fc1: Linear,
    dropout: Dropout,
    fc2: Linear,
    activation: Relu,
}

impl Cnn {
    /// A freshly initialised CNN of `config` (`small` or `default`).
    pub fn new(config: &ModelConfig, device: &Device) -> Self {
        let with_bn = config.kind == ModelKind::Default;
        let f1 = config.filters;
        let f2 = config.filters * 2;
        let conv = |cin, cout| {
            Conv2dConfig::new([cin, cout], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .with_bias(!with_bn)
                .init(device)
        };
        let flat = f2 * (config.height / 4) * (config.width / 4);
        Cnn {
            conv1: conv(config.channels, f1),
            bn1: with_bn.then(|| BatchNormConfig::new(f1).init(device)),
            conv2: conv(f1, f2),
            bn2: with_bn.then(|| BatchNormConfig::new(f2).init(device)),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            fc1: LinearConfig::new(flat, config.hidden).init(device),
            dropout: DropoutConfig::new(if with_bn { config.dropout } else { 0.0 }).init(),
            fc2: LinearConfig::new(config.hidden, config.num_classes).init(device),
            activation: Relu::new(),
        }
    }

    /// Logits `[batch, classes]` for images `[batch, channels, height, width]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.classify(self.features(images))
    }

    /// The penultimate embedding `[batch, hidden]` (after fc1 and its ReLU): what the pool's
    /// outlier score compares, and what MC-dropout passes share (only the head is stochastic).
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = self.conv1.forward(images);
        if let Some(bn) = &self.bn1 {
            x = bn.forward(x);
        }
        x = self.pool.forward(self.activation.forward(x));
        x = self.conv2.forward(x);
        if let Some(bn) = &self.bn2 {
            x = bn.forward(x);
        }
        x = self.pool.forward(self.activation.forward(x));
        let x: Tensor<2> = x.flatten(1, 3);
        self.activation.forward(self.fc1.forward(x))
    }

    /// Logits from [`Cnn::features`]: dropout (active only when training), then fc2.
    pub fn classify(&self, features: Tensor<2>) -> Tensor<2> {
        self.fc2.forward(self.dropout.forward(features))
    }

    /// Logits from [`Cnn::features`] times an explicit dropout `mask` of the same shape (kept
    /// units already scaled by 1/(1−p)): one MC-dropout pass, drawn by the caller so that it is
    /// reproducible and works on a device without autodiff, where [`Cnn::classify`] never drops.
    pub fn classify_masked(&self, features: Tensor<2>, mask: Tensor<2>) -> Tensor<2> {
        self.fc2.forward(features * mask)
    }

    /// The last layer.
    pub fn head(&self) -> &Linear {
        &self.fc2
    }

    /// The dropout probability before the last layer (0 for the small model).
    pub fn dropout_prob(&self) -> f64 {
        self.dropout.prob
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_shape_follows_config() {
        let device = crate::device::burn_device(
            crate::device::resolve(crate::device::DeviceSpec::Auto).unwrap(),
        );
        for kind in [ModelKind::Small, ModelKind::Default] {
            for (c, h, w) in [(1, 28, 28), (3, 32, 30), (1, 7, 9)] {
                let model = Cnn::new(&ModelConfig::new(kind, c, h, w, 5), &device);
                let out = model.forward(Tensor::zeros([2, c, h, w], &device));
                assert_eq!(out.dims(), [2, 5]);
            }
        }
    }

    #[test]
    fn forward_is_classify_of_features() {
        let device = crate::device::burn_device(
            crate::device::resolve(crate::device::DeviceSpec::Auto).unwrap(),
        );
        let pixels: Vec<f32> = (0..2 * 3 * 8 * 8).map(|i| (i % 17) as f32 / 17.0).collect();
        let images =
            || Tensor::<4>::from_data(TensorData::new(pixels.clone(), [2, 3, 8, 8]), &device);
        for kind in [ModelKind::Small, ModelKind::Default] {
            let model = Cnn::new(&ModelConfig::new(kind, 3, 8, 8, 4).with_hidden(10), &device);
            let features = model.features(images());
            assert_eq!(features.dims(), [2, 10]);
            let values = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
            assert!(
                values(features.clone()).iter().all(|&x| x >= 0.0),
                "post-ReLU"
            );
            let whole = values(model.forward(images()));
            assert_eq!(whole, values(model.classify(features.clone())));
            let ones = Tensor::<2>::ones([2, 10], &device);
            assert_eq!(whole, values(model.classify_masked(features, ones)));
        }
        let model = Cnn::new(&ModelConfig::new(ModelKind::Default, 3, 8, 8, 4), &device);
        assert_eq!(model.dropout_prob(), 0.3);
        let small = Cnn::new(&ModelConfig::new(ModelKind::Small, 3, 8, 8, 4), &device);
        assert_eq!(small.dropout_prob(), 0.0);
    }
}
