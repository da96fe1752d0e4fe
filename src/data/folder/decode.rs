//! Decoding one image file into CHW `u8` pixels, with decoder limits so that a header claiming
//! enormous dimensions is refused, not allocated.

use std::fs;
use std::io::Cursor;
use std::path::Path;

use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};

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

pub(super) fn decode_file(path: &Path) -> Result<DynamicImage, Problem> {
    let bytes = read_bytes(path)?;
    reader(path, &bytes)?
        .decode()
        .map_err(|e| Problem::Bad(e.to_string()))
}

/// `(height, width)` from the header only.
pub(super) fn file_dimensions(path: &Path) -> Result<(usize, usize), Problem> {
    let bytes = read_bytes(path)?;
    let (w, h) = reader(path, &bytes)?
        .into_dimensions()
        .map_err(|e| Problem::Bad(e.to_string()))?;
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

/// Converts a decoded image to CHW `u8` pixels of `shape` (channels 1 or 3).
pub(super) fn to_chw(img: &DynamicImage, shape: ImageShape) -> Vec<u8> {
    let (w, h) = (shape.width as u32, shape.height as u32);
    if shape.channels == 1 {
        let mut grey = img.to_luma8();
        if grey.dimensions() != (w, h) {
            grey = image::imageops::resize(&grey, w, h, FilterType::Triangle);
        }
        grey.into_raw()
    } else {
        let mut rgb = img.to_rgb8();
        if rgb.dimensions() != (w, h) {
            rgb = image::imageops::resize(&rgb, w, h, FilterType::Triangle);
        }
        let plane = shape.height * shape.width;
        let mut out = vec![0u8; 3 * plane];
        for (i, p) in rgb.pixels().enumerate() {
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

/// Decodes one image file to CHW `u8` pixels of `shape` (grey via luma, or RGB; resized with a
/// triangle filter when its size differs). Used to classify single files.
pub fn decode_image_file(path: &Path, shape: ImageShape) -> Result<Vec<u8>, DataError> {
    check_shape(shape)?;
    decode_file(path)
        .map(|img| to_chw(&img, shape))
        .map_err(|problem| problem.into_error(path))
}
