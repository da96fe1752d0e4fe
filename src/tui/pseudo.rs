//! Pseudo-label panel: acceptance rate per round, accepted count per class against the labelled
//! class prior with each class's threshold τ_c (the user's own marked `*`, pending in yellow),
//! the confidence histogram of the unlabelled pool with the thresholds drawn on it, the weights
//! and effective number Σw of soft-weighted rounds, the uncertain and outlier rejections, and
//! the what-if line for what is being dialled in (τ, the curriculum step, κ, and the user's
//! per-class thresholds). Focused, it selects a class (`↑`/`↓`) whose τ_c `←`/`→` dial.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::train::events::PseudoRound;
use crate::train::pseudo::{Dial, PolicySpec, WhatIf};
use crate::tui::acceptance::per_class_thresholds;
use crate::tui::app::App;
use crate::tui::keys::{self, KeyMode};
use crate::tui::widgets::{self, hbar, pad, panel, pct};

const EIGHTHS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// Width of a class row's own threshold (` τ0.90*`).
const TAU_COLUMN: usize = 7;
/// Width of a class row's count and shares (` 1234  12%/10%`).
const COUNT_COLUMN: usize = 5;
const SHARES_COLUMN: usize = 9;
/// Bins of the weight histogram over (0, 1].
const WEIGHT_BINS: usize = 10;
/// More distinct thresholds than this are drawn as a range.
const MAX_MARKERS: usize = 3;

/// Where the histogram's threshold markers stand and what their label says.
#[derive(Debug, Clone, PartialEq)]
pub struct Markers {
    /// Positions on the confidence axis, ascending: each distinct threshold, or the two ends of
    /// their range when more differ.
    pub at: Vec<f32>,
    /// Whether `at` are the ends of a range of many thresholds.
    pub range: bool,
    /// Label under them, e.g. `τ0.90` or `τ0.55–0.90`.
    pub label: String,
}

impl Markers {
    /// Markers for these per-class thresholds (two decimals decide what is distinct).
    pub fn new(thresholds: &[f32]) -> Self {
        let mut distinct: Vec<f32> = thresholds
            .iter()
            .filter(|t| t.is_finite())
            .map(|t| (t.clamp(0.0, 1.0) * 100.0).round() / 100.0)
            .collect();
        distinct.sort_by(f32::total_cmp);
        distinct.dedup();
        match distinct[..] {
            [] => Self {
                at: Vec::new(),
                range: false,
                label: String::new(),
            },
            [t] => Self {
                at: vec![t],
                range: false,
                label: format!("τ{t:.2}"),
            },
            [lo, .., hi] => {
                let range = distinct.len() > MAX_MARKERS;
                Self {
                    at: if range {
                        vec![lo, hi]
                    } else {
                        distinct.clone()
                    },
                    range,
                    label: format!("τ{lo:.2}–{hi:.2}"),
                }
            }
        }
    }

    /// The thresholds the panel marks: those of the what-if decision (they follow the dial and
    /// the user's τ_c); without predictions, the round's own, or the dialled τ where one τ held
    /// for every class under a τ-dialled policy.
    pub fn for_round(app: &App, round: &PseudoRound) -> Self {
        if !app.what_if_thresholds.is_empty() {
            return Self::new(&app.what_if_thresholds);
        }
        let uniform = per_class_thresholds(&round.class_thresholds).is_none();
        if round.class_thresholds.is_empty() || (uniform && app.policy().dial() == Dial::Threshold)
        {
            Self::new(&[app.dialled_threshold()])
        } else {
            Self::new(&round.class_thresholds)
        }
    }
}

/// What the what-if line says: the counts, what was dialled, and whether it differs from the
/// round shown.
#[derive(Debug, Clone, PartialEq)]
pub struct WhatIfView {
    /// Accepted, effective and correct counts.
    pub counts: WhatIf,
    /// The dial in words: `τ 0.85`, `p 0.25 (preview)`, `κ 0.10 (preview)` or
    /// `self-adaptive τ (nothing to dial)`.
    pub dial: String,
    /// The dial in fewer words (`τ 0.85`, `p 0.25`, `self-adaptive τ`).
    pub dial_short: String,
    /// Classes decided by the user's own τ_c.
    pub own: usize,
    /// Whether something dialled differs from what the round used (drawn as pending).
    pub changed: bool,
}

impl WhatIfView {
    /// The view of the app's what-if counts (`None` without them).
    pub fn of(app: &App, round_threshold: Option<f32>) -> Option<Self> {
        let counts = app.what_if?;
        let spec = app.policy();
        let value = app.dialled_policy().dialled().unwrap_or(0.0);
        let (dial, dial_short, changed) = match spec.dial() {
            Dial::Threshold => {
                let t = format!("τ {:.2}", counts.threshold);
                let changed = round_threshold.is_some_and(|r| (r - counts.threshold).abs() > 1e-4);
                (t.clone(), t, changed)
            }
            Dial::CurriculumStep => (
                format!("p {value:.2} (preview)"),
                format!("p {value:.2}"),
                app.param_preview.is_some(),
            ),
            Dial::Kappa => (
                format!("κ {value:.2} (preview)"),
                format!("κ {value:.2}"),
                app.param_preview.is_some(),
            ),
            Dial::None => (
                "self-adaptive τ (nothing to dial)".to_string(),
                "self-adaptive τ".to_string(),
                false,
            ),
        };
        let own = app
            .controls
            .dialled_class_thresholds()
            .iter()
            .filter(|t| t.is_some())
            .count();
        let changed = changed || app.controls.any_class_pending();
        Some(Self {
            counts,
            dial,
            dial_short,
            own,
            changed,
        })
    }

    fn head(&self, short: bool) -> String {
        let own = match self.own {
            0 => String::new(),
            1 => " +1 class τ".to_string(),
            n => format!(" +{n} class τ"),
        };
        let dial = if short { &self.dial_short } else { &self.dial };
        format!("what-if {dial}{own}: ")
    }

    /// `, Σw 61.2` when the accepted weights are not all 1.
    fn effective(&self) -> String {
        let w = &self.counts;
        if soft(w.accepted, w.effective) {
            format!(", Σw {:.1}", w.effective)
        } else {
            String::new()
        }
    }

    fn style(&self) -> Style {
        if self.changed {
            Style::new().fg(widgets::PENDING)
        } else {
            Style::new()
        }
    }

    /// The full line.
    pub fn line(&self) -> Line<'static> {
        let w = &self.counts;
        let share = if w.pool == 0 {
            0.0
        } else {
            w.accepted as f64 / w.pool as f64
        };
        let mut spans = vec![
            Span::raw(self.head(false)).bold(),
            Span::raw(format!(
                "{} accepted ({}){}",
                w.accepted,
                pct(share),
                self.effective()
            )),
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
        Line::from(spans).style(self.style())
    }

    /// The line, shortened when it would not fit in `width`.
    pub fn fitted(&self, width: usize) -> Line<'static> {
        let full = self.line();
        if full.width() <= width {
            return full;
        }
        let w = &self.counts;
        let tail = {
            let mut t = format!("{} accepted{}", w.accepted, self.effective());
            if w.known > 0 {
                t.push_str(&format!(
                    ", {} correct",
                    pct(w.correct as f64 / w.known as f64)
                ));
            }
            t
        };
        // The dial's explanation outlasts the `what-if` word; the counts outlast both.
        let (long, short) = (self.head(false), self.head(true));
        let candidates = [
            format!("{long}{tail}"),
            format!("{}{tail}", long.trim_start_matches("what-if ")),
            format!("{short}{tail}"),
        ];
        let text = candidates
            .into_iter()
            .find(|t| t.chars().count() <= width)
            .unwrap_or_else(|| format!("{}{tail}", short.trim_start_matches("what-if ")));
        Line::from(Span::raw(text)).style(self.style())
    }
}

/// Whether `accepted` pseudo-labels summing to `effective` were soft-weighted (not all 1).
pub fn soft(accepted: usize, effective: f32) -> bool {
    (accepted as f32 - effective).abs() > 0.005
}

/// The round's effective number of pseudo-labels Σw: recorded, else summed from its
/// predictions when they are the round's, else its accepted count (runs before weights).
pub fn effective(app: &App, round: &PseudoRound) -> f32 {
    round.effective.unwrap_or_else(|| {
        if app.predictions_round == round.round && !app.predictions.is_empty() {
            app.predictions
                .iter()
                .filter(|p| p.accepted)
                .map(|p| p.weight)
                .sum()
        } else {
            round.accepted as f32
        }
    })
}

/// Accepted weights binned over (0, 1] ([`WEIGHT_BINS`] bins; weight 1 in the last).
pub fn weight_bins(weights: impl Iterator<Item = f32>) -> [u64; WEIGHT_BINS] {
    let mut bins = [0u64; WEIGHT_BINS];
    for w in weights {
        let b = ((w.clamp(0.0, 1.0) * WEIGHT_BINS as f32) as usize).min(WEIGHT_BINS - 1);
        bins[b] += 1;
    }
    bins
}

/// A one-row histogram of `bins` (log scale, eighths), one character per bin.
pub fn sparkline(bins: &[u64]) -> String {
    let max = bins.iter().copied().max().unwrap_or(0);
    if max == 0 {
        return " ".repeat(bins.len());
    }
    bins.iter()
        .map(|&n| {
            if n == 0 {
                ' '
            } else {
                let level = ((1.0 + n as f64).ln() / (1.0 + max as f64).ln() * 8.0)
                    .round()
                    .clamp(1.0, 8.0) as usize;
                EIGHTHS[level]
            }
        })
        .collect()
}

/// The line under the summary, when there is something to say: the weight histogram of a
/// soft-weighted round and the uncertain and outlier rejections.
fn detail_line(app: &App, round: &PseudoRound) -> Option<Line<'static>> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let own = app.predictions_round == round.round && !app.predictions.is_empty();
    if soft(round.accepted, effective(app, round)) && own {
        let bins = weight_bins(
            app.predictions
                .iter()
                .filter(|p| p.accepted)
                .map(|p| p.weight),
        );
        spans.push(Span::raw("weights 0▕").fg(widgets::DIM));
        spans.push(Span::raw(sparkline(&bins)).fg(widgets::GOOD));
        spans.push(Span::raw("▏1").fg(widgets::DIM));
    }
    let mut rejected = Vec::new();
    if round.rejected_uncertain > 0 {
        rejected.push(format!("{} uncertain", round.rejected_uncertain));
    }
    if round.rejected_outlier > 0 {
        rejected.push(format!("{} outlier", round.rejected_outlier));
    }
    if !rejected.is_empty() {
        if !spans.is_empty() {
            spans.push(Span::raw(" · ").fg(widgets::DIM));
        }
        spans.push(Span::raw("rejected ").fg(widgets::DIM));
        spans.push(Span::raw(rejected.join(", ")).fg(widgets::PENDING));
    }
    (!spans.is_empty()).then(|| Line::from(spans))
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

/// Whether the class rows show each class's threshold: when they differ, when the user has set
/// one, or while the panel is focused (where `←`/`→` dial them).
fn shows_tau_column(app: &App, round: &PseudoRound, focused: bool) -> bool {
    focused
        || per_class_thresholds(&round.class_thresholds).is_some()
        || !app.controls.dialled_class_thresholds().is_empty()
}

/// A class row's threshold cell: the user's own τ_c marked `*` (yellow while pending), else the
/// round's; a class given back to the policy and not yet acknowledged shows the round's in
/// yellow.
pub fn tau_cell(app: &App, round: &PseudoRound, c: usize) -> Span<'static> {
    let pending = app.controls.class_pending(c);
    let style = if pending {
        Style::new().fg(widgets::PENDING)
    } else {
        Style::new()
    };
    match app.controls.dialled_class(c) {
        Some(t) => Span::styled(format!(" τ{t:.2}*"), style.add_modifier(Modifier::BOLD)),
        None => match round.class_thresholds.get(c) {
            Some(t) => Span::styled(
                format!(" τ{t:.2} "),
                if pending {
                    style
                } else {
                    style.fg(widgets::DIM)
                },
            ),
            None => Span::raw(" ".repeat(TAU_COLUMN)),
        },
    }
}

/// The first class row shown so that `cursor` is among the `visible` rows of `k`.
pub fn first_row(cursor: usize, visible: usize, k: usize) -> usize {
    if visible == 0 || k <= visible {
        return 0;
    }
    cursor.saturating_sub(visible - 1).min(k - visible)
}

/// Draws the per-class accepted share with the labelled prior marked `┃`, and each class's
/// threshold; the selected class highlighted when the panel is focused.
fn draw_classes(buf: &mut Buffer, area: Rect, app: &App, round: &PseudoRound, focused: bool) {
    if area.height == 0 || area.width < 12 {
        return;
    }
    let k = round.accepted_per_class.len();
    let show_tau = shows_tau_column(app, round, focused);
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
    let tau_w = if show_tau { TAU_COLUMN } else { 0 };
    // The shares go first when the bars would get too short.
    let with_shares = width >= name_w + 1 + 4 + COUNT_COLUMN + SHARES_COLUMN + tau_w;
    let tail = COUNT_COLUMN + if with_shares { SHARES_COLUMN } else { 0 } + tau_w;
    let bar_w = width.saturating_sub(name_w + 1 + tail).max(1);
    let header = format!("{}accepted vs prior ┃", pad("", name_w + 1));
    buf.set_line(
        area.x,
        area.y,
        &Line::from(Span::raw(header).fg(widgets::DIM)),
        area.width,
    );
    let rows = (area.height as usize).saturating_sub(1);
    let cursor = app.class_cursor.min(k.saturating_sub(1));
    // One row says how many are not shown when they do not all fit.
    let visible = if k > rows { rows.saturating_sub(1) } else { k };
    let first = first_row(cursor, visible, k);
    for (n, c) in (first..first + visible).enumerate() {
        let y = area.y + 1 + n as u16;
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
        let name_style = if focused && c == cursor {
            Style::new().bg(Color::Blue).fg(Color::White).bold()
        } else {
            Style::new()
        };
        let mut counts = format!("{:>5}", round.accepted_per_class[c]);
        if with_shares {
            counts.push_str(&format!(
                " {:>3.0}%/{:>2.0}%",
                share(round.accepted_per_class[c], total) * 100.0,
                prior_share(c) * 100.0
            ));
        }
        let mut spans = vec![
            Span::styled(pad(&app.class_name(c), name_w), name_style),
            Span::raw(" "),
            Span::raw(before).fg(widgets::GOOD),
            Span::raw("┃").fg(widgets::PENDING),
            Span::raw(after).fg(widgets::GOOD),
            Span::raw(counts),
        ];
        if show_tau {
            spans.push(tau_cell(app, round, c));
        }
        buf.set_line(area.x, y, &Line::from(spans), area.width);
    }
    if k > visible && rows > 0 {
        let y = area.y + rows as u16;
        let hidden = k - visible;
        let text = if focused {
            format!("… {hidden} more classes (↑↓)")
        } else {
            format!("… {hidden} more classes")
        };
        buf.set_line(
            area.x,
            y,
            &Line::from(Span::raw(text).fg(widgets::DIM)),
            area.width,
        );
    }
}

/// Draws the confidence histogram (accepted below in green, rejected above in grey, log
/// scale) over the whole width of `area`, with the threshold `markers` (a range on the axis
/// when many thresholds differ), plus an axis.
fn draw_histogram(buf: &mut Buffer, area: Rect, round: &PseudoRound, markers: &Markers) {
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
    let column = |t: f32| ((t as f64 * width as f64).round() as usize).min(width - 1);
    let marked: Vec<usize> = markers.at.iter().map(|&t| column(t)).collect();
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
        let at_marker = marked.contains(&x);
        for row in 0..height {
            let filled = h8.saturating_sub(row * 8).min(8);
            let y = area.y + (height - 1 - row) as u16;
            let cell = &mut buf[(area.x + x as u16, y)];
            if filled == 0 {
                if at_marker {
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
            if at_marker {
                cell.set_bg(Color::Indexed(58));
            }
        }
    }
    // Axis and labels: ▲ under each marker, the range between the ends drawn thick.
    let axis_y = area.y + height as u16;
    let mut axis: Vec<char> = vec!['─'; width];
    if markers.range
        && let [lo, hi] = marked[..]
    {
        for ch in &mut axis[lo..=hi] {
            *ch = '━';
        }
    }
    for &x in &marked {
        axis[x] = '▲';
    }
    let mut spans = Vec::new();
    let mut run = String::new();
    let mut run_marked = false;
    for ch in axis {
        let m = ch != '─';
        if m != run_marked && !run.is_empty() {
            spans.push(axis_span(std::mem::take(&mut run), run_marked));
        }
        run_marked = m;
        run.push(ch);
    }
    spans.push(axis_span(run, run_marked));
    buf.set_line(area.x, axis_y, &Line::from(spans), area.width);
    let centre = match marked[..] {
        [] => 0,
        [x] => x,
        [lo, .., hi] => (lo + hi) / 2,
    };
    let labels = axis_labels(width, centre, &markers.label);
    buf.set_line(
        area.x,
        axis_y + 1,
        &Line::from(Span::raw(labels).fg(widgets::DIM)),
        area.width,
    );
}

fn axis_span(text: String, marked: bool) -> Span<'static> {
    if marked {
        Span::raw(text).fg(widgets::PENDING)
    } else {
        Span::raw(text).fg(widgets::DIM)
    }
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
        let clash = n > 0 && span.start < taken.end + 1 && taken.start < span.end + 1;
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
            None => format!(
                "τ {:.2}",
                p.class_thresholds.first().copied().unwrap_or(p.threshold)
            ),
        };
        title.push(Span::raw(format!("· round {} · {tau} ", p.round)).fg(widgets::DIM));
    }
    let policy = app.policy();
    if policy != PolicySpec::Threshold {
        title.push(Span::raw(format!("· {} ", policy.name())).fg(widgets::DIM));
    }
    let mut block = panel(Line::from(title), focused);
    if focused && !app.classes().is_empty() {
        block = block.title_bottom(panel_hints(app));
    }
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
    let detail = detail_line(app, round);
    let text_rows = 3 + u16::from(detail.is_some());
    let [text_area, body] =
        Layout::vertical([Constraint::Length(text_rows), Constraint::Min(0)]).areas(inner);
    let rate = if round.pool_size == 0 {
        0.0
    } else {
        round.accepted as f64 / round.pool_size as f64
    };
    let sum_w = effective(app, round);
    let mut summary = vec![Span::raw(format!(
        "accepted {}/{} ({})",
        round.accepted,
        round.pool_size,
        pct(rate),
    ))];
    if soft(round.accepted, sum_w) {
        summary.push(Span::raw(format!(" Σw {sum_w:.1}")).bold());
    }
    let changes = Span::raw(format!(" · +{} −{}", round.newly_accepted, round.dropped));
    let correct = round.accepted_accuracy.map(|a| {
        Span::raw(format!(" · {} correct", pct(a))).fg(if a >= 0.9 {
            widgets::GOOD
        } else {
            widgets::PENDING
        })
    });
    // What changed since the last round goes first when the line is too long.
    let used: usize = summary.iter().map(|s| s.width()).sum::<usize>()
        + correct.as_ref().map_or(0, |s| s.width());
    if used + changes.width() <= inner.width as usize {
        summary.push(changes);
    }
    summary.extend(correct);
    let what_if = match WhatIfView::of(app, Some(round.threshold)) {
        Some(w) => w.fitted(inner.width as usize),
        None => Line::from(
            Span::raw("what-if: predictions not available (inspector data missing)")
                .fg(widgets::DIM),
        ),
    };
    let mut lines = vec![Line::from(summary)];
    lines.extend(detail);
    lines.push(what_if);
    lines.push(rates_line(app, inner.width as usize));
    frame.render_widget(Paragraph::new(lines), text_area);
    // The class bars take what they need (up to half), the histogram the rest.
    let longest = (0..app.classes().len())
        .map(|c| app.class_name(c).chars().count())
        .max()
        .unwrap_or(4)
        .min(12) as u16;
    let tau_w = if shows_tau_column(app, round, focused) {
        TAU_COLUMN as u16
    } else {
        0
    };
    let tail = (COUNT_COLUMN + SHARES_COLUMN) as u16;
    let classes_w = (longest + 1 + 10 + tail + tau_w).min(body.width / 2);
    let [left, _, right] = Layout::horizontal([
        Constraint::Length(classes_w),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(body);
    let markers = Markers::for_round(app, round);
    let buf = frame.buffer_mut();
    if body.width >= 50 {
        draw_classes(buf, left, app, round, focused);
        draw_histogram(buf, right, round, &markers);
    } else {
        draw_histogram(buf, body, round, &markers);
    }
}

/// The focused panel's bottom border: the selected class and the keys that act on it (from the
/// key table).
fn panel_hints(app: &App) -> Line<'static> {
    let k = app.classes().len();
    let class = app.class_name(app.class_cursor.min(k.saturating_sub(1)));
    let hints: Vec<String> = keys::hints_for(KeyMode::Dashboard, &keys::PSEUDO_PANEL_HINTS)
        .iter()
        .map(|h| format!("{}:{}", h.keys, h.word))
        .collect();
    Line::from(vec![
        Span::raw(" "),
        Span::raw(class).bold(),
        Span::raw(format!(" · {} ", hints.join(" "))).fg(widgets::DIM),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(dial: &str, short: &str, effective: f32, own: usize, changed: bool) -> WhatIfView {
        WhatIfView {
            counts: WhatIf {
                threshold: 0.85,
                accepted: 50,
                effective,
                known: 40,
                correct: 30,
                pool: 200,
            },
            dial: dial.into(),
            dial_short: short.into(),
            own,
            changed,
        }
    }

    fn text(line: &Line) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn what_if_line_counts_and_highlights_a_changed_threshold() {
        let line = view("τ 0.85", "τ 0.85", 50.0, 0, true).line();
        assert_eq!(
            text(&line),
            "what-if τ 0.85: 50 accepted (25.0%), 30/40 correct (75.0%)"
        );
        assert_eq!(line.style.fg, Some(widgets::PENDING));
        assert_eq!(
            view("τ 0.85", "τ 0.85", 50.0, 0, false).line().style.fg,
            None
        );
    }

    #[test]
    fn what_if_line_names_the_dial_the_overrides_and_the_effective_number() {
        let soft = view(
            "self-adaptive τ (nothing to dial)",
            "self-adaptive τ",
            41.26,
            2,
            false,
        );
        assert_eq!(
            text(&soft.line()),
            "what-if self-adaptive τ (nothing to dial) +2 class τ: 50 accepted (25.0%), Σw 41.3, \
             30/40 correct (75.0%)"
        );
        assert_eq!(
            text(&soft.fitted(82)),
            "self-adaptive τ (nothing to dial) +2 class τ: 50 accepted, Σw 41.3, 75.0% correct"
        );
        assert_eq!(
            text(&soft.fitted(72)),
            "what-if self-adaptive τ +2 class τ: 50 accepted, Σw 41.3, 75.0% correct"
        );
        assert_eq!(
            text(&soft.fitted(66)),
            "self-adaptive τ +2 class τ: 50 accepted, Σw 41.3, 75.0% correct"
        );
        let p = view("p 0.25 (preview)", "p 0.25", 50.0, 0, true);
        assert_eq!(
            text(&p.fitted(60)),
            "what-if p 0.25 (preview): 50 accepted, 75.0% correct"
        );
    }

    #[test]
    fn many_distinct_thresholds_are_a_range_few_are_markers() {
        let one = Markers::new(&[0.9, 0.9, 0.9]);
        assert_eq!((one.at.clone(), one.label.as_str()), (vec![0.9], "τ0.90"));
        let few = Markers::new(&[0.9, 0.62, 0.9, 0.7]);
        assert_eq!(few.at, vec![0.62, 0.7, 0.9]);
        assert!(!few.range);
        assert_eq!(few.label, "τ0.62–0.90");
        let many = Markers::new(&[0.5, 0.6, 0.7, 0.8, 0.9]);
        assert_eq!((many.at.clone(), many.range), (vec![0.5, 0.9], true));
        assert!(Markers::new(&[]).at.is_empty());
    }

    #[test]
    fn weights_bin_over_zero_to_one_on_a_log_scale() {
        let bins = weight_bins([0.05, 0.55, 0.99, 1.0, 1.0].into_iter());
        assert_eq!(bins, [1, 0, 0, 0, 0, 1, 0, 0, 0, 3]);
        assert_eq!(sparkline(&bins), "▄    ▄   █");
        assert_eq!(sparkline(&[0, 0]), "  ");
        assert!(soft(5, 3.2) && !soft(5, 5.0));
    }

    #[test]
    fn the_selected_class_stays_among_the_rows_shown() {
        assert_eq!(first_row(0, 5, 10), 0);
        assert_eq!(first_row(4, 5, 10), 0);
        assert_eq!(first_row(7, 5, 10), 3);
        assert_eq!(first_row(9, 5, 10), 5);
        assert_eq!(first_row(9, 12, 10), 0);
    }

    #[test]
    fn axis_labels_never_overlap_the_threshold() {
        assert_eq!(axis_labels(20, 18, "τ0.90"), "0         .5   τ0.90");
        assert_eq!(axis_labels(20, 10, "τ0.50"), "0       τ0.50      1");
        assert_eq!(axis_labels(20, 0, "τ0.00"), "τ0.00     .5       1");
    }
}
