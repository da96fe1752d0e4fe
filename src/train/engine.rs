//! The self-training loop, on its own thread.
//!
//! 1. Supervised warm-up on the labelled set (round 0).
//! 2. Rounds: predict the unlabelled pool, let the pseudo-labelling policy choose the
//!    pseudo-labels (recomputed every round), train on labelled ∪ pseudo-labelled with weight λ
//!    (times each pseudo-label's own weight) on the latter.
//! 3. Stop at the last round, when no new sample is accepted, or when validation accuracy has
//!    not improved for `patience` rounds. Model selection keeps the best model.
//!
//! The parts that own their state live beside this file: [`crate::train::checkpoint`] (the
//! resumable state), [`crate::train::selection`], [`crate::train::pseudo_round`] with
//! [`crate::train::pseudo`], [`crate::train::recorder`] and [`crate::train::seeds`].

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use crossbeam_channel::{Receiver, Sender};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::config::{Normalize, TrainConfig};
use crate::data::fingerprint::DataFingerprint;
use crate::device::DeviceSpec;
use crate::metrics::EvalReport;
use crate::model::init_from::{InitReport, init_from};
use crate::model::{Classifier, ModelConfig};
use crate::run::{CheckpointReason, RunDir, StopReason, files};
use crate::train::batcher::{Item, Source, gather_pixels, plan_epoch};
use crate::train::checkpoint::RunState;
use crate::train::controls::Control;
use crate::train::events::{LossPoint, Phase, RunInfo, RunSummary, Update};
use crate::train::policy::ramped_weight;
use crate::train::prepare::{PreparedData, class_weights};
use crate::train::pseudo::PseudoLabeller;
use crate::train::publisher::Publisher;
use crate::train::recorder::{LogLengths, Recorder};
use crate::train::selection::SelectionRule;
use crate::train::steps::{Batch, LearningRates, Mixup, new_optimizer, train_step_mixed};
use crate::train::timing::Spent;

mod evaluation;
mod lifecycle;
mod progress;
mod round;

pub use crate::train::checkpoint::{Position, ResumeState};

/// Capacity of the update channel; beyond it lossy updates are dropped, never waited on.
pub const UPDATE_CHANNEL_CAPACITY: usize = 8192;

/// What the engine needs to run.
pub struct EngineInputs {
    /// Effective configuration.
    pub config: TrainConfig,
    /// Loaded data.
    pub data: Arc<PreparedData>,
    /// Resolved device.
    pub device: DeviceSpec,
    /// Where to write the run.
    pub run_dir: RunDir,
}

/// A running engine: send controls, receive updates, join for the summary.
pub struct EngineHandle {
    /// Controls to the trainer.
    pub controls: Sender<Control>,
    /// Updates from the trainer.
    pub updates: Receiver<Update>,
    /// The training thread.
    pub thread: JoinHandle<anyhow::Result<RunSummary>>,
}

/// Starts the training thread.
pub fn spawn(inputs: EngineInputs) -> EngineHandle {
    spawn_with(inputs, None)
}

/// Starts the training thread, continuing from a checkpoint's [`ResumeState`] when given
/// (`inputs.run_dir` must be the run directory it was read from).
pub fn spawn_with(inputs: EngineInputs, resume: Option<ResumeState>) -> EngineHandle {
    let (control_tx, control_rx) = crossbeam_channel::unbounded();
    let (update_tx, update_rx) = crossbeam_channel::bounded(UPDATE_CHANNEL_CAPACITY);
    let thread = std::thread::Builder::new()
        .name("selftrain-trainer".into())
        .spawn(move || {
            let mut publisher = Publisher::new(update_tx);
            let result = match Trainer::new(inputs, control_rx, &mut publisher, resume) {
                Ok(mut trainer) => {
                    let r = trainer.run();
                    if let Err(e) = &r {
                        trainer.recorder.emit(Update::Failed {
                            message: format!("{e:#}"),
                        });
                    }
                    r
                }
                Err(e) => {
                    publisher.publish(Update::Failed {
                        message: format!("{e:#}"),
                    });
                    Err(e)
                }
            };
            publisher.drain(Duration::from_secs(2));
            result
        })
        .expect("spawn training thread");
    EngineHandle {
        controls: control_tx,
        updates: update_rx,
        thread,
    }
}

/// Why the loop stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Interrupt {
    /// The user asked to stop: resumable.
    Stop,
    /// The loss became non-finite: the run fails with this message, keeping the last finite
    /// checkpoint.
    Diverged(String),
}

struct Trainer<'p> {
    cfg: TrainConfig,
    data: Arc<PreparedData>,
    device_name: String,
    device: Device,
    model_config: ModelConfig,
    model: Classifier,
    optimizer: ModuleOptimizer,
    /// The resumable state: a checkpoint saves it whole, a resume puts it back whole.
    run: RunState,
    /// The pseudo-labelling policy (its state goes into `run.labeller` at each checkpoint).
    labeller: Box<dyn PseudoLabeller>,
    /// The selected model (`best.bpk`), when there is one.
    best_model: Option<Classifier>,
    /// The global step at which `best_model` was taken from the training model (unknown after
    /// a resume).
    best_model_step: Option<u64>,
    /// Test evaluations of the training model published at the end of the warm-up and of each
    /// round, by global step: the final report reuses them instead of evaluating the same
    /// weights again (the last round's model and the selected one usually are one of these).
    test_reports: Vec<(u64, EvalReport)>,
    controls: Receiver<Control>,
    recorder: Recorder<'p>,
    run_dir: RunDir,
    class_weights: Vec<f32>,
    round: usize,
    epoch: usize,
    phase: Phase,
    last_progress: Instant,
    throughput: f64,
    prior_wall_secs: f64,
    resumed_at_step: Option<u64>,
    last_checkpoint: Instant,
    /// Step of the last checkpoint written or resumed from (all of them hold finite weights).
    last_checkpoint_step: Option<u64>,
    /// The data this run trains on, recorded with each checkpoint.
    data_fingerprint: DataFingerprint,
    /// Warnings found before the run started (a resume on changed data), emitted after `Started`.
    pending_warnings: Vec<String>,
}

impl<'p> Trainer<'p> {
    fn new(
        inputs: EngineInputs,
        controls: Receiver<Control>,
        publisher: &'p mut Publisher,
        resume: Option<ResumeState>,
    ) -> anyhow::Result<Self> {
        let EngineInputs {
            config: cfg,
            data,
            device: spec,
            run_dir,
        } = inputs;
        let device = crate::device::burn_device(spec).autodiff();
        device.seed(cfg.seed);
        let model_config = ModelConfig::for_kind(
            cfg.model,
            data.shape.channels,
            data.shape.height,
            data.shape.width,
            data.num_classes(),
        )
        .with_dropout(cfg.dropout);
        let model_config = match input_normalisation(&cfg, &data) {
            Some((mean, std)) => model_config
                .with_input_mean(Some(mean))
                .with_input_std(Some(std)),
            None => model_config,
        };
        // A resumed run's weights come from its checkpoint, not from `init_from`.
        let (model, init_report) = if resume.is_some() {
            (model_config.init(&device), None)
        } else {
            initial_model(&model_config, &cfg, &data.classes, &device)?
        };
        let optimizer = new_optimizer(&cfg);
        let class_weights = class_weights(&cfg, &data.train.class_counts(data.num_classes()))?;
        let resume_at = resume.as_ref().map(|r| LogLengths {
            metrics: r.metrics_len,
            events: r.events_len,
        });
        let recorder = Recorder::open(&run_dir, publisher, resume_at)?;
        let data_fingerprint = DataFingerprint::of_sets(
            &cfg.data,
            &data.classes,
            &[&data.train, &data.val],
            &data.test.iter().chain([&data.pool]).collect::<Vec<_>>(),
        );
        let mut trainer = Self {
            run: RunState::new(cfg.threshold, cfg.pseudo_weight),
            labeller: crate::train::pseudo::PolicySpec::from_config(&cfg).build(),
            best_model: None,
            best_model_step: None,
            test_reports: Vec::new(),
            device_name: spec.name(),
            cfg,
            data,
            device,
            model_config,
            model,
            optimizer,
            controls,
            recorder,
            run_dir,
            class_weights,
            round: 0,
            epoch: 0,
            phase: Phase::Starting,
            last_progress: Instant::now() - Duration::from_secs(1),
            throughput: 0.0,
            prior_wall_secs: 0.0,
            resumed_at_step: None,
            last_checkpoint: Instant::now(),
            last_checkpoint_step: None,
            data_fingerprint,
            pending_warnings: init_report.map(|r| r.to_string()).into_iter().collect(),
        };
        if let Some(r) = resume {
            trainer.restore(r)?;
        }
        Ok(trainer)
    }

    /// The step's learning rates at `progress` ∈ [0, 1] of the warm-up or round: the schedule's
    /// rate for the last layer, scaled by `backbone_lr_scale` for the rest, which is frozen in
    /// the first `freeze_backbone_epochs` of the warm-up.
    fn learning_rates(&self, progress: f64) -> LearningRates {
        let rate = self.cfg.lr_schedule.rate(self.cfg.learning_rate, progress);
        let frozen = self.round == 0 && self.epoch <= self.cfg.freeze_backbone_epochs;
        LearningRates {
            head: rate,
            backbone: if frozen {
                0.0
            } else {
                rate * self.cfg.backbone_lr_scale
            },
        }
    }

    fn wall_secs(&self) -> f64 {
        self.prior_wall_secs + self.recorder.elapsed_secs()
    }

    fn run(&mut self) -> anyhow::Result<RunSummary> {
        self.write_run_files()?;
        let data = self.data.clone();
        self.recorder.emit(Update::Started(RunInfo {
            run_dir: self.run_dir.path().display().to_string(),
            device: self.device_name.clone(),
            classes: data.classes.clone(),
            labeled: data.train.len(),
            validation: data.val.len(),
            test: data.test.as_ref().map_or(0, |t| t.len()),
            unlabeled: data.pool.len(),
            labeled_per_class: data.train.class_counts(data.num_classes()),
            pool_has_truth: data.pool_has_truth(),
            rounds: self.cfg.rounds,
            threshold: self.run.controls.threshold,
            pseudo_weight: self.run.controls.pseudo_weight,
            resumed_at_step: self.resumed_at_step,
            policy: Some(self.labeller.spec()),
            outlier_filter: self.cfg.outlier_filter,
        }));
        let mut warnings = std::mem::take(&mut self.pending_warnings);
        if !data.skipped.is_empty() {
            warnings.push(format!(
                "{} unreadable image(s) skipped (see {})",
                data.skipped.len(),
                files::SKIPPED
            ));
        }
        if data.val.is_empty() {
            warnings.push(
                "no validation images: model selection and early stopping use training loss only"
                    .into(),
            );
        }
        if data.pool.is_empty() {
            warnings.push("the unlabelled pool is empty: only supervised training will run".into());
        }
        for message in warnings {
            self.recorder.emit(Update::Warning { message });
        }

        let stop_reason = match self.train_all()? {
            Ok(reason) => {
                self.run.position = Position::Done;
                reason
            }
            Err(Interrupt::Stop) => StopReason::Stopped,
            Err(Interrupt::Diverged(message)) => anyhow::bail!(message),
        };
        self.finish(stop_reason)
    }

    /// Runs warm-up and rounds from `self.run.position`. Outer error: failure; inner error: user
    /// interrupt. Returns why the run ended.
    fn train_all(&mut self) -> anyhow::Result<Result<StopReason, Interrupt>> {
        let (start_round, resume_epoch) = match self.run.position {
            Position::Epoch {
                round,
                epoch,
                steps_done,
            } => (round, Some((epoch, steps_done))),
            Position::RoundStart { round } => (round, None),
            Position::Done => return Ok(Ok(StopReason::Finished)),
        };

        // Warm-up.
        if start_round == 0 {
            self.phase = Phase::WarmUp;
            self.round = 0;
            let labeled = self.labeled_items();
            let (first, skip) = resume_epoch.unwrap_or((1, 0));
            if let Err(i) = self.train_epochs(&labeled, &[], first, skip, self.cfg.warmup_epochs)? {
                return Ok(Err(i));
            }
            self.publish_test_evaluation();
            self.run.position = Position::RoundStart { round: 1 };
            self.save_checkpoint(CheckpointReason::Epoch);
        }

        // Rounds.
        let rule = SelectionRule::of(&self.cfg);
        for round in start_round.max(1)..=self.cfg.rounds {
            if self.data.pool.is_empty() {
                return Ok(Ok(StopReason::EmptyPool));
            }
            self.round = round;
            let mid_round = round == start_round && resume_epoch.is_some();
            let previous_val = self.run.selection.last_val_accuracy;
            let (first, skip) = if mid_round {
                resume_epoch.unwrap_or((1, 0))
            } else {
                self.epoch = 0;
                self.run.position = Position::RoundStart { round };
                if let Err(i) = self.poll_controls() {
                    return Ok(Err(i));
                }
                let newly_accepted = match self.select_pseudo_labels(round)? {
                    Ok(n) => n,
                    Err(i) => return Ok(Err(i)),
                };
                let new_actions = std::mem::take(&mut self.run.pseudo.user_actions_since_round);
                if newly_accepted == 0 && new_actions == 0 {
                    return Ok(Ok(StopReason::NoNewPseudoLabels));
                }
                if self.cfg.reinit_each_round {
                    self.device
                        .seed(crate::train::seeds::reinit(self.cfg.seed, round));
                    self.model = initial_model(
                        &self.model_config,
                        &self.cfg,
                        &self.data.classes,
                        &self.device,
                    )?
                    .0;
                    self.optimizer = new_optimizer(&self.cfg);
                    self.test_reports.clear();
                }
                (1, 0)
            };
            self.phase = Phase::Training;
            let labeled = self.labeled_items();
            let pseudo = self.run.pseudo.items();
            if let Err(i) =
                self.train_epochs(&labeled, &pseudo, first, skip, self.cfg.epochs_per_round)?
            {
                return Ok(Err(i));
            }
            self.run.rounds_completed = round;
            self.publish_test_evaluation();
            let improved = self.run.selection.finish_round(round);
            let val_accuracy = self.run.selection.last_val_accuracy;
            self.recorder.emit(Update::RoundFinished {
                round,
                val_accuracy,
                improved,
            });
            if !self.data.val.is_empty() && val_accuracy < previous_val {
                self.recorder.emit(Update::Warning {
                    message: format!(
                        "validation accuracy fell after round {round}: {:.1}% (was {:.1}%, selected {:.1}%)",
                        val_accuracy * 100.0,
                        previous_val * 100.0,
                        self.run.selection.best_val_accuracy * 100.0
                    ),
                });
            }
            if self.run.selection.patience_exhausted(rule) {
                return Ok(Ok(StopReason::Patience));
            }
            if round < self.cfg.rounds {
                self.run.position = Position::RoundStart { round: round + 1 };
                self.save_checkpoint(CheckpointReason::Epoch);
            }
        }
        Ok(Ok(StopReason::MaxRounds))
    }

    /// Epochs `first..=total` of the current round (the first one skipping `skip` batches done
    /// before a checkpoint), each followed by validation and, but for the last, a checkpoint.
    fn train_epochs(
        &mut self,
        labeled: &[Item],
        pseudo: &[Item],
        first: usize,
        mut skip: usize,
        total: usize,
    ) -> anyhow::Result<Result<(), Interrupt>> {
        for epoch in first..=total {
            self.epoch = epoch;
            if let Err(i) = self.train_epoch(labeled, pseudo, total, skip) {
                return Ok(Err(i));
            }
            skip = 0;
            if let Err(i) = self.end_of_epoch(epoch == total)? {
                return Ok(Err(i));
            }
            if epoch < total {
                self.run.position = Position::Epoch {
                    round: self.round,
                    epoch: epoch + 1,
                    steps_done: 0,
                };
                self.save_checkpoint(CheckpointReason::Epoch);
            }
        }
        Ok(Ok(()))
    }

    fn labeled_items(&self) -> Vec<Item> {
        let mut items = crate::train::batcher::labeled_items(&self.data.train);
        items.extend(
            self.run
                .controls
                .manual_labels
                .iter()
                .map(|&(i, class)| Item::labelled(Source::Pool(i), class)),
        );
        items
    }

    fn train_epoch(
        &mut self,
        labeled: &[Item],
        pseudo: &[Item],
        total_epochs: usize,
        skip: usize,
    ) -> Result<(), Interrupt> {
        let seed = self.cfg.seed;
        let mut epoch_rng = StdRng::seed_from_u64(crate::train::seeds::epoch_plan(
            seed, self.round, self.epoch,
        ));
        let plan = plan_epoch(
            labeled,
            pseudo,
            self.cfg.batch_size,
            self.cfg.min_labeled_share,
            &mut epoch_rng,
        );
        let total_steps = plan.len();
        let data = self.data.clone();
        let augment = self.cfg.augment();
        let pseudo_augment = self.cfg.pseudo_augment(data.shape);
        for (step, batch) in plan.iter().enumerate().skip(skip) {
            self.run.position = Position::Epoch {
                round: self.round,
                epoch: self.epoch,
                steps_done: step,
            };
            self.poll_controls()?;
            let t0 = Instant::now();
            let step_seed = crate::train::seeds::train_step(seed, self.run.global_step);
            let mut step_rng = StdRng::seed_from_u64(step_seed);
            self.device.seed(step_seed);
            let pixels = gather_pixels(
                batch,
                |s| match s {
                    Source::Train(i) => data.train.image(i),
                    Source::Pool(i) => data.pool.image(i),
                },
                data.shape,
                &augment,
                &pseudo_augment,
                &mut step_rng,
            );
            let targets: Vec<usize> = batch.iter().map(|i| i.class).collect();
            let pseudo_weights: Vec<Option<f32>> = batch.iter().map(|i| i.weight).collect();
            let gathered = t0.elapsed().as_secs_f64();
            let lambda = if self.round == 0 {
                0.0
            } else {
                ramped_weight(
                    self.run.controls.pseudo_weight,
                    self.round,
                    self.cfg.pseudo_ramp_rounds,
                )
            };
            // Mixup only in the rounds: the warm-up is the supervised-only reference.
            let mixup = if self.round == 0 {
                None
            } else {
                Mixup::draw(self.cfg.mixup, batch.len(), &mut step_rng)
            };
            let rates = self.learning_rates(
                ((self.epoch.max(1) - 1) as f64 + step as f64 / total_steps.max(1) as f64)
                    / total_epochs.max(1) as f64,
            );
            let model = self.model.clone();
            let (model, losses) = train_step_mixed(
                model,
                &mut self.optimizer,
                Batch {
                    pixels: &pixels,
                    shape: data.shape,
                    targets: &targets,
                    pseudo_weights: &pseudo_weights,
                },
                mixup.as_ref(),
                &self.class_weights,
                lambda,
                rates,
                &self.device,
            );
            self.model = model;
            self.run.global_step += 1;
            let secs = t0.elapsed().as_secs_f64().max(1e-9);
            let mut parts = losses.times;
            parts.batch += gathered;
            let time = &mut self.run.time_breakdown;
            time.add_step(parts);
            time.add(
                if self.round == 0 {
                    Spent::WarmupTraining
                } else {
                    Spent::RoundTraining
                },
                secs,
            );
            let rate = batch.len() as f64 / secs;
            self.throughput = if self.throughput == 0.0 {
                rate
            } else {
                0.9 * self.throughput + 0.1 * rate
            };
            self.recorder.emit(Update::Loss(LossPoint {
                global_step: self.run.global_step,
                round: self.round,
                supervised: losses.supervised,
                pseudo: losses.pseudo,
                total: losses.total,
            }));
            if !losses.total.is_finite() {
                return Err(Interrupt::Diverged(
                    self.divergence_message(&format!("the loss became {}", losses.total)),
                ));
            }
            self.maybe_progress(step + 1, total_steps, total_epochs, false);
        }
        Ok(())
    }

    /// The supervised-only test score: the first test evaluation (end of warm-up).
    fn baseline_test_from_metrics(&self) -> Option<EvalReport> {
        crate::run::read_metrics(&self.run_dir.file(files::METRICS), true)
            .ok()?
            .baseline_test()
            .cloned()
    }
}

/// The same device without autodiff, for inference.
fn valid_device(device: &Device) -> Device {
    device.clone().without_autodiff()
}

/// A fresh model of `config`: random weights, then `init_from`'s when the run names a file.
fn initial_model(
    config: &ModelConfig,
    cfg: &TrainConfig,
    classes: &[String],
    device: &Device,
) -> anyhow::Result<(Classifier, Option<InitReport>)> {
    let model = config.init(device);
    match &cfg.init_from {
        None => Ok((model, None)),
        Some(path) => {
            let (model, report) = init_from(model, config, classes, path)?;
            Ok((model, Some(report)))
        }
    }
}

/// The per-channel mean and standard deviation `cfg.normalize` asks for.
fn input_normalisation(cfg: &TrainConfig, data: &PreparedData) -> Option<(Vec<f32>, Vec<f32>)> {
    const IMAGENET: ([f32; 3], [f32; 3]) = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
    match cfg.normalize {
        Normalize::None => None,
        Normalize::Data => Some(data.train.channel_statistics()),
        Normalize::Imagenet if data.shape.channels == 3 => {
            Some((IMAGENET.0.to_vec(), IMAGENET.1.to_vec()))
        }
        Normalize::Imagenet => {
            let mean = |v: [f32; 3]| vec![v.iter().sum::<f32>() / 3.0];
            Some((mean(IMAGENET.0), mean(IMAGENET.1)))
        }
    }
}
