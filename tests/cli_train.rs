//! The real binary, headless, on the shipped sample data.

mod common;

use common::*;

#[test]
fn headless_run_self_trains_and_writes_a_complete_run_directory() {
    let runs = temp_dir("train");
    let mut args = small_budget(&runs);
    args.extend(["--json".to_string()]);
    let out = bin().args(&args).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let run = only_run_dir(&runs);

    // --json streams updates on stdout, one object per line.
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let streamed: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(streamed.first().unwrap()["type"], "started");
    assert_eq!(streamed.last().unwrap()["type"], "finished");

    for f in [
        "config.toml",
        "model.json",
        "metrics.jsonl",
        "events.jsonl",
        "summary.json",
        "best.bpk",
        "last.bpk",
    ] {
        assert!(run.join(f).exists(), "{f} missing in {}", run.display());
    }
    let metrics = read_jsonl(&run.join("metrics.jsonl"));
    let of = |t: &'static str| metrics.iter().filter(move |m| m["type"] == t);
    assert_eq!(of("started").count(), 1);
    assert!(of("loss").count() > 10);
    let rounds: Vec<_> = of("pseudo_labels").collect();
    assert_eq!(rounds.len(), 2, "two rounds were asked for");
    for r in &rounds {
        assert!(r["accepted"].as_u64().unwrap() > 0, "{r}");
        let acc = r["accepted_accuracy"]
            .as_f64()
            .expect("sample data has hidden truth");
        assert!(
            acc > 0.5,
            "accepted pseudo-labels should be mostly right: {r}"
        );
        let per_class: u64 = r["accepted_per_class"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(per_class, r["accepted"].as_u64().unwrap());
    }
    let evals: Vec<_> = of("evaluation").collect();
    assert!(evals.iter().any(|e| e["split"] == "validation"));
    let test_evals: Vec<_> = evals.iter().filter(|e| e["split"] == "test").collect();
    assert_eq!(test_evals.len(), 3, "baseline + one per round");
    let cm = &test_evals[0]["report"]["confusion"]["counts"];
    let total: u64 = cm
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, 500, "the whole test split is evaluated");
    assert_eq!(of("finished").count(), 1);

    let summary = read_json(&run.join("summary.json"));
    assert_eq!(summary["stop_reason"], "max_rounds");
    assert_eq!(summary["rounds_completed"], 2);
    let best = summary["best_test"]["accuracy"].as_f64().unwrap();
    assert!(
        best > 0.5,
        "10-class accuracy should be far above chance: {summary}"
    );
    assert!(summary["baseline_test"]["accuracy"].as_f64().unwrap() > 0.4);
    assert_eq!(
        summary["device"], streamed[0]["device"],
        "summary names the device"
    );
    assert!(!summary["device"].as_str().unwrap().is_empty());

    // One pseudo-label CSV per round, one row per unlabelled image.
    let csv = std::fs::read_to_string(run.join("pseudo_labels_round_001.csv")).unwrap();
    assert!(csv.starts_with(
        "index,file,predicted,confidence,runner_up,runner_up_confidence,truth,status"
    ));
    assert_eq!(csv.lines().count(), 1 + 2000);
    assert!(csv.contains(",accepted,") && csv.contains(",rejected,"));

    // The saved config is the effective one and reloads.
    let cfg = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(cfg.contains("rounds = 2"), "{cfg}");
    selftrain::config::TrainConfig::from_toml_str(&cfg).unwrap();

    // predict with the trained model
    let img = sample_data().join("test");
    let class_dir = std::fs::read_dir(&img)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let file = std::fs::read_dir(&class_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let out = bin()
        .args([
            "predict",
            "--model",
            run.to_str().unwrap(),
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "file,class,confidence");
    assert_eq!(lines.len(), 2);
    let conf: f32 = lines[1].rsplit(',').next().unwrap().parse().unwrap();
    assert!((0.0..=1.0).contains(&conf));
    std::fs::remove_dir_all(&runs).unwrap();
}

#[test]
fn same_seed_and_config_give_the_same_numbers() {
    let runs = temp_dir("determinism");
    let data = sample_data();
    let args = [
        "train",
        "--headless",
        "--data",
        data.to_str().unwrap(),
        "--runs-dir",
        runs.to_str().unwrap(),
        "--warmup-epochs",
        "4",
        "--epochs-per-round",
        "1",
        "--rounds",
        "1",
        "--seed",
        "7",
    ];
    for _ in 0..2 {
        let out = bin().args(args).output().unwrap();
        assert!(out.status.success(), "{}", describe(&out));
    }
    let mut dirs: Vec<_> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 2);
    let numbers = |d: &std::path::Path| -> Vec<serde_json::Value> {
        read_jsonl(&d.join("metrics.jsonl"))
            .into_iter()
            .filter(|m| {
                m["type"] == "loss" || m["type"] == "evaluation" || m["type"] == "pseudo_labels"
            })
            .map(|mut m| {
                m.as_object_mut().unwrap().remove("elapsed_secs");
                m
            })
            .collect()
    };
    let (a, b) = (numbers(&dirs[0]), numbers(&dirs[1]));
    assert!(!a.is_empty());
    assert_eq!(a, b);
    std::fs::remove_dir_all(&runs).unwrap();
}

#[test]
fn missing_data_root_is_a_clear_error() {
    let runs = temp_dir("missing-root");
    let out = bin()
        .args([
            "train",
            "--headless",
            "--data",
            "/nonexistent/selftrain-data",
            "--runs-dir",
            runs.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/selftrain-data"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    std::fs::remove_dir_all(&runs).unwrap();
}

#[test]
fn bad_config_values_name_the_field() {
    let dir = temp_dir("bad-config");
    let cfg = dir.join("bad.toml");
    std::fs::write(&cfg, "threshold = 1.7\n").unwrap();
    let out = bin()
        .args(["train", "--headless", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("threshold") && err.contains("[0, 1]"), "{err}");

    let out = bin()
        .args(["train", "--headless", "--batch-size", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("batch_size"));

    let out = bin()
        .args(["train", "--headless", "--device", "tpu"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("tpu"));

    std::fs::write(&cfg, "rounds = \"many\"\n").unwrap();
    let out = bin()
        .args(["train", "--headless", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml") && err.contains("rounds"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sigint_stops_after_a_checkpoint_with_a_distinct_exit_code() {
    let runs = temp_dir("sigint");
    let mut args = small_budget(&runs);
    let i = args.iter().position(|a| a == "--warmup-epochs").unwrap();
    args[i + 1] = "400".to_string();
    let child = bin()
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for training to be under way.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let started = std::fs::read_dir(&runs)
            .ok()
            .and_then(|mut d| d.next())
            .map(|e| e.unwrap().path().join("metrics.jsonl"))
            .and_then(|p| std::fs::read_to_string(p).ok())
            .is_some_and(|t| t.contains("\"type\":\"loss\""));
        if started {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "training did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", describe(&out));
    let run = only_run_dir(&runs);
    let events = read_jsonl(&run.join("events.jsonl"));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["control"]["kind"], "stop");
    let summary = read_json(&run.join("summary.json"));
    assert_eq!(summary["stop_reason"], "stopped");
    assert!(run.join("last.bpk").exists());
    std::fs::remove_dir_all(&runs).unwrap();
}
