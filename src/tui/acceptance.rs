//! What the run's acceptance policy does with the latest predictions, as the dashboard shows
//! it: the what-if line for a dialled τ ([`what_if`]) and why a sample was left out
//! ([`why_rejected`]). Both take only what they need, so the policy behind them can change here
//! alone.

use crate::train::events::PoolPrediction;
use crate::train::policy::{AcceptanceRule, decide, what_if as threshold_what_if};
use crate::tui::samples::{SampleInfo, SampleStatus};

/// The run's pseudo-label acceptance policy (from its configuration), so the what-if line can
/// apply it exactly; without it the plain threshold rule is used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Acceptance rule.
    pub acceptance: crate::config::Acceptance,
    /// Class-balance slack.
    pub balance_slack: f32,
}

impl From<&crate::config::TrainConfig> for Policy {
    fn from(c: &crate::config::TrainConfig) -> Self {
        Self {
            acceptance: c.acceptance,
            balance_slack: c.balance_slack,
        }
    }
}

/// The policy with the run facts it needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunPolicy<'a> {
    /// The policy.
    pub policy: Policy,
    /// Labelled samples per class (the class prior).
    pub prior: &'a [usize],
    /// Number of classes.
    pub classes: usize,
}

/// The what-if line: what a threshold would accept on the latest predictions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WhatIf {
    /// The threshold dialled in.
    pub threshold: f32,
    /// Samples it would accept.
    pub accepted: usize,
    /// Of those, how many have known hidden truth.
    pub known: usize,
    /// Of those, how many are correct.
    pub correct: usize,
    /// Predictions considered.
    pub pool: usize,
}

/// What `threshold` would accept on `predictions` (`samples` parallel to them): the run's own
/// policy when known, user exclusions, manual labels and acceptances taken into account; else
/// the plain threshold rule. `None` without predictions.
pub fn what_if(
    predictions: &[PoolPrediction],
    samples: &[SampleInfo],
    run: Option<RunPolicy>,
    threshold: f32,
) -> Option<WhatIf> {
    if predictions.is_empty() {
        return None;
    }
    let (accepted, known, correct) = match run {
        Some(run) => with_policy(predictions, samples, run, threshold),
        None => threshold_what_if(predictions, threshold),
    };
    Some(WhatIf {
        threshold,
        accepted,
        known,
        correct,
        pool: predictions.len(),
    })
}

/// `(accepted, known, correct)` under the run's policy.
fn with_policy(
    predictions: &[PoolPrediction],
    samples: &[SampleInfo],
    run: RunPolicy,
    threshold: f32,
) -> (usize, usize, usize) {
    let mut predictions = predictions.to_vec();
    let eligible: Vec<bool> = samples
        .iter()
        .map(|s| !matches!(s.status, SampleStatus::Excluded | SampleStatus::ManualLabel))
        .collect();
    let forced: Vec<(usize, usize)> = samples
        .iter()
        .zip(predictions.iter())
        .enumerate()
        .filter(|(_, (s, _))| s.status == SampleStatus::Forced)
        .map(|(i, (_, p))| (i, p.predicted()))
        .collect();
    let rule = AcceptanceRule {
        threshold,
        acceptance: run.policy.acceptance,
        prior: run.prior.to_vec(),
        balance_slack: run.policy.balance_slack,
    };
    let decision = decide(&mut predictions, &eligible, &forced, &rule, run.classes);
    let mut out = (0, 0, 0);
    for (label, p) in decision.labels.iter().zip(&predictions) {
        if let Some(c) = label {
            out.0 += 1;
            if let Some(t) = p.truth {
                out.1 += 1;
                out.2 += usize::from(t == *c);
            }
        }
    }
    out
}

/// Why a sample was left out, when its confidence does not say it: a rejected sample at or
/// above the τ of the round its prediction comes from (`round_threshold`, when that round's
/// figures are known) was cut by the class-balanced policy's quota.
pub fn why_rejected(
    status: SampleStatus,
    confidence: f32,
    round_threshold: Option<f32>,
) -> Option<&'static str> {
    let over_quota =
        status == SampleStatus::Rejected && round_threshold.is_some_and(|t| confidence >= t);
    over_quota.then_some("over its class quota")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confident_rejections_are_over_the_quota() {
        use SampleStatus::*;
        assert_eq!(
            why_rejected(Rejected, 0.95, Some(0.9)),
            Some("over its class quota")
        );
        assert_eq!(why_rejected(Rejected, 0.8, Some(0.9)), None, "below τ");
        assert_eq!(why_rejected(Rejected, 0.95, None), None, "round unknown");
        assert_eq!(why_rejected(Accepted, 0.95, Some(0.9)), None);
    }
}
