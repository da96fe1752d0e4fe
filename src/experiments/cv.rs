//! `selftrain cv --folds K`: k-fold cross-validation of a whole self-training run.
//!
//! The labelled images are split into K stratified folds; run `i` validates (and selects its
//! best checkpoint) on fold `i` and trains on the others, with the same unlabelled pool. Each
//! fold's best model is then scored on its held-out fold (and on `test/` when there is one).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;

use super::stats::MeanStd;
use crate::config::TrainConfig;
use crate::device::{self, DeviceSpec};
use crate::metrics::EvalReport;
use crate::run::{RunDir, atomic_write, files};
use crate::train::events::RunSummary;
use crate::train::prepare::{PreparedData, prepare};
use crate::train::steps::evaluate;

/// Scores of one fold.
#[derive(Debug, Clone, Serialize)]
pub struct FoldResult {
    /// Fold number, from 1.
    pub fold: usize,
    /// The fold's run directory.
    pub run_dir: PathBuf,
    /// Labelled images trained on.
    pub train_images: usize,
    /// Held-out images.
    pub validation_images: usize,
    /// The best checkpoint on the held-out fold.
    pub validation: EvalReport,
    /// Round of the best checkpoint.
    pub best_round: usize,
    /// The best checkpoint on `test/`, when the data has one.
    pub test: Option<EvalReport>,
    /// The supervised-only model on `test/`.
    pub supervised_test: Option<EvalReport>,
    /// Wall time of the fold's run.
    pub wall_secs: f64,
}

/// The whole cross-validation.
#[derive(Debug, Clone, Serialize)]
pub struct CvReport {
    /// Number of folds.
    pub folds: usize,
    /// Data root.
    pub data: PathBuf,
    /// Seed of the fold assignment and of every run.
    pub seed: u64,
    /// Device name.
    pub device: String,
    /// Per fold.
    pub results: Vec<FoldResult>,
    /// Held-out accuracy over folds.
    pub validation_accuracy: MeanStd,
    /// Held-out macro-F1 over folds.
    pub validation_macro_f1: MeanStd,
    /// Test accuracy over folds (absent values when there is no `test/`).
    pub test_accuracy: MeanStd,
    /// Test macro-F1 over folds.
    pub test_macro_f1: MeanStd,
    /// Supervised-only test accuracy over folds.
    pub supervised_test_accuracy: MeanStd,
}

impl CvReport {
    /// Builds the report and its mean ± std rows from the folds.
    pub fn new(cfg: &TrainConfig, device: &str, results: Vec<FoldResult>) -> Self {
        let over = |f: &dyn Fn(&FoldResult) -> Option<f64>| {
            MeanStd::of(&results.iter().filter_map(f).collect::<Vec<_>>())
        };
        Self {
            folds: cfg.cv_folds,
            data: cfg.data.clone(),
            seed: cfg.seed,
            device: device.to_string(),
            validation_accuracy: over(&|r| Some(r.validation.accuracy)),
            validation_macro_f1: over(&|r| Some(r.validation.macro_f1)),
            test_accuracy: over(&|r| r.test.as_ref().map(|t| t.accuracy)),
            test_macro_f1: over(&|r| r.test.as_ref().map(|t| t.macro_f1)),
            supervised_test_accuracy: over(&|r| r.supervised_test.as_ref().map(|t| t.accuracy)),
            results,
        }
    }

    /// A markdown table: one row per fold, then mean ± std.
    pub fn markdown(&self) -> String {
        let pct = |r: Option<&EvalReport>| {
            r.map(|r| format!("{:.2}", r.accuracy * 100.0))
                .unwrap_or_else(|| "–".into())
        };
        let f1 = |r: Option<&EvalReport>| {
            r.map(|r| format!("{:.3}", r.macro_f1))
                .unwrap_or_else(|| "–".into())
        };
        let mut out = format!(
            "{}-fold cross-validation of {} (seed {}, device {})\n\n\
             | fold | train / held out | held-out acc % | held-out macro-F1 | test acc % | test macro-F1 | supervised-only test acc % | best round | wall s |\n\
             |---|---|---|---|---|---|---|---|---|\n",
            self.folds,
            self.data.display(),
            self.seed,
            self.device
        );
        for r in &self.results {
            out.push_str(&format!(
                "| {} | {} / {} | {} | {} | {} | {} | {} | {} | {:.0} |\n",
                r.fold,
                r.train_images,
                r.validation_images,
                pct(Some(&r.validation)),
                f1(Some(&r.validation)),
                pct(r.test.as_ref()),
                f1(r.test.as_ref()),
                pct(r.supervised_test.as_ref()),
                r.best_round,
                r.wall_secs
            ));
        }
        out.push_str(&format!(
            "| mean ± std | | {} | {} | {} | {} | {} | | |\n",
            self.validation_accuracy.percent(),
            self.validation_macro_f1.plain(3),
            self.test_accuracy.percent(),
            self.test_macro_f1.plain(3),
            self.supervised_test_accuracy.percent()
        ));
        out
    }
}

/// Runs one fold to its end and returns its summary, or `None` when it was stopped.
pub type FoldRunner<'a> = dyn FnMut(usize, TrainConfig, Arc<PreparedData>, RunDir) -> anyhow::Result<Option<RunSummary>>
    + 'a;

/// Runs the K folds one after another under `cv_dir` (`fold-1/`, `fold-2/`, …) and writes
/// `cv.json` and `cv.md` there. `run_fold` trains one fold (the caller chooses how: headless,
/// with or without progress); when it returns `None` (stopped) the cross-validation stops and
/// `Ok(None)` is returned, with the folds done so far already saved.
pub fn run_cv(
    base: &TrainConfig,
    folds: usize,
    spec: DeviceSpec,
    cv_dir: &Path,
    run_fold: &mut FoldRunner<'_>,
) -> anyhow::Result<Option<CvReport>> {
    if folds < 2 {
        anyhow::bail!("--folds must be at least 2, got {folds}");
    }
    let mut results = Vec::new();
    let device_name = spec.name();
    for i in 0..folds {
        let cfg = TrainConfig {
            cv_folds: folds,
            cv_fold: i,
            runs_dir: cv_dir.join(format!("fold-{}", i + 1)),
            ..base.clone()
        };
        cfg.validate()?;
        let data = prepare(&cfg)?;
        let run_dir = RunDir::create(&cfg.runs_dir)
            .with_context(|| format!("creating a run directory in {}", cfg.runs_dir.display()))?;
        let path = run_dir.path().to_path_buf();
        let (train_images, validation_images) = (data.train.len(), data.val.len());
        let Some(summary) = run_fold(i, cfg.clone(), data.clone(), run_dir)? else {
            return Ok(None);
        };
        let loaded = crate::predict::load_model(&path, files::BEST, device::burn_device(spec))?;
        let validation = evaluate(
            &loaded.model,
            &data.val,
            data.num_classes(),
            cfg.batch_size.max(256),
            &loaded.device,
        );
        results.push(FoldResult {
            fold: i + 1,
            run_dir: path,
            train_images,
            validation_images,
            validation,
            best_round: summary.best_round,
            test: summary.best_test.clone(),
            supervised_test: summary.baseline_test.clone(),
            wall_secs: summary.wall_secs,
        });
        let report = CvReport::new(&cfg, &device_name, results.clone());
        write_report(cv_dir, &report)?;
    }
    let cfg = TrainConfig {
        cv_folds: folds,
        ..base.clone()
    };
    let report = CvReport::new(&cfg, &device_name, results);
    write_report(cv_dir, &report)?;
    Ok(Some(report))
}

/// Writes `cv.json` and `cv.md` atomically.
pub fn write_report(cv_dir: &Path, report: &CvReport) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(report)?;
    atomic_write(&cv_dir.join("cv.json"), &json)
        .with_context(|| format!("writing {}", cv_dir.join("cv.json").display()))?;
    atomic_write(&cv_dir.join("cv.md"), report.markdown().as_bytes())
        .with_context(|| format!("writing {}", cv_dir.join("cv.md").display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::ConfusionMatrix;

    fn report(accuracy: f64) -> EvalReport {
        EvalReport {
            accuracy,
            macro_f1: accuracy / 2.0,
            per_class: Vec::new(),
            confusion: ConfusionMatrix::new(2),
            loss: 0.1,
            ece: None,
            calibration: None,
        }
    }

    #[test]
    fn report_has_a_row_per_fold_and_mean_std() {
        let cfg = TrainConfig {
            cv_folds: 2,
            ..TrainConfig::default()
        };
        let fold = |n: usize, acc: f64| FoldResult {
            fold: n,
            run_dir: PathBuf::from(format!("fold-{n}")),
            train_images: 50,
            validation_images: 50,
            validation: report(acc),
            best_round: 1,
            test: Some(report(acc - 0.1)),
            supervised_test: None,
            wall_secs: 3.0,
        };
        let r = CvReport::new(&cfg, "flex", vec![fold(1, 0.8), fold(2, 0.9)]);
        assert!((r.validation_accuracy.mean - 0.85).abs() < 1e-12);
        assert!((r.test_accuracy.mean - 0.75).abs() < 1e-12);
        assert_eq!(r.supervised_test_accuracy.n, 0);
        let md = r.markdown();
        assert!(
            md.contains("| 1 | 50 / 50 | 80.00 | 0.400 | 70.00 |"),
            "{md}"
        );
        assert!(
            md.contains("| mean ± std | | 85.00 ± 7.07 | 0.425 ± 0.035 | 75.00 ± 7.07 |"),
            "{md}"
        );
    }
}
