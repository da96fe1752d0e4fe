//! MNIST-style IDX files (raw or gzip-compressed) and their import into an image folder.
//!
//! Only the two layouts MNIST and Fashion-MNIST use are supported: labels (magic `0x00000801`,
//! `u8` values) and images (magic `0x00000803`, `u8` pixels of shape `[n, rows, cols]`).
//! Compression is recognised by the gzip magic bytes `1f 8b`, not by the file name.

use std::path::{Path, PathBuf};

mod import;
mod read;
#[cfg(test)]
mod tests;

pub use import::{ImportOptions, ImportReport, import_idx, long_tail_count};
pub use read::{IdxImages, parse_idx_images, parse_idx_labels, read_idx_images, read_idx_labels};

/// Magic number of an IDX file of `u8` labels (one dimension).
const LABELS_MAGIC: u32 = 0x0000_0801;
/// Magic number of an IDX file of `u8` images (three dimensions).
const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Largest decompressed size accepted from a gzip file (guards against gzip bombs).
const MAX_DECOMPRESSED: u64 = 4 << 30;

/// Errors from reading IDX files or importing them; each names the file or folder at fault.
#[derive(Debug, thiserror::Error)]
pub enum IdxError {
    /// A file could not be read, or a folder or file could not be created. The OS error is
    /// part of the message, not a chained source, so that it is printed once.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// The content is not a valid IDX file of the expected kind.
    #[error("{}: {reason}", path.as_deref().map_or_else(|| "IDX data".to_string(), |p| p.display().to_string()))]
    Format {
        /// The file, when the data came from one.
        path: Option<PathBuf>,
        /// What is wrong.
        reason: String,
    },
    /// The image and label files disagree on the number of samples.
    #[error("{} holds {images} images but {} holds {labels} labels", images_path.display(), labels_path.display())]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// Number of images.
        images: usize,
        /// The label file.
        labels_path: PathBuf,
        /// Number of labels.
        labels: usize,
    },
    /// The output folder already holds an imported split.
    #[error("{} already exists; refusing to overwrite an existing dataset (choose another --out or remove it)", .0.display())]
    OutputExists(PathBuf),
    /// A class has fewer training samples than the labelled images asked for.
    #[error("class {class} has only {available} samples in {}, fewer than the {wanted} labelled per class requested", path.display())]
    TooFewSamples {
        /// Folder name of the class.
        class: String,
        /// Samples of that class in the training file.
        available: usize,
        /// The labelled-per-class count asked for.
        wanted: usize,
        /// The training label file.
        path: PathBuf,
    },
    /// A label lies outside the classes: beyond the class names given, or past a label that
    /// no training sample has (labels must run 0, 1, 2, ... without gaps).
    #[error("{}: label {label} of sample {index} is out of range: {why}", path.display())]
    LabelOutOfRange {
        /// The label file.
        path: PathBuf,
        /// Position of the sample in the file (0-based).
        index: usize,
        /// The label.
        label: u8,
        /// Which labels are valid.
        why: String,
    },
    /// The import options are inconsistent (class names, counts, test files).
    #[error("{0}")]
    Options(String),
    /// An image could not be encoded or written.
    #[error("writing {}: {reason}", path.display())]
    Write {
        /// The PNG file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl IdxError {
    fn format(reason: impl Into<String>) -> Self {
        Self::Format {
            path: None,
            reason: reason.into(),
        }
    }

    /// Attaches the file name to a format error that came from parsing bytes.
    fn in_file(self, file: &Path) -> Self {
        match self {
            Self::Format { path: None, reason } => Self::Format {
                path: Some(file.to_path_buf()),
                reason,
            },
            other => other,
        }
    }
}
