//! The `class-balanced` policy: confidence ≥ τ, and no class takes more than its labelled share
//! (× `balance_slack`) of the candidates, so easy classes do not swamp the pseudo-labelled set.

use super::{PolicyInput, PolicySpec, Proposal, PseudoLabeller, RejectReason, Verdict};

/// Threshold τ, then per-class quotas from the labelled class prior; within a class the most
/// confident candidates win (ties by pool index).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassBalanced {
    /// How far over its labelled share a class may go (≥ 1).
    pub balance_slack: f32,
}

impl PseudoLabeller for ClassBalanced {
    fn spec(&self) -> PolicySpec {
        PolicySpec::ClassBalanced {
            balance_slack: self.balance_slack,
        }
    }

    fn propose(&self, input: &PolicyInput<'_>) -> Proposal {
        let predictions = input.predictions;
        let k = input.num_classes;
        let mut verdicts = vec![Verdict::Reject(RejectReason::BelowThreshold); predictions.len()];
        let candidates: Vec<usize> = (0..predictions.len())
            .filter(|&i| input.eligible[i] && predictions[i].confidence() >= input.threshold)
            .collect();
        let quotas = class_quotas(input.prior, candidates.len(), self.balance_slack, k);
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); k];
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
            for (rank, &i) in members.iter().enumerate() {
                verdicts[i] = if rank < quotas[c] {
                    Verdict::accept(&predictions[i])
                } else {
                    Verdict::Reject(RejectReason::OverQuota)
                };
            }
        }
        Proposal {
            verdicts,
            class_thresholds: vec![input.threshold; k],
        }
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

#[cfg(test)]
mod tests {
    use super::super::Mark;
    use super::super::tests::decide;
    use super::super::tests::pred;
    use super::*;

    #[test]
    fn over_quota_samples_say_so() {
        // 6 candidates of class 0 and one of class 1; equal prior, slack 1 → quota 3.
        let mut p: Vec<_> = (0..6)
            .map(|i| pred(i, 0, 0.91 + i as f32 * 0.01, None))
            .collect();
        p.push(pred(6, 1, 0.95, None));
        p.push(pred(7, 2, 0.5, None));
        let policy = ClassBalanced { balance_slack: 1.0 };
        let d = decide(&policy, &p, &[Mark::None; 8], 0.9, &[1, 1, 1], 3);
        assert_eq!(d.per_class, vec![3, 1, 0]);
        let reasons: Vec<_> = d.decisions.iter().map(|d| d.rejection).collect();
        let over = Some(RejectReason::OverQuota);
        assert_eq!(
            reasons,
            vec![
                over,
                over,
                over,
                None,
                None,
                None,
                None,
                Some(RejectReason::BelowThreshold)
            ]
        );
    }

    #[test]
    fn class_balanced_caps_a_dominant_class() {
        // 6 candidates all of class 0 plus one of class 1; equal prior, slack 1 -> quota ceil(7/3)=3
        let mut p: Vec<_> = (0..6)
            .map(|i| pred(i, 0, 0.91 + i as f32 * 0.01, None))
            .collect();
        p.push(pred(6, 1, 0.95, None));
        let policy = ClassBalanced { balance_slack: 1.0 };
        let a = decide(&policy, &p, &[Mark::None; 7], 0.9, &[1, 1, 1], 3);
        assert_eq!(a.per_class, vec![3, 1, 0]);
        // the most confident of class 0 are kept
        assert_eq!(&a.labels()[3..6], &[Some(0), Some(0), Some(0)]);
        assert_eq!(a.labels()[0], None);
    }

    #[test]
    fn quotas_follow_the_prior() {
        assert_eq!(class_quotas(&[2, 1, 1], 8, 1.0, 3), vec![4, 2, 2]);
        assert_eq!(class_quotas(&[2, 1, 1], 8, 1.5, 3), vec![6, 3, 3]);
        assert_eq!(class_quotas(&[1, 0], 5, 1.0, 2), vec![5, 0]);
    }
}
