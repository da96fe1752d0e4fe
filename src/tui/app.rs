//! The dashboard state: pure, no I/O. Updates from the trainer and keys from the user go in
//! ([`App::on_update`], [`App::on_key`]); controls for the trainer come out as [`Action`]s.

use std::collections::BTreeMap;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::run::CheckpointReason;
use crate::train::Control;
use crate::train::events::{
    AppliedControl, Evaluation, PoolPrediction, Progress, PseudoRound, RunInfo, RunSummary, Split,
    Update,
};
use crate::train::policy::{AcceptanceRule, decide, what_if};
use crate::tui::images::PoolImages;
use crate::tui::loss::LossHistory;

/// Small τ step (`[` / `]`).
pub const THRESHOLD_STEP: f32 = 0.01;
/// Large τ step (`{` / `}`, i.e. with shift).
pub const THRESHOLD_BIG_STEP: f32 = 0.05;
/// Small λ step (`-` / `=`).
pub const WEIGHT_STEP: f32 = 0.05;
/// Large λ step (`_` / `+`, i.e. with shift).
pub const WEIGHT_BIG_STEP: f32 = 0.25;
/// Largest λ the keys dial in.
pub const MAX_WEIGHT: f32 = 10.0;
/// Event-log entries kept.
pub const LOG_CAPACITY: usize = 1000;
/// Rows moved by PageUp / PageDown in the inspector.
pub const PAGE: usize = 10;

/// Whether the dashboard drives a run or only shows one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Attached to a running trainer: controls are sent.
    Live,
    /// Replaying a run directory: controls are disabled.
    ReadOnly,
}

/// What the event loop must do after a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send a control to the trainer.
    Send(Control),
    /// Leave the dashboard now.
    Quit,
}

/// The full-screen view shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Status, charts, confusion matrix, pseudo-labels, event log.
    Dashboard,
    /// The pseudo-label inspector.
    Inspector,
}

/// A dashboard panel; `tab` moves the focus through them in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    /// Loss chart.
    Loss,
    /// Accuracy chart.
    Accuracy,
    /// Confusion matrix and per-class scores.
    Confusion,
    /// Pseudo-label statistics.
    Pseudo,
    /// Event log.
    Events,
}

impl Panel {
    /// Every panel, in focus order.
    pub const ALL: [Panel; 5] = [
        Panel::Loss,
        Panel::Accuracy,
        Panel::Confusion,
        Panel::Pseudo,
        Panel::Events,
    ];

    /// Short name (tab label).
    pub fn title(self) -> &'static str {
        match self {
            Panel::Loss => "Loss",
            Panel::Accuracy => "Accuracy",
            Panel::Confusion => "Confusion",
            Panel::Pseudo => "Pseudo-labels",
            Panel::Events => "Events",
        }
    }

    fn position(self) -> usize {
        Self::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    /// The next panel in focus order (wrapping).
    pub fn next(self) -> Panel {
        Self::ALL[(self.position() + 1) % Self::ALL.len()]
    }

    /// The previous panel in focus order (wrapping).
    pub fn prev(self) -> Panel {
        Self::ALL[(self.position() + Self::ALL.len() - 1) % Self::ALL.len()]
    }
}

/// Which steps the loss chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossWindow {
    /// The most recent steps.
    Recent,
    /// The whole run (averaged into buckets).
    Whole,
}

/// Where an unlabelled sample stood in the latest round's pseudo-labelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleStatus {
    /// Accepted by the policy.
    Accepted,
    /// Below τ (or over its class quota).
    Rejected,
    /// Accepted because the user accepted it.
    Forced,
    /// Given a manual label by the user (now in the labelled set).
    ManualLabel,
    /// Excluded by the user as an outlier.
    Excluded,
}

impl SampleStatus {
    /// Parses the `status` column of `pseudo_labels_round_NNN.csv`.
    pub fn from_csv(text: &str) -> Option<Self> {
        Some(match text {
            "accepted" => Self::Accepted,
            "rejected" => Self::Rejected,
            "forced" => Self::Forced,
            "manual_label" => Self::ManualLabel,
            "excluded" => Self::Excluded,
            _ => return None,
        })
    }

    /// Human-readable name.
    pub fn label(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Forced => "accepted by you",
            Self::ManualLabel => "labelled by you",
            Self::Excluded => "excluded",
        }
    }

    /// Whether the sample is a pseudo-label this round.
    pub fn is_accepted(self) -> bool {
        matches!(self, Self::Accepted | Self::Forced)
    }
}

/// What the user asked for a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleAction {
    /// Accept as a pseudo-label of this class.
    Accept(usize),
    /// Give it this label (joins the labelled set).
    Label(usize),
    /// Exclude as an outlier.
    Exclude,
}

/// Where a sample action stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkState {
    /// Sent, not yet acknowledged by the trainer.
    Sent,
    /// Acknowledged; takes effect at the next round's selection.
    Applied {
        /// Round during which the trainer recorded it.
        round: usize,
        /// Optimizer step at which it was recorded.
        global_step: u64,
    },
    /// The trainer refused it.
    Refused(String),
}

/// A sample action and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleMark {
    /// The action.
    pub action: SampleAction,
    /// Its state.
    pub state: MarkState,
}

/// Extra facts about one pool prediction, parallel to [`App::predictions`].
#[derive(Debug, Clone, PartialEq)]
pub struct SampleInfo {
    /// File name (relative to the data root), or `#index` when unknown.
    pub file: String,
    /// Status in the round the predictions come from.
    pub status: SampleStatus,
}

/// The run's pseudo-label acceptance policy (from its configuration), so the what-if line can
/// apply it exactly; without it the plain threshold rule is used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Acceptance rule.
    pub acceptance: crate::config::Acceptance,
    /// Class-balance slack.
    pub balance_slack: f32,
}

impl From<&crate::config::TrainConfig> for Policy {
    fn from(c: &crate::config::TrainConfig) -> Self {
        Self {
            acceptance: c.acceptance,
            balance_slack: c.balance_slack,
        }
    }
}

/// The what-if line: what a threshold would accept on the latest predictions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WhatIf {
    /// The threshold dialled in.
    pub threshold: f32,
    /// Samples it would accept.
    pub accepted: usize,
    /// Of those, how many have known hidden truth.
    pub known: usize,
    /// Of those, how many are correct.
    pub correct: usize,
    /// Predictions considered.
    pub pool: usize,
}

/// One round's pseudo-labelling figures.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundStats {
    /// Round (1-based).
    pub round: usize,
    /// τ used.
    pub threshold: f32,
    /// Eligible pool size.
    pub pool_size: usize,
    /// Accepted samples.
    pub accepted: usize,
    /// Accuracy of accepted samples against hidden truth.
    pub accepted_accuracy: Option<f64>,
    /// Optimizer step when the round's selection happened.
    pub global_step: u64,
}

impl RoundStats {
    /// Accepted share of the pool.
    pub fn rate(&self) -> f64 {
        if self.pool_size == 0 {
            0.0
        } else {
            self.accepted as f64 / self.pool_size as f64
        }
    }
}

/// Kind of an event-log entry (sets its colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Run facts.
    Info,
    /// A control applied.
    Control,
    /// Round and checkpoint milestones.
    Round,
    /// Something to look at.
    Warning,
    /// A failure or refusal.
    Error,
}

/// One line of the event log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// Round when it happened, when known.
    pub round: Option<usize>,
    /// Optimizer step when it happened, when known.
    pub step: Option<u64>,
    /// Kind.
    pub level: LogLevel,
    /// Text.
    pub text: String,
}

/// Which inspector list is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InspectorList {
    /// Rejected samples, most confident (nearest τ) first.
    Rejected,
    /// Accepted samples, least confident (nearest τ) first.
    Accepted,
}

/// State of the pseudo-label inspector.
#[derive(Debug, Clone, PartialEq)]
pub struct InspectorState {
    /// List shown.
    pub list: InspectorList,
    /// Only samples predicted as this class.
    pub class_filter: Option<usize>,
    /// Indices into [`App::predictions`] of the rows shown, in order.
    pub rows: Vec<usize>,
    /// Selected row.
    pub selected: usize,
    /// First row drawn (kept by the drawing code so the selection stays visible).
    pub offset: usize,
    /// The label picker, open with this class highlighted.
    pub picker: Option<usize>,
    /// Draw colour images in grey.
    pub grey: bool,
}

impl Default for InspectorState {
    fn default() -> Self {
        Self {
            list: InspectorList::Rejected,
            class_filter: None,
            rows: Vec::new(),
            selected: 0,
            offset: 0,
            picker: None,
            grey: false,
        }
    }
}

/// Everything the dashboard shows and how it is being looked at.
#[derive(Debug)]
pub struct App {
    /// Live or read-only.
    pub mode: Mode,
    /// Run facts (from `Started`).
    pub info: Option<RunInfo>,
    /// Latest progress.
    pub progress: Option<Progress>,
    /// Run directory or title shown in read-only mode.
    pub source: Option<String>,
    /// Latest optimizer step seen in any update.
    pub global_step: u64,
    /// Loss history.
    pub loss: LossHistory,
    /// Validation accuracy per evaluation: `(global_step, accuracy)`.
    pub val_points: Vec<(f64, f64)>,
    /// Test accuracy per evaluation: `(global_step, accuracy)`.
    pub test_points: Vec<(f64, f64)>,
    /// Accuracy of accepted pseudo-labels per round: `(global_step, accuracy)`.
    pub pseudo_points: Vec<(f64, f64)>,
    /// Test accuracy of the supervised-only model (round 0).
    pub baseline: Option<f64>,
    /// Latest validation evaluation.
    pub last_val: Option<Evaluation>,
    /// Latest test evaluation.
    pub last_test: Option<Evaluation>,
    /// Pseudo-labelling figures per round.
    pub rounds: Vec<RoundStats>,
    /// The latest round's pseudo-labelling (its predictions may be empty in read-only mode).
    pub pseudo: Option<PseudoRound>,
    /// The latest predictions on the pool (what the inspector and the what-if line use).
    pub predictions: Arc<Vec<PoolPrediction>>,
    /// File and status of each prediction.
    pub samples: Vec<SampleInfo>,
    /// Round the predictions come from.
    pub predictions_round: usize,
    /// τ in force (acknowledged by the trainer).
    pub threshold: f32,
    /// τ sent and not yet acknowledged.
    pub pending_threshold: Option<f32>,
    /// τ dialled for the what-if line only (controls disabled).
    pub preview_threshold: Option<f32>,
    /// λ in force.
    pub pseudo_weight: f32,
    /// λ sent and not yet acknowledged.
    pub pending_weight: Option<f32>,
    /// Whether the trainer is paused.
    pub paused: bool,
    /// Pause state asked for and not yet acknowledged.
    pub pending_pause: Option<bool>,
    /// A checkpoint was requested and not yet written.
    pub checkpoint_pending: bool,
    /// The what-if line.
    pub what_if: Option<WhatIf>,
    /// User sample actions by pool index.
    pub marks: BTreeMap<usize, SampleMark>,
    /// Event log, oldest first.
    pub log: Vec<LogEntry>,
    /// Final summary, once finished.
    pub finished: Option<RunSummary>,
    /// Failure message, if the run failed.
    pub failed: Option<String>,
    /// Whether the update channel (or file) has ended.
    pub disconnected: bool,
    /// Stop was sent; waiting for the trainer to finish.
    pub stopping: bool,
    /// The event loop must exit.
    pub exit: bool,
    /// Exit by itself when the run finishes (benchmarks).
    pub exit_on_finish: bool,
    /// Screen shown.
    pub screen: Screen,
    /// Focused panel (shown alone when the panels become tabs).
    pub focus: Panel,
    /// Help overlay shown.
    pub show_help: bool,
    /// Quit confirmation shown.
    pub confirm_quit: bool,
    /// Loss chart window.
    pub loss_window: LossWindow,
    /// Confusion matrix shows row-normalised percentages.
    pub confusion_normalised: bool,
    /// Split shown in the confusion panel.
    pub confusion_split: Split,
    /// Event log scrolled this many entries up from the newest.
    pub events_scroll: usize,
    /// Inspector state.
    pub inspector: InspectorState,
    /// The run's acceptance policy, when known.
    pub policy: Option<Policy>,
    /// Pixels of the pool, to draw the selected sample.
    pub images: Option<PoolImages>,
    /// Why images cannot be drawn (read-only mode).
    pub image_note: Option<String>,
    /// One-line feedback shown in the key bar until the next key.
    pub flash: Option<String>,
    /// Seconds on the injected clock (see [`App::on_tick`]).
    pub clock: f64,
    /// Elapsed run seconds at the latest progress update.
    pub elapsed_secs: f64,
    /// Clock value when `elapsed_secs` was taken.
    pub elapsed_base: f64,
}

fn round2(v: f32) -> f32 {
    (v * 100.0).round() / 100.0
}

fn same(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-4
}

impl App {
    /// A fresh state.
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            info: None,
            progress: None,
            source: None,
            global_step: 0,
            loss: LossHistory::default(),
            val_points: Vec::new(),
            test_points: Vec::new(),
            pseudo_points: Vec::new(),
            baseline: None,
            last_val: None,
            last_test: None,
            rounds: Vec::new(),
            pseudo: None,
            predictions: Arc::new(Vec::new()),
            samples: Vec::new(),
            predictions_round: 0,
            threshold: 0.0,
            pending_threshold: None,
            preview_threshold: None,
            pseudo_weight: 0.0,
            pending_weight: None,
            paused: false,
            pending_pause: None,
            checkpoint_pending: false,
            what_if: None,
            marks: BTreeMap::new(),
            log: Vec::new(),
            finished: None,
            failed: None,
            disconnected: false,
            stopping: false,
            exit: false,
            exit_on_finish: false,
            screen: Screen::Dashboard,
            focus: Panel::Loss,
            show_help: false,
            confirm_quit: false,
            loss_window: LossWindow::Recent,
            confusion_normalised: false,
            confusion_split: Split::Validation,
            events_scroll: 0,
            inspector: InspectorState::default(),
            policy: None,
            images: None,
            image_note: None,
            flash: None,
            clock: 0.0,
            elapsed_secs: 0.0,
            elapsed_base: 0.0,
        }
    }

    /// Class names (empty before `Started`).
    pub fn classes(&self) -> &[String] {
        self.info.as_ref().map_or(&[], |i| i.classes.as_slice())
    }

    /// Name of class `c` (its number when unknown).
    pub fn class_name(&self, c: usize) -> String {
        self.classes()
            .get(c)
            .cloned()
            .unwrap_or_else(|| c.to_string())
    }

    /// Whether the run has ended (finished, failed or the trainer is gone).
    pub fn ended(&self) -> bool {
        self.finished.is_some() || self.failed.is_some() || self.disconnected
    }

    /// Whether keys may send controls to the trainer.
    pub fn controls_enabled(&self) -> bool {
        self.mode == Mode::Live && !self.ended() && !self.stopping
    }

    /// The τ the user is dialling in (pending or preview), else the one in force.
    pub fn dialled_threshold(&self) -> f32 {
        self.preview_threshold
            .or(self.pending_threshold)
            .unwrap_or(self.threshold)
    }

    /// The λ the user is dialling in, else the one in force.
    pub fn dialled_weight(&self) -> f32 {
        self.pending_weight.unwrap_or(self.pseudo_weight)
    }

    /// Advances the injected clock (seconds since the dashboard started); returns whether the
    /// displayed elapsed time changed (so a redraw is due).
    pub fn on_tick(&mut self, clock: f64) -> bool {
        let before = self.elapsed().floor();
        self.clock = clock;
        self.elapsed().floor() != before
    }

    fn running(&self) -> bool {
        self.progress.is_some() && !self.paused && !self.ended()
    }

    /// Elapsed run seconds as displayed (advanced by the clock between progress updates).
    pub fn elapsed(&self) -> f64 {
        if self.progress.is_some() && !self.ended() {
            self.elapsed_secs + (self.clock - self.elapsed_base).max(0.0)
        } else {
            self.elapsed_secs
        }
    }

    /// Estimated seconds left, from the progress fraction.
    pub fn eta(&self) -> Option<f64> {
        let p = self.progress.as_ref()?;
        if self.ended() || p.fraction_done < 0.001 || p.fraction_done >= 1.0 {
            return None;
        }
        let left = p.elapsed_secs * (1.0 - p.fraction_done) / p.fraction_done;
        let since = if self.running() {
            (self.clock - self.elapsed_base).max(0.0)
        } else {
            0.0
        };
        Some((left - since).max(0.0))
    }

    fn push_log(&mut self, level: LogLevel, round: Option<usize>, step: Option<u64>, text: String) {
        self.log.push(LogEntry {
            round,
            step,
            level,
            text,
        });
        if self.log.len() > LOG_CAPACITY {
            let extra = self.log.len() - LOG_CAPACITY;
            self.log.drain(..extra);
        }
    }

    fn current_round(&self) -> Option<usize> {
        self.progress.as_ref().map(|p| p.round)
    }

    /// Applies one update from the trainer (or from a replayed file).
    pub fn on_update(&mut self, update: Update) {
        match update {
            Update::Started(info) => {
                self.threshold = info.threshold;
                self.pseudo_weight = info.pseudo_weight;
                let text = format!(
                    "run started on {}: {} classes, {} labelled, {} validation, {} test, {} unlabelled",
                    info.device,
                    info.classes.len(),
                    info.labeled,
                    info.validation,
                    info.test,
                    info.unlabeled
                );
                self.info = Some(info);
                self.push_log(LogLevel::Info, Some(0), None, text);
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
                    self.checkpoint_pending = false;
                }
                if reason != CheckpointReason::Best {
                    let name = std::path::Path::new(&path)
                        .file_name()
                        .map_or(path.clone(), |n| n.to_string_lossy().into_owned());
                    self.push_log(
                        LogLevel::Round,
                        self.current_round(),
                        Some(global_step),
                        format!("checkpoint saved ({reason}): {name}"),
                    );
                }
            }
            Update::RoundFinished {
                round,
                val_accuracy,
                improved,
            } => {
                let best = if improved { ", new best" } else { "" };
                self.push_log(
                    LogLevel::Round,
                    Some(round),
                    Some(self.global_step),
                    format!(
                        "round {round} finished: validation accuracy {:.1}%{best}",
                        val_accuracy * 100.0
                    ),
                );
            }
            Update::Warning { message } => {
                self.push_log(
                    LogLevel::Warning,
                    self.current_round(),
                    Some(self.global_step),
                    message,
                );
            }
            Update::Finished(summary) => {
                let pct = |r: &Option<crate::metrics::EvalReport>| {
                    r.as_ref()
                        .map_or("n/a".to_string(), |r| format!("{:.1}%", r.accuracy * 100.0))
                };
                let text = format!(
                    "finished ({}): {} rounds; test accuracy supervised-only {}, best (round {}) {}, last {}",
                    summary.stop_reason,
                    summary.rounds_completed,
                    pct(&summary.baseline_test),
                    summary.best_round,
                    pct(&summary.best_test),
                    pct(&summary.last_test)
                );
                self.elapsed_secs = summary.wall_secs;
                self.global_step = self.global_step.max(summary.global_steps);
                self.push_log(LogLevel::Round, None, Some(summary.global_steps), text);
                self.finished = Some(summary);
                self.settle_pending();
                if self.mode == Mode::Live && (self.stopping || self.exit_on_finish) {
                    self.exit = true;
                }
            }
            Update::Failed { message } => {
                self.push_log(LogLevel::Error, None, None, format!("failed: {message}"));
                self.failed = Some(message);
                self.settle_pending();
                if self.mode == Mode::Live && (self.stopping || self.exit_on_finish) {
                    self.exit = true;
                }
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
            self.push_log(LogLevel::Error, None, None, message.clone());
            self.failed = Some(message);
        }
        self.settle_pending();
        if self.mode == Mode::Live && (self.stopping || self.exit_on_finish) {
            self.exit = true;
        }
    }

    /// Nothing pending can be acknowledged any more.
    fn settle_pending(&mut self) {
        self.pending_threshold = None;
        self.pending_weight = None;
        self.pending_pause = None;
        self.checkpoint_pending = false;
        self.paused = false;
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
        let quality = p
            .accepted_accuracy
            .map(|a| format!(", {:.1}% correct", a * 100.0))
            .unwrap_or_default();
        self.push_log(
            LogLevel::Round,
            Some(p.round),
            Some(self.global_step),
            format!(
                "round {}: accepted {}/{} pseudo-labels at τ={:.2} (+{} new, -{} dropped{quality})",
                p.round, p.accepted, p.pool_size, p.threshold, p.newly_accepted, p.dropped
            ),
        );
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
                    status: self.live_status(pred),
                })
                .collect();
            self.set_predictions(p.round, predictions, samples);
        }
        self.pseudo = Some(p);
    }

    /// Status of a live prediction, from `accepted` and the user's applied actions.
    fn live_status(&self, pred: &PoolPrediction) -> SampleStatus {
        let applied = |m: &SampleMark| matches!(m.state, MarkState::Applied { .. });
        match self.marks.get(&pred.index).filter(|m| applied(m)) {
            Some(SampleMark {
                action: SampleAction::Accept(_),
                ..
            }) if pred.accepted => SampleStatus::Forced,
            Some(SampleMark {
                action: SampleAction::Label(_),
                ..
            }) => SampleStatus::ManualLabel,
            Some(SampleMark {
                action: SampleAction::Exclude,
                ..
            }) => SampleStatus::Excluded,
            _ if pred.accepted => SampleStatus::Accepted,
            _ => SampleStatus::Rejected,
        }
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
            self.push_log(
                LogLevel::Error,
                round,
                step,
                format!("refused {}: {err}", self.describe(&c.control)),
            );
        }
        let ok = c.error.is_none();
        if ok && c.control == Control::Stop && self.mode == Mode::Live {
            // A stop from outside the dashboard (SIGTERM, SIGHUP when the terminal goes away)
            // also ends it once the trainer has finished.
            self.stopping = true;
        }
        match c.control {
            Control::SetThreshold { value } => {
                if ok {
                    self.threshold = value;
                }
                if self.pending_threshold.is_some_and(|p| same(p, value)) {
                    self.pending_threshold = None;
                }
                if ok && self.pending_threshold.is_none() && self.preview_threshold.is_none() {
                    self.recompute_what_if();
                }
            }
            Control::SetPseudoWeight { value } => {
                if ok {
                    self.pseudo_weight = value;
                }
                if self.pending_weight.is_some_and(|p| same(p, value)) {
                    self.pending_weight = None;
                }
            }
            Control::Pause => {
                self.paused = true;
                if self.pending_pause == Some(true) {
                    self.pending_pause = None;
                }
            }
            Control::Resume => {
                self.paused = false;
                if self.pending_pause == Some(false) {
                    self.pending_pause = None;
                }
            }
            // A replayed stop (read-only) is history, not a reason to leave.
            Control::Stop => self.stopping = self.mode == Mode::Live,
            Control::SaveCheckpoint => {}
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
            self.push_log(LogLevel::Control, round, step, text);
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
    }

    /// A control in words.
    pub fn describe(&self, control: &Control) -> String {
        match control {
            Control::SetThreshold { value } => format!("τ set to {value:.2}"),
            Control::SetPseudoWeight { value } => format!("λ set to {value:.2}"),
            Control::Pause => "paused".into(),
            Control::Resume => "resumed".into(),
            Control::Stop => "stop requested".into(),
            Control::SaveCheckpoint => "checkpoint requested".into(),
            Control::AcceptSample { index, class } => format!(
                "sample #{index} accepted as `{}` (applies next round)",
                self.class_name(*class)
            ),
            Control::LabelSample { index, class } => format!(
                "sample #{index} labelled `{}` (applies next round)",
                self.class_name(*class)
            ),
            Control::ExcludeSample { index } => {
                format!("sample #{index} excluded (applies next round)")
            }
        }
    }

    /// What the run's own acceptance policy would accept at `threshold` on the latest
    /// predictions (user exclusions, manual labels and acceptances taken into account):
    /// `(accepted, known, correct)`.
    fn what_if_with_policy(
        &self,
        policy: &Policy,
        info: &RunInfo,
        threshold: f32,
    ) -> (usize, usize, usize) {
        let mut predictions = (*self.predictions).clone();
        let eligible: Vec<bool> = self
            .samples
            .iter()
            .map(|s| !matches!(s.status, SampleStatus::Excluded | SampleStatus::ManualLabel))
            .collect();
        let forced: Vec<(usize, usize)> = self
            .samples
            .iter()
            .zip(predictions.iter())
            .enumerate()
            .filter(|(_, (s, _))| s.status == SampleStatus::Forced)
            .map(|(i, (_, p))| (i, p.predicted()))
            .collect();
        let rule = AcceptanceRule {
            threshold,
            acceptance: policy.acceptance,
            prior: info.labeled_per_class.clone(),
            balance_slack: policy.balance_slack,
        };
        let decision = decide(
            &mut predictions,
            &eligible,
            &forced,
            &rule,
            info.classes.len(),
        );
        let mut out = (0, 0, 0);
        for (label, p) in decision.labels.iter().zip(&predictions) {
            if let Some(c) = label {
                out.0 += 1;
                if let Some(t) = p.truth {
                    out.1 += 1;
                    out.2 += usize::from(t == *c);
                }
            }
        }
        out
    }

    /// Recomputes the what-if line at the dialled τ.
    pub fn recompute_what_if(&mut self) {
        if self.predictions.is_empty() {
            self.what_if = None;
            return;
        }
        let threshold = self.dialled_threshold();
        let (accepted, known, correct) = match (&self.policy, &self.info) {
            (Some(policy), Some(info)) => self.what_if_with_policy(policy, info, threshold),
            _ => what_if(&self.predictions, threshold),
        };
        self.what_if = Some(WhatIf {
            threshold,
            accepted,
            known,
            correct,
            pool: self.predictions.len(),
        });
    }

    /// Rebuilds the inspector rows (list, filter, sort), keeping the selected sample if it is
    /// still listed.
    pub fn refresh_rows(&mut self) {
        let keep = self.selected_sample();
        let want_accepted = self.inspector.list == InspectorList::Accepted;
        let filter = self.inspector.class_filter;
        let preds = &self.predictions;
        let mut rows: Vec<usize> = (0..preds.len())
            .filter(|&i| {
                let s = self.samples[i].status;
                let listed = if want_accepted {
                    s.is_accepted()
                } else {
                    s == SampleStatus::Rejected
                };
                listed && filter.is_none_or(|c| preds[i].predicted() == c)
            })
            .collect();
        rows.sort_by(|&a, &b| {
            let (ca, cb) = (preds[a].confidence(), preds[b].confidence());
            let by_conf = if want_accepted {
                ca.total_cmp(&cb)
            } else {
                cb.total_cmp(&ca)
            };
            by_conf.then(preds[a].index.cmp(&preds[b].index))
        });
        self.inspector.rows = rows;
        self.inspector.selected = keep
            .and_then(|k| self.inspector.rows.iter().position(|&r| r == k))
            .unwrap_or(0);
        if self.inspector.offset > self.inspector.selected {
            self.inspector.offset = self.inspector.selected;
        }
    }

    /// Index into [`App::predictions`] of the selected inspector row.
    pub fn selected_sample(&self) -> Option<usize> {
        self.inspector.rows.get(self.inspector.selected).copied()
    }

    /// Handles a key; returns what the event loop must do.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Action> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        self.flash = None;
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        // Esc quickly followed by a key reaches us as Alt+key: handle it as both.
        if key.modifiers.contains(KeyModifiers::ALT) && !ctrl && key.code != KeyCode::Esc {
            let mut actions = self.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
            let plain = KeyEvent::new(key.code, key.modifiers - KeyModifiers::ALT);
            actions.extend(self.on_key(plain));
            return actions;
        }
        if ctrl && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('C')) {
            return self.interrupt();
        }
        if self.confirm_quit {
            return self.on_confirm_key(key.code);
        }
        if self.show_help {
            self.show_help = false;
            return Vec::new();
        }
        if self.screen == Screen::Inspector && self.inspector.picker.is_some() {
            return self.on_picker_key(key.code);
        }
        match key.code {
            KeyCode::Char('?') => {
                self.show_help = true;
                Vec::new()
            }
            KeyCode::Char('q') => self.ask_quit(),
            KeyCode::Char(']') => self.dial_threshold(THRESHOLD_STEP),
            KeyCode::Char('[') => self.dial_threshold(-THRESHOLD_STEP),
            KeyCode::Char('}') => self.dial_threshold(THRESHOLD_BIG_STEP),
            KeyCode::Char('{') => self.dial_threshold(-THRESHOLD_BIG_STEP),
            KeyCode::Char('=') => self.dial_weight(WEIGHT_STEP),
            KeyCode::Char('-') => self.dial_weight(-WEIGHT_STEP),
            KeyCode::Char('+') => self.dial_weight(WEIGHT_BIG_STEP),
            KeyCode::Char('_') => self.dial_weight(-WEIGHT_BIG_STEP),
            KeyCode::Char('p') => self.toggle_pause(),
            KeyCode::Char('s') => self.save_checkpoint(),
            KeyCode::Char('i') => {
                self.screen = match self.screen {
                    Screen::Dashboard => Screen::Inspector,
                    Screen::Inspector => Screen::Dashboard,
                };
                Vec::new()
            }
            _ => match self.screen {
                Screen::Dashboard => self.on_dashboard_key(key.code),
                Screen::Inspector => self.on_inspector_key(key.code),
            },
        }
    }

    fn disabled_reason(&self) -> String {
        if self.mode == Mode::ReadOnly {
            "read-only: controls are disabled".into()
        } else if self.stopping {
            "stopping: controls are disabled".into()
        } else {
            "the run has ended: controls are disabled".into()
        }
    }

    fn interrupt(&mut self) -> Vec<Action> {
        self.confirm_quit = false;
        if self.mode == Mode::ReadOnly || self.ended() || self.stopping {
            self.exit = true;
            return vec![Action::Quit];
        }
        self.stopping = true;
        self.flash = Some("stopping: saving a checkpoint (Ctrl-C again to leave at once)".into());
        vec![Action::Send(Control::Stop)]
    }

    fn ask_quit(&mut self) -> Vec<Action> {
        if self.mode == Mode::ReadOnly || self.ended() {
            self.exit = true;
            return vec![Action::Quit];
        }
        if self.stopping {
            self.flash =
                Some("stopping: waiting for the checkpoint (Ctrl-C to leave at once)".into());
            return Vec::new();
        }
        self.confirm_quit = true;
        Vec::new()
    }

    fn on_confirm_key(&mut self, code: KeyCode) -> Vec<Action> {
        match code {
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
                self.confirm_quit = false;
                if self.ended() {
                    self.exit = true;
                    return vec![Action::Quit];
                }
                self.stopping = true;
                self.flash = Some("stopping: saving a checkpoint…".into());
                vec![Action::Send(Control::Stop)]
            }
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Char('q') => {
                self.confirm_quit = false;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn dial_threshold(&mut self, delta: f32) -> Vec<Action> {
        if self.info.is_none() {
            self.flash = Some("waiting for the run to start".into());
            return Vec::new();
        }
        let current = self.dialled_threshold();
        let value = round2((current + delta).clamp(0.0, 1.0));
        if same(value, current) {
            return Vec::new();
        }
        if self.controls_enabled() {
            self.pending_threshold = if same(value, self.threshold) {
                None
            } else {
                Some(value)
            };
            self.recompute_what_if();
            vec![Action::Send(Control::SetThreshold { value })]
        } else {
            self.preview_threshold = Some(value);
            self.recompute_what_if();
            self.flash = Some(format!(
                "{}; τ {value:.2} only moves the what-if line",
                self.disabled_reason()
            ));
            Vec::new()
        }
    }

    fn dial_weight(&mut self, delta: f32) -> Vec<Action> {
        if self.info.is_none() {
            self.flash = Some("waiting for the run to start".into());
            return Vec::new();
        }
        if !self.controls_enabled() {
            self.flash = Some(self.disabled_reason());
            return Vec::new();
        }
        let current = self.dialled_weight();
        let value = round2((current + delta).clamp(0.0, MAX_WEIGHT));
        if same(value, current) {
            return Vec::new();
        }
        self.pending_weight = if same(value, self.pseudo_weight) {
            None
        } else {
            Some(value)
        };
        vec![Action::Send(Control::SetPseudoWeight { value })]
    }

    fn toggle_pause(&mut self) -> Vec<Action> {
        if !self.controls_enabled() {
            self.flash = Some(self.disabled_reason());
            return Vec::new();
        }
        let want = !self.pending_pause.unwrap_or(self.paused);
        self.pending_pause = if want == self.paused {
            None
        } else {
            Some(want)
        };
        vec![Action::Send(if want {
            Control::Pause
        } else {
            Control::Resume
        })]
    }

    fn save_checkpoint(&mut self) -> Vec<Action> {
        if !self.controls_enabled() {
            self.flash = Some(self.disabled_reason());
            return Vec::new();
        }
        self.checkpoint_pending = true;
        self.flash = Some("checkpoint requested".into());
        vec![Action::Send(Control::SaveCheckpoint)]
    }

    fn on_dashboard_key(&mut self, code: KeyCode) -> Vec<Action> {
        match code {
            KeyCode::Tab => self.focus = self.focus.next(),
            KeyCode::BackTab => self.focus = self.focus.prev(),
            KeyCode::Char(c @ '1'..='5') => {
                self.focus = Panel::ALL[c as usize - '1' as usize];
            }
            KeyCode::Char('w') => self.toggle_loss_window(),
            KeyCode::Char('n') => self.confusion_normalised = !self.confusion_normalised,
            KeyCode::Char('v') => {
                self.confusion_split = match self.confusion_split {
                    Split::Validation => Split::Test,
                    Split::Test => Split::Validation,
                }
            }
            KeyCode::Char(' ') | KeyCode::Enter => match self.focus {
                Panel::Loss => self.toggle_loss_window(),
                Panel::Confusion => self.confusion_normalised = !self.confusion_normalised,
                Panel::Pseudo => self.screen = Screen::Inspector,
                Panel::Accuracy | Panel::Events => {}
            },
            KeyCode::Up | KeyCode::Char('k') if self.focus == Panel::Events => {
                self.events_scroll = (self.events_scroll + 1).min(self.log.len().saturating_sub(1));
            }
            KeyCode::Down | KeyCode::Char('j') if self.focus == Panel::Events => {
                self.events_scroll = self.events_scroll.saturating_sub(1);
            }
            KeyCode::End if self.focus == Panel::Events => self.events_scroll = 0,
            _ => {}
        }
        Vec::new()
    }

    fn toggle_loss_window(&mut self) {
        self.loss_window = match self.loss_window {
            LossWindow::Recent => LossWindow::Whole,
            LossWindow::Whole => LossWindow::Recent,
        };
    }

    fn move_selection(&mut self, delta: isize) {
        let n = self.inspector.rows.len();
        if n == 0 {
            return;
        }
        let s = self.inspector.selected as isize + delta;
        self.inspector.selected = s.clamp(0, n as isize - 1) as usize;
    }

    fn on_inspector_key(&mut self, code: KeyCode) -> Vec<Action> {
        match code {
            KeyCode::Esc => self.screen = Screen::Dashboard,
            KeyCode::Tab | KeyCode::BackTab => {
                self.inspector.list = match self.inspector.list {
                    InspectorList::Rejected => InspectorList::Accepted,
                    InspectorList::Accepted => InspectorList::Rejected,
                };
                self.inspector.selected = 0;
                self.inspector.offset = 0;
                self.refresh_rows();
                self.inspector.selected = 0;
            }
            KeyCode::Up | KeyCode::Char('k') => self.move_selection(-1),
            KeyCode::Down | KeyCode::Char('j') => self.move_selection(1),
            KeyCode::PageUp => self.move_selection(-(PAGE as isize)),
            KeyCode::PageDown => self.move_selection(PAGE as isize),
            KeyCode::Home | KeyCode::Char('g') => self.inspector.selected = 0,
            KeyCode::End | KeyCode::Char('G') => {
                self.inspector.selected = self.inspector.rows.len().saturating_sub(1)
            }
            KeyCode::Char('f') => self.cycle_filter(true),
            KeyCode::Char('F') => self.cycle_filter(false),
            KeyCode::Char('c') => self.inspector.grey = !self.inspector.grey,
            KeyCode::Char('a') => {
                return self.act_on_selected(|p| SampleAction::Accept(p.predicted()));
            }
            KeyCode::Char('x') => return self.act_on_selected(|_| SampleAction::Exclude),
            KeyCode::Char('l') => {
                if !self.controls_enabled() {
                    self.flash = Some(self.disabled_reason());
                } else if let Some(i) = self.selected_sample() {
                    self.inspector.picker = Some(self.predictions[i].predicted());
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn cycle_filter(&mut self, forward: bool) {
        let k = self.classes().len();
        if k == 0 {
            return;
        }
        self.inspector.class_filter = match (self.inspector.class_filter, forward) {
            (None, true) => Some(0),
            (None, false) => Some(k - 1),
            (Some(c), true) if c + 1 < k => Some(c + 1),
            (Some(c), false) if c > 0 => Some(c - 1),
            _ => None,
        };
        self.inspector.selected = 0;
        self.inspector.offset = 0;
        self.refresh_rows();
        self.inspector.selected = 0;
    }

    fn on_picker_key(&mut self, code: KeyCode) -> Vec<Action> {
        let k = self.classes().len().max(1);
        let Some(highlight) = self.inspector.picker else {
            return Vec::new();
        };
        match code {
            KeyCode::Esc | KeyCode::Char('q') => self.inspector.picker = None,
            KeyCode::Up | KeyCode::Char('k') => {
                self.inspector.picker = Some((highlight + k - 1) % k)
            }
            KeyCode::Down | KeyCode::Char('j') => self.inspector.picker = Some((highlight + 1) % k),
            KeyCode::Enter => {
                self.inspector.picker = None;
                return self.act_on_selected(|_| SampleAction::Label(highlight));
            }
            KeyCode::Char(d @ '0'..='9') => {
                let c = d as usize - '0' as usize;
                if c < k {
                    self.inspector.picker = None;
                    return self.act_on_selected(|_| SampleAction::Label(c));
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn act_on_selected(&mut self, action: impl Fn(&PoolPrediction) -> SampleAction) -> Vec<Action> {
        if !self.controls_enabled() {
            self.flash = Some(self.disabled_reason());
            return Vec::new();
        }
        let Some(i) = self.selected_sample() else {
            self.flash = Some("no sample selected".into());
            return Vec::new();
        };
        let pred = &self.predictions[i];
        let index = pred.index;
        let action = action(pred);
        let control = match action {
            SampleAction::Accept(class) => Control::AcceptSample { index, class },
            SampleAction::Label(class) => Control::LabelSample { index, class },
            SampleAction::Exclude => Control::ExcludeSample { index },
        };
        self.flash = Some(format!("sent: {}", self.describe(&control)));
        self.marks.insert(
            index,
            SampleMark {
                action,
                state: MarkState::Sent,
            },
        );
        vec![Action::Send(control)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixture;
    use crate::run::StopReason;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ch(c: char) -> KeyEvent {
        key(KeyCode::Char(c))
    }

    fn applied(control: Control, error: Option<&str>) -> Update {
        Update::ControlApplied(AppliedControl {
            control,
            global_step: 100,
            round: 1,
            epoch: 2,
            time: "t".into(),
            error: error.map(String::from),
        })
    }

    #[test]
    fn a_stop_sent_from_outside_ends_the_dashboard_when_the_run_finishes() {
        let mut app = fixture::live_app();
        app.on_update(applied(Control::Stop, None));
        assert!(!app.ended());
        app.on_update(Update::Finished(fixture::summary(StopReason::Stopped)));
        assert!(app.ended());
    }

    #[test]
    fn threshold_keys_send_controls_and_stay_pending_until_acknowledged() {
        let mut app = fixture::live_app();
        assert_eq!(app.threshold, 0.9);
        assert_eq!(
            app.on_key(ch(']')),
            vec![Action::Send(Control::SetThreshold { value: 0.91 })]
        );
        assert_eq!(app.pending_threshold, Some(0.91));
        assert_eq!(
            app.on_key(ch('{')),
            vec![Action::Send(Control::SetThreshold { value: 0.86 })]
        );
        assert_eq!(app.pending_threshold, Some(0.86));
        assert_eq!(app.threshold, 0.9, "not applied before the acknowledgement");
        // The first acknowledgement is for an older value: still pending.
        app.on_update(applied(Control::SetThreshold { value: 0.91 }, None));
        assert_eq!(app.threshold, 0.91);
        assert_eq!(app.pending_threshold, Some(0.86));
        app.on_update(applied(Control::SetThreshold { value: 0.86 }, None));
        assert_eq!(app.threshold, 0.86);
        assert_eq!(app.pending_threshold, None);
        assert!(app.log.last().unwrap().text.contains("τ set to 0.86"));
    }

    #[test]
    fn threshold_and_weight_keys_wait_for_the_run_to_start() {
        let mut app = App::new(Mode::Live);
        assert!(app.on_key(ch(']')).is_empty());
        assert!(app.on_key(ch('=')).is_empty());
        assert_eq!(app.pending_threshold, None);
        app.on_update(Update::Started(fixture::info()));
        assert_eq!(
            app.on_key(ch(']')),
            vec![Action::Send(Control::SetThreshold { value: 0.91 })]
        );
    }

    #[test]
    fn threshold_is_clamped_and_rounded() {
        let mut app = fixture::live_app();
        for _ in 0..5 {
            app.on_key(ch('}'));
        }
        assert_eq!(app.dialled_threshold(), 1.0);
        assert!(app.on_key(ch(']')).is_empty(), "already at 1");
        for _ in 0..30 {
            app.on_key(ch('{'));
        }
        assert_eq!(app.dialled_threshold(), 0.0);
    }

    #[test]
    fn refused_threshold_is_logged_and_no_longer_pending() {
        let mut app = fixture::live_app();
        app.on_key(ch(']'));
        app.on_update(applied(
            Control::SetThreshold { value: 0.91 },
            Some("threshold must be within [0, 1]"),
        ));
        assert_eq!(app.pending_threshold, None);
        assert_eq!(app.threshold, 0.9);
        assert_eq!(app.log.last().unwrap().level, LogLevel::Error);
    }

    #[test]
    fn what_if_follows_the_dialled_threshold() {
        let mut app = fixture::live_app();
        let before = app.what_if.unwrap();
        assert_eq!(before.threshold, 0.9);
        let expected = what_if(&app.predictions, 0.9);
        assert_eq!((before.accepted, before.known, before.correct), expected);
        app.on_key(ch('{'));
        let after = app.what_if.unwrap();
        assert_eq!(after.threshold, 0.85);
        assert_eq!(
            (after.accepted, after.known, after.correct),
            what_if(&app.predictions, 0.85)
        );
        assert!(after.accepted >= before.accepted);
    }

    #[test]
    fn what_if_applies_the_run_policy_when_known() {
        use crate::config::Acceptance;
        let mut app = fixture::live_app();
        let round_accepted = app.pseudo.as_ref().unwrap().accepted;
        app.policy = Some(Policy {
            acceptance: Acceptance::Threshold,
            balance_slack: 1.0,
        });
        app.recompute_what_if();
        assert_eq!(
            app.what_if.unwrap().accepted,
            round_accepted,
            "the fixture used τ alone"
        );
        app.policy = Some(Policy {
            acceptance: Acceptance::ClassBalanced,
            balance_slack: 1.0,
        });
        app.recompute_what_if();
        let balanced = app.what_if.unwrap();
        assert!(
            balanced.accepted < round_accepted,
            "quotas cap the dominant classes"
        );
        assert!(balanced.known == balanced.accepted && balanced.correct <= balanced.known);
    }

    #[test]
    fn weight_keys_send_and_wait_for_ack() {
        let mut app = fixture::live_app();
        assert_eq!(app.pseudo_weight, 0.8, "set during round 1 of the fixture");
        assert_eq!(
            app.on_key(ch('=')),
            vec![Action::Send(Control::SetPseudoWeight { value: 0.85 })]
        );
        assert_eq!(
            app.on_key(ch('_')),
            vec![Action::Send(Control::SetPseudoWeight { value: 0.6 })]
        );
        assert_eq!(app.pending_weight, Some(0.6));
        for _ in 0..10 {
            app.on_key(ch('_'));
        }
        assert_eq!(app.pending_weight, Some(0.0), "never below 0");
        app.on_update(applied(Control::SetPseudoWeight { value: 0.6 }, None));
        assert_eq!(app.pseudo_weight, 0.6);
        assert_eq!(app.pending_weight, Some(0.0), "an older acknowledgement");
        app.on_update(applied(Control::SetPseudoWeight { value: 0.0 }, None));
        assert_eq!(app.pending_weight, None);
    }

    #[test]
    fn pause_toggles_with_pending_state() {
        let mut app = fixture::live_app();
        assert_eq!(app.on_key(ch('p')), vec![Action::Send(Control::Pause)]);
        assert_eq!(app.pending_pause, Some(true));
        assert!(!app.paused);
        assert_eq!(app.on_key(ch('p')), vec![Action::Send(Control::Resume)]);
        assert_eq!(app.pending_pause, None, "back to the state in force");
        assert_eq!(app.on_key(ch('p')), vec![Action::Send(Control::Pause)]);
        app.on_update(applied(Control::Pause, None));
        assert!(app.paused);
        assert_eq!(app.pending_pause, None);
        assert_eq!(app.on_key(ch('p')), vec![Action::Send(Control::Resume)]);
    }

    #[test]
    fn save_sends_a_checkpoint_request() {
        let mut app = fixture::live_app();
        assert_eq!(
            app.on_key(ch('s')),
            vec![Action::Send(Control::SaveCheckpoint)]
        );
        assert!(app.checkpoint_pending);
        app.on_update(Update::Checkpoint {
            path: "/r/last.bpk".into(),
            reason: CheckpointReason::Requested,
            global_step: 7,
        });
        assert!(!app.checkpoint_pending);
        assert!(app.log.last().unwrap().text.contains("last.bpk"));
    }

    #[test]
    fn quit_asks_then_stops_and_exits_on_finish() {
        let mut app = fixture::live_app();
        assert!(app.on_key(ch('q')).is_empty());
        assert!(app.confirm_quit);
        assert!(app.on_key(ch('n')).is_empty());
        assert!(!app.confirm_quit && !app.stopping);
        app.on_key(ch('q'));
        assert_eq!(app.on_key(ch('y')), vec![Action::Send(Control::Stop)]);
        assert!(app.stopping && !app.exit);
        assert!(app.on_key(ch('q')).is_empty(), "no second stop");
        assert!(
            app.on_key(ch(']')).is_empty(),
            "controls off while stopping"
        );
        app.on_update(Update::Finished(fixture::summary(StopReason::Stopped)));
        assert!(app.exit);
    }

    #[test]
    fn ctrl_c_stops_without_asking_and_twice_leaves() {
        let mut app = fixture::live_app();
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(app.on_key(ctrl_c), vec![Action::Send(Control::Stop)]);
        assert!(app.stopping && !app.confirm_quit);
        assert_eq!(app.on_key(ctrl_c), vec![Action::Quit]);
        assert!(app.exit);
    }

    #[test]
    fn stop_acknowledged_from_elsewhere_makes_the_dashboard_exit_at_the_end() {
        // SIGTERM: main's handler sends Stop; the dashboard learns it from the acknowledgement.
        let mut app = fixture::live_app();
        app.on_update(applied(Control::Stop, None));
        assert!(app.stopping);
        app.on_update(Update::Finished(fixture::summary(StopReason::Stopped)));
        assert!(app.exit);
    }

    #[test]
    fn replaying_a_stopped_run_read_only_does_not_leave() {
        let mut app = App::new(Mode::ReadOnly);
        for u in fixture::updates() {
            app.on_update(u);
        }
        app.on_update(applied(Control::Stop, None));
        app.on_update(Update::Finished(fixture::summary(StopReason::Stopped)));
        app.on_disconnected();
        assert!(!app.exit && !app.stopping);
        assert!(app.failed.is_none(), "a finished file is not a failure");
        assert_eq!(app.on_key(ch('q')), vec![Action::Quit]);
    }

    #[test]
    fn after_the_run_ends_q_leaves_at_once_and_controls_are_off() {
        let mut app = fixture::live_app();
        app.on_update(Update::Finished(fixture::summary(StopReason::MaxRounds)));
        assert!(!app.exit, "the dashboard stays open to look at the results");
        assert!(app.on_key(ch('p')).is_empty());
        assert!(app.flash.as_ref().unwrap().contains("ended"));
        assert_eq!(app.on_key(ch('q')), vec![Action::Quit]);
    }

    #[test]
    fn disconnection_without_result_is_a_failure() {
        let mut app = fixture::live_app();
        app.on_disconnected();
        assert!(app.failed.is_some());
        assert!(app.ended());
    }

    #[test]
    fn read_only_mode_sends_nothing_but_previews_what_if() {
        let mut app = fixture::read_only_app();
        assert!(app.on_key(ch('p')).is_empty());
        assert!(app.flash.as_ref().unwrap().contains("read-only"));
        assert!(app.on_key(ch('{')).is_empty());
        assert_eq!(app.preview_threshold, Some(0.85));
        assert_eq!(app.what_if.unwrap().threshold, 0.85);
        app.on_key(ch('i'));
        let marks = app.marks.clone();
        assert!(app.on_key(ch('a')).is_empty());
        assert!(app.on_key(ch('x')).is_empty());
        assert!(app.on_key(ch('l')).is_empty());
        assert_eq!(app.inspector.picker, None);
        assert_eq!(app.marks, marks);
        assert_eq!(app.on_key(ch('q')), vec![Action::Quit]);
    }

    #[test]
    fn inspector_lists_rejected_nearest_threshold_first_and_filters_by_class() {
        let mut app = fixture::live_app();
        app.on_key(ch('i'));
        assert_eq!(app.screen, Screen::Inspector);
        let rows = &app.inspector.rows;
        assert!(!rows.is_empty());
        let confs: Vec<f32> = rows
            .iter()
            .map(|&r| app.predictions[r].confidence())
            .collect();
        assert!(
            confs.windows(2).all(|w| w[0] >= w[1]),
            "descending confidence"
        );
        assert!(rows.iter().all(|&r| !app.predictions[r].accepted));
        assert!(confs[0] < 0.9);

        app.on_key(ch('f'));
        assert_eq!(app.inspector.class_filter, Some(0));
        assert!(
            app.inspector
                .rows
                .iter()
                .all(|&r| app.predictions[r].predicted() == 0)
        );
        app.on_key(ch('F'));
        assert_eq!(app.inspector.class_filter, None);
        app.on_key(ch('F'));
        assert_eq!(app.inspector.class_filter, Some(app.classes().len() - 1));

        app.on_key(ch('F'));
        app.on_key(key(KeyCode::Tab));
        assert_eq!(app.inspector.list, InspectorList::Accepted);
        let confs: Vec<f32> = app
            .inspector
            .rows
            .iter()
            .map(|&r| app.predictions[r].confidence())
            .collect();
        assert!(
            confs.windows(2).all(|w| w[0] <= w[1]),
            "ascending confidence"
        );
        assert!(
            app.inspector
                .rows
                .iter()
                .all(|&r| app.predictions[r].accepted)
        );
    }

    #[test]
    fn inspector_navigation_is_clamped() {
        let mut app = fixture::live_app();
        app.on_key(ch('i'));
        app.on_key(key(KeyCode::Up));
        assert_eq!(app.inspector.selected, 0);
        app.on_key(key(KeyCode::Down));
        assert_eq!(app.inspector.selected, 1);
        app.on_key(key(KeyCode::End));
        assert_eq!(app.inspector.selected, app.inspector.rows.len() - 1);
        app.on_key(key(KeyCode::PageDown));
        assert_eq!(app.inspector.selected, app.inspector.rows.len() - 1);
        app.on_key(key(KeyCode::Home));
        assert_eq!(app.inspector.selected, 0);
    }

    #[test]
    fn inspector_actions_send_sample_controls_and_track_acknowledgement() {
        let mut app = fixture::live_app();
        app.on_key(ch('i'));
        let first = app.predictions[app.selected_sample().unwrap()].clone();
        assert_eq!(
            app.on_key(ch('a')),
            vec![Action::Send(Control::AcceptSample {
                index: first.index,
                class: first.predicted()
            })]
        );
        assert_eq!(app.marks[&first.index].state, MarkState::Sent);
        app.on_update(applied(
            Control::AcceptSample {
                index: first.index,
                class: first.predicted(),
            },
            None,
        ));
        assert_eq!(
            app.marks[&first.index].state,
            MarkState::Applied {
                round: 1,
                global_step: 100
            }
        );

        app.on_key(key(KeyCode::Down));
        let second = app.predictions[app.selected_sample().unwrap()].clone();
        assert!(app.on_key(ch('l')).is_empty());
        assert_eq!(app.inspector.picker, Some(second.predicted()));
        assert_eq!(
            app.on_key(ch('3')),
            vec![Action::Send(Control::LabelSample {
                index: second.index,
                class: 3
            })]
        );
        assert_eq!(app.inspector.picker, None);

        app.on_key(ch('l'));
        app.on_key(key(KeyCode::Esc));
        assert_eq!(app.inspector.picker, None);
        assert_eq!(app.screen, Screen::Inspector, "Esc closes the picker only");

        app.on_key(ch('l'));
        app.on_key(key(KeyCode::Down));
        let class = (second.predicted() + 1) % app.classes().len();
        assert_eq!(
            app.on_key(key(KeyCode::Enter)),
            vec![Action::Send(Control::LabelSample {
                index: second.index,
                class
            })]
        );

        app.on_key(key(KeyCode::Down));
        let third = app.predictions[app.selected_sample().unwrap()].clone();
        assert_eq!(
            app.on_key(ch('x')),
            vec![Action::Send(Control::ExcludeSample { index: third.index })]
        );
        app.on_update(applied(
            Control::ExcludeSample { index: third.index },
            Some("sample is outside the pool"),
        ));
        assert!(matches!(
            app.marks[&third.index].state,
            MarkState::Refused(_)
        ));
    }

    #[test]
    fn next_round_reflects_applied_actions_in_sample_status() {
        let mut app = fixture::live_app();
        let p = app.predictions.clone();
        let rejected = p.iter().find(|x| !x.accepted).unwrap().index;
        app.on_update(applied(Control::ExcludeSample { index: rejected }, None));
        let mut round = app.pseudo.clone().unwrap();
        round.round += 1;
        round.predictions = p;
        app.on_update(Update::PseudoLabels(round));
        let pos = app
            .predictions
            .iter()
            .position(|x| x.index == rejected)
            .unwrap();
        assert_eq!(app.samples[pos].status, SampleStatus::Excluded);
        app.on_key(ch('i'));
        assert!(
            !app.inspector.rows.contains(&pos),
            "excluded samples leave the lists"
        );
    }

    #[test]
    fn updates_build_the_charts_and_baseline() {
        let app = fixture::live_app();
        assert!(app.baseline.is_some());
        assert!(!app.val_points.is_empty());
        assert!(!app.test_points.is_empty());
        assert_eq!(app.pseudo_points.len(), app.rounds.len());
        assert!(!app.loss.is_empty());
        assert!(app.log.iter().any(|e| e.level == LogLevel::Warning));
    }

    #[test]
    fn focus_cycles_and_toggles_apply_to_the_focused_panel() {
        let mut app = fixture::live_app();
        assert_eq!(app.focus, Panel::Loss);
        app.on_key(key(KeyCode::Char(' ')));
        assert_eq!(app.loss_window, LossWindow::Whole);
        app.on_key(key(KeyCode::Tab));
        app.on_key(key(KeyCode::Tab));
        assert_eq!(app.focus, Panel::Confusion);
        app.on_key(key(KeyCode::Char(' ')));
        assert!(app.confusion_normalised);
        app.on_key(ch('v'));
        assert_eq!(app.confusion_split, Split::Test);
        app.on_key(key(KeyCode::BackTab));
        assert_eq!(app.focus, Panel::Accuracy);
        app.on_key(ch('5'));
        assert_eq!(app.focus, Panel::Events);
    }

    #[test]
    fn esc_merged_with_the_next_key_is_both() {
        let mut app = fixture::live_app();
        app.on_key(ch('i'));
        app.on_key(KeyEvent::new(KeyCode::Char('3'), KeyModifiers::ALT));
        assert_eq!(app.screen, Screen::Dashboard);
        assert_eq!(app.focus, Panel::Confusion);
    }

    #[test]
    fn help_opens_and_any_key_closes_it() {
        let mut app = fixture::live_app();
        app.on_key(ch('?'));
        assert!(app.show_help);
        assert!(app.on_key(ch('q')).is_empty());
        assert!(!app.show_help && !app.confirm_quit);
    }

    #[test]
    fn clock_advances_elapsed_between_progress_updates_and_eta_freezes_when_paused() {
        let mut app = fixture::live_app();
        let e0 = app.elapsed();
        let eta0 = app.eta().unwrap();
        assert!(app.on_tick(1.5));
        assert!((app.elapsed() - (e0 + 1.5)).abs() < 1e-9);
        assert!((app.eta().unwrap() - (eta0 - 1.5)).abs() < 1e-9);
        app.on_update(applied(Control::Pause, None));
        assert!((app.eta().unwrap() - eta0).abs() < 1e-9);
        app.on_update(Update::Finished(fixture::summary(StopReason::MaxRounds)));
        assert_eq!(app.eta(), None);
    }
}
