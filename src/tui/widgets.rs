//! Small drawing helpers shared by the panels.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Borders};

/// Colour of supervised-loss and validation series.
pub const BLUE: Color = Color::Cyan;
/// Colour of pseudo-label series.
pub const PSEUDO: Color = Color::Magenta;
/// Colour of test series.
pub const TEST: Color = Color::LightGreen;
/// Colour of pending values and warnings.
pub const PENDING: Color = Color::Yellow;
/// Colour of errors and wrong predictions.
pub const BAD: Color = Color::LightRed;
/// Colour of good news (accepted, correct).
pub const GOOD: Color = Color::Green;
/// Colour of secondary text.
pub const DIM: Color = Color::DarkGray;

/// A bordered panel; the focused one has a highlighted border.
pub fn panel<'a>(title: impl Into<Line<'a>>, focused: bool) -> Block<'a> {
    let style = if focused {
        Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
    } else {
        Style::new().fg(Color::Gray)
    };
    Block::new()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(style)
        .title(title)
}

/// `h:mm:ss` (or `mm:ss` under an hour).
pub fn duration(secs: f64) -> String {
    let s = if secs.is_finite() {
        secs.max(0.0) as u64
    } else {
        0
    };
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

/// A fraction as a percentage with one decimal.
pub fn pct(fraction: f64) -> String {
    format!("{:.1}%", fraction * 100.0)
}

/// Cuts `text` to at most `width` characters, ending with `…` when cut.
pub fn truncate(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// Left-aligns `text` in exactly `width` characters (cut with `…` when longer).
pub fn pad(text: &str, width: usize) -> String {
    let t = truncate(text, width);
    let n = t.chars().count();
    format!("{t}{}", " ".repeat(width.saturating_sub(n)))
}

/// A `width × height` rectangle centred in `area` (clipped to it).
pub fn centered(width: u16, height: u16, area: Rect) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// A horizontal bar of `fraction` (0–1) of `width` cells, with eighth-block resolution.
pub fn hbar(fraction: f64, width: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let f = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let eighths = (f * width as f64 * 8.0).round() as usize;
    let full = eighths / 8;
    let mut s = "█".repeat(full.min(width));
    if full < width {
        let part = eighths % 8;
        if part > 0 {
            s.push(PARTS[part]);
        }
    }
    let n = s.chars().count();
    s.push_str(&" ".repeat(width.saturating_sub(n)));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_truncation() {
        assert_eq!(duration(5.7), "00:05");
        assert_eq!(duration(3725.0), "1:02:05");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(hbar(0.5, 4), "██  ");
        assert_eq!(hbar(1.0, 3), "███");
        assert_eq!(hbar(0.0, 2), "  ");
        assert_eq!(hbar(0.0625, 2), "▏ ");
    }
}
