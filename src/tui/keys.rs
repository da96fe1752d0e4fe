//! The key table: every key of the dashboard, where it works and what it does, in one place.
//! Key handling ([`lookup`]), the help overlay ([`help_sections`]) and the key hints (the key
//! bar, the label picker's footer and the quit question: [`hints`]) are all read from [`KEYS`],
//! so they cannot disagree. Step sizes travel inside the commands, so the help text shows the
//! steps the handler applies.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Small τ step (`[` / `]`).
pub const THRESHOLD_STEP: f32 = 0.01;
/// Large τ step (`{` / `}`, i.e. with shift).
pub const THRESHOLD_BIG_STEP: f32 = 0.05;
/// Small λ step (`-` / `=`).
pub const WEIGHT_STEP: f32 = 0.05;
/// Large λ step (`_` / `+`, i.e. with shift).
pub const WEIGHT_BIG_STEP: f32 = 0.25;
/// Rows moved by PageUp / PageDown in the inspector.
pub const PAGE: usize = 10;

/// A key as the table names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A character, whatever the modifiers (shifted characters arrive as themselves).
    Char(char),
    /// A named key (arrows, tab, esc…).
    Code(KeyCode),
    /// A character with Ctrl held.
    Ctrl(char),
}

impl Key {
    /// Whether a key press is this key.
    pub fn matches(self, key: &KeyEvent) -> bool {
        match self {
            Key::Char(c) => key.code == KeyCode::Char(c),
            Key::Code(code) => key.code == code,
            Key::Ctrl(c) => {
                key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char(c)
            }
        }
    }
}

/// Where a binding works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMode {
    /// At any time, even over a dialog.
    Always,
    /// On the dashboard and in the inspector (no dialog open).
    Global,
    /// On the dashboard.
    Dashboard,
    /// In the inspector.
    Inspector,
    /// While the inspector's label picker is open.
    Picker,
    /// While the quit question is shown.
    Confirm,
}

impl KeyMode {
    /// Whether bindings of this mode work in `context` (one of the last four modes).
    pub fn active_in(self, context: KeyMode) -> bool {
        self == context
            || self == KeyMode::Always
            || (self == KeyMode::Global
                && matches!(context, KeyMode::Dashboard | KeyMode::Inspector))
    }
}

/// What a key asks the dashboard to do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    /// Stop now (checkpoint); a second time, leave at once.
    Interrupt,
    /// Show the help overlay.
    ShowHelp,
    /// Ask whether to stop and quit.
    AskQuit,
    /// Move τ by this much.
    DialThreshold(f32),
    /// Move λ by this much.
    DialWeight(f32),
    /// Pause or resume training.
    TogglePause,
    /// Save a checkpoint now.
    SaveCheckpoint,
    /// Switch between the dashboard and the inspector.
    ToggleInspector,
    /// Focus the next panel.
    FocusNext,
    /// Focus the previous panel.
    FocusPrev,
    /// Focus the panel at this position.
    FocusPanel(usize),
    /// Toggle what the focused panel shows.
    ToggleFocused,
    /// Loss chart: recent steps / whole run.
    ToggleLossWindow,
    /// Confusion matrix: counts / row percentages.
    ToggleConfusionScale,
    /// Confusion matrix: validation / test.
    ToggleConfusionSplit,
    /// Up in the focused panel: the event log scrolls one entry up, the pseudo-label panel
    /// selects the previous class.
    FocusedUp,
    /// Down in the focused panel: the event log scrolls one entry down, the pseudo-label panel
    /// selects the next class.
    FocusedDown,
    /// Back to the newest log entry (focused log only).
    ScrollLogEnd,
    /// Move the selected class's own threshold τ_c by this much (pseudo-label panel focused).
    DialClassThreshold(f32),
    /// Give the selected class's threshold back to the policy (pseudo-label panel focused).
    ClearClassThreshold,
    /// Inspector list order: nearest τ, most outlying, most uncertain.
    CycleSort,
    /// Move the inspector selection by this many rows.
    MoveSelection(isize),
    /// Select the first row.
    SelectFirst,
    /// Select the last row.
    SelectLast,
    /// Rejected / accepted list.
    SwitchList,
    /// Filter on the next class.
    FilterNext,
    /// Filter on the previous class.
    FilterPrev,
    /// Accept the selected sample with its predicted label.
    AcceptSample,
    /// Open the label picker for the selected sample.
    OpenLabelPicker,
    /// Exclude the selected sample as an outlier.
    ExcludeSample,
    /// Draw colour images in colour / grey.
    ToggleGrey,
    /// Back to the dashboard.
    LeaveInspector,
    /// Picker: highlight the previous class.
    PickerUp,
    /// Picker: highlight the next class.
    PickerDown,
    /// Picker: label with the highlighted class.
    PickerChoose,
    /// Picker: label with this class.
    PickClass(usize),
    /// Picker: close without labelling.
    PickerCancel,
    /// Quit question: yes.
    ConfirmStop,
    /// Quit question: no.
    CancelQuit,
}

impl Command {
    /// The step this command moves by, as the help writes it.
    pub fn step_text(self) -> Option<String> {
        match self {
            Command::DialThreshold(d) | Command::DialWeight(d) | Command::DialClassThreshold(d) => {
                Some(format!("{:.2}", d.abs()))
            }
            Command::MoveSelection(n) => Some(n.unsigned_abs().to_string()),
            _ => None,
        }
    }
}

/// What a key hint shows: the keys and one word (may be empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hint {
    /// The keys, as written in the hint.
    pub keys: &'static str,
    /// What they do.
    pub word: &'static str,
}

/// One line of the key table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyBinding {
    /// Where the keys work.
    pub mode: KeyMode,
    /// Each key and the command it runs.
    pub keys: &'static [(Key, Command)],
    /// The keys as the help overlay writes them.
    pub label: &'static str,
    /// What the keys do; `{step}` stands for the step of the first key's command.
    pub help: &'static str,
    /// The line's entry in its context's key hints, when it has one.
    pub hint: Option<Hint>,
}

impl KeyBinding {
    /// The help text with the step filled in.
    pub fn help_text(&self) -> String {
        match self.keys.first().and_then(|(_, c)| c.step_text()) {
            Some(step) => self.help.replace("{step}", &step),
            None => self.help.to_string(),
        }
    }
}

const fn hint(keys: &'static str, word: &'static str) -> Option<Hint> {
    Some(Hint { keys, word })
}

use Command as C;
use Key::{Char, Code, Ctrl};
use KeyMode as M;

/// Every key binding, in the order the help overlay lists them.
pub const KEYS: &[KeyBinding] = &[
    KeyBinding {
        mode: M::Global,
        keys: &[(Char('?'), C::ShowHelp)],
        label: "?",
        help: "this help (any key closes)",
        hint: hint("?", "help"),
    },
    KeyBinding {
        mode: M::Global,
        keys: &[(Char('q'), C::AskQuit)],
        label: "q",
        help: "stop (checkpoint) and quit",
        hint: hint("q", "quit"),
    },
    KeyBinding {
        mode: M::Always,
        keys: &[(Ctrl('c'), C::Interrupt), (Ctrl('C'), C::Interrupt)],
        label: "Ctrl-C",
        help: "stop now; twice: leave",
        hint: None,
    },
    KeyBinding {
        mode: M::Global,
        keys: &[
            (Char(']'), C::DialThreshold(THRESHOLD_STEP)),
            (Char('['), C::DialThreshold(-THRESHOLD_STEP)),
        ],
        label: "] [",
        help: "τ +{step} / -{step}",
        hint: hint("[ ]", "τ"),
    },
    KeyBinding {
        mode: M::Global,
        keys: &[
            (Char('}'), C::DialThreshold(THRESHOLD_BIG_STEP)),
            (Char('{'), C::DialThreshold(-THRESHOLD_BIG_STEP)),
        ],
        label: "} {",
        help: "τ ±{step} (with shift)",
        hint: None,
    },
    KeyBinding {
        mode: M::Global,
        keys: &[
            (Char('='), C::DialWeight(WEIGHT_STEP)),
            (Char('-'), C::DialWeight(-WEIGHT_STEP)),
        ],
        label: "= -",
        help: "λ +{step} / -{step}",
        hint: hint("- =", "λ"),
    },
    KeyBinding {
        mode: M::Global,
        keys: &[
            (Char('+'), C::DialWeight(WEIGHT_BIG_STEP)),
            (Char('_'), C::DialWeight(-WEIGHT_BIG_STEP)),
        ],
        label: "+ _",
        help: "λ ±{step} (with shift)",
        hint: None,
    },
    KeyBinding {
        mode: M::Global,
        keys: &[(Char('p'), C::TogglePause)],
        label: "p",
        help: "pause / resume training",
        hint: hint("p", "pause"),
    },
    KeyBinding {
        mode: M::Global,
        keys: &[(Char('s'), C::SaveCheckpoint)],
        label: "s",
        help: "save a checkpoint now",
        hint: hint("s", "save"),
    },
    KeyBinding {
        mode: M::Global,
        keys: &[(Char('i'), C::ToggleInspector)],
        label: "i",
        help: "inspector / dashboard",
        hint: hint("i", "inspector"),
    },
    KeyBinding {
        mode: M::Dashboard,
        keys: &[
            (Code(KeyCode::Tab), C::FocusNext),
            (Code(KeyCode::BackTab), C::FocusPrev),
        ],
        label: "tab S-tab",
        help: "move focus (tabs if small)",
        hint: hint("tab", "focus"),
    },
    KeyBinding {
        mode: M::Dashboard,
        keys: &[
            (Char('1'), C::FocusPanel(0)),
            (Char('2'), C::FocusPanel(1)),
            (Char('3'), C::FocusPanel(2)),
            (Char('4'), C::FocusPanel(3)),
            (Char('5'), C::FocusPanel(4)),
        ],
        label: "1-5",
        help: "focus a panel",
        hint: None,
    },
    KeyBinding {
        mode: M::Dashboard,
        keys: &[
            (Char(' '), C::ToggleFocused),
            (Code(KeyCode::Enter), C::ToggleFocused),
        ],
        label: "space",
        help: "toggle the focused panel",
        hint: hint("space", "toggle"),
    },
    KeyBinding {
        mode: M::Dashboard,
        keys: &[(Char('w'), C::ToggleLossWindow)],
        label: "w",
        help: "loss: recent / whole run",
        hint: None,
    },
    KeyBinding {
        mode: M::Dashboard,
        keys: &[(Char('n'), C::ToggleConfusionScale)],
        label: "n",
        help: "confusion: counts / row %",
        hint: None,
    },
    KeyBinding {
        mode: M::Dashboard,
        keys: &[(Char('v'), C::ToggleConfusionSplit)],
        label: "v",
        help: "confusion: validation/test",
        hint: None,
    },
    KeyBinding {
        mode: M::Dashboard,
        keys: &[
            (Code(KeyCode::Up), C::FocusedUp),
            (Char('k'), C::FocusedUp),
            (Code(KeyCode::Down), C::FocusedDown),
            (Char('j'), C::FocusedDown),
            (Code(KeyCode::End), C::ScrollLogEnd),
        ],
        label: "↑ ↓ end",
        help: "scroll log / select class",
        hint: hint("↑↓", "class"),
    },
    KeyBinding {
        mode: M::Dashboard,
        keys: &[
            (Code(KeyCode::Left), C::DialClassThreshold(-THRESHOLD_STEP)),
            (Code(KeyCode::Right), C::DialClassThreshold(THRESHOLD_STEP)),
        ],
        label: "← →",
        help: "class τ -{step} / +{step}",
        hint: hint("← →", "class τ"),
    },
    KeyBinding {
        mode: M::Dashboard,
        keys: &[
            (Code(KeyCode::Backspace), C::ClearClassThreshold),
            (Code(KeyCode::Delete), C::ClearClassThreshold),
        ],
        label: "bksp del",
        help: "class τ back to the policy",
        hint: hint("bksp", "policy"),
    },
    KeyBinding {
        mode: M::Inspector,
        keys: &[
            (Code(KeyCode::Up), C::MoveSelection(-1)),
            (Char('k'), C::MoveSelection(-1)),
            (Code(KeyCode::Down), C::MoveSelection(1)),
            (Char('j'), C::MoveSelection(1)),
        ],
        label: "↑↓ jk",
        help: "select a sample",
        hint: hint("↑↓", "select"),
    },
    KeyBinding {
        mode: M::Inspector,
        keys: &[
            (Code(KeyCode::PageUp), C::MoveSelection(-(PAGE as isize))),
            (Code(KeyCode::PageDown), C::MoveSelection(PAGE as isize)),
        ],
        label: "PgUp PgDn",
        help: "move by {step}",
        hint: None,
    },
    KeyBinding {
        mode: M::Inspector,
        keys: &[
            (Code(KeyCode::Home), C::SelectFirst),
            (Char('g'), C::SelectFirst),
            (Code(KeyCode::End), C::SelectLast),
            (Char('G'), C::SelectLast),
        ],
        label: "Home End",
        help: "first / last",
        hint: None,
    },
    KeyBinding {
        mode: M::Inspector,
        keys: &[
            (Code(KeyCode::Tab), C::SwitchList),
            (Code(KeyCode::BackTab), C::SwitchList),
        ],
        label: "tab",
        help: "rejected / accepted list",
        hint: hint("tab", "list"),
    },
    KeyBinding {
        mode: M::Inspector,
        keys: &[(Char('f'), C::FilterNext), (Char('F'), C::FilterPrev)],
        label: "f F",
        help: "filter: next/prev class",
        hint: hint("f", "class"),
    },
    KeyBinding {
        mode: M::Inspector,
        keys: &[(Char('o'), C::CycleSort)],
        label: "o",
        help: "order: τ/outlier/uncertain",
        hint: None,
    },
    KeyBinding {
        mode: M::Inspector,
        keys: &[(Char('a'), C::AcceptSample)],
        label: "a",
        help: "accept, predicted label",
        hint: hint("a", "accept"),
    },
    KeyBinding {
        mode: M::Inspector,
        keys: &[(Char('l'), C::OpenLabelPicker)],
        label: "l",
        help: "label as… (0-9/↑↓ enter)",
        hint: hint("l", "label"),
    },
    KeyBinding {
        mode: M::Inspector,
        keys: &[(Char('x'), C::ExcludeSample)],
        label: "x",
        help: "exclude as an outlier",
        hint: hint("x", "exclude"),
    },
    KeyBinding {
        mode: M::Inspector,
        keys: &[(Char('c'), C::ToggleGrey)],
        label: "c",
        help: "image: colour / grey",
        hint: None,
    },
    KeyBinding {
        mode: M::Inspector,
        keys: &[(Code(KeyCode::Esc), C::LeaveInspector)],
        label: "esc",
        help: "back to the dashboard",
        hint: hint("esc", "back"),
    },
    KeyBinding {
        mode: M::Picker,
        keys: &[
            (Code(KeyCode::Up), C::PickerUp),
            (Char('k'), C::PickerUp),
            (Code(KeyCode::Down), C::PickerDown),
            (Char('j'), C::PickerDown),
            (Code(KeyCode::Enter), C::PickerChoose),
        ],
        label: "↑↓ enter",
        help: "highlight a class, choose it",
        hint: hint("↑↓ enter", ""),
    },
    KeyBinding {
        mode: M::Picker,
        keys: &[
            (Char('0'), C::PickClass(0)),
            (Char('1'), C::PickClass(1)),
            (Char('2'), C::PickClass(2)),
            (Char('3'), C::PickClass(3)),
            (Char('4'), C::PickClass(4)),
            (Char('5'), C::PickClass(5)),
            (Char('6'), C::PickClass(6)),
            (Char('7'), C::PickClass(7)),
            (Char('8'), C::PickClass(8)),
            (Char('9'), C::PickClass(9)),
        ],
        label: "0-9",
        help: "label with this class",
        hint: hint("0-9", ""),
    },
    KeyBinding {
        mode: M::Picker,
        keys: &[
            (Code(KeyCode::Esc), C::PickerCancel),
            (Char('q'), C::PickerCancel),
        ],
        label: "esc",
        help: "cancel",
        hint: hint("esc", "cancel"),
    },
    KeyBinding {
        mode: M::Confirm,
        keys: &[
            (Char('y'), C::ConfirmStop),
            (Char('Y'), C::ConfirmStop),
            (Code(KeyCode::Enter), C::ConfirmStop),
        ],
        label: "y",
        help: "stop (checkpoint) and quit",
        hint: hint("y", "yes"),
    },
    KeyBinding {
        mode: M::Confirm,
        keys: &[
            (Char('n'), C::CancelQuit),
            (Char('N'), C::CancelQuit),
            (Code(KeyCode::Esc), C::CancelQuit),
            (Char('q'), C::CancelQuit),
        ],
        label: "n",
        help: "keep training",
        hint: hint("n", "no"),
    },
];

/// Sections of the help overlay and the modes each lists.
pub const HELP_SECTIONS: [(&str, &[KeyMode]); 3] = [
    ("Everywhere", &[KeyMode::Always, KeyMode::Global]),
    ("Dashboard", &[KeyMode::Dashboard]),
    ("Inspector", &[KeyMode::Inspector]),
];

/// The key hints of each context, as commands in the order shown (each names the table line
/// that binds it in that context).
pub const HINT_ORDER: [(KeyMode, &[Command]); 4] = [
    (
        KeyMode::Dashboard,
        &[
            C::ShowHelp,
            C::AskQuit,
            C::TogglePause,
            C::SaveCheckpoint,
            C::ToggleInspector,
            C::DialThreshold(THRESHOLD_STEP),
            C::DialWeight(WEIGHT_STEP),
            C::FocusNext,
            C::ToggleFocused,
        ],
    ),
    (
        KeyMode::Inspector,
        &[
            C::ShowHelp,
            C::MoveSelection(-1),
            C::SwitchList,
            C::FilterNext,
            C::AcceptSample,
            C::OpenLabelPicker,
            C::ExcludeSample,
            C::DialThreshold(THRESHOLD_STEP),
            C::LeaveInspector,
        ],
    ),
    (
        KeyMode::Picker,
        &[C::PickerUp, C::PickClass(0), C::PickerCancel],
    ),
    (KeyMode::Confirm, &[C::ConfirmStop, C::CancelQuit]),
];

/// The hints the pseudo-label panel shows on its border when focused (dashboard keys that act
/// on its selected class).
pub const PSEUDO_PANEL_HINTS: [Command; 3] = [
    C::FocusedDown,
    C::DialClassThreshold(THRESHOLD_STEP),
    C::ClearClassThreshold,
];

/// The table lines whose keys work in `context`.
pub fn bindings_in(context: KeyMode) -> impl Iterator<Item = &'static KeyBinding> {
    KEYS.iter().filter(move |b| b.mode.active_in(context))
}

/// The command a key press runs in `context` (one of `Dashboard`, `Inspector`, `Picker`,
/// `Confirm`); `Always` bindings come first.
pub fn lookup(context: KeyMode, key: &KeyEvent) -> Option<Command> {
    let find = |bindings: &mut dyn Iterator<Item = &'static KeyBinding>| {
        bindings
            .flat_map(|b| b.keys.iter())
            .find(|(k, _)| k.matches(key))
            .map(|(_, c)| *c)
    };
    find(&mut KEYS.iter().filter(|b| b.mode == KeyMode::Always))
        .or_else(|| find(&mut bindings_in(context)))
}

/// A section of the help overlay: its title and lines `(keys, what they do)`.
pub type HelpSection = (&'static str, Vec<(&'static str, String)>);

/// The help overlay, by section.
pub fn help_sections() -> Vec<HelpSection> {
    HELP_SECTIONS
        .iter()
        .map(|(title, modes)| {
            let lines = KEYS
                .iter()
                .filter(|b| modes.contains(&b.mode))
                .map(|b| (b.label, b.help_text()))
                .collect();
            (*title, lines)
        })
        .collect()
}

/// The key hints of `context`, in order.
pub fn hints(context: KeyMode) -> Vec<Hint> {
    let order = HINT_ORDER
        .iter()
        .find(|(mode, _)| *mode == context)
        .map_or(&[][..], |(_, order)| *order);
    hints_for(context, order)
}

/// The hints of `commands` among the bindings of `context`, in order.
pub fn hints_for(context: KeyMode, commands: &[Command]) -> Vec<Hint> {
    commands
        .iter()
        .filter_map(|command| {
            bindings_in(context)
                .find(|b| b.keys.iter().any(|(_, c)| c == command))
                .and_then(|b| b.hint)
        })
        .collect()
}

/// The key bar of a screen: `keys:word` hints separated by spaces.
pub fn key_bar(context: KeyMode) -> String {
    hints(context)
        .iter()
        .map(|h| format!("{}:{}", h.keys, h.word))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests;
