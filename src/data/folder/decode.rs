//! Decoding one image file into CHW `u8` pixels, with decoder limits so that a header claiming
//! enormous dimensions is refused, not allocated.

use std::fs;
use std::io::Cursor;
use std::path::Path;

use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use super::error::{DataError, Problem};
use super::{MAX_DECODE_ALLOC, MAX_DIMENSION};
use crate::data::image_set::ImageShape;

fn decode_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    limits
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, Problem> {
    // Follows links. Anything but a regular file (a FIFO, a device such as /dev/zero) could
    // block or never end, so it is not read.
    let meta = fs::metadata(path).map_err(Problem::Io)?;
    if !meta.is_file() {
        return Err(Problem::Bad("not a regular file".into()));
    }
    if meta.len() > MAX_DECODE_ALLOC {
        return Err(Problem::Bad(format!(
            "file is {} bytes, more than the {MAX_DECODE_ALLOC} accepted",
            meta.len()
        )));
    }
    let bytes = fs::read(path).map_err(Problem::Io)?;
    if bytes.is_empty() {
        return Err(Problem::Bad("empty file (0 bytes)".into()));
    }
    Ok(bytes)
}

fn reader<'a>(path: &Path, bytes: &'a [u8]) -> Result<ImageReader<Cursor<&'a [u8]>>, Problem> {
    let mut reader = ImageReader::new(Cursor::new(bytes));
    if let Ok(format) = ImageFormat::from_path(path) {
        reader.set_format(format);
    }
    // The content's magic bytes win over the extension.
    let mut reader = reader.with_guessed_format().map_err(Problem::Io)?;
    if reader.format().is_none() {
        return Err(Problem::Bad("not a recognised image format".into()));
    }
    reader.limits(decode_limits());
    Ok(reader)
}

/// Decodes a file, turned upright by its EXIF orientation (a phone's portrait photo is stored
/// sideways with a tag saying so).
pub(super) fn decode_file(path: &Path) -> Result<DynamicImage, Problem> {
    let bytes = read_bytes(path)?;
    let bad = |e: image::ImageError| Problem::Bad(e.to_string());
    let mut decoder = reader(path, &bytes)?.into_decoder().map_err(bad)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(bad)?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// Whether an EXIF orientation turns the image by a quarter (so height and width swap).
fn swaps_sides(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// `(height, width)` from the header only.
pub(super) fn file_dimensions(path: &Path) -> Result<(usize, usize), Problem> {
    let bytes = read_bytes(path)?;
    let mut decoder = reader(path, &bytes)?
        .into_decoder()
        .map_err(|e| Problem::Bad(e.to_string()))?;
    let (w, h) = decoder.dimensions();
    let upright = swaps_sides(decoder.orientation().unwrap_or(Orientation::NoTransforms));
    let (w, h) = if upright { (h, w) } else { (w, h) };
    if w == 0 || h == 0 || w > MAX_DIMENSION || h > MAX_DIMENSION {
        return Err(Problem::Bad(format!(
            "image is {w}x{h}, outside the accepted 1x1..{MAX_DIMENSION}x{MAX_DIMENSION}"
        )));
    }
    Ok((h as usize, w as usize))
}

/// Whether an image has colour: an RGB(A) image whose channels differ at some pixel.
pub(super) fn has_colour(img: &DynamicImage) -> bool {
    if !img.color().has_color() {
        return false;
    }
    let differs = |p: &[u8]| p[0] != p[1] || p[1] != p[2];
    match img {
        DynamicImage::ImageRgb8(b) => b.pixels().any(|p| differs(&p.0)),
        DynamicImage::ImageRgba8(b) => b.pixels().any(|p| differs(&p.0)),
        other => other.to_rgb8().pixels().any(|p| differs(&p.0)),
    }
}

/// How an image of another size is brought to the model's input size.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum ResizePolicy {
    /// Scale until the image covers the input size (its shorter side, for a square input),
    /// then cut the centre out: no distortion, the edges of the longer side are lost.
    #[default]
    Crop,
    /// Scale each side to the input size: the whole image, distorted when the aspect differs.
    Stretch,
}

impl ResizePolicy {
    /// What runs written before the policy existed did.
    pub fn legacy() -> Self {
        ResizePolicy::Stretch
    }
}

/// Brings `img` to `w`×`h` by `resize` (nothing when it is already that size).
fn fit<P>(img: image::ImageBuffer<P, Vec<u8>>, w: u32, h: u32, resize: ResizePolicy) -> Vec<u8>
where
    P: image::Pixel<Subpixel = u8> + 'static,
{
    let (iw, ih) = img.dimensions();
    if (iw, ih) == (w, h) {
        return img.into_raw();
    }
    match resize {
        ResizePolicy::Stretch => {
            image::imageops::resize(&img, w, h, FilterType::Triangle).into_raw()
        }
        ResizePolicy::Crop => {
            let scale = (w as f64 / iw as f64).max(h as f64 / ih as f64);
            let sw = ((iw as f64 * scale).round() as u32).max(w);
            let sh = ((ih as f64 * scale).round() as u32).max(h);
            let scaled = image::imageops::resize(&img, sw, sh, FilterType::Triangle);
            image::imageops::crop_imm(&scaled, (sw - w) / 2, (sh - h) / 2, w, h)
                .to_image()
                .into_raw()
        }
    }
}

/// Converts a decoded image to CHW `u8` pixels of `shape` (channels 1 or 3; grey images are
/// repeated over three channels for a colour model), resized by `resize`.
pub(super) fn to_chw(img: &DynamicImage, shape: ImageShape, resize: ResizePolicy) -> Vec<u8> {
    let (w, h) = (shape.width as u32, shape.height as u32);
    if shape.channels == 1 {
        fit(img.to_luma8(), w, h, resize)
    } else {
        let rgb = fit(img.to_rgb8(), w, h, resize);
        let plane = shape.height * shape.width;
        let mut out = vec![0u8; 3 * plane];
        for (i, p) in rgb.chunks_exact(3).enumerate() {
            out[i] = p[0];
            out[plane + i] = p[1];
            out[2 * plane + i] = p[2];
        }
        out
    }
}

pub(super) fn check_shape(shape: ImageShape) -> Result<(), DataError> {
    if shape.channels != 1 && shape.channels != 3 {
        return Err(DataError::BadChannels(shape.channels));
    }
    let max = MAX_DIMENSION as usize;
    if shape.height == 0 || shape.width == 0 || shape.height > max || shape.width > max {
        return Err(DataError::BadSize {
            height: shape.height,
            width: shape.width,
        });
    }
    Ok(())
}

/// Decodes one image file to CHW `u8` pixels of `shape` (grey via luma, or RGB; resized by
/// `resize` with a triangle filter when its size differs). Used to classify single files.
pub fn decode_image_file(
    path: &Path,
    shape: ImageShape,
    resize: ResizePolicy,
) -> Result<Vec<u8>, DataError> {
    check_shape(shape)?;
    decode_file(path)
        .map(|img| to_chw(&img, shape, resize))
        .map_err(|problem| problem.into_error(path))
}
