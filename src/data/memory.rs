//! How much memory a training run needs, estimated before any image is decoded, and how much
//! the machine has, so that a run that cannot fit is refused with numbers instead of being
//! killed by the operating system without a word.

use crate::data::ImageShape;
use crate::model::{ModelConfig, ModelKind};

/// Environment variable that replaces the machine's available memory (in bytes, or with a
/// `K`, `M` or `G` suffix for KiB, MiB, GiB): for tests, and to budget a run below what the
/// machine reports.
pub const AVAILABLE_OVERRIDE: &str = "SELFTRAIN_MEM_AVAILABLE";

/// Bytes of an `f32`.
const F32: u64 = 4;
/// Memory the program takes before any data: code, thread stacks, allocator and library state.
const BASE: u64 = 128 << 20;
/// Per image beside its pixels: its path and label.
const PER_IMAGE_BOOKKEEPING: u64 = 160;

/// What a run will hold in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSize {
    /// Shape every image is converted to.
    pub shape: ImageShape,
    /// Number of classes.
    pub num_classes: usize,
    /// Images of all splits.
    pub images: usize,
    /// Labelled images (`train/` and `val/`), copied once when the validation split is made.
    pub labelled: usize,
    /// Images decoded together (their pixels exist twice while a chunk is copied).
    pub decode_chunk: usize,
    /// Training batch size.
    pub batch_size: usize,
    /// Batch size of the largest prediction pass.
    pub inference_batch: usize,
    /// Architecture.
    pub model: ModelKind,
}

/// Estimated peak memory of a run, in bytes, by part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Decoded images (`u8` pixels) with their paths and labels, and the copies made while
    /// loading.
    pub images: u64,
    /// Model parameters and their training state.
    pub model: u64,
    /// Activations of one training or prediction batch, whichever is larger.
    pub batch: u64,
}

impl MemoryEstimate {
    /// Total bytes, including [`BASE`].
    pub fn total(&self) -> u64 {
        BASE.saturating_add(self.images)
            .saturating_add(self.model)
            .saturating_add(self.batch)
    }
}

/// Number of parameters of the model for `size` (as [`crate::model::ModelConfig`] builds it),
/// counting BatchNorm's running statistics as burn does.
pub fn parameter_count(size: &RunSize) -> u64 {
    let cfg = config(size);
    match cfg.kind.resnet_layout() {
        None => cnn_parameter_count(&cfg),
        Some(layout) => {
            let k = cfg.num_classes as u64;
            let width = cfg.feature_width() as u64;
            resnet_layers(&cfg, layout)
                .iter()
                .map(|l| l.cin * l.cout * l.kernel * l.kernel + 4 * l.cout)
                .sum::<u64>()
                + width * k
                + k
        }
    }
}

fn config(size: &RunSize) -> ModelConfig {
    let ImageShape {
        channels,
        height,
        width,
    } = size.shape;
    ModelConfig::for_kind(size.model, channels, height, width, size.num_classes)
}

fn cnn_parameter_count(cfg: &ModelConfig) -> u64 {
    let (c, f1, f2, hidden, k) = (
        cfg.channels as u64,
        cfg.filters as u64,
        cfg.filters as u64 * 2,
        cfg.hidden as u64,
        cfg.num_classes as u64,
    );
    let with_bn = cfg.kind == ModelKind::Default;
    // Convolutions have a bias without BatchNorm; BatchNorm has γ, β and two running stats.
    let norm = |f: u64| if with_bn { 4 * f } else { f };
    let flat = f2 * (cfg.height as u64 / 4) * (cfg.width as u64 / 4);
    c * f1 * 9 + norm(f1) + f1 * f2 * 9 + norm(f2) + flat * hidden + hidden + hidden * k + k
}

/// One convolution (with its BatchNorm) of a ResNet and the pixels of its output.
struct ConvLayer {
    cin: u64,
    cout: u64,
    kernel: u64,
    out_pixels: u64,
}

/// Every convolution of a ResNet in order, shortcuts included, from the layout the model is
/// built from.
fn resnet_layers(cfg: &ModelConfig, layout: crate::model::ResNetLayout) -> Vec<ConvLayer> {
    let f = cfg.filters as u64;
    let (mut h, mut w) = (cfg.height as u64, cfg.width as u64);
    let down = |x: u64, k: u64, s: u64| (x + 2 * (k / 2) - k) / s + 1;
    let (stem_kernel, stem_stride, max_pool) = layout.stem();
    let (stem_kernel, stem_stride) = (stem_kernel as u64, stem_stride as u64);
    h = down(h, stem_kernel, stem_stride);
    w = down(w, stem_kernel, stem_stride);
    let mut layers = vec![ConvLayer {
        cin: cfg.channels as u64,
        cout: f,
        kernel: stem_kernel,
        out_pixels: h * w,
    }];
    if max_pool {
        h = down(h, 3, 2);
        w = down(w, 3, 2);
    }
    let mut cin = f;
    for stage in layout.stages(cfg.filters) {
        let cout = stage.width as u64;
        for b in 0..stage.blocks {
            let s = if b == 0 { stage.stride as u64 } else { 1 };
            let (bh, bw) = (down(h, 3, s), down(w, 3, s));
            let conv = |cin, kernel| ConvLayer {
                cin,
                cout,
                kernel,
                out_pixels: bh * bw,
            };
            layers.push(conv(cin, 3));
            layers.push(conv(cout, 3));
            if s != 1 || cin != cout {
                layers.push(conv(cin, 1));
            }
            (h, w, cin) = (bh, bw, cout);
        }
    }
    layers
}

/// `f32` values one image keeps alive while training (per convolution: its output, the
/// BatchNorm's and the ReLU's, for the backward pass) and, separately, while predicting (the
/// input and the two largest outputs alive at once).
fn activations_per_image(size: &RunSize) -> (f64, f64) {
    let cfg = config(size);
    let p = (size.shape.height * size.shape.width) as f64;
    let c = size.shape.channels as f64;
    match cfg.kind.resnet_layout() {
        None => {
            let f = cfg.filters as f64;
            ((c + 6.0 * f) * p, (2.0 * c + 2.0 * f) * p)
        }
        Some(layout) => {
            let layers = resnet_layers(&cfg, layout);
            let outputs = layers.iter().map(|l| (l.cout * l.out_pixels) as f64);
            let train = c * p + 3.0 * outputs.clone().sum::<f64>();
            let largest = outputs.fold(0.0, f64::max);
            (train, 2.0 * c * p + 2.0 * largest)
        }
    }
}

/// Estimates the peak memory of a run.
///
/// With `P = height × width`, `C` channels, `f` filters of the CNN's first convolution (`2f` of
/// the second), `B` the training batch and `I` the largest prediction batch:
///
/// - images: `N × (C·P + 160)` bytes for the `u8` pixels, paths and labels of all `N` images,
///   plus the labelled images once more (the validation split is copied out of them) and one
///   decode chunk more (its pixels exist twice while they are copied into the sets);
/// - model: `8 × 4` bytes per parameter: weights, gradients and Adam's two moments, the
///   inference copy, the best model kept for selection and a checkpoint being written;
/// - training batch: `B × 4 × (C + 6f)·P` bytes: the `f32` activations autodiff keeps per image
///   (convolution, BatchNorm and ReLU outputs of the first block at full resolution, `3f`; the
///   second block's at a quarter of the pixels, `1.5f`; pooling outputs and indices) and the
///   gradients alive during the backward pass; for a ResNet, three outputs per convolution;
/// - prediction batch: `I × 4 × (2C + 2f)·P` bytes: without autodiff, the input (and its
///   channels-last copy for the convolution) and two full-resolution outputs of the first block
///   are alive at once;
///
/// and the larger of the two batches counts, plus a fixed 128 MiB for the program itself.
/// Measured peaks (360 sample images resized to 64×64 and 128×128, batch 64, prediction batch
/// 256: 0.26–0.30 and 0.86–1.04 GiB) are 58–76% of this estimate.
pub fn estimate(size: &RunSize) -> MemoryEstimate {
    let image = size.shape.len() as u64;
    let copies =
        size.images as u64 + size.labelled as u64 + size.decode_chunk.min(size.images) as u64;
    let images = copies * image + size.images as u64 * PER_IMAGE_BOOKKEEPING;
    let model = parameter_count(size) * F32 * 8;
    let (train, predict) = activations_per_image(size);
    let (train_per_image, predict_per_image) = (F32 as f64 * train, F32 as f64 * predict);
    let batch = (size.batch_size as f64 * train_per_image)
        .max(size.inference_batch as f64 * predict_per_image);
    MemoryEstimate {
        images,
        model,
        batch: batch.min(u64::MAX as f64) as u64,
    }
}

/// Memory the machine can give this run, in bytes: [`AVAILABLE_OVERRIDE`] when set, else
/// `MemAvailable` of `/proc/meminfo` (Linux); `None` where neither is known.
pub fn available_memory() -> Result<Option<u64>, String> {
    if let Ok(text) = std::env::var(AVAILABLE_OVERRIDE) {
        return parse_size(&text).map(Some).ok_or_else(|| {
            format!("{AVAILABLE_OVERRIDE}={text:?} is not a size in bytes (e.g. 512M, 8G)")
        });
    }
    Ok(std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| mem_available(&text)))
}

/// `MemAvailable` of a `/proc/meminfo` text, in bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Bytes of `512`, `64K`, `512M` or `8G` (binary units; a trailing `iB`/`B` is allowed).
fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (number, shift) = match t.chars().last()? {
        'k' | 'K' => (&t[..t.len() - 1], 10),
        'm' | 'M' => (&t[..t.len() - 1], 20),
        'g' | 'G' => (&t[..t.len() - 1], 30),
        _ => (t, 0),
    };
    let value: f64 = number.trim().parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| (value * (1u64 << shift) as f64) as u64)
}

/// `1.2 GiB`, `340 MiB`, `12 KiB`.
pub fn format_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= (1u64 << 30) as f64 {
        format!("{:.1} GiB", b / (1u64 << 30) as f64)
    } else if b >= (1u64 << 20) as f64 {
        format!("{:.0} MiB", b / (1u64 << 20) as f64)
    } else {
        format!("{:.0} KiB", b / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(side: usize, batch: usize) -> RunSize {
        RunSize {
            shape: ImageShape {
                channels: 1,
                height: side,
                width: side,
            },
            num_classes: 10,
            images: 2600,
            labelled: 100,
            decode_chunk: 2048,
            batch_size: batch,
            inference_batch: batch.max(256),
            model: ModelKind::Default,
        }
    }

    #[test]
    fn parameters_match_the_built_model() {
        use burn::module::Module;
        let device = crate::device::burn_device(
            crate::device::resolve(crate::device::DeviceSpec::Auto).unwrap(),
        );
        for (model, side) in [
            (ModelKind::Default, 28),
            (ModelKind::Small, 12),
            (ModelKind::Resnet8, 28),
            (ModelKind::Resnet20, 17),
            (ModelKind::Resnet18, 32),
        ] {
            let mut s = size(side, 64);
            s.model = model;
            s.shape.channels = 3;
            let cfg = ModelConfig::for_kind(model, 3, side, side, 10);
            // burn counts BatchNorm's running statistics too.
            let built = cfg.init(&device).num_params() as u64;
            assert_eq!(parameter_count(&s), built, "{model:?}");
        }
    }

    #[test]
    fn the_estimate_grows_with_image_size_and_batch() {
        let small = estimate(&size(28, 64));
        let big = estimate(&size(256, 64));
        let huge = estimate(&size(1024, 64));
        // Pixels grow with the area (84 times from 28 to 256).
        assert!(big.images > 80 * small.images / 2, "{small:?} {big:?}");
        // The first dense layer grows with the area too.
        assert!(big.model > 60 * small.model, "{small:?} {big:?}");
        assert!(huge.total() > 12 * big.total(), "{big:?} {huge:?}");
        // Activations grow linearly with the batch once it exceeds the prediction batch.
        let b512 = estimate(&size(256, 512)).batch;
        let b1024 = estimate(&size(256, 1024)).batch;
        assert_eq!(b1024, 2 * b512);
        // The sample data at its own size fits in well under a gibibyte; 256x256 needs
        // several, 1024x1024 tens.
        assert!(small.total() < 1 << 30, "{}", format_bytes(small.total()));
        assert!(big.total() > 3 << 30, "{}", format_bytes(big.total()));
        assert!(huge.total() > 40 << 30, "{}", format_bytes(huge.total()));
    }

    #[test]
    fn sizes_parse_and_format() {
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("64K"), Some(64 << 10));
        assert_eq!(parse_size("1.5G"), Some(3 << 29));
        assert_eq!(parse_size("512MiB"), Some(512 << 20));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("-1G"), None);
        assert_eq!(
            mem_available("MemTotal: 100 kB\nMemAvailable:    2048 kB\n"),
            Some(2 << 20)
        );
        assert_eq!(mem_available("MemTotal: 100 kB\n"), None);
        assert_eq!(format_bytes(3 << 29), "1.5 GiB");
        assert_eq!(format_bytes(340 << 20), "340 MiB");
        assert_eq!(format_bytes(12 << 10), "12 KiB");
    }
}
