//! Unit tests of the pool signals.

use super::*;
use crate::model::{ModelConfig, ModelKind};
use crate::train::events::PoolPrediction;
use crate::train::steps::predict_pool;

fn device() -> Device {
    crate::device::burn_device(crate::device::resolve(crate::device::DeviceSpec::Auto).unwrap())
}

const SHAPE: ImageShape = ImageShape {
    channels: 1,
    height: 8,
    width: 8,
};

/// `n` deterministic, varied 8×8 images.
fn pixels(n: usize) -> Vec<u8> {
    (0..n * 64)
        .map(|i| ((i * 37 + i / 64 * 91) % 256) as u8)
        .collect()
}

fn model(dropout: f64) -> Classifier {
    ModelConfig::new(ModelKind::Default, 1, 8, 8, 3)
        .with_dropout(dropout)
        .with_hidden(16)
        .init(&device())
}

fn pool(
    model: &Classifier,
    n: usize,
    batch: usize,
    mirror: bool,
    signals: &PoolSignals<'_>,
) -> Vec<PoolPrediction> {
    predict_pool(
        model,
        &pixels(n),
        &vec![None; n],
        SHAPE,
        3,
        batch,
        mirror,
        signals,
        &device(),
    )
}

fn uncertainties(p: &[PoolPrediction]) -> Vec<f32> {
    p.iter().map(|p| p.uncertainty.expect("computed")).collect()
}

fn mc(passes: usize, seed: u64) -> PoolSignals<'static> {
    PoolSignals {
        mc_passes: passes,
        mc_seed: seed,
        centroids: None,
    }
}

#[test]
fn sample_standard_deviation() {
    assert_eq!(std_dev(&[]), 0.0);
    assert_eq!(std_dev(&[0.7]), 0.0);
    assert_eq!(std_dev(&[0.5, 0.5, 0.5]), 0.0);
    assert!((std_dev(&[0.2, 0.4]) - 0.141_421_36).abs() < 1e-6);
    assert!((std_dev(&[1.0, 2.0, 3.0, 4.0]) - 1.290_994_4).abs() < 1e-6);
}

#[test]
fn masks_keep_one_minus_p_scaled_and_repeat_for_the_same_seed() {
    assert_eq!(dropout_masks(1, 0, 2, 3, 0.0), vec![1.0; 6]);
    let a = dropout_masks(9, 5, 10, 100, 0.3);
    assert_eq!(a.len(), 1000);
    let scale = (1.0 / 0.7) as f32;
    assert!(a.iter().all(|&m| m == 0.0 || m == scale));
    let dropped = a.iter().filter(|&&m| m == 0.0).count();
    assert!(
        (200..400).contains(&dropped),
        "{dropped} of 1000 dropped at p = 0.3"
    );
    assert_eq!(a, dropout_masks(9, 5, 10, 100, 0.3));
    assert_ne!(a, dropout_masks(9, 6, 10, 100, 0.3));
    assert_ne!(a, dropout_masks(10, 5, 10, 100, 0.3));
}

#[test]
fn without_dropout_the_passes_agree() {
    let m = model(0.0);
    let u = uncertainties(&pool(&m, 6, 4, false, &mc(5, 3)));
    assert!(u.iter().all(|&s| s.abs() < 1e-6), "{u:?}");
}

#[test]
fn with_dropout_the_passes_vary_reproducibly_whatever_the_batching() {
    let m = model(0.5);
    let a = uncertainties(&pool(&m, 7, 256, false, &mc(8, 3)));
    assert!(a.iter().all(|&s| s > 0.0), "{a:?}");
    assert_eq!(a, uncertainties(&pool(&m, 7, 256, false, &mc(8, 3))));
    let rebatched = uncertainties(&pool(&m, 7, 3, false, &mc(8, 3)));
    for (x, y) in a.iter().zip(&rebatched) {
        assert!((x - y).abs() < 1e-5, "{a:?} vs {rebatched:?}");
    }
    assert_ne!(a, uncertainties(&pool(&m, 7, 256, false, &mc(8, 4))));
    let mirrored = uncertainties(&pool(&m, 7, 256, true, &mc(8, 3)));
    assert!(mirrored.iter().all(|&s| s > 0.0), "{mirrored:?}");
}

#[test]
fn signals_leave_the_probabilities_as_they_are() {
    let m = model(0.3);
    for mirror in [false, true] {
        let plain = pool(&m, 5, 2, mirror, &PoolSignals::none());
        assert!(
            plain
                .iter()
                .all(|p| p.uncertainty.is_none() && p.outlier.is_none())
        );
        let labelled = Centroids::from_embeddings(&[1.0; 32], 16, &[0, 1]);
        let signals = PoolSignals {
            centroids: Some(&labelled),
            ..mc(4, 1)
        };
        let with = pool(&m, 5, 2, mirror, &signals);
        for (a, b) in plain.iter().zip(&with) {
            assert_eq!(a.probs, b.probs);
            assert!(b.uncertainty.is_some() && b.outlier.is_some());
        }
    }
}

#[test]
fn a_sample_on_a_centroid_scores_zero_and_a_far_one_more() {
    // Class 0 around (1, 0, 0), class 1 around (0, 1, 0); scale does not matter.
    let embeddings = [2.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 3.0, 0.0];
    let c = Centroids::from_embeddings(&embeddings, 3, &[0, 0, 1]);
    assert_eq!(c.dims(), 3);
    assert!(c.score(&[7.0, 0.0, 0.0]).abs() < 1e-6);
    assert!(c.score(&[0.0, 0.5, 0.0]).abs() < 1e-6);
    let between = c.score(&[1.0, 1.0, 0.0]);
    let far = c.score(&[0.0, 0.0, 1.0]);
    assert!((between - (1.0 - 0.5f32.sqrt())).abs() < 1e-6, "{between}");
    assert!((far - 1.0).abs() < 1e-6, "{far}");
    assert!(far > between && between > 0.0);
    assert_eq!(c.score(&[0.0, 0.0, 0.0]), 1.0);
    assert_eq!(
        Centroids::from_embeddings(&[], 3, &[]).score(&[1.0, 0.0, 0.0]),
        1.0
    );
}

#[test]
fn labelled_images_lie_on_their_own_centroid() {
    let m = model(0.3);
    let d = device();
    let set = ImageSet {
        shape: SHAPE,
        pixels: pixels(1),
        labels: vec![Some(2)],
        files: vec!["a.png".into()],
    };
    let c = labelled_centroids(&m, &set, 8, false, &d, || false).unwrap();
    let signals = PoolSignals {
        centroids: Some(&c),
        ..PoolSignals::none()
    };
    let scores: Vec<f32> = pool(&m, 3, 8, false, &signals)
        .iter()
        .map(|p| p.outlier.unwrap())
        .collect();
    assert!(scores[0].abs() < 1e-5, "{scores:?}");
    assert!(scores[1] > scores[0] && scores[2] > scores[0], "{scores:?}");
    assert!(labelled_centroids(&m, &set, 8, false, &d, || true).is_none());
}
