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
use crate::train::pseudo::{Dial, PolicySpec, WhatIf};
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
    /// The threshold the what-if decision applied to each class (the histogram's markers).
    pub what_if_thresholds: Vec<f32>,
    /// The curriculum step or κ dialled for the what-if line (a preview: no control changes
    /// them mid-run); `None`: the run's own.
    pub param_preview: Option<f32>,
    /// The class selected in the pseudo-label panel (whose τ_c `←`/`→` dial).
    pub class_cursor: usize,
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
    /// The terminal's image protocol, when it has one (else pictures are half-blocks).
    pub graphics: Option<crate::tui::picture::Graphics>,
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
            what_if_thresholds: Vec::new(),
            param_preview: None,
            class_cursor: 0,
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
            graphics: None,
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

    /// The run's policy with the curriculum step or κ being previewed.
    pub fn dialled_policy(&self) -> PolicySpec {
        let spec = self.policy();
        match self.param_preview {
            Some(v) => spec.with_dialled(v),
            None => spec,
        }
    }

    /// The threshold the latest round applied to class `c` (the dialled τ before any round).
    pub fn round_class_threshold(&self, c: usize) -> f32 {
        self.pseudo
            .as_ref()
            .and_then(|r| r.class_thresholds.get(c).copied())
            .unwrap_or_else(|| self.dialled_threshold())
    }

    /// Recomputes the what-if line at the dialled τ (or curriculum step, or κ) with the user's
    /// per-class thresholds in force, sent or previewed: the engine's decision under the run's
    /// policy, with the user's marks.
    pub fn recompute_what_if(&mut self) {
        let spec = self.dialled_policy();
        let overrides = self.controls.dialled_class_thresholds();
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
            class_overrides: &overrides,
            outlier_fraction: self.info.as_ref().map_or(0.0, |i| i.outlier_filter),
        };
        let preview = acceptance::preview(&self.predictions, &marks, run, self.dialled_threshold());
        self.what_if = preview.as_ref().map(|p| p.what_if);
        self.what_if_thresholds = preview.map(|p| p.class_thresholds).unwrap_or_default();
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
            Command::FocusedUp | Command::FocusedDown => {
                let down = command == Command::FocusedDown;
                match self.focus {
                    Panel::Events if down => self.log.scroll_down(),
                    Panel::Events => self.log.scroll_up(),
                    Panel::Pseudo => self.move_class_cursor(down),
                    _ => {}
                }
            }
            Command::ScrollLogEnd if self.focus == Panel::Events => self.log.scroll_to_end(),
            Command::ScrollLogEnd => {}
            Command::DialClassThreshold(delta) => return self.dial_class_threshold(Some(delta)),
            Command::ClearClassThreshold => return self.dial_class_threshold(None),
            Command::CycleSort => self.cycle_sort(),
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
        let spec = self.policy();
        match spec.dial() {
            Dial::Threshold => {}
            Dial::CurriculumStep | Dial::Kappa => {
                self.dial_parameter(&spec, delta);
                return Vec::new();
            }
            Dial::None => {
                self.flash = Some(format!(
                    "{} adapts its thresholds itself: nothing to dial (a class's own τ: ← → on \
                     the pseudo-label panel)",
                    spec.name()
                ));
                return Vec::new();
            }
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

    /// Moves the curriculum step or κ of the what-if line: a preview, as no control changes
    /// them while the run goes on.
    fn dial_parameter(&mut self, spec: &PolicySpec, delta: f32) {
        let own = spec.dialled().unwrap_or(0.0);
        let current = self.param_preview.unwrap_or(own);
        let (name, lo) = match spec.dial() {
            Dial::CurriculumStep => ("curriculum step p", 0.01),
            _ => ("κ", 0.0),
        };
        let value = ((current + delta).clamp(lo, 1.0) * 100.0).round() / 100.0;
        if (value - current).abs() < 1e-4 {
            return;
        }
        self.param_preview = ((value - own).abs() >= 1e-4).then_some(value);
        self.flash = Some(format!(
            "{name} {value:.2}: a preview on the what-if line (no control changes it mid-run)"
        ));
        self.recompute_what_if();
    }

    /// Selects the previous or next class of the pseudo-label panel.
    fn move_class_cursor(&mut self, down: bool) {
        let k = self.classes().len();
        if k == 0 {
            return;
        }
        self.class_cursor = if down {
            (self.class_cursor + 1).min(k - 1)
        } else {
            self.class_cursor.saturating_sub(1).min(k - 1)
        };
    }

    /// Moves the selected class's own threshold by `delta`, or gives it back to the policy
    /// (`None`): sent when controls are enabled, else a preview on the what-if line.
    fn dial_class_threshold(&mut self, delta: Option<f32>) -> Vec<Action> {
        if self.info.is_none() {
            self.flash = Some("waiting for the run to start".into());
            return Vec::new();
        }
        if self.focus != Panel::Pseudo {
            self.flash = Some(
                "a class's own τ: focus the pseudo-label panel (4 or tab), pick the class with ↑↓"
                    .into(),
            );
            return Vec::new();
        }
        let class = self
            .class_cursor
            .min(self.classes().len().saturating_sub(1));
        let name = self.class_name(class);
        let value = match delta {
            Some(d) => {
                let base = self.round_class_threshold(class);
                match self.controls.class_step(class, base, d) {
                    Some(v) => Some(v),
                    None => return Vec::new(),
                }
            }
            None if self.controls.dialled_class(class).is_none() => {
                self.flash = Some(format!("`{name}` already follows the policy"));
                return Vec::new();
            }
            None => None,
        };
        let actions = if self.controls_enabled() {
            let control = self.controls.send_class(class, value);
            self.flash = Some(format!("sent: {}", self.describe(&control)));
            vec![Action::Send(control)]
        } else {
            self.controls.preview_class_threshold(class, value);
            let what = value.map_or("the policy's".to_string(), |v| format!("{v:.2}"));
            self.flash = Some(format!(
                "{}; τ of `{name}` {what} only moves the what-if line",
                self.disabled_reason()
            ));
            Vec::new()
        };
        self.recompute_what_if();
        actions
    }

    /// The inspector's next list order (skipping orders the round has no scores for).
    fn cycle_sort(&mut self) {
        if !self.inspector.cycle_sort(&self.predictions, &self.samples) {
            self.flash = Some("this round has no outlier or uncertainty scores to sort by".into());
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
