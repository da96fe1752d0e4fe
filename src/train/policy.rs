//! The acceptance decision as the benchmark calls it: thin wrappers over
//! [`crate::train::pseudo`], where the policies live, and the λ ramp.

use crate::metrics::Histogram;
use crate::train::events::PoolPrediction;
use crate::train::pseudo::{Mark, PolicySpec, decide_round};

pub use crate::train::pseudo::class_quotas;

/// The knobs of one acceptance decision.
#[derive(Debug, Clone)]
pub struct AcceptanceRule {
    /// Confidence threshold τ.
    pub threshold: f32,
    /// The policy and its parameters.
    pub policy: PolicySpec,
    /// Labelled samples per class (the class prior used by `ClassBalanced`).
    pub prior: Vec<usize>,
}

/// Outcome of one acceptance decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Acceptances {
    /// Pseudo-label class of each pool sample, `None` when rejected or not eligible.
    pub labels: Vec<Option<usize>>,
    /// Accepted count per class.
    pub per_class: Vec<usize>,
    /// Confidence histogram of accepted samples.
    pub hist_accepted: Histogram,
    /// Confidence histogram of rejected (eligible) samples.
    pub hist_rejected: Histogram,
    /// Accuracy of accepted samples whose hidden truth is known.
    pub accepted_accuracy: Option<f64>,
}

impl Acceptances {
    /// Number of accepted samples.
    pub fn accepted(&self) -> usize {
        self.labels.iter().flatten().count()
    }
}

/// Decides the pseudo-labels with [`decide_round`]. `eligible[i]` is false for samples excluded
/// or manually labelled; `forced` lists samples the user accepted with a chosen class (always
/// accepted). Marks `accepted`, `weight` and `rejection` on each prediction.
pub fn decide(
    predictions: &mut [PoolPrediction],
    eligible: &[bool],
    forced: &[(usize, usize)],
    rule: &AcceptanceRule,
    num_classes: usize,
) -> Acceptances {
    let n = predictions.len();
    let mut marks: Vec<Mark> = eligible
        .iter()
        .map(|&e| if e { Mark::None } else { Mark::Excluded })
        .collect();
    marks.resize(n, Mark::None);
    for &(i, c) in forced {
        if i < n {
            marks[i] = Mark::Forced(c);
        }
    }
    let policy = rule.policy.build();
    let round = decide_round(
        policy.as_ref(),
        predictions,
        &marks,
        rule.threshold,
        &rule.prior,
        num_classes,
    );
    round.mark(predictions);
    Acceptances {
        labels: round.labels(),
        per_class: round.per_class,
        hist_accepted: round.hist_accepted,
        hist_rejected: round.hist_rejected,
        accepted_accuracy: round.accepted_accuracy,
    }
}

/// The λ in force in a round, ramped up linearly over `ramp_rounds` rounds (round is 1-based).
pub fn ramped_weight(lambda: f32, round: usize, ramp_rounds: usize) -> f32 {
    if ramp_rounds == 0 || round >= ramp_rounds {
        lambda
    } else {
        lambda * round as f32 / ramp_rounds as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pred(index: usize, class: usize, conf: f32, truth: Option<usize>) -> PoolPrediction {
        let other = (class + 1) % 3;
        PoolPrediction {
            index,
            top: vec![(class, conf), (other, 1.0 - conf)],
            truth,
            accepted: false,
            weight: 0.0,
            rejection: None,
        }
    }

    fn rule(threshold: f32, policy: PolicySpec) -> AcceptanceRule {
        AcceptanceRule {
            threshold,
            policy,
            prior: vec![1, 1, 1],
        }
    }

    #[test]
    fn threshold_accepts_at_or_above_tau_only() {
        let mut p = vec![
            pred(0, 0, 0.95, Some(0)),
            pred(1, 1, 0.90, Some(2)),
            pred(2, 2, 0.89, Some(2)),
        ];
        let a = decide(
            &mut p,
            &[true; 3],
            &[],
            &rule(0.9, PolicySpec::Threshold),
            3,
        );
        assert_eq!(a.labels, vec![Some(0), Some(1), None]);
        assert_eq!(a.per_class, vec![1, 1, 0]);
        assert_eq!(a.accepted_accuracy, Some(0.5));
        assert!(p[0].accepted && p[1].accepted && !p[2].accepted);
        assert_eq!(a.hist_accepted.total(), 2);
        assert_eq!(a.hist_rejected.total(), 1);
    }

    #[test]
    fn ineligible_samples_are_never_accepted_but_forced_ones_are() {
        let mut p = vec![pred(0, 0, 0.99, None), pred(1, 1, 0.1, None)];
        let a = decide(
            &mut p,
            &[false, true],
            &[(1, 2)],
            &rule(0.5, PolicySpec::Threshold),
            3,
        );
        assert_eq!(a.labels, vec![None, Some(2)]);
        assert_eq!(a.hist_rejected.total(), 0);
        assert_eq!(a.accepted_accuracy, None);
    }

    #[test]
    fn class_balanced_caps_a_dominant_class() {
        // 6 candidates all of class 0 plus one of class 1; equal prior, slack 1 -> quota ceil(7/3)=3
        let mut p: Vec<_> = (0..6)
            .map(|i| pred(i, 0, 0.91 + i as f32 * 0.01, None))
            .collect();
        p.push(pred(6, 1, 0.95, None));
        let a = decide(
            &mut p,
            &[true; 7],
            &[],
            &rule(0.9, PolicySpec::ClassBalanced { balance_slack: 1.0 }),
            3,
        );
        assert_eq!(a.per_class, vec![3, 1, 0]);
        // the most confident of class 0 are kept
        assert_eq!(&a.labels[3..6], &[Some(0), Some(0), Some(0)]);
        assert_eq!(a.labels[0], None);
    }

    #[test]
    fn quotas_follow_the_prior() {
        assert_eq!(class_quotas(&[2, 1, 1], 8, 1.0, 3), vec![4, 2, 2]);
        assert_eq!(class_quotas(&[2, 1, 1], 8, 1.5, 3), vec![6, 3, 3]);
        assert_eq!(class_quotas(&[1, 0], 5, 1.0, 2), vec![5, 0]);
    }

    #[test]
    fn ramp_grows_linearly_then_holds() {
        assert_eq!(ramped_weight(1.0, 1, 4), 0.25);
        assert_eq!(ramped_weight(1.0, 4, 4), 1.0);
        assert_eq!(ramped_weight(0.5, 9, 4), 0.5);
        assert_eq!(ramped_weight(0.5, 1, 0), 0.5);
    }
}
