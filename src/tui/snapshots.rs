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

/// The live fixture with its latest round decided again by the engine under `policy` (its
/// verdicts and reasons written on the predictions, as a round of a new run carries them).
fn decided_by(policy: &dyn crate::train::pseudo::PseudoLabeller) -> App {
    decided_with(fixture::live_app(), policy, 0.0)
}

/// `app`'s latest round decided again by the engine under `policy` with this outlier filter:
/// its predictions, its round figures and the policy the run announces.
fn decided_with(
    mut app: App,
    policy: &dyn crate::train::pseudo::PseudoLabeller,
    outlier_fraction: f32,
) -> App {
    use crate::train::pseudo::{Mark, RoundInput, decide_round};
    use crate::train::pseudo_round::{PseudoLabels, round_update};
    let mut predictions = (*app.predictions).clone();
    let mut info = app.info.clone().unwrap();
    info.policy = Some(policy.spec());
    info.outlier_filter = outlier_fraction;
    app.info = Some(info.clone());
    let marks = vec![Mark::None; predictions.len()];
    let round = decide_round(
        policy,
        &RoundInput {
            outlier_fraction,
            ..RoundInput::new(
                &predictions,
                &marks,
                app.dialled_threshold(),
                &info.labeled_per_class,
                info.classes.len(),
                app.predictions_round.max(1),
            )
        },
    );
    round.mark(&mut predictions);
    let old = app.pseudo.clone().unwrap();
    let mut update = round_update(
        old.round,
        old.threshold,
        old.pseudo_weight,
        &round,
        PseudoLabels::default().commit(&round),
        Vec::new(),
    );
    update.newly_accepted = old.newly_accepted.min(update.accepted);
    update.dropped = old.dropped;
    app.pseudo = Some(update);
    let samples = app
        .samples
        .iter()
        .zip(&predictions)
        .map(|(s, p)| crate::tui::samples::SampleInfo {
            file: s.file.clone(),
            status: if p.accepted {
                crate::tui::samples::SampleStatus::Accepted
            } else {
                crate::tui::samples::SampleStatus::Rejected
            },
        })
        .collect();
    app.marks.clear();
    app.set_predictions(
        app.predictions_round,
        std::sync::Arc::new(predictions),
        samples,
    );
    app
}

#[test]
fn the_inspector_shows_the_engines_reason() {
    use crate::train::pseudo::{ClassBalanced, RejectReason};
    let mut app = decided_by(&ClassBalanced { balance_slack: 1.0 });
    // Wide enough for the reason on one line.
    press(&mut app, "i");
    press_code(&mut app, KeyCode::Home);
    let i = app.selected_sample().unwrap();
    assert_eq!(
        app.predictions[i].rejection,
        Some(RejectReason::OverQuota),
        "the most confident rejection was cut by its class quota"
    );
    let text = screen(&mut app, 200, 48);
    assert!(
        text.contains("rejected in round 2 (its class's quota of pseudo-labels was full)"),
        "{text}"
    );
    // Below τ: the engine says so too, where the old guess said nothing.
    press_code(&mut app, KeyCode::End);
    let i = app.selected_sample().unwrap();
    assert_eq!(
        app.predictions[i].rejection,
        Some(RejectReason::BelowThreshold)
    );
    let text = screen(&mut app, 200, 48);
    assert!(
        text.contains("rejected in round 2 (confidence below its class threshold)"),
        "{text}"
    );
}

/// The pseudo-label panel drawn unfocused.
fn pseudo_panel(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| layout::draw_panel(f, f.area(), app, Panel::Pseudo, false))
        .unwrap();
    terminal.backend().to_string()
}

#[test]
fn per_class_thresholds_are_drawn_as_such() {
    let mut app = fixture::live_app();
    let uniform = pseudo_panel(&app, 160, 48);
    assert!(uniform.contains("round 2 · τ 0.90") && uniform.contains("τ0.90"));
    assert!(!uniform.contains("per-class"), "{uniform}");
    let row = uniform.lines().find(|l| l.contains("3-dress")).unwrap();
    assert!(
        !row.contains("τ0.90"),
        "no τ column when one τ holds: {row}"
    );
    // A round with a threshold per class and no predictions to decide a what-if from.
    let mut round = app.pseudo.clone().unwrap();
    round.class_thresholds = (0..10).map(|c| 0.8 + 0.02 * c as f32).collect();
    app.pseudo = Some(round);
    app.what_if_thresholds.clear();
    let text = pseudo_panel(&app, 160, 48);
    assert!(text.contains("round 2 · per-class τ 0.80–0.98"), "{text}");
    let row = text
        .lines()
        .find(|l| l.contains("3-dress"))
        .expect("the class rows");
    assert!(row.contains("τ0.86"), "{row}");
    // Many distinct thresholds: their range on the axis, labelled, ▲ at both ends.
    let axis = text.lines().find(|l| l.contains('▲')).unwrap();
    assert_eq!(axis.matches('▲').count(), 2, "{axis}");
    assert!(axis.contains("▲━━"), "{axis}");
    assert!(text.contains("τ0.80–0.98"), "{text}");
    let col = |line: &str, pat: char| line.chars().position(|c| c == pat).unwrap();
    let uniform_axis = uniform.lines().find(|l| l.contains('▲')).unwrap();
    assert!(
        col(axis, '▲') < col(uniform_axis, '▲'),
        "{axis}\n{uniform_axis}"
    );
}

#[test]
fn flexmatch_thresholds_on_the_panel() {
    let app = decided_by(&crate::train::pseudo::FlexMatch);
    let text = pseudo_panel(&app, 120, 30);
    assert!(text.contains("· flexmatch"), "{text}");
    // The best-learnt classes keep τ, the others get less: markers at both ends of the range.
    let axis = text.lines().find(|l| l.contains('▲')).unwrap();
    assert_eq!(axis.matches('▲').count(), 2, "{axis}");
    insta::assert_snapshot!("pseudo_flexmatch_120x30", text);
}

#[test]
fn a_class_override_on_the_focused_panel() {
    let mut app = fixture::live_app();
    // Focused: the class column, the selection and the keys on the border.
    press(&mut app, "4");
    for _ in 0..3 {
        press_code(&mut app, KeyCode::Down);
    }
    for _ in 0..5 {
        press_code(&mut app, KeyCode::Left);
    }
    assert_eq!(app.controls.dialled_class(3), Some(0.85));
    let text = screen(&mut app, 80, 24);
    insta::assert_snapshot!("pseudo_class_override_pending_80x24", text);
    let row = text.lines().find(|l| l.contains("3-dress")).unwrap();
    assert!(row.contains("τ0.85*"), "{row}");
    assert!(
        text.contains("3-dress · ↑↓:class ← →:class τ bksp:policy"),
        "{text}"
    );
    assert!(text.contains("what-if τ 0.90 +1 class τ"), "{text}");
    // Two thresholds now: a marker at each, labelled with both ends.
    let axis = text.lines().find(|l| l.contains('▲')).unwrap();
    assert_eq!(axis.matches('▲').count(), 2, "{axis}");
    assert!(text.contains("τ0.85–0.90"), "{text}");
    // The pending τ_c is yellow; once acknowledged it is not.
    let colour = |app: &mut App| {
        let terminal = draw(app, 80, 24);
        let buf = terminal.backend().buffer().clone();
        let y = (0..buf.area.height)
            .find(|&y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
                    .contains("3-dress")
            })
            .unwrap();
        let x = (0..buf.area.width)
            .find(|&x| buf[(x, y)].symbol() == "*")
            .unwrap();
        buf[(x, y)].fg
    };
    assert_eq!(colour(&mut app), Color::Yellow);
    app.on_update(crate::train::events::Update::ControlApplied(
        crate::train::events::AppliedControl {
            control: crate::train::Control::SetClassThreshold {
                class: 3,
                value: Some(0.85),
            },
            global_step: 230,
            round: 2,
            epoch: 3,
            time: "t".into(),
            error: None,
        },
    ));
    assert_ne!(colour(&mut app), Color::Yellow);
    let text = screen(&mut app, 120, 40);
    assert!(
        text.contains("τ of `3-dress` set to 0.85 (applies next round)"),
        "{text}"
    );
    insta::assert_snapshot!("dashboard_class_override_120x40", text);
}

#[test]
fn soft_weights_and_the_effective_number() {
    let mut app = decided_by(&crate::train::pseudo::SoftMatch);
    let round = app.pseudo.clone().unwrap();
    let sum_w = round.effective.unwrap();
    assert!(
        sum_w < round.accepted as f32 - 1.0,
        "softmatch weighs: {sum_w}"
    );
    let text = pseudo_panel(&app, 80, 22);
    insta::assert_snapshot!("pseudo_softmatch_80x22", text);
    assert!(text.contains(&format!("Σw {sum_w:.1}")), "{text}");
    assert!(text.contains("weights 0▕"), "{text}");
    assert!(text.contains("self-adaptive τ (nothing to dial)"), "{text}");
    // The plain threshold rule weighs every pseudo-label 1: neither is shown.
    let plain = pseudo_panel(&fixture::live_app(), 80, 22);
    assert!(
        !plain.contains("Σw") && !plain.contains("weights"),
        "{plain}"
    );
    insta::assert_snapshot!("dashboard_softmatch_120x40", screen(&mut app, 120, 40));
}

/// The live fixture with MC-dropout uncertainties and outlier scores on its predictions.
fn scored_app() -> App {
    let mut app = fixture::live_app();
    let mut predictions = (*app.predictions).clone();
    for (i, p) in predictions.iter_mut().enumerate() {
        p.uncertainty = Some(((i * 37) % 23) as f32 / 100.0);
        p.outlier = Some(((i * 53) % 31) as f32 / 4.0);
    }
    let samples = app.samples.clone();
    app.set_predictions(
        app.predictions_round,
        std::sync::Arc::new(predictions),
        samples,
    );
    decided_with(
        app,
        &crate::train::pseudo::Uncertainty {
            passes: 8,
            kappa: 0.1,
        },
        0.05,
    )
}

#[test]
fn uncertain_and_outlier_rejections_are_counted_and_inspected() {
    let mut app = scored_app();
    let round = app.pseudo.clone().unwrap();
    assert!(round.rejected_uncertain > 0 && round.rejected_outlier > 0);
    let text = pseudo_panel(&app, 80, 22);
    insta::assert_snapshot!("pseudo_uncertainty_80x22", text);
    assert!(
        text.contains(&format!(
            "rejected {} uncertain, {} outlier",
            round.rejected_uncertain, round.rejected_outlier
        )),
        "{text}"
    );
    assert!(text.contains("what-if κ 0.10 (preview)"), "{text}");
    // The inspector, most outlying first: the score column and the sample's figures.
    press(&mut app, "io");
    let text = screen(&mut app, 120, 40);
    insta::assert_snapshot!("inspector_by_outlier_120x40", text);
    assert!(text.contains("most outlying first"), "{text}");
    let i = app.selected_sample().unwrap();
    let p = &app.predictions[i];
    assert_eq!(
        p.rejection,
        Some(crate::train::pseudo::RejectReason::Outlier)
    );
    // Wide enough for the reason on one line.
    let text = screen(&mut app, 200, 48);
    assert!(
        text.contains("among the pool's most outlying samples"),
        "{text}"
    );
    assert!(text.contains("outlier score"), "{text}");
    assert!(text.contains("MC-dropout σ"), "{text}");
    assert!(text.contains("class τ 0.90"), "{text}");
}

#[test]
fn view_of_a_run_recorded_before_policies_were_announced() {
    use crate::config::TrainConfig;
    use crate::run::files;
    use crate::tui::view::{Feed, Plan, Replayer, apply, latest_pseudo_csv, parse_pseudo_csv};
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden/run");
    let cfg = TrainConfig::from_toml_file(&golden.join(files::CONFIG)).unwrap();
    let read = |legacy: bool| {
        let mut replayer = Replayer::new(Some(Plan::from(&cfg)));
        replayer.legacy_policy =
            legacy.then(|| crate::train::pseudo::PolicySpec::from_config(&cfg));
        let mut app = App::new(Mode::ReadOnly);
        let text = std::fs::read_to_string(golden.join(files::METRICS)).unwrap();
        for line in text.lines() {
            for u in replayer.line(line).unwrap() {
                apply(&mut app, Feed::Update(Box::new(u)));
            }
        }
        let (round, csv) = latest_pseudo_csv(&golden).unwrap();
        let (predictions, samples) =
            parse_pseudo_csv(&std::fs::read_to_string(csv).unwrap(), &replayer.classes).unwrap();
        apply(
            &mut app,
            Feed::Predictions {
                round,
                predictions: std::sync::Arc::new(predictions),
                samples,
            },
        );
        app
    };
    let mut app = read(true);
    assert_eq!(
        app.info.as_ref().unwrap().policy,
        Some(crate::train::pseudo::PolicySpec::from_config(&cfg))
    );
    // At the round's τ the what-if is the round's own decision (class-balanced, slack 1.5).
    let round = app.pseudo.clone().unwrap();
    let w = app.what_if.unwrap();
    assert_eq!((w.threshold, w.accepted), (round.threshold, round.accepted));
    let plain = read(false).what_if.unwrap();
    assert!(plain.accepted > w.accepted, "the threshold rule takes more");
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("· class-balanced"), "{text}");
    assert!(
        text.contains(&format!("what-if τ 0.70: {} accepted", w.accepted)),
        "{text}"
    );
    // The inspector on the old round: no recorded reason, so the old guess where it applies.
    press(&mut app, "i");
    press_code(&mut app, KeyCode::Home);
    let text = screen(&mut app, 120, 40);
    assert!(
        text.contains("Sample #") && text.contains("rejected in round 2"),
        "{text}"
    );
}

/// On a terminal with an image protocol the picture is escape codes at the top of the sample
/// panel (no half-blocks), and the sample's text starts below it.
#[test]
fn the_inspector_draws_the_picture_with_the_terminals_protocol() {
    use ratatui_image::picker::{Picker, ProtocolType};
    let mut app = fixture::live_app();
    let mut picker = Picker::halfblocks();
    picker.set_protocol_type(ProtocolType::Kitty);
    app.graphics = Some(crate::tui::picture::Graphics::with_picker(picker));
    press(&mut app, "i");
    let terminal = draw(&mut app, 120, 40);
    let buffer = terminal.backend().buffer();
    let row = |y: u16| -> String { (0..120).map(|x| buffer[(x, y)].symbol()).collect() };
    let rows: Vec<String> = (0..40).map(row).collect();
    let picture_row = rows
        .iter()
        .position(|r| r.contains("\x1b_G"))
        .expect("a kitty picture");
    let text_row = rows
        .iter()
        .position(|r| r.contains("│file "))
        .expect("the sample's text");
    assert!(picture_row < text_row, "{rows:#?}");
    assert!(rows.iter().all(|r| !r.contains('▀')), "no half-blocks");
    assert!(rows.iter().any(|r| r.contains("a: accept as")), "{rows:#?}");
}
