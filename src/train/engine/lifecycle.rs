//! The run's start and end: restoring from a checkpoint, saving checkpoints, the run files
//! and the final summary.

use std::time::Instant;

use anyhow::Context;
use burn::prelude::*;

use super::Trainer;
use crate::data::fingerprint::{self, DataFingerprint, FingerprintCheck};
use crate::run::{CheckpointReason, ModelInfo, StopReason, csv_field, files};
use crate::train::checkpoint::{self, Position, ResumeState};
use crate::train::events::{Phase, RunSummary, Update};
use crate::train::steps::new_optimizer;
use crate::train::timing::Spent;

impl Trainer<'_> {
    /// Loads the last checkpoint's model, optimizer, selected model and run state.
    pub(super) fn restore(&mut self, r: ResumeState) -> anyhow::Result<()> {
        if r.run.position == Position::Done {
            anyhow::bail!(
                "{}: this run already finished; nothing to resume",
                self.run_dir.path().display()
            );
        }
        self.check_data_fingerprint(r.data_fingerprint.as_ref())?;
        self.model = checkpoint::load_model(
            &self.run_dir,
            &r.model_file,
            r.model_checksum.as_deref(),
            &self.model_config,
            &self.device,
        )?;
        self.optimizer = checkpoint::load_optimizer(
            &self.run_dir,
            &r.optimizer_file,
            r.optimizer_checksum.as_deref(),
            new_optimizer(&self.cfg),
        )?;
        if r.run.selection.has_best {
            let best = checkpoint::load_model(
                &self.run_dir,
                files::BEST,
                None,
                &self.model_config,
                &self.device,
            )?;
            self.best_model = Some(best.valid());
        }
        let resume_file = self.run_dir.file(files::RESUME);
        self.labeller
            .restore(&r.run.labeller)
            .map_err(|e| anyhow::anyhow!("{}: {e:#}", resume_file.display()))?;
        self.prior_wall_secs = r.wall_secs;
        self.resumed_at_step = Some(r.run.global_step);
        self.last_checkpoint_step = Some(r.run.global_step);
        self.run =
            r.into_run_state(&self.run_dir, self.data.pool.len(), self.data.num_classes())?;
        Ok(())
    }

    /// Why a diverged run failed, which checkpoint it keeps and how to go on.
    pub(super) fn divergence_message(&self, what: &str) -> String {
        let dir = self.run_dir.path().display();
        let lr = self.cfg.learning_rate;
        let kept = match self.last_checkpoint_step {
            Some(step) => format!(
                "the last finite checkpoint (step {step}) is kept; lower learning_rate (now {lr:e}) \
                 in {dir}/config.toml and resume with `selftrain train --resume {dir}`, or start \
                 a new run with a lower --lr"
            ),
            None => format!(
                "no checkpoint was saved before it; start a new run with a lower --lr (now {lr:e})"
            ),
        };
        format!(
            "training diverged: {what} at step {} (round {}, epoch {}); {kept}",
            self.run.global_step, self.round, self.epoch
        )
    }

    /// Compares the data the checkpoint recorded with the current data: other classes are an
    /// error (before any model file is read), other files a warning.
    fn check_data_fingerprint(&mut self, recorded: Option<&DataFingerprint>) -> anyhow::Result<()> {
        let Some(recorded) = recorded else {
            return Ok(());
        };
        let resume_file = self.run_dir.file(files::RESUME);
        match fingerprint::compare(recorded, &self.data_fingerprint) {
            FingerprintCheck::Same => {}
            FingerprintCheck::FilesChanged(message) => self.pending_warnings.push(message),
            FingerprintCheck::ClassesChanged(message) => {
                anyhow::bail!("{}: {message}", resume_file.display())
            }
        }
        Ok(())
    }

    /// Saves a resumable checkpoint (see [`checkpoint::save`]); periodic ones (`Epoch`) at most
    /// every `checkpoint_every_secs`, but always at a round start.
    pub(super) fn save_checkpoint(&mut self, reason: CheckpointReason) {
        let periodic = reason == CheckpointReason::Epoch;
        if periodic
            && self.last_checkpoint.elapsed().as_secs_f64() < self.cfg.checkpoint_every_secs
            && !matches!(self.run.position, Position::RoundStart { .. })
        {
            return;
        }
        let started = Instant::now();
        let written = self.write_checkpoint();
        self.run
            .time_breakdown
            .add(Spent::Io, started.elapsed().as_secs_f64());
        match written {
            Ok(()) => {
                self.last_checkpoint = Instant::now();
                self.last_checkpoint_step = Some(self.run.global_step);
                let path = self.run_dir.file(files::LAST).display().to_string();
                self.recorder.emit(Update::Checkpoint {
                    path,
                    reason,
                    global_step: self.run.global_step,
                });
            }
            Err(e) => self.recorder.emit(Update::Warning {
                message: format!("checkpoint failed: {e:#}"),
            }),
        }
    }

    pub(super) fn write_checkpoint(&mut self) -> anyhow::Result<()> {
        self.run.labeller = self.labeller.state();
        let logs = self.recorder.lengths()?;
        let state = ResumeState {
            format_version: crate::run::FORMAT_VERSION,
            run: self.run.clone(),
            wall_secs: self.wall_secs(),
            metrics_len: logs.metrics,
            events_len: logs.events,
            model_file: String::new(),
            optimizer_file: String::new(),
            model_checksum: None,
            optimizer_checksum: None,
            data_fingerprint: Some(self.data_fingerprint.clone()),
        };
        checkpoint::save(&self.run_dir, &self.model.valid(), &self.optimizer, state)
    }

    pub(super) fn write_run_files(&self) -> anyhow::Result<()> {
        self.run_dir
            .write(files::CONFIG, self.cfg.to_toml().as_bytes())
            .context("writing config.toml")?;
        let model_info = ModelInfo::new(
            self.model_config.clone(),
            self.data.classes.clone(),
            self.data.shape,
            self.cfg.resize,
            self.device_name.clone(),
        );
        self.run_dir
            .write_json(files::MODEL, &model_info)
            .context("writing model.json")?;
        if !self.data.skipped.is_empty() {
            let mut csv = String::from("file,reason\n");
            for s in &self.data.skipped {
                csv.push_str(&format!(
                    "{},{}\n",
                    csv_field(&s.path.display().to_string()),
                    csv_field(&s.reason)
                ));
            }
            self.run_dir
                .write(files::SKIPPED, csv.as_bytes())
                .context("writing skipped_images.csv")?;
        }
        Ok(())
    }

    pub(super) fn finish(&mut self, mut stop_reason: StopReason) -> anyhow::Result<RunSummary> {
        let rounds_completed = self.run.rounds_completed;
        self.save_checkpoint(if stop_reason.is_interrupted() {
            CheckpointReason::Stop
        } else {
            CheckpointReason::Last
        });
        self.phase = Phase::Evaluating;
        let last_valid = self.model.valid();
        // Evaluations are deterministic: weights already evaluated at this step are not
        // evaluated again.
        let last_test = self
            .published_test_report(Some(self.run.global_step))
            .or_else(|| self.test_report(&last_valid));
        let best_model = self
            .best_model
            .clone()
            .unwrap_or_else(|| last_valid.clone());
        if self.best_model.is_none() {
            checkpoint::write_model(&self.run_dir, files::BEST, &best_model)?;
        }
        // Without a selected model the last one is also the best.
        let best_step = match self.best_model {
            Some(_) => self.best_model_step,
            None => Some(self.run.global_step),
        };
        let best_test = self
            .published_test_report(best_step)
            .or_else(|| self.test_report(&best_model));
        let baseline_test = self.baseline_test_from_metrics();
        // A stop asked for after the last batch still ends the run as stopped: the user asked,
        // and the exit status must say so.
        self.acknowledge_controls();
        if self.run.controls.stop_requested {
            stop_reason = StopReason::Stopped;
        }
        let (last_accepted, last_accepted_accuracy) =
            self.run.pseudo.last_pseudo.unwrap_or((0, None));
        let selection = &self.run.selection;
        let summary = RunSummary {
            stop_reason,
            device: self.device_name.clone(),
            rounds_completed,
            global_steps: self.run.global_step,
            wall_secs: self.wall_secs(),
            best_round: selection.best_round,
            best_val_accuracy: selection.best_val_accuracy.max(0.0),
            baseline_test,
            best_test,
            last_test,
            last_accepted,
            last_accepted_accuracy,
            final_threshold: self.run.controls.threshold,
            final_pseudo_weight: self.run.controls.pseudo_weight,
            skipped_images: self.data.skipped.len(),
            time_breakdown: Some(self.run.time_breakdown.clone()),
            format_version: crate::run::FORMAT_VERSION,
        };
        self.run_dir
            .write_json(files::SUMMARY, &summary)
            .context("writing summary.json")?;
        self.phase = Phase::Done;
        self.maybe_progress(0, 0, 0, true);
        self.recorder.emit(Update::Finished(summary.clone()));
        self.recorder.sync();
        Ok(summary)
    }
}
