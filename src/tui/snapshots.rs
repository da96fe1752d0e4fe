//! Every panel and view drawn from the recorded fixture into ratatui's `TestBackend`, compared
//! with the committed insta snapshots (`src/tui/snapshots/`).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use crate::tui::app::{App, Mode, Panel};
use crate::tui::fixture;
use crate::tui::layout;

fn draw(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| layout::draw(f, app)).unwrap();
    terminal
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    draw(app, width, height).backend().to_string()
}

fn panel(app: &App, which: Panel, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| layout::draw_panel(f, f.area(), app, which, true))
        .unwrap();
    terminal.backend().to_string()
}

fn press(app: &mut App, keys: &str) {
    for c in keys.chars() {
        app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
}

fn press_code(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

#[test]
fn dashboard() {
    for (w, h) in SIZES.into_iter().chain([(120, 40)]) {
        let mut app = fixture::live_app();
        insta::assert_snapshot!(format!("dashboard_{w}x{h}"), screen(&mut app, w, h));
    }
}

#[test]
fn dashboard_with_pending_threshold_and_weight() {
    let mut app = fixture::live_app();
    press(&mut app, "[[=p");
    let terminal = draw(&mut app, 120, 40);
    insta::assert_snapshot!("dashboard_pending_120x40", terminal.backend().to_string());
    // The pending values are drawn distinctly (yellow).
    let buf = terminal.backend().buffer();
    let line: String = (0..buf.area.width)
        .map(|x| buf[(x, 1)].symbol().to_string())
        .collect();
    let at = line
        .chars()
        .position(|c| c == '→')
        .expect("pending τ shown");
    assert_eq!(buf[(at as u16, 1)].fg, Color::Yellow);
}

#[test]
fn every_panel_alone() {
    for which in Panel::ALL {
        for (w, h) in SIZES {
            let mut app = fixture::live_app();
            if which == Panel::Loss {
                insta::assert_snapshot!(format!("panel_loss_whole_{w}x{h}"), {
                    press(&mut app, "w");
                    panel(&app, which, w, h)
                });
                press(&mut app, "w");
            }
            if which == Panel::Confusion {
                press(&mut app, "n");
                insta::assert_snapshot!(
                    format!("panel_confusion_normalised_{w}x{h}"),
                    panel(&app, which, w, h)
                );
                press(&mut app, "nv");
            }
            // The confusion panel is left on the test split (`v` above).
            let name = match which {
                Panel::Confusion => format!("panel_confusion_test_{w}x{h}"),
                _ => format!("panel_{}_{w}x{h}", which.title().to_lowercase()),
            };
            if which == Panel::Confusion {
                let text = panel(&app, which, w, h);
                assert!(text.contains("Confusion · test ·"), "{text}");
            }
            insta::assert_snapshot!(name, panel(&app, which, w, h));
        }
    }
}

#[test]
fn tabs_follow_the_focus_on_small_terminals() {
    let mut app = fixture::live_app();
    for n in 2..=5 {
        press_code(&mut app, KeyCode::Tab);
        insta::assert_snapshot!(format!("tab_{n}_80x24"), screen(&mut app, 80, 24));
    }
}

#[test]
fn inspector() {
    for (w, h) in SIZES.into_iter().chain([(120, 40)]) {
        let mut app = fixture::live_app();
        press(&mut app, "i");
        insta::assert_snapshot!(format!("inspector_{w}x{h}"), screen(&mut app, w, h));
    }
}

#[test]
fn inspector_actions_filter_and_accepted_list() {
    let mut app = fixture::live_app();
    press(&mut app, "ia");
    press_code(&mut app, KeyCode::Down);
    press(&mut app, "x");
    insta::assert_snapshot!("inspector_actions_80x24", screen(&mut app, 80, 24));
    press(&mut app, "ff");
    press_code(&mut app, KeyCode::Tab);
    insta::assert_snapshot!(
        "inspector_accepted_filtered_160x48",
        screen(&mut app, 160, 48)
    );
    press(&mut app, "l");
    insta::assert_snapshot!("inspector_label_picker_80x24", screen(&mut app, 80, 24));
}

#[test]
fn overlays() {
    for (w, h) in SIZES {
        let mut app = fixture::live_app();
        press(&mut app, "?");
        insta::assert_snapshot!(format!("help_{w}x{h}"), screen(&mut app, w, h));
    }
    let mut app = fixture::live_app();
    press(&mut app, "q");
    insta::assert_snapshot!("quit_confirm_80x24", screen(&mut app, 80, 24));
}

#[test]
fn too_small_terminal_says_so() {
    let mut app = fixture::live_app();
    insta::assert_snapshot!("too_small_59x15", screen(&mut app, 59, 15));
    let text = screen(&mut app, 60, 16);
    assert!(!text.contains("too small"), "60×16 is usable:\n{text}");
}

#[test]
fn read_only_view() {
    let mut app = fixture::read_only_app();
    assert_eq!(app.mode, Mode::ReadOnly);
    insta::assert_snapshot!("view_dashboard_120x40", screen(&mut app, 120, 40));
    press(&mut app, "{");
    insta::assert_snapshot!("view_dashboard_what_if_80x24", {
        press(&mut app, "4");
        screen(&mut app, 80, 24)
    });
    press(&mut app, "i");
    insta::assert_snapshot!("view_inspector_80x24", screen(&mut app, 80, 24));
}

#[test]
fn starting_and_finished_states() {
    let mut app = App::new(Mode::Live);
    insta::assert_snapshot!("empty_80x24", screen(&mut app, 80, 24));
    app.on_update(crate::train::events::Update::Started(fixture::info()));
    insta::assert_snapshot!("started_160x48", screen(&mut app, 160, 48));
    let mut app = fixture::live_app();
    app.on_update(crate::train::events::Update::Finished(fixture::summary(
        crate::run::StopReason::MaxRounds,
    )));
    insta::assert_snapshot!("finished_120x40", screen(&mut app, 120, 40));
}

#[test]
fn confident_rejections_are_explained_by_the_class_quota() {
    let mut app = fixture::live_app();
    // As the class-balanced policy does: a confident sample left out by its class quota.
    let i = (0..app.predictions.len())
        .find(|&i| app.predictions[i].accepted)
        .unwrap();
    let mut predictions = (*app.predictions).clone();
    predictions[i].accepted = false;
    let mut samples = app.samples.clone();
    samples[i].status = crate::tui::samples::SampleStatus::Rejected;
    app.set_predictions(
        app.predictions_round,
        std::sync::Arc::new(predictions),
        samples,
    );
    press(&mut app, "i");
    press_code(&mut app, KeyCode::Home);
    assert_eq!(
        app.selected_sample(),
        Some(i),
        "most confident rejection first"
    );
    let text = screen(&mut app, 160, 48);
    assert!(
        text.contains("rejected in round 2 (over its class quota)"),
        "{text}"
    );
}
