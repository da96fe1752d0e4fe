//! Event log: controls applied, pseudo-label rounds, rounds finished, checkpoints, warnings.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::app::{App, LogEntry, LogLevel};
use crate::tui::widgets::{self, panel};

fn style(level: LogLevel) -> Style {
    match level {
        LogLevel::Info => Style::new().fg(Color::Gray),
        LogLevel::Control => Style::new().fg(widgets::BLUE),
        LogLevel::Round => Style::new().fg(Color::White),
        LogLevel::Warning => Style::new().fg(widgets::PENDING),
        LogLevel::Error => Style::new().fg(widgets::BAD),
    }
}

/// One entry as a line: `r2 s1234 ! text`.
pub fn entry_line(e: &LogEntry) -> Line<'static> {
    let place = match (e.round, e.step) {
        (Some(r), Some(s)) => format!("r{r} s{s:<6} "),
        (Some(r), None) => format!("r{r} {:<7} ", ""),
        (None, Some(s)) => format!("   s{s:<6} "),
        (None, None) => format!("{:<11}", ""),
    };
    let mark = match e.level {
        LogLevel::Warning => "! ",
        LogLevel::Error => "✗ ",
        _ => "",
    };
    Line::from(vec![
        Span::raw(place).fg(widgets::DIM),
        Span::styled(format!("{mark}{}", e.text), style(e.level)),
    ])
}

/// Draws the event log, newest at the bottom (scrolled up by `app.events_scroll`).
pub fn draw(frame: &mut Frame, area: Rect, app: &App, focused: bool) {
    let scroll = if app.events_scroll > 0 {
        format!("· scrolled up {} (↓ / end) ", app.events_scroll)
    } else {
        String::new()
    };
    let warnings = app
        .log
        .iter()
        .filter(|e| e.level == LogLevel::Warning)
        .count();
    let title = Line::from(vec![
        Span::raw(" Events ").bold(),
        Span::raw(format!(
            "· {} · warnings: {warnings} {scroll}",
            app.log.len()
        ))
        .fg(widgets::DIM),
    ]);
    let block = panel(title, focused);
    let inner = block.inner(area);
    let rows = inner.height as usize;
    let end = app.log.len().saturating_sub(app.events_scroll);
    let start = end.saturating_sub(rows);
    let lines: Vec<Line> = app.log[start..end].iter().map(entry_line).collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
