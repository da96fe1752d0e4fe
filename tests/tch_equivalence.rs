//! flex and libtorch (tch-cpu) compute the same thing: the same weights give the same logits,
//! and one training step from the same weights gives the same weights and losses.
#![cfg(feature = "tch")]

use burn::module::Module;
use burn::prelude::*;
use burn::store::ModuleRecord;
use selftrain::data::ImageShape;
use selftrain::device::{DeviceSpec, burn_device};
use selftrain::model::{Classifier, ModelConfig, ModelKind};
use selftrain::train::steps::{predict_pixels, train_step};

const SHAPE: ImageShape = ImageShape {
    channels: 1,
    height: 28,
    width: 28,
};

fn pixels(n: usize) -> Vec<u8> {
    (0..n * SHAPE.len())
        .map(|i| ((i * 7919) % 251) as u8)
        .collect()
}

fn config() -> ModelConfig {
    // Dropout off: it draws random masks, which differ between backends by design.
    ModelConfig::new(ModelKind::Default, 1, 28, 28, 10).with_dropout(0.0)
}

fn same_weights_on(model: &Classifier, device: &Device) -> Classifier {
    let bytes = model.to_record().into_bytes().unwrap();
    config()
        .init(device)
        .try_load(ModuleRecord::from_bytes(bytes).unwrap())
        .unwrap()
}

fn params(model: &Classifier) -> Vec<f32> {
    // Serialize and read back through a flex model to compare every parameter.
    let bytes = model.valid().to_record().into_bytes().unwrap();
    let flex = burn_device(DeviceSpec::Flex);
    let m = config()
        .init(&flex)
        .try_load(ModuleRecord::from_bytes(bytes).unwrap())
        .unwrap();
    let mut out = Vec::new();
    let probe = predict_pixels(&m, &pixels(4), 4, SHAPE, 4, &flex);
    out.extend(probe);
    out
}

fn max_rel_err(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()).max(1e-3))
        .fold(0.0, f32::max)
}

#[test]
fn same_weights_give_the_same_logits() {
    let flex = burn_device(DeviceSpec::Flex);
    let tch = burn_device(DeviceSpec::TchCpu);
    flex.seed(3);
    let model = config().init(&flex).valid();
    let on_tch = same_weights_on(&model, &tch).valid();
    let x = pixels(16);
    let a = predict_pixels(&model, &x, 16, SHAPE, 16, &flex);
    let b = predict_pixels(&on_tch, &x, 16, SHAPE, 16, &tch);
    let err = max_rel_err(&a, &b);
    assert!(err < 1e-4, "probabilities differ: max relative error {err}");
}

#[test]
fn one_training_step_gives_the_same_result() {
    let flex = burn_device(DeviceSpec::Flex).autodiff();
    let tch = burn_device(DeviceSpec::TchCpu).autodiff();
    flex.seed(5);
    let model = config().init(&flex);
    let on_tch = same_weights_on(&model, &tch);
    let x = pixels(32);
    let targets: Vec<usize> = (0..32).map(|i| i % 10).collect();
    let pseudo: Vec<bool> = (0..32).map(|i| i % 3 == 0).collect();
    let weights = vec![1.0; 10];
    let step = |model, device: &Device| {
        let mut optimizer = burn::optim::AdamConfig::new().init();
        train_step(
            model,
            &mut optimizer,
            &x,
            SHAPE,
            &targets,
            &pseudo,
            &weights,
            0.5,
            1e-3.into(),
            device,
        )
    };
    let (ma, la) = step(model, &flex);
    let (mb, lb) = step(on_tch, &tch);
    assert!(
        ((la.total - lb.total) / la.total).abs() < 1e-4,
        "{la:?} vs {lb:?}"
    );
    assert!(((la.supervised - lb.supervised) / la.supervised).abs() < 1e-4);
    let err = max_rel_err(&params(&ma), &params(&mb));
    assert!(
        err < 1e-4,
        "models differ after one step: max relative error {err}"
    );
}
