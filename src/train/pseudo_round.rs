//! The pseudo-label round's bookkeeping: the current pseudo-labels (saved in the checkpoint),
//! what changed since the previous round, the round's update and its CSV rows, and the collapse
//! warning. No I/O and no model here: the engine predicts, [`crate::train::pseudo`] decides.

use serde::{Deserialize, Serialize};

use crate::run::pseudo_csv::{PseudoCsvRow, PseudoStatus};
use crate::train::batcher::{Item, Source};
use crate::train::events::{PoolPrediction, PseudoRound};
use crate::train::pseudo::{Mark, RejectReason, RoundDecision};

/// The pseudo-labels in force and what the next round compares against (part of
/// `resume.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PseudoLabels {
    /// The current round's pseudo-labels: (pool index, class).
    pub pseudo_labels: Vec<(usize, usize)>,
    /// The weight of each of `pseudo_labels`, in order (absent in older checkpoints: all 1).
    #[serde(default)]
    pub pseudo_label_weights: Vec<f32>,
    /// Pool indices accepted in the last selection, ascending.
    pub previously_accepted: Vec<usize>,
    /// Sample actions since the last selection.
    pub user_actions_since_round: usize,
    /// Accepted count and accuracy of the last selection.
    pub last_pseudo: Option<(usize, Option<f64>)>,
}

/// What a new decision changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundChange {
    /// Accepted now.
    pub accepted: usize,
    /// Accepted now, not in the previous round.
    pub newly_accepted: usize,
    /// Accepted in the previous round, not now.
    pub dropped: usize,
}

impl PseudoLabels {
    /// Training items of the current pseudo-labels.
    pub fn items(&self) -> Vec<Item> {
        self.pseudo_labels
            .iter()
            .enumerate()
            .map(|(n, &(i, class))| {
                let weight = self.pseudo_label_weights.get(n).copied().unwrap_or(1.0);
                Item::pseudo(Source::Pool(i), class, weight)
            })
            .collect()
    }

    /// Checks indices and classes read from a checkpoint against the data.
    pub fn check(&self, pool: usize, num_classes: usize) -> Result<(), String> {
        let outside = |i: usize| {
            format!(
                "sample {i} is outside the unlabelled pool ({pool} images): was the data changed?"
            )
        };
        for &(i, class) in &self.pseudo_labels {
            if i >= pool {
                return Err(outside(i));
            }
            if class >= num_classes {
                return Err(format!("class {class} out of range"));
            }
        }
        if let Some(&i) = self.previously_accepted.iter().find(|&&i| i >= pool) {
            return Err(outside(i));
        }
        if !self.pseudo_label_weights.is_empty()
            && self.pseudo_label_weights.len() != self.pseudo_labels.len()
        {
            return Err(format!(
                "{} pseudo-label weights for {} pseudo-labels",
                self.pseudo_label_weights.len(),
                self.pseudo_labels.len()
            ));
        }
        if let Some(w) = self
            .pseudo_label_weights
            .iter()
            .find(|w| !(0.0..=1.0).contains(*w))
        {
            return Err(format!("pseudo-label weight {w} is outside [0, 1]"));
        }
        Ok(())
    }

    /// Makes `decision` the pseudo-labels in force; returns what changed.
    pub fn commit(&mut self, decision: &RoundDecision) -> RoundChange {
        let pool = decision.decisions.len();
        let mut before = vec![false; pool];
        for &i in &self.previously_accepted {
            if i < pool {
                before[i] = true;
            }
        }
        let now: Vec<bool> = decision.decisions.iter().map(|d| d.accepted()).collect();
        let newly_accepted = now.iter().zip(&before).filter(|(n, b)| **n && !**b).count();
        let dropped = now.iter().zip(&before).filter(|(n, b)| !**n && **b).count();
        self.previously_accepted = (0..pool).filter(|&i| now[i]).collect();
        self.pseudo_labels.clear();
        self.pseudo_label_weights.clear();
        for (i, d) in decision.decisions.iter().enumerate() {
            if let Some(class) = d.label() {
                self.pseudo_labels.push((i, class));
                self.pseudo_label_weights.push(d.weight);
            }
        }
        let accepted = self.pseudo_labels.len();
        self.last_pseudo = Some((accepted, decision.accepted_accuracy));
        RoundChange {
            accepted,
            newly_accepted,
            dropped,
        }
    }
}

/// The round's update for front-ends and `metrics.jsonl`.
pub fn round_update(
    round: usize,
    threshold: f32,
    pseudo_weight: f32,
    decision: &RoundDecision,
    change: RoundChange,
    predictions: Vec<PoolPrediction>,
) -> PseudoRound {
    PseudoRound {
        round,
        threshold,
        pseudo_weight,
        pool_size: decision.eligible,
        accepted: change.accepted,
        newly_accepted: change.newly_accepted,
        dropped: change.dropped,
        accepted_per_class: decision.per_class.clone(),
        hist_accepted: decision.hist_accepted.clone(),
        hist_rejected: decision.hist_rejected.clone(),
        accepted_accuracy: decision.accepted_accuracy,
        class_thresholds: decision.class_thresholds.clone(),
        effective: Some(decision.effective()),
        rejected_uncertain: decision.rejected_for(RejectReason::Uncertain),
        rejected_outlier: decision.rejected_for(RejectReason::Outlier),
        predictions: std::sync::Arc::new(predictions),
    }
}

/// The CSV rows of a round: one per prediction, with its status, weight and reason.
pub fn csv_rows(
    predictions: &[PoolPrediction],
    decision: &RoundDecision,
    marks: &[Mark],
    classes: &[String],
    file_of: impl Fn(usize) -> String,
) -> Vec<PseudoCsvRow> {
    predictions
        .iter()
        .zip(&decision.decisions)
        .zip(marks)
        .map(|((p, d), mark)| {
            let status = match mark {
                Mark::ManualLabel(_) => PseudoStatus::ManualLabel,
                Mark::Excluded => PseudoStatus::Excluded,
                Mark::Forced(_) => PseudoStatus::Forced,
                Mark::None if d.accepted() => PseudoStatus::Accepted,
                Mark::None => PseudoStatus::Rejected,
            };
            PseudoCsvRow {
                index: p.index,
                file: file_of(p.index),
                predicted: classes[p.predicted()].clone(),
                confidence: p.confidence(),
                runner_up: p.runner_up().map(|(c, v)| (classes[c].clone(), v)),
                truth: p.truth.map(|t| classes[t].clone()),
                status,
                weight: d.weight,
                reason: d.rejection,
                uncertainty: p.uncertainty,
                outlier: p.outlier,
            }
        })
        .collect()
}

/// A warning when accepted pseudo-labels collapse onto few classes: one class takes over half,
/// or fewer than half the classes have any (from 20 accepted and 3 classes on).
pub fn collapse_warning(round: usize, per_class: &[usize], classes: &[String]) -> Option<String> {
    let accepted: usize = per_class.iter().sum();
    let k = classes.len();
    if accepted < 20 || k < 3 {
        return None;
    }
    let max = per_class.iter().copied().max().unwrap_or(0);
    let populated = per_class.iter().filter(|c| **c > 0).count();
    if max * 2 <= accepted && populated * 2 >= k {
        return None;
    }
    let top = per_class
        .iter()
        .enumerate()
        .max_by_key(|(_, c)| **c)
        .map(|(i, _)| classes[i].clone())
        .unwrap_or_default();
    Some(format!(
        "round {round}: pseudo-labels collapsing: {populated}/{k} classes accepted, `{top}` takes {:.0}%",
        max as f64 * 100.0 / accepted as f64
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::pseudo::{RoundInput, Threshold, decide_round};

    fn pred(index: usize, class: usize, conf: f32) -> PoolPrediction {
        crate::train::pseudo::tests::pred(index, class, conf, Some(class))
    }

    #[test]
    fn commit_counts_new_and_dropped_and_keeps_weights() {
        let p = vec![pred(0, 0, 0.9), pred(1, 1, 0.2), pred(2, 2, 0.95)];
        let mut state = PseudoLabels {
            previously_accepted: vec![1, 2],
            ..Default::default()
        };
        let marks = [Mark::None, Mark::None, Mark::Forced(1)];
        let d = decide_round(
            &Threshold,
            &RoundInput::new(&p, &marks, 0.5, &[1, 1, 1], 3, 1),
        );
        let change = state.commit(&d);
        assert_eq!(
            change,
            RoundChange {
                accepted: 2,
                newly_accepted: 1,
                dropped: 1
            }
        );
        assert_eq!(state.pseudo_labels, vec![(0, 0), (2, 1)]);
        assert_eq!(state.previously_accepted, vec![0, 2]);
        assert_eq!(state.last_pseudo, Some((2, Some(0.5))));
        assert_eq!(
            state.items(),
            vec![
                Item::pseudo(Source::Pool(0), 0, 1.0),
                Item::pseudo(Source::Pool(2), 1, 1.0)
            ]
        );
        let classes: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let rows = csv_rows(&p, &d, &marks, &classes, |i| format!("{i}.png"));
        let statuses: Vec<_> = rows.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            vec![
                PseudoStatus::Accepted,
                PseudoStatus::Rejected,
                PseudoStatus::Forced
            ]
        );
    }

    #[test]
    fn the_round_update_counts_the_effective_number_and_the_filtered_rejections() {
        use crate::train::pseudo::{RoundInput, Uncertainty};
        let mut p: Vec<_> = (0..5).map(|i| pred(i, i % 3, 0.95)).collect();
        p[1].uncertainty = Some(0.3);
        for (i, score) in [0.1, 0.2, 0.3, 0.4, 9.0].into_iter().enumerate() {
            p[i].outlier = Some(score);
        }
        let marks = [Mark::None; 5];
        let input = RoundInput {
            outlier_fraction: 0.2,
            ..RoundInput::new(&p, &marks, 0.5, &[1, 1, 1], 3, 1)
        };
        let policy = Uncertainty {
            passes: 4,
            kappa: 0.1,
        };
        let d = decide_round(&policy, &input);
        let change = PseudoLabels::default().commit(&d);
        let u = round_update(1, 0.5, 1.0, &d, change, p);
        assert_eq!(
            (u.accepted, u.rejected_uncertain, u.rejected_outlier),
            (3, 1, 1)
        );
        assert_eq!(u.effective, Some(3.0));
        // Recorded in metrics.jsonl, and a round written before them still reads.
        let json = serde_json::to_value(&u).unwrap();
        assert_eq!(json["effective"], 3.0);
        assert_eq!(json["rejected_uncertain"], 1);
        let mut old = json.clone();
        for field in ["effective", "rejected_uncertain", "rejected_outlier"] {
            old.as_object_mut().unwrap().remove(field);
        }
        let old: PseudoRound = serde_json::from_value(old).unwrap();
        assert_eq!((old.effective, old.rejected_outlier), (None, 0));
    }

    #[test]
    fn checkpointed_labels_are_checked_against_the_data() {
        let state = PseudoLabels {
            pseudo_labels: vec![(5, 0)],
            ..Default::default()
        };
        assert!(state.check(4, 3).unwrap_err().contains("sample 5"));
        assert!(state.check(6, 3).is_ok());
        let state = PseudoLabels {
            pseudo_labels: vec![(1, 0)],
            pseudo_label_weights: vec![1.5],
            ..Default::default()
        };
        assert!(state.check(6, 3).unwrap_err().contains("1.5"));
    }

    #[test]
    fn collapse_is_one_class_over_half_or_most_classes_empty() {
        let classes: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        assert!(collapse_warning(1, &[10, 10, 0, 0], &classes).is_none());
        let w = collapse_warning(2, &[15, 5, 1, 0], &classes).unwrap();
        assert!(w.contains("`a` takes 71%"), "{w}");
        assert!(
            collapse_warning(1, &[19, 0, 0, 0], &classes).is_none(),
            "too few"
        );
    }
}
