//! Experiments made of several runs: results-table rows (`summarize`) and k-fold
//! cross-validation (`cv`).

pub mod cv;
pub mod stats;
pub mod summarize;
