//! Loading a data root and preparing the splits a run uses: where the data and the
//! configuration meet, so the checks that need both (memory, degenerate setups) are made here,
//! before any image is decoded where possible.

use std::path::Path;
use std::sync::Arc;

use crate::config::{ClassWeighting, TrainConfig};
use crate::data::memory::{self, MemoryEstimate, RunSize};
use crate::data::{
    DECODE_CHUNK, DatasetOptions, DatasetPlan, ImageSet, ImageShape, SkippedFile,
    load_dataset_checked, split,
};
use crate::train::steps::inference_batch_size;

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
///
/// Before decoding, prints the run's memory estimate (and refuses a run that will not fit in
/// the available memory), refuses setups where nothing can be learnt (a single class, every
/// class weight 0, the runs folder inside a split folder) and warns about doubtful ones;
/// warnings go to stderr as `warning: ...` lines.
pub fn prepare(cfg: &TrainConfig) -> anyhow::Result<Arc<PreparedData>> {
    check_config(cfg)?;
    let mut warnings = Vec::new();
    let loaded = load_dataset_checked(
        &DatasetOptions {
            root: cfg.data.clone(),
            channels: cfg.channels,
            size: cfg.image_size.map(|[h, w]| (h, w)),
            on_bad_image: cfg.on_bad_image,
            resize: cfg.resize,
        },
        |plan| -> anyhow::Result<()> {
            warnings.extend(check_plan(cfg, plan)?);
            let available = memory::available_memory().map_err(anyhow::Error::msg)?;
            let estimate = memory::estimate(&run_size(cfg, plan));
            eprintln!("{}", memory_line(&estimate, available));
            if let Some(available) = available
                && estimate.total() > available
            {
                anyhow::bail!(memory_refusal(plan, &estimate, available));
            }
            Ok(())
        },
    )?;
    for w in warnings.iter().chain(&loaded.warnings) {
        eprintln!("warning: {w}");
    }
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

/// Refuses configurations where nothing can be learnt or that would read a run's output as
/// data.
fn check_config(cfg: &TrainConfig) -> anyhow::Result<()> {
    if let Some(ws) = &cfg.class_weights
        && !ws.is_empty()
        && ws.iter().all(|w| *w == 0.0)
    {
        anyhow::bail!(
            "config field `class_weights`: every weight is 0, so the supervised loss is always 0 \
             and nothing can be learnt"
        );
    }
    if let Some(split) = split_holding(&cfg.data, &cfg.runs_dir) {
        anyhow::bail!(
            "the runs folder {} is inside {}: the next run would read this run's output as \
             images; choose a --runs-dir outside the data folder",
            cfg.runs_dir.display(),
            cfg.data.join(split).display()
        );
    }
    Ok(())
}

/// The split folder of `data` that holds `path`, if any (compared as canonical paths).
fn split_holding(data: &Path, path: &Path) -> Option<&'static str> {
    let data = std::fs::canonicalize(data).ok()?;
    let path = std::fs::canonicalize(path).ok()?;
    ["train", "val", "test", "unlabeled"]
        .into_iter()
        .find(|split| path.starts_with(data.join(split)))
}

/// Checks what the data will be once loaded against the configuration: refuses a single class,
/// returns warnings for doubtful settings.
fn check_plan(cfg: &TrainConfig, plan: &DatasetPlan) -> anyhow::Result<Vec<String>> {
    if plan.classes < 2 {
        anyhow::bail!(
            "{} holds a single class folder: a classifier needs at least two classes (one \
             folder of labelled images per class)",
            cfg.data.join("train").display()
        );
    }
    let mut warnings = Vec::new();
    let side = plan.shape.height.min(plan.shape.width);
    if cfg.augment_shift > 0 && cfg.augment_shift >= side {
        warnings.push(format!(
            "config field `augment_shift`: a shift of up to {} pixels is not smaller than the \
             {}x{} images, so some shifted images are entirely blank",
            cfg.augment_shift, plan.shape.height, plan.shape.width
        ));
    }
    Ok(warnings)
}

/// What the run will hold in memory, from the configuration and the dataset plan.
fn run_size(cfg: &TrainConfig, plan: &DatasetPlan) -> RunSize {
    let labelled = plan.train + plan.val;
    let eval_batch = cfg.batch_size.max(64).min(labelled.max(plan.test));
    let pool_batch = inference_batch_size(cfg.batch_size).min(plan.unlabeled);
    RunSize {
        shape: plan.shape,
        num_classes: plan.classes,
        images: plan.images(),
        labelled,
        decode_chunk: DECODE_CHUNK,
        batch_size: cfg.batch_size.min(labelled + plan.unlabeled).max(1),
        inference_batch: eval_batch.max(pool_batch),
        model: cfg.model,
    }
}

/// The run's memory line, e.g. `memory estimate: 1.2 GiB of 14.8 GiB available`.
fn memory_line(estimate: &MemoryEstimate, available: Option<u64>) -> String {
    let total = memory::format_bytes(estimate.total());
    match available {
        Some(a) => format!(
            "memory estimate: {total} of {} available",
            memory::format_bytes(a)
        ),
        None => format!("memory estimate: {total} (available memory unknown)"),
    }
}

/// Why a run that needs more than `available` is refused, with the parts of the estimate.
fn memory_refusal(plan: &DatasetPlan, estimate: &MemoryEstimate, available: u64) -> String {
    let s = plan.shape;
    format!(
        "not enough memory: this run needs about {} ({} for {} images of {}x{}x{}, {} for the \
         model, {} for one batch) but only {} is available; choose a smaller --image-size or \
         --batch-size (or set {} to the memory this run may use)",
        memory::format_bytes(estimate.total()),
        memory::format_bytes(estimate.images),
        plan.images(),
        s.channels,
        s.height,
        s.width,
        memory::format_bytes(estimate.model),
        memory::format_bytes(estimate.batch),
        memory::format_bytes(available),
        memory::AVAILABLE_OVERRIDE
    )
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
