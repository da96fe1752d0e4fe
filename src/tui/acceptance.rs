//! What the run's pseudo-labelling policy does with the latest predictions, as the dashboard
//! shows it: the what-if line for a dialled τ, curriculum step or κ and the user's per-class
//! thresholds ([`preview`], the engine's own [`crate::train::pseudo::decide_round`], counted as
//! [`crate::train::pseudo::what_if`] counts it), the user's marks as the engine builds them
//! ([`marks`]), and why a sample was left out ([`why_rejected`], the engine's recorded reason).

use std::collections::BTreeMap;

use crate::train::events::PoolPrediction;
use crate::train::pseudo::{self, Mark, PolicySpec, RoundInput, WhatIf};
use crate::tui::samples::{MarkState, SampleAction, SampleInfo, SampleMark, SampleStatus};

/// The run's policy with the run facts a decision needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunPolicy<'a> {
    /// The policy announced by the run (the plain threshold rule for runs that predate it).
    pub spec: &'a PolicySpec,
    /// Labelled samples per class (the class prior).
    pub prior: &'a [usize],
    /// Number of classes.
    pub classes: usize,
    /// The round the predictions come from (1-based).
    pub round: usize,
    /// The user's per-class thresholds in force or sent.
    pub class_overrides: &'a [Option<f32>],
    /// The run's outlier filter fraction.
    pub outlier_fraction: f32,
}

/// Each prediction's [`Mark`], as the engine would build it for the next round: the round's
/// own marks (its statuses and the engine's recorded reasons), then the user's sample actions
/// on top (sent or applied, not refused), a later action replacing an earlier one as in
/// [`crate::train::controls::ControlState::apply`]. `samples` is parallel to `predictions`;
/// `user` is keyed by pool index.
pub fn marks(
    predictions: &[PoolPrediction],
    samples: &[SampleInfo],
    user: &BTreeMap<usize, SampleMark>,
) -> Vec<Mark> {
    predictions
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let action = user
                .get(&p.index)
                .filter(|m| !matches!(m.state, MarkState::Refused(_)));
            match action.map(|m| m.action) {
                Some(SampleAction::Accept(c)) => return Mark::Forced(c),
                Some(SampleAction::Label(c)) => return Mark::ManualLabel(c),
                Some(SampleAction::Exclude) => return Mark::Excluded,
                None => {}
            }
            match (samples.get(i).map(|s| s.status), p.rejection) {
                (Some(SampleStatus::Excluded), _) | (_, Some(pseudo::RejectReason::Excluded)) => {
                    Mark::Excluded
                }
                (Some(SampleStatus::ManualLabel), _)
                | (_, Some(pseudo::RejectReason::ManualLabel)) => Mark::ManualLabel(p.predicted()),
                (Some(SampleStatus::Forced), _) => Mark::Forced(p.predicted()),
                _ => Mark::None,
            }
        })
        .collect()
}

/// What the what-if line shows: the counts and the thresholds the decision applied per class
/// (where the histogram's markers stand).
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    /// Accepted, effective and correct counts.
    pub what_if: WhatIf,
    /// The threshold applied to each class (the user's τ_c where set).
    pub class_thresholds: Vec<f32>,
}

/// What `threshold` would accept on `predictions` with the user's `marks`: the engine's own
/// decision under the run's policy. `None` without predictions.
pub fn what_if(
    predictions: &[PoolPrediction],
    marks: &[Mark],
    run: RunPolicy,
    threshold: f32,
) -> Option<WhatIf> {
    preview(predictions, marks, run, threshold).map(|p| p.what_if)
}

/// [`what_if`] with the thresholds the decision applied per class.
pub fn preview(
    predictions: &[PoolPrediction],
    marks: &[Mark],
    run: RunPolicy,
    threshold: f32,
) -> Option<Preview> {
    if predictions.is_empty() {
        return None;
    }
    let policy = run.spec.build();
    let input = RoundInput {
        class_overrides: run.class_overrides,
        outlier_fraction: run.outlier_fraction,
        ..RoundInput::new(
            predictions,
            marks,
            threshold,
            run.prior,
            run.classes,
            run.round,
        )
    };
    let round = pseudo::decide_round(policy.as_ref(), &input);
    let mut what_if = WhatIf {
        threshold,
        accepted: 0,
        effective: 0.0,
        known: 0,
        correct: 0,
        pool: predictions.len(),
    };
    for (d, p) in round.decisions.iter().zip(predictions) {
        if let Some(c) = d.label() {
            what_if.accepted += 1;
            what_if.effective += d.weight;
            if let Some(t) = p.truth {
                what_if.known += 1;
                what_if.correct += usize::from(t == c);
            }
        }
    }
    Some(Preview {
        what_if,
        class_thresholds: round.class_thresholds,
    })
}

/// Why a rejected sample was left out: the engine's own reason when its round recorded one.
/// Rounds recorded before reasons were get the old guess: a rejection at or above the τ of the
/// round its prediction comes from (`round_threshold`, when that round's figures are known) was
/// cut by the class-balanced policy's quota.
pub fn why_rejected(
    status: SampleStatus,
    prediction: &PoolPrediction,
    round_threshold: Option<f32>,
) -> Option<&'static str> {
    if status != SampleStatus::Rejected {
        return None;
    }
    if let Some(reason) = prediction.rejection {
        return Some(reason.describe());
    }
    round_threshold
        .is_some_and(|t| prediction.confidence() >= t)
        .then_some("over its class quota")
}

/// The per-class thresholds of a round when they differ between classes (`None` when one τ
/// holds for all, or the round predates per-class thresholds).
pub fn per_class_thresholds(class_thresholds: &[f32]) -> Option<&[f32]> {
    let first = *class_thresholds.first()?;
    class_thresholds
        .iter()
        .any(|t| *t != first)
        .then_some(class_thresholds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::pseudo::{ClassBalanced, RejectReason, Threshold};

    use crate::train::pseudo::tests::pred;

    fn info(status: SampleStatus) -> SampleInfo {
        SampleInfo {
            file: String::new(),
            status,
        }
    }

    fn threshold_run() -> RunPolicy<'static> {
        RunPolicy {
            spec: &PolicySpec::Threshold,
            prior: &[1, 1, 1],
            classes: 3,
            round: 1,
            class_overrides: &[],
            outlier_fraction: 0.0,
        }
    }

    #[test]
    fn what_if_counts_correct_where_truth_known() {
        let p = vec![
            pred(0, 0, 0.95, Some(0)),
            pred(1, 1, 0.8, Some(0)),
            pred(2, 2, 0.7, None),
        ];
        let none = vec![Mark::None; 3];
        let counts = |t| {
            let w = what_if(&p, &none, threshold_run(), t).unwrap();
            (w.accepted, w.known, w.correct)
        };
        assert_eq!(counts(0.75), (2, 2, 1));
        assert_eq!(counts(0.0), (3, 2, 1));
        assert_eq!(what_if(&[], &[], threshold_run(), 0.5), None);
    }

    #[test]
    fn class_balanced_what_if_is_the_engine_decision_not_the_threshold_rule() {
        // Four confident samples of class 0, equal prior, slack 1: quota ceil(4/3) = 2.
        let p: Vec<_> = (0..4)
            .map(|i| pred(i, 0, 0.90 + i as f32 * 0.02, Some(0)))
            .collect();
        let spec = PolicySpec::ClassBalanced { balance_slack: 1.0 };
        let run = RunPolicy {
            spec: &spec,
            prior: &[1, 1, 1],
            classes: 3,
            round: 1,
            class_overrides: &[],
            outlier_fraction: 0.0,
        };
        let marks = vec![Mark::None; 4];
        let w = what_if(&p, &marks, run, 0.85).unwrap();
        let input = RoundInput::new(&p, &marks, 0.85, &[1, 1, 1], 3, 1);
        let engine = pseudo::what_if(&ClassBalanced { balance_slack: 1.0 }, &input);
        assert_eq!((w.accepted, w.known, w.correct), (2, 2, 2));
        assert_eq!(
            (w.accepted, w.known, w.correct),
            (engine.accepted, engine.known, engine.correct)
        );
        let plain = pseudo::what_if(&Threshold, &input);
        assert_eq!(
            plain.accepted, 4,
            "the plain threshold rule would take all four"
        );
    }

    #[test]
    fn the_preview_is_the_engines_decision_with_the_users_class_thresholds() {
        let p: Vec<_> = (0..9)
            .map(|i| {
                let mut p = pred(i, i % 3, 0.5 + i as f32 * 0.05, Some(i % 3));
                p.probs = p.class_probs(3);
                p
            })
            .collect();
        let marks = vec![Mark::None; 9];
        let overrides = [None, Some(0.55)];
        for spec in [PolicySpec::Softmatch, PolicySpec::Flexmatch] {
            let run = RunPolicy {
                spec: &spec,
                class_overrides: &overrides,
                ..threshold_run()
            };
            let got = preview(&p, &marks, run, 0.8).unwrap();
            let input = RoundInput {
                class_overrides: &overrides,
                ..RoundInput::new(&p, &marks, 0.8, &[1, 1, 1], 3, 1)
            };
            let policy = spec.build();
            assert_eq!(
                got.what_if,
                pseudo::what_if(policy.as_ref(), &input),
                "{spec}"
            );
            let round = pseudo::decide_round(policy.as_ref(), &input);
            assert_eq!(got.class_thresholds, round.class_thresholds);
            assert_eq!(got.class_thresholds[1], 0.55, "the user's τ_c");
        }
    }

    #[test]
    fn marks_follow_the_round_then_the_user() {
        let mut p: Vec<_> = (0..6).map(|i| pred(10 + i, 1, 0.5, None)).collect();
        p[4].rejection = Some(RejectReason::Excluded);
        let samples = vec![
            info(SampleStatus::Excluded),
            info(SampleStatus::ManualLabel),
            info(SampleStatus::Forced),
            info(SampleStatus::Rejected),
            info(SampleStatus::Rejected),
            info(SampleStatus::Excluded),
        ];
        let mut user = BTreeMap::new();
        let mark = |action, state| SampleMark { action, state };
        user.insert(13, mark(SampleAction::Accept(2), MarkState::Sent));
        // A refused action leaves the round's mark; an applied one replaces it.
        user.insert(
            10,
            mark(SampleAction::Label(0), MarkState::Refused("no".into())),
        );
        let applied = MarkState::Applied {
            round: 1,
            global_step: 5,
        };
        user.insert(15, mark(SampleAction::Accept(0), applied));
        assert_eq!(
            marks(&p, &samples, &user),
            vec![
                Mark::Excluded,
                Mark::ManualLabel(1),
                Mark::Forced(1),
                Mark::Forced(2),
                Mark::Excluded,
                Mark::Forced(0),
            ]
        );
    }

    #[test]
    fn the_engine_reason_wins_over_the_guess() {
        use SampleStatus::*;
        let mut p = pred(0, 0, 0.95, None);
        assert_eq!(
            why_rejected(Rejected, &p, Some(0.9)),
            Some("over its class quota"),
            "an old round: the guess"
        );
        p.rejection = Some(RejectReason::BelowThreshold);
        assert_eq!(
            why_rejected(Rejected, &p, Some(0.9)),
            Some(RejectReason::BelowThreshold.describe())
        );
        p.rejection = Some(RejectReason::OverQuota);
        assert_eq!(
            why_rejected(Rejected, &p, None),
            Some("its class's quota of pseudo-labels was full")
        );
        assert_eq!(why_rejected(Excluded, &p, Some(0.9)), None);
    }

    #[test]
    fn confident_rejections_are_over_the_quota() {
        use SampleStatus::*;
        let p = |conf| pred(0, 0, conf, None);
        assert_eq!(
            why_rejected(Rejected, &p(0.95), Some(0.9)),
            Some("over its class quota")
        );
        assert_eq!(why_rejected(Rejected, &p(0.8), Some(0.9)), None, "below τ");
        assert_eq!(
            why_rejected(Rejected, &p(0.95), None),
            None,
            "round unknown"
        );
        assert_eq!(why_rejected(Accepted, &p(0.95), Some(0.9)), None);
    }

    #[test]
    fn per_class_thresholds_only_when_they_differ() {
        assert_eq!(per_class_thresholds(&[]), None);
        assert_eq!(per_class_thresholds(&[0.9, 0.9]), None);
        assert_eq!(per_class_thresholds(&[0.9, 0.8]), Some(&[0.9f32, 0.8][..]));
    }
}
