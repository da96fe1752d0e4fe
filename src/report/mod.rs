//! `selftrain report`: PNG charts and an HTML page summarising a run directory.
//!
//! The work is split in three: [`parse_metrics`] reads `metrics.jsonl` into [`RunMetrics`], pure
//! functions turn that into plotted series ([`loss_series`], [`accuracy_series`],
//! [`acceptance_rows`], [`choose_confusion`]), and [`charts`] / [`html`] draw them. [`write_report`]
//! ties it together and writes every file atomically.

pub mod charts;
pub mod html;

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::metrics::{ClassMetrics, ConfusionMatrix, EvalReport};
use crate::run::{CheckpointReason, RunDir, StopReason, atomic_write, files};
use crate::train::events::{PseudoRound, RunInfo, RunSummary, Split};

/// Name of the report folder made inside the run directory when `--out` is not given.
pub const DEFAULT_OUT: &str = "report";
/// Loss curve file name.
pub const LOSS_PNG: &str = "loss.png";
/// Accuracy curve file name.
pub const ACCURACY_PNG: &str = "accuracy.png";
/// Pseudo-label acceptance chart file name.
pub const ACCEPTANCE_PNG: &str = "acceptance.png";
/// Confusion matrix heat map file name.
pub const CONFUSION_PNG: &str = "confusion.png";
/// HTML page file name.
pub const INDEX_HTML: &str = "index.html";

/// One line of `metrics.jsonl`, as far as the report needs it. Floats that may be NaN (written
/// by serde_json as `null`) are read leniently; update kinds the report does not use, or does
/// not know, are kept as [`Line::Other`].
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line {
    Started(RunInfo),
    Loss(LossLine),
    Evaluation(EvalLine),
    PseudoLabels(PseudoRound),
    Checkpoint {
        reason: CheckpointReason,
        global_step: u64,
    },
    Finished(SummaryLine),
    Failed {
        message: String,
    },
    Warning {
        message: String,
    },
    #[serde(other)]
    Other,
}

/// Deserializes a float that may be `null` (a NaN written by serde_json) as NaN.
fn nullable_f64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// [`crate::train::events::LossPoint`], NaN-tolerant.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LossLine {
    /// Optimizer step.
    pub global_step: u64,
    /// Round (0 = warm-up).
    pub round: usize,
    /// Loss of the labelled samples of the batch.
    #[serde(deserialize_with = "nullable_f64")]
    pub supervised: f64,
    /// Loss of the pseudo-labelled samples of the batch, when there were some.
    #[serde(default)]
    pub pseudo: Option<f64>,
    /// The optimized loss.
    #[serde(deserialize_with = "nullable_f64")]
    pub total: f64,
}

/// [`EvalReport`], NaN-tolerant in its loss.
#[derive(Debug, Clone, Deserialize)]
struct ReportLine {
    accuracy: f64,
    macro_f1: f64,
    per_class: Vec<ClassMetrics>,
    confusion: ConfusionMatrix,
    #[serde(deserialize_with = "nullable_f64")]
    loss: f64,
}

impl From<ReportLine> for EvalReport {
    fn from(r: ReportLine) -> Self {
        EvalReport {
            accuracy: r.accuracy,
            macro_f1: r.macro_f1,
            per_class: r.per_class,
            confusion: r.confusion,
            loss: r.loss,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
struct EvalLine {
    global_step: u64,
    round: usize,
    epoch: usize,
    split: Split,
    report: ReportLine,
}

/// [`RunSummary`], NaN-tolerant in its losses and times.
#[derive(Debug, Clone, Deserialize)]
struct SummaryLine {
    stop_reason: StopReason,
    device: String,
    rounds_completed: usize,
    global_steps: u64,
    #[serde(deserialize_with = "nullable_f64")]
    wall_secs: f64,
    best_round: usize,
    #[serde(deserialize_with = "nullable_f64")]
    best_val_accuracy: f64,
    baseline_test: Option<ReportLine>,
    best_test: Option<ReportLine>,
    last_test: Option<ReportLine>,
    last_accepted: usize,
    last_accepted_accuracy: Option<f64>,
    final_threshold: f32,
    final_pseudo_weight: f32,
    #[serde(default)]
    skipped_images: usize,
}

impl From<SummaryLine> for RunSummary {
    fn from(s: SummaryLine) -> Self {
        RunSummary {
            stop_reason: s.stop_reason,
            device: s.device,
            rounds_completed: s.rounds_completed,
            global_steps: s.global_steps,
            wall_secs: s.wall_secs,
            best_round: s.best_round,
            best_val_accuracy: s.best_val_accuracy,
            baseline_test: s.baseline_test.map(Into::into),
            best_test: s.best_test.map(Into::into),
            last_test: s.last_test.map(Into::into),
            last_accepted: s.last_accepted,
            last_accepted_accuracy: s.last_accepted_accuracy,
            final_threshold: s.final_threshold,
            final_pseudo_weight: s.final_pseudo_weight,
            skipped_images: s.skipped_images,
        }
    }
}

/// One evaluation read from `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalPoint {
    /// Optimizer step at evaluation time.
    pub global_step: u64,
    /// Round (0 = warm-up).
    pub round: usize,
    /// Epoch within the round.
    pub epoch: usize,
    /// Split evaluated.
    pub split: Split,
    /// Scores.
    pub report: EvalReport,
}

/// What `metrics.jsonl` says about a run, parsed.
#[derive(Debug, Clone, Default)]
pub struct RunMetrics {
    /// The run facts (the first `started` line).
    pub info: Option<RunInfo>,
    /// Per-step losses.
    pub losses: Vec<LossLine>,
    /// Evaluations, in file order.
    pub evaluations: Vec<EvalPoint>,
    /// Pseudo-labelling rounds, in file order.
    pub rounds: Vec<PseudoRound>,
    /// Optimizer steps at which a `best` checkpoint was written.
    pub best_steps: Vec<u64>,
    /// The run's summary, when it finished.
    pub finished: Option<RunSummary>,
    /// The error message, when the run failed.
    pub failed: Option<String>,
    /// Warnings the trainer gave.
    pub warnings: Vec<String>,
    /// Seconds into the run of the last line read.
    pub elapsed_secs: Option<f64>,
    /// Lines read (not counting blank ones).
    pub lines: usize,
    /// Whether an incomplete last line (no newline, not valid JSON: being written) was ignored.
    pub torn_last_line: bool,
}

/// A problem with one line of a JSON-lines file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parses the text of `metrics.jsonl`. Every line must be a JSON object with a known shape for
/// its `type` (kinds the report does not use are skipped unchecked). A last line with no newline
/// that does not parse is ignored when `allow_torn_tail` (a running trainer may be writing it);
/// any other bad line is an error naming it.
pub fn parse_metrics(bytes: &[u8], allow_torn_tail: bool) -> Result<RunMetrics, LineError> {
    let mut m = RunMetrics::default();
    let mut rest = bytes;
    let mut number = 0;
    while !rest.is_empty() {
        number += 1;
        let (raw, complete) = match rest.iter().position(|&b| b == b'\n') {
            Some(end) => {
                let raw = &rest[..end];
                rest = &rest[end + 1..];
                (raw, true)
            }
            None => {
                let raw = rest;
                rest = &[];
                (raw, false)
            }
        };
        let result = std::str::from_utf8(raw)
            .map_err(|e| format!("not UTF-8 text ({e})"))
            .and_then(|text| {
                if text.trim().is_empty() {
                    return Ok(None);
                }
                serde_json::from_str::<Line>(text)
                    .map(Some)
                    .map_err(|e| match e.classify() {
                        serde_json::error::Category::Data => {
                            format!("not a valid metrics record: {e}")
                        }
                        _ => format!("not valid JSON: {e}"),
                    })
            });
        let line = match result {
            Ok(Some(line)) => line,
            Ok(None) => continue,
            Err(_) if !complete && allow_torn_tail => {
                m.torn_last_line = true;
                break;
            }
            Err(message) => {
                return Err(LineError {
                    line: number,
                    message,
                });
            }
        };
        m.lines += 1;
        if let Some(t) = serde_json::from_slice::<serde_json::Value>(raw)
            .ok()
            .and_then(|v| v.get("elapsed_secs").and_then(|e| e.as_f64()))
        {
            m.elapsed_secs = Some(t);
        }
        match line {
            Line::Started(info) => {
                if m.info.is_none() {
                    m.info = Some(info);
                }
            }
            Line::Loss(l) => m.losses.push(l),
            Line::Evaluation(e) => m.evaluations.push(EvalPoint {
                global_step: e.global_step,
                round: e.round,
                epoch: e.epoch,
                split: e.split,
                report: e.report.into(),
            }),
            Line::PseudoLabels(r) => m.rounds.push(r),
            Line::Checkpoint {
                reason,
                global_step,
            } => {
                if reason == CheckpointReason::Best {
                    m.best_steps.push(global_step);
                }
            }
            Line::Finished(s) => m.finished = Some(s.into()),
            Line::Failed { message } => m.failed = Some(message),
            Line::Warning { message } => m.warnings.push(message),
            Line::Other => {}
        }
    }
    Ok(m)
}

/// Parses `summary.json`.
pub fn parse_summary(text: &str) -> Result<RunSummary, String> {
    serde_json::from_str::<SummaryLine>(text)
        .map(Into::into)
        .map_err(|e| e.to_string())
}

/// A point of a plotted series: (x, y).
pub type Point = (f64, f64);

/// Where a self-training round starts on the optimizer-step axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoundBoundary {
    /// Round number (1-based).
    pub round: usize,
    /// Optimizer step at which its pseudo-labels were chosen (the last step before it).
    pub step: f64,
}

/// The round boundaries of a run: for each round ≥ 1 seen in the losses, evaluations or
/// pseudo-label rounds, the last step of the rounds before it.
pub fn round_boundaries(m: &RunMetrics) -> Vec<RoundBoundary> {
    use std::collections::BTreeMap;
    // Step range of each round.
    let mut ranges: BTreeMap<usize, (u64, u64)> = BTreeMap::new();
    let steps = m
        .losses
        .iter()
        .map(|l| (l.round, l.global_step))
        .chain(m.evaluations.iter().map(|e| (e.round, e.global_step)));
    for (round, step) in steps {
        let r = ranges.entry(round).or_insert((step, step));
        r.0 = r.0.min(step);
        r.1 = r.1.max(step);
    }
    let mut rounds: Vec<usize> = ranges.keys().copied().filter(|&r| r > 0).collect();
    rounds.extend(m.rounds.iter().map(|r| r.round).filter(|&r| r > 0));
    rounds.sort_unstable();
    rounds.dedup();
    rounds
        .into_iter()
        .filter_map(|round| {
            let before = ranges.range(..round).map(|(_, &(_, hi))| hi).max();
            let step = before.or_else(|| ranges.get(&round).map(|&(lo, _)| lo.saturating_sub(1)));
            step.map(|s| RoundBoundary {
                round,
                step: s as f64,
            })
        })
        .collect()
}

/// Loss curves over optimizer steps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LossSeries {
    /// Loss of the labelled samples per step.
    pub supervised: Vec<Point>,
    /// Loss of the pseudo-labelled samples per step (steps that had some).
    pub pseudo: Vec<Point>,
    /// The optimized loss per step.
    pub total: Vec<Point>,
    /// Where rounds start.
    pub boundaries: Vec<RoundBoundary>,
}

/// The loss curves of a run (non-finite values left out).
pub fn loss_series(m: &RunMetrics) -> LossSeries {
    let finite = |x: f64, y: f64| y.is_finite().then_some((x, y));
    LossSeries {
        supervised: m
            .losses
            .iter()
            .filter_map(|l| finite(l.global_step as f64, l.supervised))
            .collect(),
        pseudo: m
            .losses
            .iter()
            .filter_map(|l| l.pseudo.and_then(|p| finite(l.global_step as f64, p)))
            .collect(),
        total: m
            .losses
            .iter()
            .filter_map(|l| finite(l.global_step as f64, l.total))
            .collect(),
        boundaries: round_boundaries(m),
    }
}

/// Centred moving average over `window` points (`window / 2` on each side; fewer near the ends).
pub fn smooth(points: &[Point], window: usize) -> Vec<Point> {
    let half = window / 2;
    let mut prefix = Vec::with_capacity(points.len() + 1);
    prefix.push(0.0);
    for &(_, y) in points {
        prefix.push(prefix.last().copied().unwrap_or(0.0) + y);
    }
    points
        .iter()
        .enumerate()
        .map(|(i, &(x, _))| {
            let lo = i.saturating_sub(half);
            let hi = (i + half + 1).min(points.len());
            (x, (prefix[hi] - prefix[lo]) / (hi - lo) as f64)
        })
        .collect()
}

/// A smoothing window suited to `n` points: about a fiftieth of them, odd, within 1..=201.
pub fn smoothing_window(n: usize) -> usize {
    (n / 50).clamp(1, 200) | 1
}

/// Accuracy curves over optimizer steps, as fractions in `[0, 1]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccuracySeries {
    /// Validation accuracy per evaluation.
    pub validation: Vec<Point>,
    /// Test accuracy per evaluation.
    pub test: Vec<Point>,
    /// Accuracy of each round's accepted pseudo-labels against hidden truth, at the step where
    /// they were chosen.
    pub pseudo: Vec<Point>,
    /// Where rounds start.
    pub boundaries: Vec<RoundBoundary>,
}

/// The accuracy curves of a run.
pub fn accuracy_series(m: &RunMetrics) -> AccuracySeries {
    let of = |split: Split| {
        m.evaluations
            .iter()
            .filter(|e| e.split == split && e.report.accuracy.is_finite())
            .map(|e| (e.global_step as f64, e.report.accuracy))
            .collect()
    };
    let boundaries = round_boundaries(m);
    let last_step = m
        .losses
        .iter()
        .map(|l| l.global_step)
        .chain(m.evaluations.iter().map(|e| e.global_step))
        .max()
        .unwrap_or(0) as f64;
    let pseudo = m
        .rounds
        .iter()
        .filter_map(|r| {
            let acc = r.accepted_accuracy.filter(|a| a.is_finite())?;
            let step = boundaries
                .iter()
                .find(|b| b.round == r.round)
                .map_or(last_step, |b| b.step);
            Some((step, acc))
        })
        .collect();
    AccuracySeries {
        validation: of(Split::Validation),
        test: of(Split::Test),
        pseudo,
        boundaries,
    }
}

/// The pseudo-labelling figures of one round.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptanceRow {
    /// Round number (1-based).
    pub round: usize,
    /// Threshold τ used.
    pub threshold: f32,
    /// λ in force.
    pub pseudo_weight: f32,
    /// Pool size considered.
    pub pool_size: usize,
    /// Accepted pseudo-labels.
    pub accepted: usize,
    /// Accepted now but not in the previous round.
    pub newly_accepted: usize,
    /// Accepted in the previous round but not now.
    pub dropped: usize,
    /// Accuracy of the accepted pseudo-labels against hidden truth.
    pub accuracy: Option<f64>,
}

impl AcceptanceRow {
    /// Accepted share of the pool, in `[0, 1]` (0 for an empty pool).
    pub fn share(&self) -> f64 {
        if self.pool_size == 0 {
            0.0
        } else {
            self.accepted as f64 / self.pool_size as f64
        }
    }
}

/// One row per round, in round order (the last record of a round wins).
pub fn acceptance_rows(m: &RunMetrics) -> Vec<AcceptanceRow> {
    let mut by_round = std::collections::BTreeMap::new();
    for r in &m.rounds {
        by_round.insert(
            r.round,
            AcceptanceRow {
                round: r.round,
                threshold: r.threshold,
                pseudo_weight: r.pseudo_weight,
                pool_size: r.pool_size,
                accepted: r.accepted,
                newly_accepted: r.newly_accepted.min(r.accepted),
                dropped: r.dropped,
                accuracy: r.accepted_accuracy,
            },
        );
    }
    by_round.into_values().collect()
}

/// The evaluation a confusion matrix is drawn from, and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfusionChoice {
    /// Scores (with the matrix).
    pub report: EvalReport,
    /// Split evaluated.
    pub split: Split,
    /// Which model it is, for captions: e.g. `best model (round 2)`.
    pub model: String,
}

impl ConfusionChoice {
    /// A caption like `best model (round 2), test split`.
    pub fn describe(&self) -> String {
        let split = match self.split {
            Split::Test => "test",
            Split::Validation => "validation",
        };
        format!("{}, {split} split", self.model)
    }
}

/// Picks the confusion matrix to show: the best model's test scores from the summary; else the
/// test evaluation at the latest `best` checkpoint; else the last test evaluation; else the last
/// validation evaluation.
pub fn choose_confusion(m: &RunMetrics, summary: Option<&RunSummary>) -> Option<ConfusionChoice> {
    if let Some(s) = summary
        && let Some(best) = &s.best_test
    {
        return Some(ConfusionChoice {
            report: best.clone(),
            split: Split::Test,
            model: format!("best model (round {})", s.best_round),
        });
    }
    let last_of = |split: Split| m.evaluations.iter().rev().find(|e| e.split == split);
    let at_best = m.best_steps.last().and_then(|&step| {
        m.evaluations
            .iter()
            .rev()
            .find(|e| e.split == Split::Test && e.global_step == step)
    });
    if let Some(e) = at_best {
        return Some(ConfusionChoice {
            report: e.report.clone(),
            split: Split::Test,
            model: format!(
                "best model so far (round {}, step {})",
                e.round, e.global_step
            ),
        });
    }
    let (e, split) = last_of(Split::Test)
        .map(|e| (e, Split::Test))
        .or_else(|| last_of(Split::Validation).map(|e| (e, Split::Validation)))?;
    Some(ConfusionChoice {
        report: e.report.clone(),
        split,
        model: format!(
            "model at round {}, epoch {} (step {})",
            e.round, e.epoch, e.global_step
        ),
    })
}

/// Class names of a run: from its `started` line, else numbers.
pub fn class_names(m: &RunMetrics, num_classes: usize) -> Vec<String> {
    match &m.info {
        Some(info) if info.classes.len() == num_classes => info.classes.clone(),
        _ => (0..num_classes).map(|c| c.to_string()).collect(),
    }
}

/// How a run ended, as far as its files tell.
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    /// Finished: its summary.
    Finished(Box<RunSummary>),
    /// The trainer reported a failure.
    Failed(String),
    /// Still running, or killed before it could write a summary.
    Unfinished,
}

/// Everything the report is made from.
#[derive(Debug, Clone)]
pub struct ReportInput {
    /// The run directory.
    pub run_dir: PathBuf,
    /// Parsed `metrics.jsonl`.
    pub metrics: RunMetrics,
    /// How the run ended.
    pub state: RunState,
    /// Text of `config.toml`, when present.
    pub config: Option<String>,
}

impl ReportInput {
    /// Reads a run directory: `metrics.jsonl` (required), `summary.json` and `config.toml`.
    pub fn load(run_dir: &Path) -> anyhow::Result<Self> {
        let run = RunDir::open(run_dir)?;
        let metrics_path = run.file(files::METRICS);
        if !metrics_path.is_file() {
            anyhow::bail!(
                "{}: no such file: {} is not a run directory (or its run has not started)",
                metrics_path.display(),
                run_dir.display()
            );
        }
        let summary_path = run.file(files::SUMMARY);
        let summary = if summary_path.is_file() {
            let text = std::fs::read_to_string(&summary_path)
                .with_context(|| format!("reading {}", summary_path.display()))?;
            Some(parse_summary(&text).map_err(|e| {
                anyhow::anyhow!("{}: not a valid run summary: {e}", summary_path.display())
            })?)
        } else {
            None
        };
        let bytes = std::fs::read(&metrics_path)
            .with_context(|| format!("reading {}", metrics_path.display()))?;
        let metrics = parse_metrics(&bytes, summary.is_none())
            .map_err(|e| anyhow::anyhow!("{}: {e}", metrics_path.display()))?;
        let state = match (summary, &metrics.finished, &metrics.failed) {
            (Some(s), _, _) => RunState::Finished(Box::new(s)),
            (None, Some(s), _) => RunState::Finished(Box::new(s.clone())),
            (None, None, Some(msg)) => RunState::Failed(msg.clone()),
            (None, None, None) => RunState::Unfinished,
        };
        let config_path = run.file(files::CONFIG);
        let config = if config_path.is_file() {
            Some(
                std::fs::read_to_string(&config_path)
                    .with_context(|| format!("reading {}", config_path.display()))?,
            )
        } else {
            None
        };
        Ok(Self {
            run_dir: run_dir.to_path_buf(),
            metrics,
            state,
            config,
        })
    }

    /// The summary, when the run finished.
    pub fn summary(&self) -> Option<&RunSummary> {
        match &self.state {
            RunState::Finished(s) => Some(s),
            _ => None,
        }
    }
}

/// Writes the report of `run_dir` into `out` (default `RUN_DIR/report/`): the four charts and
/// `index.html`, each atomically. Returns the paths written, in order.
pub fn write_report(run_dir: &Path, out: Option<&Path>) -> anyhow::Result<Vec<PathBuf>> {
    let input = ReportInput::load(run_dir)?;
    let out = out.map_or_else(|| run_dir.join(DEFAULT_OUT), Path::to_path_buf);
    std::fs::create_dir_all(&out)
        .with_context(|| format!("creating the report folder {}", out.display()))?;
    let m = &input.metrics;
    let confusion = choose_confusion(m, input.summary());
    let classes = confusion
        .as_ref()
        .map(|c| class_names(m, c.report.confusion.num_classes()))
        .unwrap_or_default();
    let images: [(&str, Vec<u8>); 4] = [
        (LOSS_PNG, charts::loss_chart(&loss_series(m))?),
        (ACCURACY_PNG, charts::accuracy_chart(&accuracy_series(m))?),
        (
            ACCEPTANCE_PNG,
            charts::acceptance_chart(&acceptance_rows(m))?,
        ),
        (
            CONFUSION_PNG,
            charts::confusion_chart(confusion.as_ref(), &classes)?,
        ),
    ];
    let mut written = Vec::new();
    for (name, bytes) in images {
        let path = out.join(name);
        atomic_write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    let page = html::page(&input, confusion.as_ref(), &classes);
    let path = out.join(INDEX_HTML);
    atomic_write(&path, page.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    written.push(path);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report_json(acc: f64) -> serde_json::Value {
        serde_json::json!({
            "accuracy": acc, "macro_f1": acc,
            "per_class": [
                {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1},
                {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
            ],
            "confusion": {"counts": [[1, 0], [1, 0]]},
            "loss": 0.5
        })
    }

    fn eval_line(step: u64, round: usize, split: &str, acc: f64) -> String {
        serde_json::json!({
            "type": "evaluation", "global_step": step, "round": round, "epoch": 1,
            "split": split, "report": report_json(acc)
        })
        .to_string()
    }

    fn loss_line(step: u64, round: usize, sup: &str, pseudo: &str, total: &str) -> String {
        format!(
            r#"{{"elapsed_secs":{step}.5,"type":"loss","global_step":{step},"round":{round},"supervised":{sup},"pseudo":{pseudo},"total":{total}}}"#
        )
    }

    fn pseudo_line(round: usize, pool: usize, accepted: usize, acc: &str) -> String {
        format!(
            r#"{{"type":"pseudo_labels","round":{round},"threshold":0.9,"pseudo_weight":1.0,"pool_size":{pool},"accepted":{accepted},"newly_accepted":{accepted},"dropped":0,"accepted_per_class":[{accepted},0],"hist_accepted":{{"bins":[0]}},"hist_rejected":{{"bins":[0]}},"accepted_accuracy":{acc}}}"#
        )
    }

    /// Warm-up steps 1–3, round 1 steps 4–5 and round 2 step 6, with evaluations and checkpoints.
    fn synthetic() -> String {
        [
            r#"{"type":"started","run_dir":"r","device":"flex","classes":["cat","dog"],"labeled":2,"validation":2,"test":2,"unlabeled":10,"labeled_per_class":[1,1],"pool_has_truth":true,"rounds":2,"threshold":0.9,"pseudo_weight":1.0}"#.to_string(),
            r#"{"type":"progress","whatever":true}"#.to_string(),
            loss_line(1, 0, "2.0", "null", "2.0"),
            loss_line(2, 0, "1.0", "null", "1.0"),
            loss_line(3, 0, "null", "null", "null"),
            eval_line(3, 0, "validation", 0.5),
            r#"{"type":"checkpoint","path":"best.bpk","reason":"best","global_step":3}"#.to_string(),
            eval_line(3, 0, "test", 0.4),
            pseudo_line(1, 10, 4, "0.75"),
            loss_line(4, 1, "0.8", "0.4", "1.2"),
            String::new(),
            loss_line(5, 1, "0.6", "0.2", "0.8"),
            eval_line(5, 1, "validation", 0.6),
            eval_line(5, 1, "test", 0.55),
            pseudo_line(2, 10, 5, "null"),
            loss_line(6, 2, "0.5", "0.1", "0.6"),
            r#"{"type":"some_future_kind","x":1}"#.to_string(),
        ]
        .join("\n")
            + "\n"
    }

    #[test]
    fn metrics_lines_become_series() {
        let m = parse_metrics(synthetic().as_bytes(), false).unwrap();
        assert_eq!(m.lines, 16);
        assert_eq!(m.info.as_ref().unwrap().classes, ["cat", "dog"]);
        assert_eq!(m.elapsed_secs, Some(6.5));
        assert_eq!(m.best_steps, [3]);

        let b = round_boundaries(&m);
        assert_eq!(
            b,
            [
                RoundBoundary {
                    round: 1,
                    step: 3.0
                },
                RoundBoundary {
                    round: 2,
                    step: 5.0
                }
            ]
        );

        let loss = loss_series(&m);
        // The NaN (null) step is left out.
        assert_eq!(
            loss.supervised,
            [(1.0, 2.0), (2.0, 1.0), (4.0, 0.8), (5.0, 0.6), (6.0, 0.5)]
        );
        assert_eq!(loss.pseudo, [(4.0, 0.4), (5.0, 0.2), (6.0, 0.1)]);
        assert_eq!(loss.total.len(), 5);
        assert_eq!(loss.boundaries, b);

        let acc = accuracy_series(&m);
        assert_eq!(acc.validation, [(3.0, 0.5), (5.0, 0.6)]);
        assert_eq!(acc.test, [(3.0, 0.4), (5.0, 0.55)]);
        // Round 1's pseudo-labels were chosen after step 3; round 2 has no truth.
        assert_eq!(acc.pseudo, [(3.0, 0.75)]);

        let rows = acceptance_rows(&m);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].round, rows[0].accepted, rows[0].pool_size),
            (1, 4, 10)
        );
        assert!((rows[1].share() - 0.5).abs() < 1e-12);
        assert_eq!(rows[1].accuracy, None);

        // Not finished: the test evaluation at the best checkpoint is chosen.
        let c = choose_confusion(&m, None).unwrap();
        assert_eq!(c.split, Split::Test);
        assert_eq!(c.report.accuracy, 0.4);
        assert!(
            c.describe().contains("best model so far"),
            "{}",
            c.describe()
        );
        assert_eq!(class_names(&m, 2), ["cat", "dog"]);
        assert_eq!(class_names(&m, 3), ["0", "1", "2"]);
    }

    #[test]
    fn confusion_falls_back_to_the_last_evaluation() {
        let text = [
            eval_line(1, 0, "validation", 0.3),
            eval_line(2, 0, "validation", 0.7),
        ]
        .join("\n");
        let m = parse_metrics(text.as_bytes(), true).unwrap();
        let c = choose_confusion(&m, None).unwrap();
        assert_eq!((c.split, c.report.accuracy), (Split::Validation, 0.7));
        let text = [
            eval_line(1, 0, "test", 0.3),
            eval_line(2, 0, "validation", 0.7),
        ]
        .join("\n");
        let m = parse_metrics(text.as_bytes(), true).unwrap();
        assert_eq!(choose_confusion(&m, None).unwrap().split, Split::Test);
        assert!(choose_confusion(&RunMetrics::default(), None).is_none());
    }

    #[test]
    fn bad_lines_are_named_and_a_torn_tail_is_tolerated_only_while_running() {
        let good = loss_line(1, 0, "1.0", "null", "1.0");
        let text = format!("{good}\nnot json\n{good}\n");
        let e = parse_metrics(text.as_bytes(), true).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("not valid JSON"), "{e}");

        let text = format!("{good}\n{{\"type\":\"loss\",\"global_step\":2}}\n");
        let e = parse_metrics(text.as_bytes(), true).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("missing field"), "{e}");

        let text = format!("{good}\n[1,2]\n");
        assert_eq!(parse_metrics(text.as_bytes(), true).unwrap_err().line, 2);

        let torn = format!("{good}\n{{\"type\":\"lo");
        let m = parse_metrics(torn.as_bytes(), true).unwrap();
        assert!(m.torn_last_line);
        assert_eq!(m.losses.len(), 1);
        let e = parse_metrics(torn.as_bytes(), false).unwrap_err();
        assert_eq!(e.line, 2);
        // A bad last line that *is* complete is an error even while running.
        assert!(parse_metrics(format!("{good}\nnope\n").as_bytes(), true).is_err());
        let e = parse_metrics(b"\xff\xfe\n", true).unwrap_err();
        assert!(e.message.contains("UTF-8"), "{e}");
    }

    #[test]
    fn smoothing_is_a_centred_mean() {
        let p = [(0.0, 1.0), (1.0, 3.0), (2.0, 5.0), (3.0, 7.0), (4.0, 1.0)];
        assert_eq!(
            smooth(&p, 3),
            [
                (0.0, 2.0),
                (1.0, 3.0),
                (2.0, 5.0),
                (3.0, 13.0 / 3.0),
                (4.0, 4.0)
            ]
        );
        assert_eq!(smooth(&p, 1), p);
        assert_eq!(smooth(&p, 0), p);
        assert!(smooth(&[], 5).is_empty());
        assert_eq!(smoothing_window(10), 1);
        assert_eq!(smoothing_window(1000), 21);
        assert_eq!(smoothing_window(1_000_000), 201);
    }

    #[test]
    fn summary_tolerates_nan_losses() {
        let mut report = report_json(0.9);
        report["loss"] = serde_json::Value::Null;
        let s = serde_json::json!({
            "stop_reason": "max_rounds", "device": "flex", "rounds_completed": 2,
            "global_steps": 10, "wall_secs": 1.5, "best_round": 1, "best_val_accuracy": 0.9,
            "baseline_test": report, "best_test": report_json(0.95), "last_test": null,
            "last_accepted": 3, "last_accepted_accuracy": 0.8, "final_threshold": 0.9,
            "final_pseudo_weight": 1.0, "skipped_images": 0
        });
        let s = parse_summary(&s.to_string()).unwrap();
        assert!(s.baseline_test.unwrap().loss.is_nan());
        assert_eq!(s.best_test.unwrap().accuracy, 0.95);
        assert!(parse_summary("{}").unwrap_err().contains("missing field"));
    }

    #[test]
    fn finished_summary_in_metrics_matches_the_engine_format() {
        // A real RunSummary serialized by the engine reads back through the lenient mirror.
        let summary = RunSummary {
            stop_reason: StopReason::Patience,
            device: "flex".into(),
            rounds_completed: 1,
            global_steps: 7,
            wall_secs: 2.0,
            best_round: 0,
            best_val_accuracy: 0.5,
            baseline_test: Some(ConfusionMatrix::from_predictions(2, &[0, 1], &[0, 0]).report(0.3)),
            best_test: None,
            last_test: None,
            last_accepted: 0,
            last_accepted_accuracy: None,
            final_threshold: 0.9,
            final_pseudo_weight: 1.0,
            skipped_images: 0,
        };
        let line = serde_json::to_string(&crate::train::events::Update::Finished(summary.clone()))
            .unwrap();
        let m = parse_metrics(line.as_bytes(), false).unwrap();
        assert_eq!(m.finished, Some(summary));
    }
}
