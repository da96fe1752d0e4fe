//! Status lines (phase, progress gauge with ETA, device, throughput, elapsed time, τ and λ with
//! their pending values, paused state) and the key bar at the bottom.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::train::events::Phase;
use crate::tui::app::{App, Mode};
use crate::tui::keys;
use crate::tui::widgets::{self, duration, hbar};

/// Where the run is, in words.
pub fn phase_text(app: &App) -> String {
    if let Some(message) = &app.failed {
        return format!("failed: {message}");
    }
    if let Some(s) = &app.finished {
        return format!("done ({})", s.stop_reason);
    }
    if app.stopping {
        return "stopping: saving a checkpoint…".into();
    }
    let Some(p) = &app.progress else {
        return "starting…".into();
    };
    let round = format!("round {} of {}", p.round, p.total_rounds);
    match p.phase {
        Phase::Starting => "starting".into(),
        Phase::WarmUp => format!("warm-up · epoch {}/{}", p.epoch, p.total_epochs),
        Phase::Predicting => format!("{round}: predicting"),
        Phase::Training => format!("{round}: training epoch {}/{}", p.epoch, p.total_epochs),
        Phase::Evaluating if p.round == 0 => "warm-up: evaluating".into(),
        Phase::Evaluating => format!("{round}: evaluating"),
        Phase::Done => "done".into(),
    }
}

fn fraction(app: &App) -> f64 {
    if app.finished.is_some() {
        return 1.0;
    }
    app.progress.as_ref().map_or(0.0, |p| p.fraction_done)
}

/// Draws the two status lines into `area` (height 2).
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let width = area.width as usize;
    // Line 1: marker, phase, gauge, percentage, ETA.
    let mut left = vec![];
    if app.mode == Mode::ReadOnly {
        left.push(Span::styled(
            " READ-ONLY ",
            Style::new().fg(Color::Black).bg(Color::Yellow).bold(),
        ));
        left.push(Span::raw(" "));
    }
    left.push(Span::raw("selftrain ").bold());
    let phase_style = if app.failed.is_some() {
        Style::new().fg(widgets::BAD).bold()
    } else if app.stopping {
        Style::new().fg(widgets::PENDING)
    } else {
        Style::new()
    };
    left.push(Span::styled(phase_text(app), phase_style));
    left.push(Span::raw(" "));
    let f = fraction(app);
    let mut right = format!(" {:>3.0}%", f * 100.0);
    if let Some(eta) = app.eta() {
        right.push_str(&format!(" ETA {}", duration(eta)));
    }
    let used: usize = left.iter().map(|s| s.width()).sum::<usize>() + right.chars().count();
    let bar_width = width.saturating_sub(used + 2);
    let mut line1 = left;
    if bar_width >= 6 {
        line1.push(Span::raw("▕").fg(widgets::DIM));
        line1.push(Span::raw(hbar(f, bar_width)).fg(Color::Blue));
        line1.push(Span::raw("▏").fg(widgets::DIM));
    }
    line1.push(Span::raw(right));

    // Line 2: device, throughput, elapsed, τ, λ, state.
    let sep = || Span::raw(" · ").fg(widgets::DIM);
    let mut line2 = vec![];
    let device = app.info.as_ref().map_or("–", |i| i.device.as_str());
    line2.push(Span::raw(device.to_string()).fg(Color::Cyan));
    line2.push(sep());
    let rate = app.progress.as_ref().map_or(0.0, |p| p.images_per_sec);
    if rate > 0.0 && !app.ended() && !app.controls.paused {
        line2.push(Span::raw(format!("{rate:.0} img/s")));
    } else {
        line2.push(Span::raw("– img/s").fg(widgets::DIM));
    }
    line2.push(sep());
    line2.push(Span::raw(format!("elapsed {}", duration(app.elapsed()))));
    line2.push(sep());
    let known = app.info.is_some();
    let value = |v: f32| {
        if known {
            format!("{v:.2}")
        } else {
            "–".into()
        }
    };
    line2.push(Span::raw(format!("τ {}", value(app.controls.threshold))).bold());
    if let Some(p) = app.controls.pending_threshold {
        line2.push(
            Span::raw(format!(" → {p:.2} pending"))
                .fg(widgets::PENDING)
                .add_modifier(Modifier::ITALIC),
        );
    } else if let Some(p) = app.controls.preview_threshold {
        line2.push(
            Span::raw(format!(" (what-if {p:.2})"))
                .fg(widgets::PENDING)
                .add_modifier(Modifier::ITALIC),
        );
    }
    line2.push(sep());
    line2.push(Span::raw(format!("λ {}", value(app.controls.pseudo_weight))).bold());
    if let Some(p) = app.controls.pending_weight {
        line2.push(
            Span::raw(format!(" → {p:.2} pending"))
                .fg(widgets::PENDING)
                .add_modifier(Modifier::ITALIC),
        );
    }
    line2.push(sep());
    let state = if app.failed.is_some() {
        Span::raw("failed").fg(widgets::BAD)
    } else if app.ended() {
        Span::raw("finished").fg(widgets::GOOD)
    } else if app.stopping {
        Span::raw("stopping").fg(widgets::PENDING)
    } else if app.controls.pending_pause == Some(true) {
        Span::raw("pausing…").fg(widgets::PENDING)
    } else if app.controls.pending_pause == Some(false) {
        Span::raw("resuming…").fg(widgets::PENDING)
    } else if app.controls.paused {
        Span::styled(" PAUSED ", Style::new().fg(Color::Black).bg(Color::Yellow))
    } else if app.mode == Mode::ReadOnly {
        Span::raw("following").fg(widgets::DIM)
    } else {
        Span::raw("running").fg(widgets::GOOD)
    };
    line2.push(state);
    if app.controls.checkpoint_pending {
        line2.push(sep());
        line2.push(Span::raw("saving checkpoint…").fg(widgets::PENDING));
    }
    if let (Mode::ReadOnly, Some(src)) = (app.mode, &app.source) {
        line2.push(sep());
        line2.push(Span::raw(src.clone()).fg(widgets::DIM));
    }
    frame.render_widget(
        Paragraph::new(vec![Line::from(line1), Line::from(line2)]),
        area,
    );
}

/// Key hints for the current screen, from the key table.
pub fn hints(app: &App) -> String {
    keys::key_bar(app.screen_keys())
}

/// Draws the key bar (or the latest feedback message) into a one-line `area`.
pub fn draw_keys(frame: &mut Frame, area: Rect, app: &App) {
    let line = match &app.flash {
        Some(text) => Line::from(Span::raw(text.clone()).fg(widgets::PENDING)),
        None => Line::from(Span::raw(hints(app)).fg(widgets::DIM)),
    };
    frame.render_widget(Paragraph::new(line), area);
}
