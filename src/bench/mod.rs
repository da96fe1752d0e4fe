//! The benchmarks, with the figures they share ([`stats`]: medians, peak memory, CPU time):
//!
//! - [`cnn`]: `selftrain bench`, training and inference throughput of the CNN on random data;
//! - [`scale`]: `selftrain bench-scale`, the whole pipeline on a real data root at full scale;
//! - [`dashboard`]: `selftrain bench-dashboard`, what the live dashboard costs the trainer.

pub mod cnn;
pub mod commands;
pub mod dashboard;
pub mod scale;
pub mod stats;

pub use stats::{median, peak_rss_bytes, peak_rss_mib};
