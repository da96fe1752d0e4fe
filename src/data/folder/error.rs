//! Errors of the folder loader, and the per-file problems it skips or reports.

use std::path::PathBuf;

use super::MAX_DIMENSION;

/// Errors from loading a dataset or decoding an image; each names the file or folder at fault.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The dataset root does not exist.
    #[error("dataset root {} does not exist", .0.display())]
    MissingRoot(PathBuf),
    /// A path that must be a folder is something else.
    #[error("{} is not a folder", .0.display())]
    NotADirectory(PathBuf),
    /// The root has no `train/` folder.
    #[error("{} does not exist: the dataset root must hold train/<class>/ folders of labelled images", .0.display())]
    MissingTrain(PathBuf),
    /// `train/` holds no class folder.
    #[error("{} holds no class folder: put labelled images in train/<class>/", .0.display())]
    NoClasses(PathBuf),
    /// A class folder of `train/` holds no file.
    #[error("class folder {} is empty: every class in train/ needs at least one labelled image", .0.display())]
    EmptyClass(PathBuf),
    /// No image of a class folder of `train/` could be decoded.
    #[error("no image in class folder {} could be decoded (all {count} files were skipped)", dir.display())]
    NoUsableImage {
        /// The class folder.
        dir: PathBuf,
        /// How many files were tried.
        count: usize,
    },
    /// A `test/` or `val/` class folder has no counterpart in `train/`.
    #[error("{}: class {class:?} of {split}/ is not a class of train/ (train classes: {})", dir.display(), known.join(", "))]
    UnknownClass {
        /// `test` or `val`.
        split: String,
        /// The unknown class name.
        class: String,
        /// Its folder.
        dir: PathBuf,
        /// The classes of `train/`.
        known: Vec<String>,
    },
    /// A class folder's name is not valid UTF-8, so it cannot be a class name: replacing the
    /// invalid bytes could give two folders the same class.
    #[error("class folder {} has a name that is not valid UTF-8: rename it", .0.display())]
    NonUtf8ClassName(PathBuf),
    /// A file or folder could not be read. The OS error is part of the message, not a chained
    /// source, so that it is printed once.
    #[error("cannot read {}: {error}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// A file is not a decodable image.
    #[error("cannot decode image {}: {reason}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The requested channel count is not 1 or 3.
    #[error("image channels must be 1 (grey) or 3 (RGB), not {0}")]
    BadChannels(usize),
    /// The requested image size is empty or too large.
    #[error("image size must be between 1x1 and {max}x{max}, not {height}x{width}", max = MAX_DIMENSION)]
    BadSize {
        /// Requested height.
        height: usize,
        /// Requested width.
        width: usize,
    },
}

impl DataError {
    /// An I/O error on `path`.
    pub(super) fn io(path: &std::path::Path, error: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            error,
        }
    }
}

/// Why one file could not be used.
pub(super) enum Problem {
    /// It could not be read at all (a dangling or looping link, no permission).
    Io(std::io::Error),
    /// It is not a decodable image.
    Bad(String),
}

impl Problem {
    /// The reason written to `skipped_images.csv`.
    pub(super) fn reason(&self) -> String {
        match self {
            Self::Io(e) => format!("cannot read: {e}"),
            Self::Bad(reason) => reason.clone(),
        }
    }

    /// The error for this problem under [`super::BadImagePolicy::Fail`].
    pub(super) fn into_error(self, path: &std::path::Path) -> DataError {
        match self {
            Self::Io(error) => DataError::io(path, error),
            Self::Bad(reason) => DataError::Decode {
                path: path.to_path_buf(),
                reason,
            },
        }
    }
}
