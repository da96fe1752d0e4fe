//! Raw MNIST IDX files for the optional timed `import idx`: finding them, and timing their
//! import into a temporary folder.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;

use super::report::Throughput;

/// The file `name` (or `name.gz`) in `dir`; errors name what is missing.
pub fn find_idx_file(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    for candidate in [name.to_string(), format!("{name}.gz")] {
        let path = dir.join(&candidate);
        if path.is_file() {
            return Ok(path);
        }
    }
    anyhow::bail!(
        "{}: neither {name} nor {name}.gz found (--idx-dir must hold the raw MNIST IDX files)",
        dir.display()
    )
}

/// A temporary folder removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The IDX files of an MNIST folder: the training pair, and the test pair when both exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxFiles {
    /// `train-images-idx3-ubyte[.gz]`.
    pub images: PathBuf,
    /// `train-labels-idx1-ubyte[.gz]`.
    pub labels: PathBuf,
    /// `t10k-images-idx3-ubyte[.gz]` and `t10k-labels-idx1-ubyte[.gz]`.
    pub test: Option<(PathBuf, PathBuf)>,
}

impl IdxFiles {
    /// Finds the files in `dir`; errors name the folder and the missing file.
    pub fn find(dir: &Path) -> anyhow::Result<Self> {
        let images = find_idx_file(dir, "train-images-idx3-ubyte")?;
        let labels = find_idx_file(dir, "train-labels-idx1-ubyte")?;
        let test = find_idx_file(dir, "t10k-images-idx3-ubyte")
            .ok()
            .zip(find_idx_file(dir, "t10k-labels-idx1-ubyte").ok());
        Ok(Self {
            images,
            labels,
            test,
        })
    }
}

/// Times `import idx` of every training and test image of `files` into a temporary folder,
/// which is removed afterwards.
pub fn time_import(files: &IdxFiles, seed: u64) -> anyhow::Result<Throughput> {
    let out = TempDir(std::env::temp_dir().join(format!(
        "selftrain-bench-import-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    )));
    let t0 = Instant::now();
    let report = crate::data::import_idx(&crate::data::ImportOptions {
        images: files.images.clone(),
        labels: files.labels.clone(),
        test_images: files.test.as_ref().map(|t| t.0.clone()),
        test_labels: files.test.as_ref().map(|t| t.1.clone()),
        out: out.0.clone(),
        labels_per_class: 1,
        unlabeled_per_class: None,
        imbalance_ratio: 1.0,
        test_per_class: None,
        seed,
        class_names: None,
    })
    .with_context(|| format!("importing {}", files.images.display()))?;
    let secs = t0.elapsed().as_secs_f64();
    drop(out);
    Ok(Throughput::new(
        report.train + report.unlabeled + report.test,
        secs,
    ))
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idx_files_are_found_raw_or_gzipped_and_the_test_pair_only_whole() {
        let dir =
            std::env::temp_dir().join(format!("selftrain-bench-idx-find-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let touch = |name: &str| std::fs::write(dir.join(name), b"").unwrap();

        let err = IdxFiles::find(&dir).unwrap_err().to_string();
        assert!(
            err.contains(&dir.display().to_string()) && err.contains("train-images-idx3-ubyte"),
            "{err}"
        );
        touch("train-images-idx3-ubyte");
        touch("train-labels-idx1-ubyte.gz");
        touch("t10k-images-idx3-ubyte");
        let files = IdxFiles::find(&dir).unwrap();
        assert_eq!(files.images, dir.join("train-images-idx3-ubyte"));
        assert_eq!(files.labels, dir.join("train-labels-idx1-ubyte.gz"));
        assert_eq!(
            files.test, None,
            "test images without test labels are not a pair"
        );
        touch("t10k-labels-idx1-ubyte.gz");
        let files = IdxFiles::find(&dir).unwrap();
        assert_eq!(
            files.test,
            Some((
                dir.join("t10k-images-idx3-ubyte"),
                dir.join("t10k-labels-idx1-ubyte.gz")
            ))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
