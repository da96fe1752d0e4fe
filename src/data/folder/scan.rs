//! Listing the files of a dataset: sorted folder entries, recursive walks that do not follow
//! link loops, class folder names, and the run directories that are left out.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::MAX_DEPTH;
use super::error::DataError;

/// Files that mark a folder as a training run's output (see `crate::run::files`): a folder
/// holding one of them is a run directory, whose charts and images are not data.
const RUN_MARKERS: [&str; 3] = ["metrics.jsonl", "resume.json", "summary.json"];

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// Whether `dir` is the output folder of a training run.
pub(super) fn is_run_dir(dir: &Path) -> bool {
    RUN_MARKERS.iter().any(|m| dir.join(m).is_file())
}

/// Non-hidden entries of a folder, sorted by path, split into (folders, files).
fn read_dir_sorted(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), DataError> {
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        if is_hidden(&path) {
            continue;
        }
        // `metadata` follows symbolic links.
        match fs::metadata(&path) {
            Ok(m) if m.is_dir() => dirs.push(path),
            Ok(_) => files.push(path),
            // A dangling or looping link: keep it as a file so it is reported.
            Err(_) => files.push(path),
        }
    }
    dirs.sort();
    files.sort();
    Ok((dirs, files))
}

/// Files and subfolders of a folder together, sorted by path as a recursive path sort would;
/// `true` marks a folder.
pub(super) fn entries_sorted(dir: &Path) -> Result<Vec<(PathBuf, bool)>, DataError> {
    let (dirs, files) = read_dir_sorted(dir)?;
    let mut all: Vec<(PathBuf, bool)> = files
        .into_iter()
        .map(|f| (f, false))
        .chain(dirs.into_iter().map(|d| (d, true)))
        .collect();
    all.sort();
    Ok(all)
}

/// A recursive listing below one split folder.
pub(super) struct Walk {
    /// The split folder, canonical.
    split: PathBuf,
    /// Canonical folders already listed.
    seen: HashSet<PathBuf>,
    /// Files found, in path order.
    pub files: Vec<PathBuf>,
    /// Run directories met and left out.
    pub run_dirs: Vec<PathBuf>,
}

impl Walk {
    /// A walk below the split folder `split`.
    pub fn new(split: &Path) -> Result<Self, DataError> {
        Ok(Self {
            split: fs::canonicalize(split).map_err(|e| DataError::io(split, e))?,
            seen: HashSet::new(),
            files: Vec::new(),
            run_dirs: Vec::new(),
        })
    }

    /// Adds all non-hidden files below `dir`, in path order. Folders are listed once each per
    /// call: a symbolic link back to a folder already listed, or to the split folder or a folder
    /// above it (a loop), is not followed. Run directories are left out (recorded in
    /// `run_dirs`).
    pub fn add(&mut self, dir: &Path) -> Result<(), DataError> {
        self.seen.clear();
        self.walk(dir, 1)
    }

    fn walk(&mut self, dir: &Path, depth: usize) -> Result<(), DataError> {
        let real = fs::canonicalize(dir).map_err(|e| DataError::io(dir, e))?;
        if self.split.starts_with(&real) || !self.seen.insert(real) {
            return Ok(());
        }
        if is_run_dir(dir) {
            self.run_dirs.push(dir.to_path_buf());
            return Ok(());
        }
        for (path, is_dir) in entries_sorted(dir)? {
            if !is_dir {
                self.files.push(path);
            } else if depth < MAX_DEPTH {
                self.walk(&path, depth + 1)?;
            }
        }
        Ok(())
    }
}

/// The name of a class folder; refused when it is not valid UTF-8, since replacing the invalid
/// bytes could make two folders the same class.
pub(super) fn class_name(dir: &Path) -> Result<String, DataError> {
    let name = dir.file_name().unwrap_or_default();
    name.to_str()
        .map(str::to_string)
        .ok_or_else(|| DataError::NonUtf8ClassName(dir.to_path_buf()))
}

/// A class folder of a labelled split: its name, folder and files (in path order).
pub(super) struct ClassFolder {
    pub name: String,
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
}

/// The class folders of a labelled split (sorted by name), the stray files lying directly in
/// the split folder, and the run directories left out.
pub(super) struct SplitListing {
    pub classes: Vec<ClassFolder>,
    pub stray: Vec<PathBuf>,
    pub run_dirs: Vec<PathBuf>,
}

/// Lists the class folders of a labelled split folder.
pub(super) fn list_classes(split_dir: &Path) -> Result<SplitListing, DataError> {
    let (dirs, stray) = read_dir_sorted(split_dir)?;
    let mut walk = Walk::new(split_dir)?;
    let mut classes = Vec::new();
    for dir in dirs {
        if is_run_dir(&dir) || holds_run_dirs(&dir) {
            walk.run_dirs.push(dir);
            continue;
        }
        let name = class_name(&dir)?;
        let start = walk.files.len();
        walk.add(&dir)?;
        let files = walk.files.split_off(start);
        classes.push(ClassFolder { name, dir, files });
    }
    classes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(SplitListing {
        classes,
        stray,
        run_dirs: walk.run_dirs,
    })
}

/// Whether a folder directly holds a run directory (it is a runs folder, not a class).
fn holds_run_dirs(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().is_dir() && is_run_dir(&e.path()))
    })
}
