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
}

impl PoolPrediction {
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
}
