//! The pseudo-label round: predict the pool, let the policy decide, record the round.

use burn::prelude::*;

use super::{Interrupt, Trainer, valid_device};
use crate::run::RunDir;
use crate::train::events::{Phase, Update};
use crate::train::pseudo;
use crate::train::pseudo_round;
use crate::train::signals::{PoolSignals, labelled_centroids};
use crate::train::steps::{inference_batch_size, predict_pool_until};
use crate::train::timing::Spent;
use std::time::Instant;

impl Trainer<'_> {
    /// Predicts the pool, lets the policy decide this round's pseudo-labels, writes the round's
    /// CSV and publishes it. Returns how many samples were newly accepted, or the stop asked for
    /// while predicting (controls are polled between prediction batches; nothing has changed
    /// then, so the round-start checkpoint stays valid).
    pub(super) fn select_pseudo_labels(
        &mut self,
        round: usize,
    ) -> anyhow::Result<Result<usize, Interrupt>> {
        self.phase = Phase::Predicting;
        self.maybe_progress(0, 0, 0, true);
        let started = Instant::now();
        let data = self.data.clone();
        let k = data.num_classes();
        let valid = self.model.valid();
        let device = valid_device(&self.device);
        let (batch_size, mirror) = (inference_batch_size(self.cfg.batch_size), self.cfg.hflip);
        let mc_passes = self.labeller.spec().mc_passes();
        let mc_seed = crate::train::seeds::mc_dropout(self.cfg.seed, round);
        let outlier_filter = self.cfg.outlier_filter > 0.0;
        let mut stop = None;
        let mut interrupted = || match self.poll_controls() {
            Ok(()) => false,
            Err(i) => {
                stop = Some(i);
                true
            }
        };
        let predictions = (|| {
            // The outlier score compares with the labelled set as this round's model sees it.
            let centroids = if outlier_filter {
                Some(labelled_centroids(
                    &valid,
                    &data.train,
                    batch_size,
                    mirror,
                    &device,
                    &mut interrupted,
                )?)
            } else {
                None
            };
            let signals = PoolSignals {
                mc_passes,
                mc_seed,
                centroids: centroids.as_ref(),
            };
            predict_pool_until(
                &valid,
                &data.pool.pixels,
                &data.pool.labels,
                data.shape,
                k,
                batch_size,
                mirror,
                &signals,
                &device,
                &mut interrupted,
            )
        })();
        let mut predictions = match (predictions, stop) {
            (Some(predictions), None) => predictions,
            (_, interrupt) => return Ok(Err(interrupt.unwrap_or(Interrupt::Stop))),
        };
        self.run
            .time_breakdown
            .add(Spent::PoolPrediction, started.elapsed().as_secs_f64());
        let started = Instant::now();
        let controls = &self.run.controls;
        let marks = pseudo::marks(controls, predictions.len());
        let prior = data.train.class_counts(k);
        let input = pseudo::RoundInput {
            class_overrides: &controls.class_thresholds,
            outlier_fraction: self.cfg.outlier_filter,
            ..pseudo::RoundInput::new(&predictions, &marks, controls.threshold, &prior, k, round)
        };
        let decision = pseudo::decide_round(self.labeller.as_ref(), &input);
        self.labeller.commit(&input.policy_input(&input.eligible()));
        decision.mark(&mut predictions);
        let change = self.run.pseudo.commit(&decision);
        let rows = pseudo_round::csv_rows(&predictions, &decision, &marks, &data.classes, |i| {
            data.pool.files[i].display().to_string()
        });
        self.run
            .time_breakdown
            .add(Spent::PseudoDecision, started.elapsed().as_secs_f64());
        let started = Instant::now();
        let name = RunDir::pseudo_labels_name(round);
        self.run_dir
            .write(&name, crate::run::pseudo_csv::to_csv(&rows).as_bytes())
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", self.run_dir.file(&name).display()))?;
        self.run
            .time_breakdown
            .add(Spent::Io, started.elapsed().as_secs_f64());
        if let Some(message) =
            pseudo_round::collapse_warning(round, &decision.per_class, &data.classes)
        {
            self.recorder.emit(Update::Warning { message });
        }
        let update = pseudo_round::round_update(
            round,
            self.run.controls.threshold,
            self.run.controls.pseudo_weight,
            &decision,
            change,
            predictions,
        );
        self.recorder.emit(Update::PseudoLabels(update));
        Ok(Ok(change.newly_accepted))
    }
}
