//! The one reader of a run directory: typed records of `metrics.jsonl`, `events.jsonl`,
//! `summary.json` and `model.json`, used by `report`, `view`, `summarize`, `cv` and the engine.
//!
//! JSON-lines files tolerate what a live or crashed writer leaves: a last line without its
//! newline that does not parse (torn mid-write) is ignored where the caller allows it. In
//! `metrics.jsonl`, record kinds this version does not know (or that are never recorded, like
//! progress) are skipped so newer runs stay readable; a known kind with bad content, or a line
//! that is not JSON, is an error naming the file and line. Whole JSON files are versioned
//! ([`read_versioned_json`]): a newer `format_version` is refused naming the file.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Deserializer};

use super::version::read_versioned_json;
use super::{ModelInfo, RunDir, files};
use crate::metrics::EvalReport;
use crate::train::events::{AppliedControl, RunInfo, RunSummary, Split, Update};

/// The `type`s of the updates `metrics.jsonl` holds (every update but progress, which is only
/// streamed). Other kinds are skipped when read.
pub const RECORDED_KINDS: &[&str] = &[
    "started",
    "loss",
    "evaluation",
    "pseudo_labels",
    "control_applied",
    "checkpoint",
    "round_finished",
    "warning",
    "finished",
    "failed",
];

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

/// One line of `metrics.jsonl` that is not blank.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsLine {
    /// Seconds into the run when it was written (absent or not a number: `None`).
    pub elapsed_secs: Option<f64>,
    /// The update, or `None` for a kind that is skipped (unknown, or never recorded).
    pub update: Option<Update>,
}

/// The fields every `metrics.jsonl` line is looked at for before its kind is known.
#[derive(Deserialize)]
struct LineHead {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient_number")]
    elapsed_secs: Option<f64>,
}

/// Any JSON value, as a number when it is one.
fn lenient_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(serde_json::Value::deserialize(d)?.as_f64())
}

/// Parses one line of `metrics.jsonl`: `Ok(None)` when blank. The message of an error says
/// whether the line is not JSON or not a valid record.
pub fn parse_metrics_line(text: &str) -> Result<Option<MetricsLine>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let describe = |e: serde_json::Error| match e.classify() {
        serde_json::error::Category::Data => format!("not a valid metrics record: {e}"),
        _ => format!("not valid JSON: {e}"),
    };
    let head: LineHead = serde_json::from_str(text).map_err(describe)?;
    let kind = head
        .kind
        .ok_or("not a valid metrics record: it has no `type`")?;
    let update = if RECORDED_KINDS.contains(&kind.as_str()) {
        Some(serde_json::from_str::<Update>(text).map_err(describe)?)
    } else {
        None
    };
    Ok(Some(MetricsLine {
        elapsed_secs: head.elapsed_secs,
        update,
    }))
}

/// Splits JSON-lines bytes into lines and parses each non-blank one with `parse(number, text)`
/// (`Ok(None)`: nothing to keep). Returns what was kept, the number of non-blank lines read, and
/// whether a torn last line (no newline, does not parse) was ignored, which only happens with
/// `allow_torn_tail`.
fn parse_lines<T>(
    bytes: &[u8],
    allow_torn_tail: bool,
    mut parse: impl FnMut(usize, &str) -> Result<Option<T>, String>,
) -> Result<(Vec<T>, usize, bool), LineError> {
    let mut kept = Vec::new();
    let mut lines = 0;
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
            None => (std::mem::take(&mut rest), false),
        };
        let parsed = match std::str::from_utf8(raw) {
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => parse(number, text),
            Err(e) => Err(format!("not UTF-8 text ({e})")),
        };
        match parsed {
            Ok(value) => {
                lines += 1;
                kept.extend(value);
            }
            Err(_) if !complete && allow_torn_tail => return Ok((kept, lines, true)),
            Err(message) => {
                return Err(LineError {
                    line: number,
                    message,
                });
            }
        }
    }
    Ok((kept, lines, false))
}

/// One record of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsRecord {
    /// 1-based line number.
    pub line: usize,
    /// Seconds into the run when it was written.
    pub elapsed_secs: Option<f64>,
    /// The update.
    pub update: Update,
}

/// `metrics.jsonl`, read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsLog {
    /// The records, in file order (skipped kinds left out).
    pub records: Vec<MetricsRecord>,
    /// Non-blank lines read, skipped kinds included.
    pub lines: usize,
    /// Seconds into the run of the last line read that says.
    pub elapsed_secs: Option<f64>,
    /// Whether a torn last line (being written, or cut by a crash) was ignored.
    pub torn_last_line: bool,
}

impl MetricsLog {
    /// The updates, in file order.
    pub fn updates(&self) -> impl Iterator<Item = &Update> {
        self.records.iter().map(|r| &r.update)
    }

    /// The run facts: the first `started` record.
    pub fn run_info(&self) -> Option<&RunInfo> {
        self.updates().find_map(|u| match u {
            Update::Started(info) => Some(info),
            _ => None,
        })
    }

    /// The supervised-only test scores: the first test evaluation of round 0 (warm-up).
    pub fn baseline_test(&self) -> Option<&EvalReport> {
        self.updates().find_map(|u| match u {
            Update::Evaluation(e) if e.split == Split::Test && e.round == 0 => Some(&e.report),
            _ => None,
        })
    }
}

/// Parses the bytes of `metrics.jsonl`; a torn last line is ignored when `allow_torn_tail`.
pub fn parse_metrics(bytes: &[u8], allow_torn_tail: bool) -> Result<MetricsLog, LineError> {
    let mut elapsed = None;
    let (records, lines, torn_last_line) = parse_lines(bytes, allow_torn_tail, |number, text| {
        let Some(line) = parse_metrics_line(text)? else {
            return Ok(None);
        };
        elapsed = line.elapsed_secs.or(elapsed);
        Ok(line.update.map(|update| MetricsRecord {
            line: number,
            elapsed_secs: line.elapsed_secs,
            update,
        }))
    })?;
    Ok(MetricsLog {
        records,
        lines,
        elapsed_secs: elapsed,
        torn_last_line,
    })
}

/// Reads a file, naming it in the error.
fn read_bytes(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Reads `metrics.jsonl`; errors name the file and line.
pub fn read_metrics(path: &Path, allow_torn_tail: bool) -> anyhow::Result<MetricsLog> {
    parse_metrics(&read_bytes(path)?, allow_torn_tail)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Reads `events.jsonl` (every applied or refused control), tolerating a torn last line.
pub fn read_events(path: &Path) -> anyhow::Result<Vec<AppliedControl>> {
    let (events, _, _) = parse_lines(&read_bytes(path)?, true, |_, text| {
        serde_json::from_str(text)
            .map(Some)
            .map_err(|e| format!("not a valid control record: {e}"))
    })
    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(events)
}

/// Reads `summary.json`, refusing a newer format.
pub fn read_summary(path: &Path) -> anyhow::Result<RunSummary> {
    read_versioned_json(path)
}

/// Reads `model.json`, refusing a newer format.
pub fn read_model_info(path: &Path) -> anyhow::Result<ModelInfo> {
    read_versioned_json(path)
}

/// What a run directory records: its metrics and, once it has finished, its summary. The other
/// files are read on demand.
#[derive(Debug, Clone)]
pub struct RunRecords {
    dir: PathBuf,
    /// `metrics.jsonl`.
    pub metrics: MetricsLog,
    /// `summary.json`, when the run has finished.
    pub summary: Option<RunSummary>,
}

impl RunRecords {
    /// Reads a run directory, finished or not. `metrics.jsonl` is required; while there is no
    /// `summary.json` the run may still be writing, so a torn last line is tolerated.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let run = RunDir::open(dir)?;
        let summary_path = run.file(files::SUMMARY);
        let summary = if summary_path.is_file() {
            Some(read_summary(&summary_path)?)
        } else {
            None
        };
        Self::with_summary(run, summary)
    }

    /// Reads a finished run: `summary.json` is required.
    pub fn load_finished(dir: &Path) -> anyhow::Result<Self> {
        let run = RunDir::open(dir)?;
        let summary_path = run.file(files::SUMMARY);
        if !summary_path.is_file() {
            anyhow::bail!(
                "{}: no such file (has the run finished?)",
                summary_path.display()
            );
        }
        let summary = read_summary(&summary_path)?;
        Self::with_summary(run, Some(summary))
    }

    fn with_summary(run: RunDir, summary: Option<RunSummary>) -> anyhow::Result<Self> {
        let metrics_path = run.file(files::METRICS);
        if !metrics_path.is_file() {
            anyhow::bail!(
                "{}: no such file: {} is not a run directory (or its run has not started)",
                metrics_path.display(),
                run.path().display()
            );
        }
        let metrics = read_metrics(&metrics_path, summary.is_none())?;
        Ok(Self {
            dir: run.path().to_path_buf(),
            metrics,
            summary,
        })
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `model.json`.
    pub fn model(&self) -> anyhow::Result<ModelInfo> {
        read_model_info(&self.dir.join(files::MODEL))
    }

    /// `events.jsonl` (empty when the run applied no control before writing one).
    pub fn events(&self) -> anyhow::Result<Vec<AppliedControl>> {
        let path = self.dir.join(files::EVENTS);
        if path.is_file() {
            read_events(&path)
        } else {
            Ok(Vec::new())
        }
    }

    /// The text of `config.toml`, when there is one.
    pub fn config_text(&self) -> anyhow::Result<Option<String>> {
        let path = self.dir.join(files::CONFIG);
        if !path.is_file() {
            return Ok(None);
        }
        std::fs::read_to_string(&path)
            .map(Some)
            .with_context(|| format!("reading {}", path.display()))
    }
}

#[cfg(test)]
mod tests;
