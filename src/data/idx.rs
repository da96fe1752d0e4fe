//! MNIST-style IDX files (raw or gzip-compressed) and their import into an image folder.
//!
//! Only the two layouts MNIST and Fashion-MNIST use are supported: labels (magic `0x00000801`,
//! `u8` values) and images (magic `0x00000803`, `u8` pixels of shape `[n, rows, cols]`).
//! Compression is recognised by the gzip magic bytes `1f 8b`, not by the file name.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;

/// Magic number of an IDX file of `u8` labels (one dimension).
const LABELS_MAGIC: u32 = 0x0000_0801;
/// Magic number of an IDX file of `u8` images (three dimensions).
const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Largest decompressed size accepted from a gzip file (guards against gzip bombs).
const MAX_DECOMPRESSED: u64 = 4 << 30;

/// Errors from reading IDX files or importing them; each names the file or folder at fault.
#[derive(Debug, thiserror::Error)]
pub enum IdxError {
    /// A file could not be read, or a folder or file could not be created.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
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
    fs::read(path).map_err(|source| IdxError::Io {
        path: path.to_path_buf(),
        source,
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

/// What to import from an IDX image/label pair and where to write it.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOptions {
    /// Training images (IDX, raw or gzip).
    pub images: PathBuf,
    /// Training labels.
    pub labels: PathBuf,
    /// Test images, imported into `OUT/test/` (needs `test_labels` too).
    pub test_images: Option<PathBuf>,
    /// Test labels.
    pub test_labels: Option<PathBuf>,
    /// Output root; it must not already contain `train/`, `unlabeled/` or `test/`.
    pub out: PathBuf,
    /// Labelled images per class, chosen at random from the training split (at least 1).
    pub labels_per_class: usize,
    /// Cap on unlabelled images per class (`None` = all the rest of the training split).
    pub unlabeled_per_class: Option<usize>,
    /// Cap on test images per class (`None` = all).
    pub test_per_class: Option<usize>,
    /// Seed of the random choices.
    pub seed: u64,
    /// Folder name of each class in label order (default: zero-padded label numbers). The names
    /// must sort in label order, since the folder loader numbers classes by sorted name.
    pub class_names: Option<Vec<String>>,
}

/// What [`import_idx`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// Class folder names, in label order.
    pub classes: Vec<String>,
    /// Labelled images written to `OUT/train/`.
    pub train: usize,
    /// Unlabelled images (with hidden truth) written to `OUT/unlabeled/`.
    pub unlabeled: usize,
    /// Test images written to `OUT/test/`.
    pub test: usize,
}

/// Checks a folder name given for a class.
fn check_class_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a class name is empty".into());
    }
    if name.starts_with('.') {
        return Err(format!(
            "class name {name:?} starts with '.' (hidden folders are ignored)"
        ));
    }
    if name
        .chars()
        .any(|c| matches!(c, '/' | '\\' | '\0') || c.is_control())
    {
        return Err(format!("class name {name:?} is not a valid folder name"));
    }
    Ok(())
}

fn class_names(opts: &ImportOptions, num_classes: usize) -> Result<Vec<String>, IdxError> {
    let Some(names) = &opts.class_names else {
        let width = num_classes.saturating_sub(1).to_string().len();
        return Ok((0..num_classes).map(|c| format!("{c:0width$}")).collect());
    };
    if names.len() < num_classes {
        return Err(IdxError::Options(format!(
            "{} class names given but the labels go up to {} ({num_classes} classes)",
            names.len(),
            num_classes - 1
        )));
    }
    for name in names {
        check_class_name(name).map_err(IdxError::Options)?;
    }
    if names.iter().collect::<BTreeSet<_>>().len() != names.len() {
        return Err(IdxError::Options("class names are not unique".into()));
    }
    if let Some(w) = names.windows(2).find(|w| w[0] >= w[1]) {
        return Err(IdxError::Options(format!(
            "class names must sort in label order (folders are numbered by sorted name), but {:?} \
             does not sort before {:?}; prefix them with the label number, e.g. \"0-{}\"",
            w[0], w[1], names[0]
        )));
    }
    Ok(names.clone())
}

/// Indices of each class, ascending.
fn by_class(labels: &[u8], num_classes: usize) -> Vec<Vec<usize>> {
    let mut groups = vec![Vec::new(); num_classes];
    for (i, &l) in labels.iter().enumerate() {
        groups[l as usize].push(i);
    }
    groups
}

/// One PNG to write: source image index, destination file.
struct Job {
    index: usize,
    path: PathBuf,
}

fn write_pngs(images: &IdxImages, jobs: &[Job]) -> Result<(), IdxError> {
    jobs.par_iter().try_for_each(|job| {
        let img = image::GrayImage::from_raw(
            images.cols as u32,
            images.rows as u32,
            images.image(job.index).to_vec(),
        )
        .ok_or_else(|| IdxError::Write {
            path: job.path.clone(),
            reason: "image buffer does not match its size".into(),
        })?;
        img.save_with_format(&job.path, image::ImageFormat::Png)
            .map_err(|e| IdxError::Write {
                path: job.path.clone(),
                reason: e.to_string(),
            })
    })
}

fn create_dir(path: &Path) -> Result<(), IdxError> {
    fs::create_dir_all(path).map_err(|source| IdxError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Imports an IDX training pair (and optional test pair) as a PNG image folder.
///
/// Writes, for every class `c` with folder name `name`:
/// - `OUT/train/name/train-NNNNN.png`: `labels_per_class` images chosen at random;
/// - `OUT/unlabeled/name/train-NNNNN.png`: the rest of that class's training images (or a random
///   `unlabeled_per_class` of them); the folder name is the hidden ground truth;
/// - `OUT/test/name/test-NNNNN.png`: the test images of that class (or a random
///   `test_per_class` of them), when test files are given.
///
/// `NNNNN` is the image's index in its IDX file. Images are 8-bit grey PNGs, written in parallel.
/// The choice depends only on the data and `seed`. Refuses to write into an `OUT` that already
/// holds `train/`, `unlabeled/` or `test/`, and fails when a class has fewer than
/// `labels_per_class` training samples.
pub fn import_idx(opts: &ImportOptions) -> Result<ImportReport, IdxError> {
    if opts.labels_per_class == 0 {
        return Err(IdxError::Options(
            "labels per class must be at least 1".into(),
        ));
    }
    let test_paths = match (&opts.test_images, &opts.test_labels) {
        (Some(i), Some(l)) => Some((i.clone(), l.clone())),
        (None, None) => None,
        (Some(_), None) => {
            return Err(IdxError::Options(
                "test images given without test labels".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(IdxError::Options(
                "test labels given without test images".into(),
            ));
        }
    };
    for split in ["train", "unlabeled", "test"] {
        let dir = opts.out.join(split);
        if dir.exists() {
            return Err(IdxError::OutputExists(dir));
        }
    }

    let images = read_idx_images(&opts.images)?;
    let labels = read_idx_labels(&opts.labels)?;
    check_counts(&opts.images, &images, &opts.labels, &labels)?;
    let test = match &test_paths {
        Some((ip, lp)) => {
            let ti = read_idx_images(ip)?;
            let tl = read_idx_labels(lp)?;
            check_counts(ip, &ti, lp, &tl)?;
            if (ti.rows, ti.cols) != (images.rows, images.cols) {
                return Err(IdxError::Format {
                    path: Some(ip.clone()),
                    reason: format!(
                        "test images are {}x{} but training images ({}) are {}x{}",
                        ti.rows,
                        ti.cols,
                        opts.images.display(),
                        images.rows,
                        images.cols
                    ),
                });
            }
            Some((ti, tl))
        }
        None => None,
    };
    if images.count == 0 {
        return Err(IdxError::Format {
            path: Some(opts.images.clone()),
            reason: "holds no image".into(),
        });
    }

    let max_label = labels
        .iter()
        .chain(test.iter().flat_map(|(_, l)| l.iter()))
        .copied()
        .max()
        .unwrap_or(0) as usize;
    let num_classes = opts
        .class_names
        .as_ref()
        .map_or(max_label + 1, |n| n.len().max(max_label + 1));
    let names = class_names(opts, num_classes)?;

    let mut rng = StdRng::seed_from_u64(opts.seed);
    let train_groups = by_class(&labels, num_classes);
    let index_width = |count: usize| count.saturating_sub(1).to_string().len().max(5);
    let train_width = index_width(images.count);
    let mut train_jobs = Vec::new();
    let mut unlabeled_jobs = Vec::new();
    let mut dirs = Vec::new();
    for (class, mut group) in train_groups.into_iter().enumerate() {
        let name = &names[class];
        if group.len() < opts.labels_per_class {
            return Err(IdxError::TooFewSamples {
                class: name.clone(),
                available: group.len(),
                wanted: opts.labels_per_class,
                path: opts.labels.clone(),
            });
        }
        group.shuffle(&mut rng);
        let (chosen, rest) = group.split_at_mut(opts.labels_per_class);
        let rest_len = opts
            .unlabeled_per_class
            .map_or(rest.len(), |cap| cap.min(rest.len()));
        let rest = &mut rest[..rest_len];
        chosen.sort_unstable();
        rest.sort_unstable();
        let train_dir = opts.out.join("train").join(name);
        let unl_dir = opts.out.join("unlabeled").join(name);
        for &index in chosen.iter() {
            train_jobs.push(Job {
                index,
                path: train_dir.join(format!("train-{index:0train_width$}.png")),
            });
        }
        for &index in rest.iter() {
            unlabeled_jobs.push(Job {
                index,
                path: unl_dir.join(format!("train-{index:0train_width$}.png")),
            });
        }
        dirs.push(train_dir);
        if !rest.is_empty() {
            dirs.push(unl_dir);
        }
    }
    let mut test_jobs = Vec::new();
    if let Some((ti, tl)) = &test {
        let width = index_width(ti.count);
        for (class, mut group) in by_class(tl, num_classes).into_iter().enumerate() {
            if let Some(cap) = opts.test_per_class {
                group.shuffle(&mut rng);
                group.truncate(cap);
                group.sort_unstable();
            }
            let dir = opts.out.join("test").join(&names[class]);
            for index in group {
                test_jobs.push(Job {
                    index,
                    path: dir.join(format!("test-{index:0width$}.png")),
                });
            }
            dirs.push(dir);
        }
    }

    for dir in &dirs {
        create_dir(dir)?;
    }
    if unlabeled_jobs.is_empty() {
        // An empty pool is still a valid layout; make the folder exist.
        create_dir(&opts.out.join("unlabeled"))?;
    }
    write_pngs(&images, &train_jobs)?;
    write_pngs(&images, &unlabeled_jobs)?;
    if let Some((ti, _)) = &test {
        write_pngs(ti, &test_jobs)?;
    }
    Ok(ImportReport {
        classes: names,
        train: train_jobs.len(),
        unlabeled: unlabeled_jobs.len(),
        test: test_jobs.len(),
    })
}

fn check_counts(
    images_path: &Path,
    images: &IdxImages,
    labels_path: &Path,
    labels: &[u8],
) -> Result<(), IdxError> {
    if images.count != labels.len() {
        return Err(IdxError::CountMismatch {
            images_path: images_path.to_path_buf(),
            images: images.count,
            labels_path: labels_path.to_path_buf(),
            labels: labels.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temp_dir(tag: &str) -> PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "selftrain-idx-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn images_bytes(count: usize, rows: usize, cols: usize) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&IMAGES_MAGIC.to_be_bytes());
        for v in [count, rows, cols] {
            b.extend_from_slice(&(v as u32).to_be_bytes());
        }
        b.extend((0..count * rows * cols).map(|i| (i % 256) as u8));
        b
    }

    fn labels_bytes(labels: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
        b.extend_from_slice(&(labels.len() as u32).to_be_bytes());
        b.extend_from_slice(labels);
        b
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn parses_raw_and_gzip() {
        let raw = images_bytes(3, 2, 4);
        let a = parse_idx_images(&raw).unwrap();
        assert_eq!((a.count, a.rows, a.cols), (3, 2, 4));
        assert_eq!(a.pixels.len(), 24);
        assert_eq!(a.image(1), &raw[16 + 8..16 + 16]);
        assert_eq!(parse_idx_images(&gzip(&raw)).unwrap(), a);
        let l = labels_bytes(&[1, 2, 0]);
        assert_eq!(parse_idx_labels(&l).unwrap(), vec![1, 2, 0]);
        assert_eq!(parse_idx_labels(&gzip(&l)).unwrap(), vec![1, 2, 0]);
    }

    #[test]
    fn wrong_magic_and_truncation() {
        let l = labels_bytes(&[1, 2]);
        let e = parse_idx_images(&l).unwrap_err().to_string();
        assert!(e.contains("label file"), "{e}");
        let e = parse_idx_labels(&images_bytes(1, 2, 2))
            .unwrap_err()
            .to_string();
        assert!(e.contains("0x00000801"), "{e}");
        let mut raw = images_bytes(3, 2, 4);
        raw.truncate(raw.len() - 1);
        let e = parse_idx_images(&raw).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        let mut l = labels_bytes(&[1, 2]);
        l.push(0);
        assert!(
            parse_idx_labels(&l)
                .unwrap_err()
                .to_string()
                .contains("oversized")
        );
        assert!(parse_idx_labels(&[0, 0]).is_err());
        assert!(parse_idx_images(&[0x1f, 0x8b, 1, 2, 3]).is_err());
    }

    #[test]
    fn read_errors_name_the_file() {
        let dir = temp_dir("read");
        let p = dir.join("bad-labels.gz");
        fs::write(&p, gzip(&images_bytes(1, 1, 1))).unwrap();
        let e = read_idx_labels(&p).unwrap_err().to_string();
        assert!(e.contains("bad-labels.gz"), "{e}");
        let e = read_idx_images(&dir.join("missing"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }

    /// 3 classes with 4, 4 and 5 training images; the test split has 2 per class.
    fn write_synthetic(dir: &Path) -> ImportOptions {
        // Labels i % 3 for i in 0..15, less indices 0 (class 0) and 4 (class 1): sizes 4, 4, 5.
        let train_labels: Vec<u8> = (0..15u8)
            .filter(|&i| i != 0 && i != 4)
            .map(|i| i % 3)
            .collect();
        let test_labels = [0u8, 1, 2, 2, 1, 0];
        fs::write(
            dir.join("ti"),
            gzip(&images_bytes(train_labels.len(), 3, 2)),
        )
        .unwrap();
        fs::write(dir.join("tl"), labels_bytes(&train_labels)).unwrap();
        fs::write(dir.join("vi"), images_bytes(test_labels.len(), 3, 2)).unwrap();
        fs::write(dir.join("vl"), gzip(&labels_bytes(&test_labels))).unwrap();
        ImportOptions {
            images: dir.join("ti"),
            labels: dir.join("tl"),
            test_images: Some(dir.join("vi")),
            test_labels: Some(dir.join("vl")),
            out: dir.join("out"),
            labels_per_class: 2,
            unlabeled_per_class: None,
            test_per_class: None,
            seed: 5,
            class_names: None,
        }
    }

    fn pngs(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .map(|rd| {
                rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    #[test]
    fn import_counts_and_distinct_files() {
        let dir = temp_dir("import");
        let opts = write_synthetic(&dir);
        let report = import_idx(&opts).unwrap();
        assert_eq!(report.classes, vec!["0", "1", "2"]);
        // Class sizes 4, 4, 5 -> 2 labelled each, 2 + 2 + 3 unlabelled.
        assert_eq!((report.train, report.unlabeled, report.test), (6, 7, 6));
        let out = &opts.out;
        for (c, unl) in [("0", 2), ("1", 2), ("2", 3)] {
            let t = pngs(&out.join("train").join(c));
            let u = pngs(&out.join("unlabeled").join(c));
            assert_eq!(t.len(), 2);
            assert_eq!(u.len(), unl);
            assert!(t.iter().all(|f| !u.contains(f)), "{t:?} vs {u:?}");
            assert!(
                t.iter()
                    .all(|f| f.starts_with("train-") && f.ends_with(".png"))
            );
            assert_eq!(pngs(&out.join("test").join(c)).len(), 2);
        }
        // Pixels round-trip: every written train file holds the IDX image of its index.
        let images = read_idx_images(&opts.images).unwrap();
        let f = &pngs(&out.join("train").join("2"))[0];
        let index: usize = f["train-".len()..f.len() - 4].parse().unwrap();
        let img = image::open(out.join("train").join("2").join(f))
            .unwrap()
            .to_luma8();
        assert_eq!(img.dimensions(), (2, 3));
        assert_eq!(img.as_raw().as_slice(), images.image(index));

        // Same seed, same choice; existing output refused.
        let e = import_idx(&opts).unwrap_err();
        assert!(matches!(e, IdxError::OutputExists(_)), "{e}");
        let mut again = opts.clone();
        again.out = dir.join("out2");
        import_idx(&again).unwrap();
        assert_eq!(
            pngs(&out.join("train").join("1")),
            pngs(&again.out.join("train").join("1"))
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn import_caps_names_and_errors() {
        let dir = temp_dir("caps");
        let mut opts = write_synthetic(&dir);
        opts.unlabeled_per_class = Some(1);
        opts.test_per_class = Some(1);
        opts.class_names = Some(vec!["0-a".into(), "1-b".into(), "2-c".into()]);
        let r = import_idx(&opts).unwrap();
        assert_eq!((r.train, r.unlabeled, r.test), (6, 3, 3));
        assert_eq!(pngs(&opts.out.join("unlabeled").join("2-c")).len(), 1);

        let mut bad = opts.clone();
        bad.out = dir.join("o2");
        bad.class_names = Some(vec!["b".into(), "a".into(), "c".into()]);
        assert!(import_idx(&bad).unwrap_err().to_string().contains("sort"));
        bad.class_names = Some(vec!["a".into(), "b".into()]);
        assert!(matches!(import_idx(&bad), Err(IdxError::Options(_))));
        bad.class_names = None;
        bad.labels_per_class = 5;
        let e = import_idx(&bad).unwrap_err().to_string();
        assert!(e.contains("class 0") && e.contains("fewer"), "{e}");

        // Count mismatch names both files.
        bad.labels_per_class = 1;
        fs::write(dir.join("short"), labels_bytes(&[0, 1])).unwrap();
        bad.labels = dir.join("short");
        let e = import_idx(&bad).unwrap_err().to_string();
        assert!(e.contains("short") && e.contains("ti"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
