//! Where a run's wall time goes: per phase of the run, and inside the training steps. The
//! engine adds to a [`TimeBreakdown`] as it works; it is saved with every checkpoint (so a
//! resumed run keeps counting) and written to `summary.json`, where `report` reads it.
//!
//! The step parts are timed on the host around each call. On an eager backend (flex, tch) a call
//! returns when its kernels are done, so the split is real; read-back is the wait for the
//! per-sample losses the live view plots.

use serde::{Deserialize, Serialize};

/// Seconds spent per phase, and per part of the training steps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeBreakdown {
    /// Training steps of the supervised warm-up.
    pub warmup_training_secs: f64,
    /// Training steps of the self-training rounds.
    pub round_training_secs: f64,
    /// Predicting the unlabelled pool at the start of each round.
    pub pool_prediction_secs: f64,
    /// The policy's decision and the round's bookkeeping (no model).
    pub pseudo_decision_secs: f64,
    /// Validation after every epoch and test evaluations.
    pub evaluation_secs: f64,
    /// Checkpoints, `best.bpk`, the round CSVs and run files.
    pub io_secs: f64,
    /// Inside the steps: gathering, augmenting and mixing the batch and building its tensors.
    pub step_batch_secs: f64,
    /// Inside the steps: forward and backward passes.
    pub step_forward_backward_secs: f64,
    /// Inside the steps: the optimizer update.
    pub step_optimizer_secs: f64,
    /// Inside the steps: reading the per-sample losses back to the host.
    pub step_readback_secs: f64,
    /// Training steps timed.
    pub steps: u64,
}

/// The phases of [`TimeBreakdown`], for adding to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spent {
    /// A warm-up training step.
    WarmupTraining,
    /// A round's training step.
    RoundTraining,
    /// Pool prediction.
    PoolPrediction,
    /// The round's decision.
    PseudoDecision,
    /// Evaluation.
    Evaluation,
    /// Writing files.
    Io,
}

/// How long the parts of one training step took, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepTimes {
    /// Batch assembly.
    pub batch: f64,
    /// Forward and backward.
    pub forward_backward: f64,
    /// Optimizer update.
    pub optimizer: f64,
    /// Read-back of the losses.
    pub readback: f64,
}

impl TimeBreakdown {
    /// Adds `secs` to `phase`.
    pub fn add(&mut self, phase: Spent, secs: f64) {
        let slot = match phase {
            Spent::WarmupTraining => &mut self.warmup_training_secs,
            Spent::RoundTraining => &mut self.round_training_secs,
            Spent::PoolPrediction => &mut self.pool_prediction_secs,
            Spent::PseudoDecision => &mut self.pseudo_decision_secs,
            Spent::Evaluation => &mut self.evaluation_secs,
            Spent::Io => &mut self.io_secs,
        };
        *slot += secs.max(0.0);
    }

    /// Adds one training step's parts.
    pub fn add_step(&mut self, step: StepTimes) {
        self.step_batch_secs += step.batch;
        self.step_forward_backward_secs += step.forward_backward;
        self.step_optimizer_secs += step.optimizer;
        self.step_readback_secs += step.readback;
        self.steps += 1;
    }

    /// The phases with their names, in run order.
    pub fn phases(&self) -> [(&'static str, f64); 6] {
        [
            ("warm-up training", self.warmup_training_secs),
            ("round training", self.round_training_secs),
            ("pool prediction", self.pool_prediction_secs),
            ("pseudo-label decision", self.pseudo_decision_secs),
            ("evaluation", self.evaluation_secs),
            ("files (checkpoints, CSVs)", self.io_secs),
        ]
    }

    /// The parts of the training steps with their names.
    pub fn step_parts(&self) -> [(&'static str, f64); 4] {
        [
            ("batch assembly", self.step_batch_secs),
            ("forward + backward", self.step_forward_backward_secs),
            ("optimizer", self.step_optimizer_secs),
            ("loss read-back", self.step_readback_secs),
        ]
    }

    /// Seconds in the backend's training kernels (forward, backward, optimizer).
    pub fn kernel_secs(&self) -> f64 {
        self.step_forward_backward_secs + self.step_optimizer_secs
    }

    /// The share of `wall_secs` outside the training kernels: batch assembly, read-backs,
    /// bookkeeping, files and everything not timed. Prediction and evaluation count as the
    /// backend's too (forward passes), so they are left out of this share.
    pub fn own_share(&self, wall_secs: f64) -> Option<f64> {
        let backend = self.kernel_secs() + self.pool_prediction_secs + self.evaluation_secs;
        (wall_secs > 0.0).then(|| ((wall_secs - backend) / wall_secs).clamp(0.0, 1.0))
    }

    /// One line for people: each phase's share of `wall_secs`, then the steps' parts.
    pub fn describe(&self, wall_secs: f64) -> String {
        let pct = |s: f64| 100.0 * s / wall_secs.max(1e-9);
        let phases: Vec<String> = self
            .phases()
            .iter()
            .filter(|(_, s)| *s > 0.0)
            .map(|(name, s)| format!("{name} {:.0}%", pct(*s)))
            .collect();
        let step_total: f64 = self.step_parts().iter().map(|(_, s)| s).sum();
        let parts: Vec<String> = self
            .step_parts()
            .iter()
            .map(|(name, s)| format!("{name} {:.0}%", 100.0 * s / step_total.max(1e-9)))
            .collect();
        let own = self.own_share(wall_secs).map_or(String::new(), |s| {
            format!("; outside the backend {:.0}%", 100.0 * s)
        });
        format!(
            "time: {}; inside the steps: {}{own}",
            phases.join(", "),
            parts.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_and_step_parts_add_up_and_describe_shares() {
        let mut t = TimeBreakdown::default();
        t.add(Spent::WarmupTraining, 4.0);
        t.add(Spent::RoundTraining, 4.0);
        t.add(Spent::Evaluation, 1.0);
        t.add(Spent::Io, 1.0);
        t.add(Spent::Io, -1.0);
        t.add_step(StepTimes {
            batch: 1.0,
            forward_backward: 5.0,
            optimizer: 2.0,
            readback: 0.0,
        });
        assert_eq!(t.steps, 1);
        assert_eq!(t.io_secs, 1.0, "negative time is not time");
        assert_eq!(t.kernel_secs(), 7.0);
        // Wall 10 s: 7 s of kernels and 1 s of evaluation are the backend's.
        assert!((t.own_share(10.0).unwrap() - 0.2).abs() < 1e-12);
        let line = t.describe(10.0);
        assert!(line.contains("warm-up training 40%"), "{line}");
        assert!(line.contains("forward + backward 62%"), "{line}");
        assert!(line.contains("outside the backend 20%"), "{line}");
        assert!(
            !line.contains("pool prediction"),
            "phases with no time are left out"
        );
    }

    #[test]
    fn older_files_without_a_breakdown_read_as_zero() {
        let t: TimeBreakdown = serde_json::from_str("{\"io_secs\": 2.0}").unwrap();
        assert_eq!(t.io_secs, 2.0);
        assert_eq!(t.steps, 0);
    }
}
