//! One optimizer step, batched prediction and evaluation.

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::{log_softmax, softmax};

use crate::data::{ImageSet, ImageShape};
use crate::metrics::{ConfusionMatrix, EvalReport};
use crate::model::Cnn;
use crate::train::batcher::images_to_tensor;

/// Losses of one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepLosses {
    /// Class-weighted mean cross-entropy over the labelled samples.
    pub supervised: f64,
    /// Mean cross-entropy over pseudo-labelled samples (None when the batch has none).
    pub pseudo: Option<f64>,
    /// supervised + λ·pseudo: what was optimized.
    pub total: f64,
}

/// Per-sample weights that make `Σ wᵢ·ceᵢ` equal `supervised + λ·pseudo`.
/// Labelled samples weigh `class_weight / Σ class_weight` and pseudo-labelled ones `λ / n_pseudo`.
pub fn sample_weights(
    targets: &[usize],
    pseudo: &[bool],
    class_weights: &[f32],
    lambda: f32,
) -> Vec<f32> {
    let sup_sum: f32 = targets
        .iter()
        .zip(pseudo)
        .filter(|(_, p)| !**p)
        .map(|(t, _)| class_weights[*t])
        .sum();
    let n_pseudo = pseudo.iter().filter(|p| **p).count();
    targets
        .iter()
        .zip(pseudo)
        .map(|(t, p)| {
            if *p {
                lambda / n_pseudo as f32
            } else if sup_sum > 0.0 {
                class_weights[*t] / sup_sum
            } else {
                0.0
            }
        })
        .collect()
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

/// Runs one optimizer step on a batch; returns the updated model and the losses.
#[allow(clippy::too_many_arguments)]
pub fn train_step(
    model: Cnn,
    optimizer: &mut ModuleOptimizer,
    pixels: &[u8],
    shape: ImageShape,
    targets: &[usize],
    pseudo: &[bool],
    class_weights: &[f32],
    lambda: f32,
    learning_rate: f64,
    device: &Device,
) -> (Cnn, StepLosses) {
    let n = targets.len();
    let images = images_to_tensor(pixels, n, shape, device);
    let target_tensor = Tensor::<1, Int>::from_data(
        TensorData::new(targets.iter().map(|&t| t as i64).collect::<Vec<_>>(), [n]),
        device,
    );
    let weights = sample_weights(targets, pseudo, class_weights, lambda);
    let weight_tensor = Tensor::<1>::from_data(TensorData::new(weights.clone(), [n]), device);
    let logits = model.forward(images);
    let ce = cross_entropy(logits, target_tensor);
    let loss = (ce.clone() * weight_tensor).sum();
    let ce_values: Vec<f32> = ce.into_data().try_to_vec::<f32>().expect("f32 losses");

    let grads = loss.backward();
    let grads = GradientsParams::from_grads(grads, &model);
    let model = optimizer.step(learning_rate, model, grads);

    let n_pseudo = pseudo.iter().filter(|p| **p).count();
    let supervised: f64 = ce_values
        .iter()
        .zip(pseudo)
        .zip(&weights)
        .filter(|((_, p), _)| !**p)
        .map(|((c, _), w)| (*c as f64) * (*w as f64))
        .sum();
    let pseudo_loss = (n_pseudo > 0).then(|| {
        ce_values
            .iter()
            .zip(pseudo)
            .filter(|(_, p)| **p)
            .map(|(c, _)| *c as f64)
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
        },
    )
}

/// Class probabilities `[n × classes]` (row-major) for every image of `set`, in batches.
/// `model` should be in validation mode (`model.valid()`).
pub fn predict_probabilities(
    model: &Cnn,
    set: &ImageSet,
    batch_size: usize,
    device: &Device,
) -> Vec<f32> {
    predict_pixels(model, &set.pixels, set.len(), set.shape, batch_size, device)
}

/// Class probabilities for `n` contiguous CHW images.
pub fn predict_pixels(
    model: &Cnn,
    pixels: &[u8],
    n: usize,
    shape: ImageShape,
    batch_size: usize,
    device: &Device,
) -> Vec<f32> {
    let len = shape.len();
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
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
    model: &Cnn,
    set: &ImageSet,
    num_classes: usize,
    batch_size: usize,
    device: &Device,
) -> EvalReport {
    let probs = predict_probabilities(model, set, batch_size, device);
    report_from_probabilities(&probs, &set.class_labels(), num_classes)
}

/// Scores from a probability matrix and the true labels.
pub fn report_from_probabilities(probs: &[f32], truth: &[usize], num_classes: usize) -> EvalReport {
    let mut matrix = ConfusionMatrix::new(num_classes);
    let mut loss = 0.0;
    for (row, &t) in probs.chunks(num_classes).zip(truth) {
        let predicted = argmax(row);
        matrix.add(t, predicted);
        loss -= (row[t].max(1e-12) as f64).ln();
    }
    let n = truth.len().max(1) as f64;
    matrix.report(loss / n)
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

/// The `k` most likely classes of a probability row, most likely first.
pub fn top_k(row: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut idx: Vec<usize> = (0..row.len()).collect();
    idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
    idx.into_iter().take(k).map(|i| (i, row[i])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_split_supervised_and_pseudo_terms() {
        let w = sample_weights(&[0, 1, 0, 1], &[false, false, true, true], &[1.0, 3.0], 0.5);
        assert_eq!(w, vec![0.25, 0.75, 0.25, 0.25]);
        // no pseudo samples: supervised weights sum to 1
        let w = sample_weights(&[0, 0], &[false, false], &[1.0, 1.0], 2.0);
        assert_eq!(w, vec![0.5, 0.5]);
    }

    #[test]
    fn top_k_orders_by_probability() {
        assert_eq!(top_k(&[0.1, 0.6, 0.3], 2), vec![(1, 0.6), (2, 0.3)]);
        assert_eq!(argmax(&[0.2, 0.2, 0.1]), 0);
    }

    #[test]
    fn report_counts_predictions() {
        let probs = [0.9, 0.1, 0.2, 0.8, 0.7, 0.3];
        let r = report_from_probabilities(&probs, &[0, 1, 1], 2);
        assert_eq!(r.confusion.counts, vec![vec![1, 0], vec![1, 1]]);
        assert!((r.accuracy - 2.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn cross_entropy_matches_hand_computation() {
        let device = crate::device::burn_device(
            crate::device::resolve(crate::device::DeviceSpec::Auto).unwrap(),
        );
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![0.0f32, 0.0, 2.0, 0.0], [2, 2]),
            &device,
        );
        let targets = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1], [2]), &device);
        let ce: Vec<f32> = cross_entropy(logits, targets)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert!((ce[0] - std::f32::consts::LN_2).abs() < 1e-5);
        let expected = (1.0f32 + 2.0f32.exp()).ln();
        assert!((ce[1] - expected).abs() < 1e-5, "{ce:?}");
    }
}
