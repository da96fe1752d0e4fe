//! The dashboard state: pure, no I/O. Updates from the trainer and keys from the user go in
//! ([`App::on_update`], [`App::on_key`]); controls for the trainer come out as [`Action`]s.
//! The parts that stand on their own live in their own modules and know nothing of `App`: the
//! key table ([`crate::tui::keys`]), the event log, the loss history, the inspector list and
//! the acceptance preview (what-if line).

use std::collections::BTreeMap;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::train::Control;
use crate::train::events::{
    Evaluation, PoolPrediction, Progress, PseudoRound, RunInfo, RunSummary, Split,
};
use crate::train::pseudo::PolicySpec;
use crate::train::pseudo::WhatIf;
use crate::tui::acceptance::{self, RunPolicy};
use crate::tui::controls::Controls;
use crate::tui::event_log::{self, EventLog};
use crate::tui::images::PoolImages;
use crate::tui::inspector_list::InspectorState;
use crate::tui::keys::{self, Command, KeyMode};
use crate::tui::loss::{LossHistory, LossWindow};
use crate::tui::samples::{MarkState, SampleAction, SampleMark};

pub use crate::tui::samples::{SampleInfo, SampleStatus};
pub use screens::{Panel, RoundStats, Screen};

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
    /// τ, λ, pause and checkpoint: in force and asked for.
    pub controls: Controls,
    /// The what-if line.
    pub what_if: Option<WhatIf>,
    /// User sample actions by pool index.
    pub marks: BTreeMap<usize, SampleMark>,
    /// Event log.
    pub log: EventLog,
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
    /// Inspector state.
    pub inspector: InspectorState,
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
            controls: Controls::default(),
            what_if: None,
            marks: BTreeMap::new(),
            log: EventLog::default(),
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
            inspector: InspectorState::default(),
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
        self.controls.dialled_threshold()
    }

    /// Advances the injected clock (seconds since the dashboard started); returns whether the
    /// displayed elapsed time changed (so a redraw is due).
    pub fn on_tick(&mut self, clock: f64) -> bool {
        let before = self.elapsed().floor();
        self.clock = clock;
        self.elapsed().floor() != before
    }

    fn running(&self) -> bool {
        self.progress.is_some() && !self.controls.paused && !self.ended()
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

    /// A control in words.
    pub fn describe(&self, control: &Control) -> String {
        event_log::describe(control, |c| self.class_name(c))
    }

    /// The pseudo-labelling policy the run announced; the plain threshold rule for runs
    /// recorded before runs announced it (and before `Started`).
    pub fn policy(&self) -> PolicySpec {
        self.info
            .as_ref()
            .and_then(|i| i.policy.clone())
            .unwrap_or(PolicySpec::Threshold)
    }

    /// Recomputes the what-if line at the dialled τ: the engine's decision under the run's
    /// policy, with the user's marks.
    pub fn recompute_what_if(&mut self) {
        let spec = self.policy();
        let (prior, classes) = self.info.as_ref().map_or((&[][..], 0), |i| {
            (&i.labeled_per_class[..], i.classes.len())
        });
        // Never fewer classes than the predictions name: the decision counts per class.
        let classes = self
            .predictions
            .iter()
            .flat_map(|p| p.top.iter().map(|(c, _)| c + 1))
            .fold(classes, usize::max);
        let marks = acceptance::marks(&self.predictions, &self.samples, &self.marks);
        let run = RunPolicy {
            spec: &spec,
            prior,
            classes,
            round: self.predictions_round.max(1),
            class_overrides: &[],
            outlier_fraction: self.info.as_ref().map_or(0.0, |i| i.outlier_filter),
        };
        self.what_if =
            acceptance::what_if(&self.predictions, &marks, run, self.dialled_threshold());
    }

    /// Rebuilds the inspector rows (list, filter, sort), keeping the selected sample if it is
    /// still listed.
    pub fn refresh_rows(&mut self) {
        self.inspector.refresh(&self.predictions, &self.samples);
    }

    /// Index into [`App::predictions`] of the selected inspector row.
    pub fn selected_sample(&self) -> Option<usize> {
        self.inspector.selected_sample()
    }

    /// Which part of the key table applies now.
    pub fn key_context(&self) -> KeyMode {
        if self.confirm_quit {
            KeyMode::Confirm
        } else if self.screen == Screen::Inspector && self.inspector.picker.is_some() {
            KeyMode::Picker
        } else {
            self.screen_keys()
        }
    }

    /// The key-table mode of the screen shown (what the key bar lists).
    pub fn screen_keys(&self) -> KeyMode {
        match self.screen {
            Screen::Dashboard => KeyMode::Dashboard,
            Screen::Inspector => KeyMode::Inspector,
        }
    }

    /// Handles a key through the key table; returns what the event loop must do.
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
        match keys::lookup(self.key_context(), &key) {
            Some(Command::Interrupt) => self.interrupt(),
            // The help overlay: any other key closes it.
            _ if self.show_help && !self.confirm_quit => {
                self.show_help = false;
                Vec::new()
            }
            Some(command) => self.run(command),
            None => Vec::new(),
        }
    }

    /// Runs one command of the key table.
    fn run(&mut self, command: Command) -> Vec<Action> {
        let classes = self.classes().len();
        match command {
            Command::Interrupt => return self.interrupt(),
            Command::ShowHelp => self.show_help = true,
            Command::AskQuit => return self.ask_quit(),
            Command::DialThreshold(delta) => return self.dial_threshold(delta),
            Command::DialWeight(delta) => return self.dial_weight(delta),
            Command::TogglePause => return self.toggle_pause(),
            Command::SaveCheckpoint => return self.save_checkpoint(),
            Command::ToggleInspector => {
                self.screen = match self.screen {
                    Screen::Dashboard => Screen::Inspector,
                    Screen::Inspector => Screen::Dashboard,
                }
            }
            Command::FocusNext => self.focus = self.focus.next(),
            Command::FocusPrev => self.focus = self.focus.prev(),
            Command::FocusPanel(i) => self.focus = Panel::ALL.get(i).copied().unwrap_or(self.focus),
            Command::ToggleFocused => match self.focus {
                Panel::Loss => self.loss_window = self.loss_window.toggled(),
                Panel::Confusion => self.confusion_normalised = !self.confusion_normalised,
                Panel::Pseudo => self.screen = Screen::Inspector,
                Panel::Accuracy | Panel::Events => {}
            },
            Command::ToggleLossWindow => self.loss_window = self.loss_window.toggled(),
            Command::ToggleConfusionScale => self.confusion_normalised = !self.confusion_normalised,
            Command::ToggleConfusionSplit => {
                self.confusion_split = match self.confusion_split {
                    Split::Validation => Split::Test,
                    Split::Test => Split::Validation,
                }
            }
            Command::ScrollLogUp if self.focus == Panel::Events => self.log.scroll_up(),
            Command::ScrollLogDown if self.focus == Panel::Events => self.log.scroll_down(),
            Command::ScrollLogEnd if self.focus == Panel::Events => self.log.scroll_to_end(),
            Command::ScrollLogUp | Command::ScrollLogDown | Command::ScrollLogEnd => {}
            Command::MoveSelection(delta) => self.inspector.move_selection(delta),
            Command::SelectFirst => self.inspector.select_first(),
            Command::SelectLast => self.inspector.select_last(),
            Command::SwitchList => self.inspector.switch_list(&self.predictions, &self.samples),
            Command::FilterNext | Command::FilterPrev => self.inspector.cycle_filter(
                classes,
                command == Command::FilterNext,
                &self.predictions,
                &self.samples,
            ),
            Command::AcceptSample => {
                return self.act_on_selected(|p| SampleAction::Accept(p.predicted()));
            }
            Command::ExcludeSample => return self.act_on_selected(|_| SampleAction::Exclude),
            Command::OpenLabelPicker => {
                if !self.controls_enabled() {
                    self.flash = Some(self.disabled_reason());
                } else {
                    self.inspector.open_picker(&self.predictions);
                }
            }
            Command::ToggleGrey => self.inspector.grey = !self.inspector.grey,
            Command::LeaveInspector => self.screen = Screen::Dashboard,
            Command::PickerUp => self.inspector.move_picker(false, classes),
            Command::PickerDown => self.inspector.move_picker(true, classes),
            Command::PickerChoose => {
                if let Some(class) = self.inspector.picker.take() {
                    return self.act_on_selected(|_| SampleAction::Label(class));
                }
            }
            Command::PickClass(class) => {
                if class < classes.max(1) {
                    self.inspector.picker = None;
                    return self.act_on_selected(|_| SampleAction::Label(class));
                }
            }
            Command::PickerCancel => self.inspector.picker = None,
            Command::ConfirmStop => return self.confirm_stop(),
            Command::CancelQuit => self.confirm_quit = false,
        }
        Vec::new()
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

    fn confirm_stop(&mut self) -> Vec<Action> {
        self.confirm_quit = false;
        if self.ended() {
            self.exit = true;
            return vec![Action::Quit];
        }
        self.stopping = true;
        self.flash = Some("stopping: saving a checkpoint…".into());
        vec![Action::Send(Control::Stop)]
    }

    fn dial_threshold(&mut self, delta: f32) -> Vec<Action> {
        if self.info.is_none() {
            self.flash = Some("waiting for the run to start".into());
            return Vec::new();
        }
        let Some(value) = self.controls.threshold_step(delta) else {
            return Vec::new();
        };
        let actions = if self.controls_enabled() {
            vec![Action::Send(self.controls.send_threshold(value))]
        } else {
            self.controls.preview_threshold = Some(value);
            self.flash = Some(format!(
                "{}; τ {value:.2} only moves the what-if line",
                self.disabled_reason()
            ));
            Vec::new()
        };
        self.recompute_what_if();
        actions
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
        match self.controls.weight_step(delta) {
            Some(value) => vec![Action::Send(self.controls.send_weight(value))],
            None => Vec::new(),
        }
    }

    fn toggle_pause(&mut self) -> Vec<Action> {
        if !self.controls_enabled() {
            self.flash = Some(self.disabled_reason());
            return Vec::new();
        }
        vec![Action::Send(self.controls.toggle_pause())]
    }

    fn save_checkpoint(&mut self) -> Vec<Action> {
        if !self.controls_enabled() {
            self.flash = Some(self.disabled_reason());
            return Vec::new();
        }
        self.flash = Some("checkpoint requested".into());
        vec![Action::Send(self.controls.request_checkpoint())]
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
        let control = action.control(index);
        self.flash = Some(format!("sent: {}", self.describe(&control)));
        self.marks.insert(
            index,
            SampleMark {
                action,
                state: MarkState::Sent,
            },
        );
        self.recompute_what_if();
        vec![Action::Send(control)]
    }
}

mod screens;
mod update;

#[cfg(test)]
mod tests;
