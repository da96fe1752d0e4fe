//! Pseudo-label panel: acceptance rate per round, accepted count per class against the labelled
//! class prior, the confidence histogram of the unlabelled pool with τ drawn on it, and the
//! what-if line for the τ being dialled in. When the round's policy applied a threshold per
//! class, the marker stands at their mean and each class row shows its own.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::train::events::PseudoRound;
use crate::train::pseudo::PolicySpec;
use crate::train::pseudo::WhatIf;
use crate::tui::acceptance::per_class_thresholds;
use crate::tui::app::App;
use crate::tui::widgets::{self, hbar, pad, panel, pct};

const EIGHTHS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// Width of a class row's own threshold (` τ0.90`), shown when thresholds are per class.
const TAU_COLUMN: usize = 6;

/// Where the histogram's threshold marker stands and what its label says.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Position on the confidence axis.
    pub at: f32,
    /// Label under it, e.g. `τ0.90`.
    pub label: String,
}

impl Marker {
    /// The dialled τ when one threshold holds for every class; else the mean of the round's
    /// per-class thresholds, labelled as such (the dial still moves the what-if line).
    pub fn for_round(round: &PseudoRound, dialled: f32) -> Self {
        match per_class_thresholds(&round.class_thresholds) {
            Some(t) => {
                let mean = t.iter().sum::<f32>() / t.len() as f32;
                Self {
                    at: mean,
                    label: format!("per-class τ≈{mean:.2}"),
                }
            }
            None => Self {
                at: dialled,
                label: format!("τ{dialled:.2}"),
            },
        }
    }
}

/// The what-if line, shortened when it would not fit in `width`.
pub fn what_if_fitted(w: &WhatIf, round_threshold: Option<f32>, width: usize) -> Line<'static> {
    let full = what_if_line(w, round_threshold);
    if full.width() <= width {
        return full;
    }
    let mut text = format!("what-if τ {:.2}: {} accepted", w.threshold, w.accepted);
    if w.known > 0 {
        text.push_str(&format!(
            ", {} correct",
            pct(w.correct as f64 / w.known as f64)
        ));
    }
    Line::from(Span::raw(text)).style(full.style)
}

/// The what-if line.
pub fn what_if_line(w: &WhatIf, round_threshold: Option<f32>) -> Line<'static> {
    let share = if w.pool == 0 {
        0.0
    } else {
        w.accepted as f64 / w.pool as f64
    };
    let mut spans = vec![
        Span::raw(format!("what-if τ {:.2}: ", w.threshold)).bold(),
        Span::raw(format!("{} accepted ({})", w.accepted, pct(share))),
    ];
    if w.known > 0 {
        let of = if w.known == w.accepted {
            String::new()
        } else {
            format!("/{}", w.known)
        };
        spans.push(Span::raw(format!(
            ", {}{of} correct ({})",
            w.correct,
            pct(w.correct as f64 / w.known as f64)
        )));
    }
    let changed = round_threshold.is_some_and(|t| (t - w.threshold).abs() > 1e-4);
    let style = if changed {
        Style::new().fg(widgets::PENDING)
    } else {
        Style::new()
    };
    Line::from(spans).style(style)
}

/// Acceptance rate per round, newest last, as many as fit in `width`.
pub fn rates_line(app: &App, width: usize) -> Line<'static> {
    let mut items: Vec<String> = app
        .rounds
        .iter()
        .map(|r| {
            let level = (r.rate() * 8.0).round() as usize;
            format!(
                "r{} {}{:.0}%",
                r.round,
                EIGHTHS[level.min(8)],
                r.rate() * 100.0
            )
        })
        .collect();
    let label = "accepted/round: ";
    let mut used = label.len();
    let mut shown = Vec::new();
    while let Some(item) = items.pop() {
        let w = item.chars().count() + 2;
        if used + w > width && !shown.is_empty() {
            break;
        }
        used += w;
        shown.push(item);
    }
    shown.reverse();
    Line::from(vec![
        Span::raw(label).fg(widgets::DIM),
        Span::raw(shown.join("  ")),
    ])
}

/// Draws the per-class accepted share with the labelled prior marked `┃`.
fn draw_classes(buf: &mut Buffer, area: Rect, app: &App, round: &PseudoRound) {
    if area.height == 0 || area.width < 12 {
        return;
    }
    let k = round.accepted_per_class.len();
    let class_tau = per_class_thresholds(&round.class_thresholds);
    let prior: Vec<usize> = app
        .info
        .as_ref()
        .map(|i| i.labeled_per_class.clone())
        .unwrap_or_default();
    let prior_sum: usize = prior.iter().sum();
    let total: usize = round.accepted_per_class.iter().sum();
    let share = |n: usize, of: usize| if of == 0 { 0.0 } else { n as f64 / of as f64 };
    let prior_share = |c: usize| share(prior.get(c).copied().unwrap_or(0), prior_sum);
    let scale = (0..k)
        .map(|c| share(round.accepted_per_class[c], total).max(prior_share(c)))
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let width = area.width as usize;
    let longest = (0..k)
        .map(|c| app.class_name(c).chars().count())
        .max()
        .unwrap_or(1);
    let name_w = longest.min(12).min(width.saturating_sub(20)).max(3);
    let tail = 14 + class_tau.map_or(0, |_| TAU_COLUMN); // " 1234  12%/10%" and " τ0.90"
    let bar_w = width.saturating_sub(name_w + 1 + tail).max(1);
    let header = format!("{}accepted vs prior ┃", pad("", name_w + 1));
    buf.set_line(
        area.x,
        area.y,
        &Line::from(Span::raw(header).fg(widgets::DIM)),
        area.width,
    );
    let rows = (area.height as usize).saturating_sub(1);
    for c in 0..k.min(rows) {
        let y = area.y + 1 + c as u16;
        let mut bar: Vec<char> = hbar(share(round.accepted_per_class[c], total) / scale, bar_w)
            .chars()
            .collect();
        let marker = ((prior_share(c) / scale) * bar_w as f64).round() as usize;
        let marker = marker.min(bar_w - 1);
        bar[marker] = '┃';
        let (before, after): (String, String) = (
            bar[..marker].iter().collect(),
            bar[marker + 1..].iter().collect(),
        );
        let mut spans = vec![
            Span::raw(pad(&app.class_name(c), name_w)),
            Span::raw(" "),
            Span::raw(before).fg(widgets::GOOD),
            Span::raw("┃").fg(widgets::PENDING),
            Span::raw(after).fg(widgets::GOOD),
            Span::raw(format!(
                "{:>5} {:>3.0}%/{:>2.0}%",
                round.accepted_per_class[c],
                share(round.accepted_per_class[c], total) * 100.0,
                prior_share(c) * 100.0
            )),
        ];
        if let Some(t) = class_tau.and_then(|t| t.get(c)) {
            spans.push(Span::raw(format!(" τ{t:.2}")).fg(widgets::PENDING));
        }
        let line = Line::from(spans);
        buf.set_line(area.x, y, &line, area.width);
    }
    if k > rows && rows > 0 {
        let y = area.y + rows as u16;
        buf.set_line(
            area.x,
            y,
            &Line::from(Span::raw(format!("… {} more classes", k - rows + 1)).fg(widgets::DIM)),
            area.width,
        );
    }
}

/// Draws the confidence histogram (accepted below in green, rejected above in grey, log
/// scale) over the whole width of `area`, with the threshold `marker`, plus an axis.
fn draw_histogram(buf: &mut Buffer, area: Rect, round: &PseudoRound, marker: &Marker) {
    let bins = round
        .hist_accepted
        .bins
        .len()
        .max(round.hist_rejected.bins.len());
    let width = area.width as usize;
    if bins == 0 || area.height < 4 || width < 10 {
        return;
    }
    let height = area.height as usize - 2;
    let count = |h: &crate::metrics::Histogram, b: usize| h.bins.get(b).copied().unwrap_or(0);
    let totals: Vec<u64> = (0..bins)
        .map(|b| count(&round.hist_accepted, b) + count(&round.hist_rejected, b))
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1) as f64;
    let tau_x = ((marker.at as f64 * width as f64).round() as usize).min(width - 1);
    for x in 0..width {
        let b = (x * bins / width).min(bins - 1);
        let t = totals[b];
        let h8 = if t == 0 {
            0
        } else {
            (((1.0 + t as f64).ln() / (1.0 + max).ln()) * (height * 8) as f64)
                .round()
                .max(1.0) as usize
        };
        let acc8 = if t == 0 {
            0
        } else {
            h8 * count(&round.hist_accepted, b) as usize / t as usize
        };
        for row in 0..height {
            let filled = h8.saturating_sub(row * 8).min(8);
            let y = area.y + (height - 1 - row) as u16;
            let cell = &mut buf[(area.x + x as u16, y)];
            if filled == 0 {
                if x == tau_x {
                    cell.set_char('│').set_fg(widgets::PENDING);
                }
                continue;
            }
            let colour = if row * 8 + filled / 2 < acc8 {
                widgets::GOOD
            } else {
                Color::Gray
            };
            cell.set_char(EIGHTHS[filled]).set_fg(colour);
            if x == tau_x {
                cell.set_bg(Color::Indexed(58));
            }
        }
    }
    // Axis and labels.
    let axis_y = area.y + height as u16;
    let mut axis: Vec<char> = vec!['─'; width];
    axis[tau_x] = '▲';
    let axis: String = axis.into_iter().collect();
    buf.set_line(
        area.x,
        axis_y,
        &Line::from(Span::raw(axis).fg(widgets::DIM)),
        area.width,
    );
    buf.set_line(
        area.x,
        axis_y + 1,
        &Line::from(Span::raw(axis_labels(width, tau_x, &marker.label)).fg(widgets::DIM)),
        area.width,
    );
}

/// The label row under the histogram: `0`, `.5`, `1` and the marker's `label` (`τ0.90`) under
/// it, without overlaps (the marker's label wins).
pub fn axis_labels(width: usize, tau_x: usize, label: &str) -> String {
    let mut labels: Vec<char> = vec![' '; width];
    let tau = label;
    let n = tau.chars().count();
    let start = tau_x.saturating_sub(n / 2).min(width.saturating_sub(n));
    let taken = start..start + n;
    let mut put = |at: usize, text: &str, force: bool| {
        let span = at..at + text.chars().count();
        let clash = span.start < taken.end + 1 && taken.start < span.end + 1;
        if span.end <= width && (force || !clash) {
            for (i, ch) in text.chars().enumerate() {
                labels[at + i] = ch;
            }
        }
    };
    put(start, tau, true);
    put(0, "0", false);
    put(width / 2, ".5", false);
    put(width - 1, "1", false);
    labels.into_iter().collect()
}

/// Draws the pseudo-label panel.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, focused: bool) {
    let mut title = vec![Span::raw(" Pseudo-labels ").bold()];
    if let Some(p) = &app.pseudo {
        let tau = match per_class_thresholds(&p.class_thresholds) {
            Some(t) => {
                let (lo, hi) = t
                    .iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                        (lo.min(v), hi.max(v))
                    });
                format!("per-class τ {lo:.2}–{hi:.2}")
            }
            None => format!("τ {:.2}", p.threshold),
        };
        title.push(Span::raw(format!("· round {} · {tau} ", p.round)).fg(widgets::DIM));
    }
    let policy = app.policy();
    if policy != PolicySpec::Threshold {
        title.push(Span::raw(format!("· {} ", policy.name())).fg(widgets::DIM));
    }
    let block = panel(Line::from(title), focused);
    let Some(round) = &app.pseudo else {
        let when = match &app.progress {
            Some(p) if p.round == 0 => format!(
                "no pseudo-labels yet: the first round starts after the warm-up (epoch {}/{})",
                p.epoch, p.total_epochs
            ),
            _ => "no pseudo-labels yet".to_string(),
        };
        frame.render_widget(
            Paragraph::new(when)
                .fg(widgets::DIM)
                .wrap(ratatui::widgets::Wrap { trim: true })
                .block(block),
            area,
        );
        return;
    };
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [text_area, body] =
        Layout::vertical([Constraint::Length(3), Constraint::Min(0)]).areas(inner);
    let rate = if round.pool_size == 0 {
        0.0
    } else {
        round.accepted as f64 / round.pool_size as f64
    };
    let mut summary = vec![Span::raw(format!(
        "accepted {}/{} ({}) · +{} −{}",
        round.accepted,
        round.pool_size,
        pct(rate),
        round.newly_accepted,
        round.dropped
    ))];
    if let Some(a) = round.accepted_accuracy {
        summary.push(Span::raw(format!(" · {} correct", pct(a))).fg(if a >= 0.9 {
            widgets::GOOD
        } else {
            widgets::PENDING
        }));
    }
    let what_if = match &app.what_if {
        Some(w) => what_if_fitted(w, Some(round.threshold), inner.width as usize),
        None => Line::from(
            Span::raw("what-if: predictions not available (inspector data missing)")
                .fg(widgets::DIM),
        ),
    };
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(summary),
            what_if,
            rates_line(app, inner.width as usize),
        ]),
        text_area,
    );
    // The class bars take what they need (up to half), the histogram the rest.
    let longest = (0..app.classes().len())
        .map(|c| app.class_name(c).chars().count())
        .max()
        .unwrap_or(4)
        .min(12) as u16;
    let tau_w = per_class_thresholds(&round.class_thresholds).map_or(0, |_| TAU_COLUMN as u16);
    let classes_w = (longest + 1 + 10 + 14 + tau_w).min(body.width / 2);
    let [left, _, right] = Layout::horizontal([
        Constraint::Length(classes_w),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(body);
    let marker = Marker::for_round(round, app.dialled_threshold());
    let buf = frame.buffer_mut();
    if body.width >= 50 {
        draw_classes(buf, left, app, round);
        draw_histogram(buf, right, round, &marker);
    } else {
        draw_histogram(buf, body, round, &marker);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_if_line_counts_and_highlights_a_changed_threshold() {
        let w = WhatIf {
            threshold: 0.85,
            accepted: 50,
            effective: 50.0,
            known: 40,
            correct: 30,
            pool: 200,
        };
        let line = what_if_line(&w, Some(0.9));
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(
            text,
            "what-if τ 0.85: 50 accepted (25.0%), 30/40 correct (75.0%)"
        );
        assert_eq!(line.style.fg, Some(widgets::PENDING));
        assert_eq!(what_if_line(&w, Some(0.85)).style.fg, None);
    }

    #[test]
    fn axis_labels_never_overlap_the_threshold() {
        assert_eq!(axis_labels(20, 18, "τ0.90"), "0         .5   τ0.90");
        assert_eq!(axis_labels(20, 10, "τ0.50"), "0       τ0.50      1");
        assert_eq!(axis_labels(20, 0, "τ0.00"), "τ0.00     .5       1");
    }
}
