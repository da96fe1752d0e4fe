//! The `uncertainty` policy (UPS, Rizve et al. 2021): a pseudo-label needs confidence ≥ τ and a
//! stable prediction: the standard deviation of its class's probability over the engine's
//! MC-dropout passes at most κ. UPS's negative pseudo-labels ("not class c") are not used: the
//! training step learns from positive labels only.

use super::{PolicyInput, PolicySpec, Proposal, PseudoLabeller, RejectReason, Verdict};

/// Confidence and certainty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Uncertainty {
    /// MC-dropout passes per round (made by the engine; recorded here for the run's record).
    pub passes: usize,
    /// Largest standard deviation accepted.
    pub kappa: f32,
}

impl PseudoLabeller for Uncertainty {
    fn spec(&self) -> PolicySpec {
        PolicySpec::Uncertainty {
            passes: self.passes,
            kappa: self.kappa,
        }
    }

    fn propose(&self, input: &PolicyInput<'_>) -> Proposal {
        let verdicts = input
            .predictions
            .iter()
            .map(|p| {
                if p.confidence() < input.threshold {
                    Verdict::Reject(RejectReason::BelowThreshold)
                } else if p.uncertainty.is_some_and(|u| u > self.kappa) {
                    Verdict::Reject(RejectReason::Uncertain)
                } else {
                    Verdict::accept(p)
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
    use super::super::tests::{decide, pred};
    use super::*;

    #[test]
    fn confident_but_unstable_predictions_are_rejected_as_uncertain() {
        let mut p = vec![
            pred(0, 0, 0.95, None),
            pred(1, 1, 0.95, None),
            pred(2, 2, 0.50, None),
        ];
        p[0].uncertainty = Some(0.01);
        p[1].uncertainty = Some(0.20);
        p[2].uncertainty = Some(0.0);
        let policy = Uncertainty {
            passes: 10,
            kappa: 0.05,
        };
        let d = decide(&policy, &p, &[Mark::None; 3], 0.9, &[1, 1, 1], 3);
        let reasons: Vec<_> = d.decisions.iter().map(|d| d.rejection).collect();
        assert_eq!(
            reasons,
            vec![
                None,
                Some(RejectReason::Uncertain),
                Some(RejectReason::BelowThreshold)
            ]
        );
        assert_eq!(d.rejected_for(RejectReason::Uncertain), 1);
    }
}
