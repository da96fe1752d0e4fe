//! The `flexmatch` policy (Zhang et al. 2021): each class gets its own threshold from how well it
//! is learnt. A class's learning effect σ_c is the number of eligible pool samples it claims with
//! confidence ≥ τ; normalised by the largest σ_c it gives β_c ∈ [0, 1] and τ_c = τ·β_c/(2−β_c).
//! Classes the model already predicts confidently keep τ; hard classes get a lower bar.
//!
//! The paper updates σ_c online, each time a sample is seen; here the whole pool is predicted at
//! every round, so σ_c is counted on that round's predictions. Stateless between rounds.
//!
//! The paper's threshold warm-up (normalising by the unclaimed samples while they outnumber every
//! class) is left out on purpose: it exists for a model that starts from random weights, whereas
//! round 1 here starts from a model trained on the labelled set. With it, a warmed-up Fashion-MNIST
//! model that leaves 70% of the pool below τ gets every τ_c near 0 and accepts the whole pool.

use super::{PolicyInput, PolicySpec, Proposal, PseudoLabeller, RejectReason, Verdict};

/// Per-class thresholds from the classes' learning effects.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FlexMatch;

/// τ_c = τ·M(β_c) with M(x) = x/(2−x), β_c = σ_c / max σ.
pub fn flexmatch_thresholds(input: &PolicyInput<'_>) -> Vec<f32> {
    let k = input.num_classes;
    let mut learnt = vec![0usize; k];
    for i in input.eligible_indices() {
        let p = &input.predictions[i];
        if p.confidence() >= input.threshold && p.predicted() < k {
            learnt[p.predicted()] += 1;
        }
    }
    let norm = learnt.iter().copied().max().unwrap_or(0);
    learnt
        .iter()
        .map(|&s| {
            if norm == 0 {
                return input.threshold;
            }
            let beta = s as f32 / norm as f32;
            input.threshold * beta / (2.0 - beta)
        })
        .collect()
}

impl PseudoLabeller for FlexMatch {
    fn spec(&self) -> PolicySpec {
        PolicySpec::Flexmatch
    }

    fn propose(&self, input: &PolicyInput<'_>) -> Proposal {
        let class_thresholds = flexmatch_thresholds(input);
        let verdicts = input
            .predictions
            .iter()
            .map(|p| {
                let t = class_thresholds
                    .get(p.predicted())
                    .copied()
                    .unwrap_or(input.threshold);
                if p.confidence() >= t {
                    Verdict::accept(p)
                } else {
                    Verdict::Reject(RejectReason::BelowThreshold)
                }
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
    fn a_well_learnt_class_keeps_tau_and_a_hard_one_gets_less() {
        // τ 0.9. Class 0: 4 confident; class 1: 2 confident, 1 not; class 2: 1 unconfident.
        let p = vec![
            pred(0, 0, 0.95, None),
            pred(1, 0, 0.95, None),
            pred(2, 0, 0.92, None),
            pred(3, 0, 0.91, None),
            pred(4, 1, 0.95, None),
            pred(5, 1, 0.93, None),
            pred(6, 1, 0.60, None),
            pred(7, 2, 0.50, None),
        ];
        let d = decide(&FlexMatch, &p, &[Mark::None; 8], 0.9, &[1, 1, 1], 3);
        // σ = [4, 2, 0] → β = [1, 0.5, 0]; τ_c = 0.9·β/(2−β) = [0.9, 0.3, 0].
        let t = &d.class_thresholds;
        assert!((t[0] - 0.9).abs() < 1e-6 && (t[1] - 0.3).abs() < 1e-6 && t[2] == 0.0);
        assert_eq!(
            d.labels(),
            vec![
                Some(0),
                Some(0),
                Some(0),
                Some(0),
                Some(1),
                Some(1),
                Some(1),
                Some(2)
            ]
        );
    }

    #[test]
    fn unclaimed_samples_do_not_lower_the_best_learnt_class() {
        // No warm-up normalisation: 1 claimed of 5 still gives the claiming class β 1 and τ.
        let mut p = vec![pred(0, 0, 0.9, None)];
        p.extend((1..5).map(|i| pred(i, 1, 0.5, None)));
        let d = decide(&FlexMatch, &p, &[Mark::None; 5], 0.8, &[1, 1, 1], 3);
        assert!((d.class_thresholds[0] - 0.8).abs() < 1e-6);
        assert_eq!(d.class_thresholds[1], 0.0);
        assert_eq!(d.labels()[0], Some(0));
    }

    #[test]
    fn ineligible_samples_do_not_count_towards_the_learning_effect() {
        let p = vec![
            pred(0, 0, 0.95, None),
            pred(1, 1, 0.95, None),
            pred(2, 1, 0.95, None),
        ];
        let marks = [Mark::None, Mark::Excluded, Mark::Excluded];
        let d = decide(&FlexMatch, &p, &marks, 0.9, &[1, 1, 1], 3);
        assert!(
            (d.class_thresholds[0] - 0.9).abs() < 1e-6,
            "class 0 alone is the best learnt"
        );
    }
}
