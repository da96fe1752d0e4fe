//! Calibration of predicted confidences: the expected calibration error (ECE) over equal-width
//! confidence bins and the per-bin figures of a reliability diagram (Guo et al., 2017).
//! Pseudo-labelling accepts predictions by confidence, so how far confidence is from accuracy
//! matters as much as accuracy itself.

use serde::{Deserialize, Serialize};

/// Number of equal-width confidence bins over [0, 1].
pub const CALIBRATION_BINS: usize = 15;

/// The predictions whose confidence falls in one bin.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// Number of predictions in the bin.
    pub count: u64,
    /// Mean confidence of those predictions; 0 for an empty bin.
    #[serde(deserialize_with = "crate::serde_nan::f64_or_nan")]
    pub confidence: f64,
    /// Fraction of those predictions that are correct; 0 for an empty bin.
    #[serde(deserialize_with = "crate::serde_nan::f64_or_nan")]
    pub accuracy: f64,
}

/// Reliability-diagram bins of one evaluation: bin `b` holds confidences in
/// `(b/15, (b+1)/15]` (the first bin also holds 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The bins, lowest confidence first.
    pub bins: Vec<CalibrationBin>,
    /// Predictions whose confidence was not a number (a diverged model); they are in no bin.
    #[serde(default)]
    pub not_a_number: u64,
}

impl Calibration {
    /// Bins `(confidence, correct)` pairs, confidence being the predicted class's probability.
    pub fn from_predictions(predictions: impl IntoIterator<Item = (f64, bool)>) -> Self {
        let mut counts = [0u64; CALIBRATION_BINS];
        let mut confidence_sums = [0.0f64; CALIBRATION_BINS];
        let mut correct = [0u64; CALIBRATION_BINS];
        let mut not_a_number = 0;
        for (confidence, is_correct) in predictions {
            if confidence.is_nan() {
                not_a_number += 1;
                continue;
            }
            let b = bin_of(confidence);
            counts[b] += 1;
            confidence_sums[b] += confidence;
            correct[b] += u64::from(is_correct);
        }
        let bins = (0..CALIBRATION_BINS)
            .map(|b| {
                let n = counts[b];
                let mean = |sum: f64| if n == 0 { 0.0 } else { sum / n as f64 };
                CalibrationBin {
                    count: n,
                    confidence: mean(confidence_sums[b]),
                    accuracy: mean(correct[b] as f64),
                }
            })
            .collect();
        Self { bins, not_a_number }
    }

    /// Number of binned predictions.
    pub fn count(&self) -> u64 {
        self.bins.iter().map(|b| b.count).sum()
    }

    /// Expected calibration error: Σ_b |B_b|/n · |acc(B_b) − conf(B_b)|, empty bins skipped.
    /// NaN when there is no prediction or any confidence is NaN (the model diverged).
    pub fn ece(&self) -> f64 {
        let n = self.count();
        if n == 0 || self.not_a_number > 0 {
            return f64::NAN;
        }
        self.bins
            .iter()
            .filter(|b| b.count > 0)
            .map(|b| b.count as f64 / n as f64 * (b.accuracy - b.confidence).abs())
            .sum()
    }
}

/// Index of the bin `(b/M, (b+1)/M]` holding `confidence` (0 and below in the first bin, above
/// 1 in the last).
fn bin_of(confidence: f64) -> usize {
    let upper = (confidence * CALIBRATION_BINS as f64).ceil();
    if upper <= 1.0 {
        0
    } else {
        (upper as usize - 1).min(CALIBRATION_BINS - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn perfectly_calibrated_predictions_have_zero_ece() {
        // Confidence 0.5, half right; confidence 1.0, all right.
        let c =
            Calibration::from_predictions([(0.5, true), (0.5, false), (1.0, true), (1.0, true)]);
        assert!(close(c.ece(), 0.0), "{}", c.ece());
        assert_eq!(c.count(), 4);
        assert_eq!(c.bins.len(), CALIBRATION_BINS);
        assert_eq!(c.bins[7].count, 2); // 0.5 is in (7/15, 8/15]
        assert!(close(c.bins[7].accuracy, 0.5));
        assert_eq!(c.bins[14].count, 2);
    }

    #[test]
    fn always_confident_and_half_right_has_ece_one_half() {
        let c = Calibration::from_predictions((0..10).map(|i| (1.0, i % 2 == 0)));
        assert!(close(c.ece(), 0.5), "{}", c.ece());
        assert_eq!(c.bins[14].count, 10);
        assert!(close(c.bins[14].confidence, 1.0));
        assert!(close(c.bins[14].accuracy, 0.5));
    }

    /// Two occupied bins, the other thirteen empty and left out of the sum:
    /// bin of 0.9 (3 samples, 2 right): |2/3 − 0.9| · 3/4; bin of 0.3 (1 wrong): 0.3 · 1/4.
    #[test]
    fn ece_weighs_occupied_bins_by_size_and_skips_empty_ones() {
        let c =
            Calibration::from_predictions([(0.9, true), (0.9, true), (0.9, false), (0.3, false)]);
        let expected = 0.75 * (2.0 / 3.0 - 0.9f64).abs() + 0.25 * 0.3;
        assert!(close(c.ece(), expected), "{} vs {expected}", c.ece());
        let occupied: Vec<usize> = (0..CALIBRATION_BINS)
            .filter(|&b| c.bins[b].count > 0)
            .collect();
        assert_eq!(occupied, vec![4, 13]);
        assert_eq!(
            c.bins[0],
            CalibrationBin {
                count: 0,
                confidence: 0.0,
                accuracy: 0.0
            }
        );
    }

    #[test]
    fn bins_are_closed_on_the_right() {
        assert_eq!(bin_of(0.0), 0);
        assert_eq!(bin_of(1.0 / 15.0), 0);
        assert_eq!(bin_of(0.07), 1);
        assert_eq!(bin_of(0.999), 14);
        assert_eq!(bin_of(1.0), 14);
        assert_eq!(bin_of(1.5), 14);
        assert_eq!(bin_of(-0.5), 0);
    }

    #[test]
    fn nan_probabilities_give_a_nan_ece_without_panicking() {
        let c = Calibration::from_predictions([(f64::NAN, false), (0.9, true)]);
        assert_eq!(c.not_a_number, 1);
        assert_eq!(c.count(), 1);
        assert!(c.ece().is_nan());
        assert!(Calibration::from_predictions([]).ece().is_nan());
    }

    #[test]
    fn round_trips_through_json_with_nan_as_null() {
        let mut c = Calibration::from_predictions([(0.9, true)]);
        c.bins[0].confidence = f64::NAN;
        let json = serde_json::to_string(&c).unwrap();
        let back: Calibration = serde_json::from_str(&json).unwrap();
        assert!(back.bins[0].confidence.is_nan());
        assert_eq!(back.bins[13], c.bins[13]);
    }
}
