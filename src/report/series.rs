//! Plotted series and tables derived from a run's metrics: loss and accuracy curves over
//! optimizer steps, round boundaries, pseudo-label acceptance per round and the confusion
//! matrix to show. Pure functions of [`RunMetrics`].

use crate::metrics::EvalReport;
use crate::train::events::{RunSummary, Split};

use super::RunMetrics;

/// A point of a plotted series: (x, y).
pub type Point = (f64, f64);

/// Where a self-training round starts on the optimizer-step axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoundBoundary {
    /// Round number (1-based).
    pub round: usize,
    /// Optimizer step at which its pseudo-labels were chosen (the last step before it).
    pub step: f64,
}

/// The round boundaries of a run: for each round ≥ 1 seen in the losses, evaluations or
/// pseudo-label rounds, the last step of the rounds before it.
pub fn round_boundaries(m: &RunMetrics) -> Vec<RoundBoundary> {
    use std::collections::BTreeMap;
    // Step range of each round.
    let mut ranges: BTreeMap<usize, (u64, u64)> = BTreeMap::new();
    let steps = m
        .losses
        .iter()
        .map(|l| (l.round, l.global_step))
        .chain(m.evaluations.iter().map(|e| (e.round, e.global_step)));
    for (round, step) in steps {
        let r = ranges.entry(round).or_insert((step, step));
        r.0 = r.0.min(step);
        r.1 = r.1.max(step);
    }
    let mut rounds: Vec<usize> = ranges.keys().copied().filter(|&r| r > 0).collect();
    rounds.extend(m.rounds.iter().map(|r| r.round).filter(|&r| r > 0));
    rounds.sort_unstable();
    rounds.dedup();
    rounds
        .into_iter()
        .filter_map(|round| {
            let before = ranges.range(..round).map(|(_, &(_, hi))| hi).max();
            let step = before.or_else(|| ranges.get(&round).map(|&(lo, _)| lo.saturating_sub(1)));
            step.map(|s| RoundBoundary {
                round,
                step: s as f64,
            })
        })
        .collect()
}

/// Loss curves over optimizer steps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LossSeries {
    /// Loss of the labelled samples per step.
    pub supervised: Vec<Point>,
    /// Loss of the pseudo-labelled samples per step (steps that had some).
    pub pseudo: Vec<Point>,
    /// The optimized loss per step.
    pub total: Vec<Point>,
    /// Where rounds start.
    pub boundaries: Vec<RoundBoundary>,
}

/// The loss curves of a run (non-finite values left out).
pub fn loss_series(m: &RunMetrics) -> LossSeries {
    let finite = |x: f64, y: f64| y.is_finite().then_some((x, y));
    LossSeries {
        supervised: m
            .losses
            .iter()
            .filter_map(|l| finite(l.global_step as f64, l.supervised))
            .collect(),
        pseudo: m
            .losses
            .iter()
            .filter_map(|l| l.pseudo.and_then(|p| finite(l.global_step as f64, p)))
            .collect(),
        total: m
            .losses
            .iter()
            .filter_map(|l| finite(l.global_step as f64, l.total))
            .collect(),
        boundaries: round_boundaries(m),
    }
}

/// Centred moving average over `window` points (`window / 2` on each side; fewer near the ends).
pub fn smooth(points: &[Point], window: usize) -> Vec<Point> {
    let half = window / 2;
    let mut prefix = Vec::with_capacity(points.len() + 1);
    prefix.push(0.0);
    for &(_, y) in points {
        prefix.push(prefix.last().copied().unwrap_or(0.0) + y);
    }
    points
        .iter()
        .enumerate()
        .map(|(i, &(x, _))| {
            let lo = i.saturating_sub(half);
            let hi = (i + half + 1).min(points.len());
            (x, (prefix[hi] - prefix[lo]) / (hi - lo) as f64)
        })
        .collect()
}

/// A smoothing window suited to `n` points: about a fiftieth of them, odd, within 1..=201.
pub fn smoothing_window(n: usize) -> usize {
    (n / 50).clamp(1, 200) | 1
}

/// Accuracy curves over optimizer steps, as fractions in `[0, 1]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccuracySeries {
    /// Validation accuracy per evaluation.
    pub validation: Vec<Point>,
    /// Test accuracy per evaluation.
    pub test: Vec<Point>,
    /// Accuracy of each round's accepted pseudo-labels against hidden truth, at the step where
    /// they were chosen.
    pub pseudo: Vec<Point>,
    /// Where rounds start.
    pub boundaries: Vec<RoundBoundary>,
}

/// The accuracy curves of a run.
pub fn accuracy_series(m: &RunMetrics) -> AccuracySeries {
    let of = |split: Split| {
        m.evaluations
            .iter()
            .filter(|e| e.split == split && e.report.accuracy.is_finite())
            .map(|e| (e.global_step as f64, e.report.accuracy))
            .collect()
    };
    let boundaries = round_boundaries(m);
    let last_step = m
        .losses
        .iter()
        .map(|l| l.global_step)
        .chain(m.evaluations.iter().map(|e| e.global_step))
        .max()
        .unwrap_or(0) as f64;
    let pseudo = m
        .rounds
        .iter()
        .filter_map(|r| {
            let acc = r.accepted_accuracy.filter(|a| a.is_finite())?;
            let step = boundaries
                .iter()
                .find(|b| b.round == r.round)
                .map_or(last_step, |b| b.step);
            Some((step, acc))
        })
        .collect();
    AccuracySeries {
        validation: of(Split::Validation),
        test: of(Split::Test),
        pseudo,
        boundaries,
    }
}

/// The pseudo-labelling figures of one round.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptanceRow {
    /// Round number (1-based).
    pub round: usize,
    /// Threshold τ used.
    pub threshold: f32,
    /// λ in force.
    pub pseudo_weight: f32,
    /// Pool size considered.
    pub pool_size: usize,
    /// Accepted pseudo-labels.
    pub accepted: usize,
    /// Accepted now but not in the previous round.
    pub newly_accepted: usize,
    /// Accepted in the previous round but not now.
    pub dropped: usize,
    /// Accuracy of the accepted pseudo-labels against hidden truth.
    pub accuracy: Option<f64>,
    /// The threshold the policy applied to each class (empty in older runs).
    pub class_thresholds: Vec<f32>,
    /// Summed weights of the accepted pseudo-labels (absent in older runs).
    pub effective: Option<f32>,
    /// Samples rejected as too uncertain over MC-dropout passes.
    pub rejected_uncertain: usize,
    /// Samples taken out by the outlier filter.
    pub rejected_outlier: usize,
}

impl AcceptanceRow {
    /// Accepted share of the pool, in `[0, 1]` (0 for an empty pool).
    pub fn share(&self) -> f64 {
        if self.pool_size == 0 {
            0.0
        } else {
            self.accepted as f64 / self.pool_size as f64
        }
    }
}

/// One row per round, in round order (the last record of a round wins).
pub fn acceptance_rows(m: &RunMetrics) -> Vec<AcceptanceRow> {
    let mut by_round = std::collections::BTreeMap::new();
    for r in &m.rounds {
        by_round.insert(
            r.round,
            AcceptanceRow {
                round: r.round,
                threshold: r.threshold,
                pseudo_weight: r.pseudo_weight,
                pool_size: r.pool_size,
                accepted: r.accepted,
                newly_accepted: r.newly_accepted.min(r.accepted),
                dropped: r.dropped,
                accuracy: r.accepted_accuracy,
                class_thresholds: r.class_thresholds.clone(),
                effective: r.effective,
                rejected_uncertain: r.rejected_uncertain,
                rejected_outlier: r.rejected_outlier,
            },
        );
    }
    by_round.into_values().collect()
}

/// The evaluation a confusion matrix is drawn from, and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfusionChoice {
    /// Scores (with the matrix).
    pub report: EvalReport,
    /// Split evaluated.
    pub split: Split,
    /// Which model it is, for captions: e.g. `best model (round 2)`.
    pub model: String,
}

impl ConfusionChoice {
    /// A caption like `best model (round 2), test split`.
    pub fn describe(&self) -> String {
        let split = match self.split {
            Split::Test => "test",
            Split::Validation => "validation",
        };
        format!("{}, {split} split", self.model)
    }
}

/// Picks the confusion matrix to show: the best model's test scores from the summary; else the
/// test evaluation at the latest `best` checkpoint; else the last test evaluation; else the last
/// validation evaluation.
pub fn choose_confusion(m: &RunMetrics, summary: Option<&RunSummary>) -> Option<ConfusionChoice> {
    if let Some(s) = summary
        && let Some(best) = &s.best_test
    {
        return Some(ConfusionChoice {
            report: best.clone(),
            split: Split::Test,
            model: format!("best model (round {})", s.best_round),
        });
    }
    let last_of = |split: Split| m.evaluations.iter().rev().find(|e| e.split == split);
    let at_best = m.best_steps.last().and_then(|&step| {
        m.evaluations
            .iter()
            .rev()
            .find(|e| e.split == Split::Test && e.global_step == step)
    });
    if let Some(e) = at_best {
        return Some(ConfusionChoice {
            report: e.report.clone(),
            split: Split::Test,
            model: format!(
                "best model so far (round {}, step {})",
                e.round, e.global_step
            ),
        });
    }
    let (e, split) = last_of(Split::Test)
        .map(|e| (e, Split::Test))
        .or_else(|| last_of(Split::Validation).map(|e| (e, Split::Validation)))?;
    Some(ConfusionChoice {
        report: e.report.clone(),
        split,
        model: format!(
            "model at round {}, epoch {} (step {})",
            e.round, e.epoch, e.global_step
        ),
    })
}

/// Class names of a run: from its `started` line, else numbers.
pub fn class_names(m: &RunMetrics, num_classes: usize) -> Vec<String> {
    match &m.info {
        Some(info) if info.classes.len() == num_classes => info.classes.clone(),
        _ => (0..num_classes).map(|c| c.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::parse_metrics;
    use crate::report::testdata::*;

    #[test]
    fn metrics_lines_become_series() {
        let m = parse_metrics(synthetic().as_bytes(), false).unwrap();
        assert_eq!(m.lines, 16);
        assert_eq!(m.info.as_ref().unwrap().classes, ["cat", "dog"]);
        assert_eq!(m.elapsed_secs, Some(6.5));
        assert_eq!(m.best_steps, [3]);

        let b = round_boundaries(&m);
        assert_eq!(
            b,
            [
                RoundBoundary {
                    round: 1,
                    step: 3.0
                },
                RoundBoundary {
                    round: 2,
                    step: 5.0
                }
            ]
        );

        let loss = loss_series(&m);
        // The NaN (null) step is left out.
        assert_eq!(
            loss.supervised,
            [(1.0, 2.0), (2.0, 1.0), (4.0, 0.8), (5.0, 0.6), (6.0, 0.5)]
        );
        assert_eq!(loss.pseudo, [(4.0, 0.4), (5.0, 0.2), (6.0, 0.1)]);
        assert_eq!(loss.total.len(), 5);
        assert_eq!(loss.boundaries, b);

        let acc = accuracy_series(&m);
        assert_eq!(acc.validation, [(3.0, 0.5), (5.0, 0.6)]);
        assert_eq!(acc.test, [(3.0, 0.4), (5.0, 0.55)]);
        // Round 1's pseudo-labels were chosen after step 3; round 2 has no truth.
        assert_eq!(acc.pseudo, [(3.0, 0.75)]);

        let rows = acceptance_rows(&m);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].round, rows[0].accepted, rows[0].pool_size),
            (1, 4, 10)
        );
        assert!((rows[1].share() - 0.5).abs() < 1e-12);
        assert_eq!(rows[1].accuracy, None);

        // Not finished: the test evaluation at the best checkpoint is chosen.
        let c = choose_confusion(&m, None).unwrap();
        assert_eq!(c.split, Split::Test);
        assert_eq!(c.report.accuracy, 0.4);
        assert!(
            c.describe().contains("best model so far"),
            "{}",
            c.describe()
        );
        assert_eq!(class_names(&m, 2), ["cat", "dog"]);
        assert_eq!(class_names(&m, 3), ["0", "1", "2"]);
    }

    #[test]
    fn confusion_falls_back_to_the_last_evaluation() {
        let text = [
            eval_line(1, 0, "validation", 0.3),
            eval_line(2, 0, "validation", 0.7),
        ]
        .join("\n");
        let m = parse_metrics(text.as_bytes(), true).unwrap();
        let c = choose_confusion(&m, None).unwrap();
        assert_eq!((c.split, c.report.accuracy), (Split::Validation, 0.7));
        let text = [
            eval_line(1, 0, "test", 0.3),
            eval_line(2, 0, "validation", 0.7),
        ]
        .join("\n");
        let m = parse_metrics(text.as_bytes(), true).unwrap();
        assert_eq!(choose_confusion(&m, None).unwrap().split, Split::Test);
        assert!(choose_confusion(&RunMetrics::default(), None).is_none());
    }

    #[test]
    fn smoothing_is_a_centred_mean() {
        let p = [(0.0, 1.0), (1.0, 3.0), (2.0, 5.0), (3.0, 7.0), (4.0, 1.0)];
        assert_eq!(
            smooth(&p, 3),
            [
                (0.0, 2.0),
                (1.0, 3.0),
                (2.0, 5.0),
                (3.0, 13.0 / 3.0),
                (4.0, 4.0)
            ]
        );
        assert_eq!(smooth(&p, 1), p);
        assert_eq!(smooth(&p, 0), p);
        assert!(smooth(&[], 5).is_empty());
        assert_eq!(smoothing_window(10), 1);
        assert_eq!(smoothing_window(1000), 21);
        assert_eq!(smoothing_window(1_000_000), 201);
    }
}
