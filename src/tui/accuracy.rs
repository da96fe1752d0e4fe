//! Accuracy chart: validation and test accuracy per evaluation, the supervised-only baseline as
//! a reference line, and the accuracy of accepted pseudo-labels against hidden truth.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Style, Stylize};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};

use crate::tui::app::App;
use crate::tui::widgets::{self, panel, pct};

/// Lower bound of the y axis: a tenth below the smallest value shown (never below 0).
pub fn y_floor(values: impl Iterator<Item = f64>) -> f64 {
    let min = values.filter(|v| v.is_finite()).fold(1.0_f64, f64::min);
    ((min * 10.0).floor() / 10.0).clamp(0.0, 0.9)
}

/// Expected calibration error of the latest test evaluation, when it is known and a number.
pub fn latest_test_ece(app: &App) -> Option<f64> {
    let ece = app.last_test.as_ref()?.report.ece?;
    ece.is_finite().then_some(ece)
}

/// Draws the accuracy chart, with the latest test ECE on the bottom border (out of the way of
/// the title, which already fills narrow panels).
pub fn draw(frame: &mut Frame, area: Rect, app: &App, focused: bool) {
    let mut title = vec![Span::raw(" Accuracy ").bold()];
    let latest = [
        ("val", app.val_points.last().map(|p| p.1), widgets::BLUE),
        ("test", app.test_points.last().map(|p| p.1), widgets::TEST),
        ("supervised-only", app.baseline, widgets::DIM),
    ];
    for (name, value, colour) in latest {
        if let Some(v) = value {
            title.push(Span::raw("· ").fg(widgets::DIM));
            title.push(Span::raw(format!("{name} {} ", pct(v))).fg(colour));
        }
    }
    let mut block = panel(Line::from(title), focused);
    if let Some(ece) = latest_test_ece(app) {
        block = block.title_bottom(
            Line::from(vec![
                Span::raw(" test ECE ").fg(widgets::DIM),
                Span::raw(format!("{ece:.3} ")).fg(widgets::TEST),
            ])
            .right_aligned(),
        );
    }
    if app.val_points.is_empty() && app.test_points.is_empty() {
        frame.render_widget(
            Paragraph::new("waiting for the first evaluation…")
                .fg(widgets::DIM)
                .block(block),
            area,
        );
        return;
    }
    let all = app
        .val_points
        .iter()
        .chain(&app.test_points)
        .chain(&app.pseudo_points);
    let x1 = all
        .clone()
        .map(|p| p.0)
        .fold(1.0_f64, f64::max)
        .max(app.global_step as f64);
    let lo = y_floor(all.map(|p| p.1).chain(app.baseline));
    let baseline: Vec<(f64, f64)> = app
        .baseline
        .map(|b| vec![(0.0, b), (x1, b)])
        .unwrap_or_default();
    let last = |pts: &[(f64, f64)]| pts.last().map_or("–".to_string(), |p| pct(p.1));
    let mut datasets = vec![
        Dataset::default()
            .name(format!("val {}", last(&app.val_points)))
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(widgets::BLUE))
            .data(&app.val_points),
        Dataset::default()
            .name(format!("test {}", last(&app.test_points)))
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(widgets::TEST))
            .data(&app.test_points),
    ];
    if let Some(b) = app.baseline {
        datasets.push(
            Dataset::default()
                .name(format!("supervised-only {}", pct(b)))
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(widgets::DIM))
                .data(&baseline),
        );
    }
    if !app.pseudo_points.is_empty() {
        datasets.push(
            Dataset::default()
                .name(format!("pseudo-labels {}", last(&app.pseudo_points)))
                .marker(Marker::Dot)
                .graph_type(GraphType::Scatter)
                .style(Style::new().fg(widgets::PSEUDO))
                .data(&app.pseudo_points),
        );
    }
    let chart = Chart::new(datasets)
        .block(block)
        .x_axis(
            Axis::default()
                .bounds([0.0, x1])
                .labels(["0".to_string(), format!("step {x1:.0}")])
                .style(Style::new().fg(widgets::DIM)),
        )
        .y_axis(
            Axis::default()
                .bounds([lo, 1.0])
                .labels([format!("{:.0}%", lo * 100.0), "100%".to_string()])
                .style(Style::new().fg(widgets::DIM)),
        )
        .legend_position(Some(ratatui::widgets::LegendPosition::BottomRight))
        .hidden_legend_constraints((Constraint::Percentage(70), Constraint::Percentage(70)));
    frame.render_widget(chart, area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_is_a_tenth_below_the_minimum() {
        assert_eq!(y_floor([0.83, 0.95].into_iter()), 0.8);
        assert_eq!(y_floor([0.05].into_iter()), 0.0);
        assert_eq!(y_floor(std::iter::empty()), 0.9);
    }
}
