use std::mem::discriminant;

use super::*;

/// The contexts a key can be pressed in.
const CONTEXTS: [KeyMode; 4] = [
    KeyMode::Dashboard,
    KeyMode::Inspector,
    KeyMode::Picker,
    KeyMode::Confirm,
];

/// One of every command. The match has no wildcard: a new command does not compile until it is
/// listed here, and the tests below then require a key and a help line for it.
fn every_command() -> Vec<Command> {
    let all = vec![
        C::Interrupt,
        C::ShowHelp,
        C::AskQuit,
        C::DialThreshold(THRESHOLD_STEP),
        C::DialWeight(WEIGHT_STEP),
        C::TogglePause,
        C::SaveCheckpoint,
        C::ToggleInspector,
        C::FocusNext,
        C::FocusPrev,
        C::FocusPanel(0),
        C::ToggleFocused,
        C::ToggleLossWindow,
        C::ToggleConfusionScale,
        C::ToggleConfusionSplit,
        C::FocusedUp,
        C::FocusedDown,
        C::ScrollLogEnd,
        C::DialClassThreshold(THRESHOLD_STEP),
        C::ClearClassThreshold,
        C::CycleSort,
        C::MoveSelection(1),
        C::SelectFirst,
        C::SelectLast,
        C::SwitchList,
        C::FilterNext,
        C::FilterPrev,
        C::AcceptSample,
        C::OpenLabelPicker,
        C::ExcludeSample,
        C::ToggleGrey,
        C::LeaveInspector,
        C::PickerUp,
        C::PickerDown,
        C::PickerChoose,
        C::PickClass(0),
        C::PickerCancel,
        C::ConfirmStop,
        C::CancelQuit,
    ];
    for c in &all {
        match c {
            C::Interrupt
            | C::ShowHelp
            | C::AskQuit
            | C::DialThreshold(_)
            | C::DialWeight(_)
            | C::TogglePause
            | C::SaveCheckpoint
            | C::ToggleInspector
            | C::FocusNext
            | C::FocusPrev
            | C::FocusPanel(_)
            | C::ToggleFocused
            | C::ToggleLossWindow
            | C::ToggleConfusionScale
            | C::ToggleConfusionSplit
            | C::FocusedUp
            | C::FocusedDown
            | C::ScrollLogEnd
            | C::DialClassThreshold(_)
            | C::ClearClassThreshold
            | C::CycleSort
            | C::MoveSelection(_)
            | C::SelectFirst
            | C::SelectLast
            | C::SwitchList
            | C::FilterNext
            | C::FilterPrev
            | C::AcceptSample
            | C::OpenLabelPicker
            | C::ExcludeSample
            | C::ToggleGrey
            | C::LeaveInspector
            | C::PickerUp
            | C::PickerDown
            | C::PickerChoose
            | C::PickClass(_)
            | C::PickerCancel
            | C::ConfirmStop
            | C::CancelQuit => {}
        }
    }
    all
}

/// The keys a help label or hint names (`"↑↓ jk"`: up, down, j, k).
fn named_keys(text: &str) -> Vec<Key> {
    let mut keys = Vec::new();
    for token in text.split_whitespace() {
        let code = |c| vec![Code(c)];
        let found = match token {
            "tab" => code(KeyCode::Tab),
            "S-tab" => code(KeyCode::BackTab),
            "esc" => code(KeyCode::Esc),
            "enter" => code(KeyCode::Enter),
            "end" | "End" => code(KeyCode::End),
            "Home" => code(KeyCode::Home),
            "PgUp" => code(KeyCode::PageUp),
            "PgDn" => code(KeyCode::PageDown),
            "↑" => code(KeyCode::Up),
            "↓" => code(KeyCode::Down),
            "↑↓" => vec![Code(KeyCode::Up), Code(KeyCode::Down)],
            "←" => code(KeyCode::Left),
            "→" => code(KeyCode::Right),
            "bksp" => code(KeyCode::Backspace),
            "del" => code(KeyCode::Delete),
            "space" => vec![Char(' ')],
            "Ctrl-C" => vec![Ctrl('c')],
            "jk" => vec![Char('j'), Char('k')],
            "1-5" => ('1'..='5').map(Char).collect(),
            "0-9" => ('0'..='9').map(Char).collect(),
            t if t.chars().count() == 1 => t.chars().map(Char).collect(),
            t => panic!("no key is named {t:?}"),
        };
        keys.extend(found);
    }
    keys
}

fn bound(b: &KeyBinding, key: Key) -> bool {
    b.keys.iter().any(|(k, _)| *k == key)
}

fn shown_in_help(b: &KeyBinding) -> bool {
    HELP_SECTIONS
        .iter()
        .any(|(_, modes)| modes.contains(&b.mode))
}

#[test]
fn every_command_has_a_key_and_appears_in_help() {
    for command in every_command() {
        let lines: Vec<&KeyBinding> = KEYS
            .iter()
            .filter(|b| {
                b.keys
                    .iter()
                    .any(|(_, c)| discriminant(c) == discriminant(&command))
            })
            .collect();
        assert!(!lines.is_empty(), "{command:?} has no key");
        let documented = lines.iter().any(|b| {
            let overlay = help_sections()
                .iter()
                .flat_map(|(_, l)| l.clone())
                .any(|(label, text)| label == b.label && text == b.help_text());
            let hinted = b.hint.is_some_and(|h| hints(b.mode).contains(&h));
            (shown_in_help(b) && overlay) || hinted
        });
        assert!(
            documented,
            "{command:?} is neither in the help overlay nor in its dialog's hints"
        );
    }
}

#[test]
fn labels_and_hints_name_only_keys_of_their_line() {
    for b in KEYS {
        for key in named_keys(b.label) {
            assert!(
                bound(b, key),
                "{:?} names {key:?}, not bound there",
                b.label
            );
        }
        if let Some(h) = b.hint {
            for key in named_keys(h.keys) {
                assert!(bound(b, key), "hint {:?} names {key:?}", h.keys);
            }
        }
    }
}

#[test]
fn no_key_runs_two_commands_in_one_context() {
    for context in CONTEXTS {
        let keys: Vec<Key> = bindings_in(context)
            .flat_map(|b| b.keys.iter().map(|(k, _)| *k))
            .collect();
        for (i, k) in keys.iter().enumerate() {
            assert!(!keys[i + 1..].contains(k), "{k:?} twice in {context:?}");
        }
    }
}

#[test]
fn help_text_shows_the_steps_the_keys_apply() {
    let help: Vec<(&str, String)> = help_sections()
        .into_iter()
        .flat_map(|(_, lines)| lines)
        .collect();
    let line = |label: &str| {
        help.iter()
            .find(|(l, _)| *l == label)
            .map(|(_, t)| t.clone())
            .unwrap()
    };
    let t = THRESHOLD_STEP;
    assert_eq!(line("] ["), format!("τ +{t:.2} / -{t:.2}"));
    assert_eq!(
        line("} {"),
        format!("τ ±{THRESHOLD_BIG_STEP:.2} (with shift)")
    );
    let w = WEIGHT_STEP;
    assert_eq!(line("= -"), format!("λ +{w:.2} / -{w:.2}"));
    assert_eq!(line("+ _"), format!("λ ±{WEIGHT_BIG_STEP:.2} (with shift)"));
    assert_eq!(line("PgUp PgDn"), format!("move by {PAGE}"));
    assert_eq!(line("← →"), format!("class τ -{t:.2} / +{t:.2}"));
    assert!(help.iter().all(|(_, text)| !text.contains('{')));
}

#[test]
fn every_hint_names_a_line_of_its_context() {
    for (context, order) in HINT_ORDER {
        assert_eq!(hints(context).len(), order.len(), "{context:?}");
    }
    assert_eq!(
        key_bar(KeyMode::Dashboard),
        "?:help q:quit p:pause s:save i:inspector [ ]:τ - =:λ tab:focus space:toggle"
    );
    let panel: Vec<String> = hints_for(KeyMode::Dashboard, &PSEUDO_PANEL_HINTS)
        .iter()
        .map(|h| format!("{}:{}", h.keys, h.word))
        .collect();
    assert_eq!(panel, ["↑↓:class", "← →:class τ", "bksp:policy"]);
    assert_eq!(
        key_bar(KeyMode::Inspector),
        "?:help ↑↓:select tab:list f:class a:accept l:label x:exclude [ ]:τ esc:back"
    );
}

#[test]
fn lookup_follows_the_context_and_ctrl_c_wins_everywhere() {
    let press = |code, modifiers| KeyEvent::new(code, modifiers);
    let ctrl_c = press(KeyCode::Char('c'), KeyModifiers::CONTROL);
    for context in CONTEXTS {
        assert_eq!(lookup(context, &ctrl_c), Some(C::Interrupt));
    }
    let c = press(KeyCode::Char('c'), KeyModifiers::NONE);
    assert_eq!(lookup(KeyMode::Inspector, &c), Some(C::ToggleGrey));
    assert_eq!(lookup(KeyMode::Dashboard, &c), None);
    let brace = press(KeyCode::Char('{'), KeyModifiers::SHIFT);
    assert_eq!(
        lookup(KeyMode::Dashboard, &brace),
        Some(C::DialThreshold(-THRESHOLD_BIG_STEP))
    );
    assert_eq!(
        lookup(KeyMode::Picker, &brace),
        None,
        "dialogs take no globals"
    );
    let q = press(KeyCode::Char('q'), KeyModifiers::NONE);
    assert_eq!(lookup(KeyMode::Confirm, &q), Some(C::CancelQuit));
    assert_eq!(lookup(KeyMode::Picker, &q), Some(C::PickerCancel));
    assert_eq!(lookup(KeyMode::Inspector, &q), Some(C::AskQuit));
}
