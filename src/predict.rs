//! `selftrain predict`: classify image files with a trained run's model.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::store::ModuleRecord;

use crate::data::folder::decode_image_file;
use crate::model::Classifier;
use crate::run::{ModelInfo, files, read_model_info};
use crate::train::steps::{argmax, predict_pixels};

/// A trained model with the facts needed to feed it.
pub struct LoadedModel {
    /// Architecture, classes and input shape.
    pub info: ModelInfo,
    /// The network, in validation mode.
    pub model: Classifier,
    /// The device it lives on.
    pub device: Device,
}

/// Loads `model.json` and a checkpoint (`best.bpk` by default) from a run directory.
pub fn load_model(run_dir: &Path, checkpoint: &str, device: Device) -> anyhow::Result<LoadedModel> {
    let info_path = run_dir.join(files::MODEL);
    if !info_path.is_file() {
        anyhow::bail!(
            "{}: no such file (is this a run directory?)",
            info_path.display()
        );
    }
    let info = read_model_info(&info_path)?;
    let ckpt = run_dir.join(checkpoint);
    let record = ModuleRecord::load(&ckpt)
        .map_err(|e| anyhow::anyhow!("{}: cannot load checkpoint: {e}", ckpt.display()))?;
    let model = info
        .model
        .init(&device)
        .try_load(record)
        .map_err(|e| anyhow::anyhow!("{}: checkpoint does not fit the model: {e}", ckpt.display()))?
        .valid();
    Ok(LoadedModel {
        info,
        model,
        device,
    })
}

/// One prediction.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FilePrediction {
    /// The image file.
    pub file: PathBuf,
    /// Predicted class name.
    pub class: String,
    /// Its probability.
    pub confidence: f32,
}

/// Classifies image files; a file that cannot be decoded is an error naming it.
pub fn predict_files(
    loaded: &LoadedModel,
    paths: &[PathBuf],
    batch_size: usize,
) -> anyhow::Result<Vec<FilePrediction>> {
    let shape = loaded.info.shape;
    let mut pixels = Vec::with_capacity(paths.len() * shape.len());
    for p in paths {
        let img =
            decode_image_file(p, shape, loaded.info.resize).map_err(|e| anyhow::anyhow!("{e}"))?;
        pixels.extend_from_slice(&img);
    }
    let k = loaded.info.classes.len();
    let probs = predict_pixels(
        &loaded.model,
        &pixels,
        paths.len(),
        shape,
        batch_size,
        &loaded.device,
    );
    Ok(probs
        .chunks(k)
        .zip(paths)
        .map(|(row, path)| {
            let c = argmax(row);
            FilePrediction {
                file: path.clone(),
                class: loaded.info.classes[c].clone(),
                confidence: row[c],
            }
        })
        .collect())
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use crate::device::{DeviceSpec, burn_device};

    fn golden() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden/run")
    }

    #[test]
    fn a_run_written_before_format_versions_loads() {
        let loaded = load_model(&golden(), files::BEST, burn_device(DeviceSpec::Flex)).unwrap();
        assert_eq!(loaded.info.classes.len(), 10);
        assert_eq!(loaded.info.format_version, 1);
    }

    #[test]
    fn a_newer_model_json_is_refused_naming_it() {
        let dir = std::env::temp_dir().join(format!("selftrain-predict-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut info: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(golden().join(files::MODEL)).unwrap())
                .unwrap();
        info["format_version"] = serde_json::json!(crate::run::FORMAT_VERSION + 1);
        std::fs::write(dir.join(files::MODEL), info.to_string()).unwrap();
        let err = load_model(&dir, files::BEST, burn_device(DeviceSpec::Flex))
            .err()
            .expect("refused");
        let err = format!("{err:#}");
        assert!(
            err.contains("model.json: format_version 2 is newer"),
            "{err}"
        );
        let err = load_model(
            &dir.join("nope"),
            files::BEST,
            burn_device(DeviceSpec::Flex),
        )
        .err()
        .expect("refused");
        assert!(format!("{err:#}").contains("model.json: no such file"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
