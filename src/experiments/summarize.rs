//! `selftrain summarize`: one results-table row (mean ± std) from several finished runs.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use super::stats::MeanStd;
use crate::metrics::EvalReport;
use crate::run::{RunRecords, files};
use crate::train::events::RunSummary;

/// What one finished run contributes to a results row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunResult {
    /// The run directory.
    pub run_dir: PathBuf,
    /// Device it ran on.
    pub device: String,
    /// Unlabelled pool size.
    pub pool_size: usize,
    /// Labelled training images per class (what tells the small classes of a long-tailed set).
    pub labeled_per_class: Vec<usize>,
    /// The run's summary.
    pub summary: RunSummary,
}

impl RunResult {
    /// Reads a finished run: its `summary.json` and the `started` record of `metrics.jsonl`.
    pub fn load(run_dir: &Path) -> anyhow::Result<Self> {
        Self::from_records(RunRecords::load_finished(run_dir)?)
    }

    /// The result of a finished run already read.
    pub fn from_records(run: RunRecords) -> anyhow::Result<Self> {
        let run_dir = run.dir().to_path_buf();
        let info = run.metrics.run_info().with_context(|| {
            format!(
                "{}: no `started` record",
                run_dir.join(files::METRICS).display()
            )
        })?;
        let (pool_size, labeled_per_class) = (info.unlabeled, info.labeled_per_class.clone());
        let summary = run.summary.with_context(|| {
            format!(
                "{}: no such file (has the run finished?)",
                run_dir.join(files::SUMMARY).display()
            )
        })?;
        Ok(Self {
            run_dir,
            device: summary.device.clone(),
            pool_size,
            labeled_per_class,
            summary,
        })
    }
}

/// Mean ± std over runs of the figures a results table shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultsRow {
    /// The row's name.
    pub label: String,
    /// Number of runs.
    pub runs: usize,
    /// Test accuracy of the supervised-only (warm-up) model.
    pub supervised_accuracy: MeanStd,
    /// Test accuracy of the best checkpoint (chosen by validation accuracy).
    pub best_accuracy: MeanStd,
    /// Test accuracy of the model after the last round.
    pub last_accuracy: MeanStd,
    /// Improvement of the best checkpoint over supervised-only, per run.
    pub gain: MeanStd,
    /// Test macro-F1 of the best checkpoint.
    pub best_macro_f1: MeanStd,
    /// Accuracy of the pseudo-labels accepted in the last round (against hidden truth).
    pub last_pseudo_label_accuracy: MeanStd,
    /// Share of the pool accepted in the last round.
    pub last_acceptance: MeanStd,
    /// Wall time in seconds.
    pub wall_secs: MeanStd,
    /// Devices the runs used (deduplicated).
    pub devices: Vec<String>,
}

/// The backend behind a device name.
pub fn backend_of(device: &str) -> &'static str {
    match device {
        "flex" => "burn-flex",
        "ndarray" => "burn-ndarray",
        _ => "burn-tch (libtorch)",
    }
}

/// Mean ± std of `f` over the runs that have a value.
fn mean_over(runs: &[RunResult], f: &dyn Fn(&RunResult) -> Option<f64>) -> MeanStd {
    MeanStd::of(&runs.iter().filter_map(f).collect::<Vec<_>>())
}

/// Aggregates runs into one row. Runs without a test split count as missing values.
pub fn aggregate(label: &str, runs: &[RunResult]) -> ResultsRow {
    let collect = |f: &dyn Fn(&RunResult) -> Option<f64>| mean_over(runs, f);
    let mut devices: Vec<String> = runs.iter().map(|r| r.device.clone()).collect();
    devices.sort();
    devices.dedup();
    ResultsRow {
        label: label.to_string(),
        runs: runs.len(),
        supervised_accuracy: collect(&|r| r.summary.baseline_test.as_ref().map(|t| t.accuracy)),
        best_accuracy: collect(&|r| r.summary.best_test.as_ref().map(|t| t.accuracy)),
        last_accuracy: collect(&|r| r.summary.last_test.as_ref().map(|t| t.accuracy)),
        gain: collect(&|r| {
            Some(
                r.summary.best_test.as_ref()?.accuracy - r.summary.baseline_test.as_ref()?.accuracy,
            )
        }),
        best_macro_f1: collect(&|r| r.summary.best_test.as_ref().map(|t| t.macro_f1)),
        last_pseudo_label_accuracy: collect(&|r| r.summary.last_accepted_accuracy),
        last_acceptance: collect(&|r| {
            (r.pool_size > 0).then(|| r.summary.last_accepted as f64 / r.pool_size as f64)
        }),
        wall_secs: collect(&|r| Some(r.summary.wall_secs)),
        devices,
    }
}

/// The markdown header matching [`markdown_row`].
pub fn markdown_header() -> String {
    "| setting | runs | supervised-only acc % | self-training acc % (best by val) | gain (points) | last-round acc % | best macro-F1 | last-round pseudo-label acc % | last-round acceptance % | wall s | device (backend) |\n\
     |---|---|---|---|---|---|---|---|---|---|---|"
        .to_string()
}

/// One markdown table row.
pub fn markdown_row(row: &ResultsRow) -> String {
    let devices: Vec<String> = row
        .devices
        .iter()
        .map(|d| format!("{d} ({})", backend_of(d)))
        .collect();
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        row.label,
        row.runs,
        row.supervised_accuracy.percent(),
        row.best_accuracy.percent(),
        row.gain.signed(100.0, 2),
        row.last_accuracy.percent(),
        row.best_macro_f1.plain(3),
        row.last_pseudo_label_accuracy.percent(),
        row.last_acceptance.percent(),
        row.wall_secs.plain(0),
        devices.join(", ")
    )
}

/// The `n` classes with the fewest labelled images (the later class first among equals, since
/// long-tailed imports shrink with the label).
pub fn smallest_classes(labeled_per_class: &[usize], n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..labeled_per_class.len()).collect();
    order.sort_by_key(|&c| (labeled_per_class[c], std::cmp::Reverse(c)));
    order.truncate(n);
    order
}

/// Mean test recall over `classes`; `None` when the report lacks one of them.
fn mean_recall(report: &EvalReport, classes: &[usize]) -> Option<f64> {
    let recalls: Option<Vec<f64>> = classes
        .iter()
        .map(|&c| report.per_class.get(c).map(|m| m.recall))
        .collect();
    let recalls = recalls?;
    (!recalls.is_empty()).then(|| recalls.iter().sum::<f64>() / recalls.len() as f64)
}

/// What a long-tailed setting is judged by: macro-F1 and the recall of its smallest classes,
/// before and after self-training, mean ± std over runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImbalanceRow {
    /// The row's name.
    pub label: String,
    /// Number of runs.
    pub runs: usize,
    /// How many of the smallest classes the recall columns average over.
    pub smallest: usize,
    /// Test macro-F1 of the supervised-only (warm-up) model.
    pub supervised_macro_f1: MeanStd,
    /// Test macro-F1 of the best checkpoint.
    pub best_macro_f1: MeanStd,
    /// Best minus supervised-only macro-F1, per run.
    pub macro_f1_gain: MeanStd,
    /// Mean recall of the smallest classes, supervised-only.
    pub supervised_smallest_recall: MeanStd,
    /// Mean recall of the smallest classes, best checkpoint.
    pub best_smallest_recall: MeanStd,
    /// Test accuracy of the best checkpoint.
    pub best_accuracy: MeanStd,
    /// Wall time in seconds.
    pub wall_secs: MeanStd,
}

/// Aggregates runs of a long-tailed setting; the smallest classes are each run's own (by its
/// labelled counts).
pub fn aggregate_imbalance(label: &str, runs: &[RunResult], smallest: usize) -> ImbalanceRow {
    let collect = |f: &dyn Fn(&RunResult) -> Option<f64>| mean_over(runs, f);
    let recall = |r: &RunResult, report: Option<&EvalReport>| {
        mean_recall(report?, &smallest_classes(&r.labeled_per_class, smallest))
    };
    ImbalanceRow {
        label: label.to_string(),
        runs: runs.len(),
        smallest,
        supervised_macro_f1: collect(&|r| r.summary.baseline_test.as_ref().map(|t| t.macro_f1)),
        best_macro_f1: collect(&|r| r.summary.best_test.as_ref().map(|t| t.macro_f1)),
        macro_f1_gain: collect(&|r| {
            Some(
                r.summary.best_test.as_ref()?.macro_f1 - r.summary.baseline_test.as_ref()?.macro_f1,
            )
        }),
        supervised_smallest_recall: collect(&|r| recall(r, r.summary.baseline_test.as_ref())),
        best_smallest_recall: collect(&|r| recall(r, r.summary.best_test.as_ref())),
        best_accuracy: collect(&|r| r.summary.best_test.as_ref().map(|t| t.accuracy)),
        wall_secs: collect(&|r| Some(r.summary.wall_secs)),
    }
}

/// The markdown header matching [`imbalance_row`].
pub fn imbalance_header(smallest: usize) -> String {
    format!(
        "| setting | runs | supervised-only macro-F1 | self-training macro-F1 (best by val) | \
         macro-F1 gain | recall of the {smallest} smallest classes, supervised-only % | \
         recall of the {smallest} smallest classes, self-training % | self-training acc % | \
         wall s |\n|---|---|---|---|---|---|---|---|---|"
    )
}

/// One markdown row of a long-tailed table.
pub fn imbalance_row(row: &ImbalanceRow) -> String {
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        row.label,
        row.runs,
        row.supervised_macro_f1.plain(3),
        row.best_macro_f1.plain(3),
        row.macro_f1_gain.signed(1.0, 3),
        row.supervised_smallest_recall.percent(),
        row.best_smallest_recall.percent(),
        row.best_accuracy.percent(),
        row.wall_secs.plain(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{ClassMetrics, ConfusionMatrix};
    use crate::run::StopReason;

    fn report(accuracy: f64) -> EvalReport {
        EvalReport {
            accuracy,
            macro_f1: accuracy - 0.01,
            per_class: Vec::new(),
            confusion: ConfusionMatrix::new(2),
            loss: 0.5,
            ece: None,
            calibration: None,
        }
    }

    fn run(baseline: f64, best: f64, accepted: usize) -> RunResult {
        RunResult {
            run_dir: PathBuf::from("r"),
            device: "flex".into(),
            pool_size: 1000,
            labeled_per_class: vec![8, 8],
            summary: RunSummary {
                stop_reason: StopReason::MaxRounds,
                device: "flex".into(),
                rounds_completed: 5,
                global_steps: 100,
                wall_secs: 60.0,
                best_round: 3,
                best_val_accuracy: 0.9,
                baseline_test: Some(report(baseline)),
                best_test: Some(report(best)),
                last_test: Some(report(best - 0.01)),
                last_accepted: accepted,
                last_accepted_accuracy: Some(0.95),
                final_threshold: 0.9,
                final_pseudo_weight: 1.0,
                skipped_images: 0,
                time_breakdown: None,
                format_version: crate::run::FORMAT_VERSION,
            },
        }
    }

    #[test]
    fn aggregates_mean_and_std_over_runs() {
        let row = aggregate("x", &[run(0.70, 0.80, 500), run(0.72, 0.84, 700)]);
        assert_eq!(row.runs, 2);
        assert!((row.supervised_accuracy.mean - 0.71).abs() < 1e-12);
        assert!((row.best_accuracy.mean - 0.82).abs() < 1e-12);
        assert!((row.gain.mean - 0.11).abs() < 1e-12);
        assert!((row.last_acceptance.mean - 0.6).abs() < 1e-12);
        assert_eq!(row.devices, vec!["flex".to_string()]);
        let line = markdown_row(&row);
        assert!(
            line.starts_with("| x | 2 | 71.00 ± 1.41 | 82.00 ± 2.83 | +11.00 ± 1.41 |"),
            "{line}"
        );
        assert!(line.ends_with("| 60 ± 0 | flex (burn-flex) |"), "{line}");
        let columns = markdown_header()
            .lines()
            .next()
            .unwrap()
            .matches('|')
            .count();
        assert_eq!(line.matches('|').count(), columns);
    }

    /// A three-class report whose class recalls are `recalls`.
    fn report_with_recalls(macro_f1: f64, recalls: [f64; 3]) -> EvalReport {
        EvalReport {
            macro_f1,
            per_class: recalls
                .iter()
                .map(|&recall| ClassMetrics {
                    precision: 1.0,
                    recall,
                    f1: recall,
                    support: 10,
                })
                .collect(),
            ..report(0.8)
        }
    }

    #[test]
    fn the_smallest_classes_are_found_by_labelled_count_later_class_first() {
        assert_eq!(smallest_classes(&[40, 4, 13, 4], 2), vec![3, 1]);
        assert_eq!(smallest_classes(&[40, 4, 13, 4], 3), vec![3, 1, 2]);
        assert_eq!(smallest_classes(&[5], 3), vec![0]);
    }

    #[test]
    fn an_imbalance_row_averages_the_recall_of_each_runs_own_smallest_classes() {
        let mut a = run(0.7, 0.8, 500);
        a.labeled_per_class = vec![40, 12, 4];
        a.summary.baseline_test = Some(report_with_recalls(0.60, [0.9, 0.5, 0.1]));
        a.summary.best_test = Some(report_with_recalls(0.70, [0.9, 0.7, 0.3]));
        let mut b = a.clone();
        // Another labelled set whose smallest class is the middle one.
        b.labeled_per_class = vec![40, 3, 12];
        let row = aggregate_imbalance("lt", &[a, b], 1);
        assert_eq!(row.runs, 2);
        // Smallest class: 2 in run a (0.1 → 0.3), 1 in run b (0.5 → 0.7).
        assert!((row.supervised_smallest_recall.mean - 0.3).abs() < 1e-12);
        assert!((row.best_smallest_recall.mean - 0.5).abs() < 1e-12);
        assert!((row.macro_f1_gain.mean - 0.1).abs() < 1e-12);
        let line = imbalance_row(&row);
        assert!(
            line.starts_with(
                "| lt | 2 | 0.600 ± 0.000 | 0.700 ± 0.000 | +0.100 ± 0.000 | 30.00 ± 28.28 |"
            ),
            "{line}"
        );
        let header = imbalance_header(1);
        assert!(
            header.contains("recall of the 1 smallest classes"),
            "{header}"
        );
        let columns = header.lines().next().unwrap().matches('|').count();
        assert_eq!(line.matches('|').count(), columns);
    }

    #[test]
    fn a_run_written_before_format_versions_is_summarized() {
        let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden/run");
        let run = RunResult::load(&golden).unwrap();
        assert_eq!((run.pool_size, run.device.as_str()), (2000, "flex"));
        assert_eq!(run.summary.format_version, 1);
        let row = aggregate("golden", &[run]);
        assert_eq!(row.supervised_accuracy.mean, 0.616);
        assert_eq!(row.runs, 1);
    }

    #[test]
    fn missing_summary_names_the_file() {
        let dir = std::env::temp_dir().join(format!("selftrain-summarize-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = RunResult::load(&dir).unwrap_err();
        assert!(format!("{err:#}").contains("summary.json"), "{err:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
