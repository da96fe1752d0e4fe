//! The engine's channel protocol, on a small synthetic dataset: controls are applied in order
//! at batch boundaries, acknowledged, recorded in events.jsonl, and take effect.

use std::sync::Arc;
use std::time::{Duration, Instant};

use selftrain::config::{Acceptance, TrainConfig};
use selftrain::data::{ImageSet, ImageShape};
use selftrain::device::{DeviceSpec, resolve};
use selftrain::run::{RunDir, pseudo_csv};
use selftrain::train::Control;
use selftrain::train::engine::{EngineInputs, spawn};
use selftrain::train::events::Update;
use selftrain::train::prepare::PreparedData;
use selftrain::train::pseudo::{PolicySpec, RejectReason};

const SHAPE: ImageShape = ImageShape {
    channels: 1,
    height: 12,
    width: 12,
};

/// Class 0: horizontal bar, 1: vertical bar, 2: diagonal; position jittered by `seed`.
fn synthetic(n_per_class: usize, offset: usize) -> ImageSet {
    let mut set = ImageSet::empty(SHAPE);
    for c in 0..3 {
        for k in 0..n_per_class {
            let mut px = vec![0u8; SHAPE.len()];
            let j = 3 + (k + offset) % 6;
            for t in 0..12 {
                let (y, x) = match c {
                    0 => (j, t),
                    1 => (t, j),
                    _ => (t, (t + j) % 12),
                };
                px[y * 12 + x] = 220;
            }
            set.push(&px, Some(c), format!("c{c}-{k}.png").into());
        }
    }
    set
}

fn prepared() -> Arc<PreparedData> {
    Arc::new(PreparedData {
        classes: vec!["h".into(), "v".into(), "d".into()],
        shape: SHAPE,
        train: synthetic(4, 0),
        val: synthetic(2, 4),
        test: Some(synthetic(5, 1)),
        pool: synthetic(30, 2),
        skipped: Vec::new(),
    })
}

fn next_matching(
    rx: &crossbeam_channel::Receiver<Update>,
    timeout: Duration,
    mut pred: impl FnMut(&Update) -> bool,
) -> Update {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let u = rx
            .recv_timeout(left)
            .expect("expected update did not arrive in time");
        if pred(&u) {
            return u;
        }
    }
}

#[test]
fn controls_are_applied_in_order_acknowledged_and_recorded() {
    let runs = std::env::temp_dir().join(format!("selftrain-engine-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&runs);
    let run_dir = RunDir::create(&runs).unwrap();
    let cfg = TrainConfig {
        warmup_epochs: 200,
        epochs_per_round: 200,
        rounds: 3,
        batch_size: 4,
        threshold: 0.99,
        ..TrainConfig::default()
    };
    let handle = spawn(EngineInputs {
        config: cfg,
        data: prepared(),
        device: resolve(DeviceSpec::Auto).unwrap(),
        run_dir: run_dir.clone(),
    });
    let rx = handle.updates.clone();
    // Wait until training is under way, then pause.
    next_matching(&rx, Duration::from_secs(60), |u| {
        matches!(u, Update::Loss(_))
    });
    handle.controls.send(Control::Pause).unwrap();
    let paused_at = match next_matching(&rx, Duration::from_secs(30), |u| {
        matches!(u, Update::ControlApplied(_))
    }) {
        Update::ControlApplied(a) => {
            assert_eq!(a.control, Control::Pause);
            a.global_step
        }
        _ => unreachable!(),
    };
    // While paused no step is taken; controls are still applied.
    std::thread::sleep(Duration::from_millis(400));
    handle
        .controls
        .send(Control::SetThreshold { value: 0.5 })
        .unwrap();
    handle
        .controls
        .send(Control::SetPseudoWeight { value: 0.25 })
        .unwrap();
    handle
        .controls
        .send(Control::SetThreshold { value: 7.0 })
        .unwrap(); // refused
    handle.controls.send(Control::SaveCheckpoint).unwrap();
    let mut acks = Vec::new();
    while acks.len() < 4 {
        match next_matching(&rx, Duration::from_secs(30), |u| {
            matches!(u, Update::ControlApplied(_) | Update::Loss(_))
        }) {
            Update::ControlApplied(a) => acks.push(a),
            Update::Loss(_) => panic!("a training step ran while paused"),
            _ => unreachable!(),
        }
    }
    assert!(acks.iter().all(|a| a.global_step == paused_at));
    assert_eq!(acks[0].control, Control::SetThreshold { value: 0.5 });
    assert_eq!(acks[1].control, Control::SetPseudoWeight { value: 0.25 });
    assert!(acks[2].error.as_deref().unwrap().contains("threshold"));
    assert_eq!(acks[3].control, Control::SaveCheckpoint);
    next_matching(
        &rx,
        Duration::from_secs(30),
        |u| matches!(u, Update::Checkpoint { reason, .. } if *reason == selftrain::run::CheckpointReason::Requested),
    );
    assert!(run_dir.file("last.bpk").exists());

    handle.controls.send(Control::Resume).unwrap();
    handle.controls.send(Control::Stop).unwrap();
    let summary = match next_matching(&rx, Duration::from_secs(60), |u| {
        matches!(u, Update::Finished(_) | Update::Failed { .. })
    }) {
        Update::Finished(s) => s,
        other => panic!("{other:?}"),
    };
    assert_eq!(summary.stop_reason, selftrain::run::StopReason::Stopped);
    assert_eq!(
        summary.final_threshold, 0.5,
        "the refused value must not apply"
    );
    assert_eq!(summary.final_pseudo_weight, 0.25);
    handle.thread.join().unwrap().unwrap();

    // events.jsonl holds every control, in order, with its step.
    let text = std::fs::read_to_string(run_dir.file("events.jsonl")).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["control"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "pause",
            "set_threshold",
            "set_pseudo_weight",
            "set_threshold",
            "save_checkpoint",
            "resume",
            "stop"
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e["global_step"].as_u64().unwrap() >= paused_at)
    );
    assert!(run_dir.file("summary.json").exists());
    std::fs::remove_dir_all(&runs).unwrap();
}

#[test]
fn threshold_change_takes_effect_at_the_next_round_and_pseudo_labels_are_learned() {
    let runs = std::env::temp_dir().join(format!("selftrain-engine2-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&runs);
    let run_dir = RunDir::create(&runs).unwrap();
    let cfg = TrainConfig {
        warmup_epochs: 30,
        epochs_per_round: 2,
        rounds: 2,
        patience: 0,
        batch_size: 8,
        threshold: 1.0,
        augment_shift: 0,
        pseudo_policy: Acceptance::ClassBalanced,
        ..TrainConfig::default()
    };
    let handle = spawn(EngineInputs {
        config: cfg,
        data: prepared(),
        device: resolve(DeviceSpec::Auto).unwrap(),
        run_dir: run_dir.clone(),
    });
    handle
        .controls
        .send(Control::SetThreshold { value: 0.4 })
        .unwrap();
    let rx = handle.updates.clone();
    let mut policy = None;
    let round = match next_matching(&rx, Duration::from_secs(120), |u| {
        if let Update::Started(info) = u {
            policy = info.policy.clone();
        }
        matches!(u, Update::PseudoLabels(_))
    }) {
        Update::PseudoLabels(p) => p,
        _ => unreachable!(),
    };
    assert_eq!(
        policy,
        Some(PolicySpec::ClassBalanced { balance_slack: 1.5 }),
        "the run announces its policy and parameters"
    );
    assert_eq!(round.threshold, 0.4);
    assert_eq!(round.class_thresholds, vec![0.4; 3]);
    // Every prediction carries the engine's decision: weight 1 when accepted, else a reason.
    for p in round.predictions.iter() {
        if p.accepted {
            assert_eq!((p.weight, p.rejection), (1.0, None), "{p:?}");
        } else {
            assert_eq!(p.weight, 0.0, "{p:?}");
            let expected = if p.confidence() >= 0.4 {
                RejectReason::OverQuota
            } else {
                RejectReason::BelowThreshold
            };
            assert_eq!(p.rejection, Some(expected), "{p:?}");
        }
    }
    assert!(round.accepted > 0, "{round:?}");
    assert_eq!(round.predictions.len(), 90);
    assert!(
        round
            .predictions
            .iter()
            .filter(|p| p.accepted)
            .all(|p| p.confidence() >= 0.4)
    );
    let rejected = round.rejected();
    assert!(
        rejected
            .windows(2)
            .all(|w| w[0].confidence() >= w[1].confidence())
    );
    let summary = handle.thread.join().unwrap().unwrap();
    let best = summary.best_test.expect("test split evaluated");
    assert!(
        best.accuracy > 0.6,
        "synthetic bars should be learnable: {best:?}"
    );
    assert!(run_dir.file("pseudo_labels_round_001.csv").exists());
    // The round's CSV holds the same decisions, with weights and reasons.
    let rows = pseudo_csv::read(&run_dir.file("pseudo_labels_round_001.csv")).unwrap();
    assert_eq!(rows.len(), round.predictions.len());
    for (row, p) in rows.iter().zip(round.predictions.iter()) {
        assert_eq!(row.index, p.index);
        assert_eq!(row.status.is_pseudo_label(), p.accepted);
        assert_eq!((row.weight, row.reason), (p.weight, p.rejection));
    }
    std::fs::remove_dir_all(&runs).unwrap();
}

/// A run of `pool` unlabelled and `test` test images per class, one warm-up epoch and one round.
fn short_run(
    name: &str,
    pool: usize,
    test: usize,
) -> (RunDir, selftrain::train::engine::EngineHandle) {
    let runs = std::env::temp_dir().join(format!("selftrain-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&runs);
    let run_dir = RunDir::create(&runs).unwrap();
    let data = PreparedData {
        pool: synthetic(pool, 2),
        test: Some(synthetic(test, 1)),
        ..Arc::unwrap_or_clone(prepared())
    };
    let cfg = TrainConfig {
        warmup_epochs: 1,
        epochs_per_round: 1,
        rounds: 1,
        batch_size: 4,
        threshold: 0.0,
        ..TrainConfig::default()
    };
    let handle = spawn(EngineInputs {
        config: cfg,
        data: Arc::new(data),
        device: resolve(DeviceSpec::Auto).unwrap(),
        run_dir: run_dir.clone(),
    });
    (run_dir, handle)
}

#[test]
fn a_stop_during_pool_prediction_stops_before_the_round_trains() {
    // A pool of 12 000 images: many prediction batches.
    let (run_dir, handle) = short_run("stop-predicting", 4000, 2);
    let rx = handle.updates.clone();
    next_matching(
        &rx,
        Duration::from_secs(120),
        |u| matches!(u, Update::Progress(p) if p.phase == selftrain::train::events::Phase::Predicting),
    );
    handle.controls.send(Control::Stop).unwrap();
    let mut pseudo_rounds = 0;
    for u in rx.iter() {
        if matches!(u, Update::PseudoLabels(_)) {
            pseudo_rounds += 1;
        }
    }
    let summary = handle.thread.join().unwrap().unwrap();
    assert_eq!(summary.stop_reason, selftrain::run::StopReason::Stopped);
    assert_eq!(pseudo_rounds, 0, "the pool prediction was cut short");
    assert_eq!(summary.rounds_completed, 0);
    let resume = selftrain::train::engine::ResumeState::load(&run_dir).unwrap();
    assert_eq!(
        resume.run.position,
        selftrain::train::engine::Position::RoundStart { round: 1 }
    );
    let _ = std::fs::remove_dir_all(run_dir.path().parent().unwrap());
}

#[test]
fn a_stop_during_the_final_evaluation_still_ends_as_stopped() {
    // 6 000 test images: the final evaluations take many batches, after the last training batch.
    let (run_dir, handle) = short_run("stop-final", 5, 2000);
    let rx = handle.updates.clone();
    next_matching(&rx, Duration::from_secs(120), |u| {
        matches!(u, Update::RoundFinished { round: 1, .. })
    });
    handle.controls.send(Control::Stop).unwrap();
    for _ in rx.iter() {}
    let summary = handle.thread.join().unwrap().unwrap();
    assert_eq!(summary.rounds_completed, 1, "every batch had run");
    assert_eq!(summary.stop_reason, selftrain::run::StopReason::Stopped);
    let _ = std::fs::remove_dir_all(run_dir.path().parent().unwrap());
}
