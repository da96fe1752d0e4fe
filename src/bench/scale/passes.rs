//! Timed pseudo-labelling passes over prefixes of the unlabelled pool, with the engine's own
//! prediction (`steps::predict_pool`) and acceptance (`pseudo::decide_round`) code.

use std::time::Instant;

use burn::prelude::Device;

use super::report::PassRow;
use super::summary::capped_sizes;
use crate::bench::stats::median;
use crate::data::{ImageSet, ImageShape};
use crate::model::Classifier;
use crate::train::pseudo::{Mark, PolicySpec, RoundInput, decide_round};
use crate::train::signals::PoolSignals;
use crate::train::steps::predict_pool;

/// Images of the untimed warm-up pass run before the timed pseudo-labelling passes.
pub const WARMUP_PASS_IMAGES: usize = 512;

/// What every pass shares.
pub struct PassSetup<'a> {
    /// The trained model (inference mode).
    pub model: &'a Classifier,
    /// The unlabelled pool.
    pub pool: &'a ImageSet,
    /// Image shape.
    pub shape: ImageShape,
    /// Number of classes.
    pub num_classes: usize,
    /// Inference batch size.
    pub batch_size: usize,
    /// Whether predictions average each image and its mirror.
    pub hflip: bool,
    /// The pseudo-labelling policy and its parameters.
    pub policy: PolicySpec,
    /// Confidence threshold τ.
    pub threshold: f32,
    /// Labelled samples per class (the class prior).
    pub prior: Vec<usize>,
    /// A device without autodiff.
    pub device: &'a Device,
}

/// One timed pass: seconds predicting, seconds deciding, pseudo-labels accepted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PassTiming {
    /// Seconds predicting.
    pub predict_secs: f64,
    /// Seconds deciding.
    pub decide_secs: f64,
    /// Pseudo-labels accepted.
    pub accepted: usize,
}

/// Predicts and decides the first `n` images of the pool once.
pub fn time_pass(setup: &PassSetup<'_>, n: usize) -> PassTiming {
    let t0 = Instant::now();
    let mut predictions = predict_pool(
        setup.model,
        &setup.pool.pixels,
        &setup.pool.labels[..n],
        setup.shape,
        setup.num_classes,
        setup.batch_size,
        setup.hflip,
        &PoolSignals {
            mc_passes: setup.policy.mc_passes(),
            ..PoolSignals::none()
        },
        setup.device,
    );
    let predict_secs = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let policy = setup.policy.build();
    let marks = vec![Mark::None; n];
    let decision = decide_round(
        policy.as_ref(),
        &RoundInput::new(
            &predictions,
            &marks,
            setup.threshold,
            &setup.prior,
            setup.num_classes,
            1,
        ),
    );
    decision.mark(&mut predictions);
    PassTiming {
        predict_secs,
        decide_secs: t1.elapsed().as_secs_f64(),
        accepted: decision.accepted(),
    }
}

/// The row of `requested` (capped to `images`) from its repeated timings: median times, and
/// the last repeat's acceptance count (every repeat decides the same).
pub fn pass_row(requested: usize, images: usize, timings: &[PassTiming]) -> PassRow {
    let of = |f: fn(&PassTiming) -> f64| median(&timings.iter().map(f).collect::<Vec<_>>());
    let secs = of(|t| t.predict_secs + t.decide_secs);
    PassRow {
        requested,
        images,
        predict_secs: of(|t| t.predict_secs),
        decide_secs: of(|t| t.decide_secs),
        secs,
        images_per_sec: images as f64 / secs.max(1e-12),
        us_per_image: secs * 1e6 / images.max(1) as f64,
        accepted: timings.last().map_or(0, |t| t.accepted),
    }
}

/// One untimed warm-up pass, then `repeats` timed passes per requested pool size (capped at
/// the pool), in the order given; `progress` is told about each row.
pub fn time_passes(
    setup: &PassSetup<'_>,
    pool_sizes: &[usize],
    repeats: usize,
    mut progress: impl FnMut(&PassRow),
) -> Vec<PassRow> {
    time_pass(setup, WARMUP_PASS_IMAGES.min(setup.pool.len()));
    capped_sizes(pool_sizes, setup.pool.len())
        .into_iter()
        .map(|(requested, n)| {
            let timings: Vec<PassTiming> =
                (0..repeats.max(1)).map(|_| time_pass(setup, n)).collect();
            let row = pass_row(requested, n, &timings);
            progress(&row);
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(predict_secs: f64, decide_secs: f64, accepted: usize) -> PassTiming {
        PassTiming {
            predict_secs,
            decide_secs,
            accepted,
        }
    }

    #[test]
    fn a_row_reports_median_times_and_rates_of_its_repeats() {
        let row = pass_row(
            5_000,
            2_000,
            &[
                timing(1.0, 0.5, 7),
                timing(3.0, 0.1, 7),
                timing(2.0, 0.0, 7),
            ],
        );
        assert_eq!((row.requested, row.images, row.accepted), (5_000, 2_000, 7));
        assert_eq!(row.predict_secs, 2.0);
        assert_eq!(row.decide_secs, 0.1);
        // The median whole pass (2.0 s), not the sum of the two medians.
        assert_eq!(row.secs, 2.0);
        assert_eq!(row.images_per_sec, 1_000.0);
        assert_eq!(row.us_per_image, 1_000.0);
    }
}
