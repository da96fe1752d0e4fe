//! Confusion matrix and the scores derived from it.

use serde::{Deserialize, Serialize};

use super::Calibration;

/// A square confusion matrix: `counts[truth][predicted]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// Row = true class, column = predicted class.
    pub counts: Vec<Vec<u64>>,
}

/// Precision, recall, F1 and support of one class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// TP / (TP + FP); 0 when the class was never predicted.
    #[serde(deserialize_with = "crate::serde_nan::f64_or_nan")]
    pub precision: f64,
    /// TP / (TP + FN); 0 when the class has no sample.
    #[serde(deserialize_with = "crate::serde_nan::f64_or_nan")]
    pub recall: f64,
    /// Harmonic mean of precision and recall; 0 when both are 0.
    #[serde(deserialize_with = "crate::serde_nan::f64_or_nan")]
    pub f1: f64,
    /// Number of samples whose true class is this one.
    pub support: u64,
}

/// Everything an evaluation reports about one split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Fraction of correct predictions.
    #[serde(deserialize_with = "crate::serde_nan::f64_or_nan")]
    pub accuracy: f64,
    /// Mean F1 over classes that have support.
    #[serde(deserialize_with = "crate::serde_nan::f64_or_nan")]
    pub macro_f1: f64,
    /// Per-class scores, in class order.
    pub per_class: Vec<ClassMetrics>,
    /// The matrix the scores come from.
    pub confusion: ConfusionMatrix,
    /// Mean cross-entropy over the split.
    #[serde(deserialize_with = "crate::serde_nan::f64_or_nan")]
    pub loss: f64,
    /// Expected calibration error of the predicted class's probability (15 bins); `None` when
    /// not computed (runs recorded before it was) or not a number (written as `null`).
    #[serde(default)]
    pub ece: Option<f64>,
    /// Reliability-diagram bins the ECE comes from; `None` when not computed.
    #[serde(default)]
    pub calibration: Option<Calibration>,
}

impl ConfusionMatrix {
    /// An all-zero matrix for `num_classes` classes.
    pub fn new(num_classes: usize) -> Self {
        Self {
            counts: vec![vec![0; num_classes]; num_classes],
        }
    }

    /// Builds a matrix from parallel slices of true and predicted classes.
    pub fn from_predictions(num_classes: usize, truth: &[usize], predicted: &[usize]) -> Self {
        assert_eq!(
            truth.len(),
            predicted.len(),
            "truth/prediction length mismatch"
        );
        let mut m = Self::new(num_classes);
        for (&t, &p) in truth.iter().zip(predicted) {
            m.add(t, p);
        }
        m
    }

    /// Counts one sample.
    pub fn add(&mut self, truth: usize, predicted: usize) {
        self.counts[truth][predicted] += 1;
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.counts.len()
    }

    /// Total number of samples counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Number of correct predictions (the diagonal).
    pub fn correct(&self) -> u64 {
        (0..self.num_classes()).map(|i| self.counts[i][i]).sum()
    }

    /// Fraction of correct predictions; 0 for an empty matrix.
    pub fn accuracy(&self) -> f64 {
        let total = self.total();
        if total == 0 {
            0.0
        } else {
            self.correct() as f64 / total as f64
        }
    }

    /// Precision, recall and F1 of every class.
    pub fn per_class(&self) -> Vec<ClassMetrics> {
        let n = self.num_classes();
        (0..n)
            .map(|c| {
                let tp = self.counts[c][c] as f64;
                let support: u64 = self.counts[c].iter().sum();
                let predicted: u64 = (0..n).map(|r| self.counts[r][c]).sum();
                let precision = if predicted == 0 {
                    0.0
                } else {
                    tp / predicted as f64
                };
                let recall = if support == 0 {
                    0.0
                } else {
                    tp / support as f64
                };
                let f1 = if precision + recall == 0.0 {
                    0.0
                } else {
                    2.0 * precision * recall / (precision + recall)
                };
                ClassMetrics {
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect()
    }

    /// Mean F1 over the classes that have at least one sample.
    pub fn macro_f1(&self) -> f64 {
        let per_class = self.per_class();
        let present: Vec<f64> = per_class
            .iter()
            .filter(|m| m.support > 0)
            .map(|m| m.f1)
            .collect();
        if present.is_empty() {
            0.0
        } else {
            present.iter().sum::<f64>() / present.len() as f64
        }
    }

    /// Row-normalised matrix (each row sums to 1; empty rows stay 0).
    pub fn row_normalized(&self) -> Vec<Vec<f64>> {
        self.counts
            .iter()
            .map(|row| {
                let s: u64 = row.iter().sum();
                row.iter()
                    .map(|&v| if s == 0 { 0.0 } else { v as f64 / s as f64 })
                    .collect()
            })
            .collect()
    }

    /// Full report with the given mean loss (without calibration: the matrix has no
    /// confidences; see [`EvalReport::with_calibration`]).
    pub fn report(&self, loss: f64) -> EvalReport {
        EvalReport {
            accuracy: self.accuracy(),
            macro_f1: self.macro_f1(),
            per_class: self.per_class(),
            confusion: self.clone(),
            loss,
            ece: None,
            calibration: None,
        }
    }
}

impl EvalReport {
    /// The report with its calibration bins and their ECE.
    pub fn with_calibration(mut self, calibration: Calibration) -> Self {
        self.ece = Some(calibration.ece());
        self.calibration = Some(calibration);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// 3 classes, hand-computed:
    /// truth 0: predicted 0,0,1   truth 1: predicted 1,1,1,2   truth 2: predicted 0,2
    #[test]
    fn scores_match_hand_computed_matrix() {
        let truth = [0, 0, 0, 1, 1, 1, 1, 2, 2];
        let pred = [0, 0, 1, 1, 1, 1, 2, 0, 2];
        let m = ConfusionMatrix::from_predictions(3, &truth, &pred);
        assert_eq!(m.counts, vec![vec![2, 1, 0], vec![0, 3, 1], vec![1, 0, 1]]);
        assert_eq!(m.total(), 9);
        assert_eq!(m.correct(), 6);
        assert!(close(m.accuracy(), 6.0 / 9.0));
        let pc = m.per_class();
        // class 0: tp 2, predicted 3, support 3
        assert!(close(pc[0].precision, 2.0 / 3.0));
        assert!(close(pc[0].recall, 2.0 / 3.0));
        assert!(close(pc[0].f1, 2.0 / 3.0));
        // class 1: tp 3, predicted 4, support 4
        assert!(close(pc[1].precision, 0.75));
        assert!(close(pc[1].recall, 0.75));
        // class 2: tp 1, predicted 2, support 2
        assert!(close(pc[2].precision, 0.5));
        assert!(close(pc[2].recall, 0.5));
        assert!(close(pc[2].f1, 0.5));
        assert!(close(m.macro_f1(), (2.0 / 3.0 + 0.75 + 0.5) / 3.0));
        assert_eq!(pc[1].support, 4);
    }

    #[test]
    fn never_predicted_class_has_zero_precision_and_f1() {
        let m = ConfusionMatrix::from_predictions(2, &[0, 1, 1], &[0, 0, 0]);
        let pc = m.per_class();
        assert_eq!(pc[1].precision, 0.0);
        assert_eq!(pc[1].recall, 0.0);
        assert_eq!(pc[1].f1, 0.0);
        // class 0: precision 1/3, recall 1 -> f1 = 0.5
        assert!(close(pc[0].f1, 0.5));
        assert!(close(m.macro_f1(), 0.25));
    }

    #[test]
    fn macro_f1_ignores_classes_without_support() {
        let m = ConfusionMatrix::from_predictions(3, &[0, 1], &[0, 1]);
        assert!(close(m.macro_f1(), 1.0));
    }

    #[test]
    fn row_normalised_rows_sum_to_one() {
        let m = ConfusionMatrix::from_predictions(2, &[0, 0, 0, 0], &[0, 1, 1, 1]);
        let r = m.row_normalized();
        assert!(close(r[0][0], 0.25));
        assert!(close(r[0][1], 0.75));
        assert_eq!(r[1], vec![0.0, 0.0]);
    }

    #[test]
    fn reports_of_runs_recorded_before_calibration_still_read() {
        let json = r#"{"accuracy":0.5,"macro_f1":0.5,"per_class":[],
            "confusion":{"counts":[]},"loss":null}"#;
        let r: EvalReport = serde_json::from_str(json).unwrap();
        assert!(r.loss.is_nan());
        assert_eq!((r.ece, r.calibration), (None, None));
    }

    #[test]
    fn ece_is_written_and_a_nan_one_reads_back_as_unknown() {
        let r =
            ConfusionMatrix::new(2)
                .report(0.1)
                .with_calibration(Calibration::from_predictions([
                    (0.9, true),
                    (f64::NAN, true),
                ]));
        assert!(r.ece.unwrap().is_nan());
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains("\"ece\":null"), "{json}");
        let back: EvalReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back.ece, None);
        assert_eq!(back.calibration, r.calibration);
    }

    #[test]
    fn empty_matrix_scores_zero() {
        let m = ConfusionMatrix::new(4);
        assert_eq!(m.accuracy(), 0.0);
        assert_eq!(m.macro_f1(), 0.0);
    }
}
