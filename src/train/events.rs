//! Updates streamed by the trainer to front-ends (and recorded in `metrics.jsonl`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::metrics::{EvalReport, Histogram};
use crate::run::{CheckpointReason, StopReason};
use crate::train::controls::Control;
use crate::train::pseudo::PolicySpec;
pub use crate::train::pseudo::PoolPrediction;

/// Where the trainer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Loading and preparing.
    Starting,
    /// Supervised training on the labelled set (round 0).
    WarmUp,
    /// Predicting the unlabelled pool at the start of a round.
    Predicting,
    /// Training on labelled ∪ pseudo-labelled samples.
    Training,
    /// Evaluating on validation/test.
    Evaluating,
    /// Finished.
    Done,
}

impl Phase {
    /// Human-readable name.
    pub fn label(&self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::WarmUp => "warm-up",
            Phase::Predicting => "predicting",
            Phase::Training => "training",
            Phase::Evaluating => "evaluating",
            Phase::Done => "done",
        }
    }
}

/// Static facts about a run, sent once at the start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Run directory.
    pub run_dir: String,
    /// Device the model trains on, e.g. `flex`.
    pub device: String,
    /// Class names in label order.
    pub classes: Vec<String>,
    /// Labelled training images (after the validation hold-out).
    pub labeled: usize,
    /// Validation images.
    pub validation: usize,
    /// Test images.
    pub test: usize,
    /// Unlabelled pool size.
    pub unlabeled: usize,
    /// Labelled images per class (the class prior).
    pub labeled_per_class: Vec<usize>,
    /// Whether the unlabelled pool carries hidden ground truth.
    pub pool_has_truth: bool,
    /// Total self-training rounds planned (after warm-up).
    pub rounds: usize,
    /// Initial τ.
    #[serde(deserialize_with = "crate::run::records::f32_or_nan")]
    pub threshold: f32,
    /// Initial λ.
    #[serde(deserialize_with = "crate::run::records::f32_or_nan")]
    pub pseudo_weight: f32,
    /// Optimizer step this run resumed from (`train --resume`), if it did.
    #[serde(default)]
    pub resumed_at_step: Option<u64>,
    /// The pseudo-labelling policy and its parameters (absent in older runs).
    #[serde(default)]
    pub policy: Option<PolicySpec>,
    /// The fraction of the pool the outlier filter takes out each round (0 = off; absent in
    /// older runs).
    #[serde(default)]
    pub outlier_filter: f32,
}

/// Progress through the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Current phase.
    pub phase: Phase,
    /// Round (0 = warm-up).
    pub round: usize,
    /// Planned rounds.
    pub total_rounds: usize,
    /// Epoch within the phase, 1-based (0 while predicting).
    pub epoch: usize,
    /// Epochs in this phase.
    pub total_epochs: usize,
    /// Batch within the epoch, 1-based.
    pub step: usize,
    /// Batches in this epoch.
    pub total_steps: usize,
    /// Optimizer steps so far in the whole run.
    pub global_step: u64,
    /// Recent throughput in images per second.
    #[serde(deserialize_with = "crate::run::records::f64_or_nan")]
    pub images_per_sec: f64,
    /// Seconds since the run started.
    #[serde(deserialize_with = "crate::run::records::f64_or_nan")]
    pub elapsed_secs: f64,
    /// Estimated fraction of the whole run done, in `[0, 1]`.
    #[serde(deserialize_with = "crate::run::records::f64_or_nan")]
    pub fraction_done: f64,
}

/// Losses of one optimizer step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossPoint {
    /// Optimizer step.
    pub global_step: u64,
    /// Round (0 = warm-up).
    pub round: usize,
    /// Mean cross-entropy over the labelled samples of the batch.
    #[serde(deserialize_with = "crate::run::records::f64_or_nan")]
    pub supervised: f64,
    /// Mean cross-entropy over the pseudo-labelled samples of the batch (None when none).
    pub pseudo: Option<f64>,
    /// The optimized loss: supervised + λ·pseudo.
    #[serde(deserialize_with = "crate::run::records::f64_or_nan")]
    pub total: f64,
}

/// Which split an evaluation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Validation hold-out.
    Validation,
    /// Test split.
    Test,
}

/// One evaluation of the current model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Optimizer step at evaluation time.
    pub global_step: u64,
    /// Round (0 = warm-up).
    pub round: usize,
    /// Epoch within the round.
    pub epoch: usize,
    /// Split evaluated.
    pub split: Split,
    /// Scores.
    pub report: EvalReport,
}

/// The pseudo-labelling picture of one round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PseudoRound {
    /// Round number (1-based).
    pub round: usize,
    /// τ used.
    #[serde(deserialize_with = "crate::run::records::f32_or_nan")]
    pub threshold: f32,
    /// λ in force when the round started.
    #[serde(deserialize_with = "crate::run::records::f32_or_nan")]
    pub pseudo_weight: f32,
    /// Pool size considered (after exclusions and manual labels).
    pub pool_size: usize,
    /// Accepted pseudo-labels.
    pub accepted: usize,
    /// Accepted this round that were not accepted in the previous round.
    pub newly_accepted: usize,
    /// Accepted in the previous round but dropped now.
    pub dropped: usize,
    /// Accepted count per predicted class.
    pub accepted_per_class: Vec<usize>,
    /// Confidence histogram (20 bins) of accepted samples.
    pub hist_accepted: Histogram,
    /// Confidence histogram (20 bins) of rejected samples.
    pub hist_rejected: Histogram,
    /// Accuracy of accepted pseudo-labels against hidden truth, when known.
    pub accepted_accuracy: Option<f64>,
    /// The confidence threshold the policy applied to each class (absent in older runs).
    #[serde(default)]
    pub class_thresholds: Vec<f32>,
    /// Summed weights of the accepted pseudo-labels: the effective number of pseudo-labels
    /// (below `accepted` under soft weighting; absent in older runs).
    #[serde(default)]
    pub effective: Option<f32>,
    /// Samples rejected as too uncertain over MC-dropout passes (absent in older runs: 0).
    #[serde(default)]
    pub rejected_uncertain: usize,
    /// Samples taken out by the outlier filter (absent in older runs: 0).
    #[serde(default)]
    pub rejected_outlier: usize,
    /// Every prediction of the round (accepted and rejected), sorted by pool index.
    /// Not written to `metrics.jsonl` (see `pseudo_labels_round_N.csv`).
    #[serde(skip)]
    pub predictions: Arc<Vec<PoolPrediction>>,
}

impl PseudoRound {
    /// Rejected predictions, nearest the threshold (most confident) first.
    pub fn rejected(&self) -> Vec<&PoolPrediction> {
        let mut r: Vec<&PoolPrediction> = self.predictions.iter().filter(|p| !p.accepted).collect();
        r.sort_by(|a, b| b.confidence().total_cmp(&a.confidence()));
        r
    }
}

/// A control the trainer applied (or refused), with where it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedControl {
    /// The control.
    pub control: Control,
    /// Optimizer step at which it took effect.
    pub global_step: u64,
    /// Round.
    pub round: usize,
    /// Epoch within the round.
    pub epoch: usize,
    /// Wall-clock time (RFC 3339).
    pub time: String,
    /// Why it was refused, if it was.
    pub error: Option<String>,
}

/// The end of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Why the run ended.
    pub stop_reason: StopReason,
    /// Device name.
    pub device: String,
    /// Rounds completed after warm-up.
    pub rounds_completed: usize,
    /// Optimizer steps.
    pub global_steps: u64,
    /// Wall time in seconds.
    #[serde(deserialize_with = "crate::run::records::f64_or_nan")]
    pub wall_secs: f64,
    /// Round of the best checkpoint (by validation accuracy).
    pub best_round: usize,
    /// Validation accuracy of the best checkpoint.
    #[serde(deserialize_with = "crate::run::records::f64_or_nan")]
    pub best_val_accuracy: f64,
    /// Test scores of the supervised-only (warm-up) model.
    pub baseline_test: Option<EvalReport>,
    /// Test scores of the best checkpoint.
    pub best_test: Option<EvalReport>,
    /// Test scores of the last model.
    pub last_test: Option<EvalReport>,
    /// Pseudo-labels accepted in the last round.
    pub last_accepted: usize,
    /// Accuracy of last round's accepted pseudo-labels against hidden truth.
    pub last_accepted_accuracy: Option<f64>,
    /// Final τ and λ.
    #[serde(deserialize_with = "crate::run::records::f32_or_nan")]
    pub final_threshold: f32,
    /// Final λ.
    #[serde(deserialize_with = "crate::run::records::f32_or_nan")]
    pub final_pseudo_weight: f32,
    /// Images skipped while loading (absent in summaries of runs before it was recorded).
    #[serde(default)]
    pub skipped_images: usize,
    /// Where the wall time went (absent in summaries of runs before it was recorded).
    #[serde(default)]
    pub time_breakdown: Option<crate::train::timing::TimeBreakdown>,
    /// Format of `summary.json`; absent in files written before it was recorded (version 1).
    #[serde(default = "crate::run::legacy_format_version")]
    pub format_version: u32,
}

/// Everything the trainer tells a front-end.
// `Finished` (three evaluation reports with their calibration bins) is sent once per run, so
// boxing it would only add indirection at every use.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Update {
    /// Run facts, first.
    Started(RunInfo),
    /// Progress (at most a few per second).
    Progress(Progress),
    /// Losses of one step.
    Loss(LossPoint),
    /// An evaluation.
    Evaluation(Evaluation),
    /// The pseudo-labels chosen at the start of a round.
    PseudoLabels(PseudoRound),
    /// A control applied at a batch boundary.
    ControlApplied(AppliedControl),
    /// A checkpoint written.
    Checkpoint {
        /// File written.
        path: String,
        /// Why it was written.
        reason: CheckpointReason,
        /// Optimizer step.
        global_step: u64,
    },
    /// A round finished.
    RoundFinished {
        /// Round number.
        round: usize,
        /// Validation accuracy after it.
        #[serde(deserialize_with = "crate::run::records::f64_or_nan")]
        val_accuracy: f64,
        /// Whether it is the best so far.
        improved: bool,
    },
    /// Something the user should know.
    Warning {
        /// Message.
        message: String,
    },
    /// The run finished normally.
    Finished(RunSummary),
    /// The run failed.
    Failed {
        /// Error message.
        message: String,
    },
}

impl Update {
    /// Whether this update may be dropped when a consumer is too slow (it is superseded by a later one).
    pub fn is_lossy(&self) -> bool {
        matches!(self, Update::Progress(_) | Update::Loss(_))
    }
}
