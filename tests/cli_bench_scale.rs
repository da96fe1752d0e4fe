//! The real binary's `bench-scale` on the shipped sample data and on bad input.

mod common;

use std::path::Path;

use common::*;

/// Writes a tiny MNIST-style IDX pair (`n` images of `side`×`side`, labels cycling over 3
/// classes) as `{prefix}-images-idx3-ubyte` and `{prefix}-labels-idx1-ubyte`.
fn write_idx_pair(dir: &Path, prefix: &str, n: u32, side: u32) {
    let mut images = 0x803u32.to_be_bytes().to_vec();
    for d in [n, side, side] {
        images.extend_from_slice(&d.to_be_bytes());
    }
    images.extend((0..n * side * side).map(|i| (i % 251) as u8));
    let mut labels = 0x801u32.to_be_bytes().to_vec();
    labels.extend_from_slice(&n.to_be_bytes());
    labels.extend((0..n).map(|i| (i % 3) as u8));
    std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), images).unwrap();
    std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), labels).unwrap();
}

fn positive(v: &serde_json::Value, what: &str) -> f64 {
    let x = v
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {v}"));
    assert!(x.is_finite() && x > 0.0, "{what} should be positive: {x}");
    x
}

#[test]
fn bench_scale_reports_every_figure_as_json() {
    let dir = temp_dir("bench-scale");
    let idx = dir.join("idx");
    std::fs::create_dir_all(&idx).unwrap();
    write_idx_pair(&idx, "train", 30, 8);
    write_idx_pair(&idx, "t10k", 9, 8);
    let out_file = dir.join("report.json");
    let child = bin()
        .args([
            "bench-scale",
            "--data",
            sample_data().to_str().unwrap(),
            "--pool-sizes",
            "500,1000,5000",
            "--train-steps",
            "2",
            "--device",
            "flex",
            "--idx-dir",
            idx.to_str().unwrap(),
            "--out",
            out_file.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object: {e}\n{}", describe(&out)));
    assert_eq!(read_json(&out_file), v, "--out holds the same report");

    // Data and decode.
    assert_eq!(v["device"], "flex");
    assert_eq!(v["shape"], serde_json::json!([1, 28, 28]));
    assert_eq!(v["classes"], 10);
    let images = &v["images"];
    assert_eq!(images["train"], 100);
    assert_eq!(images["unlabeled"], 2000);
    assert_eq!(images["test"], 500);
    assert_eq!(images["total"], 2600);
    assert_eq!(v["decode"]["images"], 2600);
    positive(&v["decode"]["secs"], "decode secs");
    positive(&v["decode"]["images_per_sec"], "decode images/s");
    assert!(v["rayon_threads"].as_u64().unwrap() >= 1);

    // Import of the tiny IDX files (30 train + 9 test) into a temporary folder.
    assert_eq!(v["import"]["images"], 39);
    positive(&v["import"]["images_per_sec"], "import images/s");

    // Training: full batches of 64.
    let train = &v["train"];
    assert_eq!(train["steps"], 2);
    assert_eq!(train["batch_size"], 64);
    assert_eq!(train["images"], 128);
    positive(&train["images_per_sec"], "training images/s");
    positive(&train["ms_per_step"], "ms per step");

    // One pass row per requested size, capped at the pool (2000).
    let passes = v["passes"].as_array().unwrap();
    let sizes: Vec<(u64, u64)> = passes
        .iter()
        .map(|r| {
            (
                r["requested"].as_u64().unwrap(),
                r["images"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(sizes, vec![(500, 500), (1000, 1000), (5000, 2000)]);
    for r in passes {
        positive(&r["secs"], "pass secs");
        positive(&r["images_per_sec"], "pass images/s");
        positive(&r["us_per_image"], "µs per image");
        assert!(r["predict_secs"].as_f64().unwrap() <= r["secs"].as_f64().unwrap());
        assert!(r["accepted"].as_u64().unwrap() <= r["images"].as_u64().unwrap());
    }
    assert_eq!(v["largest_pass_images"], 2000);
    positive(&v["pass_secs"], "pass secs");
    positive(&v["inference_images_per_sec"], "inference images/s");
    assert_eq!(v["inference_batch_size"], 256);
    let scaling = &v["scaling"];
    assert_eq!(scaling["smallest_images"], 500);
    assert_eq!(scaling["largest_images"], 2000);
    positive(&scaling["per_image_cost_ratio"], "per-image cost ratio");
    positive(&scaling["fit_us_per_image"], "fitted µs per image");
    let r2 = scaling["fit_r_squared"].as_f64().unwrap();
    assert!((0.0..=1.0 + 1e-9).contains(&r2), "{r2}");

    // Memory, against figures known without the formula: the sample data is 2600 grey 28×28
    // images (2,038,400 bytes decoded); the default CNN for 1×28×28 inputs and 10 classes has
    // 421,930 parameters (1,687,720 bytes as f32, the figure of the recorded MNIST run in
    // bench/scale-mnist-2026-11-28.json); the README's goal for them is 7,802,920 bytes
    // (7.4 MiB). A process that has decoded, trained and predicted peaks well above that, so on
    // data this small the goal is reported as not met.
    let m = &v["memory"];
    assert_eq!(m["decoded_bytes"], 2_038_400);
    assert_eq!(m["model_param_bytes"], 1_687_720);
    assert_eq!(m["goal_bytes"], 7_802_920);
    let peak = positive(&m["peak_rss_bytes"], "peak RSS");
    assert!(peak > 7_802_920.0, "{m}");
    assert_eq!(m["within_goal"], false, "{m}");
    let after_decode = positive(&m["peak_rss_after_decode_bytes"], "peak after decode");
    let after_train = positive(&m["peak_rss_after_train_bytes"], "peak after training");
    assert!(after_decode <= after_train && after_train <= peak, "{m}");
    let mib = m["peak_rss_mib"].as_f64().unwrap();
    assert!((mib * 1024.0 * 1024.0 - peak).abs() < 1.0, "{m}");
    let over = m["peak_over_decoded"].as_f64().unwrap();
    assert!((over * 2_038_400.0 - peak).abs() < 1.0, "{m}");

    // Progress went to stderr; the temporary import folder is gone.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rayon threads"), "{stderr}");
    let pid_prefix = format!("selftrain-bench-import-{pid}-");
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(&pid_prefix))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bench_scale_names_a_missing_data_root() {
    let dir = temp_dir("bench-scale-missing");
    let missing = dir.join("no-such-root");
    let out = bin()
        .args([
            "bench-scale",
            "--data",
            missing.to_str().unwrap(),
            "--pool-sizes",
            "10",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(out.stdout.is_empty(), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(missing.to_str().unwrap()) && stderr.contains("does not exist"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bench_scale_refuses_bad_sizes_and_a_bad_idx_dir() {
    let out = bin()
        .args([
            "bench-scale",
            "--data",
            sample_data().to_str().unwrap(),
            "--pool-sizes",
            "100,0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--pool-sizes"),
        "{}",
        describe(&out)
    );

    let dir = temp_dir("bench-scale-bad-idx");
    let out = bin()
        .args([
            "bench-scale",
            "--data",
            sample_data().to_str().unwrap(),
            "--pool-sizes",
            "50",
            "--train-steps",
            "1",
            "--idx-dir",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(dir.to_str().unwrap()) && stderr.contains("train-images-idx3-ubyte"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
