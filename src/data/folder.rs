//! ImageFolder-style datasets, laid out as torchvision users expect:
//!
//! ```text
//! ROOT/train/<class>/*        labelled images; the class list is the sorted folder names
//! ROOT/unlabeled/**           the unlabelled pool: files directly inside (truth unknown) or in
//!                             <class>/ subfolders whose names are hidden ground truth
//! ROOT/test/<class>/*         optional test split (classes must exist in train/)
//! ROOT/val/<class>/*          optional validation split (classes must exist in train/)
//! ```
//!
//! Hidden files and folders (names starting with `.`) are ignored, and so are the output
//! folders of training runs (with a warning). Class folder names must be valid UTF-8. Files are
//! taken in path order within each class, so loading is deterministic. Images are decoded in
//! parallel, with decoder limits so that a header claiming enormous dimensions is refused, not
//! allocated.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rayon::prelude::*;

use super::image_set::{ImageSet, ImageShape};

mod decode;
mod error;
mod scan;
mod shape;
#[cfg(test)]
mod tests;

pub use decode::{ResizePolicy, decode_image_file};
use decode::{check_shape, decode_file, file_dimensions, has_colour, to_chw};
pub use error::DataError;
use error::Problem;
use scan::{Walk, class_name, entries_sorted, list_classes};
use shape::{Probed, choose_shape};

/// Largest accepted image width or height, in pixels.
pub const MAX_DIMENSION: u32 = 16384;
/// Largest amount of memory a decoder may allocate for one image.
pub const MAX_DECODE_ALLOC: u64 = 512 * 1024 * 1024;
/// Image size `(height, width)` used when the images do not all have the same size.
pub const DEFAULT_SIZE: (usize, usize) = (32, 32);
/// Sides the images' own size may have to be used as the automatic size (the range the models
/// and `image_size` accept); outside it, [`DEFAULT_SIZE`] is used.
pub const AUTO_SIZE_SIDES: std::ops::RangeInclusive<usize> = 4..=1024;
/// How deep folders are searched below a class (or the unlabelled) folder.
const MAX_DEPTH: usize = 32;

/// What to do with a file that cannot be decoded as an image.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum BadImagePolicy {
    /// Leave it out and record it in [`LoadedDataset::skipped`].
    #[default]
    Skip,
    /// Stop loading with an error naming the file.
    Fail,
}

impl fmt::Display for BadImagePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Skip => "skip",
            Self::Fail => "fail",
        })
    }
}

impl FromStr for BadImagePolicy {
    type Err = String;

    /// Parses `skip` or `fail` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "skip" => Ok(Self::Skip),
            "fail" => Ok(Self::Fail),
            other => Err(format!(
                "unknown bad-image policy {other:?}: expected \"skip\" or \"fail\""
            )),
        }
    }
}

/// Where a dataset is and how to turn its images into same-shaped tensors.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DatasetOptions {
    /// Dataset root, holding `train/` and optionally `unlabeled/`, `test/` and `val/`.
    pub root: PathBuf,
    /// 1 (grey) or 3 (RGB); `None` = 3 when any image has colour (an RGB or palette image whose
    /// channels differ somewhere), else 1.
    pub channels: Option<usize>,
    /// `(height, width)` every image is resized to; `None` = the images' own size when they all
    /// agree and both sides are within [`AUTO_SIZE_SIDES`], else [`DEFAULT_SIZE`].
    pub size: Option<(usize, usize)>,
    /// What to do with files that are not decodable images.
    pub on_bad_image: BadImagePolicy,
    /// How images of another size are brought to `size`.
    #[serde(default = "ResizePolicy::legacy")]
    pub resize: ResizePolicy,
}

impl DatasetOptions {
    /// Options for `root` with automatic channels and size, skipping bad images.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            channels: None,
            size: None,
            on_bad_image: BadImagePolicy::Skip,
            resize: ResizePolicy::Crop,
        }
    }
}

/// A file left out of the dataset, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SkippedFile {
    /// The file (relative to the dataset root where possible).
    pub path: PathBuf,
    /// Why it was left out.
    pub reason: String,
}

/// A dataset loaded into memory.
#[derive(Debug, Clone)]
pub struct LoadedDataset {
    /// The dataset root.
    pub root: PathBuf,
    /// Class names (sorted `train/` folder names); a label is an index into this list.
    pub classes: Vec<String>,
    /// Shape of every image of every split.
    pub shape: ImageShape,
    /// Labelled training images.
    pub train: ImageSet,
    /// Validation images, when `val/` exists and holds at least one image.
    pub val: Option<ImageSet>,
    /// Test images, when `test/` exists and holds at least one image.
    pub test: Option<ImageSet>,
    /// The unlabelled pool; labels are hidden ground truth or `None`. May be empty.
    pub unlabeled: ImageSet,
    /// Files that were left out (bad or unreadable images with [`BadImagePolicy::Skip`], stray
    /// files).
    pub skipped: Vec<SkippedFile>,
    /// Things the user should know about the data: a minority of images that decided the
    /// shape, run directories left out.
    pub warnings: Vec<String>,
}

impl LoadedDataset {
    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }
}

/// What a dataset will hold once decoded: known after listing (and, for an automatic shape,
/// after reading the images' headers) but before any pixel is kept, so that a caller can refuse
/// a load that would not fit in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatasetPlan {
    /// Shape every image is converted to.
    pub shape: ImageShape,
    /// Number of classes.
    pub classes: usize,
    /// Files listed in `train/`.
    pub train: usize,
    /// Files listed in `val/`.
    pub val: usize,
    /// Files listed in `test/`.
    pub test: usize,
    /// Files listed in `unlabeled/`.
    pub unlabeled: usize,
}

impl DatasetPlan {
    /// Images of every split together.
    pub fn images(&self) -> usize {
        self.train + self.val + self.test + self.unlabeled
    }
}

/// Loads a whole dataset (see the [module documentation](self) for the layout).
///
/// Fails on a missing root or `train/`, a `train/` without class folders or with an empty one,
/// a class folder whose name is not UTF-8, a `test/` or `val/` class that `train/` lacks, an
/// unreadable folder, and (with [`BadImagePolicy::Fail`]) on the first file, in path order,
/// that is not a readable, decodable image. A missing or empty `unlabeled/` gives an empty
/// pool; a missing `test/` or `val/` gives `None`.
pub fn load_dataset(opts: &DatasetOptions) -> Result<LoadedDataset, DataError> {
    load_dataset_checked(opts, |_| Ok(()))
}

/// [`load_dataset`], calling `check` with the [`DatasetPlan`] before the images are decoded
/// at their final shape; an error from `check` stops the load.
pub fn load_dataset_checked<E: From<DataError>>(
    opts: &DatasetOptions,
    check: impl FnOnce(&DatasetPlan) -> Result<(), E>,
) -> Result<LoadedDataset, E> {
    let root = &opts.root;
    match fs::metadata(root) {
        Err(_) => return Err(DataError::MissingRoot(root.clone()).into()),
        Ok(m) if !m.is_dir() => return Err(DataError::NotADirectory(root.clone()).into()),
        Ok(_) => {}
    }
    if let Some(c) = opts.channels
        && c != 1
        && c != 3
    {
        return Err(DataError::BadChannels(c).into());
    }
    if let Some((height, width)) = opts.size {
        check_shape(ImageShape {
            channels: 1,
            height,
            width,
        })?;
    }
    let mut loader = Loader {
        root,
        policy: opts.on_bad_image,
        skipped: Vec::new(),
        run_dirs: Vec::new(),
    };

    // train/
    let train_dir = root.join("train");
    match fs::metadata(&train_dir) {
        Err(_) => return Err(DataError::MissingTrain(train_dir).into()),
        Ok(m) if !m.is_dir() => return Err(DataError::NotADirectory(train_dir).into()),
        Ok(_) => {}
    }
    let listing = list_classes(&train_dir)?;
    loader.stray(listing.stray, "train");
    loader.run_dirs.extend(listing.run_dirs);
    let train_classes = listing.classes;
    if train_classes.is_empty() {
        return Err(DataError::NoClasses(train_dir).into());
    }
    if let Some(class) = train_classes.iter().find(|c| c.files.is_empty()) {
        return Err(DataError::EmptyClass(class.dir.clone()).into());
    }
    let classes: Vec<String> = train_classes.iter().map(|c| c.name.clone()).collect();
    let class_files: Vec<usize> = train_classes.iter().map(|c| c.files.len()).collect();
    let mut entries = Vec::new();
    for (label, class) in train_classes.into_iter().enumerate() {
        entries.extend(class.files.into_iter().map(|path| Entry {
            path,
            split: Split::Train,
            label: Some(label),
        }));
    }

    // val/, test/ and unlabeled/
    let has_val = loader.labelled_split("val", Split::Val, &classes, &mut entries)?;
    let has_test = loader.labelled_split("test", Split::Test, &classes, &mut entries)?;
    loader.unlabeled(&classes, &mut entries)?;

    // Pass 1, only when something is automatic: sizes (and colour, which needs the pixels).
    let mut warnings = Vec::new();
    let shape = if opts.channels.is_none() || opts.size.is_none() {
        let (kept, probes) = loader.probe(entries, opts.channels.is_none())?;
        entries = kept;
        let (shape, shape_warnings) = choose_shape(opts.channels, opts.size, &probes);
        warnings.extend(shape_warnings);
        shape
    } else {
        let (height, width) = opts.size.unwrap_or(DEFAULT_SIZE);
        ImageShape {
            channels: opts.channels.unwrap_or(1),
            height,
            width,
        }
    };
    for dir in &loader.run_dirs {
        warnings.push(format!(
            "{} is a training run's output, not data: left out (keep --runs-dir outside the \
             data folder)",
            relative(root, dir).display()
        ));
    }
    let count = |split| entries.iter().filter(|e| e.split == split).count();
    let plan = DatasetPlan {
        shape,
        classes: classes.len(),
        train: count(Split::Train),
        val: count(Split::Val),
        test: count(Split::Test),
        unlabeled: count(Split::Unlabeled),
    };
    check(&plan)?;

    // Pass 2: decode at the final shape, straight into buffers sized in advance, a chunk of
    // files at a time, so the pixels exist once (not as per-file vectors plus the sets).
    let mut train = ImageSet::empty(shape);
    let mut val = ImageSet::empty(shape);
    let mut test = ImageSet::empty(shape);
    let mut unlabeled = ImageSet::empty(shape);
    train.reserve(plan.train);
    val.reserve(plan.val);
    test.reserve(plan.test);
    unlabeled.reserve(plan.unlabeled);
    for chunk in entries.chunks(DECODE_CHUNK) {
        let decoded: Vec<Result<Vec<u8>, Problem>> = chunk
            .par_iter()
            .map(|e| decode_file(&e.path).map(|img| to_chw(&img, shape, opts.resize)))
            .collect();
        for (entry, pixels) in chunk.iter().zip(decoded) {
            match pixels {
                Ok(pixels) => {
                    let set = match entry.split {
                        Split::Train => &mut train,
                        Split::Val => &mut val,
                        Split::Test => &mut test,
                        Split::Unlabeled => &mut unlabeled,
                    };
                    set.push(&pixels, entry.label, relative(root, &entry.path));
                }
                Err(problem) => loader.problem(&entry.path, problem)?,
            }
        }
    }
    let counts = train.class_counts(classes.len());
    if let Some(class) = (0..classes.len()).find(|&c| counts[c] == 0) {
        return Err(DataError::NoUsableImage {
            dir: root.join("train").join(&classes[class]),
            count: class_files[class],
        }
        .into());
    }
    let mut skipped = loader.skipped;
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(LoadedDataset {
        root: root.clone(),
        classes,
        shape,
        train,
        val: (has_val && !val.is_empty()).then_some(val),
        test: (has_test && !test.is_empty()).then_some(test),
        unlabeled,
        skipped,
        warnings,
    })
}

/// Files decoded together in pass 2 (their pixels exist twice while a chunk is copied).
pub const DECODE_CHUNK: usize = 2048;

/// The split an image belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Split {
    Train,
    Val,
    Test,
    Unlabeled,
}

/// One file to load.
struct Entry {
    path: PathBuf,
    split: Split,
    label: Option<usize>,
}

fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}

/// Loading state: the root, the bad-image policy, the files left out so far and the run
/// directories met.
struct Loader<'a> {
    root: &'a Path,
    policy: BadImagePolicy,
    skipped: Vec<SkippedFile>,
    run_dirs: Vec<PathBuf>,
}

impl Loader<'_> {
    /// Records stray files lying directly in a labelled split folder.
    fn stray(&mut self, files: Vec<PathBuf>, split: &str) {
        for f in files {
            self.skipped.push(SkippedFile {
                path: relative(self.root, &f),
                reason: format!("not inside a class folder of {split}/"),
            });
        }
    }

    /// Records a problem file (policy `Skip`) or turns it into an error (policy `Fail`).
    fn problem(&mut self, path: &Path, problem: Problem) -> Result<(), DataError> {
        match self.policy {
            BadImagePolicy::Fail => Err(problem.into_error(path)),
            BadImagePolicy::Skip => {
                self.skipped.push(SkippedFile {
                    path: relative(self.root, path),
                    reason: problem.reason(),
                });
                Ok(())
            }
        }
    }

    /// Lists `ROOT/name/<class>/**` into `entries`; `false` when the folder does not exist.
    fn labelled_split(
        &mut self,
        name: &str,
        split: Split,
        classes: &[String],
        entries: &mut Vec<Entry>,
    ) -> Result<bool, DataError> {
        let dir = self.root.join(name);
        match fs::metadata(&dir) {
            Err(_) => return Ok(false),
            Ok(m) if !m.is_dir() => return Err(DataError::NotADirectory(dir)),
            Ok(_) => {}
        }
        let listing = list_classes(&dir)?;
        self.stray(listing.stray, name);
        self.run_dirs.extend(listing.run_dirs);
        for class in listing.classes {
            let Some(label) = class_index(classes, &class.name) else {
                return Err(DataError::UnknownClass {
                    split: name.to_string(),
                    class: class.name,
                    dir: class.dir,
                    known: classes.to_vec(),
                });
            };
            entries.extend(class.files.into_iter().map(|path| Entry {
                path,
                split,
                label: Some(label),
            }));
        }
        Ok(true)
    }

    /// Lists `ROOT/unlabeled/**` into `entries`, with hidden truth from class subfolders (a
    /// folder whose name is not UTF-8 cannot name a class: its truth is unknown).
    fn unlabeled(&mut self, classes: &[String], entries: &mut Vec<Entry>) -> Result<(), DataError> {
        let dir = self.root.join("unlabeled");
        match fs::metadata(&dir) {
            Err(_) => return Ok(()),
            Ok(m) if !m.is_dir() => return Err(DataError::NotADirectory(dir)),
            Ok(_) => {}
        }
        let mut walk = Walk::new(&dir)?;
        for (path, is_dir) in entries_sorted(&dir)? {
            if is_dir {
                let truth = class_name(&path)
                    .ok()
                    .and_then(|name| class_index(classes, &name));
                walk.add(&path)?;
                entries.extend(walk.files.drain(..).map(|path| Entry {
                    path,
                    split: Split::Unlabeled,
                    label: truth,
                }));
            } else {
                entries.push(Entry {
                    path,
                    split: Split::Unlabeled,
                    label: None,
                });
            }
        }
        self.run_dirs.extend(walk.run_dirs);
        Ok(())
    }

    /// Pass 1: sizes of all images (header only unless `colour` is wanted, which needs the
    /// pixels). Returns the entries that passed and what was learnt about each.
    fn probe(
        &mut self,
        entries: Vec<Entry>,
        colour: bool,
    ) -> Result<(Vec<Entry>, Vec<Probed>), DataError> {
        let probes: Vec<Result<ProbeResult, Problem>> = entries
            .par_iter()
            .map(|e| {
                if colour {
                    decode_file(&e.path).map(|img| {
                        let dims = (img.height() as usize, img.width() as usize);
                        (dims, has_colour(&img))
                    })
                } else {
                    file_dimensions(&e.path).map(|dims| (dims, false))
                }
            })
            .collect();
        let mut kept = Vec::with_capacity(entries.len());
        let mut probed = Vec::with_capacity(entries.len());
        for (entry, probe) in entries.into_iter().zip(probes) {
            match probe {
                Ok((size, colour)) => {
                    probed.push(Probed {
                        path: relative(self.root, &entry.path),
                        size,
                        colour,
                    });
                    kept.push(entry);
                }
                Err(problem) => self.problem(&entry.path, problem)?,
            }
        }
        Ok((kept, probed))
    }
}

/// What pass 1 reads of one image: `(height, width)` and whether it has colour.
type ProbeResult = ((usize, usize), bool);

/// Index of class `name` in the sorted class list.
fn class_index(classes: &[String], name: &str) -> Option<usize> {
    classes.binary_search_by(|c| c.as_str().cmp(name)).ok()
}
