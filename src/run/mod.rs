//! The run directory: `runs/<timestamp>/` with config, metrics, events, pseudo-labels,
//! checkpoints and summary. Whole files are written atomically (temp file, fsync, rename);
//! JSON-lines logs are append-only and tolerate a torn last line on read. This module owns the
//! format: the record types' serde helpers ([`records`]), the format version ([`FORMAT_VERSION`])
//! and the one reader of a run directory ([`reader`], [`RunRecords`]).

mod atomic;
mod checksum;
mod jsonl;
mod lock;
pub mod pseudo_csv;
pub mod reader;
mod reasons;
pub mod records;
mod version;

pub use atomic::atomic_write;
pub use checksum::{checksum, verify_checksum};
pub use jsonl::{JsonlWriter, read_jsonl, truncate_to};
pub use lock::{LOCK_FILE, LockError, RunLock};
pub use reader::{
    LineError, MetricsLine, MetricsLog, MetricsRecord, RunRecords, parse_metrics,
    parse_metrics_line, read_events, read_metrics, read_model_info, read_summary,
};
pub use reasons::{CheckpointReason, StopReason};
pub use records::ModelInfo;
pub use version::{
    FORMAT_VERSION, check_format_version, legacy_format_version, read_versioned_json,
};

use std::path::{Path, PathBuf};

/// File names inside a run directory.
pub mod files {
    /// Effective configuration.
    pub const CONFIG: &str = "config.toml";
    /// Model architecture and data facts needed to rebuild the model.
    pub const MODEL: &str = "model.json";
    /// Every update, one JSON object per line.
    pub const METRICS: &str = "metrics.jsonl";
    /// Every applied control, one JSON object per line.
    pub const EVENTS: &str = "events.jsonl";
    /// Final summary.
    pub const SUMMARY: &str = "summary.json";
    /// Best checkpoint by validation accuracy.
    pub const BEST: &str = "best.bpk";
    /// Latest checkpoint.
    pub const LAST: &str = "last.bpk";
    /// Images skipped while loading.
    pub const SKIPPED: &str = "skipped_images.csv";
    /// Where a run stands at its last checkpoint (what `--resume` continues from).
    pub const RESUME: &str = "resume.json";
}

/// An open run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Creates `parent/<timestamp>/` (a suffix is added when the name is taken).
    pub fn create(parent: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(parent)?;
        let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S").to_string();
        for n in 0..1000 {
            let name = if n == 0 {
                stamp.clone()
            } else {
                format!("{stamp}-{n}")
            };
            let path = parent.join(name);
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Self { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other(
            "could not find a free run directory name",
        ))
    }

    /// Opens an existing run directory.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        if !path.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("run directory {} does not exist", path.display()),
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A file inside the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes a whole file atomically.
    pub fn write(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        atomic_write(&self.file(name), bytes)
    }

    /// Writes a value as pretty JSON atomically.
    pub fn write_json<T: serde::Serialize>(&self, name: &str, value: &T) -> std::io::Result<()> {
        let mut text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
        text.push('\n');
        self.write(name, text.as_bytes())
    }

    /// File name of the pseudo-label CSV of a round.
    pub fn pseudo_labels_name(round: usize) -> String {
        format!("pseudo_labels_round_{round:03}.csv")
    }
}

/// Quotes a CSV field when needed.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("a.png"), "a.png");
        assert_eq!(csv_field("a,b.png"), "\"a,b.png\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn run_dirs_get_unique_names() {
        let parent = std::env::temp_dir().join(format!("selftrain-rundir-{}", std::process::id()));
        let a = RunDir::create(&parent).unwrap();
        let b = RunDir::create(&parent).unwrap();
        assert_ne!(a.path(), b.path());
        a.write_json("x.json", &vec![1, 2]).unwrap();
        assert_eq!(
            std::fs::read_to_string(a.file("x.json")).unwrap(),
            "[\n  1,\n  2\n]\n"
        );
        std::fs::remove_dir_all(parent).unwrap();
    }
}
