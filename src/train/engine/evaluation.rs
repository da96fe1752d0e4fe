//! Validation after each epoch (feeding model selection) and test evaluations.

use burn::prelude::*;

use super::{Interrupt, Trainer, valid_device};
use crate::metrics::EvalReport;
use crate::model::Classifier;
use crate::run::{CheckpointReason, files};
use crate::train::checkpoint;
use crate::train::events::{Evaluation, Phase, Split, Update};
use crate::train::selection::SelectionRule;
use crate::train::steps::evaluate_with;
use crate::train::timing::Spent;

impl Trainer<'_> {
    /// Evaluates on validation after an epoch. Model selection only considers the end of the
    /// warm-up and of each round (`select`): per-epoch maxima on a small validation set mostly
    /// pick noise. See [`crate::train::selection::Selection::observe`].
    /// Non-finite validation loss (the weights diverged) is an [`Interrupt::Diverged`], before
    /// anything is selected or saved.
    pub(super) fn end_of_epoch(&mut self, select: bool) -> anyhow::Result<Result<(), Interrupt>> {
        self.run.epochs_done += 1;
        if self.data.val.is_empty() {
            self.run
                .selection
                .observe_without_validation(select, self.round);
            return Ok(Ok(()));
        }
        let started = std::time::Instant::now();
        let valid = self.model.valid();
        let data = self.data.clone();
        let device = valid_device(&self.device);
        let report = evaluate_with(
            &valid,
            &data.val,
            data.num_classes(),
            self.cfg.batch_size.max(64),
            &device,
            || self.acknowledge_controls(),
        );
        self.run
            .time_breakdown
            .add(Spent::Evaluation, started.elapsed().as_secs_f64());
        if !report.loss.is_finite() {
            return Ok(Err(Interrupt::Diverged(self.divergence_message(&format!(
                "the validation loss became {}",
                report.loss
            )))));
        }
        let better = self.run.selection.observe(
            report.accuracy,
            select,
            self.round,
            SelectionRule::of(&self.cfg),
            self.data.val.len(),
        );
        self.recorder.emit(Update::Evaluation(Evaluation {
            global_step: self.run.global_step,
            round: self.round,
            epoch: self.epoch,
            split: Split::Validation,
            report,
        }));
        if better {
            let started = std::time::Instant::now();
            checkpoint::write_model(&self.run_dir, files::BEST, &valid)?;
            self.run
                .time_breakdown
                .add(Spent::Io, started.elapsed().as_secs_f64());
            self.best_model = Some(valid);
            self.best_model_step = Some(self.run.global_step);
            let path = self.run_dir.file(files::BEST).display().to_string();
            self.recorder.emit(Update::Checkpoint {
                path,
                reason: CheckpointReason::Best,
                global_step: self.run.global_step,
            });
        }
        Ok(Ok(()))
    }

    pub(super) fn test_report(&mut self, model: &Classifier) -> Option<EvalReport> {
        let started = std::time::Instant::now();
        let data = self.data.clone();
        let test = data.test.as_ref()?;
        let device = valid_device(&self.device);
        let report = evaluate_with(
            model,
            test,
            data.num_classes(),
            self.cfg.batch_size.max(64),
            &device,
            || self.acknowledge_controls(),
        );
        self.run
            .time_breakdown
            .add(Spent::Evaluation, started.elapsed().as_secs_f64());
        Some(report)
    }

    /// The test evaluation published for the training model at `step`, if there was one.
    pub(super) fn published_test_report(&self, step: Option<u64>) -> Option<EvalReport> {
        let step = step?;
        self.test_reports
            .iter()
            .rev()
            .find(|(s, _)| *s == step)
            .map(|(_, r)| r.clone())
    }

    pub(super) fn publish_test_evaluation(&mut self) {
        let previous = self.phase;
        self.phase = Phase::Evaluating;
        self.maybe_progress(0, 0, 0, true);
        let valid = self.model.valid();
        if let Some(report) = self.test_report(&valid) {
            self.test_reports
                .push((self.run.global_step, report.clone()));
            self.recorder.emit(Update::Evaluation(Evaluation {
                global_step: self.run.global_step,
                round: self.round,
                epoch: self.epoch,
                split: Split::Test,
                report,
            }));
        }
        self.phase = previous;
    }
}
