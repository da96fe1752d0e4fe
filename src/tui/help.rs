//! Help overlay listing every key, by section, from the key table ([`keys::help_sections`]).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Stylize;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::tui::keys::{self, HelpSection};
use crate::tui::widgets::{self, centered, pad, panel};

const KEY_W: usize = 10;

fn section_lines(sections: &[HelpSection], width: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for (n, (title, entries)) in sections.iter().enumerate() {
        if n > 0 {
            lines.push(Line::raw(""));
        }
        lines.push(Line::from(Span::raw(title.to_string()).bold().underlined()));
        for (k, what) in entries.iter() {
            lines.push(Line::from(vec![
                Span::raw(pad(k, KEY_W)).fg(widgets::PENDING),
                Span::raw(widgets::truncate(what, width.saturating_sub(KEY_W))),
            ]));
        }
    }
    lines
}

/// Where the sections split into two columns: the first `n` on the left, `n` chosen so the
/// taller column is as short as it can be.
fn split_at(sections: &[HelpSection]) -> usize {
    let height = |s: &[HelpSection]| section_lines(s, KEY_W + 27).len();
    (1..sections.len().max(2))
        .min_by_key(|&n| {
            let n = n.min(sections.len());
            height(&sections[..n]).max(height(&sections[n..]))
        })
        .unwrap_or(1)
        .min(sections.len())
}

/// Draws the help overlay centred in `area`: two columns when there is room, else one.
pub fn draw(frame: &mut Frame, area: Rect) {
    let col_w = KEY_W + 27;
    let two = area.width as usize >= 2 * col_w + 5;
    let sections = keys::help_sections();
    let (left, right): (Vec<_>, Vec<_>) = if two {
        let n = split_at(&sections);
        (
            section_lines(&sections[..n], col_w),
            section_lines(&sections[n..], col_w),
        )
    } else {
        (section_lines(&sections, col_w), Vec::new())
    };
    let rows = left.len().max(right.len()) as u16;
    let width = if two { 2 * col_w + 5 } else { col_w + 2 } as u16;
    let rect = centered(width, rows + 2, area);
    frame.render_widget(Clear, rect);
    let block = panel(" Keys (any key closes) ", true);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    if two {
        let [l, _, r] = Layout::horizontal([
            Constraint::Length(col_w as u16),
            Constraint::Length(3),
            Constraint::Min(0),
        ])
        .areas(inner);
        frame.render_widget(Paragraph::new(left), l);
        frame.render_widget(Paragraph::new(right), r);
    } else {
        let hidden = left.len().saturating_sub(inner.height as usize);
        let mut lines = left;
        if hidden > 0 {
            lines.truncate(inner.height.saturating_sub(1) as usize);
            lines.push(Line::from(
                Span::raw(format!("… {} more: enlarge the terminal", hidden + 1)).fg(widgets::DIM),
            ));
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_columns_fit_an_80_by_24_terminal() {
        let sections = keys::help_sections();
        let n = split_at(&sections);
        let rows = section_lines(&sections[..n], 37)
            .len()
            .max(section_lines(&sections[n..], 37).len());
        assert!(rows + 2 <= 24, "{rows} rows of keys");
    }

    #[test]
    fn every_entry_fits_two_columns_at_80_columns() {
        for (_, lines) in keys::help_sections() {
            for (k, what) in lines.iter() {
                assert!(k.chars().count() < KEY_W, "{k}");
                assert!(what.chars().count() <= 27, "{what}");
            }
        }
    }
}
