//! Per-sample pool signals beyond the class probabilities, computed by the pool pass
//! ([`crate::train::steps::predict_pool_until`]) when the run asks for them:
//!
//! - MC-dropout uncertainty (for the `uncertainty` policy): the standard deviation, over K
//!   stochastic passes, of the probability of the class the deterministic pass predicts.
//!   Only the head is stochastic (the default model's dropout sits before its last layer), so
//!   the embedding is computed once and the head runs K times with explicitly drawn masks.
//! - The outlier score (for the outlier filter): see [`Centroids`].

use burn::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::data::{ImageSet, ImageShape};
use crate::model::Classifier;
use crate::train::batcher::images_to_tensor;
use crate::train::seeds::mix_seed;

/// What the pool pass computes besides the probabilities. [`PoolSignals::none`] leaves the
/// pass exactly as it is without signals: same numbers, no random draws.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolSignals<'a> {
    /// MC-dropout passes (0: none; otherwise at least 2, a standard deviation needs two).
    pub mc_passes: usize,
    /// Seed of the dropout masks ([`crate::train::seeds::mc_dropout`]); sample `i`'s masks
    /// depend only on it and `i`, not on the batching.
    pub mc_seed: u64,
    /// Class centroids of the labelled embeddings, for the outlier score.
    pub centroids: Option<&'a Centroids>,
}

impl PoolSignals<'_> {
    /// No signals: probabilities only.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether the pass must compute embeddings.
    pub fn any(&self) -> bool {
        self.mc_passes >= 2 || self.centroids.is_some()
    }
}

/// Dropout masks of one sample for `passes` passes over `hidden` units, pass after pass:
/// each unit kept with probability 1−p and then scaled by 1/(1−p) (zero otherwise), as burn's
/// training-mode dropout does.
pub fn dropout_masks(seed: u64, index: usize, passes: usize, hidden: usize, p: f64) -> Vec<f32> {
    if p <= 0.0 {
        return vec![1.0; passes * hidden];
    }
    let keep = 1.0 - p;
    let scale = (1.0 / keep) as f32;
    let mut rng = StdRng::seed_from_u64(mix_seed(seed, &[index as u64]));
    (0..passes * hidden)
        .map(|_| {
            if rng.random::<f64>() < keep {
                scale
            } else {
                0.0
            }
        })
        .collect()
}

/// Sample standard deviation (n − 1 in the denominator, as UPS computes it); 0 below two values.
pub fn std_dev(values: &[f32]) -> f32 {
    let n = values.len();
    if n < 2 {
        return 0.0;
    }
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
    let var = values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / (n - 1) as f64;
    var.sqrt() as f32
}

/// `v / |v|`; the zero vector stays zero (an embedding with every unit dead after the ReLU
/// then resembles no centroid, the largest score).
pub fn normalized(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter().map(|x| x / norm).collect()
    } else {
        vec![0.0; v.len()]
    }
}

/// The outlier score's reference: one centroid per class of the labelled training set's
/// L2-normalised penultimate embeddings (with the model of the round).
///
/// The score of a sample is the cosine distance of its normalised embedding to the nearest
/// centroid, `1 − max_c cos(z, μ_c)`, in [0, 2]: 0 on a centroid, larger the less the sample
/// looks like any labelled class. This prototype (centroid) distance needs no extra model or
/// training, works for any number of classes, and costs one embedding pass over the labelled
/// set per round; normalising makes it insensitive to the embedding's scale, which grows as the
/// model trains. Classes without labelled samples have no centroid.
#[derive(Debug, Clone, PartialEq)]
pub struct Centroids {
    dims: usize,
    centroids: Vec<Vec<f32>>,
}

impl Centroids {
    /// Centroids of `labels.len()` embeddings of `dims` values each (row-major).
    pub fn from_embeddings(embeddings: &[f32], dims: usize, labels: &[usize]) -> Self {
        assert_eq!(
            embeddings.len(),
            labels.len() * dims,
            "one embedding per label"
        );
        let classes = labels.iter().map(|&c| c + 1).max().unwrap_or(0);
        let mut sums = vec![vec![0.0f32; dims]; classes];
        let mut counts = vec![0usize; classes];
        for (row, &c) in embeddings.chunks(dims.max(1)).zip(labels) {
            for (s, x) in sums[c].iter_mut().zip(normalized(row)) {
                *s += x;
            }
            counts[c] += 1;
        }
        let centroids = sums
            .iter()
            .zip(&counts)
            .filter(|(_, n)| **n > 0)
            .map(|(s, _)| normalized(s))
            .collect();
        Self { dims, centroids }
    }

    /// Length of the embeddings.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// The outlier score of one embedding (see [`Centroids`]); 1 when there is no centroid.
    pub fn score(&self, embedding: &[f32]) -> f32 {
        let z = normalized(embedding);
        let nearest = self
            .centroids
            .iter()
            .map(|c| c.iter().zip(&z).map(|(a, b)| a * b).sum::<f32>())
            .fold(f32::NEG_INFINITY, f32::max);
        if nearest.is_finite() {
            (1.0 - nearest).max(0.0)
        } else {
            1.0
        }
    }
}

/// Embeddings `[n × hidden]` (row-major) of `n` contiguous CHW images, in batches, the mean of
/// each image's and its mirror image's with `mirror` (as the pool pass does with
/// test-time augmentation); `None` when `interrupted` (asked before each batch) said true.
#[allow(clippy::too_many_arguments)]
pub fn embed_pixels(
    model: &Classifier,
    pixels: &[u8],
    n: usize,
    shape: ImageShape,
    batch_size: usize,
    mirror: bool,
    device: &Device,
    mut interrupted: impl FnMut() -> bool,
) -> Option<Vec<f32>> {
    let len = shape.len();
    let mut out = Vec::new();
    for start in (0..n).step_by(batch_size.max(1)) {
        if interrupted() {
            return None;
        }
        let end = (start + batch_size.max(1)).min(n);
        let part = &pixels[start * len..end * len];
        let mut features = model.features(images_to_tensor(part, end - start, shape, device));
        if mirror {
            let mirrored = crate::data::augment::mirror_rows(part, shape.width);
            let other = model.features(images_to_tensor(&mirrored, end - start, shape, device));
            features = (features + other) * 0.5;
        }
        out.extend(to_vec(features));
    }
    Some(out)
}

/// [`Centroids`] of a labelled set's embeddings ([`embed_pixels`]); `None` when interrupted.
pub fn labelled_centroids(
    model: &Classifier,
    set: &ImageSet,
    batch_size: usize,
    mirror: bool,
    device: &Device,
    interrupted: impl FnMut() -> bool,
) -> Option<Centroids> {
    let n = set.len();
    let embeddings = embed_pixels(
        model,
        &set.pixels,
        n,
        set.shape,
        batch_size,
        mirror,
        device,
        interrupted,
    )?;
    let dims = embeddings.len().checked_div(n).unwrap_or(0);
    Some(Centroids::from_embeddings(
        &embeddings,
        dims,
        &set.class_labels(),
    ))
}

/// The values of a float tensor.
pub(crate) fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 tensor")
}

/// The signals of one batch of the pool pass, from its embeddings.
pub(crate) struct BatchSignals {
    /// Clean (deterministic) class probabilities `[n × classes]`.
    pub probs: Vec<f32>,
    /// Per sample, when MC-dropout passes were made.
    pub uncertainty: Option<Vec<f32>>,
    /// Per sample, when centroids were given.
    pub outlier: Option<Vec<f32>>,
}

/// Probabilities and signals of one batch of `n` images starting at pool index `first`:
/// `features` are the images' embeddings, `mirrored` their mirror images' (with test-time
/// augmentation). A stochastic pass applies the same mask to an image and its mirror image:
/// it is one draw of the dropout network, to which the mirror averaging belongs.
pub(crate) fn batch_signals(
    model: &Classifier,
    features: Tensor<2>,
    mirrored: Option<Tensor<2>>,
    first: usize,
    signals: &PoolSignals<'_>,
    device: &Device,
) -> BatchSignals {
    use burn::tensor::activation::softmax;
    let [n, hidden] = features.dims();
    let clean = |f: Tensor<2>| softmax(model.classify(f), 1);
    let probs = match &mirrored {
        None => clean(features.clone()),
        Some(m) => (clean(features.clone()) + clean(m.clone())) * 0.5,
    };
    let probs = to_vec(probs);
    let num_classes = probs.len() / n.max(1);
    let outlier = signals.centroids.map(|centroids| {
        let embedding = match &mirrored {
            None => features.clone(),
            Some(m) => (features.clone() + m.clone()) * 0.5,
        };
        to_vec(embedding)
            .chunks(hidden.max(1))
            .map(|row| centroids.score(row))
            .collect()
    });
    let uncertainty = (signals.mc_passes >= 2).then(|| {
        let k = signals.mc_passes;
        let p = model.dropout_prob();
        // Pass-major layout: rows `pass · n + i`, matching `repeat_dim(0, k)`.
        let mut mask = vec![0.0f32; k * n * hidden];
        for i in 0..n {
            let own = dropout_masks(signals.mc_seed, first + i, k, hidden, p);
            for pass in 0..k {
                let row = (pass * n + i) * hidden;
                mask[row..row + hidden].copy_from_slice(&own[pass * hidden..(pass + 1) * hidden]);
            }
        }
        let mask = Tensor::<2>::from_data(TensorData::new(mask, [k * n, hidden]), device);
        let noisy =
            |f: Tensor<2>| softmax(model.classify_masked(f.repeat_dim(0, k), mask.clone()), 1);
        let passes = match mirrored {
            None => noisy(features),
            Some(m) => (noisy(features) + noisy(m)) * 0.5,
        };
        let passes = to_vec(passes);
        (0..n)
            .map(|i| {
                let row = &probs[i * num_classes..(i + 1) * num_classes];
                let c = crate::train::steps::argmax(row);
                let values: Vec<f32> = (0..k)
                    .map(|pass| passes[(pass * n + i) * num_classes + c])
                    .collect();
                std_dev(&values)
            })
            .collect()
    });
    BatchSignals {
        probs,
        uncertainty,
        outlier,
    }
}

#[cfg(test)]
mod tests;
