//! One optimizer step, batched prediction and evaluation.

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::{log_softmax, softmax};

use crate::data::{ImageSet, ImageShape};
use crate::metrics::{Calibration, ConfusionMatrix, EvalReport};
use crate::model::Classifier;
use crate::train::batcher::{floats_to_tensor, images_to_tensor};
use crate::train::events::PoolPrediction;
use crate::train::signals::{PoolSignals, batch_signals};

/// Losses of one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepLosses {
    /// Class-weighted mean cross-entropy over the labelled samples.
    pub supervised: f64,
    /// Mean cross-entropy over pseudo-labelled samples, each times its weight (None when the
    /// batch has none).
    pub pseudo: Option<f64>,
    /// supervised + λ·pseudo: what was optimized.
    pub total: f64,
    /// How long the step's parts took (tensor building counts as batch assembly).
    pub times: crate::train::timing::StepTimes,
}

/// Per-sample weights that make `Σ wᵢ·ceᵢ` equal `supervised + λ·pseudo`.
/// Labelled samples (`None`) weigh `class_weight / Σ class_weight`; a pseudo-labelled sample of
/// weight `w` (`Some(w)`) weighs `λ·w / n_pseudo`, so weight 1 everywhere is the plain mean.
pub fn sample_weights(
    targets: &[usize],
    pseudo_weights: &[Option<f32>],
    class_weights: &[f32],
    lambda: f32,
) -> Vec<f32> {
    assert_eq!(targets.len(), pseudo_weights.len(), "one weight per target");
    let sup_sum: f32 = targets
        .iter()
        .zip(pseudo_weights)
        .filter(|(_, w)| w.is_none())
        .map(|(t, _)| class_weights[*t])
        .sum();
    let n_pseudo = pseudo_weights.iter().filter(|w| w.is_some()).count();
    targets
        .iter()
        .zip(pseudo_weights)
        .map(|(t, w)| match w {
            Some(w) => lambda * w / n_pseudo as f32,
            None if sup_sum > 0.0 => class_weights[*t] / sup_sum,
            None => 0.0,
        })
        .collect()
}

/// Pseudo-label weights of a batch whose pseudo-labelled samples all weigh 1.
pub fn unit_pseudo_weights(pseudo: &[bool]) -> Vec<Option<f32>> {
    pseudo.iter().map(|&p| p.then_some(1.0)).collect()
}

/// Per-sample cross-entropy `[batch]` of logits against integer targets.
pub fn cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    let [batch, _] = logits.dims();
    let log_probs = log_softmax(logits, 1);
    log_probs
        .gather(1, targets.reshape([batch, 1]))
        .reshape([batch])
        .neg()
}

/// Mixup of one batch: sample `i` is blended with sample `partner[i]` as
/// `lambda·xᵢ + (1 − lambda)·x_partner`, and its loss is the same blend of the losses against
/// both targets (each with its own sample weight).
#[derive(Debug, Clone, PartialEq)]
pub struct Mixup {
    /// Weight of each sample's own image and target, in [0.5, 1].
    pub lambda: f32,
    /// The sample each one is blended with (a permutation of `0..n`).
    pub partner: Vec<usize>,
}

impl Mixup {
    /// Draws a mixup of `n` samples: `lambda = max(b, 1 − b)` with `b ~ Beta(alpha, alpha)`
    /// (so every sample keeps the larger share of itself) and a random pairing.
    /// None when `alpha` is 0 (mixup off) or the batch has fewer than two samples.
    pub fn draw<R: rand::Rng>(alpha: f64, n: usize, rng: &mut R) -> Option<Self> {
        use rand::seq::SliceRandom;
        use rand_distr::Distribution;
        if alpha <= 0.0 || n < 2 {
            return None;
        }
        let beta = rand_distr::Beta::new(alpha, alpha).ok()?;
        let b: f64 = beta.sample(rng);
        let mut partner: Vec<usize> = (0..n).collect();
        partner.shuffle(rng);
        Some(Self {
            lambda: b.max(1.0 - b) as f32,
            partner,
        })
    }

    /// Blends CHW images (`n` of `len` bytes each) into `[0, 1]` floats.
    pub fn blend(&self, pixels: &[u8], len: usize) -> Vec<f32> {
        let (a, b) = (self.lambda / 255.0, (1.0 - self.lambda) / 255.0);
        let mut out = Vec::with_capacity(pixels.len());
        for (i, &j) in self.partner.iter().enumerate() {
            let own = &pixels[i * len..(i + 1) * len];
            let other = &pixels[j * len..(j + 1) * len];
            out.extend(
                own.iter()
                    .zip(other)
                    .map(|(&x, &y)| a * x as f32 + b * y as f32),
            );
        }
        out
    }
}

/// Learning rates of one step: the last layer's and the rest's (the backbone's, slower or
/// frozen when fine-tuning from trained weights).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LearningRates {
    /// The last layer's.
    pub head: f64,
    /// Every other layer's (0 = frozen).
    pub backbone: f64,
}

impl From<f64> for LearningRates {
    fn from(rate: f64) -> Self {
        Self {
            head: rate,
            backbone: rate,
        }
    }
}

/// Runs one optimizer step on a batch; returns the updated model and the losses.
#[allow(clippy::too_many_arguments)]
pub fn train_step(
    model: Classifier,
    optimizer: &mut ModuleOptimizer,
    pixels: &[u8],
    shape: ImageShape,
    targets: &[usize],
    pseudo: &[bool],
    class_weights: &[f32],
    lambda: f32,
    learning_rate: LearningRates,
    device: &Device,
) -> (Classifier, StepLosses) {
    let pseudo_weights = unit_pseudo_weights(pseudo);
    let batch = Batch {
        pixels,
        shape,
        targets,
        pseudo_weights: &pseudo_weights,
    };
    train_step_mixed(
        model,
        optimizer,
        batch,
        None,
        class_weights,
        lambda,
        learning_rate,
        device,
    )
}

/// One training batch: CHW pixels, targets and the weight of each pseudo-label.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// `targets.len()` contiguous CHW images.
    pub pixels: &'a [u8],
    /// Their shape.
    pub shape: ImageShape,
    /// Class of each sample.
    pub targets: &'a [usize],
    /// Per sample: `Some(w)` for a pseudo-label of weight `w` in [0, 1], `None` for a real label.
    pub pseudo_weights: &'a [Option<f32>],
}

/// [`train_step`] with an optional [`Mixup`] of the batch. The reported losses are the
/// per-sample blended cross-entropies, attributed to each sample's own kind.
#[allow(clippy::too_many_arguments)]
pub fn train_step_mixed(
    model: Classifier,
    optimizer: &mut ModuleOptimizer,
    batch: Batch<'_>,
    mixup: Option<&Mixup>,
    class_weights: &[f32],
    lambda: f32,
    learning_rate: LearningRates,
    device: &Device,
) -> (Classifier, StepLosses) {
    let Batch {
        pixels,
        shape,
        targets,
        pseudo_weights,
    } = batch;
    let n = targets.len();
    let started = std::time::Instant::now();
    let mut times = crate::train::timing::StepTimes::default();
    let int_tensor =
        |values: Vec<i64>| Tensor::<1, Int>::from_data(TensorData::new(values, [n]), device);
    let float_tensor =
        |values: Vec<f32>| Tensor::<1>::from_data(TensorData::new(values, [n]), device);
    let weights = sample_weights(targets, pseudo_weights, class_weights, lambda);
    let target_tensor = int_tensor(targets.iter().map(|&t| t as i64).collect());
    let (loss, ce) = match mixup {
        None => {
            let images = images_to_tensor(pixels, n, shape, device);
            times.batch = started.elapsed().as_secs_f64();
            let ce = cross_entropy(model.forward(images), target_tensor);
            let loss = (ce.clone() * float_tensor(weights.clone())).sum();
            (loss, ce)
        }
        Some(mix) => {
            assert_eq!(mix.partner.len(), n, "mixup pairing must cover the batch");
            let images = floats_to_tensor(mix.blend(pixels, shape.len()), n, shape, device);
            times.batch = started.elapsed().as_secs_f64();
            let logits = model.forward(images);
            let own = cross_entropy(logits.clone(), target_tensor);
            let other = cross_entropy(
                logits,
                int_tensor(mix.partner.iter().map(|&j| targets[j] as i64).collect()),
            );
            let other_weights: Vec<f32> = mix.partner.iter().map(|&j| weights[j]).collect();
            let loss = (own.clone() * float_tensor(weights.clone())).sum() * mix.lambda
                + (other.clone() * float_tensor(other_weights)).sum() * (1.0 - mix.lambda);
            (loss, own * mix.lambda + other * (1.0 - mix.lambda))
        }
    };
    let forward_done = std::time::Instant::now();
    let ce_values: Vec<f32> = ce.into_data().try_to_vec::<f32>().expect("f32 losses");
    let read_done = std::time::Instant::now();

    let grads = loss.backward();
    let (model, backward_done) = if learning_rate.backbone == learning_rate.head {
        let grads = GradientsParams::from_grads(grads, &model);
        let backward_done = std::time::Instant::now();
        (
            optimizer.step(learning_rate.head, model, grads),
            backward_done,
        )
    } else {
        let (head, backbone) = model.split_gradients(grads);
        let backward_done = std::time::Instant::now();
        let model = optimizer.step(learning_rate.head, model, head);
        let model = if learning_rate.backbone > 0.0 {
            optimizer.step(learning_rate.backbone, model, backbone)
        } else {
            model
        };
        (model, backward_done)
    };
    times.optimizer = backward_done.elapsed().as_secs_f64();
    // On an eager backend the forward pass is done when `forward` returns and the read-back is
    // the copy to the host; on a lazy one the read-back would include the forward.
    times.readback = (read_done - forward_done).as_secs_f64();
    times.forward_backward = (backward_done - started).as_secs_f64() - times.batch - times.readback;

    let n_pseudo = pseudo_weights.iter().filter(|w| w.is_some()).count();
    let supervised: f64 = ce_values
        .iter()
        .zip(pseudo_weights)
        .zip(&weights)
        .filter(|((_, p), _)| p.is_none())
        .map(|((c, _), w)| (*c as f64) * (*w as f64))
        .sum();
    // The weighted mean over pseudo-labelled samples: with weight 1 everywhere, the plain mean.
    let pseudo_loss = (n_pseudo > 0).then(|| {
        ce_values
            .iter()
            .zip(pseudo_weights)
            .filter_map(|(c, w)| w.map(|w| *c as f64 * w as f64))
            .sum::<f64>()
            / n_pseudo as f64
    });
    let total = supervised + pseudo_loss.unwrap_or(0.0) * lambda as f64;
    (
        model,
        StepLosses {
            supervised,
            pseudo: pseudo_loss,
            total,
            times,
        },
    )
}

/// Class probabilities `[n × classes]` (row-major) for every image of `set`, in batches.
/// `model` should be in validation mode (`model.valid()`).
pub fn predict_probabilities(
    model: &Classifier,
    set: &ImageSet,
    batch_size: usize,
    device: &Device,
) -> Vec<f32> {
    predict_pixels(model, &set.pixels, set.len(), set.shape, batch_size, device)
}

/// Class probabilities for `n` contiguous CHW images.
pub fn predict_pixels(
    model: &Classifier,
    pixels: &[u8],
    n: usize,
    shape: ImageShape,
    batch_size: usize,
    device: &Device,
) -> Vec<f32> {
    predict_pixels_with(model, pixels, n, shape, batch_size, device, || {})
}

/// [`predict_pixels`], calling `between_batches` before each batch (the trainer handles its
/// controls there, so that a long evaluation does not leave them waiting).
pub fn predict_pixels_with(
    model: &Classifier,
    pixels: &[u8],
    n: usize,
    shape: ImageShape,
    batch_size: usize,
    device: &Device,
    mut between_batches: impl FnMut(),
) -> Vec<f32> {
    let len = shape.len();
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
        between_batches();
        let end = (start + batch_size.max(1)).min(n);
        let images = images_to_tensor(&pixels[start * len..end * len], end - start, shape, device);
        let probs = softmax(model.forward(images), 1);
        let values: Vec<f32> = probs
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 probabilities");
        out.extend(values);
        start = end;
    }
    out
}

/// Evaluates a model on a labelled set: confusion matrix, scores and mean cross-entropy.
pub fn evaluate(
    model: &Classifier,
    set: &ImageSet,
    num_classes: usize,
    batch_size: usize,
    device: &Device,
) -> EvalReport {
    evaluate_with(model, set, num_classes, batch_size, device, || {})
}

/// [`evaluate`], calling `between_batches` before each batch.
pub fn evaluate_with(
    model: &Classifier,
    set: &ImageSet,
    num_classes: usize,
    batch_size: usize,
    device: &Device,
    between_batches: impl FnMut(),
) -> EvalReport {
    let probs = predict_pixels_with(
        model,
        &set.pixels,
        set.len(),
        set.shape,
        batch_size,
        device,
        between_batches,
    );
    report_from_probabilities(&probs, &set.class_labels(), num_classes)
}

/// Scores from a probability matrix and the true labels, with the calibration of the
/// predicted class's probability.
pub fn report_from_probabilities(probs: &[f32], truth: &[usize], num_classes: usize) -> EvalReport {
    let mut matrix = ConfusionMatrix::new(num_classes);
    let mut loss = 0.0;
    let mut confidences = Vec::with_capacity(truth.len());
    for (row, &t) in probs.chunks(num_classes).zip(truth) {
        let predicted = argmax(row);
        matrix.add(t, predicted);
        confidences.push((row[predicted] as f64, predicted == t));
        // A NaN probability (diverged weights) must give a NaN loss, not the clamp's 27.6.
        let p = row[t];
        loss -= if p.is_nan() {
            f64::NAN
        } else {
            (p.max(1e-12) as f64).ln()
        };
    }
    let n = truth.len().max(1) as f64;
    matrix
        .report(loss / n)
        .with_calibration(Calibration::from_predictions(confidences))
}

/// Index of the largest value (first one on ties).
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in row.iter().enumerate() {
        if *v > row[best] {
            best = i;
        }
    }
    best
}

pub use crate::train::pseudo::top_k;

/// A fresh Adam optimizer with the configured weight decay.
pub fn new_optimizer(cfg: &crate::config::TrainConfig) -> ModuleOptimizer {
    let mut adam = burn::optim::AdamConfig::new();
    if cfg.weight_decay > 0.0 {
        adam = adam.with_weight_decay(Some(burn::optim::decay::WeightDecayConfig::new(
            cfg.weight_decay as f32,
        )));
    }
    adam.init()
}

/// Batch size of the pseudo-labelling pass for a training batch size: at least 256.
pub fn inference_batch_size(train_batch_size: usize) -> usize {
    train_batch_size.max(256)
}

/// The prediction half of a pseudo-labelling pass: predicts `truth.len()` contiguous CHW
/// images of `shape` (a prefix of the pool, or all of it) with `model` (in validation mode, on a
/// device without autodiff) and returns one [`PoolPrediction`] per image, in order, holding its
/// top-3 classes and hidden truth. With `mirror` (for models trained with horizontal flips) the
/// probabilities are the mean over each image and its mirror image, a test-time augmentation
/// that makes pseudo-labels more accurate. `signals` adds the MC-dropout uncertainty and the
/// outlier score ([`crate::train::signals`]). [`crate::train::pseudo::decide_round`] then
/// chooses the pseudo-labels.
#[allow(clippy::too_many_arguments)]
pub fn predict_pool(
    model: &Classifier,
    pixels: &[u8],
    truth: &[Option<usize>],
    shape: ImageShape,
    num_classes: usize,
    batch_size: usize,
    mirror: bool,
    signals: &PoolSignals<'_>,
    device: &Device,
) -> Vec<PoolPrediction> {
    predict_pool_until(
        model,
        pixels,
        truth,
        shape,
        num_classes,
        batch_size,
        mirror,
        signals,
        device,
        || false,
    )
    .expect("never interrupted")
}

/// [`predict_pool`], asking `interrupted` before each batch (a pass over a large pool takes
/// long enough that a stop request must not wait for it); `None` when it answered true.
#[allow(clippy::too_many_arguments)]
pub fn predict_pool_until(
    model: &Classifier,
    pixels: &[u8],
    truth: &[Option<usize>],
    shape: ImageShape,
    num_classes: usize,
    batch_size: usize,
    mirror: bool,
    signals: &PoolSignals<'_>,
    device: &Device,
    mut interrupted: impl FnMut() -> bool,
) -> Option<Vec<PoolPrediction>> {
    let n = truth.len();
    let len = shape.len();
    let batch_size = batch_size.max(1);
    let mut probs = Vec::with_capacity(n * num_classes);
    let mut uncertainty = Vec::new();
    let mut outlier = Vec::new();
    // Batch by batch, so the mirror images never take more than one batch of memory.
    for start in (0..n).step_by(batch_size) {
        if interrupted() {
            return None;
        }
        let end = (start + batch_size).min(n);
        let part = &pixels[start * len..end * len];
        if signals.any() {
            // The embeddings once; the heads (clean and stochastic) from them.
            let features = model.features(images_to_tensor(part, end - start, shape, device));
            let mirrored = mirror.then(|| {
                let mirrored = crate::data::augment::mirror_rows(part, shape.width);
                model.features(images_to_tensor(&mirrored, end - start, shape, device))
            });
            let batch = batch_signals(model, features, mirrored, start, signals, device);
            probs.extend(batch.probs);
            uncertainty.extend(batch.uncertainty.unwrap_or_default());
            outlier.extend(batch.outlier.unwrap_or_default());
            continue;
        }
        let mut batch = predict_pixels(model, part, end - start, shape, batch_size, device);
        if mirror {
            let mirrored = crate::data::augment::mirror_rows(part, shape.width);
            let other = predict_pixels(model, &mirrored, end - start, shape, batch_size, device);
            for (p, q) in batch.iter_mut().zip(other) {
                *p = 0.5 * (*p + q);
            }
        }
        probs.extend(batch);
    }
    let predictions = probs
        .chunks(num_classes)
        .enumerate()
        .map(|(index, row)| PoolPrediction {
            uncertainty: uncertainty.get(index).copied(),
            outlier: outlier.get(index).copied(),
            ..PoolPrediction::from_probs(index, row, truth[index])
        })
        .collect();
    Some(predictions)
}

#[cfg(test)]
mod tests;
