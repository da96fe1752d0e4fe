//! Why a run stopped and why a checkpoint was written, as recorded in `summary.json` and
//! `metrics.jsonl`. The serialised names are the on-disk format: renaming a variant is a format
//! change.

use serde::{Deserialize, Serialize};

/// Why a run ended (`summary.json` `stop_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Every planned round ran.
    MaxRounds,
    /// A round accepted no pseudo-label that was not already accepted before.
    NoNewPseudoLabels,
    /// Validation accuracy did not improve for `patience` rounds.
    Patience,
    /// The unlabelled pool is empty: only supervised training ran.
    EmptyPool,
    /// A resumed run had already finished: nothing was left to do.
    Finished,
    /// The user asked to stop (dashboard `q`, Ctrl-C, SIGTERM): resumable.
    Stopped,
}

impl StopReason {
    /// Every reason, for tables and tests.
    pub const ALL: [StopReason; 6] = [
        StopReason::MaxRounds,
        StopReason::NoNewPseudoLabels,
        StopReason::Patience,
        StopReason::EmptyPool,
        StopReason::Finished,
        StopReason::Stopped,
    ];

    /// The name written to disk and shown to the user, e.g. `max_rounds`.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::MaxRounds => "max_rounds",
            StopReason::NoNewPseudoLabels => "no_new_pseudo_labels",
            StopReason::Patience => "patience",
            StopReason::EmptyPool => "empty_pool",
            StopReason::Finished => "finished",
            StopReason::Stopped => "stopped",
        }
    }

    /// Whether the run ended before its plan because the user asked (it can be resumed).
    pub fn is_interrupted(self) -> bool {
        self == StopReason::Stopped
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a checkpoint was written (`metrics.jsonl` `checkpoint` records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointReason {
    /// A new best model by validation accuracy (`best.bpk`).
    Best,
    /// Periodic, at an epoch boundary (at most every `checkpoint_every_secs`).
    Epoch,
    /// Asked for from the dashboard (`s`).
    Requested,
    /// The user stopped the run.
    Stop,
    /// The run ended.
    Last,
}

impl CheckpointReason {
    /// The name written to disk and shown to the user, e.g. `best`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckpointReason::Best => "best",
            CheckpointReason::Epoch => "epoch",
            CheckpointReason::Requested => "requested",
            CheckpointReason::Stop => "stop",
            CheckpointReason::Last => "last",
        }
    }
}

impl std::fmt::Display for CheckpointReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_on_disk_match_display_and_round_trip() {
        for r in StopReason::ALL {
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
            assert_eq!(serde_json::from_str::<StopReason>(&json).unwrap(), r);
        }
        for r in [
            CheckpointReason::Best,
            CheckpointReason::Epoch,
            CheckpointReason::Requested,
            CheckpointReason::Stop,
            CheckpointReason::Last,
        ] {
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
            assert_eq!(serde_json::from_str::<CheckpointReason>(&json).unwrap(), r);
        }
    }

    #[test]
    fn only_a_user_stop_counts_as_interrupted() {
        assert!(StopReason::Stopped.is_interrupted());
        assert!(!StopReason::Patience.is_interrupted());
    }
}
