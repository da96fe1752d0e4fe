//! Fixed-bin histograms of confidences in `[0, 1]`.

use serde::{Deserialize, Serialize};

/// Counts of values in equal-width bins over `[0, 1]`; the last bin includes 1.0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    /// Count per bin, lowest bin first.
    pub bins: Vec<u64>,
}

impl Histogram {
    /// An empty histogram with `num_bins` bins.
    pub fn new(num_bins: usize) -> Self {
        assert!(num_bins > 0);
        Self {
            bins: vec![0; num_bins],
        }
    }

    /// Index of the bin that holds `value` (clamped into `[0, 1]`).
    pub fn bin_of(&self, value: f32) -> usize {
        let n = self.bins.len();
        let v = if value.is_nan() {
            0.0
        } else {
            value.clamp(0.0, 1.0)
        };
        ((v * n as f32) as usize).min(n - 1)
    }

    /// Counts one value.
    pub fn add(&mut self, value: f32) {
        let b = self.bin_of(value);
        self.bins[b] += 1;
    }

    /// Total number of values counted.
    pub fn total(&self) -> u64 {
        self.bins.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_land_in_expected_bins() {
        let mut h = Histogram::new(10);
        for v in [0.0, 0.05, 0.1, 0.55, 0.999, 1.0, 1.5, -0.2] {
            h.add(v);
        }
        assert_eq!(h.bins, vec![3, 1, 0, 0, 0, 1, 0, 0, 0, 3]);
        assert_eq!(h.total(), 8);
    }
}
