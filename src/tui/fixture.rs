//! A recorded, deterministic run for tests: hand-made updates (no clock, no randomness beyond a
//! fixed-seed generator) and a synthetic pool of 28×28 grey images.

use std::sync::Arc;

use crate::data::{ImageSet, ImageShape};
use crate::metrics::{ConfusionMatrix, Histogram};
use crate::run::{CheckpointReason, StopReason};
use crate::train::Control;
use crate::train::events::{
    AppliedControl, Evaluation, LossPoint, Phase, PoolPrediction, Progress, PseudoRound, RunInfo,
    RunSummary, Split, Update,
};
use crate::train::prepare::PreparedData;
use crate::train::pseudo::HISTOGRAM_BINS;
use crate::tui::app::{App, Mode};
use crate::tui::images::PoolImages;

/// Class names (Fashion-MNIST folders).
pub const CLASSES: [&str; 10] = [
    "0-tshirt-top",
    "1-trouser",
    "2-pullover",
    "3-dress",
    "4-coat",
    "5-sandal",
    "6-shirt",
    "7-sneaker",
    "8-bag",
    "9-ankle-boot",
];
/// Unlabelled pool size.
pub const POOL: usize = 200;
const SHAPE: ImageShape = ImageShape {
    channels: 1,
    height: 28,
    width: 28,
};
/// The class each class is most confused with.
const CONFUSER: [usize; 10] = [6, 3, 4, 0, 2, 7, 0, 9, 2, 7];

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Pool images: a class-dependent pattern (bars, blocks, rings) with a little texture.
pub fn data() -> Arc<PreparedData> {
    let mut pool = ImageSet::empty(SHAPE);
    for i in 0..POOL {
        let c = i % 10;
        let mut px = vec![0u8; SHAPE.len()];
        for y in 0..28 {
            for x in 0..28 {
                let (dx, dy) = (x as i32 - 14, y as i32 - 14);
                let r2 = dx * dx + dy * dy;
                let on = match c {
                    0 | 2 | 4 | 6 => (4..24).contains(&y) && (6 + c..22 - c / 2).contains(&x),
                    1 => (4..26).contains(&y) && ((7..12).contains(&x) || (16..21).contains(&x)),
                    3 => (3..26).contains(&y) && (x as i32 - 14).abs() <= (y as i32) / 3 + 2,
                    5 | 7 | 9 => {
                        (16..24).contains(&y) && (3..25).contains(&x) && (y + x) % (c - 3) != 0
                    }
                    _ => (60..150).contains(&r2),
                };
                if on {
                    px[y * 28 + x] = (120 + (x * 5 + y * 3 + i) % 130) as u8;
                }
            }
        }
        pool.push(
            &px,
            Some(c),
            format!("unlabeled/{}/{i:05}.png", CLASSES[c]).into(),
        );
    }
    Arc::new(PreparedData {
        classes: CLASSES.iter().map(|s| s.to_string()).collect(),
        shape: SHAPE,
        train: ImageSet::empty(SHAPE),
        val: ImageSet::empty(SHAPE),
        test: None,
        pool,
        skipped: Vec::new(),
    })
}

fn confusion(n_per_class: u64, accuracy: f64, salt: u64) -> ConfusionMatrix {
    let mut m = ConfusionMatrix::new(10);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ salt);
    for (t, &confuser) in CONFUSER.iter().enumerate() {
        let hard = if matches!(t, 6 | 2 | 4 | 0) {
            0.15
        } else {
            0.0
        };
        let acc = (accuracy - hard + 0.1 * (rng.next() - 0.5)).clamp(0.0, 1.0);
        let correct = (acc * n_per_class as f64).round() as u64;
        m.counts[t][t] = correct;
        let wrong = n_per_class - correct;
        let main = wrong * 2 / 3;
        m.counts[t][confuser] += main;
        let other = (t + 1 + (rng.next() * 8.0) as usize) % 10;
        let other = if other == t { (t + 1) % 10 } else { other };
        m.counts[t][other] += wrong - main;
    }
    m
}

fn evaluation(split: Split, round: usize, epoch: usize, step: u64, acc: f64) -> Update {
    let n = if split == Split::Validation { 10 } else { 50 };
    let m = confusion(n, acc, step * 31 + round as u64);
    let loss = 2.0 * (1.0 - m.accuracy()) + 0.2;
    Update::Evaluation(Evaluation {
        global_step: step,
        round,
        epoch,
        split,
        report: crate::metrics::EvalReport {
            ece: Some(0.02 + 0.2 * (1.0 - m.accuracy())),
            ..m.report(loss)
        },
    })
}

fn predictions(round: usize) -> Vec<PoolPrediction> {
    let mut rng = Rng(1234 + round as u64);
    (0..POOL)
        .map(|i| {
            let truth = i % 10;
            let right = rng.next() < 0.8 + 0.05 * round as f64;
            let predicted = if right { truth } else { CONFUSER[truth] };
            let conf = (0.35 + 0.65 * rng.next().powf(0.45 - 0.05 * round as f64)) as f32;
            let second = if predicted == truth {
                CONFUSER[truth]
            } else {
                truth
            };
            let third = (second + 3) % 10;
            let third = if third == predicted {
                (third + 1) % 10
            } else {
                third
            };
            let rest = 1.0 - conf;
            let p2 = (rest * 0.7 * 1000.0).round() / 1000.0;
            let p3 = (rest * 0.2 * 1000.0).round() / 1000.0;
            PoolPrediction {
                index: i,
                top: vec![(predicted, conf), (second, p2), (third, p3)],
                truth: Some(truth),
                accepted: false,
                weight: 0.0,
                rejection: None,
                probs: Vec::new(),
                uncertainty: None,
                outlier: None,
            }
        })
        .collect()
}

fn pseudo_round(round: usize, threshold: f32, previous: Option<&[PoolPrediction]>) -> PseudoRound {
    let mut preds = predictions(round);
    let mut per_class = vec![0; 10];
    let mut hist_accepted = Histogram::new(HISTOGRAM_BINS);
    let mut hist_rejected = Histogram::new(HISTOGRAM_BINS);
    let (mut correct, mut accepted) = (0, 0);
    for p in preds.iter_mut() {
        p.accepted = p.confidence() >= threshold;
        p.weight = if p.accepted { 1.0 } else { 0.0 };
        if p.accepted {
            accepted += 1;
            per_class[p.predicted()] += 1;
            hist_accepted.add(p.confidence());
            correct += usize::from(p.truth == Some(p.predicted()));
        } else {
            hist_rejected.add(p.confidence());
        }
    }
    let (newly, dropped) = match previous {
        None => (accepted, 0),
        Some(prev) => (
            preds
                .iter()
                .zip(prev)
                .filter(|(a, b)| a.accepted && !b.accepted)
                .count(),
            preds
                .iter()
                .zip(prev)
                .filter(|(a, b)| !a.accepted && b.accepted)
                .count(),
        ),
    };
    PseudoRound {
        round,
        threshold,
        pseudo_weight: 1.0,
        pool_size: POOL,
        accepted,
        newly_accepted: newly,
        dropped,
        accepted_per_class: per_class,
        hist_accepted,
        hist_rejected,
        accepted_accuracy: (accepted > 0).then(|| correct as f64 / accepted as f64),
        class_thresholds: vec![threshold; 10],
        effective: Some(accepted as f32),
        rejected_uncertain: 0,
        rejected_outlier: 0,
        predictions: Arc::new(preds),
    }
}

fn applied(control: Control, step: u64, round: usize, epoch: usize) -> Update {
    Update::ControlApplied(AppliedControl {
        control,
        global_step: step,
        round,
        epoch,
        time: "2025-01-01T00:00:00+00:00".into(),
        error: None,
    })
}

/// The run facts of the fixture.
pub fn info() -> RunInfo {
    RunInfo {
        run_dir: "runs/20250101-000000".into(),
        device: "flex".into(),
        classes: CLASSES.iter().map(|s| s.to_string()).collect(),
        labeled: 80,
        validation: 100,
        test: 500,
        unlabeled: POOL,
        labeled_per_class: vec![8, 8, 8, 8, 8, 8, 8, 8, 8, 8],
        pool_has_truth: true,
        rounds: 5,
        threshold: 0.9,
        pseudo_weight: 1.0,
        resumed_at_step: None,
        policy: Some(crate::train::pseudo::PolicySpec::Threshold),
        outlier_filter: 0.0,
    }
}

/// A summary with this stop reason.
pub fn summary(reason: StopReason) -> RunSummary {
    let test = confusion(50, 0.8, 99).report(0.6);
    RunSummary {
        stop_reason: reason,
        device: "flex".into(),
        rounds_completed: 2,
        global_steps: 240,
        wall_secs: 120.0,
        best_round: 1,
        best_val_accuracy: 0.82,
        baseline_test: Some(confusion(50, 0.74, 98).report(0.8)),
        best_test: Some(test.clone()),
        last_test: Some(test),
        last_accepted: 90,
        last_accepted_accuracy: Some(0.93),
        final_threshold: 0.9,
        final_pseudo_weight: 0.8,
        skipped_images: 0,
        time_breakdown: None,
        format_version: crate::run::FORMAT_VERSION,
    }
}

/// Every update of the recorded run, in order: warm-up (10 epochs × 12 steps), round 1
/// (3 epochs × 20 steps) and round 2 in its third epoch.
pub fn updates() -> Vec<Update> {
    let mut out = vec![Update::Started(info())];
    let mut rng = Rng(42);
    let mut step = 0u64;
    let loss = |step: u64, round: usize, weight: f64, rng: &mut Rng| {
        let t = step as f64;
        let supervised = 2.1 * (-t / 45.0).exp() + 0.25 + 0.12 * (rng.next() - 0.5);
        let pseudo =
            (round > 0).then(|| 0.6 * (-(t - 120.0) / 60.0).exp() + 0.15 + 0.08 * rng.next());
        Update::Loss(LossPoint {
            global_step: step,
            round,
            supervised,
            pseudo,
            total: supervised + weight * pseudo.unwrap_or(0.0),
        })
    };
    for epoch in 1..=10 {
        for _ in 0..12 {
            step += 1;
            out.push(loss(step, 0, 0.0, &mut rng));
        }
        let acc = 0.78 - 0.5 * (-(epoch as f64) / 3.0).exp();
        out.push(evaluation(Split::Validation, 0, epoch, step, acc));
    }
    out.push(evaluation(Split::Test, 0, 10, step, 0.74));
    let r1 = pseudo_round(1, 0.9, None);
    let prev = r1.predictions.clone();
    out.push(Update::PseudoLabels(r1));
    for epoch in 1..=3 {
        for s in 0..20 {
            step += 1;
            out.push(loss(step, 1, 0.5, &mut rng));
            if epoch == 2 && s == 5 {
                out.push(applied(Control::SetPseudoWeight { value: 0.8 }, step, 1, 2));
                out.push(applied(
                    Control::AcceptSample { index: 7, class: 7 },
                    step,
                    1,
                    2,
                ));
                out.push(applied(Control::ExcludeSample { index: 13 }, step, 1, 2));
                out.push(applied(Control::SaveCheckpoint, step, 1, 2));
                out.push(Update::Checkpoint {
                    path: "runs/20250101-000000/last.bpk".into(),
                    reason: CheckpointReason::Requested,
                    global_step: step,
                });
            }
        }
        out.push(evaluation(
            Split::Validation,
            1,
            epoch,
            step,
            0.8 + 0.01 * epoch as f64,
        ));
    }
    out.push(evaluation(Split::Test, 1, 3, step, 0.79));
    out.push(Update::RoundFinished {
        round: 1,
        val_accuracy: 0.83,
        improved: true,
    });
    let r2 = pseudo_round(2, 0.9, Some(&prev));
    out.push(Update::PseudoLabels(r2));
    out.push(Update::Warning {
        message: "round 2: pseudo-labels collapsing: 4/10 classes accepted, `7-sneaker` takes 52%"
            .into(),
    });
    for epoch in 1..=3 {
        let steps = if epoch == 3 { 7 } else { 20 };
        for _ in 0..steps {
            step += 1;
            out.push(loss(step, 2, 0.8, &mut rng));
        }
        if epoch < 3 {
            out.push(evaluation(
                Split::Validation,
                2,
                epoch,
                step,
                0.835 - 0.01 * epoch as f64,
            ));
        }
    }
    let planned = 10 + 5 * 3;
    out.push(Update::Progress(Progress {
        phase: Phase::Training,
        round: 2,
        total_rounds: 5,
        epoch: 3,
        total_epochs: 3,
        step: 7,
        total_steps: 20,
        global_step: step,
        images_per_sec: 1234.5,
        elapsed_secs: 95.0,
        fraction_done: (10.0 + 3.0 + 2.0 + 7.0 / 20.0) / planned as f64,
    }));
    out
}

/// The live dashboard state after every update of [`updates`], with the pool images.
pub fn live_app() -> App {
    let mut app = App::new(Mode::Live);
    app.set_images(PoolImages::live(data()));
    for u in updates() {
        app.on_update(u);
    }
    app
}

/// The same state in read-only mode (as `selftrain view` shows it), images not loadable.
pub fn read_only_app() -> App {
    let mut app = App::new(Mode::ReadOnly);
    app.source = Some("runs/20250101-000000".into());
    for u in updates() {
        // metrics.jsonl does not hold the predictions: they come from the round's CSV.
        let u = match u {
            Update::PseudoLabels(mut p) => {
                p.predictions = Arc::new(Vec::new());
                Update::PseudoLabels(p)
            }
            other => other,
        };
        app.on_update(u);
    }
    let last = match updates().into_iter().rev().find_map(|u| match u {
        Update::PseudoLabels(p) => Some(p),
        _ => None,
    }) {
        Some(p) => p,
        None => unreachable!(),
    };
    let samples = last
        .predictions
        .iter()
        .map(|p| crate::tui::samples::SampleInfo {
            file: format!(
                "unlabeled/{}/{:05}.png",
                CLASSES[p.truth.unwrap_or(0)],
                p.index
            ),
            status: if p.accepted {
                crate::tui::samples::SampleStatus::Accepted
            } else {
                crate::tui::samples::SampleStatus::Rejected
            },
        })
        .collect();
    app.set_predictions(last.round, last.predictions.clone(), samples);
    app.image_note = Some("images not shown: data root sample-data not found".into());
    app
}
