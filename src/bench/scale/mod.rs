//! `selftrain bench-scale`: the pipeline's costs on a real data root, at full-dataset scale.
//!
//! Measures, in order: the parallel decode of the data root, training steps of the default CNN
//! on its labelled images, one pseudo-labelling pass (the engine's own prediction and acceptance
//! code) on prefixes of the unlabelled pool of several sizes, and optionally the parallel
//! `import idx` of raw IDX files into a temporary folder. The peak resident memory is read before
//! the import, so the memory goal is judged on decode + training + passes only.
//!
//! The figures are gathered into one [`ScaleReport`]; the summaries (linear scaling, memory
//! goal) are pure functions of the measurements.

mod idx;
mod passes;
mod report;
mod summary;
mod training;

pub use idx::{IdxFiles, find_idx_file};
pub use passes::{PassTiming, WARMUP_PASS_IMAGES, pass_row};
pub use report::{
    MemoryFigures, PassRow, ScaleReport, ScalingSummary, SplitSizes, Throughput, TrainFigures,
};
pub use summary::{MEMORY_GOAL_FACTOR, capped_sizes, memory_goal, scaling_summary};
pub use training::{WARMUP_STEPS, full_batches};

use std::path::PathBuf;
use std::time::Instant;

use burn::module::Module;

use super::stats::{MIB, peak_rss_bytes};
use crate::config::{Acceptance, TrainConfig};
use crate::data::{DatasetOptions, ImageSet, load_dataset};
use crate::device::DeviceSpec;
use crate::model::ModelKind;
use crate::train::steps::inference_batch_size;

/// What to measure.
#[derive(Debug, Clone)]
pub struct ScaleOptions {
    /// Data root (ImageFolder layout: `train/`, `unlabeled/`, optional `test/`, `val/`).
    pub data: PathBuf,
    /// Unlabelled-pool sizes of the timed passes (each capped at the pool's size).
    pub pool_sizes: Vec<usize>,
    /// Resolved device.
    pub device: DeviceSpec,
    /// Model architecture.
    pub model: ModelKind,
    /// Training batch size (the pass uses the engine's inference batch size derived from it).
    pub batch_size: usize,
    /// Timed training steps (after [`WARMUP_STEPS`] warm-up steps).
    pub train_steps: usize,
    /// Confidence threshold τ of the acceptance decision.
    pub threshold: f32,
    /// Acceptance policy.
    pub acceptance: Acceptance,
    /// Times each pass is run; the median time is reported.
    pub repeats: usize,
    /// Folder of raw MNIST IDX files whose import is timed too, when given.
    pub idx_dir: Option<PathBuf>,
    /// Seed of the model initialisation and batch plans.
    pub seed: u64,
}

impl ScaleOptions {
    /// Refuses settings that cannot be measured, naming the flag.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.pool_sizes.is_empty() || self.pool_sizes.contains(&0) {
            anyhow::bail!("--pool-sizes: give one or more sizes, each at least 1");
        }
        if self.batch_size == 0 {
            anyhow::bail!("--batch-size must be at least 1");
        }
        if self.train_steps == 0 {
            anyhow::bail!("--train-steps must be at least 1");
        }
        if !(self.threshold.is_finite() && (0.0..=1.0).contains(&self.threshold)) {
            anyhow::bail!("--threshold must be within [0, 1], got {}", self.threshold);
        }
        Ok(())
    }
}

fn decoded_bytes(sets: &[Option<&ImageSet>]) -> u64 {
    sets.iter().flatten().map(|s| s.pixels.len() as u64).sum()
}

/// Runs the benchmark; `progress` receives human-readable lines as it goes.
pub fn run(opts: &ScaleOptions, mut progress: impl FnMut(&str)) -> anyhow::Result<ScaleReport> {
    opts.validate()?;
    let idx_files = opts.idx_dir.as_deref().map(IdxFiles::find).transpose()?;
    let rayon_threads = rayon::current_num_threads();

    // 1. Decode.
    progress(&format!(
        "decoding {} with {rayon_threads} rayon threads…",
        opts.data.display()
    ));
    let t0 = Instant::now();
    let loaded = load_dataset(&DatasetOptions::new(&opts.data))?;
    let decode_secs = t0.elapsed().as_secs_f64();
    let sizes = SplitSizes {
        train: loaded.train.len(),
        val: loaded.val.as_ref().map_or(0, ImageSet::len),
        test: loaded.test.as_ref().map_or(0, ImageSet::len),
        unlabeled: loaded.unlabeled.len(),
        total: 0,
    };
    let sizes = SplitSizes {
        total: sizes.train + sizes.val + sizes.test + sizes.unlabeled,
        ..sizes
    };
    let decode = Throughput::new(sizes.total, decode_secs);
    progress(&format!(
        "decoded {} images in {:.2}s: {:.0} images/s",
        decode.images, decode.secs, decode.images_per_sec
    ));
    if loaded.unlabeled.is_empty() {
        anyhow::bail!(
            "{}: the unlabelled pool is empty; nothing to pseudo-label",
            opts.data.join("unlabeled").display()
        );
    }
    let decoded = decoded_bytes(&[
        Some(&loaded.train),
        loaded.val.as_ref(),
        loaded.test.as_ref(),
        Some(&loaded.unlabeled),
    ]);
    let peak_after_decode = peak_rss_bytes().unwrap_or(0);
    let shape = loaded.shape;
    let k = loaded.num_classes();

    // 2. Training steps, as the engine takes them (warm-up phase: labelled images only).
    let cfg = TrainConfig {
        model: opts.model,
        batch_size: opts.batch_size,
        seed: opts.seed,
        ..TrainConfig::default()
    };
    let device = crate::device::burn_device(opts.device).autodiff();
    progress(&format!(
        "training {} steps (+{WARMUP_STEPS} warm-up) at batch {}…",
        opts.train_steps, cfg.batch_size
    ));
    let trained =
        training::time_training(&cfg, &loaded.train, shape, k, opts.train_steps, &device)?;
    let train = trained.figures;
    progress(&format!(
        "trained {} images in {:.2}s: {:.0} images/s",
        train.throughput.images, train.throughput.secs, train.throughput.images_per_sec
    ));
    let peak_after_train = peak_rss_bytes().unwrap_or(0);

    // 3. Pseudo-labelling passes: the engine's prediction and acceptance code.
    let valid = trained.model.valid();
    let plain = device.clone().without_autodiff();
    let infer_batch = inference_batch_size(cfg.batch_size);
    let setup = passes::PassSetup {
        model: &valid,
        pool: &loaded.unlabeled,
        shape,
        num_classes: k,
        batch_size: infer_batch,
        hflip: cfg.hflip,
        policy: crate::train::pseudo::PolicySpec::from_config(&TrainConfig {
            pseudo_policy: opts.acceptance,
            ..cfg.clone()
        }),
        threshold: opts.threshold,
        prior: loaded.train.class_counts(k),
        device: &plain,
    };
    let repeats = opts.repeats.max(1);
    let passes = passes::time_passes(&setup, &opts.pool_sizes, repeats, |row| {
        progress(&format!(
            "pass over {} images: {:.2}s ({:.0} images/s, {:.1} µs/image, {} accepted)",
            row.images, row.secs, row.images_per_sec, row.us_per_image, row.accepted
        ))
    });
    let scaling = scaling_summary(
        &passes
            .iter()
            .map(|r| (r.images, r.secs))
            .collect::<Vec<_>>(),
    );
    let largest = passes
        .iter()
        .max_by_key(|r| r.images)
        .cloned()
        .expect("at least one pass");

    // Memory, before the import (which reads the IDX files and is not part of the pipeline).
    let peak = peak_rss_bytes().unwrap_or(0);
    let model_param_bytes = trained.param_bytes;
    let (goal_bytes, within_goal) = memory_goal(peak, decoded, model_param_bytes);
    let memory = MemoryFigures {
        peak_rss_bytes: peak,
        peak_rss_mib: peak as f64 / MIB,
        peak_rss_after_decode_bytes: peak_after_decode,
        peak_rss_after_train_bytes: peak_after_train,
        decoded_bytes: decoded,
        model_param_bytes,
        goal_bytes,
        within_goal,
        peak_over_decoded: peak as f64 / decoded.max(1) as f64,
    };
    progress(&format!(
        "peak RSS {:.1} MiB; goal {MEMORY_GOAL_FACTOR} × {:.1} MiB decoded + {:.1} MiB model = {:.1} MiB: {}",
        memory.peak_rss_mib,
        decoded as f64 / MIB,
        model_param_bytes as f64 / MIB,
        goal_bytes as f64 / MIB,
        if within_goal { "met" } else { "NOT met" }
    ));

    // 4. Import, optionally.
    let import = match &idx_files {
        Some(files) => {
            progress(&format!(
                "importing {} into a temporary folder…",
                files.images.display()
            ));
            let t = idx::time_import(files, opts.seed)?;
            progress(&format!(
                "imported {} images in {:.2}s: {:.0} images/s",
                t.images, t.secs, t.images_per_sec
            ));
            Some(t)
        }
        None => None,
    };

    Ok(ScaleReport {
        data: opts.data.display().to_string(),
        device: opts.device.name(),
        model: opts.model,
        rayon_threads,
        available_parallelism: std::thread::available_parallelism().map_or(1, |n| n.get()),
        shape: [shape.channels, shape.height, shape.width],
        classes: k,
        images: sizes,
        skipped: loaded.skipped.len(),
        decode,
        import,
        train,
        inference_batch_size: infer_batch,
        threshold: opts.threshold,
        acceptance: opts.acceptance,
        repeats,
        largest_pass_images: largest.images,
        pass_secs: largest.secs,
        inference_images_per_sec: largest.images_per_sec,
        passes,
        scaling,
        memory,
    })
}
