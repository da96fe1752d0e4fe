//! How the dashboard state takes in what the trainer (or a replayed file) reports.

use std::sync::Arc;

use crate::run::CheckpointReason;
use crate::train::Control;
use crate::train::events::{
    AppliedControl, Evaluation, PoolPrediction, PseudoRound, Split, Update,
};
use crate::tui::event_log::{self, LogLevel};
use crate::tui::images::PoolImages;
use crate::tui::samples::{MarkState, SampleAction, SampleInfo, SampleMark, live_status};

use super::{App, Mode, RoundStats};

impl App {
    fn current_round(&self) -> Option<usize> {
        self.progress.as_ref().map(|p| p.round)
    }

    /// Applies one update from the trainer (or from a replayed file).
    pub fn on_update(&mut self, update: Update) {
        match update {
            Update::Started(info) => {
                self.controls.threshold = info.threshold;
                self.controls.pseudo_weight = info.pseudo_weight;
                let text = event_log::started_text(&info);
                self.info = Some(info);
                self.log.push(LogLevel::Info, Some(0), None, text);
                self.recompute_what_if();
            }
            Update::Progress(p) => {
                self.global_step = self.global_step.max(p.global_step);
                self.elapsed_secs = p.elapsed_secs;
                self.elapsed_base = self.clock;
                self.progress = Some(p);
            }
            Update::Loss(l) => {
                self.global_step = self.global_step.max(l.global_step);
                self.loss.push(&l);
            }
            Update::Evaluation(e) => self.on_evaluation(e),
            Update::PseudoLabels(p) => self.on_pseudo_labels(p),
            Update::ControlApplied(c) => self.on_applied(c),
            Update::Checkpoint {
                path,
                reason,
                global_step,
            } => {
                self.global_step = self.global_step.max(global_step);
                if reason == CheckpointReason::Requested {
                    self.controls.checkpoint_pending = false;
                }
                if reason != CheckpointReason::Best {
                    let text = event_log::checkpoint_text(&path, reason);
                    let round = self.current_round();
                    self.log
                        .push(LogLevel::Round, round, Some(global_step), text);
                }
            }
            Update::RoundFinished {
                round,
                val_accuracy,
                improved,
            } => {
                let text = event_log::round_finished_text(round, val_accuracy, improved);
                self.log
                    .push(LogLevel::Round, Some(round), Some(self.global_step), text);
            }
            Update::Warning { message } => {
                let round = self.current_round();
                self.log
                    .push(LogLevel::Warning, round, Some(self.global_step), message);
            }
            Update::Finished(summary) => {
                let text = event_log::finished_text(&summary);
                self.elapsed_secs = summary.wall_secs;
                self.global_step = self.global_step.max(summary.global_steps);
                self.log
                    .push(LogLevel::Round, None, Some(summary.global_steps), text);
                self.finished = Some(summary);
                self.run_over();
            }
            Update::Failed { message } => {
                self.log
                    .push(LogLevel::Error, None, None, format!("failed: {message}"));
                self.failed = Some(message);
                self.run_over();
            }
        }
    }

    /// The update source has ended (channel closed or file complete).
    pub fn on_disconnected(&mut self) {
        if self.disconnected {
            return;
        }
        self.disconnected = true;
        if self.mode == Mode::Live && self.finished.is_none() && self.failed.is_none() {
            let message = "the training thread ended without a result".to_string();
            self.log.push(LogLevel::Error, None, None, message.clone());
            self.failed = Some(message);
        }
        self.run_over();
    }

    /// Nothing pending can be acknowledged any more; a live dashboard that was stopping (or
    /// runs a benchmark) leaves.
    fn run_over(&mut self) {
        self.controls.settle();
        self.recompute_what_if();
        if self.mode == Mode::Live && (self.stopping || self.exit_on_finish) {
            self.exit = true;
        }
    }

    fn on_evaluation(&mut self, e: Evaluation) {
        self.global_step = self.global_step.max(e.global_step);
        let point = (e.global_step as f64, e.report.accuracy);
        match e.split {
            Split::Validation => {
                self.val_points.push(point);
                self.last_val = Some(e);
            }
            Split::Test => {
                self.test_points.push(point);
                if e.round == 0 && self.baseline.is_none() {
                    self.baseline = Some(e.report.accuracy);
                }
                self.last_test = Some(e);
            }
        }
    }

    fn on_pseudo_labels(&mut self, mut p: PseudoRound) {
        let text = event_log::pseudo_round_text(&p);
        self.log
            .push(LogLevel::Round, Some(p.round), Some(self.global_step), text);
        self.rounds.push(RoundStats {
            round: p.round,
            threshold: p.threshold,
            pool_size: p.pool_size,
            accepted: p.accepted,
            accepted_accuracy: p.accepted_accuracy,
            global_step: self.global_step,
        });
        if let Some(a) = p.accepted_accuracy {
            self.pseudo_points.push((self.global_step as f64, a));
        }
        if !p.predictions.is_empty() {
            let predictions = std::mem::take(&mut p.predictions);
            let samples = predictions
                .iter()
                .map(|pred| SampleInfo {
                    file: self
                        .images
                        .as_ref()
                        .and_then(|im| im.file(pred.index))
                        .unwrap_or_else(|| format!("#{}", pred.index)),
                    status: live_status(pred, &self.marks),
                })
                .collect();
            self.set_predictions(p.round, predictions, samples);
        }
        self.pseudo = Some(p);
    }

    /// Replaces the predictions the inspector and the what-if line use (`samples` is parallel to
    /// `predictions`).
    pub fn set_predictions(
        &mut self,
        round: usize,
        predictions: Arc<Vec<PoolPrediction>>,
        samples: Vec<SampleInfo>,
    ) {
        debug_assert_eq!(predictions.len(), samples.len());
        self.predictions = predictions;
        self.samples = samples;
        self.predictions_round = round;
        self.refresh_rows();
        self.recompute_what_if();
    }

    /// Sets the pool pixels used to draw samples (file names of known predictions are filled in).
    pub fn set_images(&mut self, images: PoolImages) {
        for (info, pred) in self.samples.iter_mut().zip(self.predictions.iter()) {
            if info.file.starts_with('#')
                && let Some(f) = images.file(pred.index)
            {
                info.file = f;
            }
        }
        self.images = Some(images);
        self.image_note = None;
    }

    fn on_applied(&mut self, c: AppliedControl) {
        self.global_step = self.global_step.max(c.global_step);
        let round = Some(c.round);
        let step = Some(c.global_step);
        if let Some(err) = &c.error {
            let text = format!("refused {}: {err}", self.describe(&c.control));
            self.log.push(LogLevel::Error, round, step, text);
        }
        let ok = c.error.is_none();
        if ok && c.control == Control::Stop && self.mode == Mode::Live {
            // A stop from outside the dashboard (SIGTERM, SIGHUP when the terminal goes away)
            // also ends it once the trainer has finished.
            self.stopping = true;
        }
        if self.controls.acknowledge(&c.control, ok) {
            self.recompute_what_if();
        }
        match c.control {
            // A replayed stop (read-only) is history, not a reason to leave.
            Control::Stop => self.stopping = self.mode == Mode::Live,
            Control::SetThreshold { .. }
            | Control::SetPseudoWeight { .. }
            | Control::SetClassThreshold { .. }
            | Control::Pause
            | Control::Resume
            | Control::SaveCheckpoint => {}
            Control::AcceptSample { index, class } => {
                self.ack_mark(index, SampleAction::Accept(class), &c)
            }
            Control::LabelSample { index, class } => {
                self.ack_mark(index, SampleAction::Label(class), &c)
            }
            Control::ExcludeSample { index } => self.ack_mark(index, SampleAction::Exclude, &c),
        }
        if ok {
            let text = self.describe(&c.control);
            self.log.push(LogLevel::Control, round, step, text);
        }
    }

    fn ack_mark(&mut self, index: usize, action: SampleAction, c: &AppliedControl) {
        let state = match &c.error {
            None => MarkState::Applied {
                round: c.round,
                global_step: c.global_step,
            },
            Some(e) => MarkState::Refused(e.clone()),
        };
        self.marks.insert(index, SampleMark { action, state });
        self.recompute_what_if();
    }
}
