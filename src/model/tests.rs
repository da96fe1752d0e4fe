//! Unit tests of the classifiers and of initialising one from a weights file.

use std::path::PathBuf;

use burn::prelude::*;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, ModuleStore, SafetensorsStore};

use super::init_from::{WeightsFormat, init_from};
use super::*;

fn device() -> Device {
    crate::device::burn_device(crate::device::resolve(crate::device::DeviceSpec::Auto).unwrap())
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("selftrain-model-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn images(n: usize, c: usize, h: usize, w: usize, device: &Device) -> Tensor<4> {
    let pixels: Vec<f32> = (0..n * c * h * w)
        .map(|i| ((i * 7919) % 251) as f32 / 251.0)
        .collect();
    Tensor::from_data(TensorData::new(pixels, [n, c, h, w]), device)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

const RESNETS: [ModelKind; 3] = [ModelKind::Resnet8, ModelKind::Resnet20, ModelKind::Resnet18];

#[test]
fn resnets_take_any_input_size_and_split_into_features_and_head() {
    let device = device();
    for kind in RESNETS {
        for (c, h, w) in [(1, 28, 28), (3, 32, 30), (3, 17, 23)] {
            let cfg = ModelConfig::for_kind(kind, c, h, w, 7);
            let model = cfg.init(&device).valid();
            let x = || images(2, c, h, w, &device);
            let features = model.features(x());
            assert_eq!(features.dims(), [2, cfg.feature_width()], "{kind:?}");
            assert!(
                values(features.clone()).iter().all(|&v| v >= 0.0),
                "post-ReLU"
            );
            let logits = values(model.forward(x()));
            assert_eq!(logits.len(), 2 * 7);
            assert_eq!(logits, values(model.classify(features.clone())));
            let ones = Tensor::<2>::ones([2, cfg.feature_width()], &device);
            assert_eq!(logits, values(model.classify_masked(features, ones)));
        }
    }
}

#[test]
fn resnet18_has_torchvisions_parameter_names_and_count() {
    let model = ModelConfig::for_kind(ModelKind::Resnet18, 3, 32, 32, 1000).init(&device());
    // torchvision's resnet18: 11,689,512 trainable parameters; burn also counts BatchNorm's
    // two running statistics (9,600 values over its 20 BatchNorms).
    assert_eq!(model.num_params(), 11_689_512 + 9_600);
    let keys: Vec<String> = model
        .to_record()
        .into_bytes()
        .map(|b| {
            burn::store::BurnpackStore::from_bytes(Some(b))
                .keys()
                .unwrap()
        })
        .unwrap();
    for key in [
        "conv1.weight",
        "bn1.gamma",
        "layer1.0.conv1.weight",
        "layer2.0.downsample.conv.weight",
        "layer2.0.downsample.bn.running_var",
        "layer4.1.bn2.beta",
        "fc.weight",
        "fc.bias",
    ] {
        assert!(keys.iter().any(|k| k == key), "{key} not in {keys:?}");
    }
}

#[test]
fn the_cifar_resnets_have_the_papers_depth() {
    let device = device();
    let convs = |kind| {
        let record = ModelConfig::for_kind(kind, 3, 32, 32, 10)
            .init(&device)
            .to_record()
            .into_bytes()
            .unwrap();
        burn::store::BurnpackStore::from_bytes(Some(record))
            .keys()
            .unwrap()
            .iter()
            .filter(|k| k.ends_with("conv1.weight") || k.ends_with("conv2.weight"))
            .count()
    };
    // Depth 6n + 2 = the stem, 6n block convolutions and fc (shortcuts not counted).
    assert_eq!(convs(ModelKind::Resnet8), 1 + 6);
    assert_eq!(convs(ModelKind::Resnet20), 1 + 18);
}

fn write_bpk(model: &Classifier, path: &std::path::Path) {
    std::fs::write(path, model.to_record().into_bytes().unwrap().to_vec()).unwrap();
}

#[test]
fn a_selftrain_model_file_round_trips_into_a_fresh_model() {
    let device = device();
    let dir = scratch("bpk");
    for kind in [ModelKind::Default, ModelKind::Resnet8] {
        let cfg = ModelConfig::for_kind(kind, 1, 16, 16, 4);
        let source = cfg.init(&device);
        let file = dir.join(format!("{}.bpk", kind.name()));
        write_bpk(&source, &file);
        let (loaded, report) = init_from(cfg.init(&device), &cfg, &[], &file).unwrap();
        assert_eq!(report.format, WeightsFormat::Selftrain);
        assert_eq!(report.head_replaced, None);
        let x = || images(3, 1, 16, 16, &device);
        assert_eq!(
            values(source.valid().forward(x())),
            values(loaded.valid().forward(x())),
            "{kind:?}"
        );
    }
}

#[test]
fn a_run_directory_gives_its_best_model() {
    let device = device();
    let dir = scratch("rundir");
    let cfg = ModelConfig::for_kind(ModelKind::Resnet8, 3, 12, 12, 3);
    let best = cfg.init(&device);
    write_bpk(&best, &dir.join(crate::run::files::BEST));
    write_bpk(&cfg.init(&device), &dir.join(crate::run::files::LAST));
    let (loaded, report) = init_from(cfg.init(&device), &cfg, &[], &dir).unwrap();
    assert_eq!(report.file, dir.join(crate::run::files::BEST));
    let x = || images(2, 3, 12, 12, &device);
    assert_eq!(
        values(best.valid().forward(x())),
        values(loaded.valid().forward(x()))
    );
}

#[test]
fn another_class_count_replaces_only_the_last_layer() {
    let device = device();
    let dir = scratch("head");
    let five = ModelConfig::for_kind(ModelKind::Resnet8, 1, 16, 16, 5);
    let source = five.init(&device);
    let file = dir.join("five.bpk");
    write_bpk(&source, &file);
    let three = ModelConfig::for_kind(ModelKind::Resnet8, 1, 16, 16, 3);
    let (loaded, report) = init_from(three.init(&device), &three, &[], &file).unwrap();
    assert_eq!(report.head_replaced, Some((5, 3)));
    assert!(
        report.to_string().contains("5 classes, this run 3"),
        "{report}"
    );
    let x = || images(2, 1, 16, 16, &device);
    assert_eq!(
        values(source.valid().features(x())),
        values(loaded.clone().valid().features(x())),
        "the backbone is the file's"
    );
    assert_eq!(loaded.valid().forward(x()).dims(), [2, 3]);
}

#[test]
fn a_tensor_of_another_shape_is_named_with_both_shapes() {
    let device = device();
    let dir = scratch("shape");
    let grey = ModelConfig::for_kind(ModelKind::Resnet8, 1, 16, 16, 4);
    let file = dir.join("grey.bpk");
    write_bpk(&grey.init(&device), &file);
    let colour = ModelConfig::for_kind(ModelKind::Resnet8, 3, 16, 16, 4);
    let err = init_from(colour.init(&device), &colour, &[], &file)
        .unwrap_err()
        .to_string();
    assert!(err.contains("grey.bpk"), "{err}");
    assert!(
        err.contains("`conv1.weight` has shape [16, 1, 3, 3] in the file")
            && err.contains("needs [16, 3, 3, 3]"),
        "{err}"
    );
}

#[test]
fn a_file_of_another_architecture_is_refused() {
    let device = device();
    let dir = scratch("arch");
    let cnn = ModelConfig::for_kind(ModelKind::Default, 1, 16, 16, 4);
    let file = dir.join("cnn.bpk");
    write_bpk(&cnn.init(&device), &file);
    let resnet = ModelConfig::for_kind(ModelKind::Resnet8, 1, 16, 16, 4);
    let err = init_from(resnet.init(&device), &resnet, &[], &file)
        .unwrap_err()
        .to_string();
    assert!(err.contains("cnn.bpk"), "{err}");
    assert!(
        err.contains("`conv1.weight` has shape") || err.contains("has no tensor for"),
        "{err}"
    );
}

#[test]
fn missing_truncated_and_unknown_files_are_refused_with_their_name() {
    let device = device();
    let dir = scratch("bad");
    let cfg = ModelConfig::for_kind(ModelKind::Resnet8, 1, 16, 16, 4);
    let fails = |path: &std::path::Path| {
        init_from(cfg.init(&device), &cfg, &[], path)
            .unwrap_err()
            .to_string()
    };
    let err = fails(&dir.join("absent.bpk"));
    assert!(err.contains("absent.bpk: no such file"), "{err}");
    let whole = dir.join("whole.bpk");
    write_bpk(&cfg.init(&device), &whole);
    let bytes = std::fs::read(&whole).unwrap();
    for (name, content) in [
        ("truncated.bpk", &bytes[..bytes.len() / 2]),
        ("text.pt", &b"not a model"[..]),
        ("text.safetensors", &b"not a model"[..]),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        let err = fails(&path);
        assert!(
            err.contains(name) && err.contains("not a readable"),
            "{err}"
        );
    }
    let path = dir.join("weights.onnx");
    std::fs::write(&path, b"x").unwrap();
    assert!(fails(&path).contains("unknown kind of weights file"));
    let err = fails(&dir);
    assert!(err.contains("no run directory"), "{err}");
}

#[test]
fn a_pytorch_layout_safetensors_file_loads_through_the_adapter() {
    // What `safetensors.torch.save_file(model.state_dict())` writes for this architecture:
    // PyTorch names (BatchNorm `weight`/`bias`, `downsample.0`/`.1`) and [out, in] linear
    // weights.
    let device = device();
    let dir = scratch("safetensors");
    let cfg = ModelConfig::for_kind(ModelKind::Resnet8, 3, 16, 16, 4);
    let source = cfg.init(&device);
    let file = dir.join("torch.safetensors");
    let mut store = SafetensorsStore::from_file(&file)
        .with_to_adapter(BurnToPyTorchAdapter)
        .with_key_remapping(r"\.downsample\.conv\.", ".downsample.0.")
        .with_key_remapping(r"\.downsample\.bn\.", ".downsample.1.");
    match &source.network {
        Network::ResNet(m) => m.save_into(&mut store).unwrap(),
        Network::Cnn(_) => unreachable!(),
    }
    let mut check = SafetensorsStore::from_file(&file);
    let keys = check.keys().unwrap();
    assert!(
        keys.iter().any(|k| k == "layer2.0.downsample.0.weight"),
        "{keys:?}"
    );
    assert!(keys.iter().any(|k| k == "bn1.weight"), "{keys:?}");
    let (loaded, report) = init_from(cfg.init(&device), &cfg, &[], &file).unwrap();
    assert_eq!(report.format, WeightsFormat::Safetensors);
    let x = || images(2, 3, 16, 16, &device);
    let diff = max_abs_diff(
        &values(source.valid().forward(x())),
        &values(loaded.valid().forward(x())),
    );
    assert!(diff < 1e-6, "logits differ by {diff}");
}

#[test]
fn a_frozen_backbone_keeps_its_weights_and_the_head_learns() {
    use crate::data::ImageShape;
    use crate::train::steps::{LearningRates, train_step};
    let device = device().autodiff();
    let cfg = ModelConfig::for_kind(ModelKind::Resnet8, 1, 8, 8, 3);
    let model = cfg.init(&device);
    let shape = ImageShape {
        channels: 1,
        height: 8,
        width: 8,
    };
    let pixels: Vec<u8> = (0..6 * 64).map(|i| (i * 37 % 256) as u8).collect();
    let targets = [0, 1, 2, 0, 1, 2];
    let mut optimizer = crate::train::steps::new_optimizer(&crate::config::TrainConfig::default());
    let before = model.clone().valid();
    let (after, _) = train_step(
        model,
        &mut optimizer,
        &pixels,
        shape,
        &targets,
        &[false; 6],
        &[1.0; 3],
        1.0,
        LearningRates {
            head: 1e-2,
            backbone: 0.0,
        },
        &device,
    );
    let after = after.valid();
    let (Network::ResNet(b), Network::ResNet(a)) = (&before.network, &after.network) else {
        unreachable!()
    };
    assert_ne!(
        values(b.head().weight.val()),
        values(a.head().weight.val()),
        "the head learns"
    );
    // The convolution weights are untouched (BatchNorm's running statistics still follow the
    // batches, as in PyTorch's train mode).
    let conv = |m: &Classifier| {
        let record = m.to_record().into_bytes().unwrap();
        let mut store = burn::store::BurnpackStore::from_bytes(Some(record));
        let t = store
            .get_tensor("layer1.0.conv1.weight")
            .unwrap()
            .unwrap()
            .clone();
        t.into_parts().unwrap().4.to_vec()
    };
    assert_eq!(conv(&before), conv(&after));
}

#[test]
fn a_run_of_other_classes_gives_its_backbone_but_not_its_last_layer() {
    // Classes 0–4 pretrained, classes 5–9 to learn: the same count, other classes.
    let device = device();
    let dir = scratch("other-classes");
    let cfg = ModelConfig::for_kind(ModelKind::Resnet8, 1, 16, 16, 5);
    let source = cfg.init(&device);
    write_bpk(&source, &dir.join(crate::run::files::BEST));
    let names = |range: std::ops::Range<usize>| -> Vec<String> {
        range.map(|c| format!("class-{c}")).collect()
    };
    let info = crate::run::ModelInfo::new(
        cfg.clone(),
        names(0..5),
        crate::data::ImageShape {
            channels: 1,
            height: 16,
            width: 16,
        },
        crate::data::ResizePolicy::Crop,
        "flex".into(),
    );
    std::fs::write(
        dir.join(crate::run::files::MODEL),
        serde_json::to_vec(&info).unwrap(),
    )
    .unwrap();
    let x = || images(2, 1, 16, 16, &device);
    let fresh = cfg.init(&device);
    let fresh_logits = values(fresh.clone().valid().forward(x()));
    let (loaded, report) = init_from(fresh, &cfg, &names(5..10), &dir).unwrap();
    assert_eq!(report.head_replaced, Some((5, 5)));
    assert!(report.other_classes);
    assert!(report.to_string().contains("other classes"), "{report}");
    assert_eq!(
        values(source.clone().valid().features(x())),
        values(loaded.clone().valid().features(x())),
        "the backbone is the run's"
    );
    let logits = values(loaded.valid().forward(x()));
    assert_ne!(
        logits,
        values(source.valid().forward(x())),
        "not the run's head"
    );
    assert_ne!(logits, fresh_logits, "the fresh head on the run's backbone");
    // The same classes: everything is the run's.
    let (same, report) = init_from(cfg.init(&device), &cfg, &names(0..5), &dir).unwrap();
    assert_eq!(report.head_replaced, None);
    let _ = same;
}
