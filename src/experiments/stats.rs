//! Mean and spread of repeated measurements.

use serde::{Deserialize, Serialize};

/// Mean and sample standard deviation (n − 1 in the denominator) of some values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// Arithmetic mean (NaN when there is no value).
    pub mean: f64,
    /// Sample standard deviation (0 for a single value, NaN when there is none).
    pub std: f64,
    /// Number of values.
    pub n: usize,
}

impl MeanStd {
    /// Summarises `values`.
    pub fn of(values: &[f64]) -> Self {
        let n = values.len();
        if n == 0 {
            return Self {
                mean: f64::NAN,
                std: f64::NAN,
                n,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let std = if n > 1 {
            let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
            (ss / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Self { mean, std, n }
    }

    /// As percentages, e.g. `91.23 ± 0.45` (`91.23` for one value, `–` for none).
    pub fn percent(&self) -> String {
        match self.n {
            0 => "–".into(),
            1 => format!("{:.2}", self.mean * 100.0),
            _ => format!("{:.2} ± {:.2}", self.mean * 100.0, self.std * 100.0),
        }
    }

    /// Plain numbers with `digits` decimals, e.g. `0.912 ± 0.004`.
    pub fn plain(&self, digits: usize) -> String {
        match self.n {
            0 => "–".into(),
            1 => format!("{:.digits$}", self.mean),
            _ => format!("{:.digits$} ± {:.digits$}", self.mean, self.std),
        }
    }

    /// A difference, signed, `scale` times the values with `digits` decimals, e.g. `+2.59 ± 0.42`
    /// for accuracy gains in points (`scale` 100).
    pub fn signed(&self, scale: f64, digits: usize) -> String {
        match self.n {
            0 => "–".into(),
            1 => format!("{:+.digits$}", self.mean * scale),
            _ => format!(
                "{:+.digits$} ± {:.digits$}",
                self.mean * scale,
                self.std * scale
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_std() {
        let m = MeanStd::of(&[0.90, 0.92, 0.94]);
        assert!((m.mean - 0.92).abs() < 1e-12);
        assert!((m.std - 0.02).abs() < 1e-12);
        assert_eq!(m.percent(), "92.00 ± 2.00");
        assert_eq!(m.plain(3), "0.920 ± 0.020");
    }

    #[test]
    fn one_or_no_value() {
        let one = MeanStd::of(&[0.5]);
        assert_eq!((one.mean, one.std, one.n), (0.5, 0.0, 1));
        assert_eq!(one.percent(), "50.00");
        let none = MeanStd::of(&[]);
        assert!(none.mean.is_nan());
        assert_eq!(none.percent(), "–");
    }
}
