//! What `bench-scale` prints: one JSON object of measurements and their summaries. The field
//! names are the report's format (README lists them).

use serde::Serialize;

use crate::config::Acceptance;
use crate::model::ModelKind;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_is_images_over_seconds_even_for_an_instant() {
        let t = Throughput::new(6, 2.0);
        assert_eq!((t.images, t.secs, t.images_per_sec), (6, 2.0, 3.0));
        // A clock too coarse to see the work: a large finite figure, not inf or NaN.
        let t = Throughput::new(5, 0.0);
        assert!(
            t.images_per_sec.is_finite() && t.images_per_sec > 1e6,
            "{t:?}"
        );
        assert_eq!(Throughput::new(0, 0.0).images_per_sec, 0.0);
    }
}
