//! Axis ranges that plotters can draw, from values read off a metrics file.
//!
//! plotters computes tick marks by stepping through the range; an infinite range (a loss of
//! 1e307 overflows once smoothed or scaled) makes that loop forever, and a point far outside the
//! range becomes a line thousands of millions of pixels long. So ranges are built from finite
//! values only, capped at [`AXIS_LIMIT`], and points are pulled into a band around the range.

use std::ops::Range;

use crate::report::Point;

/// Largest magnitude an axis reaches; larger values are clipped at the chart's edge.
pub const AXIS_LIMIT: f64 = 1e15;
/// How many range widths a drawn point may lie beyond its axis (it is clipped there): far
/// enough for the visible part of a line to keep its direction.
const BAND: f64 = 10.0;

/// The x range of some series (at least one step wide), from their finite x values.
pub fn x_range<'a>(series: impl IntoIterator<Item = &'a [Point]>) -> Range<f64> {
    let (lo, hi) = series
        .into_iter()
        .flatten()
        .map(|&(x, _)| x)
        .filter(|x| x.is_finite())
        .map(|x| x.clamp(-AXIS_LIMIT, AXIS_LIMIT))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    if hi - lo < 1.0 {
        return lo - 0.5..lo + 0.5;
    }
    lo..hi
}

/// A range from 0 to 10% above the largest finite value (at least 0.001).
pub fn y_range_from_zero(values: impl IntoIterator<Item = f64>) -> Range<f64> {
    let top = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max)
        .min(AXIS_LIMIT);
    0.0..(top * 1.1).max(1e-3)
}

/// A percentage range up to 101, from 5 below the lowest finite value's multiple of 10 (at
/// least 0).
pub fn percent_range(values: impl IntoIterator<Item = f64>) -> Range<f64> {
    let lowest = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(100.0_f64, f64::min);
    ((lowest / 10.0).floor() * 10.0 - 5.0).max(0.0)..101.0
}

/// The points to draw against y range `y`: those with finite coordinates, with y pulled into
/// a band of [`BAND`] range widths around `y`.
pub fn drawable(points: &[Point], y: &Range<f64>) -> Vec<Point> {
    let span = (y.end - y.start).abs().max(f64::MIN_POSITIVE);
    let (lo, hi) = (y.start - BAND * span, y.end + BAND * span);
    points
        .iter()
        .filter(|(x, v)| x.is_finite() && v.is_finite())
        .map(|&(x, v)| (x, v.clamp(lo, hi)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_stay_finite_and_bounded_on_extreme_values() {
        let huge = [1e307, f64::MAX, f64::INFINITY, f64::NAN, 2.0];
        let y = y_range_from_zero(huge);
        assert_eq!(y, 0.0..AXIS_LIMIT * 1.1);
        assert_eq!(y_range_from_zero([f64::INFINITY, f64::NAN]), 0.0..1e-3);
        assert_eq!(y_range_from_zero([2.0, 1.0]), 0.0..2.2);
        let p = percent_range([f64::NEG_INFINITY, -1e308, 87.0]);
        assert_eq!(p, 0.0..101.0);
        assert_eq!(percent_range([87.0, f64::NAN]), 75.0..101.0);
        let points: Vec<Point> = vec![(0.0, 1.0), (f64::INFINITY, 1.0), (1e308, 2.0), (3.0, 1.0)];
        let x = x_range([&points[..]]);
        assert_eq!(x, 0.0..AXIS_LIMIT);
        assert_eq!(x_range([&[(f64::NAN, 1.0)][..]]), 0.0..1.0);
        assert_eq!(x_range([&[(5.0, 1.0)][..]]), 4.5..5.5);
    }

    #[test]
    fn drawable_points_are_finite_and_near_the_range() {
        let y = 0.0..2.0;
        let points = [
            (0.0, 1.0),
            (1.0, 1e307),
            (2.0, f64::NAN),
            (3.0, -f64::INFINITY),
            (4.0, 5.0),
        ];
        assert_eq!(
            drawable(&points, &y),
            vec![(0.0, 1.0), (1.0, 22.0), (4.0, 5.0)]
        );
    }
}
