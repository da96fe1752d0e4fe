//! Data augmentation on `u8` CHW images: RandAugment, random translation, horizontal flip and
//! cutout.

use rand::Rng;

use super::image_set::ImageShape;
use super::photo_augment::PhotoAugment;
use super::rand_augment::RandAugment;

/// Random augmentation applied to training images.
///
/// First, when `strong` is set, RandAugment's operations (the strong augmentation of FixMatch
/// and Noisy Student), then a translation by up to `max_shift` pixels in x and y with zero
/// padding (the same as a random crop of a zero-padded image), then, when `hflip` is set, a
/// horizontal flip with probability one half, then, when `cutout` is set, a `cutout`×`cutout`
/// square at a uniformly random centre (clipped at the border) set to 0. RandAugment and cutout
/// are the strong noise that keeps a student trained on pseudo-labels from merely copying its
/// teacher.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Augment {
    /// Largest shift, in pixels, along each axis (0 = no translation).
    pub max_shift: usize,
    /// Whether to mirror the image left-right half of the time.
    pub hflip: bool,
    /// Side, in pixels, of the square erased by cutout (0 = off).
    #[serde(default)]
    pub cutout: usize,
    /// RandAugment before the shift (`None` = off).
    #[serde(default)]
    pub strong: Option<RandAugment>,
    /// Random resized crop and colour jitter, first of all (`None` = off).
    #[serde(default)]
    pub photo: Option<PhotoAugment>,
}

/// A copy of `pixels` (rows of `width` pixels, any number of images and channels) with every
/// row reversed: the mirror image of each image.
pub fn mirror_rows(pixels: &[u8], width: usize) -> Vec<u8> {
    let mut out = pixels.to_vec();
    for row in out.chunks_exact_mut(width.max(1)) {
        row.reverse();
    }
    out
}

impl Default for Augment {
    /// No augmentation.
    fn default() -> Self {
        Self::none()
    }
}

impl Augment {
    /// No augmentation at all: [`Augment::apply`] copies the image unchanged.
    pub fn none() -> Self {
        Self {
            max_shift: 0,
            hflip: false,
            cutout: 0,
            strong: None,
            photo: None,
        }
    }

    /// Whether [`Augment::apply`] always returns its input unchanged.
    pub fn is_identity(&self) -> bool {
        self.max_shift == 0
            && !self.hflip
            && self.cutout == 0
            && self.strong.is_none_or(|s| s.is_identity())
            && self.photo.is_none_or(|p| p.is_identity())
    }

    /// Writes an augmented copy of `src` (one CHW image of `shape`) into `dst`.
    ///
    /// Runs RandAugment first when `strong` is set (drawing its operations), then draws a shift
    /// `dx, dy` uniformly in `-max_shift..=max_shift`, moves the content by it (pixels moved in
    /// from outside are 0), then mirrors it horizontally with probability 0.5 when `hflip` is
    /// set, and finally erases a random `cutout` square. The identity
    /// augmentation copies `src` and draws nothing from `rng`.
    ///
    /// # Panics
    /// When `src` or `dst` is not exactly `shape.len()` long.
    pub fn apply<R: Rng>(&self, src: &[u8], shape: ImageShape, rng: &mut R, dst: &mut [u8]) {
        assert_eq!(
            src.len(),
            shape.len(),
            "augment: source length does not match the shape"
        );
        assert_eq!(
            dst.len(),
            shape.len(),
            "augment: destination length does not match the shape"
        );
        if self.is_identity() {
            dst.copy_from_slice(src);
            return;
        }
        // The photo augmentation and RandAugment into a copy (with `dst` as RandAugment's
        // scratch), which the shift then reads.
        let photo = self.photo.filter(|p| !p.is_identity());
        let strong = self.strong.filter(|s| !s.is_identity());
        let changed;
        let src = if photo.is_some() || strong.is_some() {
            let mut image = src.to_vec();
            if let Some(photo) = photo {
                photo.apply_in_place(&mut image, shape, rng);
            }
            if let Some(strong) = strong {
                strong.apply_in_place(&mut image, shape, rng, dst);
            }
            changed = image;
            &changed[..]
        } else {
            src
        };
        let (h, w) = (shape.height as isize, shape.width as isize);
        let (dx, dy) = if self.max_shift > 0 {
            let s = self.max_shift as isize;
            (
                rng.random_range(-s as i64..=s as i64) as isize,
                rng.random_range(-s as i64..=s as i64) as isize,
            )
        } else {
            (0, 0)
        };
        let flip = self.hflip && rng.random_bool(0.5);
        let plane = shape.height * shape.width;
        for c in 0..shape.channels {
            let src_plane = &src[c * plane..(c + 1) * plane];
            let dst_plane = &mut dst[c * plane..(c + 1) * plane];
            for y in 0..h {
                let sy = y - dy;
                let row = &mut dst_plane[(y * w) as usize..((y + 1) * w) as usize];
                if sy < 0 || sy >= h {
                    row.fill(0);
                    continue;
                }
                let src_row = &src_plane[(sy * w) as usize..((sy + 1) * w) as usize];
                for x in 0..w {
                    // Output x shows shifted column `xs`; with a flip, the mirrored one.
                    let xs = if flip { w - 1 - x } else { x };
                    let sx = xs - dx;
                    row[x as usize] = if sx < 0 || sx >= w {
                        0
                    } else {
                        src_row[sx as usize]
                    };
                }
            }
        }
        if self.cutout > 0 {
            let (h, w) = (shape.height, shape.width);
            let cy = rng.random_range(0..h);
            let cx = rng.random_range(0..w);
            let half = self.cutout / 2;
            let (y0, y1) = (cy.saturating_sub(half), (cy + self.cutout - half).min(h));
            let (x0, x1) = (cx.saturating_sub(half), (cx + self.cutout - half).min(w));
            for c in 0..shape.channels {
                for y in y0..y1 {
                    let row = c * plane + y * w;
                    dst[row + x0..row + x1].fill(0);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const SHAPE: ImageShape = ImageShape {
        channels: 1,
        height: 9,
        width: 11,
    };

    fn ramp(shape: ImageShape) -> Vec<u8> {
        (0..shape.len()).map(|i| (i % 251) as u8 + 1).collect()
    }

    #[test]
    fn none_is_identity() {
        let a = Augment::none();
        assert!(a.is_identity());
        assert_eq!(a, Augment::default());
        let src = ramp(SHAPE);
        let mut dst = vec![0; SHAPE.len()];
        a.apply(&src, SHAPE, &mut StdRng::seed_from_u64(0), &mut dst);
        assert_eq!(src, dst);
        assert!(
            !Augment {
                max_shift: 1,
                hflip: false,
                cutout: 0,
                strong: None,
                photo: None,
            }
            .is_identity()
        );
        assert!(
            !Augment {
                max_shift: 0,
                hflip: true,
                cutout: 0,
                strong: None,
                photo: None,
            }
            .is_identity()
        );
    }

    #[test]
    fn shift_moves_a_bright_pixel_by_at_most_max_shift() {
        let (py, px) = (4usize, 5usize);
        let mut src = vec![0u8; SHAPE.len()];
        src[py * SHAPE.width + px] = 255;
        let aug = Augment {
            max_shift: 2,
            hflip: false,
            cutout: 0,
            strong: None,
            photo: None,
        };
        let mut rng = StdRng::seed_from_u64(1);
        let mut seen_moved = false;
        for _ in 0..200 {
            let mut dst = vec![7u8; SHAPE.len()];
            aug.apply(&src, SHAPE, &mut rng, &mut dst);
            let bright: Vec<usize> = (0..dst.len()).filter(|&i| dst[i] == 255).collect();
            assert_eq!(
                bright.len(),
                1,
                "pixel stays inside (shift <= 2 from the centre)"
            );
            assert_eq!(
                dst.iter().filter(|&&v| v != 0).count(),
                1,
                "padding is zero"
            );
            let (y, x) = (bright[0] / SHAPE.width, bright[0] % SHAPE.width);
            assert!(y.abs_diff(py) <= 2 && x.abs_diff(px) <= 2);
            seen_moved |= (y, x) != (py, px);
        }
        assert!(seen_moved);
    }

    #[test]
    fn flip_mirrors_rows() {
        let shape = ImageShape {
            channels: 3,
            height: 4,
            width: 5,
        };
        let src = ramp(shape);
        let aug = Augment {
            max_shift: 0,
            hflip: true,
            cutout: 0,
            strong: None,
            photo: None,
        };
        let mut rng = StdRng::seed_from_u64(3);
        let (mut flipped, mut kept) = (0, 0);
        for _ in 0..100 {
            let mut dst = vec![0u8; shape.len()];
            aug.apply(&src, shape, &mut rng, &mut dst);
            if dst == src {
                kept += 1;
                continue;
            }
            flipped += 1;
            for c in 0..3 {
                for y in 0..4 {
                    for x in 0..5 {
                        let o = c * 20 + y * 5;
                        assert_eq!(dst[o + x], src[o + 4 - x]);
                    }
                }
            }
        }
        assert!(flipped > 20 && kept > 20, "flipped {flipped}, kept {kept}");
    }

    #[test]
    fn output_length_matches_and_shift_plus_flip_keep_content_bounds() {
        let src = ramp(SHAPE);
        let aug = Augment {
            max_shift: 3,
            hflip: true,
            cutout: 0,
            strong: None,
            photo: None,
        };
        let mut rng = StdRng::seed_from_u64(4);
        let mut dst = vec![0u8; SHAPE.len()];
        aug.apply(&src, SHAPE, &mut rng, &mut dst);
        assert_eq!(dst.len(), src.len());
        // At least (9-3)*(11-3) source pixels survive any shift.
        assert!(dst.iter().filter(|&&v| v != 0).count() >= 6 * 8);
    }

    #[test]
    fn cutout_erases_one_square_of_at_most_its_side() {
        let shape = ImageShape {
            channels: 2,
            height: 12,
            width: 10,
        };
        let src = vec![200u8; shape.len()];
        let aug = Augment {
            max_shift: 0,
            hflip: false,
            cutout: 4,
            strong: None,
            photo: None,
        };
        assert!(!aug.is_identity());
        let mut rng = StdRng::seed_from_u64(5);
        let (mut full, mut clipped) = (0, 0);
        for _ in 0..300 {
            let mut dst = vec![0u8; shape.len()];
            aug.apply(&src, shape, &mut rng, &mut dst);
            let plane = 12 * 10;
            let erased: Vec<usize> = (0..plane).filter(|&i| dst[i] == 0).collect();
            // Both channels lose the same pixels; the rest is untouched.
            for i in 0..plane {
                assert_eq!(dst[i], dst[plane + i]);
                assert!(dst[i] == 0 || dst[i] == 200);
            }
            assert!(!erased.is_empty() && erased.len() <= 16, "{}", erased.len());
            let ys: Vec<usize> = erased.iter().map(|i| i / 10).collect();
            let xs: Vec<usize> = erased.iter().map(|i| i % 10).collect();
            let height = ys.iter().max().unwrap() - ys.iter().min().unwrap() + 1;
            let width = xs.iter().max().unwrap() - xs.iter().min().unwrap() + 1;
            assert_eq!(height * width, erased.len(), "one rectangle");
            if erased.len() == 16 {
                full += 1;
            } else {
                clipped += 1;
            }
        }
        assert!(full > 50 && clipped > 50, "full {full}, clipped {clipped}");
    }

    #[test]
    fn strong_augmentation_runs_first_then_shift_flip_and_cutout() {
        let shape = ImageShape {
            channels: 3,
            height: 8,
            width: 10,
        };
        let src = ramp(shape);
        let strong = RandAugment { n: 2, m: 9 };
        let weak = Augment {
            max_shift: 2,
            hflip: true,
            cutout: 3,
            strong: None,
            photo: None,
        };
        let full = Augment {
            strong: Some(strong),
            photo: None,
            ..weak
        };
        assert!(!full.is_identity());
        let mut differs = 0;
        for seed in 0..40 {
            // The same draws, in order: RandAugment's, then the shift's, the flip's, the cutout's.
            let mut rng = StdRng::seed_from_u64(seed);
            let mut strong_out = vec![0u8; shape.len()];
            strong.apply(&src, shape, &mut rng, &mut strong_out);
            let mut expected = vec![0u8; shape.len()];
            weak.apply(&strong_out, shape, &mut rng, &mut expected);
            let mut got = vec![0u8; shape.len()];
            full.apply(&src, shape, &mut StdRng::seed_from_u64(seed), &mut got);
            assert_eq!(got, expected, "seed {seed}");
            let mut weak_only = vec![0u8; shape.len()];
            weak.apply(
                &src,
                shape,
                &mut StdRng::seed_from_u64(seed),
                &mut weak_only,
            );
            differs += usize::from(weak_only != got);
        }
        assert!(differs > 30, "{differs}");
        // Zero operations: the weak augmentation alone, with the same draws.
        let off = Augment {
            strong: Some(RandAugment { n: 0, m: 9 }),
            photo: None,
            ..Augment::none()
        };
        assert!(off.is_identity());
        let with_zero = Augment {
            strong: Some(RandAugment { n: 0, m: 9 }),
            photo: None,
            ..weak
        };
        let (mut a, mut b) = (vec![0u8; shape.len()], vec![0u8; shape.len()]);
        with_zero.apply(&src, shape, &mut StdRng::seed_from_u64(7), &mut a);
        weak.apply(&src, shape, &mut StdRng::seed_from_u64(7), &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn files_without_the_strong_field_still_read() {
        let old: Augment =
            serde_json::from_str(r#"{"max_shift": 2, "hflip": false, "cutout": 3}"#).unwrap();
        assert_eq!(old.strong, None);
        assert_eq!(old.cutout, 3);
    }

    #[test]
    fn mirror_rows_reverses_each_row_and_twice_is_identity() {
        let src: Vec<u8> = (0..12).collect();
        let m = mirror_rows(&src, 3);
        assert_eq!(m, vec![2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9]);
        assert_eq!(mirror_rows(&m, 3), src);
    }
}
