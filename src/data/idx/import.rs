//! Importing an IDX image/label pair as a PNG image folder.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;

use super::IdxError;
use super::read::{IdxImages, read_idx_images, read_idx_labels};

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
    /// Long-tailed import: the ratio of the first class's counts to the last's (1 = balanced).
    /// Class `c` of `C` keeps `n × ratio^(−c/(C−1))` of the labelled and unlabelled counts
    /// (at least one of each), the exponential profile of the long-tailed CIFAR benchmarks; the
    /// test split stays as it is.
    pub imbalance_ratio: f64,
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

/// Refuses a label outside the classes, naming its file, sample and value (instead of a later
/// "class N has only 0 samples"). With `names` class names, labels must be below `names`;
/// without, the training labels must run 0, 1, 2, ... without gaps and every test label must be
/// one of them.
fn check_label_range(
    train: (&Path, &[u8]),
    test: Option<(&Path, &[u8])>,
    names: Option<usize>,
) -> Result<(), IdxError> {
    let files = std::iter::once(train).chain(test);
    if let Some(n) = names {
        for (path, labels) in files {
            if let Some((index, &label)) =
                labels.iter().enumerate().find(|(_, l)| **l as usize >= n)
            {
                return Err(IdxError::Options(format!(
                    "{n} class names given but {}: label {label} of sample {index} is out of                      range (the names cover labels 0 to {})",
                    path.display(),
                    n.saturating_sub(1)
                )));
            }
        }
        return Ok(());
    }
    let mut present = [false; 256];
    for &l in train.1 {
        present[l as usize] = true;
    }
    let classes = present.iter().position(|p| !p).unwrap_or(256);
    for (path, labels) in files {
        if let Some((index, &label)) = labels
            .iter()
            .enumerate()
            .find(|(_, l)| !present[**l as usize] || **l as usize >= classes)
        {
            let why = if classes == 0 {
                "no training sample has label 0 (labels must run 0, 1, 2, ... without gaps)"
                    .to_string()
            } else {
                format!(
                    "no training sample has label {classes}, so the classes are 0 to {} \
                     (labels must run 0, 1, 2, ... without gaps)",
                    classes - 1
                )
            };
            return Err(IdxError::LabelOutOfRange {
                path: path.to_path_buf(),
                index,
                label,
                why,
            });
        }
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
    fs::create_dir_all(path).map_err(|error| IdxError::Io {
        path: path.to_path_buf(),
        error,
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
/// With `imbalance_ratio` R > 1 the labelled and unlabelled counts shrink with the label, see
/// [`long_tail_count`]. The choice depends only on the data and `seed`. Refuses to write into an `OUT` that already
/// holds `train/`, `unlabeled/` or `test/`, and fails when a class has fewer than
/// `labels_per_class` training samples.
pub fn import_idx(opts: &ImportOptions) -> Result<ImportReport, IdxError> {
    if opts.labels_per_class == 0 {
        return Err(IdxError::Options(
            "labels per class must be at least 1".into(),
        ));
    }
    if !(opts.imbalance_ratio.is_finite() && opts.imbalance_ratio >= 1.0) {
        return Err(IdxError::Options(format!(
            "imbalance ratio must be a number ≥ 1 (1 = balanced), got {}",
            opts.imbalance_ratio
        )));
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

    check_label_range(
        (&opts.labels, &labels),
        test_paths
            .as_ref()
            .zip(test.as_ref())
            .map(|((_, lp), (_, tl))| (lp.as_path(), tl.as_slice())),
        opts.class_names.as_ref().map(Vec::len),
    )?;
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
    let tail =
        |n: usize, class: usize| long_tail_count(n, class, num_classes, opts.imbalance_ratio);
    for (class, mut group) in train_groups.into_iter().enumerate() {
        let name = &names[class];
        let labelled = tail(opts.labels_per_class, class);
        if group.len() < labelled {
            return Err(IdxError::TooFewSamples {
                class: name.clone(),
                available: group.len(),
                wanted: labelled,
                path: opts.labels.clone(),
            });
        }
        group.shuffle(&mut rng);
        let (chosen, rest) = group.split_at_mut(labelled);
        // Never more than the rest: `tail` keeps at most what it is given.
        let rest_len = tail(
            opts.unlabeled_per_class
                .map_or(rest.len(), |cap| cap.min(rest.len())),
            class,
        );
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

/// How many of `n` images class `class` of `classes` keeps at imbalance ratio `ratio`:
/// `round(n × ratio^(−class/(classes−1)))`, at least 1 when `n` is not 0, so the first class keeps
/// `n` and the last `n / ratio`.
pub fn long_tail_count(n: usize, class: usize, classes: usize, ratio: f64) -> usize {
    if ratio <= 1.0 || classes < 2 || n == 0 {
        return n;
    }
    let share = ratio.powf(-(class as f64) / (classes - 1) as f64);
    ((n as f64 * share).round() as usize).clamp(1, n)
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
