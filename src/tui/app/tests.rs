//! State transitions of [`App`]: keys in, controls out, updates applied.

use super::*;
use crate::run::{CheckpointReason, StopReason};
use crate::train::events::{AppliedControl, Update};
use crate::train::pseudo::{self, PolicySpec};
use crate::tui::event_log::LogLevel;
use crate::tui::fixture;
use crate::tui::inspector_list::{InspectorList, SortOrder};

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
    assert_eq!(app.controls.threshold, 0.9);
    assert_eq!(
        app.on_key(ch(']')),
        vec![Action::Send(Control::SetThreshold { value: 0.91 })]
    );
    assert_eq!(app.controls.pending_threshold, Some(0.91));
    assert_eq!(
        app.on_key(ch('{')),
        vec![Action::Send(Control::SetThreshold { value: 0.86 })]
    );
    assert_eq!(app.controls.pending_threshold, Some(0.86));
    assert_eq!(
        app.controls.threshold, 0.9,
        "not applied before the acknowledgement"
    );
    // The first acknowledgement is for an older value: still pending.
    app.on_update(applied(Control::SetThreshold { value: 0.91 }, None));
    assert_eq!(app.controls.threshold, 0.91);
    assert_eq!(app.controls.pending_threshold, Some(0.86));
    app.on_update(applied(Control::SetThreshold { value: 0.86 }, None));
    assert_eq!(app.controls.threshold, 0.86);
    assert_eq!(app.controls.pending_threshold, None);
    assert!(app.log.last().unwrap().text.contains("τ set to 0.86"));
}

#[test]
fn threshold_and_weight_keys_wait_for_the_run_to_start() {
    let mut app = App::new(Mode::Live);
    assert!(app.on_key(ch(']')).is_empty());
    assert!(app.on_key(ch('=')).is_empty());
    assert_eq!(app.controls.pending_threshold, None);
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
    assert_eq!(app.controls.pending_threshold, None);
    assert_eq!(app.controls.threshold, 0.9);
    assert_eq!(app.log.last().unwrap().level, LogLevel::Error);
}

/// `(accepted, known, correct)` of the engine's own what-if under the plain threshold rule with
/// the app's marks.
fn engine_what_if(app: &App, threshold: f32) -> (usize, usize, usize) {
    let info = app.info.as_ref().unwrap();
    let marks = acceptance::marks(&app.predictions, &app.samples, &app.marks);
    let w = pseudo::what_if(
        &pseudo::Threshold,
        &pseudo::RoundInput::new(
            &app.predictions,
            &marks,
            threshold,
            &info.labeled_per_class,
            info.classes.len(),
            app.predictions_round.max(1),
        ),
    );
    (w.accepted, w.known, w.correct)
}

#[test]
fn what_if_follows_the_dialled_threshold() {
    let mut app = fixture::live_app();
    let before = app.what_if.unwrap();
    assert_eq!(before.threshold, 0.9);
    let expected = engine_what_if(&app, 0.9);
    assert_eq!((before.accepted, before.known, before.correct), expected);
    app.on_key(ch('{'));
    let after = app.what_if.unwrap();
    assert_eq!(after.threshold, 0.85);
    assert_eq!(
        (after.accepted, after.known, after.correct),
        engine_what_if(&app, 0.85)
    );
    assert!(after.accepted >= before.accepted);
}

/// The live fixture as if the run had announced `policy` (or none, as older runs).
fn app_with_policy(policy: Option<PolicySpec>) -> App {
    let mut app = App::new(Mode::Live);
    for u in fixture::updates() {
        app.on_update(match u {
            Update::Started(mut info) => {
                info.policy = policy.clone();
                Update::Started(info)
            }
            other => other,
        });
    }
    app
}

#[test]
fn what_if_applies_the_policy_the_run_announced() {
    let app = app_with_policy(Some(PolicySpec::Threshold));
    let threshold = app.what_if.unwrap();
    assert_eq!(
        threshold.accepted,
        app.pseudo.as_ref().unwrap().accepted,
        "the fixture used τ alone"
    );
    assert_eq!(
        app_with_policy(None).what_if,
        Some(threshold),
        "older runs: the plain threshold rule"
    );
    let app = app_with_policy(Some(PolicySpec::ClassBalanced { balance_slack: 1.0 }));
    assert_eq!(
        app.policy(),
        PolicySpec::ClassBalanced { balance_slack: 1.0 }
    );
    let balanced = app.what_if.unwrap();
    assert!(
        balanced.accepted < threshold.accepted,
        "quotas cap the dominant classes"
    );
    assert!(balanced.known == balanced.accepted && balanced.correct <= balanced.known);
}

#[test]
fn what_if_counts_the_users_marks_as_the_engine_would() {
    let mut app = fixture::live_app();
    app.screen = Screen::Inspector;
    let before = app.what_if.unwrap();
    // The most confident rejected sample, accepted by hand: one more pseudo-label once sent.
    app.on_key(key(KeyCode::Home));
    let i = app.selected_sample().unwrap();
    assert!(!app.predictions[i].accepted);
    assert_eq!(app.on_key(ch('a')).len(), 1);
    assert_eq!(app.what_if.unwrap().accepted, before.accepted + 1);
    // Refused by the trainer: back to the policy's verdict.
    let index = app.predictions[i].index;
    let class = app.predictions[i].predicted();
    app.on_update(applied(
        Control::AcceptSample { index, class },
        Some("no such sample"),
    ));
    assert_eq!(app.what_if.unwrap().accepted, before.accepted);
}

#[test]
fn weight_keys_send_and_wait_for_ack() {
    let mut app = fixture::live_app();
    assert_eq!(
        app.controls.pseudo_weight, 0.8,
        "set during round 1 of the fixture"
    );
    assert_eq!(
        app.on_key(ch('=')),
        vec![Action::Send(Control::SetPseudoWeight { value: 0.85 })]
    );
    assert_eq!(
        app.on_key(ch('_')),
        vec![Action::Send(Control::SetPseudoWeight { value: 0.6 })]
    );
    assert_eq!(app.controls.pending_weight, Some(0.6));
    for _ in 0..10 {
        app.on_key(ch('_'));
    }
    assert_eq!(app.controls.pending_weight, Some(0.0), "never below 0");
    app.on_update(applied(Control::SetPseudoWeight { value: 0.6 }, None));
    assert_eq!(app.controls.pseudo_weight, 0.6);
    assert_eq!(
        app.controls.pending_weight,
        Some(0.0),
        "an older acknowledgement"
    );
    app.on_update(applied(Control::SetPseudoWeight { value: 0.0 }, None));
    assert_eq!(app.controls.pending_weight, None);
}

#[test]
fn pause_toggles_with_pending_state() {
    let mut app = fixture::live_app();
    assert_eq!(app.on_key(ch('p')), vec![Action::Send(Control::Pause)]);
    assert_eq!(app.controls.pending_pause, Some(true));
    assert!(!app.controls.paused);
    assert_eq!(app.on_key(ch('p')), vec![Action::Send(Control::Resume)]);
    assert_eq!(
        app.controls.pending_pause, None,
        "back to the state in force"
    );
    assert_eq!(app.on_key(ch('p')), vec![Action::Send(Control::Pause)]);
    app.on_update(applied(Control::Pause, None));
    assert!(app.controls.paused);
    assert_eq!(app.controls.pending_pause, None);
    assert_eq!(app.on_key(ch('p')), vec![Action::Send(Control::Resume)]);
}

#[test]
fn save_sends_a_checkpoint_request() {
    let mut app = fixture::live_app();
    assert_eq!(
        app.on_key(ch('s')),
        vec![Action::Send(Control::SaveCheckpoint)]
    );
    assert!(app.controls.checkpoint_pending);
    app.on_update(Update::Checkpoint {
        path: "/r/last.bpk".into(),
        reason: CheckpointReason::Requested,
        global_step: 7,
    });
    assert!(!app.controls.checkpoint_pending);
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
    assert_eq!(app.controls.preview_threshold, Some(0.85));
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

/// The engine's own what-if under `spec` with the app's marks, at `threshold`, with these
/// per-class thresholds.
fn engine_what_if_with(
    app: &App,
    spec: &PolicySpec,
    threshold: f32,
    overrides: &[Option<f32>],
) -> (usize, usize, usize) {
    let info = app.info.as_ref().unwrap();
    let marks = acceptance::marks(&app.predictions, &app.samples, &app.marks);
    let w = pseudo::what_if(
        spec.build().as_ref(),
        &pseudo::RoundInput {
            class_overrides: overrides,
            ..pseudo::RoundInput::new(
                &app.predictions,
                &marks,
                threshold,
                &info.labeled_per_class,
                info.classes.len(),
                app.predictions_round.max(1),
            )
        },
    );
    (w.accepted, w.known, w.correct)
}

fn counts(w: WhatIf) -> (usize, usize, usize) {
    (w.accepted, w.known, w.correct)
}

#[test]
fn a_class_threshold_is_dialled_on_the_focused_panel_and_pending_until_acknowledged() {
    let mut app = fixture::live_app();
    // Not focused: nothing is sent, the flash says where to go.
    assert!(app.on_key(key(KeyCode::Right)).is_empty());
    assert!(app.flash.as_ref().unwrap().contains("pseudo-label panel"));
    app.on_key(ch('4'));
    assert_eq!(app.focus, Panel::Pseudo);
    app.on_key(key(KeyCode::Down));
    app.on_key(ch('j'));
    assert_eq!(app.class_cursor, 2);
    // From the τ the round applied to the class (0.90), one step at a time.
    assert_eq!(
        app.on_key(key(KeyCode::Left)),
        vec![Action::Send(Control::SetClassThreshold {
            class: 2,
            value: Some(0.89)
        })]
    );
    assert_eq!(
        app.on_key(key(KeyCode::Left)),
        vec![Action::Send(Control::SetClassThreshold {
            class: 2,
            value: Some(0.88)
        })]
    );
    assert_eq!(app.controls.pending_class.get(&2), Some(&Some(0.88)));
    assert_eq!(app.controls.class_threshold(2), None, "not before the ack");
    assert_eq!(
        app.controls.dialled_class_thresholds(),
        vec![None, None, Some(0.88)]
    );
    // An older acknowledgement keeps the newer value pending.
    let set = |value| Control::SetClassThreshold { class: 2, value };
    app.on_update(applied(set(Some(0.89)), None));
    assert_eq!(app.controls.class_threshold(2), Some(0.89));
    assert!(app.controls.class_pending(2));
    app.on_update(applied(set(Some(0.88)), None));
    assert_eq!(app.controls.class_threshold(2), Some(0.88));
    assert!(!app.controls.class_pending(2));
    assert!(
        app.log
            .last()
            .unwrap()
            .text
            .contains("τ of `2-pullover` set to 0.88 (applies next round)")
    );
    // Back to the policy: sent, pending, then gone once acknowledged.
    assert_eq!(
        app.on_key(key(KeyCode::Backspace)),
        vec![Action::Send(set(None))]
    );
    assert_eq!(app.controls.pending_class.get(&2), Some(&None));
    assert_eq!(app.controls.dialled_class(2), None);
    app.on_update(applied(set(None), None));
    assert!(app.controls.class_thresholds.is_empty());
    assert!(!app.controls.any_class_pending());
    assert!(
        app.on_key(key(KeyCode::Delete)).is_empty(),
        "already the policy's"
    );
    // ↑ stops at the first class; in the log panel the same keys scroll the log instead.
    for _ in 0..5 {
        app.on_key(key(KeyCode::Up));
    }
    assert_eq!(app.class_cursor, 0);
    app.on_key(ch('5'));
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.class_cursor, 0);
}

#[test]
fn a_refused_class_threshold_leaves_the_policy_in_charge() {
    let mut app = fixture::live_app();
    app.on_key(ch('4'));
    let sent = app.on_key(key(KeyCode::Right));
    let [Action::Send(control)] = &sent[..] else {
        panic!("{sent:?}")
    };
    app.on_update(applied(control.clone(), Some("class 0 does not exist")));
    assert_eq!(app.controls.class_threshold(0), None);
    assert!(!app.controls.any_class_pending());
}

#[test]
fn the_what_if_line_decides_with_the_class_thresholds_in_force_and_sent() {
    let mut app = fixture::live_app();
    let before = counts(app.what_if.unwrap());
    app.on_key(ch('4'));
    // Class 0 down to 0.82: its samples between 0.82 and 0.90 join.
    for _ in 0..8 {
        app.on_key(key(KeyCode::Left));
    }
    let want = app.controls.dialled_class(0).unwrap();
    assert!((want - 0.82).abs() < 1e-6, "{want}");
    let overrides = [Some(want)];
    assert_eq!(
        counts(app.what_if.unwrap()),
        engine_what_if_with(&app, &PolicySpec::Threshold, 0.9, &overrides)
    );
    assert!(app.what_if.unwrap().accepted > before.0);
    assert!((app.what_if_thresholds[0] - 0.82).abs() < 1e-6);
    assert_eq!(app.what_if_thresholds[1], 0.9);
    // Acknowledged: still in the decision.
    app.on_update(applied(
        Control::SetClassThreshold {
            class: 0,
            value: Some(want),
        },
        None,
    ));
    assert_eq!(
        counts(app.what_if.unwrap()),
        engine_what_if_with(&app, &PolicySpec::Threshold, 0.9, &overrides)
    );
}

#[test]
fn read_only_class_thresholds_only_move_the_what_if_line() {
    let mut app = fixture::read_only_app();
    let before = app.what_if.unwrap().accepted;
    app.on_key(ch('4'));
    for _ in 0..20 {
        assert!(app.on_key(key(KeyCode::Left)).is_empty());
    }
    assert!(
        app.flash
            .as_ref()
            .unwrap()
            .contains("only moves the what-if line")
    );
    assert_eq!(app.controls.preview_class.get(&0), Some(&Some(0.7)));
    assert!(app.controls.pending_class.is_empty());
    assert!(app.what_if.unwrap().accepted > before);
    app.on_key(key(KeyCode::Backspace));
    assert_eq!(app.what_if.unwrap().accepted, before);
}

#[test]
fn the_dial_moves_the_policys_own_parameter_as_a_preview() {
    let mut app = app_with_policy(Some(PolicySpec::Curriculum { step: 0.2 }));
    let before = app.what_if.unwrap();
    assert!(
        app.on_key(ch(']')).is_empty(),
        "no control changes the step"
    );
    assert_eq!(app.param_preview, Some(0.21));
    assert_eq!(app.controls.pending_threshold, None);
    assert!(app.flash.as_ref().unwrap().contains("preview"));
    app.on_key(ch('}'));
    assert_eq!(app.param_preview, Some(0.26));
    let spec = PolicySpec::Curriculum { step: 0.26 };
    assert_eq!(
        counts(app.what_if.unwrap()),
        engine_what_if_with(&app, &spec, 0.9, &[])
    );
    assert!(app.what_if.unwrap().accepted > before.accepted);
    // Back to the run's own step: no preview left.
    app.on_key(ch('{'));
    app.on_key(ch('['));
    assert_eq!(app.param_preview, None);
    assert_eq!(app.what_if.unwrap(), before);

    let mut app = app_with_policy(Some(PolicySpec::Uncertainty {
        passes: 4,
        kappa: 0.05,
    }));
    app.on_key(ch('{'));
    assert_eq!(app.param_preview, Some(0.0));
    assert_eq!(
        app.dialled_policy(),
        PolicySpec::Uncertainty {
            passes: 4,
            kappa: 0.0
        }
    );

    let mut app = app_with_policy(Some(PolicySpec::Softmatch));
    let before = app.what_if.unwrap();
    assert!(app.on_key(ch(']')).is_empty());
    assert!(app.flash.as_ref().unwrap().contains("nothing to dial"));
    assert_eq!(app.what_if.unwrap(), before);
    assert!(before.effective < before.accepted as f32, "soft weights");
}

#[test]
fn the_inspector_sorts_by_outlier_score_and_uncertainty_when_the_round_has_them() {
    let mut app = fixture::live_app();
    app.on_key(ch('i'));
    app.on_key(ch('o'));
    assert_eq!(app.inspector.sort, SortOrder::NearestThreshold);
    assert!(app.flash.as_ref().unwrap().contains("no outlier"));
    let mut predictions = (*app.predictions).clone();
    for (i, p) in predictions.iter_mut().enumerate() {
        p.outlier = (i % 3 != 0).then_some((i * 7 % 11) as f32);
        p.uncertainty = Some((i % 5) as f32 / 10.0);
    }
    let samples = app.samples.clone();
    app.set_predictions(app.predictions_round, Arc::new(predictions), samples);
    app.on_key(ch('o'));
    assert_eq!(app.inspector.sort, SortOrder::Outlier);
    let scores: Vec<Option<f32>> = app
        .inspector
        .rows
        .iter()
        .map(|&r| app.predictions[r].outlier)
        .collect();
    let scored = scores.iter().take_while(|s| s.is_some()).count();
    assert!(
        scored > 0 && scores[scored..].iter().all(Option::is_none),
        "unscored last"
    );
    assert!(
        scores[..scored].windows(2).all(|w| w[0] >= w[1]),
        "most outlying first"
    );
    assert_eq!(app.inspector.selected, 0);
    app.on_key(ch('o'));
    assert_eq!(app.inspector.sort, SortOrder::Uncertainty);
    app.on_key(ch('o'));
    assert_eq!(app.inspector.sort, SortOrder::NearestThreshold);
}
