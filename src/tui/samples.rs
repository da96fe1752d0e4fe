//! Pool samples as the dashboard knows them: where each stood in the latest round and what the
//! user asked for it.

use std::collections::BTreeMap;

use crate::train::Control;
use crate::train::events::PoolPrediction;

/// Where an unlabelled sample stood in the latest round's pseudo-labelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleStatus {
    /// Accepted by the policy.
    Accepted,
    /// Below τ (or over its class quota).
    Rejected,
    /// Accepted because the user accepted it.
    Forced,
    /// Given a manual label by the user (now in the labelled set).
    ManualLabel,
    /// Excluded by the user as an outlier.
    Excluded,
}

impl SampleStatus {
    /// Parses the `status` column of `pseudo_labels_round_NNN.csv`.
    pub fn from_csv(text: &str) -> Option<Self> {
        Some(match text {
            "accepted" => Self::Accepted,
            "rejected" => Self::Rejected,
            "forced" => Self::Forced,
            "manual_label" => Self::ManualLabel,
            "excluded" => Self::Excluded,
            _ => return None,
        })
    }

    /// Human-readable name.
    pub fn label(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Forced => "accepted by you",
            Self::ManualLabel => "labelled by you",
            Self::Excluded => "excluded",
        }
    }

    /// Whether the sample is a pseudo-label this round.
    pub fn is_accepted(self) -> bool {
        matches!(self, Self::Accepted | Self::Forced)
    }
}

/// What the user asked for a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleAction {
    /// Accept as a pseudo-label of this class.
    Accept(usize),
    /// Give it this label (joins the labelled set).
    Label(usize),
    /// Exclude as an outlier.
    Exclude,
}

impl SampleAction {
    /// The control that asks the trainer for this action on pool sample `index`.
    pub fn control(self, index: usize) -> Control {
        match self {
            SampleAction::Accept(class) => Control::AcceptSample { index, class },
            SampleAction::Label(class) => Control::LabelSample { index, class },
            SampleAction::Exclude => Control::ExcludeSample { index },
        }
    }
}

/// Where a sample action stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkState {
    /// Sent, not yet acknowledged by the trainer.
    Sent,
    /// Acknowledged; takes effect at the next round's selection.
    Applied {
        /// Round during which the trainer recorded it.
        round: usize,
        /// Optimizer step at which it was recorded.
        global_step: u64,
    },
    /// The trainer refused it.
    Refused(String),
}

/// A sample action and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleMark {
    /// The action.
    pub action: SampleAction,
    /// Its state.
    pub state: MarkState,
}

/// Extra facts about one pool prediction, parallel to the predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleInfo {
    /// File name (relative to the data root), or `#index` when unknown.
    pub file: String,
    /// Status in the round the predictions come from.
    pub status: SampleStatus,
}

/// Status of a live prediction, from `accepted` and the user's applied actions.
pub fn live_status(pred: &PoolPrediction, marks: &BTreeMap<usize, SampleMark>) -> SampleStatus {
    let applied = |m: &SampleMark| matches!(m.state, MarkState::Applied { .. });
    match marks.get(&pred.index).filter(|m| applied(m)) {
        Some(SampleMark {
            action: SampleAction::Accept(_),
            ..
        }) if pred.accepted => SampleStatus::Forced,
        Some(SampleMark {
            action: SampleAction::Label(_),
            ..
        }) => SampleStatus::ManualLabel,
        Some(SampleMark {
            action: SampleAction::Exclude,
            ..
        }) => SampleStatus::Excluded,
        _ if pred.accepted => SampleStatus::Accepted,
        _ => SampleStatus::Rejected,
    }
}
