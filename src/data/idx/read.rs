//! Reading MNIST-style IDX files (raw or gzip-compressed).

use std::fs;
use std::io::Read;
use std::path::Path;

use super::{IMAGES_MAGIC, IdxError, LABELS_MAGIC, MAX_DECOMPRESSED};

/// Images of an IDX image file: `count` images of `rows x cols` grey `u8` pixels, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Height of each image.
    pub rows: usize,
    /// Width of each image.
    pub cols: usize,
    /// `count * rows * cols` pixels, image after image.
    pub pixels: Vec<u8>,
}

impl IdxImages {
    /// Pixels of image `index`.
    pub fn image(&self, index: usize) -> &[u8] {
        let n = self.rows * self.cols;
        &self.pixels[index * n..(index + 1) * n]
    }
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn describe_magic(magic: u32) -> String {
    match magic {
        LABELS_MAGIC => "a label file (magic 0x00000801)".to_string(),
        IMAGES_MAGIC => "an image file (magic 0x00000803)".to_string(),
        m if m >> 16 == 0x1f8b => "still gzip-compressed data".to_string(),
        m => format!("magic 0x{m:08x}, not a u8 IDX file"),
    }
}

/// Parses an uncompressed or gzip-compressed IDX image file (magic `0x00000803`).
///
/// The payload length must match the header exactly (a shorter one is truncated, a longer one
/// has trailing bytes); both are errors.
pub fn parse_idx_images(bytes: &[u8]) -> Result<IdxImages, IdxError> {
    let raw = maybe_gunzip(bytes)?;
    let bytes: &[u8] = &raw;
    if bytes.len() >= 4 && be_u32(bytes, 0) != IMAGES_MAGIC {
        return Err(IdxError::format(format!(
            "expected an IDX image file (magic 0x00000803) but found {}",
            describe_magic(be_u32(bytes, 0))
        )));
    }
    if bytes.len() < 16 {
        return Err(IdxError::format(format!(
            "too short for an IDX image header ({} bytes, need 16)",
            bytes.len()
        )));
    }
    let count = be_u32(bytes, 4) as usize;
    let rows = be_u32(bytes, 8) as usize;
    let cols = be_u32(bytes, 12) as usize;
    if rows == 0 || cols == 0 {
        return Err(IdxError::format(format!(
            "image size {rows}x{cols} is empty"
        )));
    }
    let expected = count
        .checked_mul(rows)
        .and_then(|v| v.checked_mul(cols))
        .ok_or_else(|| IdxError::format(format!("header size {count}x{rows}x{cols} overflows")))?;
    let got = bytes.len() - 16;
    if got != expected {
        return Err(IdxError::format(format!(
            "{} payload: header says {count} images of {rows}x{cols} ({expected} bytes) but {got} bytes follow",
            if got < expected {
                "truncated"
            } else {
                "oversized"
            }
        )));
    }
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels: bytes[16..].to_vec(),
    })
}

/// Parses an uncompressed or gzip-compressed IDX label file (magic `0x00000801`).
///
/// The payload length must match the header's count exactly.
pub fn parse_idx_labels(bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    let raw = maybe_gunzip(bytes)?;
    let bytes: &[u8] = &raw;
    if bytes.len() >= 4 && be_u32(bytes, 0) != LABELS_MAGIC {
        return Err(IdxError::format(format!(
            "expected an IDX label file (magic 0x00000801) but found {}",
            describe_magic(be_u32(bytes, 0))
        )));
    }
    if bytes.len() < 8 {
        return Err(IdxError::format(format!(
            "too short for an IDX label header ({} bytes, need 8)",
            bytes.len()
        )));
    }
    let count = be_u32(bytes, 4) as usize;
    let got = bytes.len() - 8;
    if got != count {
        return Err(IdxError::format(format!(
            "{} payload: header says {count} labels but {got} bytes follow",
            if got < count {
                "truncated"
            } else {
                "oversized"
            }
        )));
    }
    Ok(bytes[8..].to_vec())
}

/// Decompresses `bytes` when they start with the gzip magic; borrows them otherwise.
fn maybe_gunzip(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, IdxError> {
    if bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .take(MAX_DECOMPRESSED + 1)
            .read_to_end(&mut out)
            .map_err(|e| IdxError::format(format!("invalid gzip data: {e}")))?;
        if out.len() as u64 > MAX_DECOMPRESSED {
            return Err(IdxError::format(format!(
                "decompresses to more than {MAX_DECOMPRESSED} bytes"
            )));
        }
        Ok(std::borrow::Cow::Owned(out))
    } else {
        Ok(std::borrow::Cow::Borrowed(bytes))
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, IdxError> {
    fs::read(path).map_err(|error| IdxError::Io {
        path: path.to_path_buf(),
        error,
    })
}

/// Reads an IDX image file (raw or gzip); errors name the file.
pub fn read_idx_images(path: &Path) -> Result<IdxImages, IdxError> {
    parse_idx_images(&read_file(path)?).map_err(|e| e.in_file(path))
}

/// Reads an IDX label file (raw or gzip); errors name the file.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>, IdxError> {
    parse_idx_labels(&read_file(path)?).map_err(|e| e.in_file(path))
}
