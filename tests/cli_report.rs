//! `selftrain report` on a short real run of the sample data, and on bad input.

mod common;

use std::collections::HashSet;
use std::path::Path;

use common::*;
use selftrain::report::charts::{CALIBRATION_SIZE, CHART_SIZE, CONFUSION_SIZE};

const IMAGES: [&str; 5] = [
    "loss.png",
    "accuracy.png",
    "acceptance.png",
    "confusion.png",
    "calibration.png",
];

/// Asserts that `path` is a PNG of `size` with several distinct colours (not a blank canvas).
fn assert_chart(path: &Path, size: (u32, u32)) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    let image = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    assert_eq!(image.dimensions(), size, "{}", path.display());
    let colours: HashSet<[u8; 3]> = image.pixels().map(|p| p.0).collect();
    assert!(
        colours.len() >= 8,
        "{} looks blank: {} distinct colours",
        path.display(),
        colours.len()
    );
}

fn assert_report(out: &Path) -> String {
    for name in IMAGES {
        let size = match name {
            "confusion.png" => CONFUSION_SIZE,
            "calibration.png" => CALIBRATION_SIZE,
            _ => CHART_SIZE,
        };
        assert_chart(&out.join(name), size);
    }
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    for name in IMAGES {
        assert!(
            html.contains(&format!("<img src=\"{name}\"")),
            "index.html does not show {name}"
        );
    }
    // Atomic writes leave no temporary file behind.
    let names: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 6, "{names:?}");
    assert!(html.contains("<th class=\"n\">ECE</th>"), "no ECE column");
    html
}

#[test]
fn report_of_a_finished_and_of_an_unfinished_run() {
    let root = temp_dir("report");
    let runs = root.join("runs");
    let out = bin().args(small_budget(&runs)).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let run = only_run_dir(&runs);

    // Finished run, default output folder RUN_DIR/report.
    let out = bin().arg("report").arg(&run).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let report = run.join("report");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let printed: Vec<&str> = stdout.lines().collect();
    assert_eq!(printed.len(), 6, "{stdout}");
    for name in IMAGES.iter().chain(&["index.html"]) {
        let path = report.join(name);
        assert!(
            printed.contains(&path.to_str().unwrap()),
            "{name} not printed: {stdout}"
        );
    }
    let html = assert_report(&report);
    let summary = read_json(&run.join("summary.json"));
    assert!(
        !html.contains("unfinished"),
        "finished run called unfinished"
    );
    assert!(html.contains(summary["stop_reason"].as_str().unwrap()));
    let best = summary["best_test"]["accuracy"].as_f64().unwrap();
    assert!(
        html.contains(&format!("{:.1}%", best * 100.0)),
        "best test accuracy missing"
    );
    // The best model's calibration is recorded and shown.
    let ece = summary["best_test"]["ece"].as_f64().expect("best_test.ece");
    assert!((0.0..=1.0).contains(&ece), "{ece}");
    let bins = summary["best_test"]["calibration"]["bins"]
        .as_array()
        .unwrap();
    assert_eq!(bins.len(), 15);
    assert!(
        html.contains(&format!("ECE {ece:.3}.")),
        "best test ECE missing"
    );
    assert!(html.contains("<code>threshold</code>"), "config missing");

    // The same run as if still running: no summary.json, the last line half-written.
    let running = root.join("running");
    std::fs::create_dir_all(&running).unwrap();
    for f in ["config.toml", "model.json"] {
        std::fs::copy(run.join(f), running.join(f)).unwrap();
    }
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let lines: Vec<&str> = metrics.lines().collect();
    // Cut before the second round's pseudo-labels, plus a torn line.
    let cut = lines
        .iter()
        .rposition(|l| l.contains("\"type\":\"pseudo_labels\""))
        .unwrap();
    let mut partial = lines[..cut].join("\n");
    partial.push_str("\n{\"type\":\"loss\",\"glo");
    std::fs::write(running.join("metrics.jsonl"), partial).unwrap();
    let out_dir = root.join("running-report");
    let out = bin()
        .arg("report")
        .arg(&running)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let html = assert_report(&out_dir);
    assert!(html.contains("This run is unfinished"), "{html}");
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn bad_run_directories_are_errors_naming_the_file() {
    let root = temp_dir("report-bad");
    let report = |dir: &Path| bin().arg("report").arg(dir).output().unwrap();

    // Missing run directory.
    let missing = root.join("nope");
    let out = report(&missing);
    assert!(!out.status.success(), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(missing.to_str().unwrap()), "{err}");
    assert!(err.contains("does not exist"), "{err}");

    // A folder without metrics.jsonl.
    let empty = root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = report(&empty);
    assert!(!out.status.success(), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("metrics.jsonl"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !empty.join("report").exists(),
        "nothing is written on error"
    );

    // A malformed line in the middle names the file and the line.
    let bad = root.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("metrics.jsonl"),
        "{\"type\":\"loss\",\"global_step\":1,\"round\":0,\"supervised\":1.0,\"pseudo\":null,\"total\":1.0}\n\
         {\"type\":\"loss\",\"global_step\":oops}\n",
    )
    .unwrap();
    let out = report(&bad);
    assert!(!out.status.success(), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("metrics.jsonl: line 2"), "{err}");
    assert!(err.contains("not valid JSON"), "{err}");

    // A valid JSON line that is not a metrics record.
    std::fs::write(bad.join("metrics.jsonl"), "{\"type\":\"loss\"}\n").unwrap();
    let out = report(&bad);
    assert!(!out.status.success(), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("metrics.jsonl: line 1"), "{err}");
    assert!(err.contains("missing field"), "{err}");

    // A broken summary.json names that file.
    std::fs::write(
        bad.join("metrics.jsonl"),
        "{\"type\":\"loss\",\"global_step\":1,\"round\":0,\"supervised\":1.0,\"pseudo\":null,\"total\":1.0}\n",
    )
    .unwrap();
    std::fs::write(bad.join("summary.json"), "{\"stop_reason\":").unwrap();
    let out = report(&bad);
    assert!(!out.status.success(), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("summary.json"), "{err}");
    let _ = std::fs::remove_dir_all(root);
}

/// The run recorded by an older selftrain (before `format_version`), kept as a fixture.
fn golden_run() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden/run")
}

#[test]
fn report_of_a_run_written_before_format_versions() {
    let root = temp_dir("report-golden");
    let out_dir = root.join("report");
    let out = bin()
        .arg("report")
        .arg(golden_run())
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let html = assert_report(&out_dir);
    assert!(html.contains("max_rounds"), "{html}");
    let best = read_json(&golden_run().join("summary.json"))["best_test"]["accuracy"]
        .as_f64()
        .unwrap();
    assert!(html.contains(&format!("{:.1}%", best * 100.0)), "{html}");
    assert!(!html.contains("unfinished"));

    // The same run claiming a newer format is refused, naming the file.
    let newer = root.join("newer");
    std::fs::create_dir_all(&newer).unwrap();
    for f in ["metrics.jsonl", "config.toml", "summary.json"] {
        std::fs::copy(golden_run().join(f), newer.join(f)).unwrap();
    }
    let mut summary = read_json(&newer.join("summary.json"));
    summary["format_version"] = serde_json::json!(99);
    std::fs::write(newer.join("summary.json"), summary.to_string()).unwrap();
    let out = bin().arg("report").arg(&newer).output().unwrap();
    assert!(!out.status.success(), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("summary.json: format_version 99 is newer"),
        "{err}"
    );
    assert!(
        !newer.join("report").exists(),
        "nothing is written on error"
    );
    let _ = std::fs::remove_dir_all(root);
}
