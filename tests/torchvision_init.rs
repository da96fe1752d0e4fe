//! `--init-from` with torchvision's ResNet-18: a state_dict (.pth), a .safetensors file and a
//! whole pickled model written by PyTorch load by name into `--model resnet18`, and give
//! PyTorch's logits on the same input (relative error < 1e-4).
//!
//! Needs a Python with torch and torchvision, named by `SELFTRAIN_TORCH_PYTHON` (the CI's
//! libtorch stage sets it). Without it the test says so and passes, except in a `tch` build,
//! where PyTorch is part of the setup and its absence is an error.

use std::path::{Path, PathBuf};
use std::process::Command;

use burn::prelude::*;
use selftrain::device::{DeviceSpec, burn_device};
use selftrain::model::init_from::init_from;
use selftrain::model::{ModelConfig, ModelKind};

fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn torchvision_resnet18_weights_give_pytorchs_logits() {
    let Some(python) = std::env::var_os("SELFTRAIN_TORCH_PYTHON") else {
        if cfg!(feature = "tch") {
            panic!("set SELFTRAIN_TORCH_PYTHON to a Python with torch and torchvision");
        }
        eprintln!("SELFTRAIN_TORCH_PYTHON is not set: torchvision comparison skipped");
        return;
    };
    let out: PathBuf =
        std::env::temp_dir().join(format!("selftrain-torchvision-{}", std::process::id()));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/torchvision_reference.py");
    let status = Command::new(&python)
        .arg(&script)
        .arg(&out)
        .status()
        .expect("running the PyTorch reference");
    assert!(status.success(), "{} failed", script.display());

    let device = burn_device(DeviceSpec::Flex);
    let input = Tensor::<4>::from_data(
        TensorData::new(read_f32(&out.join("input.f32")), [2, 3, 64, 64]),
        &device,
    );
    let expected = read_f32(&out.join("logits.f32"));
    let scale = expected.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let config = ModelConfig::for_kind(ModelKind::Resnet18, 3, 64, 64, 10).with_dropout(0.0);
    for name in ["resnet18.pth", "resnet18.safetensors", "resnet18-whole.pt"] {
        let (model, report) = init_from(config.init(&device), &config, &[], &out.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert_eq!(report.head_replaced, None, "{name}");
        let logits: Vec<f32> = model
            .forward(input.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let err = logits
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max)
            / scale;
        assert!(err < 1e-4, "{name}: relative error {err}");
    }

    // The same file into a 4-class model: the backbone loads, the head starts new.
    let four = ModelConfig::for_kind(ModelKind::Resnet18, 3, 64, 64, 4);
    let (_, report) = init_from(four.init(&device), &four, &[], &out.join("resnet18.pth")).unwrap();
    assert_eq!(report.head_replaced, Some((10, 4)));
    let _ = std::fs::remove_dir_all(&out);
}
