//! Screen layout: a grid of panels on large terminals, tabs on small ones, the inspector view,
//! overlays (help, quit confirmation), and a notice below the minimum size.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Tabs, Wrap};

use crate::tui::app::{App, Panel, Screen};
use crate::tui::keys::{self, KeyMode};
use crate::tui::widgets::{self, centered, panel};
use crate::tui::{accuracy, confusion, event_log, help, inspector, loss, pseudo, status};

/// Smallest usable terminal width.
pub const MIN_WIDTH: u16 = 60;
/// Smallest usable terminal height.
pub const MIN_HEIGHT: u16 = 16;
/// Width from which every panel is shown at once.
pub const GRID_MIN_WIDTH: u16 = 120;
/// Height from which every panel is shown at once.
pub const GRID_MIN_HEIGHT: u16 = 34;

/// How the dashboard panels are arranged in an area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrangement {
    /// Too small: a notice only.
    TooSmall,
    /// One panel at a time, with a tab bar.
    Tabs,
    /// Every panel at once.
    Grid,
}

/// The arrangement for a terminal of this size.
pub fn arrangement(area: Rect) -> Arrangement {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        Arrangement::TooSmall
    } else if area.width >= GRID_MIN_WIDTH && area.height >= GRID_MIN_HEIGHT {
        Arrangement::Grid
    } else {
        Arrangement::Tabs
    }
}

/// Draws one panel.
pub fn draw_panel(frame: &mut Frame, area: Rect, app: &App, which: Panel, focused: bool) {
    match which {
        Panel::Loss => loss::draw(frame, area, &app.loss, app.loss_window, focused),
        Panel::Accuracy => accuracy::draw(frame, area, app, focused),
        Panel::Confusion => confusion::draw(frame, area, app, focused),
        Panel::Pseudo => pseudo::draw(frame, area, app, focused),
        Panel::Events => event_log::draw(frame, area, &app.log, focused),
    }
}

fn draw_too_small(frame: &mut Frame, area: Rect) {
    let text = vec![
        Line::from(Span::raw("terminal too small").bold()),
        Line::raw(format!("{}×{}", area.width, area.height)),
        Line::raw(format!("needs at least {MIN_WIDTH}×{MIN_HEIGHT}")),
        Line::raw("q: quit"),
    ];
    let rect = centered(area.width, 4.min(area.height), area);
    frame.render_widget(
        Paragraph::new(text)
            .alignment(ratatui::layout::Alignment::Center)
            .wrap(Wrap { trim: true }),
        rect,
    );
}

fn draw_grid(frame: &mut Frame, body: Rect, app: &App) {
    let h = body.height;
    let top = (h * 3 / 10).max(8);
    let bottom = (h / 5).max(5);
    let [charts, middle, log] = Layout::vertical([
        Constraint::Length(top),
        Constraint::Min(10),
        Constraint::Length(bottom),
    ])
    .areas(body);
    let [l, a] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(charts);
    let [c, p] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(middle);
    for (area, which) in [
        (l, Panel::Loss),
        (a, Panel::Accuracy),
        (c, Panel::Confusion),
        (p, Panel::Pseudo),
        (log, Panel::Events),
    ] {
        draw_panel(frame, area, app, which, app.focus == which);
    }
}

fn draw_tabs(frame: &mut Frame, body: Rect, app: &App) {
    let [bar, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
    let titles: Vec<String> = Panel::ALL
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{} {}", i + 1, p.title()))
        .collect();
    let selected = Panel::ALL.iter().position(|p| *p == app.focus);
    frame.render_widget(
        Tabs::new(titles)
            .select(selected)
            .style(Style::new().fg(widgets::DIM))
            .highlight_style(Style::new().fg(Color::Black).bg(Color::Yellow).bold())
            .divider("│"),
        bar,
    );
    draw_panel(frame, rest, app, app.focus, true);
}

fn draw_confirm(frame: &mut Frame, area: Rect) {
    let rect = centered(46, 5, area);
    frame.render_widget(Clear, rect);
    let text = vec![
        Line::raw("Stop training and quit?"),
        Line::from(Span::raw("a checkpoint is saved first").fg(widgets::DIM)),
        confirm_hints(),
    ];
    frame.render_widget(
        Paragraph::new(text)
            .alignment(ratatui::layout::Alignment::Center)
            .block(panel(" Quit ", true)),
        rect,
    );
}

/// The quit question's answers from the key table: `y: yes   n: no`, keys highlighted.
fn confirm_hints() -> Line<'static> {
    let hints = keys::hints(KeyMode::Confirm);
    let mut spans = Vec::new();
    for (i, h) in hints.iter().enumerate() {
        let gap = if i + 1 < hints.len() { "   " } else { "" };
        spans.push(Span::raw(h.keys).fg(widgets::PENDING).bold());
        spans.push(Span::raw(format!(": {}{gap}", h.word)));
    }
    Line::from(spans)
}

/// Draws the whole screen for the current state.
pub fn draw(frame: &mut Frame, app: &mut App) {
    let area = frame.area();
    if arrangement(area) == Arrangement::TooSmall {
        draw_too_small(frame, area);
        if app.confirm_quit {
            draw_confirm(frame, area);
        }
        return;
    }
    let [top, body, keys] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    status::draw(frame, top, app);
    match app.screen {
        Screen::Dashboard => match arrangement(area) {
            Arrangement::Grid => draw_grid(frame, body, app),
            _ => draw_tabs(frame, body, app),
        },
        Screen::Inspector => inspector::draw(frame, body, app),
    }
    status::draw_keys(frame, keys, app);
    if app.show_help {
        help::draw(frame, area);
    }
    if app.confirm_quit {
        draw_confirm(frame, area);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrangement_depends_on_size() {
        assert_eq!(arrangement(Rect::new(0, 0, 59, 30)), Arrangement::TooSmall);
        assert_eq!(arrangement(Rect::new(0, 0, 80, 15)), Arrangement::TooSmall);
        assert_eq!(arrangement(Rect::new(0, 0, 80, 24)), Arrangement::Tabs);
        assert_eq!(arrangement(Rect::new(0, 0, 120, 40)), Arrangement::Grid);
        assert_eq!(arrangement(Rect::new(0, 0, 160, 30)), Arrangement::Tabs);
    }
}
