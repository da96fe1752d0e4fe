//! `cv` and `summarize` through the real binary on the sample data.

mod common;

use common::*;

fn tiny_cv(runs: &std::path::Path, folds: &str) -> std::process::Output {
    bin()
        .args([
            "cv",
            "--folds",
            folds,
            "--data",
            sample_data().to_str().unwrap(),
            "--runs-dir",
            runs.to_str().unwrap(),
            "--warmup-epochs",
            "4",
            "--rounds",
            "1",
            "--epochs-per-round",
            "1",
            "--threshold",
            "0.3",
            "--seed",
            "3",
        ])
        .output()
        .unwrap()
}

#[test]
fn cv_runs_one_fold_each_and_saves_mean_and_std() {
    let runs = temp_dir("cv");
    let out = tiny_cv(&runs, "3");
    assert!(out.status.success(), "{}", describe(&out));
    let cv_dir = only_run_dir(&runs);
    let report = read_json(&cv_dir.join("cv.json"));
    assert_eq!(report["folds"], 3);
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);

    // The held-out folds partition the 100 labelled images; each run trains on the rest.
    let held: u64 = results
        .iter()
        .map(|r| r["validation_images"].as_u64().unwrap())
        .sum();
    assert_eq!(held, 100);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(
            r["train_images"].as_u64().unwrap() + r["validation_images"].as_u64().unwrap(),
            100
        );
        let run_dir = std::path::PathBuf::from(r["run_dir"].as_str().unwrap());
        assert!(run_dir.starts_with(cv_dir.join(format!("fold-{}", i + 1))));
        let config = std::fs::read_to_string(run_dir.join("config.toml")).unwrap();
        assert!(config.contains("cv_folds = 3"), "{config}");
        assert!(config.contains(&format!("cv_fold = {i}")), "{config}");
        // The fold's scores are of its best checkpoint on its held-out fold.
        let acc = r["validation"]["accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc));
        let summary = read_json(&run_dir.join("summary.json"));
        assert_eq!(r["test"]["accuracy"], summary["best_test"]["accuracy"]);
    }
    let accs: Vec<f64> = results
        .iter()
        .map(|r| r["validation"]["accuracy"].as_f64().unwrap())
        .collect();
    let mean = accs.iter().sum::<f64>() / 3.0;
    let std = (accs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
    assert!((report["validation_accuracy"]["mean"].as_f64().unwrap() - mean).abs() < 1e-9);
    assert!((report["validation_accuracy"]["std"].as_f64().unwrap() - std).abs() < 1e-9);
    assert!(report["validation_macro_f1"]["mean"].as_f64().is_some());
    assert!(report["test_accuracy"]["mean"].as_f64().is_some());

    // Printed and saved as a table too.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("| mean ± std |"), "{stdout}");
    let md = std::fs::read_to_string(cv_dir.join("cv.md")).unwrap();
    assert_eq!(md.lines().filter(|l| l.starts_with("| ")).count(), 5);

    // summarize: the row is the mean of the runs' summaries.
    let dirs: Vec<String> = results
        .iter()
        .map(|r| r["run_dir"].as_str().unwrap().to_string())
        .collect();
    let out = bin()
        .args(["summarize", "--json", "--label", "folds"])
        .args(&dirs)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let row: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(row["runs"], 3);
    assert_eq!(row["label"], "folds");
    let baseline: f64 = dirs
        .iter()
        .map(|d| {
            read_json(&std::path::Path::new(d).join("summary.json"))["baseline_test"]["accuracy"]
                .as_f64()
                .unwrap()
        })
        .sum::<f64>()
        / 3.0;
    assert!((row["supervised_accuracy"]["mean"].as_f64().unwrap() - baseline).abs() < 1e-9);
    let out = bin()
        .args(["summarize", "--header", "--label", "folds"])
        .args(&dirs)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[2].starts_with("| folds | 3 | "), "{text}");
}

#[test]
fn cv_and_summarize_refuse_bad_input() {
    let runs = temp_dir("cv-bad");
    let out = tiny_cv(&runs, "1");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--folds must be at least 2"),
        "{}",
        describe(&out)
    );
    let out = bin()
        .args(["summarize", runs.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("summary.json"), "{stderr}");
}

#[test]
fn summarize_reads_a_run_written_before_format_versions() {
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden/run");
    let out = bin()
        .args(["summarize", "--json", "--label", "golden"])
        .arg(&golden)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let row: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let summary = read_json(&golden.join("summary.json"));
    assert_eq!(row["runs"], 1);
    assert_eq!(
        row["supervised_accuracy"]["mean"],
        summary["baseline_test"]["accuracy"]
    );
    assert_eq!(
        row["best_accuracy"]["mean"],
        summary["best_test"]["accuracy"]
    );
    let accepted = summary["last_accepted"].as_f64().unwrap();
    let share = row["last_acceptance"]["mean"].as_f64().unwrap();
    assert!((share - accepted / 2000.0).abs() < 1e-12, "{row}");

    // The same run claiming a newer format is refused, naming the file.
    let newer = temp_dir("summarize-newer");
    for f in ["metrics.jsonl", "summary.json"] {
        std::fs::copy(golden.join(f), newer.join(f)).unwrap();
    }
    let mut s = summary.clone();
    s["format_version"] = serde_json::json!(99);
    std::fs::write(newer.join("summary.json"), s.to_string()).unwrap();
    let out = bin().arg("summarize").arg(&newer).output().unwrap();
    assert!(!out.status.success(), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("summary.json: format_version 99 is newer"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(newer);
}
