//! Model selection: which model is kept (the best by validation accuracy within a slack that
//! favours later models), and early stopping on patience. Its state is part of the checkpoint.

use serde::{Deserialize, Serialize};

/// The selection knobs of the configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelectionRule {
    /// Validation images a later model may get wrong beyond the top and still be selected.
    pub tolerance: usize,
    /// Standard errors of the top accuracy a later model may fall short by.
    pub standard_errors: f64,
    /// Rounds without improvement before stopping (0 = never).
    pub patience: usize,
}

impl SelectionRule {
    /// The rule of a configuration.
    pub fn of(cfg: &crate::config::TrainConfig) -> Self {
        Self {
            tolerance: cfg.selection_tolerance,
            standard_errors: cfg.selection_standard_errors,
            patience: cfg.patience,
        }
    }
}

/// Where model selection stands (saved in `resume.json`; the selected model is `best.bpk`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// Validation accuracy at the last evaluation.
    pub last_val_accuracy: f64,
    /// Validation accuracy of the selected model (-1 when none).
    pub best_val_accuracy: f64,
    /// Round of the selected model.
    pub best_round: usize,
    /// Highest validation accuracy of any selection point so far (-1 when none): the reference
    /// of the selection slack. Absent in older checkpoints, where it was `best_val_accuracy`.
    #[serde(default)]
    pub top_val_accuracy: Option<f64>,
    /// Whether `best.bpk` holds a selected model.
    pub has_best: bool,
    /// Rounds since validation accuracy last improved.
    pub rounds_without_improvement: usize,
}

impl Default for Selection {
    fn default() -> Self {
        Self {
            last_val_accuracy: 0.0,
            best_val_accuracy: -1.0,
            best_round: 0,
            top_val_accuracy: Some(-1.0),
            has_best: false,
            rounds_without_improvement: 0,
        }
    }
}

impl Selection {
    /// The reference of the selection slack.
    pub fn top(&self) -> f64 {
        self.top_val_accuracy.unwrap_or(self.best_val_accuracy)
    }

    /// Records the validation accuracy at the end of an epoch of `round`; at a selection point
    /// (`select`: the end of the warm-up or of a round) decides whether this model is selected.
    /// Returns true when it is (the caller saves it as `best.bpk`).
    pub fn observe(
        &mut self,
        accuracy: f64,
        select: bool,
        round: usize,
        rule: SelectionRule,
        val_len: usize,
    ) -> bool {
        let better = select
            && selects(
                accuracy,
                self.top(),
                rule.tolerance,
                rule.standard_errors,
                val_len,
            );
        if select {
            self.top_val_accuracy = Some(self.top().max(accuracy));
        }
        self.last_val_accuracy = accuracy;
        if better {
            self.best_val_accuracy = accuracy;
            self.best_round = round;
            self.has_best = true;
        }
        better
    }

    /// Without a validation split the first selection point's round stands as the best.
    pub fn observe_without_validation(&mut self, select: bool, round: usize) {
        if select && !self.has_best {
            self.best_round = round;
        }
    }

    /// Closes round `round`: whether its model was selected, counting rounds without
    /// improvement.
    pub fn finish_round(&mut self, round: usize) -> bool {
        let improved = self.best_round == round && self.has_best;
        if improved {
            self.rounds_without_improvement = 0;
        } else {
            self.rounds_without_improvement += 1;
        }
        improved
    }

    /// Whether early stopping is due.
    pub fn patience_exhausted(&self, rule: SelectionRule) -> bool {
        rule.patience > 0 && self.rounds_without_improvement >= rule.patience
    }
}

/// Whether model selection picks a model of validation accuracy `accuracy` when the highest seen
/// at a selection point so far is `top` (-1 when none): it may be below `top` by at most
/// `tolerance` images of the `val_len`-image validation set, or by `standard_errors` standard
/// errors of `top` (√(top·(1−top)/val_len)), whichever is larger. Ties go to the new (later)
/// model: a drop within the split's noise is no evidence against the model that has learnt
/// from more pseudo-labels.
pub fn selects(
    accuracy: f64,
    top: f64,
    tolerance: usize,
    standard_errors: f64,
    val_len: usize,
) -> bool {
    if top < 0.0 {
        return true;
    }
    let n = val_len.max(1) as f64;
    let standard_error = (top * (1.0 - top) / n).max(0.0).sqrt();
    let slack = (tolerance as f64 / n).max(standard_errors * standard_error);
    // Half an image of margin absorbs floating-point rounding of the accuracies.
    accuracy + 0.5 / n >= top - slack
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_prefers_later_models_within_the_tolerance() {
        // 20 validation images: one image is 5 points. No standard-error slack here.
        assert!(
            selects(0.5, -1.0, 0, 0.0, 20),
            "the first model is always selected"
        );
        assert!(
            selects(0.95, 0.95, 0, 0.0, 20),
            "ties go to the later model"
        );
        assert!(
            !selects(0.90, 0.95, 0, 0.0, 20),
            "no tolerance: one image worse loses"
        );
        assert!(selects(0.90, 0.95, 1, 0.0, 20), "one image of tolerance");
        assert!(!selects(0.85, 0.95, 1, 0.0, 20), "two images worse loses");
        assert!(selects(0.85, 0.95, 2, 0.0, 20));
        // 80 images: one image is 1.25 points; rounding noise never flips a tie.
        assert!(selects(0.8875 - 1e-12, 0.9, 1, 0.0, 80));
        assert!(!selects(0.875, 0.9, 1, 0.0, 80));
    }

    #[test]
    fn selection_slack_grows_with_the_standard_error_of_the_validation_split() {
        // 80 images at 80%: one standard error is √(0.8·0.2/80) = 4.47 points, 3.6 images.
        assert!(
            selects(0.7625, 0.8, 1, 1.0, 80),
            "3 images below: within 1 SE"
        );
        assert!(
            !selects(0.7375, 0.8, 1, 1.0, 80),
            "5 images below: beyond 1 SE"
        );
        assert!(selects(0.7375, 0.8, 1, 2.0, 80), "within 2 SE");
        // A perfect score has no standard error: the image tolerance still applies.
        assert!(selects(0.95, 1.0, 1, 1.0, 20));
        assert!(!selects(0.90, 1.0, 1, 1.0, 20));
        // More images, smaller slack: 2,000 images at 90% → 0.67 points.
        assert!(selects(0.894, 0.9, 1, 1.0, 2000));
        assert!(!selects(0.89, 0.9, 1, 1.0, 2000));
    }

    #[test]
    fn selection_tracks_the_top_and_counts_rounds_without_improvement() {
        let rule = SelectionRule {
            tolerance: 0,
            standard_errors: 0.0,
            patience: 2,
        };
        let mut s = Selection::default();
        assert!(!s.observe(0.5, false, 0, rule, 20), "not a selection point");
        assert!(!s.has_best);
        assert!(s.observe(0.5, true, 0, rule, 20));
        assert!(s.observe(0.6, true, 1, rule, 20));
        assert!(s.finish_round(1));
        assert!(!s.observe(0.55, true, 2, rule, 20));
        assert_eq!((s.best_round, s.best_val_accuracy, s.top()), (1, 0.6, 0.6));
        assert_eq!(s.last_val_accuracy, 0.55);
        assert!(!s.finish_round(2));
        assert!(!s.patience_exhausted(rule));
        assert!(!s.finish_round(3));
        assert!(s.patience_exhausted(rule));
    }

    #[test]
    fn old_checkpoints_without_a_top_use_the_best() {
        let s: Selection = serde_json::from_value(serde_json::json!({
            "last_val_accuracy": 0.7, "best_val_accuracy": 0.8, "best_round": 1,
            "has_best": true, "rounds_without_improvement": 0
        }))
        .unwrap();
        assert_eq!(s.top(), 0.8);
    }
}
