//! Unit tests of the training and prediction steps.

use super::*;

#[test]
fn weights_split_supervised_and_pseudo_terms() {
    let pseudo = unit_pseudo_weights(&[false, false, true, true]);
    let w = sample_weights(&[0, 1, 0, 1], &pseudo, &[1.0, 3.0], 0.5);
    assert_eq!(w, vec![0.25, 0.75, 0.25, 0.25]);
    // no pseudo samples: supervised weights sum to 1
    let w = sample_weights(&[0, 0], &[None, None], &[1.0, 1.0], 2.0);
    assert_eq!(w, vec![0.5, 0.5]);
}

#[test]
fn pseudo_label_weights_scale_their_share_of_lambda() {
    let w = sample_weights(&[0, 1, 0], &[None, Some(1.0), Some(0.5)], &[1.0, 1.0], 0.5);
    assert_eq!(w, vec![1.0, 0.25, 0.125]);
    let w = sample_weights(&[0, 1], &[Some(0.0), Some(1.0)], &[1.0, 1.0], 1.0);
    assert_eq!(w, vec![0.0, 0.5], "weight 0 trains nothing");
}

#[test]
fn top_k_orders_by_probability() {
    assert_eq!(top_k(&[0.1, 0.6, 0.3], 2), vec![(1, 0.6), (2, 0.3)]);
    assert_eq!(argmax(&[0.2, 0.2, 0.1]), 0);
}

#[test]
fn report_counts_predictions() {
    let probs = [0.9, 0.1, 0.2, 0.8, 0.7, 0.3];
    let r = report_from_probabilities(&probs, &[0, 1, 1], 2);
    assert_eq!(r.confusion.counts, vec![vec![1, 0], vec![1, 1]]);
    assert!((r.accuracy - 2.0 / 3.0).abs() < 1e-9);
    // Confidences 0.9 (right), 0.8 (right), 0.7 (wrong), each alone in its bin.
    let bins = &r.calibration.as_ref().unwrap().bins;
    let occupied: Vec<u64> = bins.iter().map(|b| b.count).filter(|&c| c > 0).collect();
    assert_eq!(occupied, vec![1, 1, 1]);
    let ece = r.ece.unwrap();
    assert!((ece - (0.1 + 0.2 + 0.7) / 3.0).abs() < 1e-6, "{ece}");
}

#[test]
fn cross_entropy_matches_hand_computation() {
    let device = crate::device::burn_device(
        crate::device::resolve(crate::device::DeviceSpec::Auto).unwrap(),
    );
    let logits = Tensor::<2>::from_data(
        TensorData::new(vec![0.0f32, 0.0, 2.0, 0.0], [2, 2]),
        &device,
    );
    let targets = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1], [2]), &device);
    let ce: Vec<f32> = cross_entropy(logits, targets)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert!((ce[0] - std::f32::consts::LN_2).abs() < 1e-5);
    let expected = (1.0f32 + 2.0f32.exp()).ln();
    assert!((ce[1] - expected).abs() < 1e-5, "{ce:?}");
}

#[test]
fn mixup_draw_pairs_every_sample_and_keeps_the_larger_share() {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    assert!(Mixup::draw(0.0, 8, &mut rng).is_none(), "alpha 0 is off");
    assert!(
        Mixup::draw(1.0, 1, &mut rng).is_none(),
        "one sample has no partner"
    );
    for _ in 0..50 {
        let m = Mixup::draw(0.4, 8, &mut rng).unwrap();
        assert!((0.5..=1.0).contains(&m.lambda), "{}", m.lambda);
        let mut seen = m.partner.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..8).collect::<Vec<_>>());
    }
    let a = Mixup::draw(1.0, 5, &mut rand::rngs::StdRng::seed_from_u64(3));
    let b = Mixup::draw(1.0, 5, &mut rand::rngs::StdRng::seed_from_u64(3));
    assert_eq!(a, b, "same seed, same mixup");
}

#[test]
fn mixup_blends_each_image_with_its_partner() {
    let m = Mixup {
        lambda: 0.75,
        partner: vec![1, 0],
    };
    let out = m.blend(&[0, 255, 255, 0], 2);
    let expected = [0.25, 0.75, 0.75, 0.25];
    assert_eq!(out.len(), expected.len(), "{out:?}");
    for (o, e) in out.iter().zip(expected) {
        assert!((o - e).abs() < 1e-6, "{out:?}");
    }
}

#[test]
fn mixup_blends_the_losses_against_both_targets() {
    use crate::model::{ModelConfig, ModelKind};
    use burn::optim::AdamConfig;
    let device = crate::device::burn_device(
        crate::device::resolve(crate::device::DeviceSpec::Auto).unwrap(),
    )
    .autodiff();
    let shape = ImageShape {
        channels: 1,
        height: 8,
        width: 8,
    };
    let pixels: Vec<u8> = (0..4 * 64).map(|i| (i * 37 % 256) as u8).collect();
    let targets = [0, 1, 2, 1];
    let pseudo = unit_pseudo_weights(&[false, false, true, true]);
    let initial = ModelConfig::new(ModelKind::Small, 1, 8, 8, 3).init(&device);
    let step = |mixup: Option<&Mixup>| {
        let model = initial.clone();
        let mut optimizer = AdamConfig::new().init();
        let batch = Batch {
            pixels: &pixels,
            shape,
            targets: &targets,
            pseudo_weights: &pseudo,
        };
        train_step_mixed(
            model,
            &mut optimizer,
            batch,
            mixup,
            &[1.0; 3],
            0.5,
            1e-3.into(),
            &device,
        )
        .1
    };
    let plain = step(None);
    // λ = 1: the partner has no share, so this is the plain step.
    let own_only = step(Some(&Mixup {
        lambda: 1.0,
        partner: vec![3, 2, 1, 0],
    }));
    assert!(
        (plain.total - own_only.total).abs() < 1e-5,
        "{plain:?} {own_only:?}"
    );
    // Pairing every sample with itself changes nothing either.
    let same = step(Some(&Mixup {
        lambda: 0.6,
        partner: vec![0, 1, 2, 3],
    }));
    assert!(
        (plain.total - same.total).abs() < 1e-5,
        "{plain:?} {same:?}"
    );
    // A real blend of different images and targets gives different losses. The parts are
    // compared, not the total: with an unseeded initialisation the weighted total of the blend
    // can land within 1e-4 of the plain one by chance (seen: 1.65657 against 1.65654).
    let mixed = step(Some(&Mixup {
        lambda: 0.6,
        partner: vec![1, 0, 3, 2],
    }));
    let pseudo_change = (plain.pseudo.unwrap() - mixed.pseudo.unwrap()).abs();
    assert!(
        (plain.supervised - mixed.supervised)
            .abs()
            .max(pseudo_change)
            > 1e-4,
        "{plain:?} {mixed:?}"
    );
}
