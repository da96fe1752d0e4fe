//! RandAugment on `u8` CHW images: strong, label-preserving distortions for the pseudo-labelled
//! student (FixMatch, Noisy Student), so that it learns more than a copy of its teacher.
//!
//! Each image gets `n` operations drawn uniformly, with replacement, from the eleven of [`Op`],
//! each at the same magnitude `m` on a 0–10 scale. Geometric operations are affine maps about
//! the image centre with bilinear sampling; what comes from outside the image is 0, as with the
//! shift of [`super::augment::Augment`]. Colour operations act on all channels of an image.

use rand::Rng;

use super::image_set::ImageShape;

/// Number of operations RandAugment draws from: the most it accepts as `n`.
pub const OP_COUNT: usize = 11;
/// The strongest magnitude.
pub const MAX_MAGNITUDE: usize = 10;

/// One RandAugment operation. Ranges are given at magnitude 10 and scale linearly with it;
/// a `±` range means a random sign per use (a random axis, too, for shear and translate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Rotation about the centre by ±30°.
    Rotate,
    /// Shear along x or y by ±0.3 (pixels moved per pixel of distance from the centre).
    Shear,
    /// Translation along x or y by ±30 % of the width or height.
    Translate,
    /// Zoom about the centre by a factor 1 ± 0.3.
    Scale,
    /// Brightness as PIL's `ImageEnhance.Brightness`, factor 1 ± 0.9 (blend with black).
    Brightness,
    /// Contrast as PIL's `ImageEnhance.Contrast`, factor 1 ± 0.9 (blend with the mean grey).
    Contrast,
    /// Sharpness as PIL's `ImageEnhance.Sharpness`, factor 1 ± 0.9 (blend with the 3×3 smoothed
    /// image; border pixels are kept).
    Sharpness,
    /// Histogram equalisation of each channel (no magnitude).
    Equalize,
    /// Keeps the top `8 − ⌈M·4/10⌉` bits (at least 4) of every value: 4 bits at M = 10.
    Posterize,
    /// Inverts every value at or above `256 − M·25.6`: all of them at M = 10.
    Solarize,
    /// Stretches each channel to the full 0–255 range (no magnitude).
    AutoContrast,
}

impl Op {
    /// Every operation, in the order their index is drawn.
    pub const ALL: [Op; OP_COUNT] = [
        Op::Rotate,
        Op::Shear,
        Op::Translate,
        Op::Scale,
        Op::Brightness,
        Op::Contrast,
        Op::Sharpness,
        Op::Equalize,
        Op::Posterize,
        Op::Solarize,
        Op::AutoContrast,
    ];
}

/// RandAugment with `n` operations per image at magnitude `m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RandAugment {
    /// Operations per image, `0..=OP_COUNT` (0 = off).
    pub n: usize,
    /// Magnitude of every operation, `0..=MAX_MAGNITUDE`.
    pub m: usize,
}

/// Why `(n, m)` is not a valid RandAugment setting, if it is not.
pub fn check(n: usize, m: usize) -> Result<(), String> {
    if n > OP_COUNT {
        return Err(format!(
            "N (operations per image) must be within 0..={OP_COUNT}, got {n}"
        ));
    }
    if m > MAX_MAGNITUDE {
        return Err(format!(
            "M (magnitude) must be within 0..={MAX_MAGNITUDE}, got {m}"
        ));
    }
    Ok(())
}

impl RandAugment {
    /// Whether it leaves every image unchanged (and draws nothing).
    pub fn is_identity(&self) -> bool {
        self.n == 0
    }

    /// Writes an augmented copy of `src` (one CHW image of `shape`) into `dst`. With `n = 0`
    /// it copies and draws nothing from `rng`.
    ///
    /// # Panics
    /// When `src` or `dst` is not exactly `shape.len()` long.
    pub fn apply<R: Rng>(&self, src: &[u8], shape: ImageShape, rng: &mut R, dst: &mut [u8]) {
        assert_eq!(src.len(), shape.len(), "rand_augment: source length");
        dst.copy_from_slice(src);
        if self.is_identity() {
            return;
        }
        let mut scratch = vec![0u8; shape.len()];
        self.apply_in_place(dst, shape, rng, &mut scratch);
    }

    /// Augments `image` (one CHW image of `shape`) in place, using `scratch` (of the same
    /// length; its content is overwritten) as working memory.
    ///
    /// Per operation it draws the operation's index uniformly in `0..OP_COUNT`, then for shear
    /// and translate the axis, then for the operations with a signed range the sign (each a fair
    /// coin).
    ///
    /// # Panics
    /// When `image` or `scratch` is not exactly `shape.len()` long.
    pub fn apply_in_place<R: Rng>(
        &self,
        image: &mut [u8],
        shape: ImageShape,
        rng: &mut R,
        scratch: &mut [u8],
    ) {
        assert_eq!(image.len(), shape.len(), "rand_augment: image length");
        assert_eq!(scratch.len(), shape.len(), "rand_augment: scratch length");
        let m = self.m.min(MAX_MAGNITUDE);
        for _ in 0..self.n {
            let op = Op::ALL[rng.random_range(0..OP_COUNT)];
            let vertical = matches!(op, Op::Shear | Op::Translate) && rng.random_bool(0.5);
            let signed = !matches!(
                op,
                Op::Equalize | Op::Posterize | Op::Solarize | Op::AutoContrast
            );
            let sign = if signed && rng.random_bool(0.5) {
                -1.0
            } else {
                1.0
            };
            apply_op(op, m, sign, vertical, image, shape, scratch);
        }
    }
}

/// Applies `op` at magnitude `m` with sign `sign` (±1) along y when `vertical` (shear and
/// translate), else along x.
pub fn apply_op(
    op: Op,
    m: usize,
    sign: f32,
    vertical: bool,
    image: &mut [u8],
    shape: ImageShape,
    scratch: &mut [u8],
) {
    // The share of the range at magnitude 10 that magnitude `m` takes, signed.
    let level = sign * m as f32 / MAX_MAGNITUDE as f32;
    match op {
        Op::Rotate => rotate(image, shape, scratch, 30.0 * level),
        Op::Shear => {
            let s = 0.3 * level;
            let map = if vertical {
                Affine::linear(1.0, 0.0, s, 1.0)
            } else {
                Affine::linear(1.0, s, 0.0, 1.0)
            };
            warp(image, shape, scratch, map);
        }
        Op::Translate => {
            let (dx, dy) = if vertical {
                (0.0, 0.3 * level * shape.height as f32)
            } else {
                (0.3 * level * shape.width as f32, 0.0)
            };
            translate(image, shape, scratch, dx, dy);
        }
        Op::Scale => zoom(image, shape, scratch, 1.0 + 0.3 * level),
        Op::Brightness => brightness(image, 1.0 + 0.9 * level),
        Op::Contrast => contrast(image, shape, 1.0 + 0.9 * level),
        Op::Sharpness => sharpness(image, shape, scratch, 1.0 + 0.9 * level),
        Op::Equalize => equalize(image, shape),
        Op::Posterize => posterize(image, posterize_bits(m)),
        Op::Solarize => solarize(image, m),
        Op::AutoContrast => autocontrast(image, shape),
    }
}

/// Inverse affine map about the image centre `(cx, cy)`: output pixel `(x, y)` samples the
/// source at `(cx + a·(x−cx) + b·(y−cy) + tx, cy + c·(x−cx) + d·(y−cy) + ty)`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Affine {
    a: f32,
    b: f32,
    c: f32,
    d: f32,
    tx: f32,
    ty: f32,
}

impl Affine {
    fn linear(a: f32, b: f32, c: f32, d: f32) -> Self {
        Self {
            a,
            b,
            c,
            d,
            tx: 0.0,
            ty: 0.0,
        }
    }
}

/// Rotates the content by `degrees` counter-clockwise as displayed (y pointing down).
fn rotate(image: &mut [u8], shape: ImageShape, scratch: &mut [u8], degrees: f32) {
    let (sin, cos) = degrees.to_radians().sin_cos();
    warp(image, shape, scratch, Affine::linear(cos, -sin, sin, cos));
}

/// Moves the content by `(dx, dy)` pixels (right and down when positive).
fn translate(image: &mut [u8], shape: ImageShape, scratch: &mut [u8], dx: f32, dy: f32) {
    let map = Affine {
        tx: -dx,
        ty: -dy,
        ..Affine::linear(1.0, 0.0, 0.0, 1.0)
    };
    warp(image, shape, scratch, map);
}

/// Enlarges the content by `factor` about the centre (shrinks it when below 1).
fn zoom(image: &mut [u8], shape: ImageShape, scratch: &mut [u8], factor: f32) {
    let inv = 1.0 / factor;
    warp(image, shape, scratch, Affine::linear(inv, 0.0, 0.0, inv));
}

/// Resamples `image` through `map` with bilinear interpolation; source pixels outside the
/// image count as 0. `scratch` receives a copy of the input.
fn warp(image: &mut [u8], shape: ImageShape, scratch: &mut [u8], map: Affine) {
    scratch.copy_from_slice(image);
    let (h, w) = (shape.height, shape.width);
    let (hi, wi) = (h as i32, w as i32);
    let plane = h * w;
    let cx = (w as f32 - 1.0) / 2.0;
    let cy = (h as f32 - 1.0) / 2.0;
    for y in 0..h {
        let ry = y as f32 - cy;
        for x in 0..w {
            let rx = x as f32 - cx;
            let sx = cx + map.a * rx + map.b * ry + map.tx;
            let sy = cy + map.c * rx + map.d * ry + map.ty;
            let out = y * w + x;
            // Far outside (or not a number): only fill. Bounds the casts below, too.
            if !(sx > -1.0 && sy > -1.0 && sx < w as f32 && sy < h as f32) {
                for c in 0..shape.channels {
                    image[c * plane + out] = 0;
                }
                continue;
            }
            // floor() without a libm call: the values are above -1 here. Weights in 1/256ths
            // (rounded, so integer positions are exact), as PIL's bilinear does in fixed point.
            let (x0, y0) = (floor(sx), floor(sy));
            let fx = ((sx - x0 as f32) * 256.0 + 0.5) as u32;
            let fy = ((sy - y0 as f32) * 256.0 + 0.5) as u32;
            let weights = [
                (256 - fx) * (256 - fy),
                fx * (256 - fy),
                (256 - fx) * fy,
                fx * fy,
            ];
            if x0 >= 0 && y0 >= 0 && x0 + 1 < wi && y0 + 1 < hi {
                let i = y0 as usize * w + x0 as usize;
                for c in 0..shape.channels {
                    let p = &scratch[c * plane..(c + 1) * plane];
                    let v = weights[0] * p[i] as u32
                        + weights[1] * p[i + 1] as u32
                        + weights[2] * p[i + w] as u32
                        + weights[3] * p[i + w + 1] as u32;
                    image[c * plane + out] = ((v + (1 << 15)) >> 16) as u8;
                }
                continue;
            }
            // At the border: the neighbours outside the image read as 0.
            let inside = |xx: i32, yy: i32| xx >= 0 && yy >= 0 && xx < wi && yy < hi;
            let corners = [(x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1)];
            for c in 0..shape.channels {
                let p = &scratch[c * plane..(c + 1) * plane];
                let mut v = 0u32;
                for (&(xx, yy), &wt) in corners.iter().zip(&weights) {
                    if inside(xx, yy) {
                        v += wt * p[yy as usize * w + xx as usize] as u32;
                    }
                }
                image[c * plane + out] = ((v + (1 << 15)) >> 16) as u8;
            }
        }
    }
}

/// `v.floor()` for `v > -1`, as an integer.
fn floor(v: f32) -> i32 {
    let t = v as i32;
    if (t as f32) > v { t - 1 } else { t }
}

/// PIL's blend of an image with its "degenerate" version: `deg + factor·(v − deg)`, rounded
/// and clamped to 0–255.
fn blend(degenerate: f32, value: u8, factor: f32) -> u8 {
    (degenerate + factor * (value as f32 - degenerate) + 0.5).clamp(0.0, 255.0) as u8
}

/// Maps every value through `lut`.
fn apply_lut(values: &mut [u8], lut: &[u8; 256]) {
    for v in values {
        *v = lut[*v as usize];
    }
}

/// `ImageEnhance.Brightness`: blend with black.
fn brightness(image: &mut [u8], factor: f32) {
    let lut: [u8; 256] = std::array::from_fn(|v| blend(0.0, v as u8, factor));
    apply_lut(image, &lut);
}

/// `ImageEnhance.Contrast`: blend with a uniform image at the mean grey level (the mean
/// luminance, ITU-R 601 weights, of a 3-channel image; the mean value otherwise), rounded to an
/// integer as PIL does.
fn contrast(image: &mut [u8], shape: ImageShape, factor: f32) {
    let plane = shape.height * shape.width;
    if plane == 0 {
        return;
    }
    let mean = if shape.channels == 3 {
        let (r, g, b) = (
            &image[..plane],
            &image[plane..2 * plane],
            &image[2 * plane..],
        );
        let sum: f64 = (0..plane)
            .map(|i| 0.299 * r[i] as f64 + 0.587 * g[i] as f64 + 0.114 * b[i] as f64)
            .sum();
        sum / plane as f64
    } else {
        image.iter().map(|&v| v as f64).sum::<f64>() / image.len() as f64
    };
    let mean = (mean + 0.5).floor() as f32;
    let lut: [u8; 256] = std::array::from_fn(|v| blend(mean, v as u8, factor));
    apply_lut(image, &lut);
}

/// `ImageEnhance.Sharpness`: blend with the image smoothed by the 3×3 kernel
/// `[1 1 1; 1 5 1; 1 1 1] / 13`, whose border pixels are the image's own (so the border never
/// changes). Factors above 1 sharpen, below 1 blur.
fn sharpness(image: &mut [u8], shape: ImageShape, scratch: &mut [u8], factor: f32) {
    let (h, w) = (shape.height, shape.width);
    if h < 3 || w < 3 {
        return;
    }
    let plane = h * w;
    scratch.copy_from_slice(image);
    for c in 0..shape.channels {
        let src = &scratch[c * plane..(c + 1) * plane];
        let dst = &mut image[c * plane..(c + 1) * plane];
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let i = y * w + x;
                let mut sum = 4 * src[i] as u32;
                for row in [i - w, i, i + w] {
                    sum += src[row - 1] as u32 + src[row] as u32 + src[row + 1] as u32;
                }
                // sum / 13, rounded half up.
                let smooth = ((2 * sum + 13) / 26) as f32;
                dst[i] = blend(smooth, src[i], factor);
            }
        }
    }
}

/// Histogram equalisation of each channel: value `v` becomes
/// `round(255·(cdf(v) − cdf_min) / (count − cdf_min))`, so the darkest value present goes to 0
/// and the brightest to 255 (a channel of a single value is kept). Unlike PIL's variant this
/// also spreads small images, where fewer than 255 pixels lie below the top value.
fn equalize(image: &mut [u8], shape: ImageShape) {
    let plane = shape.height * shape.width;
    if plane == 0 {
        return;
    }
    for channel in image.chunks_exact_mut(plane) {
        let mut hist = [0u32; 256];
        for &v in channel.iter() {
            hist[v as usize] += 1;
        }
        let first = hist.iter().position(|&c| c > 0).unwrap_or(0);
        let cdf_min = hist[first];
        let total = plane as u32;
        if cdf_min == total {
            continue;
        }
        let span = (total - cdf_min) as u64;
        let mut lut = [0u8; 256];
        let mut cdf = 0u64;
        for (v, out) in lut.iter_mut().enumerate() {
            cdf += hist[v] as u64;
            let above = cdf.saturating_sub(cdf_min as u64);
            *out = ((above * 255 + span / 2) / span).min(255) as u8;
        }
        apply_lut(channel, &lut);
    }
}

/// Bits kept by posterize at magnitude `m`: `8 − ⌈m·4/10⌉`, at least 4.
pub fn posterize_bits(m: usize) -> u32 {
    let dropped = (m * 4).div_ceil(MAX_MAGNITUDE) as u32;
    8u32.saturating_sub(dropped).max(4)
}

/// Keeps the top `bits` bits of every value.
fn posterize(image: &mut [u8], bits: u32) {
    let mask = (0xffu32 << (8 - bits.clamp(1, 8))) as u8;
    for v in image {
        *v &= mask;
    }
}

/// Inverts every value `v ≥ 256 − m·25.6` (compared exactly: `10·v ≥ 2560 − 256·m`).
fn solarize(image: &mut [u8], m: usize) {
    let threshold_x10 = 2560isize - 256 * m as isize;
    for v in image {
        if 10 * *v as isize >= threshold_x10 {
            *v = 255 - *v;
        }
    }
}

/// Stretches each channel linearly so its darkest value becomes 0 and its brightest 255
/// (a channel of a single value is kept).
fn autocontrast(image: &mut [u8], shape: ImageShape) {
    let plane = shape.height * shape.width;
    if plane == 0 {
        return;
    }
    for channel in image.chunks_exact_mut(plane) {
        let (lo, hi) = channel
            .iter()
            .fold((255u8, 0u8), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        if hi <= lo {
            continue;
        }
        let span = (hi - lo) as u32;
        let lut: [u8; 256] = std::array::from_fn(|v| {
            let v = (v as u32).clamp(lo as u32, hi as u32) - lo as u32;
            ((v * 255 + span / 2) / span) as u8
        });
        apply_lut(channel, &lut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn shape(channels: usize, height: usize, width: usize) -> ImageShape {
        ImageShape {
            channels,
            height,
            width,
        }
    }

    /// Deterministic, varied pixel values.
    fn pattern(shape: ImageShape, seed: u64) -> Vec<u8> {
        (0..shape.len() as u64)
            .map(|i| ((i * 37 + seed * 101 + (i * i) % 13) % 256) as u8)
            .collect()
    }

    /// Runs `op` once at `m` with `sign` and axis on a copy of `image`.
    fn run(
        op: Op,
        m: usize,
        sign: f32,
        vertical: bool,
        image: &[u8],
        shape: ImageShape,
    ) -> Vec<u8> {
        let mut out = image.to_vec();
        let mut scratch = vec![0u8; shape.len()];
        apply_op(op, m, sign, vertical, &mut out, shape, &mut scratch);
        out
    }

    fn single_pixel(shape: ImageShape, y: usize, x: usize) -> Vec<u8> {
        let mut image = vec![0u8; shape.len()];
        image[y * shape.width + x] = 200;
        image
    }

    #[test]
    fn rotating_a_square_by_90_degrees_moves_a_pixel_a_quarter_turn_counter_clockwise() {
        let s = shape(1, 5, 5);
        // Right of the centre, one row above: (x 4, y 1).
        let image = single_pixel(s, 1, 4);
        let mut out = image.clone();
        rotate(&mut out, s, &mut vec![0; s.len()], 90.0);
        // A quarter turn counter-clockwise takes right to top and up to left: (x 1, y 0).
        let mut expected = vec![0u8; s.len()];
        expected[1] = 200;
        assert_eq!(out, expected);
        // And back.
        rotate(&mut out, s, &mut vec![0; s.len()], -90.0);
        assert_eq!(out, image);
    }

    #[test]
    fn rotate_at_magnitude_10_turns_by_30_degrees() {
        // A pixel 10 to the right of the centre of a 21×21 image lands at 30°:
        // (10·cos 30°, −10·sin 30°) = (8.66, −5) from the centre.
        let s = shape(1, 21, 21);
        let image = single_pixel(s, 10, 20);
        let out = run(Op::Rotate, 10, 1.0, false, &image, s);
        let brightest = (0..out.len()).max_by_key(|&i| out[i]).unwrap();
        assert_eq!((brightest / 21, brightest % 21), (5, 19));
        let out = run(Op::Rotate, 10, -1.0, false, &image, s);
        let brightest = (0..out.len()).max_by_key(|&i| out[i]).unwrap();
        assert_eq!((brightest / 21, brightest % 21), (15, 19));
    }

    #[test]
    fn translate_moves_by_30_percent_of_the_side_and_fills_with_zero() {
        let s = shape(1, 10, 20);
        let image = vec![9u8; s.len()];
        // +6 pixels along x (30 % of 20): the first 6 columns come from outside.
        let out = run(Op::Translate, 10, 1.0, false, &image, s);
        for y in 0..10 {
            for x in 0..20 {
                assert_eq!(out[y * 20 + x], if x < 6 { 0 } else { 9 }, "({x}, {y})");
            }
        }
        // −3 rows along y (30 % of 10): the last 3 rows come from outside.
        let out = run(Op::Translate, 10, -1.0, true, &image, s);
        for y in 0..10 {
            assert!(
                out[y * 20..(y + 1) * 20]
                    .iter()
                    .all(|&v| v == if y >= 7 { 0 } else { 9 })
            );
        }
        // Half the magnitude, half the distance.
        let pixel = single_pixel(s, 4, 2);
        let out = run(Op::Translate, 5, 1.0, false, &pixel, s);
        assert_eq!(out[4 * 20 + 5], 200);
    }

    #[test]
    fn shear_moves_rows_in_proportion_to_their_distance_from_the_centre() {
        // Shear x by 0.3 in an 11×11 image: the centre row stays, the top row (5 above the
        // centre) samples 1.5 pixels to the left, so its content moves right by 1.5.
        let s = shape(1, 11, 11);
        let mut image = vec![0u8; s.len()];
        for y in 0..11 {
            image[y * 11 + 5] = 200;
        }
        let out = run(Op::Shear, 10, 1.0, false, &image, s);
        assert_eq!(out[5 * 11 + 5], 200, "centre row unchanged");
        assert_eq!(
            (out[6], out[7]),
            (100, 100),
            "top row: split between x 6 and 7"
        );
        assert_eq!((out[10 * 11 + 3], out[10 * 11 + 4]), (100, 100));
        // Shear y moves columns instead: the vertical line stays where it is, spread along y
        // only at the centre column (no change there).
        let out = run(Op::Shear, 10, 1.0, true, &image, s);
        for y in 0..11 {
            assert_eq!(out[y * 11 + 5], 200);
        }
    }

    #[test]
    fn scale_zooms_about_the_centre() {
        // A pixel 4 right of the centre of a 9×9 image moves to 4·1.3 = 5.2 when zooming in
        // (outside: gone) and to 4·0.7 = 2.8 when zooming out.
        let s = shape(1, 9, 9);
        let image = single_pixel(s, 4, 8);
        let zoomed_in = run(Op::Scale, 10, 1.0, false, &image, s);
        assert!(zoomed_in.iter().all(|&v| v < 200));
        let zoomed_out = run(Op::Scale, 10, -1.0, false, &image, s);
        let brightest = (0..zoomed_out.len())
            .max_by_key(|&i| zoomed_out[i])
            .unwrap();
        assert_eq!(brightest, 4 * 9 + 7);
        assert_eq!(zoomed_out[4 * 9 + 4], 0, "the centre stays where it was");
    }

    #[test]
    fn posterize_clears_the_low_bits() {
        assert_eq!(
            (0..=10).map(posterize_bits).collect::<Vec<_>>(),
            vec![8, 7, 7, 6, 6, 6, 5, 5, 4, 4, 4]
        );
        let s = shape(1, 1, 256);
        let image: Vec<u8> = (0..=255).collect();
        let out = run(Op::Posterize, 10, 1.0, false, &image, s);
        for (v, o) in image.iter().zip(&out) {
            assert_eq!(*o, v & 0xf0);
        }
        assert_eq!(run(Op::Posterize, 0, 1.0, false, &image, s), image);
        let out = run(Op::Posterize, 3, 1.0, false, &image, s);
        assert!(out.iter().all(|v| v & 0x03 == 0));
        assert!(out.iter().any(|v| v & 0x04 != 0));
    }

    #[test]
    fn solarize_inverts_above_the_threshold() {
        let s = shape(1, 1, 256);
        let image: Vec<u8> = (0..=255).collect();
        // M = 5: threshold 256 − 128 = 128.
        let out = run(Op::Solarize, 5, 1.0, false, &image, s);
        for (v, &o) in out.iter().enumerate() {
            assert_eq!(o as usize, if v >= 128 { 255 - v } else { v }, "{v}");
        }
        // M = 1: threshold 230.4, so 230 stays and 231 is inverted.
        let out = run(Op::Solarize, 1, 1.0, false, &image, s);
        assert_eq!((out[230], out[231]), (230, 24));
        // M = 0 changes nothing, M = 10 inverts everything.
        assert_eq!(run(Op::Solarize, 0, 1.0, false, &image, s), image);
        let out = run(Op::Solarize, 10, 1.0, false, &image, s);
        assert!(out.iter().zip(&image).all(|(o, v)| *o == 255 - v));
    }

    #[test]
    fn equalize_spreads_a_two_valued_image_to_0_and_255() {
        let s = shape(1, 4, 4);
        let image: Vec<u8> = (0..16)
            .map(|i| if i % 3 == 0 { 100 } else { 120 })
            .collect();
        let out = run(Op::Equalize, 7, 1.0, false, &image, s);
        for (v, o) in image.iter().zip(&out) {
            assert_eq!(*o, if *v == 100 { 0 } else { 255 });
        }
        // A flat channel is kept; channels are equalised each on its own.
        let s = shape(2, 2, 2);
        let image = vec![50, 50, 50, 50, 10, 20, 20, 30];
        let out = run(Op::Equalize, 0, 1.0, false, &image, s);
        assert_eq!(out, vec![50, 50, 50, 50, 0, 170, 170, 255]);
    }

    #[test]
    fn autocontrast_stretches_each_channel() {
        let s = shape(2, 1, 3);
        let image = vec![100, 110, 120, 7, 7, 7];
        let out = run(Op::AutoContrast, 0, 1.0, false, &image, s);
        assert_eq!(out, vec![0, 128, 255, 7, 7, 7]);
    }

    #[test]
    fn brightness_and_contrast_follow_pil() {
        let s = shape(1, 1, 4);
        let image = vec![0, 50, 100, 200];
        // Factor 1.9 and 0.1 at M = 10.
        assert_eq!(
            run(Op::Brightness, 10, 1.0, false, &image, s),
            vec![0, 95, 190, 255]
        );
        assert_eq!(
            run(Op::Brightness, 10, -1.0, false, &image, s),
            vec![0, 5, 10, 20]
        );
        // Mean 87.5 rounds to 88; factor 0.1 pulls everything to it.
        assert_eq!(
            run(Op::Contrast, 10, -1.0, false, &image, s),
            vec![79, 84, 89, 99]
        );
        assert_eq!(
            run(Op::Contrast, 10, 1.0, false, &image, s),
            vec![0, 16, 111, 255]
        );
        // M = 0 is factor 1: nothing changes.
        assert_eq!(run(Op::Contrast, 0, 1.0, false, &image, s), image);
        // A colour image: one mean luminance for all channels, so a grey image keeps grey.
        let s = shape(3, 1, 2);
        let image = vec![10, 200, 10, 200, 10, 200];
        let out = run(Op::Contrast, 10, -1.0, false, &image, s);
        assert_eq!(&out[..2], &out[2..4]);
        assert_eq!(&out[..2], &out[4..]);
    }

    #[test]
    fn sharpness_blurs_or_sharpens_inside_and_keeps_the_border() {
        let s = shape(1, 5, 5);
        let mut image = vec![0u8; s.len()];
        image[12] = 130;
        // Smoothed: the centre 130·5/13 = 50, its neighbours 130/13 = 10.
        // Factor 0.1: 50 + 0.1·(130 − 50) = 58 and 10 + 0.1·(0 − 10) = 9.
        let blurred = run(Op::Sharpness, 10, -1.0, false, &image, s);
        assert_eq!((blurred[12], blurred[7], blurred[6]), (58, 9, 9));
        // Factor 1.9: 50 + 1.9·80 = 202, and 10 − 1.9·10 < 0 clamps to 0.
        let sharpened = run(Op::Sharpness, 10, 1.0, false, &image, s);
        assert_eq!((sharpened[12], sharpened[7]), (202, 0));
        for i in [0, 1, 2, 3, 4, 5, 9, 10, 14, 15, 19, 20, 21, 22, 23, 24] {
            assert_eq!(blurred[i], image[i]);
            assert_eq!(sharpened[i], image[i]);
        }
    }

    #[test]
    fn zero_operations_is_the_identity_and_draws_nothing() {
        let s = shape(3, 7, 9);
        let image = pattern(s, 1);
        let ra = RandAugment { n: 0, m: 10 };
        assert!(ra.is_identity());
        let mut rng = StdRng::seed_from_u64(5);
        let mut out = vec![0u8; s.len()];
        ra.apply(&image, s, &mut rng, &mut out);
        assert_eq!(out, image);
        let next: u64 = rng.random();
        assert_eq!(next, StdRng::seed_from_u64(5).random::<u64>(), "no draw");
    }

    #[test]
    fn every_op_at_every_magnitude_keeps_a_valid_image_of_the_same_length() {
        for s in [
            shape(1, 28, 28),
            shape(3, 32, 32),
            shape(1, 2, 7),
            shape(3, 1, 1),
        ] {
            let image = pattern(s, 2);
            for op in Op::ALL {
                for m in 0..=MAX_MAGNITUDE {
                    for (sign, vertical) in [(1.0, false), (-1.0, true)] {
                        let out = run(op, m, sign, vertical, &image, s);
                        assert_eq!(out.len(), image.len(), "{op:?} m {m}");
                    }
                }
                // Magnitude 0 of a signed operation is the identity (bilinear sampling at
                // integer positions is exact).
                if !matches!(op, Op::Equalize | Op::AutoContrast) {
                    assert_eq!(run(op, 0, 1.0, false, &image, s), image, "{op:?}");
                }
            }
        }
    }

    #[test]
    fn colour_images_keep_their_channel_layout() {
        // Three planes: red ramp, green constant, blue zero. Colour operations keep each plane
        // apart: the blue plane stays 0 under all but those that may lift it (brightness of 0 is
        // 0, contrast can lift it, solarize inverts it).
        let s = shape(3, 6, 6);
        let plane = 36;
        let mut image = vec![0u8; s.len()];
        for i in 0..plane {
            image[i] = (i * 7) as u8;
            image[plane + i] = 90;
        }
        for op in [
            Op::Brightness,
            Op::Posterize,
            Op::Equalize,
            Op::AutoContrast,
            Op::Sharpness,
        ] {
            let out = run(op, 10, 1.0, false, &image, s);
            assert!(out[2 * plane..].iter().all(|&v| v == 0), "{op:?} blue");
            let g = out[plane];
            assert!(
                out[plane..2 * plane].iter().all(|&v| v == g),
                "{op:?} green stays flat"
            );
        }
        // Geometric operations move all planes alike: a pixel bright in red only stays red.
        let mut image = vec![0u8; s.len()];
        image[2 * 6 + 4] = 250;
        let out = run(Op::Rotate, 10, 1.0, false, &image, s);
        assert!(out[..plane].iter().any(|&v| v > 0));
        assert!(out[plane..].iter().all(|&v| v == 0));
    }

    #[test]
    fn apply_is_deterministic_and_changes_images() {
        let s = shape(1, 28, 28);
        let image = pattern(s, 3);
        let ra = RandAugment { n: 2, m: 9 };
        let mut a = vec![0u8; s.len()];
        let mut b = vec![0u8; s.len()];
        let mut changed = 0;
        for seed in 0..50 {
            ra.apply(&image, s, &mut StdRng::seed_from_u64(seed), &mut a);
            ra.apply(&image, s, &mut StdRng::seed_from_u64(seed), &mut b);
            assert_eq!(a, b);
            changed += usize::from(a != image);
        }
        assert!(changed >= 45, "{changed} of 50 changed");
    }

    #[test]
    fn check_refuses_out_of_range_settings() {
        assert!(check(0, 0).is_ok());
        assert!(check(11, 10).is_ok());
        assert!(check(12, 5).unwrap_err().contains("N"));
        assert!(check(2, 11).unwrap_err().contains("M"));
    }

    /// `cargo test --release --lib rand_augment::tests::timing -- --ignored --nocapture`
    #[test]
    #[ignore = "timing, run by hand"]
    fn timing() {
        let ra = RandAugment { n: 2, m: 9 };
        for s in [shape(1, 28, 28), shape(3, 32, 32)] {
            let image = pattern(s, 4);
            let mut out = vec![0u8; s.len()];
            let mut rng = StdRng::seed_from_u64(0);
            let reps = 20_000;
            let t0 = std::time::Instant::now();
            for _ in 0..reps {
                ra.apply(&image, s, &mut rng, &mut out);
            }
            let us = t0.elapsed().as_secs_f64() * 1e6 / reps as f64;
            println!("RandAugment(2, 9) on {s:?}: {us:.2} µs per image");
            let mut scratch = vec![0u8; s.len()];
            for op in Op::ALL {
                let t0 = std::time::Instant::now();
                for _ in 0..reps {
                    out.copy_from_slice(&image);
                    apply_op(op, 9, 1.0, false, &mut out, s, &mut scratch);
                }
                let us = t0.elapsed().as_secs_f64() * 1e6 / reps as f64;
                println!("  {op:?}: {us:.2} µs");
            }
        }
    }
}
