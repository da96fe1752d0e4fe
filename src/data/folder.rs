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
//! Hidden files and folders (names starting with `.`) are ignored. Files are taken in path
//! order within each class, so loading is deterministic. Images are decoded in parallel, with
//! decoder limits so that a header claiming enormous dimensions is refused, not allocated.

use std::fmt;
use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use rayon::prelude::*;

use super::image_set::{ImageSet, ImageShape};

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
}

impl DatasetOptions {
    /// Options for `root` with automatic channels and size, skipping bad images.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            channels: None,
            size: None,
            on_bad_image: BadImagePolicy::Skip,
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
    /// Files that were left out (bad images with [`BadImagePolicy::Skip`], stray files).
    pub skipped: Vec<SkippedFile>,
}

impl LoadedDataset {
    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }
}

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
    /// A file or folder could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
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

/// Why one file could not be used.
enum Problem {
    /// It could not be read at all (always an error).
    Io(std::io::Error),
    /// It is not a decodable image (skipped or an error, by policy).
    Bad(String),
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Non-hidden entries of a folder, sorted by path, split into (folders, files).
fn read_dir_sorted(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), DataError> {
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let path = entry.map_err(io_err(dir))?.path();
        if is_hidden(&path) {
            continue;
        }
        // `metadata` follows symbolic links.
        match fs::metadata(&path) {
            Ok(m) if m.is_dir() => dirs.push(path),
            Ok(_) => files.push(path),
            // A dangling link: keep it as a file so it is reported.
            Err(_) => files.push(path),
        }
    }
    dirs.sort();
    files.sort();
    Ok((dirs, files))
}

/// All non-hidden files below `dir`, a folder of the split folder `split`, in path order.
/// Folders are listed once each: a symbolic link back to a folder already listed, or to `split`
/// or a folder above it (a loop), is not followed.
fn walk_files(split: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DataError> {
    let split = fs::canonicalize(split).map_err(io_err(split))?;
    let mut seen = std::collections::HashSet::new();
    walk(dir, 1, &split, &mut seen, out)
}

fn walk(
    dir: &Path,
    depth: usize,
    split: &Path,
    seen: &mut std::collections::HashSet<PathBuf>,
    out: &mut Vec<PathBuf>,
) -> Result<(), DataError> {
    let real = fs::canonicalize(dir).map_err(io_err(dir))?;
    if split.starts_with(&real) || !seen.insert(real) {
        return Ok(());
    }
    let (dirs, files) = read_dir_sorted(dir)?;
    // Sort files and subfolders together by path, as a recursive path sort would.
    let mut all: Vec<(PathBuf, bool)> = files
        .into_iter()
        .map(|f| (f, false))
        .chain(dirs.into_iter().map(|d| (d, true)))
        .collect();
    all.sort();
    for (path, is_dir) in all {
        if !is_dir {
            out.push(path);
        } else if depth < MAX_DEPTH {
            walk(&path, depth + 1, split, seen, out)?;
        }
    }
    Ok(())
}

fn dir_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

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

fn decode_file(path: &Path) -> Result<DynamicImage, Problem> {
    let bytes = read_bytes(path)?;
    reader(path, &bytes)?
        .decode()
        .map_err(|e| Problem::Bad(e.to_string()))
}

/// `(height, width)` from the header only.
fn file_dimensions(path: &Path) -> Result<(usize, usize), Problem> {
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
fn has_colour(img: &DynamicImage) -> bool {
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
fn to_chw(img: &DynamicImage, shape: ImageShape) -> Vec<u8> {
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

fn check_shape(shape: ImageShape) -> Result<(), DataError> {
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
    match decode_file(path) {
        Ok(img) => Ok(to_chw(&img, shape)),
        Err(Problem::Io(source)) => Err(DataError::Io {
            path: path.to_path_buf(),
            source,
        }),
        Err(Problem::Bad(reason)) => Err(DataError::Decode {
            path: path.to_path_buf(),
            reason,
        }),
    }
}

/// Lists the class folders of a labelled split: `(name, folder, files)`, sorted by name, plus
/// the stray files lying directly in the split folder.
type ClassFolders = (Vec<(String, PathBuf, Vec<PathBuf>)>, Vec<PathBuf>);

fn list_classes(split_dir: &Path) -> Result<ClassFolders, DataError> {
    let (dirs, stray) = read_dir_sorted(split_dir)?;
    let mut classes = Vec::new();
    for dir in dirs {
        let mut files = Vec::new();
        walk_files(split_dir, &dir, &mut files)?;
        classes.push((dir_name(&dir), dir, files));
    }
    classes.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((classes, stray))
}

fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}

/// Loads a whole dataset (see the [module documentation](self) for the layout).
///
/// Fails on a missing root or `train/`, a `train/` without class folders or with an empty one,
/// a `test/` or `val/` class that `train/` lacks, an unreadable file, and (with
/// [`BadImagePolicy::Fail`]) on the first file, in path order, that is not a decodable image.
/// A missing or empty `unlabeled/` gives an empty pool; a missing `test/` or `val/` gives `None`.
pub fn load_dataset(opts: &DatasetOptions) -> Result<LoadedDataset, DataError> {
    let root = &opts.root;
    match fs::metadata(root) {
        Err(_) => return Err(DataError::MissingRoot(root.clone())),
        Ok(m) if !m.is_dir() => return Err(DataError::NotADirectory(root.clone())),
        Ok(_) => {}
    }
    if let Some(c) = opts.channels
        && c != 1
        && c != 3
    {
        return Err(DataError::BadChannels(c));
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
    };

    // train/
    let train_dir = root.join("train");
    match fs::metadata(&train_dir) {
        Err(_) => return Err(DataError::MissingTrain(train_dir)),
        Ok(m) if !m.is_dir() => return Err(DataError::NotADirectory(train_dir)),
        Ok(_) => {}
    }
    let (train_classes, stray) = list_classes(&train_dir)?;
    loader.stray(stray, "train");
    if train_classes.is_empty() {
        return Err(DataError::NoClasses(train_dir));
    }
    if let Some((_, dir, _)) = train_classes.iter().find(|(_, _, files)| files.is_empty()) {
        return Err(DataError::EmptyClass(dir.clone()));
    }
    let classes: Vec<String> = train_classes.iter().map(|(n, _, _)| n.clone()).collect();
    let class_files: Vec<usize> = train_classes.iter().map(|(_, _, f)| f.len()).collect();
    let mut entries = Vec::new();
    for (label, (_, _, files)) in train_classes.into_iter().enumerate() {
        entries.extend(files.into_iter().map(|path| Entry {
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
    let shape = if opts.channels.is_none() || opts.size.is_none() {
        let (kept, sizes, colour) = loader.probe(entries, opts.channels.is_none())?;
        entries = kept;
        let data_size = match sizes.as_slice() {
            [(h, w)] if AUTO_SIZE_SIDES.contains(h) && AUTO_SIZE_SIDES.contains(w) => (*h, *w),
            _ => DEFAULT_SIZE,
        };
        let (height, width) = opts.size.unwrap_or(data_size);
        ImageShape {
            channels: opts.channels.unwrap_or(if colour { 3 } else { 1 }),
            height,
            width,
        }
    } else {
        let (height, width) = opts.size.unwrap_or(DEFAULT_SIZE);
        ImageShape {
            channels: opts.channels.unwrap_or(1),
            height,
            width,
        }
    };

    // Pass 2: decode at the final shape, straight into buffers sized in advance, a chunk of
    // files at a time, so the pixels exist once (not as per-file vectors plus the sets).
    let mut train = ImageSet::empty(shape);
    let mut val = ImageSet::empty(shape);
    let mut test = ImageSet::empty(shape);
    let mut unlabeled = ImageSet::empty(shape);
    for (split, set) in [
        (Split::Train, &mut train),
        (Split::Val, &mut val),
        (Split::Test, &mut test),
        (Split::Unlabeled, &mut unlabeled),
    ] {
        set.reserve(entries.iter().filter(|e| e.split == split).count());
    }
    const DECODE_CHUNK: usize = 2048;
    for chunk in entries.chunks(DECODE_CHUNK) {
        let decoded: Vec<Result<Vec<u8>, Problem>> = chunk
            .par_iter()
            .map(|e| decode_file(&e.path).map(|img| to_chw(&img, shape)))
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
        });
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
    })
}

/// `(height, width)` pairs seen among the probed images, sorted and without repeats.
type Sizes = Vec<(usize, usize)>;

/// What pass 1 learns about one image: `(height, width)` and whether it has colour.
type Probe = Result<((usize, usize), bool), Problem>;

/// Loading state: the root, the bad-image policy and the files left out so far.
struct Loader<'a> {
    root: &'a Path,
    policy: BadImagePolicy,
    skipped: Vec<SkippedFile>,
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

    /// Records a problem file (policy `Skip`) or turns it into an error.
    fn problem(&mut self, path: &Path, problem: Problem) -> Result<(), DataError> {
        match problem {
            Problem::Io(source) => Err(DataError::Io {
                path: path.to_path_buf(),
                source,
            }),
            Problem::Bad(reason) => match self.policy {
                BadImagePolicy::Fail => Err(DataError::Decode {
                    path: path.to_path_buf(),
                    reason,
                }),
                BadImagePolicy::Skip => {
                    self.skipped.push(SkippedFile {
                        path: relative(self.root, path),
                        reason,
                    });
                    Ok(())
                }
            },
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
        let (split_classes, stray) = list_classes(&dir)?;
        self.stray(stray, name);
        for (class, class_dir, files) in split_classes {
            let Some(label) = class_index(classes, &class) else {
                return Err(DataError::UnknownClass {
                    split: name.to_string(),
                    class,
                    dir: class_dir,
                    known: classes.to_vec(),
                });
            };
            entries.extend(files.into_iter().map(|path| Entry {
                path,
                split,
                label: Some(label),
            }));
        }
        Ok(true)
    }

    /// Lists `ROOT/unlabeled/**` into `entries`, with hidden truth from class subfolders.
    fn unlabeled(&mut self, classes: &[String], entries: &mut Vec<Entry>) -> Result<(), DataError> {
        let dir = self.root.join("unlabeled");
        match fs::metadata(&dir) {
            Err(_) => return Ok(()),
            Ok(m) if !m.is_dir() => return Err(DataError::NotADirectory(dir)),
            Ok(_) => {}
        }
        let (dirs, files) = read_dir_sorted(&dir)?;
        let mut all: Vec<(PathBuf, bool)> = files
            .into_iter()
            .map(|f| (f, false))
            .chain(dirs.into_iter().map(|d| (d, true)))
            .collect();
        all.sort();
        for (path, is_dir) in all {
            if is_dir {
                let truth = class_index(classes, &dir_name(&path));
                let mut files = Vec::new();
                walk_files(&dir, &path, &mut files)?;
                entries.extend(files.into_iter().map(|path| Entry {
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
        Ok(())
    }

    /// Pass 1: sizes of all images (header only unless `colour` is wanted, which needs the
    /// pixels). Returns the entries that passed, the distinct sizes and whether any has colour.
    fn probe(
        &mut self,
        entries: Vec<Entry>,
        colour: bool,
    ) -> Result<(Vec<Entry>, Sizes, bool), DataError> {
        let probes: Vec<Probe> = entries
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
        let mut sizes = std::collections::BTreeSet::new();
        let mut any_colour = false;
        for (entry, probe) in entries.into_iter().zip(probes) {
            match probe {
                Ok((dims, c)) => {
                    sizes.insert(dims);
                    any_colour |= c;
                    kept.push(entry);
                }
                Err(problem) => self.problem(&entry.path, problem)?,
            }
        }
        Ok((kept, sizes.into_iter().collect(), any_colour))
    }
}

/// Index of class `name` in the sorted class list.
fn class_index(classes: &[String], name: &str) -> Option<usize> {
    classes.binary_search_by(|c| c.as_str().cmp(name)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, ImageBuffer, Luma, Rgb, RgbImage};

    fn temp_root(tag: &str) -> PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "selftrain-folder-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn grey(root: &Path, rel: &str, size: u32, value: u8) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        GrayImage::from_pixel(size, size, Luma([value]))
            .save(&path)
            .unwrap();
    }

    fn rgb(root: &Path, rel: &str, size: u32, value: [u8; 3]) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        RgbImage::from_pixel(size, size, Rgb(value))
            .save(&path)
            .unwrap();
    }

    /// train: b (2 images), a (1), c (1); unlabeled: loose file, a/, unknown/; test: a, b.
    fn basic(root: &Path) {
        grey(root, "train/b/2.png", 8, 20);
        grey(root, "train/b/1.png", 8, 10);
        grey(root, "train/a/x.png", 8, 30);
        grey(root, "train/c/y.png", 8, 40);
        grey(root, "train/c/.hidden.png", 8, 40);
        fs::write(root.join("train/.DS_Store"), b"junk").unwrap();
        grey(root, "unlabeled/loose.png", 8, 50);
        grey(root, "unlabeled/a/u1.png", 8, 60);
        grey(root, "unlabeled/c/deep/u2.png", 8, 70);
        grey(root, "unlabeled/zebra/u3.png", 8, 80);
        grey(root, "test/a/t.png", 8, 90);
        grey(root, "test/b/t.png", 8, 100);
    }

    #[test]
    fn classes_sorted_truth_and_order() {
        let root = temp_root("basic");
        basic(&root);
        let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
        assert_eq!(ds.classes, vec!["a", "b", "c"]);
        assert_eq!(ds.num_classes(), 3);
        assert_eq!(
            ds.shape,
            ImageShape {
                channels: 1,
                height: 8,
                width: 8
            }
        );
        assert_eq!(ds.train.labels, vec![Some(0), Some(1), Some(1), Some(2)]);
        assert_eq!(ds.train.files[1], PathBuf::from("train/b/1.png"));
        assert_eq!(ds.train.image(1)[0], 10);
        assert_eq!(ds.train.image(2)[0], 20);
        // Path order: a/, c/deep/, loose.png (no truth), zebra/ (not a class: no truth).
        assert_eq!(ds.unlabeled.labels, vec![Some(0), Some(2), None, None]);
        let files: Vec<String> = ds
            .unlabeled
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        assert_eq!(
            files,
            vec![
                "unlabeled/a/u1.png",
                "unlabeled/c/deep/u2.png",
                "unlabeled/loose.png",
                "unlabeled/zebra/u3.png"
            ]
        );
        let loose = files.iter().position(|f| f.ends_with("loose.png")).unwrap();
        assert_eq!(ds.unlabeled.labels[loose], None);
        assert_eq!(ds.test.as_ref().unwrap().labels, vec![Some(0), Some(1)]);
        assert!(ds.val.is_none());
        assert!(ds.skipped.is_empty(), "{:?}", ds.skipped);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn structural_errors() {
        let root = temp_root("errors");
        let e = load_dataset(&DatasetOptions::new(root.join("nope"))).unwrap_err();
        assert!(matches!(e, DataError::MissingRoot(_)), "{e}");
        let e = load_dataset(&DatasetOptions::new(&root)).unwrap_err();
        assert!(e.to_string().contains("train"), "{e}");
        fs::create_dir_all(root.join("train")).unwrap();
        assert!(matches!(
            load_dataset(&DatasetOptions::new(&root)),
            Err(DataError::NoClasses(_))
        ));
        grey(&root, "train/a/1.png", 4, 1);
        fs::create_dir_all(root.join("train/b")).unwrap();
        let e = load_dataset(&DatasetOptions::new(&root))
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty") && e.contains("b"), "{e}");
        grey(&root, "train/b/1.png", 4, 1);
        // Missing unlabeled/ and test/ are fine.
        let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
        assert!(ds.unlabeled.is_empty() && ds.test.is_none());
        // A test class that train lacks.
        grey(&root, "test/dog/1.png", 4, 1);
        let e = load_dataset(&DatasetOptions::new(&root))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"dog\"") && e.contains("test"), "{e}");
        let mut opts = DatasetOptions::new(&root);
        opts.channels = Some(2);
        assert!(matches!(
            load_dataset(&opts),
            Err(DataError::BadChannels(2))
        ));
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn bad_files_skip_or_fail() {
        let root = temp_root("bad");
        grey(&root, "train/a/1.png", 6, 1);
        grey(&root, "train/b/1.png", 6, 1);
        fs::write(
            root.join("train/b/broken.png"),
            b"\x89PNG\r\n\x1a\nnot really",
        )
        .unwrap();
        fs::write(root.join("train/b/empty.png"), b"").unwrap();
        fs::write(root.join("unlabeled.txt"), b"ignored: not in a split").unwrap();
        fs::create_dir_all(root.join("unlabeled")).unwrap();
        fs::write(root.join("unlabeled/notes.txt"), b"hello").unwrap();
        let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
        assert_eq!(ds.train.len(), 2);
        assert!(ds.unlabeled.is_empty());
        let skipped: Vec<String> = ds
            .skipped
            .iter()
            .map(|s| s.path.display().to_string())
            .collect();
        assert_eq!(
            skipped,
            vec![
                "train/b/broken.png",
                "train/b/empty.png",
                "unlabeled/notes.txt"
            ]
        );
        assert!(ds.skipped[1].reason.contains("empty"));

        let mut opts = DatasetOptions::new(&root);
        opts.on_bad_image = BadImagePolicy::Fail;
        let e = load_dataset(&opts).unwrap_err();
        assert!(matches!(e, DataError::Decode { .. }));
        assert!(e.to_string().contains("broken.png"), "{e}");
        // Same with explicit size and channels (single pass).
        opts.size = Some((6, 6));
        opts.channels = Some(1);
        assert!(
            load_dataset(&opts)
                .unwrap_err()
                .to_string()
                .contains("broken.png")
        );
        // A class whose only file is bad.
        fs::remove_file(root.join("train/b/1.png")).unwrap();
        let e = load_dataset(&DatasetOptions::new(&root)).unwrap_err();
        assert!(matches!(e, DataError::NoUsableImage { .. }), "{e}");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn mixed_sizes_default_and_explicit() {
        let root = temp_root("sizes");
        grey(&root, "train/a/1.png", 28, 200);
        grey(&root, "train/b/1.png", 40, 100);
        let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
        assert_eq!(
            ds.shape,
            ImageShape {
                channels: 1,
                height: 32,
                width: 32
            }
        );
        assert_eq!(ds.train.pixels.len(), 2 * 32 * 32);
        assert!(ds.train.image(0).iter().all(|&v| v == 200));
        let mut opts = DatasetOptions::new(&root);
        opts.size = Some((10, 12));
        let ds = load_dataset(&opts).unwrap();
        assert_eq!((ds.shape.height, ds.shape.width), (10, 12));
        assert_eq!(ds.train.image(1).len(), 120);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn colour_detection_and_chw() {
        let root = temp_root("colour");
        grey(&root, "train/a/1.png", 4, 9);
        rgb(&root, "train/b/1.png", 4, [10, 20, 30]);
        // An RGB file with equal channels counts as grey.
        rgb(&root, "train/c/1.png", 4, [7, 7, 7]);
        let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
        assert_eq!(ds.shape.channels, 3);
        let img = ds.train.image(1);
        assert_eq!(&img[..16], &[10; 16]);
        assert_eq!(&img[16..32], &[20; 16]);
        assert_eq!(&img[32..], &[30; 16]);
        assert_eq!(ds.train.image(0), &[9; 48]);

        fs::remove_dir_all(root.join("train/b")).unwrap();
        let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
        assert_eq!(ds.shape.channels, 1);
        assert_eq!(ds.train.image(1), &[7; 16]);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn sixteen_bit_grey_and_decode_image_file() {
        let root = temp_root("16bit");
        let path = root.join("train/a/deep.png");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let img: ImageBuffer<Luma<u16>, Vec<u16>> = ImageBuffer::from_pixel(5, 4, Luma([65535]));
        img.save(&path).unwrap();
        let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
        assert_eq!(
            ds.shape,
            ImageShape {
                channels: 1,
                height: 4,
                width: 5
            }
        );
        assert!(ds.train.image(0).iter().all(|&v| v == 255));

        let shape = ImageShape {
            channels: 3,
            height: 6,
            width: 10,
        };
        let px = decode_image_file(&path, shape).unwrap();
        assert_eq!(px.len(), shape.len());
        assert!(px.iter().all(|&v| v == 255));
        let e = decode_image_file(&root.join("missing.png"), shape).unwrap_err();
        assert!(e.to_string().contains("missing.png"), "{e}");
        let bad = ImageShape {
            channels: 2,
            ..shape
        };
        assert!(matches!(
            decode_image_file(&path, bad),
            Err(DataError::BadChannels(2))
        ));
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn huge_header_is_refused() {
        let root = temp_root("huge");
        grey(&root, "train/a/ok.png", 4, 1);
        // A valid 1x1 PNG whose IHDR is patched to claim 100000 x 100000 pixels.
        let mut bytes = Vec::new();
        GrayImage::from_pixel(1, 1, Luma([0]))
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        bytes[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.sum().to_be_bytes());
        fs::write(root.join("train/a/huge.png"), &bytes).unwrap();
        let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
        assert_eq!(ds.train.len(), 1);
        assert_eq!(ds.skipped.len(), 1);
        assert!(ds.skipped[0].path.ends_with("huge.png"));
        let reason = &ds.skipped[0].reason;
        assert!(reason.to_lowercase().contains("limit"), "{reason}");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn loads_the_committed_sample_data() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data");
        if !root.join("train").is_dir() {
            eprintln!("sample-data/ not generated; skipping");
            return;
        }
        let ds = load_dataset(&DatasetOptions::new(&root)).unwrap();
        assert_eq!(ds.classes.len(), 10);
        assert_eq!(ds.classes[0], "0-tshirt-top");
        assert_eq!(ds.classes[9], "9-ankle-boot");
        assert_eq!(
            ds.shape,
            ImageShape {
                channels: 1,
                height: 28,
                width: 28
            }
        );
        assert_eq!(ds.train.class_counts(10), vec![10; 10]);
        assert_eq!(ds.unlabeled.class_counts(10), vec![200; 10]);
        assert!(ds.unlabeled.labels.iter().all(Option::is_some));
        assert_eq!(
            ds.test.as_ref().map(|t| t.class_counts(10)),
            Some(vec![50; 10])
        );
        assert!(ds.val.is_none() && ds.skipped.is_empty());
    }

    #[test]
    fn policy_parse_display_serde() {
        assert_eq!(
            "Skip".parse::<BadImagePolicy>().unwrap(),
            BadImagePolicy::Skip
        );
        assert_eq!(
            "fail".parse::<BadImagePolicy>().unwrap(),
            BadImagePolicy::Fail
        );
        assert!("maybe".parse::<BadImagePolicy>().is_err());
        assert_eq!(BadImagePolicy::Fail.to_string(), "fail");
        assert_eq!(BadImagePolicy::default(), BadImagePolicy::Skip);
        assert_eq!(
            serde_json::to_string(&BadImagePolicy::Skip).unwrap(),
            "\"skip\""
        );
        let p: BadImagePolicy = serde_json::from_str("\"fail\"").unwrap();
        assert_eq!(p, BadImagePolicy::Fail);
    }
}
