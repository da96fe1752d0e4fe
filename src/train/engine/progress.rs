//! Live progress and the controls, applied at batch boundaries.

use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;

use super::{Interrupt, Trainer};
use crate::run::CheckpointReason;
use crate::train::controls::Control;
use crate::train::events::{AppliedControl, Progress, Update};

impl Trainer<'_> {
    pub(super) fn maybe_progress(
        &mut self,
        step: usize,
        total_steps: usize,
        total_epochs: usize,
        force: bool,
    ) {
        if !force && self.last_progress.elapsed() < Duration::from_millis(100) && step < total_steps
        {
            return;
        }
        self.last_progress = Instant::now();
        let planned_epochs = self.cfg.warmup_epochs + self.cfg.rounds * self.cfg.epochs_per_round;
        let within = if total_steps == 0 {
            0.0
        } else {
            step as f64 / total_steps as f64
        };
        let fraction_done = if planned_epochs == 0 {
            1.0
        } else {
            ((self.run.epochs_done as f64 + within) / planned_epochs as f64).min(1.0)
        };
        let elapsed_secs = self.recorder.elapsed_secs();
        // Progress is for live display only: not recorded in metrics.jsonl.
        self.recorder.publish_live(Update::Progress(Progress {
            phase: self.phase,
            round: self.round,
            total_rounds: self.cfg.rounds,
            epoch: self.epoch,
            total_epochs,
            step,
            total_steps,
            global_step: self.run.global_step,
            images_per_sec: self.throughput,
            elapsed_secs,
            fraction_done,
        }));
    }

    /// Applies pending controls; blocks only while paused (still handling controls).
    pub(super) fn poll_controls(&mut self) -> Result<(), Interrupt> {
        loop {
            while let Ok(control) = self.controls.try_recv() {
                self.apply_control(control);
            }
            if self.run.controls.save_requested {
                self.run.controls.save_requested = false;
                self.save_checkpoint(CheckpointReason::Requested);
            }
            if self.run.controls.stop_requested {
                return Err(Interrupt::Stop);
            }
            if !self.run.controls.paused {
                return Ok(());
            }
            self.recorder.flush();
            match self.controls.recv_timeout(Duration::from_millis(200)) {
                Ok(control) => self.apply_control(control),
                Err(RecvTimeoutError::Timeout) => {}
                // Nobody can resume us: carry on rather than hang.
                Err(RecvTimeoutError::Disconnected) => self.run.controls.paused = false,
            }
        }
    }

    /// Applies pending controls without blocking or stopping, during an evaluation: a stop
    /// request is acknowledged at once and takes effect at the next batch boundary (or, in the
    /// final phase, makes the run end as stopped).
    pub(super) fn acknowledge_controls(&mut self) {
        while let Ok(control) = self.controls.try_recv() {
            self.apply_control(control);
        }
    }

    pub(super) fn apply_control(&mut self, control: Control) {
        let result =
            self.run
                .controls
                .apply(&control, self.data.pool.len(), self.data.num_classes());
        if result.is_ok()
            && matches!(
                control,
                Control::AcceptSample { .. }
                    | Control::LabelSample { .. }
                    | Control::ExcludeSample { .. }
            )
        {
            self.run.pseudo.user_actions_since_round += 1;
        }
        self.recorder.control(AppliedControl {
            control,
            global_step: self.run.global_step,
            round: self.round,
            epoch: self.epoch,
            time: chrono::Local::now().to_rfc3339(),
            error: result.err().map(|e| e.to_string()),
        });
    }
}
