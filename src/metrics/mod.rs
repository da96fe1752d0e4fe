//! Classification metrics: confusion matrix, per-class precision/recall/F1, histograms.

mod confusion;
mod histogram;

pub use confusion::{ClassMetrics, ConfusionMatrix, EvalReport};
pub use histogram::Histogram;
