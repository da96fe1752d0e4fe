//! The photo recipe's training-side augmentation (torchvision's `RandomResizedCrop` and
//! `ColorJitter`), on `u8` CHW images already at the model's input size: a random crop of part
//! of the image, scaled back to the full size, then random brightness, contrast and saturation.

use rand::Rng;

use super::image_set::ImageShape;

/// Random resized crop and colour jitter.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PhotoAugment {
    /// Smallest share of the image's area a crop keeps, in (0, 1] (1 = no crop). The share is
    /// uniform in `[min_scale, 1]`, the aspect ratio log-uniform in [3/4, 4/3].
    pub min_scale: f32,
    /// Brightness, contrast and saturation factors are drawn from `[1 − jitter, 1 + jitter]`
    /// (0 = none; saturation only for colour images).
    pub jitter: f32,
}

impl PhotoAugment {
    /// Whether it never changes an image.
    pub fn is_identity(&self) -> bool {
        self.min_scale >= 1.0 && self.jitter <= 0.0
    }

    /// Augments `image` (one CHW image of `shape`) in place.
    pub fn apply_in_place<R: Rng>(&self, image: &mut [u8], shape: ImageShape, rng: &mut R) {
        if self.min_scale < 1.0 {
            resized_crop(image, shape, self.min_scale, rng);
        }
        if self.jitter > 0.0 {
            jitter(image, shape, self.jitter, rng);
        }
    }
}

fn resized_crop<R: Rng>(image: &mut [u8], shape: ImageShape, min_scale: f32, rng: &mut R) {
    let (h, w) = (shape.height, shape.width);
    let area = rng.random_range(min_scale..=1.0);
    let log_ratio = rng.random_range((0.75f32).ln()..=(4.0f32 / 3.0).ln());
    let ratio = log_ratio.exp();
    let cw = (((area * ratio).sqrt() * w as f32).round() as usize).clamp(1, w);
    let ch = (((area / ratio).sqrt() * h as f32).round() as usize).clamp(1, h);
    let x0 = rng.random_range(0..=w - cw);
    let y0 = rng.random_range(0..=h - ch);
    let plane = h * w;
    let source = image.to_vec();
    // Bilinear, sampling pixel centres of the crop.
    let sx = cw as f32 / w as f32;
    let sy = ch as f32 / h as f32;
    for c in 0..shape.channels {
        let src = &source[c * plane..(c + 1) * plane];
        for y in 0..h {
            let fy = (y0 as f32 + (y as f32 + 0.5) * sy - 0.5).clamp(0.0, (h - 1) as f32);
            let (y1, ty) = (fy.floor() as usize, fy.fract());
            let y2 = (y1 + 1).min(h - 1);
            for x in 0..w {
                let fx = (x0 as f32 + (x as f32 + 0.5) * sx - 0.5).clamp(0.0, (w - 1) as f32);
                let (x1, tx) = (fx.floor() as usize, fx.fract());
                let x2 = (x1 + 1).min(w - 1);
                let at = |yy: usize, xx: usize| src[yy * w + xx] as f32;
                let top = at(y1, x1) * (1.0 - tx) + at(y1, x2) * tx;
                let bottom = at(y2, x1) * (1.0 - tx) + at(y2, x2) * tx;
                image[c * plane + y * w + x] = (top * (1.0 - ty) + bottom * ty).round() as u8;
            }
        }
    }
}

fn jitter<R: Rng>(image: &mut [u8], shape: ImageShape, amount: f32, rng: &mut R) {
    let mut factor = || rng.random_range(1.0 - amount..=1.0 + amount);
    let (brightness, contrast) = (factor(), factor());
    let saturation = if shape.channels == 3 { factor() } else { 1.0 };
    let plane = shape.height * shape.width;
    let mut px: Vec<f32> = image.iter().map(|&p| p as f32 * brightness).collect();
    let mean = px.iter().sum::<f32>() / px.len().max(1) as f32;
    for p in &mut px {
        *p = (*p - mean) * contrast + mean;
    }
    if shape.channels == 3 && saturation != 1.0 {
        for i in 0..plane {
            let (r, g, b) = (px[i], px[plane + i], px[2 * plane + i]);
            let grey = 0.299 * r + 0.587 * g + 0.114 * b;
            for c in 0..3 {
                let p = &mut px[c * plane + i];
                *p = grey + (*p - grey) * saturation;
            }
        }
    }
    for (dst, p) in image.iter_mut().zip(px) {
        *dst = p.round().clamp(0.0, 255.0) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const RGB: ImageShape = ImageShape {
        channels: 3,
        height: 16,
        width: 16,
    };

    #[test]
    fn off_is_the_identity() {
        assert!(
            PhotoAugment {
                min_scale: 1.0,
                jitter: 0.0
            }
            .is_identity()
        );
        assert!(
            !PhotoAugment {
                min_scale: 0.5,
                jitter: 0.0
            }
            .is_identity()
        );
    }

    #[test]
    fn a_crop_magnifies_part_of_the_image() {
        // Left half 0, right half 200: a crop of at most half the area, scaled back, shows a
        // wider band of one side or a blend; the image stays within the two values and changes.
        let mut image: Vec<u8> = (0..RGB.len())
            .map(|i| if i % 16 < 8 { 0 } else { 200 })
            .collect();
        let original = image.clone();
        let aug = PhotoAugment {
            min_scale: 0.2,
            jitter: 0.0,
        };
        let mut changed = 0;
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..20 {
            image.copy_from_slice(&original);
            aug.apply_in_place(&mut image, RGB, &mut rng);
            assert!(image.iter().all(|&p| p <= 200));
            changed += (image != original) as usize;
        }
        assert!(changed >= 15, "{changed} of 20 crops changed the image");
    }

    #[test]
    fn jitter_keeps_grey_grey_and_moves_colours() {
        let aug = PhotoAugment {
            min_scale: 1.0,
            jitter: 0.4,
        };
        let mut rng = StdRng::seed_from_u64(1);
        // A grey image (equal channels) stays grey: saturation has nothing to move.
        let mut grey: Vec<u8> = (0..RGB.len()).map(|i| (i % 256 / 2) as u8 + 40).collect();
        let plane = 256;
        for i in 0..plane {
            grey[plane + i] = grey[i];
            grey[2 * plane + i] = grey[i];
        }
        aug.apply_in_place(&mut grey, RGB, &mut rng);
        for i in 0..plane {
            assert!(
                grey[i].abs_diff(grey[plane + i]) <= 1
                    && grey[i].abs_diff(grey[2 * plane + i]) <= 1
            );
        }
        // Colour: some draw changes the pixels.
        let red: Vec<u8> = (0..RGB.len())
            .map(|i| if i < plane { 180 } else { 40 })
            .collect();
        let moved = (0..10).any(|_| {
            let mut x = red.clone();
            aug.apply_in_place(&mut x, RGB, &mut rng);
            x != red
        });
        assert!(moved);
    }
}
