//! The `curriculum` policy (Cascante-Bonilla et al. 2021): no fixed threshold; round r accepts
//! the most confident `min(1, step × r)` of the eligible pool (20%, 40%, … with the default
//! step), so the pseudo-labelled set grows from the easiest samples to the whole pool. The paper
//! also restarts the model every round (`--reinit-each-round`); that stays the user's choice.
//! The user's τ is not used.

use super::{PolicyInput, PolicySpec, Proposal, PseudoLabeller, RejectReason, Verdict};

/// The most confident share of the pool, growing by `step` each round.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Curriculum {
    /// Share of the pool added each round, in (0, 1].
    pub step: f32,
}

impl Curriculum {
    /// The share of the eligible pool accepted in `round` (1-based).
    pub fn share(&self, round: usize) -> f32 {
        (self.step * round.max(1) as f32).min(1.0)
    }
}

impl PseudoLabeller for Curriculum {
    fn spec(&self) -> PolicySpec {
        PolicySpec::Curriculum { step: self.step }
    }

    fn propose(&self, input: &PolicyInput<'_>) -> Proposal {
        let predictions = input.predictions;
        let mut order: Vec<usize> = input.eligible_indices().collect();
        order.sort_by(|&a, &b| {
            predictions[b]
                .confidence()
                .total_cmp(&predictions[a].confidence())
                .then(a.cmp(&b))
        });
        let take = (order.len() as f64 * f64::from(self.share(input.round))).round() as usize;
        let mut verdicts = vec![Verdict::Reject(RejectReason::BelowThreshold); predictions.len()];
        for &i in &order[..take] {
            verdicts[i] = Verdict::accept(&predictions[i]);
        }
        let cut = take
            .checked_sub(1)
            .map_or(1.0, |last| predictions[order[last]].confidence());
        Proposal {
            verdicts,
            class_thresholds: vec![cut; input.num_classes],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::pred;
    use super::super::{Mark, RoundInput, decide_round};
    use super::*;

    #[test]
    fn each_round_takes_a_larger_most_confident_share() {
        let p: Vec<_> = (0..10)
            .map(|i| pred(i, i % 3, 0.5 + i as f32 * 0.05, None))
            .collect();
        let marks = vec![Mark::None; 10];
        let policy = Curriculum { step: 0.2 };
        let accepted = |round| {
            let d = decide_round(
                &policy,
                &RoundInput::new(&p, &marks, 0.99, &[1, 1, 1], 3, round),
            );
            let taken: Vec<usize> = (0..10).filter(|&i| d.decisions[i].accepted()).collect();
            (taken, d.class_thresholds[0])
        };
        let (first, cut) = accepted(1);
        assert_eq!(first, vec![8, 9]);
        assert!(
            (cut - 0.9).abs() < 1e-6,
            "the cut is the last accepted confidence"
        );
        assert_eq!(accepted(2).0, vec![6, 7, 8, 9]);
        assert_eq!(accepted(5).0.len(), 10);
        assert_eq!(accepted(9).0.len(), 10, "capped at the whole pool");
    }
}
