//! Pseudo-labelling policies: from the pool's predictions, which samples become pseudo-labels,
//! with which weight, and why the others do not.
//!
//! A policy implements [`PseudoLabeller`] (one file per policy) and is named by a
//! [`PolicySpec`] (its parameters, announced in `RunInfo` and built from the configuration).
//! [`decide_round`] wraps any policy with what the user decided by hand (forced, hand-labelled
//! and excluded samples), so the engine, the what-if line and the inspector all use the same
//! code and show the same reasons.

mod class_balanced;
mod curriculum;
mod flexmatch;
mod freematch;
mod prediction;
mod softmatch;
mod threshold;
mod uncertainty;

pub use class_balanced::{ClassBalanced, class_quotas};
pub use curriculum::Curriculum;
pub use flexmatch::{FlexMatch, flexmatch_thresholds};
pub use freematch::{FreeMatch, freematch_thresholds, pool_means};
pub use prediction::{PoolPrediction, top_k};
pub use softmatch::SoftMatch;
pub use threshold::Threshold;
pub use uncertainty::Uncertainty;

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
    /// Confident enough, but its prediction varies too much over MC-dropout passes.
    Uncertain,
    /// Among the pool's most outlying samples, filtered out before acceptance.
    Outlier,
}

impl RejectReason {
    /// Every reason, in the order they are listed to people.
    pub const ALL: [Self; 6] = [
        Self::BelowThreshold,
        Self::OverQuota,
        Self::Uncertain,
        Self::Outlier,
        Self::Excluded,
        Self::ManualLabel,
    ];

    /// The name written in files (`pseudo_labels_round_N.csv`, `metrics.jsonl`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BelowThreshold => "below_threshold",
            Self::OverQuota => "over_quota",
            Self::Excluded => "excluded",
            Self::ManualLabel => "manual_label",
            Self::Uncertain => "uncertain",
            Self::Outlier => "outlier",
        }
    }

    /// Parses [`RejectReason::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// A short explanation for people.
    pub fn describe(self) -> &'static str {
        match self {
            Self::BelowThreshold => "confidence below its class threshold",
            Self::OverQuota => "its class's quota of pseudo-labels was full",
            Self::Excluded => "excluded by hand",
            Self::ManualLabel => "labelled by hand",
            Self::Uncertain => "its prediction varies too much over MC-dropout passes",
            Self::Outlier => "among the pool's most outlying samples (outlier filter)",
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
    /// Whether each sample may be accepted (false: excluded, labelled by hand or filtered out as
    /// an outlier).
    pub eligible: &'a [bool],
    /// The confidence threshold τ in force (a control the user may change).
    pub threshold: f32,
    /// Labelled samples per class (the class prior).
    pub prior: &'a [usize],
    /// Number of classes.
    pub num_classes: usize,
    /// The self-training round being decided (1-based).
    pub round: usize,
}

impl PolicyInput<'_> {
    /// Indices of the eligible samples.
    pub fn eligible_indices(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.predictions.len()).filter(|&i| self.eligible[i])
    }
}

/// A policy's verdict on one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Pseudo-labelled as `class` (its predicted class, unless the policy re-weighs the
    /// classes), with this weight in [0, 1].
    Accept {
        /// The pseudo-class.
        class: usize,
        /// Loss weight of the pseudo-label (scaled by λ in the training step).
        weight: f32,
    },
    /// Not pseudo-labelled.
    Reject(RejectReason),
}

impl Verdict {
    /// Accepted as the sample's predicted class with weight 1.
    pub fn accept(p: &PoolPrediction) -> Self {
        Self::Accept {
            class: p.predicted(),
            weight: 1.0,
        }
    }
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

    /// Learns from the round the engine commits (adaptive policies update their running
    /// statistics from the same input [`PseudoLabeller::propose`] saw); nothing by default.
    fn commit(&mut self, _input: &PolicyInput<'_>) {}

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
    /// Per-class thresholds τ·β_c/(2−β_c) from each class's learning effect β_c.
    Flexmatch,
    /// Self-adaptive thresholds from the pool's mean confidence and class means; no τ.
    Freematch,
    /// Gaussian soft weights below the pool's mean aligned confidence; no τ.
    Softmatch,
    /// The most confident `step × round` of the pool; no τ.
    Curriculum {
        /// Share of the pool added each round.
        step: f32,
    },
    /// Confidence ≥ τ and MC-dropout standard deviation ≤ κ.
    Uncertainty {
        /// MC-dropout passes per round.
        passes: usize,
        /// Largest standard deviation accepted.
        kappa: f32,
    },
}

/// What the dashboard's what-if dial moves for a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dial {
    /// The confidence threshold τ (a control of the run).
    Threshold,
    /// The curriculum's share step p.
    CurriculumStep,
    /// The uncertainty bound κ.
    Kappa,
    /// Nothing: the policy adapts its thresholds itself.
    None,
}

impl PolicySpec {
    /// The run's policy with its parameters, from its configuration (`acceptance` and the
    /// parameters of that policy).
    pub fn from_config(cfg: &crate::config::TrainConfig) -> Self {
        use crate::config::Acceptance;
        match cfg.pseudo_policy {
            Acceptance::Threshold => Self::Threshold,
            Acceptance::ClassBalanced => Self::ClassBalanced {
                balance_slack: cfg.balance_slack,
            },
            Acceptance::Flexmatch => Self::Flexmatch,
            Acceptance::Freematch => Self::Freematch,
            Acceptance::Softmatch => Self::Softmatch,
            Acceptance::Curriculum => Self::Curriculum {
                step: cfg.curriculum_step,
            },
            Acceptance::Uncertainty => Self::Uncertainty {
                passes: cfg.mc_passes,
                kappa: cfg.uncertainty_kappa,
            },
        }
    }

    /// The policy's name as in the configuration (`pseudo_policy`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Threshold => "threshold",
            Self::ClassBalanced { .. } => "class-balanced",
            Self::Flexmatch => "flexmatch",
            Self::Freematch => "freematch",
            Self::Softmatch => "softmatch",
            Self::Curriculum { .. } => "curriculum",
            Self::Uncertainty { .. } => "uncertainty",
        }
    }

    /// A fresh policy with these parameters.
    pub fn build(&self) -> Box<dyn PseudoLabeller> {
        match *self {
            Self::Threshold => Box::new(Threshold),
            Self::ClassBalanced { balance_slack } => Box::new(ClassBalanced { balance_slack }),
            Self::Flexmatch => Box::new(FlexMatch),
            Self::Freematch => Box::new(FreeMatch),
            Self::Softmatch => Box::new(SoftMatch),
            Self::Curriculum { step } => Box::new(Curriculum { step }),
            Self::Uncertainty { passes, kappa } => Box::new(Uncertainty { passes, kappa }),
        }
    }

    /// MC-dropout passes the engine must make for this policy (0: none).
    pub fn mc_passes(&self) -> usize {
        match *self {
            Self::Uncertainty { passes, .. } => passes,
            _ => 0,
        }
    }

    /// What the what-if dial moves for this policy.
    pub fn dial(&self) -> Dial {
        match self {
            Self::Threshold | Self::ClassBalanced { .. } | Self::Flexmatch => Dial::Threshold,
            Self::Uncertainty { .. } => Dial::Kappa,
            Self::Curriculum { .. } => Dial::CurriculumStep,
            Self::Freematch | Self::Softmatch => Dial::None,
        }
    }

    /// The value of the parameter [`PolicySpec::dial`] names, `None` for τ (a control, not a
    /// parameter) and for policies without a dial.
    pub fn dialled(&self) -> Option<f32> {
        match *self {
            Self::Curriculum { step } => Some(step),
            Self::Uncertainty { kappa, .. } => Some(kappa),
            _ => None,
        }
    }

    /// The same policy with its dialled parameter set to `value` (unchanged for τ-dialled and
    /// self-adaptive policies).
    pub fn with_dialled(&self, value: f32) -> Self {
        match *self {
            Self::Curriculum { .. } => Self::Curriculum {
                step: value.clamp(0.01, 1.0),
            },
            Self::Uncertainty { passes, .. } => Self::Uncertainty {
                passes,
                kappa: value.max(0.0),
            },
            ref other => other.clone(),
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
            Self::Flexmatch => f.write_str("flexmatch"),
            Self::Freematch => f.write_str("freematch (self-adaptive τ)"),
            Self::Softmatch => f.write_str("softmatch (soft weights)"),
            Self::Curriculum { step } => write!(f, "curriculum (+{:.0}%/round)", step * 100.0),
            Self::Uncertainty { passes, kappa } => {
                write!(f, "uncertainty (κ {kappa}, {passes} passes)")
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

    /// Summed weights of the accepted samples: the effective number of pseudo-labels.
    pub fn effective(&self) -> f32 {
        self.decisions.iter().map(|d| d.weight).sum()
    }

    /// Samples rejected for `reason`.
    pub fn rejected_for(&self, reason: RejectReason) -> usize {
        self.decisions
            .iter()
            .filter(|d| d.rejection == Some(reason))
            .count()
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

/// Everything a round's decision depends on besides the policy.
#[derive(Debug, Clone, Copy)]
pub struct RoundInput<'a> {
    /// One prediction per pool sample, in pool order.
    pub predictions: &'a [PoolPrediction],
    /// The user's mark on each sample.
    pub marks: &'a [Mark],
    /// The confidence threshold τ in force.
    pub threshold: f32,
    /// The user's per-class thresholds (`None`: the policy decides that class); may be shorter
    /// than the class count.
    pub class_overrides: &'a [Option<f32>],
    /// Fraction of eligible samples with an outlier score to filter out, most outlying first
    /// (0 = off).
    pub outlier_fraction: f32,
    /// Labelled samples per class (the class prior).
    pub prior: &'a [usize],
    /// Number of classes.
    pub num_classes: usize,
    /// The self-training round being decided (1-based).
    pub round: usize,
}

impl<'a> RoundInput<'a> {
    /// A round with no per-class overrides and no outlier filter.
    pub fn new(
        predictions: &'a [PoolPrediction],
        marks: &'a [Mark],
        threshold: f32,
        prior: &'a [usize],
        num_classes: usize,
        round: usize,
    ) -> Self {
        Self {
            predictions,
            marks,
            threshold,
            class_overrides: &[],
            outlier_fraction: 0.0,
            prior,
            num_classes,
            round,
        }
    }

    /// The same round at another threshold τ (the what-if line).
    pub fn at_threshold(self, threshold: f32) -> Self {
        Self { threshold, ..self }
    }

    /// The policy's view: which samples it may accept.
    pub fn policy_input<'b>(&self, eligible: &'b [bool]) -> PolicyInput<'b>
    where
        'a: 'b,
    {
        PolicyInput {
            predictions: self.predictions,
            eligible,
            threshold: self.threshold,
            prior: self.prior,
            num_classes: self.num_classes,
            round: self.round,
        }
    }

    /// Samples the outlier filter takes out: the `outlier_fraction` of samples the user left to
    /// the policy that have the highest outlier scores (ties by pool index).
    pub fn outliers(&self) -> Vec<bool> {
        let mut out = vec![false; self.predictions.len()];
        if self.outlier_fraction <= 0.0 {
            return out;
        }
        let mut scored: Vec<(usize, f32)> = self
            .predictions
            .iter()
            .zip(self.marks)
            .enumerate()
            .filter(|(_, (_, m))| **m == Mark::None)
            .filter_map(|(i, (p, _))| p.outlier.map(|s| (i, s)))
            .collect();
        let take = (scored.len() as f64 * f64::from(self.outlier_fraction.min(1.0))).round();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for &(i, _) in scored.iter().take(take as usize) {
            out[i] = true;
        }
        out
    }

    /// What the policy may consider: neither marked out by the user nor filtered as an
    /// outlier (forced samples count, as candidates, too).
    pub fn eligible(&self) -> Vec<bool> {
        self.marks
            .iter()
            .zip(self.outliers())
            .map(|(m, outlier)| m.eligible() && !outlier)
            .collect()
    }
}

/// Decides a round: the outlier filter, the policy's verdicts, the user's per-class thresholds
/// over them, then the user's marks on top (forced samples are accepted as the user's class with
/// weight 1; excluded and hand-labelled ones are rejected with their own reason). Pure.
pub fn decide_round(policy: &dyn PseudoLabeller, input: &RoundInput<'_>) -> RoundDecision {
    let predictions = input.predictions;
    let num_classes = input.num_classes;
    assert_eq!(
        predictions.len(),
        input.marks.len(),
        "one mark per pool prediction"
    );
    let outliers = input.outliers();
    let eligible = input.eligible();
    let mut proposal = policy.propose(&input.policy_input(&eligible));
    assert_eq!(
        proposal.verdicts.len(),
        predictions.len(),
        "one verdict per pool prediction"
    );
    for (c, over) in input.class_overrides.iter().enumerate() {
        if let (Some(t), Some(slot)) = (over, proposal.class_thresholds.get_mut(c)) {
            *slot = *t;
        }
    }
    let decisions: Vec<Decision> = predictions
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let own = |weight, rejection| Decision {
                class: p.predicted(),
                weight,
                rejection,
                forced: false,
            };
            let verdict = match input.class_overrides.get(p.predicted()).copied().flatten() {
                Some(t) if eligible[i] => override_verdict(p, proposal.verdicts[i], t),
                _ => proposal.verdicts[i],
            };
            match input.marks[i] {
                Mark::Forced(class) => Decision {
                    class,
                    weight: 1.0,
                    rejection: None,
                    forced: true,
                },
                Mark::Excluded => own(0.0, Some(RejectReason::Excluded)),
                Mark::ManualLabel(_) => own(0.0, Some(RejectReason::ManualLabel)),
                Mark::None if outliers[i] => own(0.0, Some(RejectReason::Outlier)),
                Mark::None => match verdict {
                    Verdict::Accept { class, weight } => Decision {
                        class,
                        weight: weight.clamp(0.0, 1.0),
                        rejection: None,
                        forced: false,
                    },
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

/// A user's class threshold `t` over the policy: the sample is accepted exactly when its
/// confidence reaches `t` (with the policy's weight when the policy accepted it, else 1).
fn override_verdict(p: &PoolPrediction, verdict: Verdict, t: f32) -> Verdict {
    if p.confidence() < t {
        return Verdict::Reject(RejectReason::BelowThreshold);
    }
    match verdict {
        Verdict::Accept { class, weight } if weight > 0.0 => Verdict::Accept { class, weight },
        _ => Verdict::accept(p),
    }
}

/// The what-if line: what a policy would accept at another threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WhatIf {
    /// The threshold asked about.
    pub threshold: f32,
    /// Samples that would be pseudo-labelled.
    pub accepted: usize,
    /// Their summed weights: the effective number of pseudo-labels.
    pub effective: f32,
    /// Of those, samples whose hidden truth is known.
    pub known: usize,
    /// Of those, samples whose pseudo-class is right.
    pub correct: usize,
    /// Predictions considered.
    pub pool: usize,
}

/// What `policy` would decide for `input` (at its threshold): the engine's own decision,
/// counted. Pure.
pub fn what_if(policy: &dyn PseudoLabeller, input: &RoundInput<'_>) -> WhatIf {
    let round = decide_round(policy, input);
    let mut out = WhatIf {
        threshold: input.threshold,
        accepted: 0,
        effective: 0.0,
        known: 0,
        correct: 0,
        pool: input.predictions.len(),
    };
    for (d, p) in round.decisions.iter().zip(input.predictions) {
        if let Some(c) = d.label() {
            out.accepted += 1;
            out.effective += d.weight;
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

    /// A prediction of `class` (of 3) at confidence `conf`, the next class taking the rest
    /// (only the top two are known, as when read back from a CSV, so `class` stays the
    /// prediction even below 0.5).
    pub fn pred(index: usize, class: usize, conf: f32, truth: Option<usize>) -> PoolPrediction {
        let mut p = PoolPrediction::from_probs(index, &[], truth);
        p.top = vec![(class, conf), ((class + 1) % 3, 1.0 - conf)];
        p
    }

    /// [`decide_round`] in round 1 without overrides or outlier filter.
    pub fn decide(
        policy: &dyn PseudoLabeller,
        predictions: &[PoolPrediction],
        marks: &[Mark],
        threshold: f32,
        prior: &[usize],
        num_classes: usize,
    ) -> RoundDecision {
        decide_round(
            policy,
            &RoundInput::new(predictions, marks, threshold, prior, num_classes, 1),
        )
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
        let d = decide(&Threshold, &p, &marks, 0.5, &[1, 1, 1], 3);
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
        let w = what_if(
            &policy,
            &RoundInput::new(&p, &marks, 0.85, &[1, 1, 1], 3, 1),
        );
        assert_eq!((w.accepted, w.known, w.correct), (2, 2, 1));
        let why = |threshold| {
            decide(&policy, &p, &marks, threshold, &[1, 1, 1], 3).decisions[0].rejection
        };
        assert_eq!(why(0.85), Some(RejectReason::OverQuota));
        assert_eq!(why(0.95), Some(RejectReason::BelowThreshold));
    }

    #[test]
    fn specs_round_trip_and_build_their_policy() {
        for spec in [
            PolicySpec::Threshold,
            PolicySpec::ClassBalanced { balance_slack: 1.5 },
            PolicySpec::Flexmatch,
            PolicySpec::Freematch,
            PolicySpec::Softmatch,
            PolicySpec::Curriculum { step: 0.25 },
            PolicySpec::Uncertainty {
                passes: 8,
                kappa: 0.1,
            },
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
        for r in RejectReason::ALL {
            assert_eq!(RejectReason::parse(r.as_str()), Some(r));
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                serde_json::json!(r.as_str())
            );
        }
        assert_eq!(RejectReason::parse("nope"), None);
    }

    #[test]
    fn the_outlier_filter_takes_the_highest_scores_before_the_policy() {
        let mut p: Vec<_> = (0..5).map(|i| pred(i, 0, 0.99, Some(0))).collect();
        for (i, score) in [0.1, 5.0, 0.2, 4.0, 0.3].into_iter().enumerate() {
            p[i].outlier = Some(score);
        }
        let marks = [
            Mark::None,
            Mark::Forced(1),
            Mark::None,
            Mark::None,
            Mark::None,
        ];
        let input = RoundInput {
            outlier_fraction: 0.25,
            ..RoundInput::new(&p, &marks, 0.5, &[1, 1, 1], 3, 1)
        };
        let d = decide_round(&Threshold, &input);
        // Four unmarked scored samples, a quarter of them: #3 (4.0); forced #1 is the user's.
        assert_eq!(d.decisions[3].rejection, Some(RejectReason::Outlier));
        assert_eq!(d.rejected_for(RejectReason::Outlier), 1);
        assert!(d.decisions[1].accepted() && d.decisions[1].forced);
        assert_eq!(d.eligible, 4);
        let off = decide_round(
            &Threshold,
            &RoundInput::new(&p, &marks, 0.5, &[1, 1, 1], 3, 1),
        );
        assert_eq!(
            off.accepted(),
            5,
            "reversible: with the filter off all are back"
        );
    }

    #[test]
    fn a_class_threshold_override_replaces_the_policy_for_that_class_only() {
        let p = vec![
            pred(0, 0, 0.70, Some(0)),
            pred(1, 0, 0.95, Some(0)),
            pred(2, 1, 0.70, Some(1)),
            pred(3, 1, 0.95, Some(1)),
        ];
        let marks = [Mark::None; 4];
        let overrides = [Some(0.6)];
        let input = RoundInput {
            class_overrides: &overrides,
            ..RoundInput::new(&p, &marks, 0.9, &[1, 1, 1], 3, 1)
        };
        let d = decide_round(&Threshold, &input);
        assert_eq!(d.labels(), vec![Some(0), Some(0), None, Some(1)]);
        assert_eq!(d.class_thresholds, vec![0.6, 0.9, 0.9]);
        // Over a quota policy too: the class's samples are judged by its own τ alone.
        let balanced = ClassBalanced { balance_slack: 1.0 };
        let strict = [Some(0.96)];
        let d = decide_round(
            &balanced,
            &RoundInput {
                class_overrides: &strict,
                ..input
            },
        );
        assert_eq!(d.labels()[..2], [None, None]);
    }

    #[test]
    fn dials_follow_the_policy() {
        assert_eq!(PolicySpec::Flexmatch.dial(), Dial::Threshold);
        assert_eq!(PolicySpec::Softmatch.dial(), Dial::None);
        let c = PolicySpec::Curriculum { step: 0.2 };
        assert_eq!((c.dial(), c.dialled()), (Dial::CurriculumStep, Some(0.2)));
        assert_eq!(c.with_dialled(0.3), PolicySpec::Curriculum { step: 0.3 });
        let u = PolicySpec::Uncertainty {
            passes: 10,
            kappa: 0.05,
        };
        assert_eq!(u.mc_passes(), 10);
        assert_eq!(
            u.with_dialled(0.1),
            PolicySpec::Uncertainty {
                passes: 10,
                kappa: 0.1
            }
        );
    }
}
