//! What the report is made from: a run directory read through [`RunRecords`], with the
//! records of `metrics.jsonl` sorted by kind ([`RunMetrics`]).

use std::path::{Path, PathBuf};

use crate::run::{CheckpointReason, LineError, MetricsLog, RunRecords};
use crate::train::events::{Evaluation, LossPoint, PseudoRound, RunInfo, RunSummary, Update};

/// What `metrics.jsonl` says about a run, sorted by kind.
#[derive(Debug, Clone, Default)]
pub struct RunMetrics {
    /// The run facts (the first `started` record).
    pub info: Option<RunInfo>,
    /// Per-step losses.
    pub losses: Vec<LossPoint>,
    /// Evaluations, in file order.
    pub evaluations: Vec<Evaluation>,
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

impl From<MetricsLog> for RunMetrics {
    fn from(log: MetricsLog) -> Self {
        let mut m = RunMetrics {
            elapsed_secs: log.elapsed_secs,
            lines: log.lines,
            torn_last_line: log.torn_last_line,
            ..RunMetrics::default()
        };
        for record in log.records {
            match record.update {
                Update::Started(info) if m.info.is_none() => m.info = Some(info),
                Update::Loss(l) => m.losses.push(l),
                Update::Evaluation(e) => m.evaluations.push(e),
                Update::PseudoLabels(r) => m.rounds.push(r),
                Update::Checkpoint {
                    reason: CheckpointReason::Best,
                    global_step,
                    ..
                } => m.best_steps.push(global_step),
                Update::Finished(s) => m.finished = Some(s),
                Update::Failed { message } => m.failed = Some(message),
                Update::Warning { message } => m.warnings.push(message),
                _ => {}
            }
        }
        m
    }
}

/// Parses the text of `metrics.jsonl` (see [`crate::run::parse_metrics`]): every line must be a
/// JSON object with a valid record for its `type` (kinds not recorded, or unknown, are skipped
/// unchecked). A last line with no newline that does not parse is ignored when
/// `allow_torn_tail` (a running trainer may be writing it); any other bad line is an error
/// naming it.
pub fn parse_metrics(bytes: &[u8], allow_torn_tail: bool) -> Result<RunMetrics, LineError> {
    crate::run::parse_metrics(bytes, allow_torn_tail).map(RunMetrics::from)
}

/// Parses the text of a `summary.json` (NaN-tolerant; the format version is checked when the
/// file is read through [`crate::run::read_summary`]).
pub fn parse_summary(text: &str) -> Result<RunSummary, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
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
        let run = RunRecords::load(run_dir)?;
        let config = run.config_text()?;
        let metrics = RunMetrics::from(run.metrics);
        let state = match (run.summary, &metrics.finished, &metrics.failed) {
            (Some(s), _, _) => RunState::Finished(Box::new(s)),
            (None, Some(s), _) => RunState::Finished(Box::new(s.clone())),
            (None, None, Some(msg)) => RunState::Failed(msg.clone()),
            (None, None, None) => RunState::Unfinished,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::ConfusionMatrix;
    use crate::report::testdata::*;
    use crate::run::StopReason;

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
        // A real RunSummary serialized by the engine reads back as itself.
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
            time_breakdown: None,
            format_version: crate::run::FORMAT_VERSION,
        };
        let line = serde_json::to_string(&crate::train::events::Update::Finished(summary.clone()))
            .unwrap();
        let m = parse_metrics(line.as_bytes(), false).unwrap();
        assert_eq!(m.finished, Some(summary));
    }

    #[test]
    fn a_run_written_before_format_versions_is_read() {
        let golden =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden/run");
        let input = ReportInput::load(&golden).unwrap();
        let summary = input.summary().expect("finished");
        assert_eq!(summary.stop_reason, StopReason::MaxRounds);
        let m = &input.metrics;
        assert_eq!((m.lines, m.losses.len(), m.evaluations.len()), (70, 38, 20));
        assert_eq!(m.rounds.len(), 2);
        assert_eq!(m.info.as_ref().unwrap().classes.len(), 10);
        assert_eq!(m.finished.as_ref(), Some(summary));
        assert!(!m.best_steps.is_empty());
        assert!(input.config.unwrap().contains("threshold"));
    }
}
