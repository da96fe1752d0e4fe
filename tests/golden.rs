//! The numbers do not move: a short headless run on the sample data must reproduce the run
//! recorded in `tests/fixtures/golden/run/` (same seed, same config, flex backend). Wall times
//! and paths are ignored; fields added by later versions are allowed, but every recorded field
//! must keep its value.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden/run")
}

/// Fields that depend on the clock or the machine's paths.
const VOLATILE: &[&str] = &["elapsed_secs", "wall_secs", "time", "run_dir", "path"];

/// Relative tolerance for floats: the recorded run is bit-identical on the machine that wrote
/// it; the slack only absorbs a different SIMD path on another CPU.
const REL_TOL: f64 = 1e-5;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= REL_TOL * a.abs().max(b.abs()).max(1e-3)
}

/// Asserts that every field of `expected` is in `actual` with the same value.
fn assert_covers(expected: &Value, actual: &Value, at: &str) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                if VOLATILE.contains(&k.as_str()) {
                    continue;
                }
                let av = a
                    .get(k)
                    .unwrap_or_else(|| panic!("{at}.{k}: missing in the new run"));
                assert_covers(ev, av, &format!("{at}.{k}"));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            assert_eq!(e.len(), a.len(), "{at}: length");
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                assert_covers(ev, av, &format!("{at}[{i}]"));
            }
        }
        (Value::Number(e), Value::Number(a)) => {
            let (e, a) = (e.as_f64().unwrap(), a.as_f64().unwrap());
            assert!(close(e, a), "{at}: recorded {e}, now {a}");
        }
        (e, a) => assert_eq!(e, a, "{at}"),
    }
}

fn assert_csv_covers(expected: &Path, actual: &Path) {
    let read =
        |p: &Path| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let (e, a) = (read(expected), read(actual));
    let (mut e, mut a) = (e.lines(), a.lines());
    let e_head: Vec<&str> = e.next().unwrap().split(',').collect();
    let a_head: Vec<&str> = a.next().unwrap().split(',').collect();
    let columns: Vec<(usize, usize)> = e_head
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let j = a_head
                .iter()
                .position(|h| h == name)
                .unwrap_or_else(|| panic!("{}: column {name} missing", actual.display()));
            (i, j)
        })
        .collect();
    let (e_rows, a_rows): (Vec<&str>, Vec<&str>) = (e.collect(), a.collect());
    assert_eq!(e_rows.len(), a_rows.len(), "{}: rows", actual.display());
    for (n, (er, ar)) in e_rows.iter().zip(&a_rows).enumerate() {
        let (ef, af): (Vec<&str>, Vec<&str>) = (er.split(',').collect(), ar.split(',').collect());
        for &(i, j) in &columns {
            let same = match (ef[i].parse::<f64>(), af[j].parse::<f64>()) {
                (Ok(x), Ok(y)) => close(x, y),
                _ => ef[i] == af[j],
            };
            assert!(
                same,
                "{} row {} column {}: recorded {}, now {}",
                actual.display(),
                n + 1,
                e_head[i],
                ef[i],
                af[j]
            );
        }
    }
}

#[test]
fn a_short_run_reproduces_the_recorded_golden_run() {
    let runs = temp_dir("golden");
    let out = bin()
        .args([
            "train",
            "--headless",
            "--device",
            "flex",
            "--seed",
            "0",
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
            "--threshold",
            "0.7",
            "--patience",
            "0",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let run = only_run_dir(&runs);
    let golden = fixture();

    let recorded = read_jsonl(&golden.join("metrics.jsonl"));
    let now = read_jsonl(&run.join("metrics.jsonl"));
    assert_eq!(
        recorded.len(),
        now.len(),
        "metrics.jsonl: number of records"
    );
    for (i, (e, a)) in recorded.iter().zip(&now).enumerate() {
        assert_covers(e, a, &format!("metrics.jsonl line {}", i + 1));
    }
    assert_covers(
        &read_json(&golden.join("summary.json")),
        &read_json(&run.join("summary.json")),
        "summary.json",
    );
    for round in ["001", "002"] {
        let name = format!("pseudo_labels_round_{round}.csv");
        assert_csv_covers(&golden.join(&name), &run.join(&name));
    }
    assert!(
        !run.join("pseudo_labels_round_003.csv").exists(),
        "the recorded run has two rounds"
    );
    let _ = std::fs::remove_dir_all(&runs);
}
