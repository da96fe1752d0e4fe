//! Timed training steps on the labelled images, taken as the engine takes its warm-up steps:
//! the engine's optimizer, epoch plans and per-step seeds (`train::seeds`), augmentation and
//! `steps::train_step_mixed`.

use std::time::Instant;

use burn::module::Module;
use burn::prelude::Device;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::report::{Throughput, TrainFigures};
use crate::config::TrainConfig;
use crate::data::{ImageSet, ImageShape};
use crate::model::{Classifier, ModelConfig};
use crate::train::batcher::{Item, Source, gather_pixels, plan_epoch};
use crate::train::prepare::class_weights;
use crate::train::seeds;
use crate::train::steps::{Batch, new_optimizer, train_step_mixed};

/// Training steps run before the timed ones (first-call allocations, kernel selection).
pub const WARMUP_STEPS: usize = 2;

/// The trained model and what its training measured.
pub struct Trained {
    /// The model after every step (the passes predict with it).
    pub model: Classifier,
    /// Its parameters as `f32`, in bytes.
    pub param_bytes: u64,
    /// Images and time of the timed steps.
    pub figures: TrainFigures,
}

/// `steps` full batches of labelled items: the engine's shuffled warm-up epochs (round 0)
/// back to back, cut into batches of `batch_size`, so that a labelled set smaller than a batch
/// does not end every epoch with a short one.
pub fn full_batches(
    labeled: &[Item],
    batch_size: usize,
    steps: usize,
    min_labeled_share: f32,
    seed: u64,
) -> anyhow::Result<Vec<Vec<Item>>> {
    if labeled.is_empty() {
        anyhow::bail!("no labelled image to train on");
    }
    let batch_size = batch_size.max(1);
    let mut stream: Vec<Item> = Vec::with_capacity(steps * batch_size);
    // Warm-up epochs count from 1, as in the engine.
    let mut epoch = 1;
    while stream.len() < steps * batch_size {
        let mut rng = StdRng::seed_from_u64(seeds::epoch_plan(seed, 0, epoch));
        let plan = plan_epoch(labeled, &[], batch_size, min_labeled_share, &mut rng);
        stream.extend(plan.into_iter().flatten());
        epoch += 1;
    }
    Ok(stream
        .chunks(batch_size)
        .take(steps)
        .map(<[Item]>::to_vec)
        .collect())
}

/// Trains a fresh model of `cfg` for [`WARMUP_STEPS`] untimed and `timed_steps` timed steps on
/// `train`; `device` is an autodiff device.
pub fn time_training(
    cfg: &TrainConfig,
    train: &ImageSet,
    shape: ImageShape,
    num_classes: usize,
    timed_steps: usize,
    device: &Device,
) -> anyhow::Result<Trained> {
    device.seed(cfg.seed);
    let model_config = ModelConfig::for_kind(
        cfg.model,
        shape.channels,
        shape.height,
        shape.width,
        num_classes,
    )
    .with_dropout(cfg.dropout);
    let mut model = model_config.init(device);
    let param_bytes = (model.num_params() * std::mem::size_of::<f32>()) as u64;
    let mut optimizer = new_optimizer(cfg);
    let weights = class_weights(cfg, &train.class_counts(num_classes))?;
    let augment = cfg.augment();
    let pseudo_augment = cfg.pseudo_augment(shape);
    let labeled = crate::train::batcher::labeled_items(train);
    let batches = full_batches(
        &labeled,
        cfg.batch_size,
        WARMUP_STEPS + timed_steps,
        cfg.min_labeled_share,
        cfg.seed,
    )?;
    let mut trained_images = 0;
    let mut t0 = Instant::now();
    for (step, batch) in batches.iter().enumerate() {
        if step == WARMUP_STEPS {
            t0 = Instant::now();
        }
        // The engine's step: seeds from the step number, augmentation, then one optimizer step
        // (warm-up: no pseudo-label weight, no mixup).
        let step_seed = seeds::train_step(cfg.seed, step as u64);
        let mut rng = StdRng::seed_from_u64(step_seed);
        device.seed(step_seed);
        let pixels = gather_pixels(
            batch,
            |s| match s {
                Source::Train(i) => train.image(i),
                Source::Pool(_) => unreachable!("warm-up batches hold labelled images only"),
            },
            shape,
            &augment,
            &pseudo_augment,
            &mut rng,
        );
        let targets: Vec<usize> = batch.iter().map(|i| i.class).collect();
        let pseudo_weights: Vec<Option<f32>> = batch.iter().map(|i| i.weight).collect();
        model = train_step_mixed(
            model,
            &mut optimizer,
            Batch {
                pixels: &pixels,
                shape,
                targets: &targets,
                pseudo_weights: &pseudo_weights,
            },
            None,
            &weights,
            0.0,
            cfg.learning_rate.into(),
            device,
        )
        .0;
        if step >= WARMUP_STEPS {
            trained_images += batch.len();
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    Ok(Trained {
        model,
        param_bytes,
        figures: TrainFigures {
            batch_size: cfg.batch_size,
            steps: timed_steps,
            throughput: Throughput::new(trained_images, secs),
            ms_per_step: secs * 1000.0 / timed_steps.max(1) as f64,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<Item> {
        (0..n)
            .map(|i| Item::labelled(Source::Train(i), i % 3))
            .collect()
    }

    #[test]
    fn a_labelled_set_smaller_than_a_batch_still_gives_full_batches() {
        let labeled = items(10);
        let batches = full_batches(&labeled, 64, 3, 0.25, 7).unwrap();
        assert_eq!(batches.len(), 3);
        assert!(batches.iter().all(|b| b.len() == 64));
        // Each image appears once per epoch: 192 slots over 10 images, 19 or 20 times each.
        for i in 0..10 {
            let n = batches
                .iter()
                .flatten()
                .filter(|it| it.source == Source::Train(i))
                .count();
            assert!((19..=20).contains(&n), "image {i}: {n} times");
        }
        // Seeded: the same seed gives the same batches, another seed another order.
        assert_eq!(batches, full_batches(&labeled, 64, 3, 0.25, 7).unwrap());
        assert_ne!(batches, full_batches(&labeled, 64, 3, 0.25, 8).unwrap());
    }

    #[test]
    fn the_first_batches_are_the_engines_first_warm_up_epoch() {
        let labeled = items(200);
        let mut rng = StdRng::seed_from_u64(seeds::epoch_plan(3, 0, 1));
        let epoch = plan_epoch(&labeled, &[], 64, 0.25, &mut rng);
        let batches = full_batches(&labeled, 64, 3, 0.25, 3).unwrap();
        assert_eq!(batches[..3], epoch[..3]);
    }

    #[test]
    fn no_labelled_image_is_an_error_not_an_endless_loop() {
        let err = full_batches(&[], 64, 3, 0.25, 0).unwrap_err().to_string();
        assert!(err.contains("no labelled image"), "{err}");
    }
}
