//! Pseudo-label inspector: rejected samples sorted by confidence (nearest τ first) or accepted
//! ones (least confident first), or either by outlier score or MC-dropout uncertainty,
//! filterable by predicted class; the selected sample drawn with half-block pixels, with its
//! file, prediction, top-3, hidden truth, the policy's weight, class threshold and reason, its
//! scores and the user's action.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Clear, Paragraph, Row, Table, TableState, Wrap};

use crate::train::pseudo::{Dial, PolicySpec};
use crate::tui::acceptance::{per_class_thresholds, why_rejected};
use crate::tui::app::App;
use crate::tui::images::halfblock;
use crate::tui::inspector_list::{InspectorList, SortOrder};
use crate::tui::keys::{self, KeyMode};
use crate::tui::samples::{MarkState, SampleAction, SampleMark, SampleStatus};
use crate::tui::widgets::{self, panel, truncate};

/// The user's action on a sample, in two or three words (list column).
pub fn mark_short(app: &App, mark: &SampleMark) -> String {
    let (sent, done) = match mark.action {
        SampleAction::Accept(_) => ("accept".to_string(), "accepted".to_string()),
        SampleAction::Label(c) => (
            format!("label {}", app.class_name(c)),
            format!("labelled {}", app.class_name(c)),
        ),
        SampleAction::Exclude => ("exclude".to_string(), "excluded".to_string()),
    };
    match mark.state {
        MarkState::Sent => format!("… {sent}"),
        MarkState::Applied { .. } => format!("✓ {done}"),
        MarkState::Refused(_) => format!("✗ {sent}"),
    }
}

/// The user's action on a sample, in a few words.
pub fn mark_text(app: &App, mark: &SampleMark) -> String {
    let action = match mark.action {
        SampleAction::Accept(c) => format!("accept as {}", app.class_name(c)),
        SampleAction::Label(c) => format!("label {}", app.class_name(c)),
        SampleAction::Exclude => "exclude".to_string(),
    };
    match &mark.state {
        MarkState::Sent => format!("{action} · sent"),
        MarkState::Applied { .. } => format!("{action} ✓"),
        MarkState::Refused(_) => format!("{action} · refused"),
    }
}

fn mark_style(mark: &SampleMark) -> Style {
    match mark.state {
        MarkState::Sent => Style::new().fg(widgets::PENDING),
        MarkState::Applied { .. } => Style::new().fg(widgets::GOOD),
        MarkState::Refused(_) => Style::new().fg(widgets::BAD),
    }
}

/// A score in at most five characters (the list's score column).
pub fn score5(v: f32) -> String {
    let a = v.abs();
    if !v.is_finite() {
        "–".to_string()
    } else if a < 10.0 {
        format!("{v:.3}")
    } else if a < 100.0 {
        format!("{v:.2}")
    } else if a < 1000.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// Keeps the end of `text` (file names: the end is what tells them apart), `…` in front.
pub fn truncate_left(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width || width == 0 {
        return text.to_string();
    }
    let tail: String = text.chars().skip(n - (width - 1)).collect();
    format!("…{tail}")
}

/// Draws the inspector into `area` (everything between the status lines and the key bar).
pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let list_w = area.width * 11 / 20;
    let [list_area, detail_area] =
        Layout::horizontal([Constraint::Length(list_w), Constraint::Min(0)]).areas(area);
    draw_list(frame, list_area, app);
    draw_detail(frame, detail_area, app);
    if app.inspector.picker.is_some() {
        draw_picker(frame, detail_area, app);
    }
}

fn draw_list(frame: &mut Frame, area: Rect, app: &mut App) {
    let (name, other) = match app.inspector.list {
        InspectorList::Rejected => ("Rejected", "accepted"),
        InspectorList::Accepted => ("Accepted", "rejected"),
    };
    let sort = app.inspector.sort;
    let order = sort.label();
    let filter = app
        .inspector
        .class_filter
        .map_or("all".to_string(), |c| app.class_name(c));
    let title = Line::from(vec![
        Span::raw(format!(" {name} {} ", app.inspector.rows.len())).bold(),
        Span::raw(format!("· class: {filter} · {order} · tab: {other} ")).fg(widgets::DIM),
    ]);
    let block = panel(title, true);
    if app.predictions.is_empty() {
        let text = if app.pseudo.is_some() {
            "the predictions of this round are not available"
        } else {
            "no predictions yet: the list fills in when round 1 starts (after the warm-up)"
        };
        frame.render_widget(
            Paragraph::new(text)
                .fg(widgets::DIM)
                .wrap(Wrap { trim: true })
                .block(block),
            area,
        );
        return;
    }
    let inner_w = area.width.saturating_sub(2) as usize;
    let index_w = app
        .predictions
        .iter()
        .map(|p| p.index)
        .max()
        .unwrap_or(0)
        .to_string()
        .len();
    let longest = app
        .classes()
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(5);
    // Highlight symbol 1, index, confidence 5, four column gaps.
    let fixed = 1 + index_w + 5 + 4;
    let spare = inner_w.saturating_sub(fixed);
    let name_w = longest.min(12).min(spare * 2 / 7).max(4);
    let mark_w = spare.saturating_sub(2 * name_w).max(1);
    let rows: Vec<Row> = app
        .inspector
        .rows
        .iter()
        .map(|&i| {
            let p = &app.predictions[i];
            let (truth_text, truth_style) = match p.truth {
                Some(t) if t == p.predicted() => ("✓".to_string(), Style::new().fg(widgets::GOOD)),
                Some(t) => (
                    format!("✗ {}", app.class_name(t)),
                    Style::new().fg(widgets::BAD),
                ),
                None => ("?".to_string(), Style::new().fg(widgets::DIM)),
            };
            let (mark, mstyle) = match app.marks.get(&p.index) {
                Some(m) => (mark_short(app, m), mark_style(m)),
                None => match app.samples[i].status {
                    SampleStatus::Forced => {
                        ("accepted by you".into(), Style::new().fg(widgets::GOOD))
                    }
                    _ => (String::new(), Style::new()),
                },
            };
            Row::new(vec![
                Cell::from(format!("{:>w$}", p.index, w = index_w)),
                Cell::from(truncate(&app.class_name(p.predicted()), name_w)),
                Cell::from(match sort {
                    SortOrder::NearestThreshold => format!("{:.3}", p.confidence()),
                    SortOrder::Outlier => p.outlier.map_or("–".into(), score5),
                    SortOrder::Uncertainty => p.uncertainty.map_or("–".into(), score5),
                }),
                Cell::from(truncate(&truth_text, name_w)).style(truth_style),
                Cell::from(truncate(&mark, mark_w)).style(mstyle),
            ])
        })
        .collect();
    let header = Row::new(vec![
        "#".to_string(),
        truncate("predicted", name_w),
        match sort {
            SortOrder::NearestThreshold => "conf",
            SortOrder::Outlier => "outl",
            SortOrder::Uncertainty => "σ",
        }
        .to_string(),
        "truth".to_string(),
        "you".to_string(),
    ])
    .style(
        Style::new()
            .fg(widgets::DIM)
            .add_modifier(Modifier::UNDERLINED),
    );
    let table = Table::new(
        rows,
        [
            Constraint::Length(index_w as u16),
            Constraint::Length(name_w as u16),
            Constraint::Length(5),
            Constraint::Length(name_w as u16),
            Constraint::Min(1),
        ],
    )
    .header(header)
    .block(block)
    .row_highlight_style(Style::new().bg(Color::Blue).fg(Color::White).bold())
    .highlight_symbol("▶")
    .highlight_spacing(ratatui::widgets::HighlightSpacing::Always);
    let mut state = TableState::default()
        .with_offset(app.inspector.offset)
        .with_selected(app.selected_sample().map(|_| app.inspector.selected));
    frame.render_stateful_widget(table, area, &mut state);
    app.inspector.offset = state.offset();
}

fn draw_detail(frame: &mut Frame, area: Rect, app: &mut App) {
    let Some(i) = app.selected_sample() else {
        let text = if app.predictions.is_empty() {
            ""
        } else {
            "no sample in this list (try tab or f)"
        };
        frame.render_widget(
            Paragraph::new(text)
                .fg(widgets::DIM)
                .block(panel(" Sample ", false)),
            area,
        );
        return;
    };
    let p = &app.predictions[i];
    let info = &app.samples[i];
    let title = Line::from(vec![
        Span::raw(format!(" Sample #{} ", p.index)).bold(),
        Span::raw(format!("· round {} ", app.predictions_round)).fg(widgets::DIM),
    ]);
    let block = panel(title, false);
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let round = app
        .pseudo
        .as_ref()
        .filter(|r| r.round == app.predictions_round);
    let why = why_rejected(info.status, p, round.map(|r| r.threshold));
    // Against its class's threshold when the round had one per class or its policy does not
    // use τ, else the dialled τ. Softmatch cuts the aligned confidence, not this one: no side.
    let policy = app.policy();
    let class_tau = round
        .filter(|r| {
            per_class_thresholds(&r.class_thresholds).is_some() || policy.dial() != Dial::Threshold
        })
        .and_then(|r| r.class_thresholds.get(p.predicted()).copied());
    let (tau, tau_name) = match class_tau {
        Some(t) => (t, "its class τ"),
        None => (app.dialled_threshold(), "τ"),
    };
    let side = if p.confidence() >= tau {
        "at or above"
    } else {
        "below"
    };
    let versus = if policy == PolicySpec::Softmatch {
        String::new()
    } else {
        format!(" ({side} {tau_name} {tau:.2})")
    };
    let mut text = vec![
        Line::from(vec![
            Span::raw("file ").fg(widgets::DIM),
            Span::raw(truncate_left(
                &info.file,
                (inner.width as usize).saturating_sub(5),
            )),
        ]),
        Line::from(vec![
            Span::raw("predicted ").fg(widgets::DIM),
            Span::raw(app.class_name(p.predicted())).bold(),
            Span::raw(format!(" {:.1}%", p.confidence() * 100.0)),
            Span::raw(versus).fg(widgets::DIM),
        ]),
    ];
    let mut top = vec![Span::raw(format!("top-{} ", p.top.len())).fg(widgets::DIM)];
    for (n, (c, prob)) in p.top.iter().enumerate() {
        if n > 0 {
            top.push(Span::raw(" · ").fg(widgets::DIM));
        }
        top.push(Span::raw(format!(
            "{} {:.1}%",
            app.class_name(*c),
            prob * 100.0
        )));
    }
    text.push(Line::from(top));
    text.push(match p.truth {
        Some(t) if t == p.predicted() => Line::from(vec![
            Span::raw("truth ").fg(widgets::DIM),
            Span::raw(format!("{} ✓ correct", app.class_name(t))).fg(widgets::GOOD),
            Span::raw(" (hidden from training)").fg(widgets::DIM),
        ]),
        Some(t) => Line::from(vec![
            Span::raw("truth ").fg(widgets::DIM),
            Span::raw(format!("{} ✗ wrong", app.class_name(t))).fg(widgets::BAD),
            Span::raw(" (hidden from training)").fg(widgets::DIM),
        ]),
        None => Line::from(vec![
            Span::raw("truth ").fg(widgets::DIM),
            Span::raw("unknown"),
        ]),
    });
    text.extend(policy_line(app, p, info.status, round));
    text.push(Line::from(vec![
        Span::raw("status ").fg(widgets::DIM),
        Span::raw(format!(
            "{} in round {}{}",
            info.status.label(),
            app.predictions_round,
            why.map(|w| format!(" ({w})")).unwrap_or_default()
        )),
    ]));
    if let Some(m) = app.marks.get(&p.index) {
        let detail = match &m.state {
            MarkState::Sent => " (waiting for the trainer)".to_string(),
            MarkState::Applied { round, global_step } => format!(
                " (recorded in round {round} at step {global_step}; takes effect next round)"
            ),
            MarkState::Refused(e) => format!(": {e}"),
        };
        text.push(Line::from(vec![
            Span::raw("you ").fg(widgets::DIM),
            Span::styled(mark_text(app, m), mark_style(m)),
            Span::raw(detail).fg(widgets::DIM),
        ]));
    }
    let actions = if app.controls_enabled() {
        format!(
            "a: accept as {} · l: label… · x: exclude",
            app.class_name(p.predicted())
        )
    } else {
        "actions disabled (read-only or run ended)".to_string()
    };
    text.push(Line::from(Span::raw(actions).fg(widgets::DIM)));

    // Text height once wrapped.
    let width = inner.width.max(1) as usize;
    let text_h: usize = text.iter().map(|l| l.width().div_ceil(width).max(1)).sum();
    let image_rows = (inner.height as usize).saturating_sub(text_h + 1) as u16;
    let mut lines: Vec<Line> = Vec::new();
    let pixels = app
        .images
        .as_ref()
        .and_then(|im| im.pixels(p.index, &info.file).map(|px| (px, im.shape())));
    // A terminal image protocol draws the picture itself; the text goes below it.
    let mut text_area = inner;
    let drawn = match (pixels, app.graphics.as_mut()) {
        (Some((px, shape)), Some(graphics)) if image_rows >= 3 => {
            let picture_area = Rect {
                height: image_rows,
                ..inner
            };
            graphics.draw(frame, picture_area, p.index, px, shape, app.inspector.grey)
        }
        _ => None,
    };
    match pixels {
        _ if let Some(rows) = drawn => {
            let rows = rows + 1;
            text_area.y += rows.min(text_area.height);
            text_area.height = text_area.height.saturating_sub(rows);
        }
        Some((px, shape)) if image_rows >= 3 => {
            lines.extend(halfblock(
                px,
                shape,
                inner.width,
                image_rows,
                app.inspector.grey,
            ));
            lines.push(Line::raw(""));
        }
        Some(_) => {
            lines.push(Line::from(
                Span::raw("(enlarge the terminal to see the image)").fg(widgets::DIM),
            ));
        }
        None => {
            let note = app
                .image_note
                .clone()
                .unwrap_or_else(|| "image not available".to_string());
            lines.push(Line::from(Span::raw(note).fg(widgets::DIM)));
        }
    }
    lines.extend(text);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text_area);
}

/// What the policy made of the sample: its pseudo-label weight when accepted, its class's
/// threshold (and the user's own τ_c for the next round), its MC-dropout uncertainty and
/// outlier score when the round computed them.
fn policy_line(
    app: &App,
    p: &crate::train::events::PoolPrediction,
    status: SampleStatus,
    round: Option<&crate::train::events::PseudoRound>,
) -> Option<Line<'static>> {
    let c = p.predicted();
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut part = |label: &str, value: String, style: Style| {
        if !spans.is_empty() {
            spans.push(Span::raw(" · ").fg(widgets::DIM));
        }
        spans.push(Span::raw(format!("{label} ")).fg(widgets::DIM));
        spans.push(Span::styled(value, style));
    };
    if status.is_accepted() {
        part("weight", format!("{:.2}", p.weight), Style::new());
    }
    if let Some(t) = round.and_then(|r| r.class_thresholds.get(c)) {
        part("class τ", format!("{t:.2}"), Style::new());
    }
    if let Some(own) = app.controls.dialled_class(c) {
        let style = if app.controls.class_pending(c) {
            Style::new().fg(widgets::PENDING)
        } else {
            Style::new()
        };
        part("yours", format!("{own:.2}* next round"), style);
    }
    if let Some(u) = p.uncertainty {
        part("MC-dropout σ", format!("{u:.3}"), Style::new());
    }
    if let Some(o) = p.outlier {
        part("outlier score", score5(o), Style::new());
    }
    (!spans.is_empty()).then(|| Line::from(spans))
}

fn draw_picker(frame: &mut Frame, area: Rect, app: &App) {
    let Some(highlight) = app.inspector.picker else {
        return;
    };
    let k = app.classes().len();
    let index = app
        .selected_sample()
        .map_or(0, |i| app.predictions[i].index);
    let longest = app
        .classes()
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(4);
    let width = (longest as u16 + 8).max(34);
    let height = (k as u16 + 3).min(area.height);
    let rect = widgets::centered(width, height, area);
    frame.render_widget(Clear, rect);
    let block = panel(format!(" Label #{index} as… "), true);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let visible = inner.height.saturating_sub(1) as usize;
    let start = highlight.saturating_sub(visible.saturating_sub(1));
    let mut lines: Vec<Line> = (start..k.min(start + visible))
        .map(|c| {
            let key = if k <= 10 {
                format!("{c} ")
            } else {
                String::new()
            };
            let text = format!(" {key}{}", app.class_name(c));
            if c == highlight {
                Line::from(
                    Span::raw(format!("▶{text}"))
                        .bg(Color::Blue)
                        .fg(Color::White),
                )
            } else {
                Line::from(Span::raw(format!(" {text}")))
            }
        })
        .collect();
    lines.push(Line::from(Span::raw(picker_hints()).fg(widgets::DIM)));
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The picker's key hints from the key table: `keys` or `keys: word`, separated by ` · `.
fn picker_hints() -> String {
    keys::hints(KeyMode::Picker)
        .iter()
        .map(|h| match h.word {
            "" => h.keys.to_string(),
            word => format!("{}: {word}", h.keys),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_their_end() {
        assert_eq!(truncate_left("unlabeled/coat/123.png", 12), "…oat/123.png");
        assert_eq!(truncate_left("a.png", 12), "a.png");
    }

    #[test]
    fn picker_hints_come_from_the_key_table() {
        assert_eq!(picker_hints(), "↑↓ enter · 0-9 · esc: cancel");
    }
}
