//! `selftrain report`: PNG charts and an HTML page summarising a run directory.
//!
//! The work is split in three: [`ReportInput::load`] reads the run directory through the run
//! reader ([`crate::run::RunRecords`]) into [`RunMetrics`] ([`input`]), pure functions turn that
//! into plotted series ([`loss_series`], [`accuracy_series`], [`acceptance_rows`],
//! [`choose_confusion`]; [`series`]), and [`charts`] / [`html`] draw them. [`write_report`] ties
//! it together and writes every file atomically.

pub mod charts;
pub mod html;
pub mod input;
pub mod series;
#[cfg(test)]
mod testdata;

use std::path::{Path, PathBuf};

use anyhow::Context;

pub use crate::run::LineError;
use crate::run::atomic_write;
pub use input::{ReportInput, RunMetrics, RunState, parse_metrics, parse_summary};
pub use series::{
    AcceptanceRow, AccuracySeries, ConfusionChoice, LossSeries, Point, RoundBoundary,
    acceptance_rows, accuracy_series, choose_confusion, class_names, loss_series, round_boundaries,
    smooth, smoothing_window,
};

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
/// Reliability diagram file name.
pub const CALIBRATION_PNG: &str = "calibration.png";
/// HTML page file name.
pub const INDEX_HTML: &str = "index.html";

/// Writes the report of `run_dir` into `out` (default `RUN_DIR/report/`): the five charts and
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
    let calibration = confusion.as_ref().map(|c| &c.report);
    let images: [(&str, Vec<u8>); 5] = [
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
        (
            CALIBRATION_PNG,
            charts::calibration_chart(
                calibration.and_then(|r| r.calibration.as_ref()),
                calibration.and_then(|r| r.ece),
                &confusion.as_ref().map(|c| c.describe()).unwrap_or_default(),
            )?,
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
