//! Pure summaries of the measurements: which pool sizes to time, how a pass's cost grows with
//! the pool, and the memory goal.

use super::report::ScalingSummary;

/// The memory goal: peak RSS below this many times the decoded dataset, plus the model.
pub const MEMORY_GOAL_FACTOR: u64 = 3;

/// The pool sizes to measure: each request capped at `pool`, in the order given.
pub fn capped_sizes(requested: &[usize], pool: usize) -> Vec<(usize, usize)> {
    requested.iter().map(|&r| (r, r.min(pool))).collect()
}

/// Summarises `(images, secs)` measurements: the per-image cost ratio between the largest and
/// the smallest size and a least-squares line. Rows without images are ignored.
pub fn scaling_summary(points: &[(usize, f64)]) -> ScalingSummary {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|&(n, s)| (n as f64, s))
        .collect();
    let smallest = pts.iter().copied().min_by(|a, b| a.0.total_cmp(&b.0));
    let largest = pts.iter().copied().max_by(|a, b| a.0.total_cmp(&b.0));
    let (Some(small), Some(large)) = (smallest, largest) else {
        return ScalingSummary {
            smallest_images: 0,
            largest_images: 0,
            per_image_cost_ratio: 1.0,
            fit_us_per_image: 0.0,
            fit_intercept_secs: 0.0,
            fit_r_squared: None,
        };
    };
    let per_image = |(n, s): (f64, f64)| s / n;
    let ratio = if per_image(small) > 0.0 {
        per_image(large) / per_image(small)
    } else {
        1.0
    };
    let count = pts.len() as f64;
    let mean_x = pts.iter().map(|p| p.0).sum::<f64>() / count;
    let mean_y = pts.iter().map(|p| p.1).sum::<f64>() / count;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let syy: f64 = pts.iter().map(|p| (p.1 - mean_y).powi(2)).sum();
    let (slope, intercept, r2) = if sxx > 0.0 {
        let slope = sxy / sxx;
        let r2 = if syy > 0.0 {
            (sxy * sxy) / (sxx * syy)
        } else {
            1.0
        };
        (slope, mean_y - slope * mean_x, Some(r2))
    } else {
        // One distinct size: the line through the origin.
        (mean_y / mean_x, 0.0, None)
    };
    ScalingSummary {
        smallest_images: small.0 as usize,
        largest_images: large.0 as usize,
        per_image_cost_ratio: ratio,
        fit_us_per_image: slope * 1e6,
        fit_intercept_secs: intercept,
        fit_r_squared: r2,
    }
}

/// Judges a peak against the memory goal `3 × decoded + model`: returns `(goal, within)`.
pub fn memory_goal(peak_rss_bytes: u64, decoded_bytes: u64, model_param_bytes: u64) -> (u64, bool) {
    let goal = MEMORY_GOAL_FACTOR * decoded_bytes + model_param_bytes;
    (goal, peak_rss_bytes < goal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_costs_give_a_ratio_of_one_and_an_exact_fit() {
        // 2 s fixed + 10 µs per image.
        let pts: Vec<(usize, f64)> = [15_000, 30_000, 60_000]
            .iter()
            .map(|&n| (n, 2.0 + n as f64 * 10e-6))
            .collect();
        let s = scaling_summary(&pts);
        assert_eq!((s.smallest_images, s.largest_images), (15_000, 60_000));
        assert!((s.fit_us_per_image - 10.0).abs() < 1e-9, "{s:?}");
        assert!((s.fit_intercept_secs - 2.0).abs() < 1e-9, "{s:?}");
        assert!((s.fit_r_squared.unwrap() - 1.0).abs() < 1e-12);
        // The fixed cost is spread over more images at 60k: per-image ratio below 1.
        let expected = (2.0 / 60_000.0 + 10e-6) / (2.0 / 15_000.0 + 10e-6);
        assert!((s.per_image_cost_ratio - expected).abs() < 1e-12);
        // Purely proportional costs: ratio exactly 1.
        let s = scaling_summary(&[(60_000, 6.0), (15_000, 1.5), (30_000, 3.0)]);
        assert!((s.per_image_cost_ratio - 1.0).abs() < 1e-12);
        assert!(s.fit_intercept_secs.abs() < 1e-9);
    }

    #[test]
    fn quadratic_costs_show_a_growing_ratio() {
        let s = scaling_summary(&[(1_000, 1.0), (2_000, 4.0), (4_000, 16.0)]);
        assert!((s.per_image_cost_ratio - 4.0).abs() < 1e-12);
        assert!(s.fit_r_squared.unwrap() < 1.0);
    }

    #[test]
    fn degenerate_inputs_do_not_divide_by_zero() {
        let s = scaling_summary(&[]);
        assert_eq!(s.per_image_cost_ratio, 1.0);
        assert_eq!(s.fit_r_squared, None);
        // Repeated (capped) sizes: one distinct size, no fit quality.
        let s = scaling_summary(&[(2_000, 1.0), (2_000, 1.0), (0, 0.0)]);
        assert_eq!(s.largest_images, 2_000);
        assert_eq!(s.per_image_cost_ratio, 1.0);
        assert_eq!(s.fit_r_squared, None);
        assert!((s.fit_us_per_image - 500.0).abs() < 1e-9);
    }

    #[test]
    fn memory_goal_is_three_times_decoded_plus_model() {
        assert_eq!(memory_goal(100, 40, 10), (130, true));
        assert_eq!(memory_goal(130, 40, 10), (130, false));
        assert_eq!(memory_goal(131, 40, 10), (130, false));
    }

    #[test]
    fn sizes_are_capped_at_the_pool_in_order() {
        assert_eq!(
            capped_sizes(&[60_000, 15_000, 30_000], 20_000),
            vec![(60_000, 20_000), (15_000, 15_000), (30_000, 20_000)]
        );
    }
}
