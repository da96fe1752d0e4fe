//! Confusion matrix as a heatmap with class names (counts or row-normalised percentages), beside
//! a table of per-class precision, recall, F1 and support, with the macro-F1 below.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::train::events::Split;
use crate::tui::app::App;
use crate::tui::widgets::{self, pad, panel, pct};

/// Colour ramp (xterm-256 indices) of diagonal cells, lightest last.
const GREENS: [u8; 5] = [22, 28, 34, 40, 46];
/// Colour ramp of off-diagonal cells.
const REDS: [u8; 5] = [52, 88, 124, 160, 196];
/// Width of the per-class table without its class-name column.
const TABLE_FIXED: usize = 24;

/// Cell style for a row-normalised fraction.
pub fn heat(fraction: f64, diagonal: bool) -> Style {
    if fraction <= 0.0 {
        return Style::new().fg(widgets::DIM);
    }
    let level = ((fraction * 5.0).ceil() as usize).clamp(1, 5) - 1;
    let ramp = if diagonal { GREENS } else { REDS };
    let fg = if level >= 3 {
        Color::Black
    } else {
        Color::White
    };
    Style::new().bg(Color::Indexed(ramp[level])).fg(fg)
}

/// Widths chosen for a panel: `(row label, cell, table class name)`; the name is 0 when the
/// table does not fit.
pub fn widths(classes: &[String], cell: usize, inner_width: usize) -> (usize, usize, usize) {
    let k = classes.len();
    let index_width = k.saturating_sub(1).to_string().len();
    let longest = classes.iter().map(|c| c.chars().count()).max().unwrap_or(1);
    let heat = |label: usize| label + k * cell + 2;
    let full_label = (index_width + 1 + longest).min(12);
    for label in [full_label, index_width + 1] {
        let rest = inner_width.saturating_sub(heat(label) + TABLE_FIXED);
        if rest >= 4 || label == index_width + 1 {
            let name = if rest >= 4 {
                rest.min(longest.max(5))
            } else {
                0
            };
            return (label, cell, name);
        }
    }
    unreachable!()
}

/// Draws the confusion panel for the split chosen in `app`.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, focused: bool) {
    let (eval, split) = match app.confusion_split {
        Split::Validation => (app.last_val.as_ref(), "validation"),
        Split::Test => (app.last_test.as_ref(), "test"),
    };
    let mode = if app.confusion_normalised {
        "row %"
    } else {
        "counts"
    };
    let mut title = vec![
        Span::raw(" Confusion ").bold(),
        Span::raw(format!("· {split} · {mode} ")).fg(widgets::DIM),
    ];
    if let Some(e) = eval {
        let when = format!("· round {} epoch {} ", e.round, e.epoch);
        title.push(Span::raw(when).fg(widgets::DIM));
    }
    let block = panel(Line::from(title), focused);
    let Some(eval) = eval else {
        frame.render_widget(
            Paragraph::new(format!("no {split} evaluation yet"))
                .fg(widgets::DIM)
                .block(block),
            area,
        );
        return;
    };
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let report = &eval.report;
    let classes: Vec<String> = (0..report.confusion.num_classes())
        .map(|c| app.class_name(c))
        .collect();
    let k = classes.len();
    let norm = report.confusion.row_normalized();
    let text = |r: usize, c: usize| -> String {
        if app.confusion_normalised {
            if norm[r][c] == 0.0 {
                "·".into()
            } else {
                format!("{:.0}", norm[r][c] * 100.0)
            }
        } else if report.confusion.counts[r][c] == 0 {
            "·".into()
        } else {
            report.confusion.counts[r][c].to_string()
        }
    };
    let digits = (0..k)
        .flat_map(|r| (0..k).map(move |c| (r, c)))
        .map(|(r, c)| text(r, c).chars().count())
        .chain([k.saturating_sub(1).to_string().len()])
        .max()
        .unwrap_or(1);
    let (label_w, cell, name_w) = widths(&classes, digits + 1, inner.width as usize);
    let index_width = k.saturating_sub(1).to_string().len();

    let mut lines = Vec::with_capacity(k + 2);
    // Header: predicted class indices, then the table header.
    let corner = if label_w >= 9 { "true\\pred" } else { "" };
    let mut header = vec![Span::raw(pad(corner, label_w)).fg(widgets::DIM)];
    for c in 0..k {
        header.push(Span::raw(format!("{c:>cell$}")).fg(widgets::DIM));
    }
    if name_w > 0 {
        header.push(Span::raw(format!(
            "  {}{:>5}{:>5}{:>5}{:>7}",
            pad("class", name_w),
            "prec",
            "rec",
            "F1",
            "n"
        )));
    }
    lines.push(Line::from(header));
    for r in 0..k {
        let label = if label_w > index_width + 1 {
            format!("{r:>index_width$} {}", classes[r])
        } else {
            format!("{r:>index_width$}")
        };
        let mut spans = vec![Span::raw(pad(&label, label_w))];
        for (c, &fraction) in norm[r].iter().enumerate() {
            spans.push(Span::styled(
                format!("{:>cell$}", text(r, c)),
                heat(fraction, r == c),
            ));
        }
        if name_w > 0 {
            let m = &report.per_class[r];
            spans.push(Span::raw(format!(
                "  {}{:>5.2}{:>5.2}",
                pad(&classes[r], name_w),
                m.precision,
                m.recall
            )));
            spans.push(Span::raw(format!("{:>5.2}", m.f1)).bold());
            spans.push(Span::raw(format!("{:>7}", m.support)).fg(widgets::DIM));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::from(vec![
        Span::raw(format!("accuracy {}", pct(report.accuracy))).bold(),
        Span::raw(" · "),
        Span::raw(format!("macro-F1 {:.3}", report.macro_f1)).bold(),
        Span::raw(format!(
            " · loss {:.3} · step {}",
            report.loss, eval.global_step
        ))
        .fg(widgets::DIM),
    ]));
    frame.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_shrink_before_the_table_is_dropped() {
        let classes: Vec<String> = (0..10).map(|i| format!("class-number-{i}")).collect();
        assert_eq!(widths(&classes, 3, 120), (12, 3, 14));
        let (label, _, name) = widths(&classes, 3, 64);
        assert_eq!(label, 2);
        assert!(name >= 4);
        assert_eq!(widths(&classes, 3, 40).2, 0);
    }
}
