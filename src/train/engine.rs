//! The self-training loop, on its own thread.
//!
//! 1. Supervised warm-up on the labelled set (round 0).
//! 2. Rounds: predict the unlabelled pool, accept confident predictions as pseudo-labels
//!    (recomputed every round), train on labelled ∪ pseudo-labelled with weight λ on the latter.
//! 3. Stop at the last round, when no new sample is accepted, or when validation accuracy has
//!    not improved for `patience` rounds. The best model by validation accuracy is kept.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::prelude::*;
use burn::store::ModuleRecord;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::config::TrainConfig;
use crate::device::DeviceSpec;
use crate::metrics::EvalReport;
use crate::model::{Cnn, CnnConfig};
use crate::run::{CheckpointReason, JsonlWriter, RunDir, StopReason, csv_field, files};
use crate::train::batcher::{Item, Source, gather_pixels, plan_epoch};
use crate::train::controls::{Control, ControlState};
use crate::train::events::{
    AppliedControl, Evaluation, LossPoint, Phase, PoolPrediction, Progress, PseudoRound, RunInfo,
    RunSummary, Split, Update,
};
use crate::train::policy::{AcceptanceRule, decide, ramped_weight};
use crate::train::prepare::{PreparedData, class_weights};
use crate::train::publisher::Publisher;
use crate::train::steps::{Batch, Mixup, evaluate, predict_pixels, top_k, train_step_mixed};

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
                        trainer.emit(Update::Failed {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interrupt {
    Stop,
}

/// What a run does next, as saved with a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "at", rename_all = "snake_case")]
pub enum Position {
    /// Training epoch `epoch` of `round` (0 = warm-up) with `steps_done` batches already done.
    Epoch {
        /// Round (0 = warm-up).
        round: usize,
        /// Epoch, 1-based.
        epoch: usize,
        /// Batches of that epoch already done.
        steps_done: usize,
    },
    /// Start of round `round`, before its pseudo-labels are chosen.
    RoundStart {
        /// Round, 1-based.
        round: usize,
    },
    /// The run finished: nothing left to do.
    Done,
}

/// Everything beyond the model and optimizer that a resumed run needs (`resume.json`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ResumeState {
    /// Where to continue.
    pub position: Position,
    /// Optimizer steps done.
    pub global_step: u64,
    /// Epochs completed (for progress).
    pub epochs_done: usize,
    /// τ, λ, pause and the inspector's sample actions.
    pub controls: ControlState,
    /// The current round's pseudo-labels: (pool index, class).
    pub pseudo_labels: Vec<(usize, usize)>,
    /// Pool indices accepted in the last selection.
    pub previously_accepted: Vec<usize>,
    /// Sample actions since the last selection.
    pub user_actions_since_round: usize,
    /// Accepted count and accuracy of the last selection.
    pub last_pseudo: Option<(usize, Option<f64>)>,
    /// Validation accuracy at the last evaluation.
    pub last_val_accuracy: f64,
    /// Best validation accuracy so far (-1 when none).
    pub best_val_accuracy: f64,
    /// Its round.
    pub best_round: usize,
    /// Highest validation accuracy of any selection point so far (-1 when none): the reference
    /// of the selection slack. Absent in older checkpoints, where it was `best_val_accuracy`.
    #[serde(default)]
    pub top_val_accuracy: Option<f64>,
    /// Whether `best.bpk` holds a selected model.
    pub has_best: bool,
    /// Rounds since validation accuracy last improved.
    pub rounds_without_improvement: usize,
    /// Rounds completed.
    pub rounds_completed: usize,
    /// Wall time spent before this checkpoint.
    pub wall_secs: f64,
    /// Length of metrics.jsonl at the checkpoint.
    pub metrics_len: u64,
    /// Length of events.jsonl at the checkpoint.
    pub events_len: u64,
    /// Model checkpoint file.
    pub model_file: String,
    /// Optimizer checkpoint file.
    pub optimizer_file: String,
}

impl ResumeState {
    /// Reads `resume.json` of a run directory; errors name the file.
    pub fn load(run_dir: &RunDir) -> anyhow::Result<Self> {
        let path = run_dir.file(files::RESUME);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: no checkpoint to resume from", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: not a valid resume state", path.display()))
    }
}

struct Best {
    val_accuracy: f64,
    round: usize,
    model: Option<Cnn>,
}

struct Trainer<'p> {
    cfg: TrainConfig,
    data: Arc<PreparedData>,
    device_name: String,
    device: Device,
    model_config: CnnConfig,
    model: Cnn,
    optimizer: ModuleOptimizer,
    state: ControlState,
    controls: Receiver<Control>,
    publisher: &'p mut Publisher,
    run_dir: RunDir,
    metrics: JsonlWriter,
    events: JsonlWriter,
    class_weights: Vec<f32>,
    global_step: u64,
    round: usize,
    epoch: usize,
    phase: Phase,
    started: Instant,
    last_progress: Instant,
    throughput: f64,
    epochs_done: usize,
    best: Best,
    /// Highest validation accuracy at any selection point (the reference of the selection
    /// slack; -1 when none).
    top_val_accuracy: f64,
    previous_accepted: Vec<bool>,
    user_actions_since_round: usize,
    last_pseudo: Option<(usize, Option<f64>)>,
    last_val_accuracy: f64,
    position: Position,
    pseudo_items: Vec<Item>,
    rounds_without_improvement: usize,
    rounds_completed: usize,
    prior_wall_secs: f64,
    resumed_from: Option<ResumeState>,
    last_checkpoint: Instant,
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
        let model_config = CnnConfig::new(
            cfg.model,
            data.shape.channels,
            data.shape.height,
            data.shape.width,
            data.num_classes(),
        )
        .with_dropout(cfg.dropout);
        let model = model_config.init(&device);
        let optimizer = new_optimizer(&cfg);
        let class_weights = class_weights(&cfg, &data.train.class_counts(data.num_classes()))?;
        if let Some(r) = &resume {
            // Forget what was logged after the checkpoint: the resumed run redoes it.
            for (name, len) in [
                (files::METRICS, r.metrics_len),
                (files::EVENTS, r.events_len),
            ] {
                let path = run_dir.file(name);
                if path.exists() {
                    crate::run::truncate_to(&path, len)
                        .with_context(|| format!("truncating {}", path.display()))?;
                }
            }
        }
        let metrics = JsonlWriter::append(&run_dir.file(files::METRICS))
            .with_context(|| format!("creating {}", run_dir.file(files::METRICS).display()))?;
        let events = JsonlWriter::append(&run_dir.file(files::EVENTS))
            .with_context(|| format!("creating {}", run_dir.file(files::EVENTS).display()))?;
        let pool = data.pool.len();
        let mut trainer = Self {
            state: ControlState::new(cfg.threshold, cfg.pseudo_weight),
            device_name: spec.name(),
            cfg,
            data,
            device,
            model_config,
            model,
            optimizer,
            controls,
            publisher,
            run_dir,
            metrics,
            events,
            class_weights,
            global_step: 0,
            round: 0,
            epoch: 0,
            phase: Phase::Starting,
            started: Instant::now(),
            last_progress: Instant::now() - Duration::from_secs(1),
            throughput: 0.0,
            epochs_done: 0,
            best: Best {
                val_accuracy: -1.0,
                round: 0,
                model: None,
            },
            top_val_accuracy: -1.0,
            previous_accepted: vec![false; pool],
            user_actions_since_round: 0,
            last_pseudo: None,
            last_val_accuracy: 0.0,
            position: Position::Epoch {
                round: 0,
                epoch: 1,
                steps_done: 0,
            },
            pseudo_items: Vec::new(),
            rounds_without_improvement: 0,
            rounds_completed: 0,
            prior_wall_secs: 0.0,
            resumed_from: None,
            last_checkpoint: Instant::now(),
        };
        if let Some(r) = resume {
            trainer.restore(r)?;
        }
        Ok(trainer)
    }

    /// Loads the last checkpoint's model, optimizer and state.
    fn restore(&mut self, r: ResumeState) -> anyhow::Result<()> {
        if r.position == Position::Done {
            anyhow::bail!(
                "{}: this run already finished; nothing to resume",
                self.run_dir.path().display()
            );
        }
        let load = |name: &str| -> anyhow::Result<burn::tensor::Bytes> {
            let path = self.run_dir.file(name);
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            Ok(burn::tensor::Bytes::from_bytes_vec(bytes))
        };
        let record = ModuleRecord::from_bytes(load(&r.model_file)?)
            .map_err(|e| anyhow::anyhow!("{}: {e}", self.run_dir.file(&r.model_file).display()))?;
        self.model = self
            .model_config
            .init(&self.device)
            .try_load_record(record)
            .map_err(|e| anyhow::anyhow!("{}: {e}", self.run_dir.file(&r.model_file).display()))?;
        self.optimizer = new_optimizer(&self.cfg)
            .from_bytes(load(&r.optimizer_file)?)
            .map_err(|e| {
                anyhow::anyhow!("{}: {e}", self.run_dir.file(&r.optimizer_file).display())
            })?;
        if r.has_best {
            let record = ModuleRecord::from_bytes(load(files::BEST)?).map_err(|e| {
                anyhow::anyhow!("{}: {e}", self.run_dir.file(files::BEST).display())
            })?;
            let best = self
                .model_config
                .init(&self.device)
                .try_load_record(record)
                .map_err(|e| {
                    anyhow::anyhow!("{}: {e}", self.run_dir.file(files::BEST).display())
                })?;
            self.best.model = Some(best.valid());
        }
        let pool = self.data.pool.len();
        let k = self.data.num_classes();
        let in_pool = |i: usize| {
            if i < pool {
                Ok(i)
            } else {
                Err(anyhow::anyhow!(
                    "{}: sample {i} is outside the unlabelled pool ({pool} images): was the data changed?",
                    self.run_dir.file(files::RESUME).display()
                ))
            }
        };
        let mut items = Vec::with_capacity(r.pseudo_labels.len());
        for &(i, class) in &r.pseudo_labels {
            in_pool(i)?;
            if class >= k {
                anyhow::bail!(
                    "{}: class {class} out of range",
                    self.run_dir.file(files::RESUME).display()
                );
            }
            items.push(Item {
                source: Source::Pool(i),
                class,
                pseudo: true,
            });
        }
        self.pseudo_items = items;
        self.previous_accepted = vec![false; pool];
        for &i in &r.previously_accepted {
            self.previous_accepted[in_pool(i)?] = true;
        }
        self.state = r.controls.clone();
        self.state.stop_requested = false;
        self.state.save_requested = false;
        self.state.paused = false;
        self.global_step = r.global_step;
        self.epochs_done = r.epochs_done;
        self.user_actions_since_round = r.user_actions_since_round;
        self.last_pseudo = r.last_pseudo;
        self.last_val_accuracy = r.last_val_accuracy;
        self.best.val_accuracy = r.best_val_accuracy;
        self.top_val_accuracy = r.top_val_accuracy.unwrap_or(r.best_val_accuracy);
        self.best.round = r.best_round;
        self.rounds_without_improvement = r.rounds_without_improvement;
        self.rounds_completed = r.rounds_completed;
        self.prior_wall_secs = r.wall_secs;
        self.position = r.position;
        self.resumed_from = Some(r);
        Ok(())
    }

    fn resume_state(&self) -> anyhow::Result<ResumeState> {
        Ok(ResumeState {
            position: self.position,
            global_step: self.global_step,
            epochs_done: self.epochs_done,
            controls: self.state.clone(),
            pseudo_labels: self
                .pseudo_items
                .iter()
                .filter_map(|it| match it.source {
                    Source::Pool(i) => Some((i, it.class)),
                    Source::Train(_) => None,
                })
                .collect(),
            previously_accepted: self
                .previous_accepted
                .iter()
                .enumerate()
                .filter_map(|(i, a)| a.then_some(i))
                .collect(),
            user_actions_since_round: self.user_actions_since_round,
            last_pseudo: self.last_pseudo,
            last_val_accuracy: self.last_val_accuracy,
            best_val_accuracy: self.best.val_accuracy,
            best_round: self.best.round,
            top_val_accuracy: Some(self.top_val_accuracy),
            has_best: self.best.model.is_some(),
            rounds_without_improvement: self.rounds_without_improvement,
            rounds_completed: self.rounds_completed,
            wall_secs: self.wall_secs(),
            metrics_len: self.metrics.len()?,
            events_len: self.events.len()?,
            model_file: String::new(),
            optimizer_file: String::new(),
        })
    }

    fn wall_secs(&self) -> f64 {
        self.prior_wall_secs + self.started.elapsed().as_secs_f64()
    }

    /// Publishes an update and records it in `metrics.jsonl`.
    fn emit(&mut self, update: Update) {
        #[derive(serde::Serialize)]
        struct Record<'a> {
            elapsed_secs: f64,
            #[serde(flatten)]
            update: &'a Update,
        }
        let record = Record {
            elapsed_secs: self.started.elapsed().as_secs_f64(),
            update: &update,
        };
        if let Err(e) = self.metrics.write(&record) {
            eprintln!("warning: cannot write metrics.jsonl: {e}");
        }
        self.publisher.publish(update);
    }

    fn run(&mut self) -> anyhow::Result<RunSummary> {
        self.write_run_files()?;
        let data = self.data.clone();
        self.emit(Update::Started(RunInfo {
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
            threshold: self.state.threshold,
            pseudo_weight: self.state.pseudo_weight,
            resumed_at_step: self.resumed_from.as_ref().map(|r| r.global_step),
        }));
        if !data.skipped.is_empty() {
            self.emit(Update::Warning {
                message: format!(
                    "{} unreadable image(s) skipped (see {})",
                    data.skipped.len(),
                    files::SKIPPED
                ),
            });
        }
        if data.val.is_empty() {
            self.emit(Update::Warning {
                message: "no validation images: model selection and early stopping use training loss only".into(),
            });
        }
        if data.pool.is_empty() {
            self.emit(Update::Warning {
                message: "the unlabelled pool is empty: only supervised training will run".into(),
            });
        }

        let stop_reason = match self.train_all()? {
            Ok(reason) => {
                self.position = Position::Done;
                reason
            }
            Err(Interrupt::Stop) => StopReason::Stopped,
        };
        self.finish(stop_reason)
    }

    /// Runs warm-up and rounds from `self.position`. Outer error: failure; inner error: user
    /// interrupt. Returns why the run ended.
    fn train_all(&mut self) -> anyhow::Result<Result<StopReason, Interrupt>> {
        let (start_round, resume_epoch) = match self.position {
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
            let (first, mut skip) = resume_epoch.unwrap_or((1, 0));
            for epoch in first..=self.cfg.warmup_epochs {
                self.epoch = epoch;
                if let Err(i) = self.train_epoch(&labeled, &[], self.cfg.warmup_epochs, skip) {
                    return Ok(Err(i));
                }
                skip = 0;
                self.end_of_epoch(epoch == self.cfg.warmup_epochs)?;
                if epoch < self.cfg.warmup_epochs {
                    self.position = Position::Epoch {
                        round: 0,
                        epoch: epoch + 1,
                        steps_done: 0,
                    };
                    self.save_checkpoint(CheckpointReason::Epoch);
                }
            }
            self.publish_test_evaluation();
            self.position = Position::RoundStart { round: 1 };
            self.save_checkpoint(CheckpointReason::Epoch);
        }

        // Rounds.
        for round in start_round.max(1)..=self.cfg.rounds {
            if self.data.pool.is_empty() {
                return Ok(Ok(StopReason::EmptyPool));
            }
            self.round = round;
            let mid_round = round == start_round && resume_epoch.is_some();
            let previous_val = self.last_val_accuracy;
            let (first, mut skip) = if mid_round {
                resume_epoch.unwrap_or((1, 0))
            } else {
                self.epoch = 0;
                self.position = Position::RoundStart { round };
                if let Err(i) = self.poll_controls() {
                    return Ok(Err(i));
                }
                let newly_accepted = self.select_pseudo_labels(round)?;
                let new_actions = std::mem::take(&mut self.user_actions_since_round);
                if newly_accepted == 0 && new_actions == 0 {
                    return Ok(Ok(StopReason::NoNewPseudoLabels));
                }
                if self.cfg.reinit_each_round {
                    self.device
                        .seed(mix_seed(self.cfg.seed, &[3, round as u64]));
                    self.model = self.model_config.init(&self.device);
                    self.optimizer = new_optimizer(&self.cfg);
                }
                (1, 0)
            };
            self.phase = Phase::Training;
            let labeled = self.labeled_items();
            let pseudo = self.pseudo_items.clone();
            for epoch in first..=self.cfg.epochs_per_round {
                self.epoch = epoch;
                if let Err(i) = self.train_epoch(&labeled, &pseudo, self.cfg.epochs_per_round, skip)
                {
                    return Ok(Err(i));
                }
                skip = 0;
                self.end_of_epoch(epoch == self.cfg.epochs_per_round)?;
                if epoch < self.cfg.epochs_per_round {
                    self.position = Position::Epoch {
                        round,
                        epoch: epoch + 1,
                        steps_done: 0,
                    };
                    self.save_checkpoint(CheckpointReason::Epoch);
                }
            }
            self.rounds_completed = round;
            self.publish_test_evaluation();
            let improved = self.best.round == round && self.best.model.is_some();
            let val_accuracy = self.last_val_accuracy;
            self.emit(Update::RoundFinished {
                round,
                val_accuracy,
                improved,
            });
            if improved {
                self.rounds_without_improvement = 0;
            } else {
                self.rounds_without_improvement += 1;
            }
            if !self.data.val.is_empty() && val_accuracy < previous_val {
                self.emit(Update::Warning {
                    message: format!(
                        "validation accuracy fell after round {round}: {:.1}% (was {:.1}%, best {:.1}%)",
                        val_accuracy * 100.0,
                        previous_val * 100.0,
                        self.best.val_accuracy * 100.0
                    ),
                });
            }
            if self.cfg.patience > 0 && self.rounds_without_improvement >= self.cfg.patience {
                return Ok(Ok(StopReason::Patience));
            }
            if round < self.cfg.rounds {
                self.position = Position::RoundStart { round: round + 1 };
                self.save_checkpoint(CheckpointReason::Epoch);
            }
        }
        Ok(Ok(StopReason::MaxRounds))
    }

    fn labeled_items(&self) -> Vec<Item> {
        let mut items = crate::train::batcher::labeled_items(&self.data.train);
        items.extend(self.state.manual_labels.iter().map(|&(i, class)| Item {
            source: Source::Pool(i),
            class,
            pseudo: false,
        }));
        items
    }

    fn train_epoch(
        &mut self,
        labeled: &[Item],
        pseudo: &[Item],
        total_epochs: usize,
        skip: usize,
    ) -> Result<(), Interrupt> {
        // Every random draw is a function of (seed, position): the epoch plan of (round, epoch),
        // augmentation and dropout of the optimizer step. Runs are reproducible, and a run
        // resumed from a checkpoint draws what the uninterrupted run would have drawn.
        let mut epoch_rng = StdRng::seed_from_u64(mix_seed(
            self.cfg.seed,
            &[1, self.round as u64, self.epoch as u64],
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
            self.position = Position::Epoch {
                round: self.round,
                epoch: self.epoch,
                steps_done: step,
            };
            self.poll_controls()?;
            let t0 = Instant::now();
            let step_seed = mix_seed(self.cfg.seed, &[2, self.global_step]);
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
            let is_pseudo: Vec<bool> = batch.iter().map(|i| i.pseudo).collect();
            let lambda = if self.round == 0 {
                0.0
            } else {
                ramped_weight(
                    self.state.pseudo_weight,
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
            let model = self.model.clone();
            let (model, losses) = train_step_mixed(
                model,
                &mut self.optimizer,
                Batch {
                    pixels: &pixels,
                    shape: data.shape,
                    targets: &targets,
                    pseudo: &is_pseudo,
                },
                mixup.as_ref(),
                &self.class_weights,
                lambda,
                self.cfg.lr_schedule.rate(
                    self.cfg.learning_rate,
                    ((self.epoch.max(1) - 1) as f64 + step as f64 / total_steps.max(1) as f64)
                        / total_epochs.max(1) as f64,
                ),
                &self.device,
            );
            self.model = model;
            self.global_step += 1;
            let secs = t0.elapsed().as_secs_f64().max(1e-9);
            let rate = batch.len() as f64 / secs;
            self.throughput = if self.throughput == 0.0 {
                rate
            } else {
                0.9 * self.throughput + 0.1 * rate
            };
            self.emit(Update::Loss(LossPoint {
                global_step: self.global_step,
                round: self.round,
                supervised: losses.supervised,
                pseudo: losses.pseudo,
                total: losses.total,
            }));
            self.maybe_progress(step + 1, total_steps, total_epochs, false);
        }
        Ok(())
    }

    fn maybe_progress(
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
            ((self.epochs_done as f64 + within) / planned_epochs as f64).min(1.0)
        };
        let update = Update::Progress(Progress {
            phase: self.phase,
            round: self.round,
            total_rounds: self.cfg.rounds,
            epoch: self.epoch,
            total_epochs,
            step,
            total_steps,
            global_step: self.global_step,
            images_per_sec: self.throughput,
            elapsed_secs: self.started.elapsed().as_secs_f64(),
            fraction_done,
        });
        // Progress is for live display only: not recorded in metrics.jsonl.
        self.publisher.publish(update);
    }

    /// Applies pending controls; blocks only while paused (still handling controls).
    fn poll_controls(&mut self) -> Result<(), Interrupt> {
        loop {
            while let Ok(control) = self.controls.try_recv() {
                self.apply_control(control);
            }
            if self.state.save_requested {
                self.state.save_requested = false;
                self.save_checkpoint(CheckpointReason::Requested);
            }
            if self.state.stop_requested {
                return Err(Interrupt::Stop);
            }
            if !self.state.paused {
                return Ok(());
            }
            self.publisher.flush();
            match self.controls.recv_timeout(Duration::from_millis(200)) {
                Ok(control) => self.apply_control(control),
                Err(RecvTimeoutError::Timeout) => {}
                // Nobody can resume us: carry on rather than hang.
                Err(RecvTimeoutError::Disconnected) => self.state.paused = false,
            }
        }
    }

    fn apply_control(&mut self, control: Control) {
        let result = self
            .state
            .apply(&control, self.data.pool.len(), self.data.num_classes());
        if result.is_ok()
            && matches!(
                control,
                Control::AcceptSample { .. }
                    | Control::LabelSample { .. }
                    | Control::ExcludeSample { .. }
            )
        {
            self.user_actions_since_round += 1;
        }
        let applied = AppliedControl {
            control,
            global_step: self.global_step,
            round: self.round,
            epoch: self.epoch,
            time: chrono::Local::now().to_rfc3339(),
            error: result.err().map(|e| e.to_string()),
        };
        if let Err(e) = self.events.write(&applied) {
            eprintln!("warning: cannot write events.jsonl: {e}");
        }
        self.emit(Update::ControlApplied(applied));
    }

    /// Evaluates on validation after an epoch. Model selection only considers the end of the
    /// warm-up and of each round (`select`): per-epoch maxima on a small validation set mostly
    /// pick noise. A model is selected when its validation accuracy is within the selection
    /// slack (`selection_tolerance` images or `selection_standard_errors` standard errors,
    /// see [`selects`]) of the highest seen at a selection point: the later model, trained on
    /// more pseudo-labels, wins unless validation says it is clearly worse.
    fn end_of_epoch(&mut self, select: bool) -> anyhow::Result<()> {
        self.epochs_done += 1;
        if self.data.val.is_empty() {
            if select && self.best.model.is_none() {
                self.best.round = self.round;
            }
            return Ok(());
        }
        let valid = self.model.valid();
        let report = evaluate(
            &valid,
            &self.data.val,
            self.data.num_classes(),
            self.cfg.batch_size.max(64),
            &valid_device(&self.device),
        );
        let better = select
            && selects(
                report.accuracy,
                self.top_val_accuracy,
                self.cfg.selection_tolerance,
                self.cfg.selection_standard_errors,
                self.data.val.len(),
            );
        if select {
            self.top_val_accuracy = self.top_val_accuracy.max(report.accuracy);
        }
        self.last_val_accuracy = report.accuracy;
        let accuracy = report.accuracy;
        self.emit(Update::Evaluation(Evaluation {
            global_step: self.global_step,
            round: self.round,
            epoch: self.epoch,
            split: Split::Validation,
            report,
        }));
        if better {
            self.best = Best {
                val_accuracy: accuracy,
                round: self.round,
                model: Some(valid.clone()),
            };
            self.write_model(files::BEST, &valid)?;
            let path = self.run_dir.file(files::BEST).display().to_string();
            self.emit(Update::Checkpoint {
                path,
                reason: CheckpointReason::Best,
                global_step: self.global_step,
            });
        }
        Ok(())
    }

    fn test_report(&self, model: &Cnn) -> Option<EvalReport> {
        let test = self.data.test.as_ref()?;
        Some(evaluate(
            model,
            test,
            self.data.num_classes(),
            self.cfg.batch_size.max(64),
            &valid_device(&self.device),
        ))
    }

    fn publish_test_evaluation(&mut self) {
        let previous = self.phase;
        self.phase = Phase::Evaluating;
        self.maybe_progress(0, 0, 0, true);
        let valid = self.model.valid();
        if let Some(report) = self.test_report(&valid) {
            self.emit(Update::Evaluation(Evaluation {
                global_step: self.global_step,
                round: self.round,
                epoch: self.epoch,
                split: Split::Test,
                report,
            }));
        }
        self.phase = previous;
    }

    /// Predicts the pool and decides this round's pseudo-labels.
    /// Returns how many samples were newly accepted; the pseudo-labels go to `self.pseudo_items`.
    fn select_pseudo_labels(&mut self, round: usize) -> anyhow::Result<usize> {
        self.phase = Phase::Predicting;
        self.maybe_progress(0, 0, 0, true);
        let data = self.data.clone();
        let k = data.num_classes();
        let valid = self.model.valid();
        let mut predictions = predict_pool(
            &valid,
            &data.pool.pixels,
            &data.pool.labels,
            data.shape,
            k,
            inference_batch_size(self.cfg.batch_size),
            self.cfg.hflip,
            &valid_device(&self.device),
        );
        let mut eligible = vec![true; predictions.len()];
        for &i in &self.state.excluded {
            eligible[i] = false;
        }
        for &(i, _) in &self.state.manual_labels {
            eligible[i] = false;
        }
        let rule = AcceptanceRule {
            threshold: self.state.threshold,
            acceptance: self.cfg.acceptance,
            prior: data.train.class_counts(k),
            balance_slack: self.cfg.balance_slack,
        };
        let decision = decide(
            &mut predictions,
            &eligible,
            &self.state.forced_pseudo,
            &rule,
            k,
        );
        let accepted_now: Vec<bool> = decision.labels.iter().map(Option::is_some).collect();
        let newly_accepted = accepted_now
            .iter()
            .zip(&self.previous_accepted)
            .filter(|(now, before)| **now && !**before)
            .count();
        let dropped = accepted_now
            .iter()
            .zip(&self.previous_accepted)
            .filter(|(now, before)| !**now && **before)
            .count();
        self.previous_accepted = accepted_now;
        self.write_pseudo_csv(round, &predictions, &eligible)?;
        let accepted = decision.accepted();
        let items: Vec<Item> = decision
            .labels
            .iter()
            .enumerate()
            .filter_map(|(i, l)| {
                l.map(|class| Item {
                    source: Source::Pool(i),
                    class,
                    pseudo: true,
                })
            })
            .collect();
        // Warning: acceptance collapsing onto few classes.
        if accepted >= 20 && k >= 3 {
            let max = decision.per_class.iter().copied().max().unwrap_or(0);
            let populated = decision.per_class.iter().filter(|c| **c > 0).count();
            if max * 2 > accepted || populated * 2 < k {
                let top = decision
                    .per_class
                    .iter()
                    .enumerate()
                    .max_by_key(|(_, c)| **c)
                    .map(|(i, _)| data.classes[i].clone())
                    .unwrap_or_default();
                self.emit(Update::Warning {
                    message: format!(
                        "round {round}: pseudo-labels collapsing: {populated}/{k} classes accepted, `{top}` takes {:.0}%",
                        max as f64 * 100.0 / accepted as f64
                    ),
                });
            }
        }
        self.last_pseudo = Some((accepted, decision.accepted_accuracy));
        let pool_size = eligible.iter().filter(|e| **e).count();
        self.emit(Update::PseudoLabels(PseudoRound {
            round,
            threshold: self.state.threshold,
            pseudo_weight: self.state.pseudo_weight,
            pool_size,
            accepted,
            newly_accepted,
            dropped,
            accepted_per_class: decision.per_class,
            hist_accepted: decision.hist_accepted,
            hist_rejected: decision.hist_rejected,
            accepted_accuracy: decision.accepted_accuracy,
            predictions: Arc::new(predictions),
        }));
        self.pseudo_items = items;
        Ok(newly_accepted)
    }

    fn write_pseudo_csv(
        &self,
        round: usize,
        predictions: &[PoolPrediction],
        eligible: &[bool],
    ) -> anyhow::Result<()> {
        let classes = &self.data.classes;
        let mut out = String::from(
            "index,file,predicted,confidence,runner_up,runner_up_confidence,truth,status\n",
        );
        for p in predictions {
            let (runner, runner_conf) = p
                .runner_up()
                .map_or((String::new(), String::new()), |(c, v)| {
                    (classes[c].clone(), format!("{v:.6}"))
                });
            let status = if self.state.manual_labels.iter().any(|(i, _)| *i == p.index) {
                "manual_label"
            } else if !eligible[p.index] {
                "excluded"
            } else if self.state.forced_pseudo.iter().any(|(i, _)| *i == p.index) {
                "forced"
            } else if p.accepted {
                "accepted"
            } else {
                "rejected"
            };
            out.push_str(&format!(
                "{},{},{},{:.6},{},{},{},{}\n",
                p.index,
                csv_field(&self.data.pool.files[p.index].display().to_string()),
                csv_field(&classes[p.predicted()]),
                p.confidence(),
                csv_field(&runner),
                runner_conf,
                p.truth.map(|t| csv_field(&classes[t])).unwrap_or_default(),
                status
            ));
        }
        let name = RunDir::pseudo_labels_name(round);
        self.run_dir
            .write(&name, out.as_bytes())
            .with_context(|| format!("writing {}", self.run_dir.file(&name).display()))
    }

    fn write_model(&self, name: &str, model: &Cnn) -> anyhow::Result<()> {
        let bytes = model
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| anyhow::anyhow!("serializing model: {e}"))?;
        self.run_dir
            .write(name, &bytes)
            .with_context(|| format!("writing {}", self.run_dir.file(name).display()))
    }

    /// Saves `last.bpk` and a resumable checkpoint: `ckpt-STEP.bpk` (model),
    /// `ckpt-STEP.optim.bpk` (optimizer) and `resume.json` naming them, written last, so a crash
    /// at any moment leaves a consistent checkpoint. Older `ckpt-*` files are then removed.
    fn save_checkpoint(&mut self, reason: CheckpointReason) {
        let periodic = reason == CheckpointReason::Epoch;
        if periodic
            && self.last_checkpoint.elapsed().as_secs_f64() < self.cfg.checkpoint_every_secs
            && !matches!(self.position, Position::RoundStart { .. })
        {
            return;
        }
        match self.write_checkpoint() {
            Ok(()) => {
                self.last_checkpoint = Instant::now();
                let path = self.run_dir.file(files::LAST).display().to_string();
                self.emit(Update::Checkpoint {
                    path,
                    reason,
                    global_step: self.global_step,
                });
            }
            Err(e) => self.emit(Update::Warning {
                message: format!("checkpoint failed: {e:#}"),
            }),
        }
    }

    fn write_checkpoint(&mut self) -> anyhow::Result<()> {
        let valid = self.model.valid();
        let model_bytes = valid
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| anyhow::anyhow!("serializing model: {e}"))?;
        let optim_bytes = self
            .optimizer
            .into_bytes()
            .map_err(|e| anyhow::anyhow!("serializing optimizer: {e}"))?;
        let model_name = format!("ckpt-{:09}.bpk", self.global_step);
        let optim_name = format!("ckpt-{:09}.optim.bpk", self.global_step);
        for (name, bytes) in [
            (files::LAST, &model_bytes),
            (model_name.as_str(), &model_bytes),
            (optim_name.as_str(), &optim_bytes),
        ] {
            self.run_dir
                .write(name, bytes)
                .with_context(|| format!("writing {}", self.run_dir.file(name).display()))?;
        }
        let mut state = self.resume_state()?;
        state.model_file = model_name.clone();
        state.optimizer_file = optim_name.clone();
        self.run_dir
            .write_json(files::RESUME, &state)
            .with_context(|| format!("writing {}", self.run_dir.file(files::RESUME).display()))?;
        if let Ok(entries) = std::fs::read_dir(self.run_dir.path()) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                if name.starts_with("ckpt-") && name != model_name && name != optim_name {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }

    fn write_run_files(&self) -> anyhow::Result<()> {
        self.run_dir
            .write(files::CONFIG, self.cfg.to_toml().as_bytes())
            .context("writing config.toml")?;
        let model_info = ModelInfo::new(
            self.model_config.clone(),
            self.data.classes.clone(),
            self.data.shape,
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

    fn finish(&mut self, stop_reason: StopReason) -> anyhow::Result<RunSummary> {
        let rounds_completed = self.rounds_completed;
        self.save_checkpoint(if stop_reason.is_interrupted() {
            CheckpointReason::Stop
        } else {
            CheckpointReason::Last
        });
        self.phase = Phase::Evaluating;
        let last_valid = self.model.valid();
        let last_test = self.test_report(&last_valid);
        let best_model = self
            .best
            .model
            .clone()
            .unwrap_or_else(|| last_valid.clone());
        if self.best.model.is_none() {
            self.write_model(files::BEST, &best_model)?;
        }
        let best_test = self.test_report(&best_model);
        let baseline_test = self.baseline_test_from_metrics();
        let (last_accepted, last_accepted_accuracy) = self.last_pseudo.unwrap_or((0, None));
        let summary = RunSummary {
            stop_reason,
            device: self.device_name.clone(),
            rounds_completed,
            global_steps: self.global_step,
            wall_secs: self.wall_secs(),
            best_round: self.best.round,
            best_val_accuracy: self.best.val_accuracy.max(0.0),
            baseline_test,
            best_test,
            last_test,
            last_accepted,
            last_accepted_accuracy,
            final_threshold: self.state.threshold,
            final_pseudo_weight: self.state.pseudo_weight,
            skipped_images: self.data.skipped.len(),
            format_version: crate::run::FORMAT_VERSION,
        };
        self.run_dir
            .write_json(files::SUMMARY, &summary)
            .context("writing summary.json")?;
        self.phase = Phase::Done;
        self.maybe_progress(0, 0, 0, true);
        self.emit(Update::Finished(summary.clone()));
        let _ = self.metrics.sync();
        let _ = self.events.sync();
        Ok(summary)
    }

    /// The supervised-only test score: the first test evaluation (end of warm-up).
    fn baseline_test_from_metrics(&self) -> Option<EvalReport> {
        crate::run::read_metrics(&self.run_dir.file(files::METRICS), true)
            .ok()?
            .baseline_test()
            .cloned()
    }
}

/// `model.json`, defined with the other run-directory records.
pub use crate::run::ModelInfo;

fn new_optimizer(cfg: &TrainConfig) -> ModuleOptimizer {
    let mut adam = AdamConfig::new();
    if cfg.weight_decay > 0.0 {
        adam = adam.with_weight_decay(Some(WeightDecayConfig::new(cfg.weight_decay as f32)));
    }
    adam.init()
}

/// Whether model selection picks a model of validation accuracy `accuracy` when the highest seen
/// at a selection point so far is `top` (-1 when none): it may be below `top` by at most
/// `tolerance` images of the `val_len`-image validation set, or by `standard_errors` standard
/// errors of `top` (√(top·(1−top)/val_len)), whichever is larger. Ties go to the new (later)
/// model: a drop within the split's noise is no evidence against the model that has learnt
/// from more pseudo-labels.
pub fn selects(
    accuracy: f64,
    top: f64,
    tolerance: usize,
    standard_errors: f64,
    val_len: usize,
) -> bool {
    if top < 0.0 {
        return true;
    }
    let n = val_len.max(1) as f64;
    let standard_error = (top * (1.0 - top) / n).max(0.0).sqrt();
    let slack = (tolerance as f64 / n).max(standard_errors * standard_error);
    // Half an image of margin absorbs floating-point rounding of the accuracies.
    accuracy + 0.5 / n >= top - slack
}

/// Batch size of the pseudo-labelling pass for a training batch size: at least 256.
pub fn inference_batch_size(train_batch_size: usize) -> usize {
    train_batch_size.max(256)
}

/// The prediction half of a pseudo-labelling pass: predicts `truth.len()` contiguous CHW
/// images of `shape` (a prefix of the pool, or all of it) with `model` (in validation mode, on a
/// device without autodiff) and returns one [`PoolPrediction`] per image, in order, holding its
/// top-3 classes and hidden truth. With `mirror` (for models trained with horizontal flips) the
/// probabilities are the mean over each image and its mirror image, a test-time augmentation
/// that makes pseudo-labels more accurate. [`decide`] then chooses the pseudo-labels.
#[allow(clippy::too_many_arguments)]
pub fn predict_pool(
    model: &Cnn,
    pixels: &[u8],
    truth: &[Option<usize>],
    shape: crate::data::ImageShape,
    num_classes: usize,
    batch_size: usize,
    mirror: bool,
    device: &Device,
) -> Vec<PoolPrediction> {
    let n = truth.len();
    let len = shape.len();
    let batch_size = batch_size.max(1);
    let mut probs = Vec::with_capacity(n * num_classes);
    // Batch by batch, so the mirror images never take more than one batch of memory.
    for start in (0..n).step_by(batch_size) {
        let end = (start + batch_size).min(n);
        let part = &pixels[start * len..end * len];
        let mut batch = predict_pixels(model, part, end - start, shape, batch_size, device);
        if mirror {
            let mirrored = crate::data::augment::mirror_rows(part, shape.width);
            let other = predict_pixels(model, &mirrored, end - start, shape, batch_size, device);
            for (p, q) in batch.iter_mut().zip(other) {
                *p = 0.5 * (*p + q);
            }
        }
        probs.extend(batch);
    }
    probs
        .chunks(num_classes)
        .enumerate()
        .map(|(index, row)| PoolPrediction {
            index,
            top: top_k(row, 3),
            truth: truth[index],
            accepted: false,
        })
        .collect()
}

/// Derives an independent seed from a base seed and a position (SplitMix64 finaliser).
pub fn mix_seed(seed: u64, position: &[u64]) -> u64 {
    let mut h = seed ^ 0x9E37_79B9_7F4A_7C15;
    for &p in position {
        h = h.wrapping_add(p).wrapping_add(0x9E37_79B9_7F4A_7C15);
        h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        h ^= h >> 31;
    }
    h
}

/// The same device without autodiff, for inference.
fn valid_device(device: &Device) -> Device {
    device.clone().without_autodiff()
}

#[cfg(test)]
mod tests {
    use super::selects;

    #[test]
    fn selection_prefers_later_models_within_the_tolerance() {
        // 20 validation images: one image is 5 points. No standard-error slack here.
        assert!(
            selects(0.5, -1.0, 0, 0.0, 20),
            "the first model is always selected"
        );
        assert!(
            selects(0.95, 0.95, 0, 0.0, 20),
            "ties go to the later model"
        );
        assert!(
            !selects(0.90, 0.95, 0, 0.0, 20),
            "no tolerance: one image worse loses"
        );
        assert!(selects(0.90, 0.95, 1, 0.0, 20), "one image of tolerance");
        assert!(!selects(0.85, 0.95, 1, 0.0, 20), "two images worse loses");
        assert!(selects(0.85, 0.95, 2, 0.0, 20));
        // 80 images: one image is 1.25 points; rounding noise never flips a tie.
        assert!(selects(0.8875 - 1e-12, 0.9, 1, 0.0, 80));
        assert!(!selects(0.875, 0.9, 1, 0.0, 80));
    }

    #[test]
    fn selection_slack_grows_with_the_standard_error_of_the_validation_split() {
        // 80 images at 80%: one standard error is √(0.8·0.2/80) = 4.47 points, 3.6 images.
        assert!(
            selects(0.7625, 0.8, 1, 1.0, 80),
            "3 images below: within 1 SE"
        );
        assert!(
            !selects(0.7375, 0.8, 1, 1.0, 80),
            "5 images below: beyond 1 SE"
        );
        assert!(selects(0.7375, 0.8, 1, 2.0, 80), "within 2 SE");
        // A perfect score has no standard error: the image tolerance still applies.
        assert!(selects(0.95, 1.0, 1, 1.0, 20));
        assert!(!selects(0.90, 1.0, 1, 1.0, 20));
        // More images, smaller slack: 2,000 images at 90% → 0.67 points.
        assert!(selects(0.894, 0.9, 1, 1.0, 2000));
        assert!(!selects(0.89, 0.9, 1, 1.0, 2000));
    }
}
