//! The model's prediction on one unlabelled sample: what every policy decides from, and what a
//! round records (in `metrics.jsonl` and the pseudo-label CSV).

use serde::{Deserialize, Serialize};

use super::RejectReason;

/// A prediction on one unlabelled sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolPrediction {
    /// Index in the unlabelled pool.
    pub index: usize,
    /// Top-3 classes with their probabilities, most likely first.
    pub top: Vec<(usize, f32)>,
    /// Hidden ground truth when known.
    pub truth: Option<usize>,
    /// Whether it was accepted as a pseudo-label this round.
    pub accepted: bool,
    /// Loss weight of its pseudo-label in [0, 1] (scaled by λ); 0 when rejected.
    #[serde(default)]
    pub weight: f32,
    /// Why it was rejected (`None` when accepted, or not known).
    #[serde(default)]
    pub rejection: Option<RejectReason>,
    /// Every class's probability, in class order; empty when only `top` is known (a round read
    /// back from its CSV). Soft policies and distribution alignment need the whole vector.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probs: Vec<f32>,
    /// Standard deviation of the predicted class's probability over stochastic (MC-dropout)
    /// passes, when they were made.
    #[serde(default)]
    pub uncertainty: Option<f32>,
    /// Outlier score (larger = less like the labelled data), when computed.
    #[serde(default)]
    pub outlier: Option<f32>,
}

impl PoolPrediction {
    /// A prediction from its full probability vector: `top` holds its three largest.
    pub fn from_probs(index: usize, probs: &[f32], truth: Option<usize>) -> Self {
        Self {
            index,
            top: top_k(probs, 3),
            truth,
            accepted: false,
            weight: 0.0,
            rejection: None,
            probs: probs.to_vec(),
            uncertainty: None,
            outlier: None,
        }
    }

    /// Predicted class.
    pub fn predicted(&self) -> usize {
        self.top[0].0
    }

    /// Confidence of the predicted class.
    pub fn confidence(&self) -> f32 {
        self.top[0].1
    }

    /// Runner-up class and probability, when there are two classes or more.
    pub fn runner_up(&self) -> Option<(usize, f32)> {
        self.top.get(1).copied()
    }

    /// Every class's probability: `probs` when known, else rebuilt from `top` with the
    /// remaining mass spread evenly over the other classes.
    pub fn class_probs(&self, num_classes: usize) -> Vec<f32> {
        if self.probs.len() == num_classes {
            return self.probs.clone();
        }
        let known: f32 = self.top.iter().map(|(_, p)| p).sum();
        let others = num_classes.saturating_sub(self.top.len());
        let rest = if others > 0 {
            (1.0 - known).max(0.0) / others as f32
        } else {
            0.0
        };
        let mut out = vec![rest; num_classes];
        for &(c, p) in &self.top {
            if c < num_classes {
                out[c] = p;
            }
        }
        out
    }
}

/// The `k` largest entries of `row` as `(class, probability)`, largest first (ties by class).
pub fn top_k(row: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut indexed: Vec<(usize, f32)> = row.iter().copied().enumerate().collect();
    indexed.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    indexed.truncate(k);
    indexed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_probs_prefer_the_full_vector_and_rebuild_from_the_top() {
        let full = PoolPrediction::from_probs(0, &[0.1, 0.6, 0.2, 0.05, 0.05], None);
        assert_eq!(full.predicted(), 1);
        assert_eq!(full.top, vec![(1, 0.6), (2, 0.2), (0, 0.1)]);
        assert_eq!(full.class_probs(5), vec![0.1, 0.6, 0.2, 0.05, 0.05]);
        let mut from_csv = full.clone();
        from_csv.probs.clear();
        let rebuilt = from_csv.class_probs(5);
        assert_eq!(&rebuilt[..3], &[0.1, 0.6, 0.2]);
        assert!((rebuilt[3] - 0.05).abs() < 1e-6 && (rebuilt[4] - 0.05).abs() < 1e-6);
    }
}
