//! selftrain: semi-supervised image classification by self-training (pseudo-labelling).
//!
//! The crate is split by concern:
//! - [`data`]: image folders, IDX import, in-memory image sets, augmentation and batching;
//! - [`model`]: the CNN architectures;
//! - [`train`]: the self-training engine (its own thread), the pseudo-labelling policy and the
//!   control/update channel protocol that front-ends use;
//! - [`metrics`]: confusion matrices, precision/recall/F1, confidence histograms;
//! - [`run`]: the run directory (atomic writes, JSON lines, checkpoints, summary);
//! - [`config`]: the effective training configuration (TOML + CLI overrides);
//! - [`tui`]: the live terminal dashboard and the read-only run viewer;
//! - [`experiments`]: several runs together: k-fold cross-validation and results-table rows;
//! - [`report`]: PNG charts and an HTML page summarising a run directory;
//! - [`bench`]: the benchmarks (model throughput, the pipeline at scale, the dashboard's cost);
//! - [`launch`]: what each subcommand does: starting a run (run-directory lock, Ctrl-C, exit
//!   codes), cross-validation folds and the smaller commands.

pub mod bench;
pub mod cli;
pub mod config;
pub mod data;
pub mod device;
pub mod experiments;
pub mod headless;
pub mod launch;
pub mod metrics;
pub mod model;
pub mod predict;
pub mod report;
pub mod run;
pub mod serde_nan;
pub mod train;
pub mod tui;
