//! `selftrain bench`: training and inference throughput and peak memory of the default CNN.

use std::time::Instant;

use burn::module::Module;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::stats::peak_rss_mib;
use crate::data::ImageShape;
use crate::device::DeviceSpec;
use crate::model::{ModelConfig, ModelKind};
use crate::train::steps::{predict_pixels, train_step};

/// Benchmark settings.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Device to run on.
    pub device: DeviceSpec,
    /// Model architecture.
    pub model: ModelKind,
    /// Batch size.
    pub batch_size: usize,
    /// Image shape.
    pub shape: ImageShape,
    /// Classes.
    pub num_classes: usize,
    /// Timed training steps (after 3 warm-up steps).
    pub train_steps: usize,
    /// Timed inference batches (after 3 warm-up batches).
    pub infer_batches: usize,
}

impl BenchOptions {
    /// Refuses settings the model cannot run, naming the flag.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.batch_size == 0 {
            anyhow::bail!("--batch-size must be at least 1");
        }
        let s = self.shape;
        if [s.height, s.width]
            .iter()
            .any(|side| !(4..=1024).contains(side))
        {
            anyhow::bail!(
                "--size: each side must be within 4..=1024, got {}x{}",
                s.height,
                s.width
            );
        }
        if s.channels != 1 && s.channels != 3 {
            anyhow::bail!("--channels must be 1 or 3, got {}", s.channels);
        }
        Ok(())
    }
}

/// Benchmark figures.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Device name.
    pub device: String,
    /// Model architecture.
    pub model: ModelKind,
    /// Batch size.
    pub batch_size: usize,
    /// `[channels, height, width]`.
    pub shape: [usize; 3],
    /// Threads available to the process.
    pub threads: usize,
    /// Mean milliseconds per training step.
    pub train_ms_per_step: f64,
    /// Training images per second.
    pub train_images_per_sec: f64,
    /// Mean milliseconds per inference batch.
    pub infer_ms_per_batch: f64,
    /// Inference images per second.
    pub infer_images_per_sec: f64,
    /// Peak resident memory of the process in MiB (VmHWM), when the OS reports it.
    pub peak_rss_mib: Option<f64>,
}

/// Runs the benchmark on random data.
pub fn run(opts: &BenchOptions) -> BenchReport {
    let device = crate::device::burn_device(opts.device).autodiff();
    device.seed(0);
    let s = opts.shape;
    let cfg = ModelConfig::for_kind(opts.model, s.channels, s.height, s.width, opts.num_classes);
    let mut model = cfg.init(&device);
    let mut optimizer = burn::optim::AdamConfig::new().init();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let b = opts.batch_size;
    let pixels: Vec<u8> = (0..b * s.len()).map(|_| rng.random()).collect();
    let targets: Vec<usize> = (0..b).map(|i| i % opts.num_classes).collect();
    let pseudo = vec![false; b];
    let weights = vec![1.0; opts.num_classes];
    let mut step = |model: crate::model::Classifier| {
        train_step(
            model,
            &mut optimizer,
            &pixels,
            s,
            &targets,
            &pseudo,
            &weights,
            1.0,
            1e-3.into(),
            &device,
        )
        .0
    };
    for _ in 0..3 {
        model = step(model);
    }
    let t0 = Instant::now();
    for _ in 0..opts.train_steps {
        model = step(model);
    }
    let train_secs = t0.elapsed().as_secs_f64();

    let valid = model.valid();
    let plain = device.clone().without_autodiff();
    for _ in 0..3 {
        predict_pixels(&valid, &pixels, b, s, b, &plain);
    }
    let t0 = Instant::now();
    for _ in 0..opts.infer_batches {
        predict_pixels(&valid, &pixels, b, s, b, &plain);
    }
    let infer_secs = t0.elapsed().as_secs_f64();
    let steps = opts.train_steps.max(1) as f64;
    let batches = opts.infer_batches.max(1) as f64;
    BenchReport {
        device: opts.device.name(),
        model: opts.model,
        batch_size: b,
        shape: [s.channels, s.height, s.width],
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        train_ms_per_step: train_secs * 1000.0 / steps,
        train_images_per_sec: steps * b as f64 / train_secs,
        infer_ms_per_batch: infer_secs * 1000.0 / batches,
        infer_images_per_sec: batches * b as f64 / infer_secs,
        peak_rss_mib: peak_rss_mib(),
    }
}
