//! Loading a data root and preparing the splits a run uses.

use std::sync::Arc;

use crate::config::{ClassWeighting, TrainConfig};
use crate::data::{DatasetOptions, ImageSet, ImageShape, SkippedFile, load_dataset, split};

/// The splits of a run, ready for training.
#[derive(Debug, Clone)]
pub struct PreparedData {
    /// Class names in label order.
    pub classes: Vec<String>,
    /// Shape of every image.
    pub shape: ImageShape,
    /// Labelled training images (after the validation hold-out).
    pub train: ImageSet,
    /// Validation images (the `val/` folder, or held out from `train/`).
    pub val: ImageSet,
    /// Test images, when a `test/` folder exists.
    pub test: Option<ImageSet>,
    /// The unlabelled pool (labels are hidden truth, diagnostics only).
    pub pool: ImageSet,
    /// Images skipped while loading.
    pub skipped: Vec<SkippedFile>,
}

impl PreparedData {
    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }

    /// Whether any unlabelled image has hidden truth.
    pub fn pool_has_truth(&self) -> bool {
        self.pool.labels.iter().any(Option::is_some)
    }
}

/// Loads the data root named by the configuration and holds out the validation split.
pub fn prepare(cfg: &TrainConfig) -> anyhow::Result<Arc<PreparedData>> {
    let loaded = load_dataset(&DatasetOptions {
        root: cfg.data.clone(),
        channels: cfg.channels,
        size: cfg.image_size.map(|[h, w]| (h, w)),
        on_bad_image: cfg.on_bad_image,
    })?;
    let num_classes = loaded.classes.len();
    let (train, val) = match loaded.val {
        _ if cfg.cv_folds >= 2 => {
            // Cross-validation folds cover every labelled image, val/ included.
            let mut labeled = loaded.train;
            if let Some(val) = &loaded.val {
                for i in 0..val.len() {
                    labeled.push(val.image(i), val.labels[i], val.files[i].clone());
                }
            }
            let labels = labeled.class_labels();
            if labels.len() < cfg.cv_folds {
                anyhow::bail!(
                    "{}: {} labelled images cannot make {} cross-validation folds",
                    cfg.data.join("train").display(),
                    labels.len(),
                    cfg.cv_folds
                );
            }
            let folds = split::stratified_folds(&labels, num_classes, cfg.cv_folds, cfg.seed);
            let hold = &folds[cfg.cv_fold.min(cfg.cv_folds - 1)];
            let mut keep: Vec<usize> = folds
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != cfg.cv_fold)
                .flat_map(|(_, f)| f.iter().copied())
                .collect();
            keep.sort_unstable();
            (labeled.subset(&keep), labeled.subset(hold))
        }
        Some(val) if !val.is_empty() => (loaded.train, val),
        _ => {
            let labels = loaded.train.class_labels();
            let (keep, hold) =
                split::stratified_holdout(&labels, num_classes, cfg.val_fraction, cfg.seed);
            (loaded.train.subset(&keep), loaded.train.subset(&hold))
        }
    };
    if train.is_empty() {
        anyhow::bail!(
            "{}: no labelled training image left after the validation hold-out",
            cfg.data.join("train").display()
        );
    }
    Ok(Arc::new(PreparedData {
        classes: loaded.classes,
        shape: loaded.shape,
        train,
        val,
        test: loaded.test.filter(|t| !t.is_empty()),
        pool: loaded.unlabeled,
        skipped: loaded.skipped,
    }))
}

/// Per-class weights of the supervised loss.
pub fn class_weights(cfg: &TrainConfig, counts: &[usize]) -> anyhow::Result<Vec<f32>> {
    let k = counts.len();
    if let Some(ws) = &cfg.class_weights {
        if ws.len() != k {
            anyhow::bail!(
                "config field `class_weights`: {} weights given for {k} classes",
                ws.len()
            );
        }
        return Ok(ws.clone());
    }
    Ok(match cfg.class_weighting {
        ClassWeighting::None => vec![1.0; k],
        ClassWeighting::Balanced => {
            let present = counts.iter().filter(|c| **c > 0).count().max(1);
            let total: usize = counts.iter().sum();
            counts
                .iter()
                .map(|&c| {
                    if c == 0 {
                        0.0
                    } else {
                        total as f32 / (present as f32 * c as f32)
                    }
                })
                .collect()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_weights_are_inverse_frequency_with_mean_one() {
        let cfg = TrainConfig {
            class_weighting: ClassWeighting::Balanced,
            ..TrainConfig::default()
        };
        let w = class_weights(&cfg, &[10, 30, 0]).unwrap();
        assert_eq!(w, vec![2.0, 2.0 / 3.0, 0.0]);
        let cfg = TrainConfig {
            class_weights: Some(vec![1.0, 2.0]),
            ..TrainConfig::default()
        };
        assert!(
            class_weights(&cfg, &[1, 1, 1])
                .unwrap_err()
                .to_string()
                .contains("class_weights")
        );
    }
}
