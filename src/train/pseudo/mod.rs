//! Pseudo-labelling policies: from the pool's predictions, which samples become pseudo-labels,
//! with which weight, and why the others do not.
//!
//! A policy implements [`PseudoLabeller`] (one file per policy) and is named by a
//! [`PolicySpec`] (its parameters, announced in `RunInfo` and built from the configuration).
//! [`decide_round`] wraps any policy with what the user decided by hand (forced, hand-labelled
//! and excluded samples), so the engine, the what-if line and the inspector all use the same
//! code and show the same reasons.

mod class_balanced;
mod prediction;
mod threshold;

pub use class_balanced::{ClassBalanced, class_quotas};
pub use prediction::PoolPrediction;
pub use threshold::Threshold;

use serde::{Deserialize, Serialize};

use crate::metrics::Histogram;
use crate::train::controls::ControlState;

/// Number of bins of the confidence histograms.
pub const HISTOGRAM_BINS: usize = 20;

/// Why a pool sample got no pseudo-label this round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Its confidence is below its class threshold.
    BelowThreshold,
    /// Confident enough, but its class already took its quota of pseudo-labels.
    OverQuota,
    /// The user excluded it as an outlier.
    Excluded,
    /// The user labelled it by hand: it trains as a labelled sample instead.
    ManualLabel,
}

impl RejectReason {
    /// The name written in files (`pseudo_labels_round_N.csv`, `metrics.jsonl`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BelowThreshold => "below_threshold",
            Self::OverQuota => "over_quota",
            Self::Excluded => "excluded",
            Self::ManualLabel => "manual_label",
        }
    }

    /// Parses [`RejectReason::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::BelowThreshold,
            Self::OverQuota,
            Self::Excluded,
            Self::ManualLabel,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }

    /// A short explanation for people.
    pub fn describe(self) -> &'static str {
        match self {
            Self::BelowThreshold => "confidence below its class threshold",
            Self::OverQuota => "its class's quota of pseudo-labels was full",
            Self::Excluded => "excluded by hand",
            Self::ManualLabel => "labelled by hand",
        }
    }
}

/// What the user decided for one pool sample (sample actions of the controls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mark {
    /// Nothing: the policy decides.
    #[default]
    None,
    /// Accepted by hand as this class, whatever its confidence.
    Forced(usize),
    /// Labelled by hand with this class (joins the labelled set).
    ManualLabel(usize),
    /// Excluded as an outlier.
    Excluded,
}

impl Mark {
    /// Whether the policy may consider the sample (forced samples count, as candidates, too).
    pub fn eligible(self) -> bool {
        !matches!(self, Self::ManualLabel(_) | Self::Excluded)
    }
}

/// Each pool sample's [`Mark`] from the controls' sample actions. A sample carries at most one
/// action ([`ControlState::apply`] replaces earlier ones); indices beyond the pool are ignored.
pub fn marks(state: &ControlState, pool_size: usize) -> Vec<Mark> {
    let mut marks = vec![Mark::None; pool_size];
    for &(i, c) in &state.forced_pseudo {
        if i < pool_size {
            marks[i] = Mark::Forced(c);
        }
    }
    for &i in &state.excluded {
        if i < pool_size {
            marks[i] = Mark::Excluded;
        }
    }
    for &(i, c) in &state.manual_labels {
        if i < pool_size {
            marks[i] = Mark::ManualLabel(c);
        }
    }
    marks
}

/// What a policy sees: the pool's predictions and which samples it may accept.
#[derive(Debug, Clone, Copy)]
pub struct PolicyInput<'a> {
    /// One prediction per pool sample, in pool order.
    pub predictions: &'a [PoolPrediction],
    /// Whether each sample may be accepted (false: excluded or labelled by hand).
    pub eligible: &'a [bool],
    /// The confidence threshold τ in force (a control the user may change).
    pub threshold: f32,
    /// Labelled samples per class (the class prior).
    pub prior: &'a [usize],
    /// Number of classes.
    pub num_classes: usize,
}

/// A policy's verdict on one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Pseudo-labelled as its predicted class, with this weight in [0, 1].
    Accept {
        /// Loss weight of the pseudo-label (scaled by λ in the training step).
        weight: f32,
    },
    /// Not pseudo-labelled.
    Reject(RejectReason),
}

/// A policy's answer for a whole pool.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// One verdict per sample (those of ineligible samples are ignored).
    pub verdicts: Vec<Verdict>,
    /// The confidence threshold it applied to each class.
    pub class_thresholds: Vec<f32>,
}

/// A pseudo-labelling policy. Implementations own their state: [`PseudoLabeller::state`] is
/// saved with every checkpoint and given back to [`PseudoLabeller::restore`] on resume.
pub trait PseudoLabeller: Send + std::fmt::Debug {
    /// The policy and its parameters.
    fn spec(&self) -> PolicySpec;

    /// Verdicts on the pool. Pure: the what-if line and the inspector call it too.
    fn propose(&self, input: &PolicyInput<'_>) -> Proposal;

    /// Learns from a round's committed decision (adaptive policies); nothing by default.
    fn commit(&mut self, _decision: &RoundDecision) {}

    /// State to save with a checkpoint (`null` for stateless policies).
    fn state(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Restores [`PseudoLabeller::state`] from a checkpoint (`null`: a checkpoint written
    /// before policies had state, or by a stateless policy).
    fn restore(&mut self, state: &serde_json::Value) -> anyhow::Result<()> {
        if state.is_null() {
            Ok(())
        } else {
            anyhow::bail!("the {} policy keeps no state, found {state}", self.spec())
        }
    }
}

/// A policy and its parameters: what `RunInfo` announces and what builds the policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum PolicySpec {
    /// Every prediction with confidence ≥ τ, weight 1.
    Threshold,
    /// Confidence ≥ τ, and no class over `balance_slack ×` its labelled share of the candidates.
    ClassBalanced {
        /// How far over its labelled share a class may go (≥ 1).
        balance_slack: f32,
    },
}

impl PolicySpec {
    /// The run's policy with its parameters, from its configuration (`acceptance` and the
    /// parameters of that policy).
    pub fn from_config(cfg: &crate::config::TrainConfig) -> Self {
        use crate::config::Acceptance;
        match cfg.acceptance {
            Acceptance::Threshold => Self::Threshold,
            Acceptance::ClassBalanced => Self::ClassBalanced {
                balance_slack: cfg.balance_slack,
            },
        }
    }

    /// The policy's name as in the configuration (`acceptance`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Threshold => "threshold",
            Self::ClassBalanced { .. } => "class-balanced",
        }
    }

    /// A fresh policy with these parameters.
    pub fn build(&self) -> Box<dyn PseudoLabeller> {
        match *self {
            Self::Threshold => Box::new(Threshold),
            Self::ClassBalanced { balance_slack } => Box::new(ClassBalanced { balance_slack }),
        }
    }
}

impl std::fmt::Display for PolicySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Threshold => f.write_str("threshold"),
            Self::ClassBalanced { balance_slack } => {
                write!(f, "class-balanced (slack {balance_slack})")
            }
        }
    }
}

/// The decision on one pool sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// The pseudo-class: the predicted class, or the user's class for a forced sample.
    pub class: usize,
    /// Loss weight of the pseudo-label in [0, 1]; 0 when rejected.
    pub weight: f32,
    /// Why it was rejected; `None` when accepted.
    pub rejection: Option<RejectReason>,
    /// Accepted by hand rather than by the policy.
    pub forced: bool,
}

impl Decision {
    /// Whether it is a pseudo-label this round.
    pub fn accepted(&self) -> bool {
        self.rejection.is_none()
    }

    /// Its pseudo-class when accepted.
    pub fn label(&self) -> Option<usize> {
        self.accepted().then_some(self.class)
    }
}

/// One round's decision on the whole pool, and its picture.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundDecision {
    /// One decision per pool sample, in pool order.
    pub decisions: Vec<Decision>,
    /// The confidence threshold the policy applied to each class.
    pub class_thresholds: Vec<f32>,
    /// Accepted count per class.
    pub per_class: Vec<usize>,
    /// Confidence histogram of accepted samples.
    pub hist_accepted: Histogram,
    /// Confidence histogram of rejected eligible samples.
    pub hist_rejected: Histogram,
    /// Accuracy of accepted samples whose hidden truth is known.
    pub accepted_accuracy: Option<f64>,
    /// Samples the policy could consider (neither excluded nor labelled by hand).
    pub eligible: usize,
}

impl RoundDecision {
    /// Number of accepted samples.
    pub fn accepted(&self) -> usize {
        self.decisions.iter().filter(|d| d.accepted()).count()
    }

    /// Each sample's pseudo-class, `None` when rejected.
    pub fn labels(&self) -> Vec<Option<usize>> {
        self.decisions.iter().map(Decision::label).collect()
    }

    /// Writes each decision onto its prediction (`accepted`, `weight`, `rejection`).
    pub fn mark(&self, predictions: &mut [PoolPrediction]) {
        for (p, d) in predictions.iter_mut().zip(&self.decisions) {
            p.accepted = d.accepted();
            p.weight = d.weight;
            p.rejection = d.rejection;
        }
    }
}

/// Decides a round: the policy's verdicts, then the user's marks on top (forced samples are
/// accepted as the user's class with weight 1; excluded and hand-labelled ones are rejected
/// with their own reason). Pure.
pub fn decide_round(
    policy: &dyn PseudoLabeller,
    predictions: &[PoolPrediction],
    marks: &[Mark],
    threshold: f32,
    prior: &[usize],
    num_classes: usize,
) -> RoundDecision {
    assert_eq!(
        predictions.len(),
        marks.len(),
        "one mark per pool prediction"
    );
    let eligible: Vec<bool> = marks.iter().map(|m| m.eligible()).collect();
    let proposal = policy.propose(&PolicyInput {
        predictions,
        eligible: &eligible,
        threshold,
        prior,
        num_classes,
    });
    assert_eq!(
        proposal.verdicts.len(),
        predictions.len(),
        "one verdict per pool prediction"
    );
    let decisions: Vec<Decision> = predictions
        .iter()
        .zip(marks)
        .zip(&proposal.verdicts)
        .map(|((p, mark), verdict)| {
            let own = |weight, rejection| Decision {
                class: p.predicted(),
                weight,
                rejection,
                forced: false,
            };
            match *mark {
                Mark::Forced(class) => Decision {
                    class,
                    weight: 1.0,
                    rejection: None,
                    forced: true,
                },
                Mark::Excluded => own(0.0, Some(RejectReason::Excluded)),
                Mark::ManualLabel(_) => own(0.0, Some(RejectReason::ManualLabel)),
                Mark::None => match *verdict {
                    Verdict::Accept { weight } => own(weight.clamp(0.0, 1.0), None),
                    Verdict::Reject(reason) => own(0.0, Some(reason)),
                },
            }
        })
        .collect();

    let mut per_class = vec![0; num_classes];
    let mut hist_accepted = Histogram::new(HISTOGRAM_BINS);
    let mut hist_rejected = Histogram::new(HISTOGRAM_BINS);
    let (mut known, mut correct) = (0usize, 0usize);
    for ((p, d), &ok) in predictions.iter().zip(&decisions).zip(&eligible) {
        match d.label() {
            Some(c) => {
                per_class[c] += 1;
                hist_accepted.add(p.confidence());
                if let Some(t) = p.truth {
                    known += 1;
                    correct += usize::from(t == c);
                }
            }
            None if ok => hist_rejected.add(p.confidence()),
            None => {}
        }
    }
    RoundDecision {
        decisions,
        class_thresholds: proposal.class_thresholds,
        per_class,
        hist_accepted,
        hist_rejected,
        accepted_accuracy: (known > 0).then(|| correct as f64 / known as f64),
        eligible: eligible.iter().filter(|e| **e).count(),
    }
}

/// The what-if line: what a policy would accept at another threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WhatIf {
    /// The threshold asked about.
    pub threshold: f32,
    /// Samples that would be pseudo-labelled.
    pub accepted: usize,
    /// Of those, samples whose hidden truth is known.
    pub known: usize,
    /// Of those, samples whose pseudo-class is right.
    pub correct: usize,
    /// Predictions considered.
    pub pool: usize,
}

/// What `policy` would decide at `threshold`, with the user's `marks`: the engine's own
/// decision, counted. Pure.
pub fn what_if(
    policy: &dyn PseudoLabeller,
    predictions: &[PoolPrediction],
    marks: &[Mark],
    threshold: f32,
    prior: &[usize],
    num_classes: usize,
) -> WhatIf {
    let round = decide_round(policy, predictions, marks, threshold, prior, num_classes);
    let mut out = WhatIf {
        threshold,
        accepted: 0,
        known: 0,
        correct: 0,
        pool: predictions.len(),
    };
    for (d, p) in round.decisions.iter().zip(predictions) {
        if let Some(c) = d.label() {
            out.accepted += 1;
            if let Some(t) = p.truth {
                out.known += 1;
                out.correct += usize::from(t == c);
            }
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A prediction of `class` at confidence `conf` (runner-up gets the rest).
    pub fn pred(index: usize, class: usize, conf: f32, truth: Option<usize>) -> PoolPrediction {
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

    #[test]
    fn marks_override_the_policy_with_their_own_reasons() {
        let p = vec![
            pred(0, 0, 0.99, Some(0)),
            pred(1, 1, 0.99, Some(1)),
            pred(2, 2, 0.10, Some(0)),
            pred(3, 0, 0.10, None),
        ];
        let marks = [
            Mark::Excluded,
            Mark::ManualLabel(1),
            Mark::Forced(0),
            Mark::None,
        ];
        let d = decide_round(&Threshold, &p, &marks, 0.5, &[1, 1, 1], 3);
        let reasons: Vec<_> = d.decisions.iter().map(|d| d.rejection).collect();
        assert_eq!(
            reasons,
            vec![
                Some(RejectReason::Excluded),
                Some(RejectReason::ManualLabel),
                None,
                Some(RejectReason::BelowThreshold)
            ]
        );
        assert_eq!(d.labels(), vec![None, None, Some(0), None]);
        assert!(d.decisions[2].forced);
        assert_eq!(d.decisions[2].weight, 1.0);
        assert_eq!(d.decisions[3].weight, 0.0);
        assert_eq!(d.eligible, 2);
        assert_eq!(d.accepted_accuracy, Some(1.0), "the forced class is right");
        assert_eq!(d.hist_rejected.total(), 1, "only eligible rejections");
        assert_eq!(d.class_thresholds, vec![0.5; 3]);
    }

    #[test]
    fn what_if_and_the_reasons_come_from_the_round_decision() {
        // Class-balanced, equal prior: 4 candidates of class 0 → quota ceil(4/3) = 2.
        let p: Vec<_> = (0..4)
            .map(|i| pred(i, 0, 0.90 + i as f32 * 0.02, Some(i % 2)))
            .collect();
        let policy = ClassBalanced { balance_slack: 1.0 };
        let marks = vec![Mark::None; 4];
        let w = what_if(&policy, &p, &marks, 0.85, &[1, 1, 1], 3);
        assert_eq!((w.accepted, w.known, w.correct), (2, 2, 1));
        let why = |threshold| {
            decide_round(&policy, &p, &marks, threshold, &[1, 1, 1], 3).decisions[0].rejection
        };
        assert_eq!(why(0.85), Some(RejectReason::OverQuota));
        assert_eq!(why(0.95), Some(RejectReason::BelowThreshold));
    }

    #[test]
    fn specs_round_trip_and_build_their_policy() {
        for spec in [
            PolicySpec::Threshold,
            PolicySpec::ClassBalanced { balance_slack: 1.5 },
        ] {
            let json = serde_json::to_string(&spec).unwrap();
            assert_eq!(serde_json::from_str::<PolicySpec>(&json).unwrap(), spec);
            assert_eq!(spec.build().spec(), spec);
        }
        assert_eq!(
            serde_json::to_value(PolicySpec::ClassBalanced { balance_slack: 1.5 }).unwrap(),
            serde_json::json!({"name": "class-balanced", "balance_slack": 1.5})
        );
    }

    #[test]
    fn stateless_policies_refuse_a_state() {
        let mut policy = PolicySpec::Threshold.build();
        assert!(policy.restore(&serde_json::Value::Null).is_ok());
        assert!(policy.restore(&serde_json::json!({"x": 1})).is_err());
    }

    #[test]
    fn reasons_round_trip_through_their_names() {
        for r in [
            RejectReason::BelowThreshold,
            RejectReason::OverQuota,
            RejectReason::Excluded,
            RejectReason::ManualLabel,
        ] {
            assert_eq!(RejectReason::parse(r.as_str()), Some(r));
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                serde_json::json!(r.as_str())
            );
        }
        assert_eq!(RejectReason::parse("nope"), None);
    }
}
