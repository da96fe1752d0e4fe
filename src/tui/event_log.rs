//! The event log panel: entries (bounded) and the scroll position, the wording of each entry
//! (controls applied, pseudo-label rounds, rounds finished, checkpoints, warnings), and its
//! drawing.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::run::CheckpointReason;
use crate::train::Control;
use crate::train::events::{PseudoRound, RunInfo, RunSummary};
use crate::tui::widgets::{self, panel};

/// Event-log entries kept.
pub const LOG_CAPACITY: usize = 1000;

/// Kind of an event-log entry (sets its colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Run facts.
    Info,
    /// A control applied.
    Control,
    /// Round and checkpoint milestones.
    Round,
    /// Something to look at.
    Warning,
    /// A failure or refusal.
    Error,
}

/// One line of the event log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// Round when it happened, when known.
    pub round: Option<usize>,
    /// Optimizer step when it happened, when known.
    pub step: Option<u64>,
    /// Kind.
    pub level: LogLevel,
    /// Text.
    pub text: String,
}

/// The event log, oldest first, and how far it is scrolled up.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventLog {
    entries: Vec<LogEntry>,
    /// Scrolled this many entries up from the newest.
    pub scroll: usize,
}

impl EventLog {
    /// Adds an entry, dropping the oldest beyond [`LOG_CAPACITY`].
    pub fn push(&mut self, level: LogLevel, round: Option<usize>, step: Option<u64>, text: String) {
        self.entries.push(LogEntry {
            round,
            step,
            level,
            text,
        });
        if self.entries.len() > LOG_CAPACITY {
            let extra = self.entries.len() - LOG_CAPACITY;
            self.entries.drain(..extra);
        }
    }

    /// Every entry, oldest first.
    pub fn entries(&self) -> &[LogEntry] {
        &self.entries
    }

    /// Every entry, oldest first.
    pub fn iter(&self) -> std::slice::Iter<'_, LogEntry> {
        self.entries.iter()
    }

    /// The newest entry.
    pub fn last(&self) -> Option<&LogEntry> {
        self.entries.last()
    }

    /// Entries kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was logged.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Warnings kept.
    pub fn warnings(&self) -> usize {
        self.iter().filter(|e| e.level == LogLevel::Warning).count()
    }

    /// One entry further back (the oldest stays in view).
    pub fn scroll_up(&mut self) {
        self.scroll = (self.scroll + 1).min(self.entries.len().saturating_sub(1));
    }

    /// One entry forward.
    pub fn scroll_down(&mut self) {
        self.scroll = self.scroll.saturating_sub(1);
    }

    /// Back to the newest entry.
    pub fn scroll_to_end(&mut self) {
        self.scroll = 0;
    }

    /// The entries that fit in `rows`, newest last, at the scroll position.
    pub fn visible(&self, rows: usize) -> &[LogEntry] {
        let end = self.entries.len().saturating_sub(self.scroll);
        let start = end.saturating_sub(rows);
        &self.entries[start..end]
    }
}

/// The entry for a started run.
pub fn started_text(info: &RunInfo) -> String {
    format!(
        "run started on {}: {} classes, {} labelled, {} validation, {} test, {} unlabelled",
        info.device,
        info.classes.len(),
        info.labeled,
        info.validation,
        info.test,
        info.unlabeled
    )
}

/// The entry for a checkpoint written at `path`.
pub fn checkpoint_text(path: &str, reason: CheckpointReason) -> String {
    let name = std::path::Path::new(path)
        .file_name()
        .map_or(path.to_string(), |n| n.to_string_lossy().into_owned());
    format!("checkpoint saved ({reason}): {name}")
}

/// The entry for a finished round.
pub fn round_finished_text(round: usize, val_accuracy: f64, improved: bool) -> String {
    let best = if improved { ", new best" } else { "" };
    format!(
        "round {round} finished: validation accuracy {:.1}%{best}",
        val_accuracy * 100.0
    )
}

/// The entry for a finished run.
pub fn finished_text(summary: &RunSummary) -> String {
    let pct = |r: &Option<crate::metrics::EvalReport>| {
        r.as_ref()
            .map_or("n/a".to_string(), |r| format!("{:.1}%", r.accuracy * 100.0))
    };
    format!(
        "finished ({}): {} rounds; test accuracy supervised-only {}, best (round {}) {}, last {}",
        summary.stop_reason,
        summary.rounds_completed,
        pct(&summary.baseline_test),
        summary.best_round,
        pct(&summary.best_test),
        pct(&summary.last_test)
    )
}

/// The entry for a round's pseudo-labelling.
pub fn pseudo_round_text(p: &PseudoRound) -> String {
    let quality = p
        .accepted_accuracy
        .map(|a| format!(", {:.1}% correct", a * 100.0))
        .unwrap_or_default();
    // The thresholds the policy applied when they differ between classes, else τ.
    let tau = match crate::tui::acceptance::per_class_thresholds(&p.class_thresholds) {
        Some(t) => {
            let lo = t.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = t.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            format!("per-class τ {lo:.2}–{hi:.2}")
        }
        // One threshold for all: the policy's (a cut of its own for policies without τ).
        None => format!(
            "τ={:.2}",
            p.class_thresholds.first().copied().unwrap_or(p.threshold)
        ),
    };
    let soft = p
        .effective
        .filter(|&e| (e - p.accepted as f32).abs() > 0.005)
        .map(|e| format!("Σw {e:.1}, "))
        .unwrap_or_default();
    format!(
        "round {}: accepted {}/{} pseudo-labels at {tau} ({soft}+{} new, -{} dropped{quality})",
        p.round, p.accepted, p.pool_size, p.newly_accepted, p.dropped
    )
}

/// A control in words (`class_name` names a class index).
pub fn describe(control: &Control, class_name: impl Fn(usize) -> String) -> String {
    match control {
        Control::SetThreshold { value } => format!("τ set to {value:.2}"),
        Control::SetPseudoWeight { value } => format!("λ set to {value:.2}"),
        Control::SetClassThreshold {
            class,
            value: Some(value),
        } => format!(
            "τ of `{}` set to {value:.2} (applies next round)",
            class_name(*class)
        ),
        Control::SetClassThreshold { class, value: None } => format!(
            "τ of `{}` back to the policy (applies next round)",
            class_name(*class)
        ),
        Control::Pause => "paused".into(),
        Control::Resume => "resumed".into(),
        Control::Stop => "stop requested".into(),
        Control::SaveCheckpoint => "checkpoint requested".into(),
        Control::AcceptSample { index, class } => format!(
            "sample #{index} accepted as `{}` (applies next round)",
            class_name(*class)
        ),
        Control::LabelSample { index, class } => format!(
            "sample #{index} labelled `{}` (applies next round)",
            class_name(*class)
        ),
        Control::ExcludeSample { index } => {
            format!("sample #{index} excluded (applies next round)")
        }
    }
}

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

/// Draws the event log, newest at the bottom (scrolled up by `log.scroll`).
pub fn draw(frame: &mut Frame, area: Rect, log: &EventLog, focused: bool) {
    let scroll = if log.scroll > 0 {
        format!("· scrolled up {} (↓ / end) ", log.scroll)
    } else {
        String::new()
    };
    let warnings = log.warnings();
    let title = Line::from(vec![
        Span::raw(" Events ").bold(),
        Span::raw(format!("· {} · warnings: {warnings} {scroll}", log.len())).fg(widgets::DIM),
    ]);
    let block = panel(title, focused);
    let inner = block.inner(area);
    let lines: Vec<Line> = log
        .visible(inner.height as usize)
        .iter()
        .map(entry_line)
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_names_its_per_class_thresholds_and_soft_weights() {
        let mut p = crate::tui::fixture::updates()
            .into_iter()
            .find_map(|u| match u {
                crate::train::events::Update::PseudoLabels(p) => Some(p),
                _ => None,
            })
            .unwrap();
        assert!(pseudo_round_text(&p).contains("pseudo-labels at τ=0.90 (+65 new"));
        p.class_thresholds = vec![0.9, 0.62, 0.75];
        p.effective = Some(p.accepted as f32 - 10.3);
        let text = pseudo_round_text(&p);
        assert!(
            text.contains("at per-class τ 0.62–0.90 (Σw 54.7, +65 new"),
            "{text}"
        );
    }

    #[test]
    fn the_log_is_bounded_and_scrolls_within_it() {
        let mut log = EventLog::default();
        for i in 0..LOG_CAPACITY + 5 {
            log.push(LogLevel::Info, None, Some(i as u64), format!("{i}"));
        }
        assert_eq!(log.len(), LOG_CAPACITY);
        assert_eq!(log.entries()[0].text, "5", "the oldest are dropped");
        assert_eq!(log.visible(3).last().unwrap().text, "1004");
        log.scroll_up();
        assert_eq!(log.visible(3).last().unwrap().text, "1003");
        for _ in 0..2 * LOG_CAPACITY {
            log.scroll_up();
        }
        assert_eq!(
            log.scroll,
            LOG_CAPACITY - 1,
            "the oldest entry stays in view"
        );
        assert_eq!(log.visible(3).len(), 1);
        log.scroll_down();
        assert_eq!(log.scroll, LOG_CAPACITY - 2);
        log.scroll_to_end();
        assert_eq!(log.scroll, 0);
    }
}
