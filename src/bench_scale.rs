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

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use burn::module::Module;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;

use crate::bench::peak_rss_bytes;
use crate::config::{Acceptance, TrainConfig};
use crate::data::{DatasetOptions, ImageSet, load_dataset};
use crate::device::DeviceSpec;
use crate::model::{CnnConfig, ModelKind};
use crate::train::batcher::{Item, Source, gather_pixels, plan_epoch};
use crate::train::engine::{inference_batch_size, mix_seed, predict_pool};
use crate::train::policy::{AcceptanceRule, decide};
use crate::train::prepare::class_weights;
use crate::train::steps::train_step;

/// Training steps run before the timed ones (first-call allocations, kernel selection).
pub const WARMUP_STEPS: usize = 2;
/// Images of the untimed warm-up pass run before the timed pseudo-labelling passes.
pub const WARMUP_PASS_IMAGES: usize = 512;
/// The memory goal: peak RSS below this many times the decoded dataset, plus the model.
pub const MEMORY_GOAL_FACTOR: u64 = 3;

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

/// Sizes of the loaded splits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SplitSizes {
    /// Labelled training images.
    pub train: usize,
    /// Validation images (`val/`).
    pub val: usize,
    /// Test images.
    pub test: usize,
    /// Unlabelled images.
    pub unlabeled: usize,
    /// All of them.
    pub total: usize,
}

/// A timed throughput: how many images in how long.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Throughput {
    /// Images processed.
    pub images: usize,
    /// Wall-clock seconds.
    pub secs: f64,
    /// `images / secs`.
    pub images_per_sec: f64,
}

impl Throughput {
    /// `images` done in `secs` seconds.
    pub fn new(images: usize, secs: f64) -> Self {
        Self {
            images,
            secs,
            images_per_sec: images as f64 / secs.max(1e-12),
        }
    }
}

/// Training figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainFigures {
    /// Batch size.
    pub batch_size: usize,
    /// Timed steps.
    pub steps: usize,
    /// Images and time of the timed steps.
    #[serde(flatten)]
    pub throughput: Throughput,
    /// Mean milliseconds per step.
    pub ms_per_step: f64,
}

/// One timed pseudo-labelling pass over a prefix of the unlabelled pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassRow {
    /// Pool size asked for.
    pub requested: usize,
    /// Images predicted: `requested` capped at the pool size.
    pub images: usize,
    /// Seconds predicting (median of the repeats).
    pub predict_secs: f64,
    /// Seconds deciding the pseudo-labels (median of the repeats).
    pub decide_secs: f64,
    /// Seconds of the whole pass (median of the repeats).
    pub secs: f64,
    /// `images / secs`.
    pub images_per_sec: f64,
    /// Microseconds per image: `secs / images`.
    pub us_per_image: f64,
    /// Pseudo-labels accepted.
    pub accepted: usize,
}

/// How the pass's cost grows with the pool size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScalingSummary {
    /// Smallest pool size measured.
    pub smallest_images: usize,
    /// Largest pool size measured.
    pub largest_images: usize,
    /// Microseconds per image at the largest size over those at the smallest: ≈ 1 when the
    /// cost grows linearly, > 1 when it grows faster.
    pub per_image_cost_ratio: f64,
    /// Least-squares fit `secs = intercept + slope × images`: the slope, in µs per image.
    pub fit_us_per_image: f64,
    /// The fit's intercept in seconds (fixed cost of a pass).
    pub fit_intercept_secs: f64,
    /// Coefficient of determination of the fit (1 = exactly linear; `null` with fewer than
    /// two distinct sizes).
    pub fit_r_squared: Option<f64>,
}

/// Peak memory against the goal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryFigures {
    /// Peak resident set size (VmHWM) after decode, training and the passes, in bytes.
    pub peak_rss_bytes: u64,
    /// The same in MiB.
    pub peak_rss_mib: f64,
    /// VmHWM after decoding, in bytes.
    pub peak_rss_after_decode_bytes: u64,
    /// VmHWM after training, in bytes.
    pub peak_rss_after_train_bytes: u64,
    /// Every decoded image as `u8`, in bytes.
    pub decoded_bytes: u64,
    /// The model's parameters as `f32`, in bytes.
    pub model_param_bytes: u64,
    /// The goal: `3 × decoded_bytes + model_param_bytes`.
    pub goal_bytes: u64,
    /// Whether `peak_rss_bytes < goal_bytes`.
    pub within_goal: bool,
    /// `peak_rss_bytes / decoded_bytes`.
    pub peak_over_decoded: f64,
}

/// Everything `bench-scale` measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScaleReport {
    /// Data root.
    pub data: String,
    /// Device.
    pub device: String,
    /// Model architecture.
    pub model: ModelKind,
    /// Threads of rayon's global pool (decode, import, flex kernels).
    pub rayon_threads: usize,
    /// Threads the OS makes available to the process.
    pub available_parallelism: usize,
    /// `[channels, height, width]`.
    pub shape: [usize; 3],
    /// Number of classes.
    pub classes: usize,
    /// Loaded images per split.
    pub images: SplitSizes,
    /// Files skipped while decoding.
    pub skipped: usize,
    /// Parallel decode of the whole data root into memory.
    pub decode: Throughput,
    /// Parallel `import idx` of the IDX files into a temporary folder, when `--idx-dir` is given.
    pub import: Option<Throughput>,
    /// Training steps on the labelled images.
    pub train: TrainFigures,
    /// Batch size of the passes.
    pub inference_batch_size: usize,
    /// τ of the passes.
    pub threshold: f32,
    /// Acceptance policy of the passes.
    pub acceptance: Acceptance,
    /// Runs per pass size (medians reported).
    pub repeats: usize,
    /// One row per requested pool size, in the order given.
    pub passes: Vec<PassRow>,
    /// Images of the largest pass.
    pub largest_pass_images: usize,
    /// Seconds of one pseudo-labelling pass over the largest pool measured.
    pub pass_secs: f64,
    /// Inference images/s of that pass.
    pub inference_images_per_sec: f64,
    /// Linear-scaling check over the pass sizes.
    pub scaling: ScalingSummary,
    /// Peak memory and the memory goal.
    pub memory: MemoryFigures,
}

/// The pool sizes to measure: each request capped at `pool`, in the order given.
pub fn capped_sizes(requested: &[usize], pool: usize) -> Vec<(usize, usize)> {
    requested.iter().map(|&r| (r, r.min(pool))).collect()
}

/// The median of some values (the mean of the middle two for an even count; 0 when empty).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Summarises `(images, secs)` measurements: the per-image cost ratio between the largest and
/// the smallest size and a least-squares line. Rows without images are ignored.
pub fn scaling_summary(points: &[(usize, f64)]) -> ScalingSummary {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|&(n, s)| (n as f64, s))
        .collect();
    let smallest = pts.iter().copied().min_by(|a, b| a.0.total_cmp(&b.0));
    let largest = pts.iter().copied().max_by(|a, b| a.0.total_cmp(&b.0));
    let (Some(small), Some(large)) = (smallest, largest) else {
        return ScalingSummary {
            smallest_images: 0,
            largest_images: 0,
            per_image_cost_ratio: 1.0,
            fit_us_per_image: 0.0,
            fit_intercept_secs: 0.0,
            fit_r_squared: None,
        };
    };
    let per_image = |(n, s): (f64, f64)| s / n;
    let ratio = if per_image(small) > 0.0 {
        per_image(large) / per_image(small)
    } else {
        1.0
    };
    let count = pts.len() as f64;
    let mean_x = pts.iter().map(|p| p.0).sum::<f64>() / count;
    let mean_y = pts.iter().map(|p| p.1).sum::<f64>() / count;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let syy: f64 = pts.iter().map(|p| (p.1 - mean_y).powi(2)).sum();
    let (slope, intercept, r2) = if sxx > 0.0 {
        let slope = sxy / sxx;
        let r2 = if syy > 0.0 {
            (sxy * sxy) / (sxx * syy)
        } else {
            1.0
        };
        (slope, mean_y - slope * mean_x, Some(r2))
    } else {
        // One distinct size: the line through the origin.
        (mean_y / mean_x, 0.0, None)
    };
    ScalingSummary {
        smallest_images: small.0 as usize,
        largest_images: large.0 as usize,
        per_image_cost_ratio: ratio,
        fit_us_per_image: slope * 1e6,
        fit_intercept_secs: intercept,
        fit_r_squared: r2,
    }
}

/// Judges a peak against the memory goal `3 × decoded + model`: returns `(goal, within)`.
pub fn memory_goal(peak_rss_bytes: u64, decoded_bytes: u64, model_param_bytes: u64) -> (u64, bool) {
    let goal = MEMORY_GOAL_FACTOR * decoded_bytes + model_param_bytes;
    (goal, peak_rss_bytes < goal)
}

/// The file `name` (or `name.gz`) in `dir`; errors name what is missing.
pub fn find_idx_file(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    for candidate in [name.to_string(), format!("{name}.gz")] {
        let path = dir.join(&candidate);
        if path.is_file() {
            return Ok(path);
        }
    }
    anyhow::bail!(
        "{}: neither {name} nor {name}.gz found (--idx-dir must hold the raw MNIST IDX files)",
        dir.display()
    )
}

/// A temporary folder removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The IDX files of an MNIST folder: the training pair, and the test pair when both exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxFiles {
    /// `train-images-idx3-ubyte[.gz]`.
    pub images: PathBuf,
    /// `train-labels-idx1-ubyte[.gz]`.
    pub labels: PathBuf,
    /// `t10k-images-idx3-ubyte[.gz]` and `t10k-labels-idx1-ubyte[.gz]`.
    pub test: Option<(PathBuf, PathBuf)>,
}

impl IdxFiles {
    /// Finds the files in `dir`; errors name the folder and the missing file.
    pub fn find(dir: &Path) -> anyhow::Result<Self> {
        let images = find_idx_file(dir, "train-images-idx3-ubyte")?;
        let labels = find_idx_file(dir, "train-labels-idx1-ubyte")?;
        let test = find_idx_file(dir, "t10k-images-idx3-ubyte")
            .ok()
            .zip(find_idx_file(dir, "t10k-labels-idx1-ubyte").ok());
        Ok(Self {
            images,
            labels,
            test,
        })
    }
}

/// Times `import idx` of every training and test image of `files` into a temporary folder,
/// which is removed afterwards.
fn time_import(files: &IdxFiles, seed: u64) -> anyhow::Result<Throughput> {
    let out = TempDir(std::env::temp_dir().join(format!(
        "selftrain-bench-import-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    )));
    let t0 = Instant::now();
    let report = crate::data::import_idx(&crate::data::ImportOptions {
        images: files.images.clone(),
        labels: files.labels.clone(),
        test_images: files.test.as_ref().map(|t| t.0.clone()),
        test_labels: files.test.as_ref().map(|t| t.1.clone()),
        out: out.0.clone(),
        labels_per_class: 1,
        unlabeled_per_class: None,
        test_per_class: None,
        seed,
        class_names: None,
    })
    .with_context(|| format!("importing {}", files.images.display()))?;
    let secs = t0.elapsed().as_secs_f64();
    drop(out);
    Ok(Throughput::new(
        report.train + report.unlabeled + report.test,
        secs,
    ))
}

fn decoded_bytes(sets: &[Option<&ImageSet>]) -> u64 {
    sets.iter().flatten().map(|s| s.pixels.len() as u64).sum()
}

/// Runs the benchmark; `progress` receives human-readable lines as it goes.
pub fn run(opts: &ScaleOptions, mut progress: impl FnMut(&str)) -> anyhow::Result<ScaleReport> {
    if opts.pool_sizes.is_empty() || opts.pool_sizes.contains(&0) {
        anyhow::bail!("--pool-sizes: give one or more sizes, each at least 1");
    }
    if opts.batch_size == 0 {
        anyhow::bail!("--batch-size must be at least 1");
    }
    if opts.train_steps == 0 {
        anyhow::bail!("--train-steps must be at least 1");
    }
    if !(opts.threshold.is_finite() && (0.0..=1.0).contains(&opts.threshold)) {
        anyhow::bail!("--threshold must be within [0, 1], got {}", opts.threshold);
    }
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
    device.seed(cfg.seed);
    let model_config = CnnConfig::new(cfg.model, shape.channels, shape.height, shape.width, k)
        .with_dropout(cfg.dropout);
    let mut model = model_config.init(&device);
    let model_param_bytes = (model.num_params() * std::mem::size_of::<f32>()) as u64;
    let mut optimizer = burn::optim::AdamConfig::new().init();
    let weights = class_weights(&cfg, &loaded.train.class_counts(k))?;
    let augment = cfg.augment();
    let pseudo_augment = cfg.pseudo_augment(shape);
    let labeled = crate::train::batcher::labeled_items(&loaded.train);
    // Shuffled epochs back to back, cut into full batches (a small labelled set would otherwise
    // end every epoch with a short batch).
    let steps = WARMUP_STEPS + opts.train_steps;
    let mut stream: Vec<Item> = Vec::with_capacity(steps * cfg.batch_size);
    let mut epoch = 0u64;
    while stream.len() < steps * cfg.batch_size {
        let mut rng = StdRng::seed_from_u64(mix_seed(cfg.seed, &[1, 0, epoch]));
        let plan = plan_epoch(
            &labeled,
            &[],
            cfg.batch_size,
            cfg.min_labeled_share,
            &mut rng,
        );
        stream.extend(plan.into_iter().flatten());
        epoch += 1;
    }
    let batches: Vec<&[Item]> = stream.chunks(cfg.batch_size).take(steps).collect();
    progress(&format!(
        "training {} steps (+{WARMUP_STEPS} warm-up) at batch {}…",
        opts.train_steps, cfg.batch_size
    ));
    let mut trained_images = 0;
    let mut t0 = Instant::now();
    for (step, batch) in batches.into_iter().enumerate() {
        if step == WARMUP_STEPS {
            t0 = Instant::now();
        }
        let mut rng = StdRng::seed_from_u64(mix_seed(cfg.seed, &[2, step as u64]));
        let pixels = gather_pixels(
            batch,
            |s| match s {
                Source::Train(i) => loaded.train.image(i),
                Source::Pool(i) => loaded.unlabeled.image(i),
            },
            shape,
            &augment,
            &pseudo_augment,
            &mut rng,
        );
        let targets: Vec<usize> = batch.iter().map(|i| i.class).collect();
        let pseudo: Vec<bool> = batch.iter().map(|i| i.is_pseudo()).collect();
        model = train_step(
            model,
            &mut optimizer,
            &pixels,
            shape,
            &targets,
            &pseudo,
            &weights,
            0.0,
            cfg.learning_rate,
            &device,
        )
        .0;
        if step >= WARMUP_STEPS {
            trained_images += batch.len();
        }
    }
    let train_secs = t0.elapsed().as_secs_f64();
    let train = TrainFigures {
        batch_size: cfg.batch_size,
        steps: opts.train_steps,
        throughput: Throughput::new(trained_images, train_secs),
        ms_per_step: train_secs * 1000.0 / opts.train_steps as f64,
    };
    progress(&format!(
        "trained {} images in {:.2}s: {:.0} images/s",
        train.throughput.images, train.throughput.secs, train.throughput.images_per_sec
    ));
    let peak_after_train = peak_rss_bytes().unwrap_or(0);

    // 3. Pseudo-labelling passes: the engine's prediction and acceptance code.
    let valid = model.valid();
    let plain = device.clone().without_autodiff();
    let infer_batch = inference_batch_size(cfg.batch_size);
    let pool = &loaded.unlabeled;
    let rule = AcceptanceRule {
        threshold: opts.threshold,
        acceptance: opts.acceptance,
        prior: loaded.train.class_counts(k),
        balance_slack: cfg.balance_slack,
    };
    let pass = |n: usize| {
        let t0 = Instant::now();
        let mut predictions = predict_pool(
            &valid,
            &pool.pixels,
            &pool.labels[..n],
            shape,
            k,
            infer_batch,
            cfg.hflip,
            &plain,
        );
        let predict_secs = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let eligible = vec![true; n];
        let decision = decide(&mut predictions, &eligible, &[], &rule, k);
        let decide_secs = t1.elapsed().as_secs_f64();
        (predict_secs, decide_secs, decision.accepted())
    };
    pass(WARMUP_PASS_IMAGES.min(pool.len()));
    let repeats = opts.repeats.max(1);
    let mut passes = Vec::new();
    for (requested, n) in capped_sizes(&opts.pool_sizes, pool.len()) {
        let mut predict = Vec::new();
        let mut decide_t = Vec::new();
        let mut total = Vec::new();
        let mut accepted = 0;
        for _ in 0..repeats {
            let (p, d, a) = pass(n);
            predict.push(p);
            decide_t.push(d);
            total.push(p + d);
            accepted = a;
        }
        let secs = median(&total);
        let row = PassRow {
            requested,
            images: n,
            predict_secs: median(&predict),
            decide_secs: median(&decide_t),
            secs,
            images_per_sec: n as f64 / secs.max(1e-12),
            us_per_image: secs * 1e6 / n as f64,
            accepted,
        };
        progress(&format!(
            "pass over {n} images: {:.2}s ({:.0} images/s, {:.1} µs/image, {} accepted)",
            row.secs, row.images_per_sec, row.us_per_image, row.accepted
        ));
        passes.push(row);
    }
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
    let (goal_bytes, within_goal) = memory_goal(peak, decoded, model_param_bytes);
    let memory = MemoryFigures {
        peak_rss_bytes: peak,
        peak_rss_mib: peak as f64 / (1024.0 * 1024.0),
        peak_rss_after_decode_bytes: peak_after_decode,
        peak_rss_after_train_bytes: peak_after_train,
        decoded_bytes: decoded,
        model_param_bytes,
        goal_bytes,
        within_goal,
        peak_over_decoded: peak as f64 / decoded.max(1) as f64,
    };
    progress(&format!(
        "peak RSS {:.1} MiB; goal 3 × {:.1} MiB decoded + {:.1} MiB model = {:.1} MiB: {}",
        memory.peak_rss_mib,
        decoded as f64 / 1048576.0,
        model_param_bytes as f64 / 1048576.0,
        goal_bytes as f64 / 1048576.0,
        if within_goal { "met" } else { "NOT met" }
    ));

    // 4. Import, optionally.
    let import = match &idx_files {
        Some(files) => {
            progress(&format!(
                "importing {} into a temporary folder…",
                files.images.display()
            ));
            let t = time_import(files, opts.seed)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_costs_give_a_ratio_of_one_and_an_exact_fit() {
        // 2 s fixed + 10 µs per image.
        let pts: Vec<(usize, f64)> = [15_000, 30_000, 60_000]
            .iter()
            .map(|&n| (n, 2.0 + n as f64 * 10e-6))
            .collect();
        let s = scaling_summary(&pts);
        assert_eq!((s.smallest_images, s.largest_images), (15_000, 60_000));
        assert!((s.fit_us_per_image - 10.0).abs() < 1e-9, "{s:?}");
        assert!((s.fit_intercept_secs - 2.0).abs() < 1e-9, "{s:?}");
        assert!((s.fit_r_squared.unwrap() - 1.0).abs() < 1e-12);
        // The fixed cost is spread over more images at 60k: per-image ratio below 1.
        let expected = (2.0 / 60_000.0 + 10e-6) / (2.0 / 15_000.0 + 10e-6);
        assert!((s.per_image_cost_ratio - expected).abs() < 1e-12);
        // Purely proportional costs: ratio exactly 1.
        let s = scaling_summary(&[(60_000, 6.0), (15_000, 1.5), (30_000, 3.0)]);
        assert!((s.per_image_cost_ratio - 1.0).abs() < 1e-12);
        assert!(s.fit_intercept_secs.abs() < 1e-9);
    }

    #[test]
    fn quadratic_costs_show_a_growing_ratio() {
        let s = scaling_summary(&[(1_000, 1.0), (2_000, 4.0), (4_000, 16.0)]);
        assert!((s.per_image_cost_ratio - 4.0).abs() < 1e-12);
        assert!(s.fit_r_squared.unwrap() < 1.0);
    }

    #[test]
    fn degenerate_inputs_do_not_divide_by_zero() {
        let s = scaling_summary(&[]);
        assert_eq!(s.per_image_cost_ratio, 1.0);
        assert_eq!(s.fit_r_squared, None);
        // Repeated (capped) sizes: one distinct size, no fit quality.
        let s = scaling_summary(&[(2_000, 1.0), (2_000, 1.0), (0, 0.0)]);
        assert_eq!(s.largest_images, 2_000);
        assert_eq!(s.per_image_cost_ratio, 1.0);
        assert_eq!(s.fit_r_squared, None);
        assert!((s.fit_us_per_image - 500.0).abs() < 1e-9);
    }

    #[test]
    fn memory_goal_is_three_times_decoded_plus_model() {
        assert_eq!(memory_goal(100, 40, 10), (130, true));
        assert_eq!(memory_goal(130, 40, 10), (130, false));
        assert_eq!(memory_goal(131, 40, 10), (130, false));
    }

    #[test]
    fn sizes_are_capped_at_the_pool_in_order() {
        assert_eq!(
            capped_sizes(&[60_000, 15_000, 30_000], 20_000),
            vec![(60_000, 20_000), (15_000, 15_000), (30_000, 20_000)]
        );
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn report_serialises_with_every_field() {
        let report = ScaleReport {
            data: "d".into(),
            device: "flex".into(),
            model: ModelKind::Default,
            rayon_threads: 2,
            available_parallelism: 2,
            shape: [1, 28, 28],
            classes: 10,
            images: SplitSizes {
                train: 1,
                val: 0,
                test: 2,
                unlabeled: 3,
                total: 6,
            },
            skipped: 0,
            decode: Throughput::new(6, 2.0),
            import: None,
            train: TrainFigures {
                batch_size: 64,
                steps: 1,
                throughput: Throughput::new(64, 0.5),
                ms_per_step: 500.0,
            },
            inference_batch_size: 256,
            threshold: 0.9,
            acceptance: Acceptance::Threshold,
            repeats: 1,
            passes: vec![PassRow {
                requested: 5,
                images: 3,
                predict_secs: 0.5,
                decide_secs: 0.1,
                secs: 0.6,
                images_per_sec: 5.0,
                us_per_image: 200_000.0,
                accepted: 1,
            }],
            largest_pass_images: 3,
            pass_secs: 0.6,
            inference_images_per_sec: 5.0,
            scaling: scaling_summary(&[(3, 0.6)]),
            memory: MemoryFigures {
                peak_rss_bytes: 1,
                peak_rss_mib: 0.0,
                peak_rss_after_decode_bytes: 1,
                peak_rss_after_train_bytes: 1,
                decoded_bytes: 1,
                model_param_bytes: 1,
                goal_bytes: 4,
                within_goal: true,
                peak_over_decoded: 1.0,
            },
        };
        let v = serde_json::to_value(&report).unwrap();
        assert_eq!(v["decode"]["images_per_sec"], 3.0);
        assert_eq!(v["import"], serde_json::Value::Null);
        // Training throughput is flattened next to its batch size.
        assert_eq!(v["train"]["images_per_sec"], 128.0);
        assert_eq!(v["train"]["batch_size"], 64);
        assert_eq!(v["passes"][0]["requested"], 5);
        assert_eq!(v["acceptance"], "threshold");
        assert_eq!(v["model"], "default");
        for key in [
            "scaling",
            "memory",
            "pass_secs",
            "inference_images_per_sec",
            "rayon_threads",
        ] {
            assert!(v.get(key).is_some(), "{key} missing: {v}");
        }
        assert_eq!(v["memory"]["within_goal"], true);
    }
}
