//! Classification metrics: confusion matrix, per-class precision/recall/F1, calibration,
//! histograms.

mod calibration;
mod confusion;
mod histogram;

pub use calibration::{CALIBRATION_BINS, Calibration, CalibrationBin};
pub use confusion::{ClassMetrics, ConfusionMatrix, EvalReport};
pub use histogram::Histogram;
