//! The `freematch` policy (Wang et al. 2023): a self-adaptive threshold. The global threshold
//! is the pool's mean confidence (low while the model is unsure, rising as it learns), scaled per
//! class by the pool's mean probability of that class over the largest one:
//! τ_c = mean max-probability × p̃_c / max p̃. The user's τ is not used.
//!
//! The paper tracks both means as exponential moving averages over mini-batches; here the whole
//! pool is predicted at every round, so the means are taken over that round's eligible
//! predictions directly. Stateless between rounds.

use super::{PolicyInput, PolicySpec, Proposal, PseudoLabeller, RejectReason, Verdict};

/// Self-adaptive global and per-class thresholds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FreeMatch;

/// The pool's mean confidence and mean class probabilities over the eligible samples
/// (`None` when none is eligible).
pub fn pool_means(input: &PolicyInput<'_>) -> Option<(f32, Vec<f32>)> {
    let k = input.num_classes;
    let mut sum_conf = 0.0f64;
    let mut sum_probs = vec![0.0f64; k];
    let mut n = 0usize;
    for i in input.eligible_indices() {
        let p = &input.predictions[i];
        sum_conf += f64::from(p.confidence());
        for (s, q) in sum_probs.iter_mut().zip(p.class_probs(k)) {
            *s += f64::from(q);
        }
        n += 1;
    }
    (n > 0).then(|| {
        let n = n as f64;
        (
            (sum_conf / n) as f32,
            sum_probs.iter().map(|s| (s / n) as f32).collect(),
        )
    })
}

/// τ_c = global × p̃_c / max p̃ (every class at the global threshold when the means are flat).
pub fn freematch_thresholds(input: &PolicyInput<'_>) -> Vec<f32> {
    let Some((global, means)) = pool_means(input) else {
        return vec![1.0; input.num_classes];
    };
    let top = means.iter().copied().fold(0.0f32, f32::max);
    means
        .iter()
        .map(|m| if top > 0.0 { global * m / top } else { global })
        .collect()
}

impl PseudoLabeller for FreeMatch {
    fn spec(&self) -> PolicySpec {
        PolicySpec::Freematch
    }

    fn propose(&self, input: &PolicyInput<'_>) -> Proposal {
        let class_thresholds = freematch_thresholds(input);
        let verdicts = input
            .predictions
            .iter()
            .map(|p| match class_thresholds.get(p.predicted()) {
                Some(&t) if p.confidence() >= t => Verdict::accept(p),
                _ => Verdict::Reject(RejectReason::BelowThreshold),
            })
            .collect();
        Proposal {
            verdicts,
            class_thresholds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Mark;
    use super::super::tests::{decide, pred};
    use super::*;

    #[test]
    fn the_threshold_is_the_mean_confidence_scaled_by_the_class_mean() {
        // Confidences 0.9, 0.9, 0.6 (class 0, 0, 1): global 0.8. Mean probabilities (the runner-up
        // takes the rest): class 0 (0.9+0.9+0)/3 = 0.6, class 1 (0.1+0.1+0.6)/3 ≈ 0.267,
        // class 2 (0+0+0.4)/3 ≈ 0.133.
        let p = vec![
            pred(0, 0, 0.9, None),
            pred(1, 0, 0.9, None),
            pred(2, 1, 0.6, None),
        ];
        let d = decide(&FreeMatch, &p, &[Mark::None; 3], 0.99, &[1, 1, 1], 3);
        let t = &d.class_thresholds;
        assert!((t[0] - 0.8).abs() < 1e-5, "{t:?}");
        assert!((t[1] - 0.8 * (0.8 / 3.0) / 0.6).abs() < 1e-5, "{t:?}");
        assert_eq!(
            d.labels(),
            vec![Some(0), Some(0), Some(1)],
            "τ 0.99 is ignored"
        );
    }

    #[test]
    fn a_sample_below_its_class_threshold_is_rejected() {
        let p = vec![
            pred(0, 0, 0.99, None),
            pred(1, 0, 0.99, None),
            pred(2, 0, 0.50, None),
        ];
        let d = decide(&FreeMatch, &p, &[Mark::None; 3], 0.0, &[1, 1, 1], 3);
        assert_eq!(d.labels(), vec![Some(0), Some(0), None]);
        assert_eq!(d.decisions[2].rejection, Some(RejectReason::BelowThreshold));
    }
}
