//! In-memory image sets kept as `u8` pixels.

use std::path::PathBuf;

/// Channels, height and width shared by every image of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageShape {
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
}

impl ImageShape {
    /// Number of `u8` values in one image.
    pub fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Whether the shape holds no pixel at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A set of same-shaped images stored contiguously in CHW order, with optional labels.
///
/// For labelled splits every label is `Some`. For the unlabelled pool a label is the *hidden
/// ground truth* (from a class subfolder), used only for diagnostics, or `None` when unknown.
#[derive(Debug, Clone)]
pub struct ImageSet {
    /// Shape of every image.
    pub shape: ImageShape,
    /// `len() * shape.len()` pixel values, image after image, CHW.
    pub pixels: Vec<u8>,
    /// Label (or hidden truth) of each image.
    pub labels: Vec<Option<usize>>,
    /// Source file of each image (relative to the data root where possible).
    pub files: Vec<PathBuf>,
}

impl ImageSet {
    /// An empty set of the given shape.
    pub fn empty(shape: ImageShape) -> Self {
        Self {
            shape,
            pixels: Vec::new(),
            labels: Vec::new(),
            files: Vec::new(),
        }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels of image `index` (CHW).
    pub fn image(&self, index: usize) -> &[u8] {
        let n = self.shape.len();
        &self.pixels[index * n..(index + 1) * n]
    }

    /// Appends one image.
    pub fn push(&mut self, pixels: &[u8], label: Option<usize>, file: PathBuf) {
        debug_assert_eq!(pixels.len(), self.shape.len());
        self.pixels.extend_from_slice(pixels);
        self.labels.push(label);
        self.files.push(file);
    }

    /// A new set holding the images at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Self {
        let mut out = Self::empty(self.shape);
        out.pixels.reserve(indices.len() * self.shape.len());
        for &i in indices {
            out.push(self.image(i), self.labels[i], self.files[i].clone());
        }
        out
    }

    /// Makes room for `additional` more images without reallocating.
    pub fn reserve(&mut self, additional: usize) {
        self.pixels.reserve_exact(additional * self.shape.len());
        self.labels.reserve_exact(additional);
        self.files.reserve_exact(additional);
    }

    /// Labels as plain class indices; panics on an unlabelled image (labelled splits only).
    pub fn class_labels(&self) -> Vec<usize> {
        self.labels
            .iter()
            .map(|l| l.expect("labelled split holds an unlabelled image"))
            .collect()
    }

    /// Per-channel mean and standard deviation of the pixels in [0, 1] (the standard deviation
    /// at least 1e-3, so that normalising by it is defined for a constant channel).
    pub fn channel_statistics(&self) -> (Vec<f32>, Vec<f32>) {
        let c = self.shape.channels;
        let plane = self.shape.height * self.shape.width;
        let (mut sum, mut sq) = (vec![0f64; c], vec![0f64; c]);
        for i in 0..self.len() {
            for (ch, pixels) in self.image(i).chunks_exact(plane).enumerate() {
                for &p in pixels {
                    let v = p as f64 / 255.0;
                    sum[ch] += v;
                    sq[ch] += v * v;
                }
            }
        }
        let n = (self.len() * plane).max(1) as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let std = sq
            .iter()
            .zip(&mean)
            .map(|(q, m)| ((q / n - m * m).max(0.0).sqrt() as f32).max(1e-3))
            .collect();
        (mean.iter().map(|&m| m as f32).collect(), std)
    }

    /// Number of images of each class (unknown labels are not counted).
    pub fn class_counts(&self, num_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; num_classes];
        for c in self.labels.iter().flatten() {
            if *c < num_classes {
                counts[*c] += 1;
            }
        }
        counts
    }
}
