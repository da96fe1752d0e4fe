//! Crash safety: a stopped or killed run resumes from its last checkpoint and reaches the same
//! final numbers as an uninterrupted run.
//!
//! The runs train on a tiny generated dataset (3 classes of 8×8 grey images: 4 labelled, 4
//! unlabelled and 2 test images each) in one-batch epochs, a checkpoint after each: a run takes
//! a few seconds, most of them in round 1, where the interruptions land.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;
use image::{GrayImage, Luma};

/// The tiny dataset under `root/data`: `train/`, `unlabeled/` and `test/`, one folder per class.
fn tiny_dataset(root: &Path) -> PathBuf {
    let data = root.join("data");
    for (c, class) in ["a", "b", "c"].iter().enumerate() {
        for (split, n, first) in [("train", 4, 0), ("unlabeled", 4, 4), ("test", 2, 8)] {
            let dir = data.join(split).join(class);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..n {
                let seed = (c * 10 + first + i) as u32;
                // Class c is a bright band at rows 3c..3c+3 over a faint per-image texture.
                GrayImage::from_fn(8, 8, |x, y| {
                    let band = y / 3 == c as u32;
                    let texture = (x * 37 + y * 11 + seed * 53) % 64;
                    Luma([if band {
                        192 + texture as u8
                    } else {
                        texture as u8
                    }])
                })
                .save(dir.join(format!("{i}.png")))
                .unwrap();
            }
        }
    }
    data
}

fn run_args(data: &Path, runs: &Path) -> Vec<String> {
    [
        "train",
        "--headless",
        "--data",
        data.to_str().unwrap(),
        "--runs-dir",
        runs.to_str().unwrap(),
        "--warmup-epochs",
        "10",
        "--epochs-per-round",
        "40",
        "--rounds",
        "1",
        "--patience",
        "0",
        "--seed",
        "3",
        "--threshold",
        "0.4",
        "--checkpoint-every-secs",
        "0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Waits until the run's metrics.jsonl holds `needle` (and a run directory exists).
fn wait_for(runs: &Path, needle: &str, child: &mut Child) -> std::path::PathBuf {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(dir) = std::fs::read_dir(runs)
            .ok()
            .and_then(|mut d| d.next())
            .map(|e| e.unwrap().path())
            && std::fs::read_to_string(dir.join("metrics.jsonl")).is_ok_and(|t| t.contains(needle))
        {
            return dir;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "run ended before `{needle}` appeared"
        );
        assert!(Instant::now() < deadline, "`{needle}` did not appear");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn final_numbers(run: &Path) -> serde_json::Value {
    let s = read_json(&run.join("summary.json"));
    serde_json::json!({
        "stop_reason": s["stop_reason"],
        "global_steps": s["global_steps"],
        "rounds": s["rounds_completed"],
        "best_round": s["best_round"],
        "best_test": s["best_test"],
        "last_test": s["last_test"],
        "baseline_test": s["baseline_test"],
        "last_accepted": s["last_accepted"],
    })
}

fn resume(run: &Path) {
    let out = bin()
        .args(["train", "--resume", run.to_str().unwrap(), "--headless"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
}

#[test]
fn stopped_and_killed_runs_resume_to_the_same_numbers_as_an_uninterrupted_run() {
    let root = temp_dir("resume");
    let data = tiny_dataset(&root);

    // Uninterrupted reference.
    let reference = root.join("reference");
    let out = bin().args(run_args(&data, &reference)).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let expected = final_numbers(&only_run_dir(&reference));
    assert_eq!(expected["stop_reason"], "max_rounds");

    // SIGINT in the middle of round 1: checkpoint at the batch boundary, exit 130, resume.
    let stopped = root.join("stopped");
    let mut child = bin()
        .args(run_args(&data, &stopped))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let run = wait_for(&stopped, "\"type\":\"pseudo_labels\"", &mut child);
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let state = read_json(&run.join("resume.json"));
    assert_ne!(state["position"]["at"], "done");
    resume(&run);
    assert_eq!(final_numbers(&run), expected);
    let events = read_jsonl(&run.join("events.jsonl"));
    assert_eq!(events.len(), 1, "the stop is recorded once: {events:?}");
    let metrics = read_jsonl(&run.join("metrics.jsonl"));
    let started: Vec<_> = metrics.iter().filter(|m| m["type"] == "started").collect();
    assert_eq!(started.len(), 2);
    assert_eq!(started[1]["resumed_at_step"], state["global_step"]);

    // kill -9 mid-epoch: the run directory stays valid and nothing before the last checkpoint is lost.
    let killed = root.join("killed");
    let mut child = bin()
        .args(run_args(&data, &killed))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let run = wait_for(&killed, "\"round\":1,\"supervised\"", &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    let state = read_json(&run.join("resume.json"));
    let metrics_len = state["metrics_len"].as_u64().unwrap() as usize;
    let before = std::fs::read(run.join("metrics.jsonl")).unwrap();
    assert!(before.len() >= metrics_len);
    assert!(run.join(state["model_file"].as_str().unwrap()).exists());
    assert!(run.join(state["optimizer_file"].as_str().unwrap()).exists());
    // Every complete line is valid JSON even after the kill (a torn last line is tolerated).
    selftrain::run::read_jsonl(&run.join("metrics.jsonl")).unwrap();
    resume(&run);
    let after = std::fs::read(run.join("metrics.jsonl")).unwrap();
    assert_eq!(
        &after[..metrics_len],
        &before[..metrics_len],
        "records before the checkpoint were changed"
    );
    assert_eq!(final_numbers(&run), expected);
    let checkpoints: Vec<_> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("ckpt-"))
        .collect();
    assert_eq!(
        checkpoints.len(),
        2,
        "one model + one optimizer file: {checkpoints:?}"
    );

    // A finished run has nothing to resume.
    let out = bin()
        .args(["train", "--resume", run.to_str().unwrap(), "--headless"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already finished"));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn resume_refuses_other_training_flags_and_missing_checkpoints() {
    let dir = temp_dir("resume-flags");
    let out = bin()
        .args([
            "train",
            "--resume",
            dir.to_str().unwrap(),
            "--rounds",
            "3",
            "--headless",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--resume"));
    let out = bin()
        .args(["train", "--resume", dir.to_str().unwrap(), "--headless"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("config.toml"),
        "{}",
        describe(&out)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
