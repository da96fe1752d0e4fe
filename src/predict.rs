//! `selftrain predict`: classify image files with a trained run's model.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::prelude::*;
use burn::store::ModuleRecord;

use crate::data::folder::decode_image_file;
use crate::model::Cnn;
use crate::run::files;
use crate::train::engine::ModelInfo;
use crate::train::steps::{argmax, predict_pixels};

/// A trained model with the facts needed to feed it.
pub struct LoadedModel {
    /// Architecture, classes and input shape.
    pub info: ModelInfo,
    /// The network, in validation mode.
    pub model: Cnn,
    /// The device it lives on.
    pub device: Device,
}

/// Loads `model.json` and a checkpoint (`best.bpk` by default) from a run directory.
pub fn load_model(run_dir: &Path, checkpoint: &str, device: Device) -> anyhow::Result<LoadedModel> {
    let info_path = run_dir.join(files::MODEL);
    let text = std::fs::read_to_string(&info_path).with_context(|| {
        format!(
            "{}: cannot read (is this a run directory?)",
            info_path.display()
        )
    })?;
    let info: ModelInfo = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a valid model description", info_path.display()))?;
    let ckpt = run_dir.join(checkpoint);
    let record = ModuleRecord::load(&ckpt)
        .map_err(|e| anyhow::anyhow!("{}: cannot load checkpoint: {e}", ckpt.display()))?;
    let model = info
        .model
        .init(&device)
        .try_load_record(record)
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
        let img = decode_image_file(p, shape).map_err(|e| anyhow::anyhow!("{e}"))?;
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
