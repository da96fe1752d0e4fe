//! Loss chart: supervised, pseudo and total loss per optimizer step, over a recent window or
//! the whole run (averaged into a bounded number of buckets so long runs stay cheap to draw).

use std::collections::VecDeque;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style, Stylize};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};

use crate::train::events::LossPoint;
use crate::tui::widgets::{self, panel};

/// Which steps the loss chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossWindow {
    /// The most recent steps.
    Recent,
    /// The whole run (averaged into buckets).
    Whole,
}

impl LossWindow {
    /// The other window.
    pub fn toggled(self) -> Self {
        match self {
            LossWindow::Recent => LossWindow::Whole,
            LossWindow::Whole => LossWindow::Recent,
        }
    }
}

/// Steps shown in the recent window.
pub const RECENT_STEPS: usize = 300;
/// Most buckets kept for the whole-run series (pairs merge beyond it).
pub const WHOLE_BUCKETS: usize = 512;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Bucket {
    n: u64,
    step_sum: f64,
    supervised: f64,
    total: f64,
    pseudo: f64,
    pseudo_n: u64,
}

impl Bucket {
    fn add(&mut self, other: &Bucket) {
        self.n += other.n;
        self.step_sum += other.step_sum;
        self.supervised += other.supervised;
        self.total += other.total;
        self.pseudo += other.pseudo;
        self.pseudo_n += other.pseudo_n;
    }

    fn of(p: &LossPoint) -> Self {
        Self {
            n: 1,
            step_sum: p.global_step as f64,
            supervised: p.supervised,
            total: p.total,
            pseudo: p.pseudo.unwrap_or(0.0),
            pseudo_n: u64::from(p.pseudo.is_some()),
        }
    }
}

/// The three loss series, as chart points `(step, loss)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LossSeries {
    /// Supervised loss.
    pub supervised: Vec<(f64, f64)>,
    /// Pseudo-label loss (steps with pseudo-labelled samples only).
    pub pseudo: Vec<(f64, f64)>,
    /// Total (optimized) loss.
    pub total: Vec<(f64, f64)>,
}

impl LossSeries {
    fn push(&mut self, b: &Bucket) {
        if b.n == 0 {
            return;
        }
        let n = b.n as f64;
        let x = b.step_sum / n;
        self.supervised.push((x, b.supervised / n));
        self.total.push((x, b.total / n));
        if b.pseudo_n > 0 {
            self.pseudo.push((x, b.pseudo / b.pseudo_n as f64));
        }
    }

    /// Smallest and largest step.
    pub fn x_bounds(&self) -> Option<(f64, f64)> {
        let first = self.total.first()?.0;
        let last = self.total.last()?.0;
        Some((first, last.max(first + 1.0)))
    }

    /// Largest loss shown.
    pub fn y_max(&self) -> f64 {
        self.supervised
            .iter()
            .chain(&self.pseudo)
            .chain(&self.total)
            .map(|p| p.1)
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max)
    }
}

/// Every loss point received: raw for the recent window, bucketed for the whole run.
#[derive(Debug, Clone, Default)]
pub struct LossHistory {
    recent: VecDeque<LossPoint>,
    buckets: Vec<Bucket>,
    current: Bucket,
    bucket_size: u64,
    count: usize,
}

impl LossHistory {
    /// Records one step.
    pub fn push(&mut self, p: &LossPoint) {
        self.count += 1;
        if self.recent.len() == RECENT_STEPS {
            self.recent.pop_front();
        }
        self.recent.push_back(p.clone());
        if self.bucket_size == 0 {
            self.bucket_size = 1;
        }
        self.current.add(&Bucket::of(p));
        if self.current.n >= self.bucket_size {
            self.buckets.push(std::mem::take(&mut self.current));
            if self.buckets.len() >= WHOLE_BUCKETS {
                self.buckets = self
                    .buckets
                    .chunks(2)
                    .map(|pair| {
                        let mut b = pair[0];
                        if let Some(o) = pair.get(1) {
                            b.add(o);
                        }
                        b
                    })
                    .collect();
                self.bucket_size *= 2;
            }
        }
    }

    /// Steps recorded.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no step was recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Latest step.
    pub fn last(&self) -> Option<&LossPoint> {
        self.recent.back()
    }

    /// The series to draw.
    pub fn series(&self, window: LossWindow) -> LossSeries {
        let mut s = LossSeries::default();
        match window {
            LossWindow::Recent => {
                for p in &self.recent {
                    s.push(&Bucket::of(p));
                }
            }
            LossWindow::Whole => {
                for b in &self.buckets {
                    s.push(b);
                }
                s.push(&self.current);
            }
        }
        s
    }
}

/// Draws the loss chart of `history` over `window`.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    history: &LossHistory,
    window: LossWindow,
    focused: bool,
) {
    let series = history.series(window);
    let window = match window {
        LossWindow::Recent => format!("last {RECENT_STEPS} steps"),
        LossWindow::Whole => "whole run".to_string(),
    };
    let title = Line::from(vec![
        Span::raw(" Loss ").bold(),
        Span::raw(format!("· {window} ")).fg(widgets::DIM),
    ]);
    let block = panel(title, focused);
    let Some((x0, x1)) = series.x_bounds() else {
        frame.render_widget(
            Paragraph::new("waiting for the first training step…")
                .fg(widgets::DIM)
                .block(block),
            area,
        );
        return;
    };
    let y1 = (series.y_max() * 1.05).max(1e-3);
    let last = history.last();
    let name = |label: &str, v: Option<f64>| match v {
        Some(v) => format!("{label} {v:.3}"),
        None => label.to_string(),
    };
    let datasets = vec![
        Dataset::default()
            .name(name("total", last.map(|l| l.total)))
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(Color::White))
            .data(&series.total),
        Dataset::default()
            .name(name("supervised", last.map(|l| l.supervised)))
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(widgets::BLUE))
            .data(&series.supervised),
        Dataset::default()
            .name(name("pseudo", last.and_then(|l| l.pseudo)))
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(widgets::PSEUDO))
            .data(&series.pseudo),
    ];
    let chart = Chart::new(datasets)
        .block(block)
        .x_axis(
            Axis::default()
                .bounds([x0, x1])
                .labels([format!("{x0:.0}"), format!("step {x1:.0}")])
                .style(Style::new().fg(widgets::DIM)),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, y1])
                .labels(["0".to_string(), format!("{y1:.2}")])
                .style(Style::new().fg(widgets::DIM)),
        )
        .hidden_legend_constraints((
            ratatui::layout::Constraint::Percentage(60),
            ratatui::layout::Constraint::Percentage(60),
        ));
    frame.render_widget(chart, area);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(step: u64, pseudo: bool) -> LossPoint {
        LossPoint {
            global_step: step,
            round: 0,
            supervised: 1.0,
            pseudo: pseudo.then_some(0.5),
            total: 2.0,
        }
    }

    #[test]
    fn recent_window_keeps_the_last_steps_and_whole_run_stays_bounded() {
        let mut h = LossHistory::default();
        for s in 1..=10_000 {
            h.push(&point(s, s > 5000));
        }
        assert_eq!(h.len(), 10_000);
        let recent = h.series(LossWindow::Recent);
        assert_eq!(recent.total.len(), RECENT_STEPS);
        assert_eq!(recent.total[0].0, (10_000 - RECENT_STEPS + 1) as f64);
        let whole = h.series(LossWindow::Whole);
        assert!(whole.total.len() <= WHOLE_BUCKETS + 1);
        assert!(whole.total.len() >= WHOLE_BUCKETS / 2);
        assert_eq!(whole.x_bounds().map(|b| b.0 < 100.0), Some(true));
        assert!(whole.total.iter().all(|p| p.1 == 2.0));
        assert!(whole.pseudo.iter().all(|p| p.1 == 0.5));
        assert!(whole.pseudo.len() < whole.total.len());
        assert_eq!(whole.y_max(), 2.0);
    }
}
