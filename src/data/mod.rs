//! Data: image folders, IDX files, in-memory image sets and batching.

pub mod augment;
pub mod fingerprint;
pub mod folder;
pub mod idx;
pub mod image_set;
pub mod memory;
pub mod photo_augment;
pub mod rand_augment;
pub mod split;

pub use augment::Augment;
pub use fingerprint::{DataFingerprint, FingerprintCheck};
pub use folder::{
    BadImagePolicy, DECODE_CHUNK, DataError, DatasetOptions, DatasetPlan, LoadedDataset,
    ResizePolicy, SkippedFile, decode_image_file, load_dataset, load_dataset_checked,
};
pub use idx::{IdxError, ImportOptions, ImportReport, import_idx};
pub use image_set::{ImageSet, ImageShape};
pub use photo_augment::PhotoAugment;
pub use rand_augment::RandAugment;
pub use split::{stratified_folds, stratified_holdout};
