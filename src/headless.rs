//! Headless front-end: a progress bar on stderr, a line per evaluation, optional JSON lines.

use std::io::Write;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::train::engine::EngineHandle;
use crate::train::events::RunSummary;
use crate::train::events::{Split, Update};

/// How the headless front-end prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadlessOptions {
    /// Stream every update as a JSON line on stdout (human lines go to stderr).
    pub json: bool,
    /// Draw the progress bar (stderr must be a terminal for it to show).
    pub progress_bar: bool,
    /// Leave out the per-epoch validation lines (rounds, test scores and the summary remain).
    pub quiet: bool,
}

/// Drives a run to its end; returns the summary or the run's error.
pub fn run_headless(handle: EngineHandle, options: HeadlessOptions) -> anyhow::Result<RunSummary> {
    let bar = if options.progress_bar {
        ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::stderr_with_hz(5))
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {percent:>3}% eta {eta} {msg}",
        )
        .expect("valid template"),
    );
    let stdout = std::io::stdout();
    let mut classes: Vec<String> = Vec::new();
    let say = |bar: &ProgressBar, line: String| {
        if options.json {
            bar.suspend(|| eprintln!("{line}"));
        } else {
            bar.suspend(|| {
                let mut out = stdout.lock();
                let _ = writeln!(out, "{line}");
            });
        }
    };
    for update in handle.updates.iter() {
        if options.json {
            let mut out = std::io::stdout().lock();
            if let Ok(text) = serde_json::to_string(&update) {
                let _ = writeln!(out, "{text}");
            }
        }
        match &update {
            Update::Started(info) => {
                classes = info.classes.clone();
                say(
                    &bar,
                    format!(
                        "run {} on {}: {} classes, {} labelled, {} validation, {} test, {} unlabelled{}",
                        info.run_dir,
                        info.device,
                        info.classes.len(),
                        info.labeled,
                        info.validation,
                        info.test,
                        info.unlabeled,
                        info.policy
                            .as_ref()
                            .map(|p| format!("; pseudo-labels by {p}"))
                            .unwrap_or_default()
                    ),
                );
            }
            Update::Progress(p) => {
                bar.set_position((p.fraction_done * 1000.0) as u64);
                let where_ = if p.round == 0 {
                    "warm-up".to_string()
                } else {
                    format!("round {}/{}", p.round, p.total_rounds)
                };
                bar.set_message(format!(
                    "{where_} {} epoch {}/{} step {}/{} {:.0} img/s",
                    p.phase.label(),
                    p.epoch,
                    p.total_epochs,
                    p.step,
                    p.total_steps,
                    p.images_per_sec
                ));
            }
            Update::Evaluation(e) if options.quiet && e.split == Split::Validation => {}
            Update::Evaluation(e) => {
                let split = match e.split {
                    Split::Validation => "val ",
                    Split::Test => "test",
                };
                say(
                    &bar,
                    format!(
                        "round {} epoch {:>3} step {:>6}  {split} acc {:6.2}%  macro-F1 {:.3}  loss {:.4}",
                        e.round,
                        e.epoch,
                        e.global_step,
                        e.report.accuracy * 100.0,
                        e.report.macro_f1,
                        e.report.loss
                    ),
                );
            }
            Update::PseudoLabels(p) => {
                let quality = p
                    .accepted_accuracy
                    .map(|a| format!(", {:.1}% correct", a * 100.0))
                    .unwrap_or_default();
                say(
                    &bar,
                    format!(
                        "round {}: accepted {}/{} pseudo-labels at τ={:.2} ({} new, {} dropped{quality})",
                        p.round, p.accepted, p.pool_size, p.threshold, p.newly_accepted, p.dropped
                    ),
                );
            }
            Update::ControlApplied(c) => {
                say(
                    &bar,
                    format!("control {:?} applied at step {}", c.control, c.global_step),
                );
            }
            Update::Warning { message } => say(&bar, format!("warning: {message}")),
            Update::Finished(s) => {
                bar.finish_and_clear();
                say(&bar, summary_line(s, &classes));
                if let Some(t) = &s.time_breakdown {
                    say(&bar, t.describe(s.wall_secs));
                }
            }
            // The error itself is reported once, by the caller, from the thread's result.
            Update::Failed { .. } => bar.abandon(),
            Update::Loss(_) | Update::Checkpoint { .. } | Update::RoundFinished { .. } => {}
        }
    }
    bar.finish_and_clear();
    match handle.thread.join() {
        Ok(result) => result,
        Err(_) => anyhow::bail!("the training thread panicked"),
    }
}

fn summary_line(s: &RunSummary, _classes: &[String]) -> String {
    let pct = |r: &Option<crate::metrics::EvalReport>| {
        r.as_ref()
            .map(|r| format!("{:.2}%", r.accuracy * 100.0))
            .unwrap_or_else(|| "n/a".into())
    };
    format!(
        "done ({}): {} rounds in {:.1}s on {}; test accuracy supervised-only {}, best (round {}) {}, last {}",
        s.stop_reason,
        s.rounds_completed,
        s.wall_secs,
        s.device,
        pct(&s.baseline_test),
        s.best_round,
        pct(&s.best_test),
        pct(&s.last_test)
    )
}
