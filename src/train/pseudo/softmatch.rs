//! The `softmatch` policy (Chen et al. 2023): no hard cut. Each prediction is first aligned to a
//! uniform class distribution (its probabilities times 1/K over the pool's mean probability of
//! each class, renormalised), which lifts classes the model under-predicts. A sample at or above
//! the pool's mean aligned confidence μ gets weight 1; below it, exp(−(p−μ)²/(2(σ/2)²)), σ² the
//! pool's variance of the aligned confidence (the reference implementation's `n_sigma = 2`).
//! Weights under [`MIN_WEIGHT`] are dropped so the rounds do not train on the whole pool for
//! nothing. The user's τ is not used.
//!
//! The paper tracks μ, σ² and the class means as exponential moving averages over mini-batches;
//! here the whole pool is predicted at every round, so they are that round's eligible pool
//! statistics. Stateless between rounds.

use super::freematch::pool_means;
use super::{PolicyInput, PolicySpec, Proposal, PseudoLabeller, RejectReason, Verdict};

/// Weights below this are rejected (their pseudo-labels would barely train).
pub const MIN_WEIGHT: f32 = 0.05;

/// How many standard deviations of the confidence the Gaussian's σ spans (SoftMatch's
/// `n_sigma`).
const N_SIGMA: f32 = 2.0;

/// Soft, Gaussian-truncated weights on uniformly aligned probabilities.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SoftMatch;

/// A sample's aligned class and confidence: argmax and max of p ⊙ (1/K) / p̃, renormalised.
fn aligned(probs: &[f32], means: &[f32]) -> (usize, f32) {
    let k = probs.len().max(1) as f32;
    let scaled: Vec<f32> = probs
        .iter()
        .zip(means)
        .map(|(p, m)| p * (1.0 / k) / m.max(1e-6))
        .collect();
    let total: f32 = scaled.iter().sum();
    let (class, top) = scaled
        .iter()
        .copied()
        .enumerate()
        .fold(
            (0, f32::MIN),
            |best, (c, v)| if v > best.1 { (c, v) } else { best },
        );
    (class, if total > 0.0 { top / total } else { 0.0 })
}

impl PseudoLabeller for SoftMatch {
    fn spec(&self) -> PolicySpec {
        PolicySpec::Softmatch
    }

    fn propose(&self, input: &PolicyInput<'_>) -> Proposal {
        let k = input.num_classes;
        let n = input.predictions.len();
        let Some((_, means)) = pool_means(input) else {
            return Proposal {
                verdicts: vec![Verdict::Reject(RejectReason::BelowThreshold); n],
                class_thresholds: vec![1.0; k],
            };
        };
        let aligned: Vec<(usize, f32)> = input
            .predictions
            .iter()
            .map(|p| aligned(&p.class_probs(k), &means))
            .collect();
        let eligible: Vec<f32> = input.eligible_indices().map(|i| aligned[i].1).collect();
        let count = eligible.len() as f32;
        let mu = eligible.iter().sum::<f32>() / count;
        let var = eligible.iter().map(|c| (c - mu).powi(2)).sum::<f32>() / count;
        let sigma = (var.sqrt() / N_SIGMA).max(1e-6);
        let weight = |c: f32| {
            if c >= mu {
                1.0
            } else {
                (-(c - mu).powi(2) / (2.0 * sigma * sigma)).exp()
            }
        };
        let verdicts = aligned
            .iter()
            .map(|&(class, c)| {
                let w = weight(c);
                if w >= MIN_WEIGHT {
                    Verdict::Accept { class, weight: w }
                } else {
                    Verdict::Reject(RejectReason::BelowThreshold)
                }
            })
            .collect();
        // The aligned confidence where the weight falls to MIN_WEIGHT.
        let cut = (mu - sigma * (2.0 * (1.0 / MIN_WEIGHT).ln()).sqrt()).clamp(0.0, 1.0);
        Proposal {
            verdicts,
            class_thresholds: vec![cut; k],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Mark;
    use super::super::tests::{decide, pred};
    use super::*;

    #[test]
    fn weights_are_one_above_the_mean_and_gaussian_below() {
        // Balanced pool (each class predicted equally): alignment changes nothing in the order.
        let p: Vec<_> = (0..6)
            .map(|i| pred(i, i % 3, [0.95, 0.9, 0.85, 0.6, 0.55, 0.35][i], None))
            .collect();
        let d = decide(&SoftMatch, &p, &[Mark::None; 6], 0.99, &[1, 1, 1], 3);
        let w: Vec<f32> = d.decisions.iter().map(|d| d.weight).collect();
        assert_eq!(w[0], 1.0, "{w:?}");
        assert!(w[3] < 1.0 && w[3] > w[4], "below μ the weight falls: {w:?}");
        assert!(d.effective() < d.accepted() as f32);
        for (d, w) in d.decisions.iter().zip(&w) {
            assert!(d.accepted() == (*w >= MIN_WEIGHT));
        }
    }

    #[test]
    fn alignment_lifts_an_under_predicted_class() {
        // Class 2 is rarely the argmax; its samples' aligned confidence rises above the raw one.
        let mut p: Vec<_> = (0..8).map(|i| pred(i, i % 2, 0.8, None)).collect();
        p.push(pred(8, 2, 0.5, None));
        let means = pool_means(&PolicyInput {
            predictions: &p,
            eligible: &[true; 9],
            threshold: 0.0,
            prior: &[1, 1, 1],
            num_classes: 3,
            round: 1,
        })
        .unwrap()
        .1;
        let (class, conf) = aligned(&p[8].class_probs(3), &means);
        assert_eq!(class, 2);
        assert!(conf > 0.5, "{conf}");
    }
}
