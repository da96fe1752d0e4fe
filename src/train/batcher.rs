//! Turning in-memory `u8` images into batches: epoch plans that mix labelled and
//! pseudo-labelled samples, augmentation and tensor conversion.

use burn::prelude::*;
use rand::Rng;
use rand::seq::SliceRandom;

use crate::data::ImageShape;
use crate::data::augment::Augment;

/// Where a training sample's pixels live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Index into the labelled training set.
    Train(usize),
    /// Index into the unlabelled pool.
    Pool(usize),
}

/// One training sample: pixels, target class, and the weight of its pseudo-label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Item {
    /// Where its pixels are.
    pub source: Source,
    /// Target class.
    pub class: usize,
    /// `Some(w)`: a pseudo-label of weight `w` in [0, 1] (scaled by λ in the loss, so hard and
    /// soft policies share one training step); `None`: a real label.
    pub weight: Option<f32>,
}

impl Item {
    /// A sample with a real (given or hand-made) label.
    pub fn labelled(source: Source, class: usize) -> Self {
        Self {
            source,
            class,
            weight: None,
        }
    }

    /// A pseudo-labelled sample of weight `weight`.
    pub fn pseudo(source: Source, class: usize, weight: f32) -> Self {
        Self {
            source,
            class,
            weight: Some(weight),
        }
    }

    /// Whether its label is a pseudo-label.
    pub fn is_pseudo(&self) -> bool {
        self.weight.is_some()
    }
}

/// One real-label item per image of a labelled set, in the set's order.
pub fn labeled_items(set: &crate::data::ImageSet) -> Vec<Item> {
    set.class_labels()
        .into_iter()
        .enumerate()
        .map(|(i, class)| Item::labelled(Source::Train(i), class))
        .collect()
}

/// Splits one epoch into batches.
///
/// Without pseudo-labels this is a shuffled pass over the labelled items. With them, every batch
/// holds at least `ceil(min_labeled_share × batch)` labelled items (cycling through reshuffled
/// labelled items as needed) and the epoch is one pass over the pseudo-labelled items. When the
/// labelled items are already a large enough share, it is a shuffled pass over both.
pub fn plan_epoch<R: Rng>(
    labeled: &[Item],
    pseudo: &[Item],
    batch_size: usize,
    min_labeled_share: f32,
    rng: &mut R,
) -> Vec<Vec<Item>> {
    let batch_size = batch_size.max(1);
    let total = labeled.len() + pseudo.len();
    if total == 0 {
        return Vec::new();
    }
    let natural_share = labeled.len() as f32 / total as f32;
    if pseudo.is_empty() || labeled.is_empty() || natural_share >= min_labeled_share {
        let mut all: Vec<Item> = labeled.iter().chain(pseudo).copied().collect();
        all.shuffle(rng);
        return all.chunks(batch_size).map(<[Item]>::to_vec).collect();
    }
    let labeled_slots =
        ((batch_size as f32 * min_labeled_share).ceil() as usize).clamp(1, batch_size);
    let pseudo_slots = batch_size - labeled_slots;
    let mut pseudo_order: Vec<Item> = pseudo.to_vec();
    pseudo_order.shuffle(rng);
    let mut labeled_order: Vec<Item> = Vec::new();
    let mut batches = Vec::new();
    let chunks: Vec<Vec<Item>> = if pseudo_slots == 0 {
        vec![Vec::new(); labeled.len().div_ceil(batch_size)]
    } else {
        pseudo_order
            .chunks(pseudo_slots)
            .map(<[Item]>::to_vec)
            .collect()
    };
    for chunk in chunks {
        let mut batch = Vec::with_capacity(batch_size);
        for _ in 0..labeled_slots {
            if labeled_order.is_empty() {
                labeled_order = labeled.to_vec();
                labeled_order.shuffle(rng);
            }
            batch.push(labeled_order.pop().expect("labelled items are not empty"));
        }
        batch.extend(chunk);
        batches.push(batch);
    }
    batches
}

/// Converts `n` CHW `u8` images laid out contiguously into a `[n, c, h, w]` tensor in `[0, 1]`.
pub fn images_to_tensor(pixels: &[u8], n: usize, shape: ImageShape, device: &Device) -> Tensor<4> {
    let data: Vec<f32> = pixels.iter().map(|&p| p as f32 / 255.0).collect();
    floats_to_tensor(data, n, shape, device)
}

/// Puts `n` CHW images already scaled to `[0, 1]` floats into a `[n, c, h, w]` tensor.
pub fn floats_to_tensor(data: Vec<f32>, n: usize, shape: ImageShape, device: &Device) -> Tensor<4> {
    debug_assert_eq!(data.len(), n * shape.len());
    Tensor::from_data(
        TensorData::new(data, [n, shape.channels, shape.height, shape.width]),
        device,
    )
}

/// Gathers the pixels of `items` into one contiguous buffer, labelled ones augmented with
/// `augment` and pseudo-labelled ones with `pseudo_augment`.
pub fn gather_pixels<'a, R: Rng>(
    items: &[Item],
    pixels_of: impl Fn(Source) -> &'a [u8],
    shape: ImageShape,
    augment: &Augment,
    pseudo_augment: &Augment,
    rng: &mut R,
) -> Vec<u8> {
    let len = shape.len();
    let mut out = vec![0u8; items.len() * len];
    for (k, item) in items.iter().enumerate() {
        let dst = &mut out[k * len..(k + 1) * len];
        let src = pixels_of(item.source);
        let augment = if item.is_pseudo() {
            pseudo_augment
        } else {
            augment
        };
        if augment.is_identity() {
            dst.copy_from_slice(src);
        } else {
            augment.apply(src, shape, rng, dst);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn items(n: usize, pseudo: bool) -> Vec<Item> {
        (0..n)
            .map(|i| {
                if pseudo {
                    Item::pseudo(Source::Pool(i), i % 3, 1.0)
                } else {
                    Item::labelled(Source::Train(i), i % 3)
                }
            })
            .collect()
    }

    #[test]
    fn labelled_only_epoch_covers_every_item_once() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let plan = plan_epoch(&items(10, false), &[], 4, 0.25, &mut rng);
        assert_eq!(plan.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 4, 2]);
        let mut seen: Vec<_> = plan.concat().iter().map(|i| i.source).collect();
        seen.sort_by_key(|s| match s {
            Source::Train(i) | Source::Pool(i) => *i,
        });
        seen.dedup();
        assert_eq!(seen.len(), 10);
    }

    #[test]
    fn every_mixed_batch_keeps_the_minimum_labelled_share() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let plan = plan_epoch(&items(5, false), &items(100, true), 8, 0.25, &mut rng);
        // 2 labelled + 6 pseudo per batch; 100 pseudo -> 17 batches
        assert_eq!(plan.len(), 17);
        for b in &plan {
            assert!(b.iter().filter(|i| !i.is_pseudo()).count() >= 2);
        }
        assert_eq!(plan.concat().iter().filter(|i| i.is_pseudo()).count(), 100);
    }

    #[test]
    fn plans_are_deterministic_for_a_seed() {
        let a = plan_epoch(
            &items(5, false),
            &items(30, true),
            8,
            0.5,
            &mut rand::rngs::StdRng::seed_from_u64(3),
        );
        let b = plan_epoch(
            &items(5, false),
            &items(30, true),
            8,
            0.5,
            &mut rand::rngs::StdRng::seed_from_u64(3),
        );
        assert_eq!(a, b);
    }

    #[test]
    fn only_pseudo_labelled_samples_get_the_pseudo_augmentation() {
        let shape = ImageShape {
            channels: 1,
            height: 6,
            width: 6,
        };
        let bright = vec![255u8; shape.len()];
        let mut batch = items(20, false);
        batch.extend(items(20, true));
        let cutout = Augment {
            cutout: 3,
            ..Augment::none()
        };
        let pixels = gather_pixels(
            &batch,
            |_| &bright,
            shape,
            &Augment::none(),
            &cutout,
            &mut rand::rngs::StdRng::seed_from_u64(4),
        );
        for (k, image) in pixels.chunks(shape.len()).enumerate() {
            let erased = image.iter().filter(|&&v| v == 0).count();
            if batch[k].is_pseudo() {
                assert!(
                    (1..=9).contains(&erased),
                    "pseudo sample {k}: {erased} erased"
                );
            } else {
                assert_eq!(erased, 0, "labelled sample {k} was augmented");
            }
        }
    }
}
