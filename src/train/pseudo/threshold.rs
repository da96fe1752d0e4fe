//! The `threshold` policy: every eligible prediction with confidence ≥ τ, weight 1.

use super::{PolicyInput, PolicySpec, Proposal, PseudoLabeller, RejectReason, Verdict};

/// Accepts every eligible prediction at or above τ; one threshold for all classes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Threshold;

impl PseudoLabeller for Threshold {
    fn spec(&self) -> PolicySpec {
        PolicySpec::Threshold
    }

    fn propose(&self, input: &PolicyInput<'_>) -> Proposal {
        let verdicts = input
            .predictions
            .iter()
            .map(|p| {
                if p.confidence() >= input.threshold {
                    Verdict::accept(p)
                } else {
                    Verdict::Reject(RejectReason::BelowThreshold)
                }
            })
            .collect();
        Proposal {
            verdicts,
            class_thresholds: vec![input.threshold; input.num_classes],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Mark;
    use super::super::tests::decide;
    use super::super::tests::pred;
    use super::*;

    #[test]
    fn accepts_at_or_above_tau_with_weight_one() {
        let p = vec![
            pred(0, 0, 0.95, Some(0)),
            pred(1, 1, 0.90, Some(2)),
            pred(2, 2, 0.89, Some(2)),
        ];
        let d = decide(&Threshold, &p, &[Mark::None; 3], 0.9, &[1, 1, 1], 3);
        assert_eq!(d.labels(), vec![Some(0), Some(1), None]);
        let weights: Vec<f32> = d.decisions.iter().map(|d| d.weight).collect();
        assert_eq!(weights, vec![1.0, 1.0, 0.0]);
        assert_eq!(d.decisions[2].rejection, Some(RejectReason::BelowThreshold));
        assert_eq!(d.class_thresholds, vec![0.9; 3]);
    }

    #[test]
    fn threshold_accepts_at_or_above_tau_only() {
        let mut p = vec![
            pred(0, 0, 0.95, Some(0)),
            pred(1, 1, 0.90, Some(2)),
            pred(2, 2, 0.89, Some(2)),
        ];
        let a = decide(&Threshold, &p, &[Mark::None; 3], 0.9, &[1, 1, 1], 3);
        a.mark(&mut p);
        assert_eq!(a.labels(), vec![Some(0), Some(1), None]);
        assert_eq!(a.per_class, vec![1, 1, 0]);
        assert_eq!(a.accepted_accuracy, Some(0.5));
        assert!(p[0].accepted && p[1].accepted && !p[2].accepted);
        assert_eq!(a.hist_accepted.total(), 2);
        assert_eq!(a.hist_rejected.total(), 1);
    }

    #[test]
    fn ineligible_samples_are_never_accepted_but_forced_ones_are() {
        let p = vec![pred(0, 0, 0.99, None), pred(1, 1, 0.1, None)];
        let marks = [Mark::Excluded, Mark::Forced(2)];
        let a = decide(&Threshold, &p, &marks, 0.5, &[1, 1, 1], 3);
        assert_eq!(a.labels(), vec![None, Some(2)]);
        assert_eq!(a.hist_rejected.total(), 0);
        assert_eq!(a.accepted_accuracy, None);
    }
}
