//! A cheap fingerprint of a dataset (class list, per-class counts, a hash of its files' paths
//! and sizes; no decoding), recorded with a run so that resuming on data that changed is
//! refused (other classes) or warned about (files added, removed or resized).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ImageSet;
use super::folder::LoadedDataset;

/// What a run saw of its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFingerprint {
    /// Class names in label order.
    pub classes: Vec<String>,
    /// Labelled images per class (training and validation together).
    pub labelled_per_class: Vec<usize>,
    /// Labelled images.
    pub labelled_files: usize,
    /// Test and unlabelled images.
    pub other_files: usize,
    /// FNV-1a (64-bit, hex) of the sorted `path<TAB>size` lines of every image, paths relative
    /// to the data root: changes when a file is added, removed, renamed or resized.
    pub files_hash: String,
}

/// Whether a run may go on with the current data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FingerprintCheck {
    /// Same classes, same files.
    Same,
    /// Same classes, but files were added, removed or changed: resuming works, the numbers are
    /// no longer comparable with the run's start.
    FilesChanged(String),
    /// Other classes: the saved model's outputs no longer mean the same classes.
    ClassesChanged(String),
}

impl DataFingerprint {
    /// The fingerprint of some image sets: `labelled` (training and validation) count per
    /// class; `others` (test, unlabelled) count only as files. Sizes are read from `root`
    /// joined with each image's path (a missing file counts as size 0).
    pub fn of_sets(
        root: &Path,
        classes: &[String],
        labelled: &[&ImageSet],
        others: &[&ImageSet],
    ) -> Self {
        let mut labelled_per_class = vec![0; classes.len()];
        for set in labelled {
            for (count, c) in labelled_per_class
                .iter_mut()
                .zip(set.class_counts(classes.len()))
            {
                *count += c;
            }
        }
        let mut lines: Vec<String> = labelled
            .iter()
            .chain(others)
            .flat_map(|set| set.files.iter())
            .map(|f| {
                let size = std::fs::metadata(root.join(f)).map_or(0, |m| m.len());
                format!("{}\t{size}\n", f.display())
            })
            .collect();
        lines.sort_unstable();
        let hash = lines
            .iter()
            .fold(FNV_OFFSET, |h, line| fnv1a(h, line.as_bytes()));
        Self {
            classes: classes.to_vec(),
            labelled_per_class,
            labelled_files: labelled.iter().map(|s| s.len()).sum(),
            other_files: others.iter().map(|s| s.len()).sum(),
            files_hash: format!("{hash:016x}"),
        }
    }

    /// The fingerprint of a loaded dataset.
    pub fn of_loaded(data: &LoadedDataset) -> Self {
        let labelled: Vec<&ImageSet> = std::iter::once(&data.train).chain(&data.val).collect();
        let others: Vec<&ImageSet> = data.test.iter().chain([&data.unlabeled]).collect();
        Self::of_sets(&data.root, &data.classes, &labelled, &others)
    }
}

/// FNV-1a's starting value.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over `bytes`, continuing from `hash`: stable across builds and platforms, unlike the
/// standard library's hasher.
pub fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(hash, |h, &b| (h ^ b as u64).wrapping_mul(FNV_PRIME))
}

/// Compares the fingerprint a run recorded with the data's current one.
pub fn compare(recorded: &DataFingerprint, current: &DataFingerprint) -> FingerprintCheck {
    if recorded.classes != current.classes {
        let mut changes: Vec<String> = current
            .classes
            .iter()
            .filter(|c| !recorded.classes.contains(c))
            .map(|c| format!("class '{c}' was added"))
            .collect();
        changes.extend(
            recorded
                .classes
                .iter()
                .filter(|c| !current.classes.contains(c))
                .map(|c| format!("class '{c}' was removed")),
        );
        return FingerprintCheck::ClassesChanged(format!(
            "the data's classes changed since the run started ({}): the saved model's outputs \
             no longer match them; start a new run",
            changes.join(", ")
        ));
    }
    if recorded == current {
        return FingerprintCheck::Same;
    }
    let mut parts = Vec::new();
    for (i, class) in current.classes.iter().enumerate() {
        let (was, now) = (
            recorded.labelled_per_class[i],
            current.labelled_per_class[i],
        );
        if was != now {
            parts.push(format!(
                "class '{class}' has {now} labelled images, was {was}"
            ));
        }
    }
    if recorded.other_files != current.other_files {
        parts.push(format!(
            "{} test and unlabelled images, was {}",
            current.other_files, recorded.other_files
        ));
    }
    if parts.is_empty() {
        parts.push("the same number of images, but files were renamed or changed".into());
    }
    FingerprintCheck::FilesChanged(format!(
        "the data changed since the run started: {}; results are not comparable with the \
         run's earlier rounds",
        parts.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ImageShape;
    use std::path::PathBuf;

    fn set(files: &[(&str, usize)]) -> ImageSet {
        let mut s = ImageSet::empty(ImageShape {
            channels: 1,
            height: 1,
            width: 1,
        });
        for (f, label) in files {
            s.push(&[0], Some(*label), PathBuf::from(f));
        }
        s
    }

    fn classes(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn temp_root() -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("selftrain-fingerprint-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("train/a")).unwrap();
        std::fs::create_dir_all(dir.join("train/b")).unwrap();
        std::fs::write(dir.join("train/a/1.png"), b"12345").unwrap();
        std::fs::write(dir.join("train/b/1.png"), b"123").unwrap();
        dir
    }

    #[test]
    fn fingerprints_count_hash_and_compare() {
        let root = temp_root();
        let train = set(&[("train/a/1.png", 0), ("train/b/1.png", 1)]);
        let pool = set(&[("unlabeled/u.png", 0)]);
        let ab = classes(&["a", "b"]);
        let fp = DataFingerprint::of_sets(&root, &ab, &[&train], &[&pool]);
        assert_eq!(fp.labelled_per_class, vec![1, 1]);
        assert_eq!((fp.labelled_files, fp.other_files), (2, 1));
        assert_eq!(fp.files_hash.len(), 16);
        // Deterministic, and insensitive to the order of the sets' files.
        let swapped = set(&[("train/b/1.png", 1), ("train/a/1.png", 0)]);
        let again = DataFingerprint::of_sets(&root, &ab, &[&swapped], &[&pool]);
        assert_eq!(again, fp);
        assert_eq!(compare(&fp, &again), FingerprintCheck::Same);
        // Round trip through JSON.
        let json = serde_json::to_string(&fp).unwrap();
        assert_eq!(serde_json::from_str::<DataFingerprint>(&json).unwrap(), fp);

        // A file resized: same counts, another hash, a warning.
        std::fs::write(root.join("train/a/1.png"), b"123456").unwrap();
        let resized = DataFingerprint::of_sets(&root, &ab, &[&train], &[&pool]);
        assert_ne!(resized.files_hash, fp.files_hash);
        let FingerprintCheck::FilesChanged(w) = compare(&fp, &resized) else {
            panic!("a resized file is a change");
        };
        assert!(w.contains("renamed or changed"), "{w}");

        // Files added: the warning says where.
        let more = set(&[
            ("train/a/1.png", 0),
            ("train/a/2.png", 0),
            ("train/b/1.png", 1),
        ]);
        let grown = DataFingerprint::of_sets(&root, &ab, &[&more], &[]);
        let FingerprintCheck::FilesChanged(w) = compare(&fp, &grown) else {
            panic!("added files are a change");
        };
        assert!(w.contains("class 'a' has 2 labelled images, was 1"), "{w}");
        assert!(w.contains("0 test and unlabelled images, was 1"), "{w}");

        // A class added and one removed: an error naming both.
        let ac = classes(&["a", "c"]);
        let other = DataFingerprint::of_sets(&root, &ac, &[&train], &[&pool]);
        let FingerprintCheck::ClassesChanged(e) = compare(&fp, &other) else {
            panic!("other classes are incompatible");
        };
        assert!(e.contains("class 'c' was added"), "{e}");
        assert!(e.contains("class 'b' was removed"), "{e}");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(FNV_OFFSET, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(FNV_OFFSET, b"foobar"), 0x8594_4171_f739_67e8);
    }
}
