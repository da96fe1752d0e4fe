//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The release/debug binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_selftrain"))
}

/// The shipped sample data.
pub fn sample_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data")
}

/// A fresh, empty temporary directory unique to this test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("selftrain-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The single run directory created under `runs`.
pub fn only_run_dir(runs: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(
        dirs.len(),
        1,
        "expected one run directory in {}: {dirs:?}",
        runs.display()
    );
    dirs[0].clone()
}

/// Parses a JSON-lines file.
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// Stdout + stderr of a finished command, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Small-budget training flags on the sample data.
pub fn small_budget(runs: &Path) -> Vec<String> {
    [
        "train",
        "--headless",
        "--data",
        sample_data().to_str().unwrap(),
        "--runs-dir",
        runs.to_str().unwrap(),
        "--warmup-epochs",
        "15",
        "--epochs-per-round",
        "1",
        "--rounds",
        "2",
        "--patience",
        "0",
        // A 15-epoch warm-up that ends with the cosine schedule's small steps is less confident
        // than the default 40 epochs: τ 0.7 keeps pseudo-labels flowing on this budget.
        "--threshold",
        "0.7",
        "--seed",
        "0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}
