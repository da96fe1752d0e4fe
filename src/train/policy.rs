//! The pseudo-labelling policy: which predictions on the unlabelled pool become pseudo-labels.
//! Pure functions, so they are unit-tested without a model.

use crate::config::Acceptance;
use crate::metrics::Histogram;
use crate::train::events::PoolPrediction;

/// Number of bins of the confidence histograms.
pub const HISTOGRAM_BINS: usize = 20;

/// The knobs of one acceptance decision.
#[derive(Debug, Clone)]
pub struct AcceptanceRule {
    /// Confidence threshold τ.
    pub threshold: f32,
    /// Policy.
    pub acceptance: Acceptance,
    /// Labelled samples per class (the class prior used by `ClassBalanced`).
    pub prior: Vec<usize>,
    /// How far over its prior share a class may go (`ClassBalanced`).
    pub balance_slack: f32,
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

/// Decides the pseudo-labels. `eligible[i]` is false for samples excluded or manually labelled;
/// `forced` lists samples the user accepted with a chosen class (always accepted).
/// Marks `accepted` on each prediction and returns the picture of the decision.
pub fn decide(
    predictions: &mut [PoolPrediction],
    eligible: &[bool],
    forced: &[(usize, usize)],
    rule: &AcceptanceRule,
    num_classes: usize,
) -> Acceptances {
    let n = predictions.len();
    let mut labels: Vec<Option<usize>> = vec![None; n];
    let candidates: Vec<usize> = (0..n)
        .filter(|&i| eligible[i] && predictions[i].confidence() >= rule.threshold)
        .collect();
    match rule.acceptance {
        Acceptance::Threshold => {
            for &i in &candidates {
                labels[i] = Some(predictions[i].predicted());
            }
        }
        Acceptance::ClassBalanced => {
            let quotas = class_quotas(
                &rule.prior,
                candidates.len(),
                rule.balance_slack,
                num_classes,
            );
            let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); num_classes];
            for &i in &candidates {
                by_class[predictions[i].predicted()].push(i);
            }
            for (c, members) in by_class.iter_mut().enumerate() {
                members.sort_by(|&a, &b| {
                    predictions[b]
                        .confidence()
                        .total_cmp(&predictions[a].confidence())
                        .then(a.cmp(&b))
                });
                for &i in members.iter().take(quotas[c]) {
                    labels[i] = Some(c);
                }
            }
        }
    }
    for &(i, c) in forced {
        if i < n {
            labels[i] = Some(c);
        }
    }

    let mut per_class = vec![0; num_classes];
    let mut hist_accepted = Histogram::new(HISTOGRAM_BINS);
    let mut hist_rejected = Histogram::new(HISTOGRAM_BINS);
    let (mut known, mut correct) = (0usize, 0usize);
    for (i, p) in predictions.iter_mut().enumerate() {
        p.accepted = labels[i].is_some();
        match labels[i] {
            Some(c) => {
                per_class[c] += 1;
                hist_accepted.add(p.confidence());
                if let Some(t) = p.truth {
                    known += 1;
                    correct += usize::from(t == c);
                }
            }
            None if eligible[i] => hist_rejected.add(p.confidence()),
            None => {}
        }
    }
    Acceptances {
        labels,
        per_class,
        hist_accepted,
        hist_rejected,
        accepted_accuracy: (known > 0).then(|| correct as f64 / known as f64),
    }
}

/// Per-class caps for `ClassBalanced`: each class may take `slack ×` its labelled share of the
/// `total` candidates (at least 1 when it has a labelled sample and there is any candidate).
pub fn class_quotas(prior: &[usize], total: usize, slack: f32, num_classes: usize) -> Vec<usize> {
    let sum: usize = prior.iter().sum();
    (0..num_classes)
        .map(|c| {
            let p = prior.get(c).copied().unwrap_or(0);
            if sum == 0 {
                return total;
            }
            let share = p as f64 / sum as f64;
            let q = (share * total as f64 * slack as f64).ceil() as usize;
            if p > 0 && total > 0 { q.max(1) } else { q }
        })
        .collect()
}

/// What-if: how many eligible samples a threshold would accept under the plain threshold rule,
/// and how many of those are correct where hidden truth is known: `(accepted, known, correct)`.
pub fn what_if(predictions: &[PoolPrediction], threshold: f32) -> (usize, usize, usize) {
    let mut out = (0, 0, 0);
    for p in predictions.iter().filter(|p| p.confidence() >= threshold) {
        out.0 += 1;
        if let Some(t) = p.truth {
            out.1 += 1;
            out.2 += usize::from(t == p.predicted());
        }
    }
    out
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
        }
    }

    fn rule(threshold: f32, acceptance: Acceptance) -> AcceptanceRule {
        AcceptanceRule {
            threshold,
            acceptance,
            prior: vec![1, 1, 1],
            balance_slack: 1.0,
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
            &rule(0.9, Acceptance::Threshold),
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
            &rule(0.5, Acceptance::Threshold),
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
            &rule(0.9, Acceptance::ClassBalanced),
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
    fn what_if_counts_correct_where_truth_known() {
        let p = vec![
            pred(0, 0, 0.95, Some(0)),
            pred(1, 1, 0.8, Some(0)),
            pred(2, 2, 0.7, None),
        ];
        assert_eq!(what_if(&p, 0.75), (2, 2, 1));
        assert_eq!(what_if(&p, 0.0), (3, 2, 1));
    }

    #[test]
    fn ramp_grows_linearly_then_holds() {
        assert_eq!(ramped_weight(1.0, 1, 4), 0.25);
        assert_eq!(ramped_weight(1.0, 4, 4), 1.0);
        assert_eq!(ramped_weight(0.5, 9, 4), 0.5);
        assert_eq!(ramped_weight(0.5, 1, 0), 0.5);
    }
}
