//! The effective training configuration: defaults, TOML file, CLI overrides, validation.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::augment::Augment;
use crate::model::ModelKind;

/// How pseudo-labels are accepted from the predictions of the unlabelled pool (the
/// pseudo-labelling policy; see `crate::train::pseudo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Acceptance {
    /// Every prediction with confidence ≥ τ.
    Threshold,
    /// Confidence ≥ τ, and no class takes more than its labelled share (× `balance_slack`) of
    /// the accepted total: keeps easy classes from swamping the pseudo-labelled set.
    ClassBalanced,
    /// FlexMatch: per-class thresholds τ·β_c/(2−β_c) from each class's learning effect β_c.
    Flexmatch,
    /// FreeMatch: a self-adaptive threshold (the pool's mean confidence), scaled per class by
    /// the pool's mean class probabilities; τ is not used.
    Freematch,
    /// SoftMatch: no hard cut; weight 1 above the pool's mean confidence μ, a Gaussian
    /// exp(−(p−μ)²/2σ²) below it, on uniformly aligned probabilities; τ is not used.
    Softmatch,
    /// Curriculum labelling: the most confident `curriculum_step × round` of the pool.
    Curriculum,
    /// UPS: confidence ≥ τ and an MC-dropout standard deviation ≤ `uncertainty_kappa`.
    Uncertainty,
}

/// How pixels in [0, 1] are normalised before the model sees them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Normalize {
    /// As they are.
    #[default]
    None,
    /// By the labelled training images' per-channel mean and standard deviation.
    Data,
    /// By ImageNet's constants, which torchvision's pretrained weights were trained with
    /// (mean 0.485, 0.456, 0.406; std 0.229, 0.224, 0.225; their averages for grey images).
    Imagenet,
}

/// Learning-rate schedule within each training phase (the warm-up, and each round).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum LrSchedule {
    /// The same learning rate throughout.
    Constant,
    /// Cosine decay from the learning rate to 0 over the phase, restarting at every round.
    Cosine,
}

impl LrSchedule {
    /// The learning rate at `progress` ∈ [0, 1] through a phase, for base rate `lr`.
    pub fn rate(self, lr: f64, progress: f64) -> f64 {
        match self {
            Self::Constant => lr,
            Self::Cosine => {
                0.5 * lr * (1.0 + (std::f64::consts::PI * progress.clamp(0.0, 1.0)).cos())
            }
        }
    }
}

/// Class weighting of the supervised loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ClassWeighting {
    /// All classes weigh 1.
    None,
    /// Inverse labelled frequency, normalised to mean 1.
    Balanced,
}

/// Every setting of a training run. Serialized as `config.toml` in the run directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Data root (ImageFolder layout).
    pub data: PathBuf,
    /// Where run directories are created.
    pub runs_dir: PathBuf,
    /// Device: `auto`, `flex`, `tch-cpu`, `cuda[:N]`.
    pub device: String,
    /// Model architecture.
    pub model: ModelKind,
    /// Start from these weights instead of random ones: a run directory or `.bpk` written by
    /// selftrain, a PyTorch `state_dict` (`.pt` / `.pth`) or a `.safetensors` file. The last
    /// layer starts new when its class count differs.
    pub init_from: Option<PathBuf>,
    /// Epochs at the start of the warm-up during which only the last layer trains.
    pub freeze_backbone_epochs: usize,
    /// Learning rate of everything but the last layer, as a multiple of `learning_rate`, in
    /// [0, 1] (after `freeze_backbone_epochs`).
    pub backbone_lr_scale: f64,
    /// Input normalisation: `none`, `data` or `imagenet` (recorded in `model.json`).
    pub normalize: Normalize,
    /// Image channels (1 or 3); absent = from the data.
    pub channels: Option<usize>,
    /// Image size `[height, width]`; absent = the data's size when all agree, else 32×32.
    pub image_size: Option<[usize; 2]>,
    /// How images of another size are brought to `image_size`: `crop` (cover, then cut the
    /// centre) or `stretch`. Files written before it existed stretched.
    #[serde(default = "crate::data::ResizePolicy::legacy")]
    pub resize: crate::data::ResizePolicy,
    /// Confidence threshold τ for accepting a pseudo-label.
    pub threshold: f32,
    /// Loss weight λ of pseudo-labelled samples.
    pub pseudo_weight: f32,
    /// Pseudo-labelling policy (`acceptance` in files written before it was renamed).
    #[serde(alias = "acceptance")]
    pub pseudo_policy: Acceptance,
    /// For `class-balanced`: how far over its labelled share a class may go (≥ 1).
    pub balance_slack: f32,
    /// For `curriculum`: the share of the pool added each round, in (0, 1].
    pub curriculum_step: f32,
    /// For `uncertainty`: stochastic (MC-dropout) passes over the pool per round (≥ 2).
    pub mc_passes: usize,
    /// For `uncertainty`: largest standard deviation κ of the predicted class's probability
    /// over the passes for a pseudo-label (≥ 0).
    pub uncertainty_kappa: f32,
    /// Fraction of the pool taken out as outliers before acceptance each round, most outlying
    /// first, in [0, 1) (0 = off).
    pub outlier_filter: f32,
    /// Rounds over which λ ramps up linearly to its value (0 = no ramp).
    pub pseudo_ramp_rounds: usize,
    /// Minimum share of labelled samples in every batch once pseudo-labels join, in [0, 1].
    pub min_labeled_share: f32,
    /// Re-initialise the model at the start of every round instead of fine-tuning it.
    pub reinit_each_round: bool,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Learning-rate schedule within the warm-up and within each round.
    pub lr_schedule: LrSchedule,
    /// Adam weight decay (L2).
    pub weight_decay: f64,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Epochs of supervised warm-up.
    pub warmup_epochs: usize,
    /// Epochs per self-training round.
    pub epochs_per_round: usize,
    /// Maximum self-training rounds after warm-up.
    pub rounds: usize,
    /// Stop when validation accuracy has not improved for this many rounds (0 = never).
    pub patience: usize,
    /// Model selection: how many validation images a later round's model may get wrong beyond
    /// the best so far and still be selected (a small validation split cannot tell one image
    /// from noise, and the later model has learnt from more pseudo-labels).
    pub selection_tolerance: usize,
    /// Model selection: a later round's model is also selected when its validation accuracy is
    /// at most this many standard errors of the best accuracy p, √(p(1−p)/n) on n images, below
    /// it. The larger of the two slacks applies.
    pub selection_standard_errors: f64,
    /// Random seed (model init, shuffling, augmentation, validation split).
    pub seed: u64,
    /// Random shift in pixels for augmentation (0 = off).
    pub augment_shift: usize,
    /// Random horizontal flip (off for digits and text).
    pub hflip: bool,
    /// Random resized crop of every training image: the smallest share of its area a crop
    /// keeps, in (0, 1] (1 = off), scaled back to the input size. For photos.
    pub crop_scale: f64,
    /// Colour jitter of every training image: brightness, contrast and saturation factors in
    /// [1 − J, 1 + J], J in [0, 1) (0 = off). For photos.
    pub colour_jitter: f64,
    /// Cutout on pseudo-labelled samples: side of the erased square as a fraction of the
    /// image's shorter side (0 = off). Labelled samples never get it.
    pub pseudo_cutout: f64,
    /// RandAugment on pseudo-labelled samples, `[N, M]`: N operations per image (0..=11;
    /// 0 = off) at magnitude M (0..=10), before the shift and cutout. Labelled samples never
    /// get it.
    pub strong_augment: [usize; 2],
    /// Mixup in the self-training rounds: α of the Beta(α, α) distribution of the blend weight
    /// (0 = off). Every batch of a round is blended with a shuffled copy of itself, images and
    /// losses alike; the warm-up never mixes.
    pub mixup: f64,
    /// Fraction of labelled images held out for validation (when there is no `val/` folder and
    /// no cross-validation fold is chosen).
    pub val_fraction: f64,
    /// k-fold cross-validation: split the labelled images (train/ and val/ together) into this
    /// many stratified folds and validate on fold `cv_fold` (0 = off; set by `selftrain cv`).
    pub cv_folds: usize,
    /// The held-out fold, `0..cv_folds`, when `cv_folds` is set.
    pub cv_fold: usize,
    /// Class weighting of the supervised loss.
    pub class_weighting: ClassWeighting,
    /// Explicit per-class loss weights, in class order (overrides `class_weighting`).
    pub class_weights: Option<Vec<f32>>,
    /// Dropout probability of the default model.
    pub dropout: f64,
    /// Bad images: `skip` (warn, count, list) or `fail`.
    pub on_bad_image: crate::data::BadImagePolicy,
    /// Seconds between periodic resumable checkpoints at epoch ends (round starts always
    /// checkpoint; 0 = every epoch).
    pub checkpoint_every_secs: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            data: PathBuf::from("sample-data"),
            runs_dir: PathBuf::from("runs"),
            device: "auto".into(),
            model: ModelKind::Default,
            init_from: None,
            normalize: Normalize::None,
            freeze_backbone_epochs: 0,
            backbone_lr_scale: 1.0,
            channels: None,
            image_size: None,
            resize: crate::data::ResizePolicy::Crop,
            threshold: 0.8,
            pseudo_weight: 1.0,
            pseudo_policy: Acceptance::Flexmatch,
            balance_slack: 1.5,
            curriculum_step: 0.2,
            mc_passes: 10,
            uncertainty_kappa: 0.05,
            outlier_filter: 0.0,
            pseudo_ramp_rounds: 2,
            min_labeled_share: 0.25,
            reinit_each_round: false,
            learning_rate: 1e-3,
            lr_schedule: LrSchedule::Cosine,
            weight_decay: 1e-4,
            batch_size: 64,
            warmup_epochs: 40,
            epochs_per_round: 3,
            rounds: 8,
            patience: 3,
            selection_tolerance: 1,
            selection_standard_errors: 1.0,
            seed: 0,
            augment_shift: 2,
            hflip: false,
            crop_scale: 1.0,
            colour_jitter: 0.0,
            pseudo_cutout: 0.5,
            strong_augment: [0, 0],
            mixup: 0.4,
            val_fraction: 0.2,
            cv_folds: 0,
            cv_fold: 0,
            class_weighting: ClassWeighting::None,
            class_weights: None,
            dropout: 0.3,
            on_bad_image: crate::data::BadImagePolicy::Skip,
            checkpoint_every_secs: 30.0,
        }
    }
}

/// A configuration value that is not allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// A field outside its range.
    #[error("config field `{field}`: {problem}")]
    Invalid {
        /// Field name as in the TOML file.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// The file could not be read or parsed.
    #[error("config file {path}: {problem}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
}

fn invalid(field: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field,
        problem: problem.into(),
    }
}

impl TrainConfig {
    /// Reads a TOML file; fields it does not set keep their defaults.
    pub fn from_toml_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })?;
        Self::from_toml_str(&text).map_err(|e| match e {
            ConfigError::File { problem, .. } => ConfigError::File {
                path: path.to_path_buf(),
                problem,
            },
            other => other,
        })
    }

    /// Parses TOML text (fields not set keep their defaults) and validates it.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let cfg: Self = toml::from_str(text).map_err(|e| ConfigError::File {
            path: PathBuf::from("<string>"),
            problem: e.to_string().trim().to_string(),
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The configuration as TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serializes to TOML")
    }

    /// Checks every field's range; the error names the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.threshold.is_finite() && (0.0..=1.0).contains(&self.threshold)) {
            return Err(invalid(
                "threshold",
                format!("must be within [0, 1], got {}", self.threshold),
            ));
        }
        if !(self.pseudo_weight.is_finite() && self.pseudo_weight >= 0.0) {
            return Err(invalid(
                "pseudo_weight",
                format!("must be >= 0, got {}", self.pseudo_weight),
            ));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(invalid(
                "learning_rate",
                format!("must be > 0, got {}", self.learning_rate),
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(invalid(
                "weight_decay",
                format!("must be >= 0, got {}", self.weight_decay),
            ));
        }
        if !(self.checkpoint_every_secs.is_finite() && self.checkpoint_every_secs >= 0.0) {
            return Err(invalid(
                "checkpoint_every_secs",
                format!("must be >= 0, got {}", self.checkpoint_every_secs),
            ));
        }
        // TOML integers are 64-bit signed: larger values could not be saved with the run.
        let max = i64::MAX as u64;
        for (field, value) in [
            ("seed", self.seed),
            ("batch_size", self.batch_size as u64),
            ("warmup_epochs", self.warmup_epochs as u64),
            ("epochs_per_round", self.epochs_per_round as u64),
            ("rounds", self.rounds as u64),
            ("patience", self.patience as u64),
            ("selection_tolerance", self.selection_tolerance as u64),
            ("augment_shift", self.augment_shift as u64),
            ("pseudo_ramp_rounds", self.pseudo_ramp_rounds as u64),
            ("cv_folds", self.cv_folds as u64),
            ("cv_fold", self.cv_fold as u64),
        ] {
            if value > max {
                return Err(invalid(
                    field,
                    format!("must be at most {max}, got {value}"),
                ));
            }
        }
        if self.batch_size == 0 {
            return Err(invalid("batch_size", "must be at least 1, got 0"));
        }
        if !(self.balance_slack.is_finite() && self.balance_slack >= 1.0) {
            return Err(invalid(
                "balance_slack",
                format!("must be >= 1, got {}", self.balance_slack),
            ));
        }
        if !(self.curriculum_step.is_finite()
            && self.curriculum_step > 0.0
            && self.curriculum_step <= 1.0)
        {
            return Err(invalid(
                "curriculum_step",
                format!("must be within (0, 1], got {}", self.curriculum_step),
            ));
        }
        if !(2..=1000).contains(&self.mc_passes) {
            return Err(invalid(
                "mc_passes",
                format!("must be within 2..=1000, got {}", self.mc_passes),
            ));
        }
        if !(self.uncertainty_kappa.is_finite() && self.uncertainty_kappa >= 0.0) {
            return Err(invalid(
                "uncertainty_kappa",
                format!("must be >= 0, got {}", self.uncertainty_kappa),
            ));
        }
        if !(self.outlier_filter.is_finite() && (0.0..1.0).contains(&self.outlier_filter)) {
            return Err(invalid(
                "outlier_filter",
                format!("must be within [0, 1), got {}", self.outlier_filter),
            ));
        }
        if self.pseudo_policy == Acceptance::Uncertainty
            && (!self.model.has_dropout() || self.dropout == 0.0)
        {
            return Err(invalid(
                "pseudo_policy",
                "`uncertainty` needs dropout for its MC-dropout passes: use a model other than `small`, with dropout > 0",
            ));
        }
        if !(self.min_labeled_share.is_finite() && (0.0..=1.0).contains(&self.min_labeled_share)) {
            return Err(invalid(
                "min_labeled_share",
                format!("must be within [0, 1], got {}", self.min_labeled_share),
            ));
        }
        if !(self.val_fraction.is_finite() && (0.0..1.0).contains(&self.val_fraction)) {
            return Err(invalid(
                "val_fraction",
                format!("must be within [0, 1), got {}", self.val_fraction),
            ));
        }
        if self.cv_folds == 1 {
            return Err(invalid("cv_folds", "must be 0 (off) or at least 2, got 1"));
        }
        if self.cv_folds >= 2 && self.cv_fold >= self.cv_folds {
            return Err(invalid(
                "cv_fold",
                format!(
                    "must be below cv_folds ({}), got {}",
                    self.cv_folds, self.cv_fold
                ),
            ));
        }
        if !(self.pseudo_cutout.is_finite() && (0.0..=1.0).contains(&self.pseudo_cutout)) {
            return Err(invalid(
                "pseudo_cutout",
                format!("must be within [0, 1], got {}", self.pseudo_cutout),
            ));
        }
        let [n, m] = self.strong_augment;
        crate::data::rand_augment::check(n, m).map_err(|e| invalid("strong_augment", e))?;
        for (field, value) in [
            ("selection_standard_errors", self.selection_standard_errors),
            ("mixup", self.mixup),
        ] {
            if !(value.is_finite() && (0.0..=100.0).contains(&value)) {
                return Err(invalid(
                    field,
                    format!("must be within [0, 100], got {value}"),
                ));
            }
        }
        if !(self.crop_scale.is_finite() && self.crop_scale > 0.0 && self.crop_scale <= 1.0) {
            return Err(invalid(
                "crop_scale",
                format!("must be within (0, 1], got {}", self.crop_scale),
            ));
        }
        if !(self.colour_jitter.is_finite() && (0.0..1.0).contains(&self.colour_jitter)) {
            return Err(invalid(
                "colour_jitter",
                format!("must be within [0, 1), got {}", self.colour_jitter),
            ));
        }
        if !(self.backbone_lr_scale.is_finite() && (0.0..=1.0).contains(&self.backbone_lr_scale)) {
            return Err(invalid(
                "backbone_lr_scale",
                format!("must be within [0, 1], got {}", self.backbone_lr_scale),
            ));
        }
        if !(self.dropout.is_finite() && (0.0..1.0).contains(&self.dropout)) {
            return Err(invalid(
                "dropout",
                format!("must be within [0, 1), got {}", self.dropout),
            ));
        }
        if let Some(c) = self.channels
            && c != 1
            && c != 3
        {
            return Err(invalid("channels", format!("must be 1 or 3, got {c}")));
        }
        if let Some([h, w]) = self.image_size
            && (h < 4 || w < 4 || h > 1024 || w > 1024)
        {
            return Err(invalid(
                "image_size",
                format!("each side must be within 4..=1024, got [{h}, {w}]"),
            ));
        }
        if let Some(ws) = &self.class_weights
            && let Some(w) = ws.iter().find(|w| !(w.is_finite() && **w >= 0.0))
        {
            return Err(invalid(
                "class_weights",
                format!("weights must be >= 0, got {w}"),
            ));
        }
        crate::device::DeviceSpec::parse(&self.device)
            .map_err(|e| invalid("device", e.to_string()))?;
        Ok(())
    }

    /// The augmentation of labelled samples.
    pub fn augment(&self) -> Augment {
        let photo = crate::data::PhotoAugment {
            min_scale: self.crop_scale as f32,
            jitter: self.colour_jitter as f32,
        };
        Augment {
            max_shift: self.augment_shift,
            hflip: self.hflip,
            cutout: 0,
            strong: None,
            photo: (!photo.is_identity()).then_some(photo),
        }
    }

    /// The augmentation of pseudo-labelled samples of `shape`: the labelled one plus cutout,
    /// after RandAugment when `strong_augment` is on.
    pub fn pseudo_augment(&self, shape: crate::data::ImageShape) -> Augment {
        let side = shape.height.min(shape.width) as f64;
        let [n, m] = self.strong_augment;
        Augment {
            cutout: (self.pseudo_cutout * side).round() as usize,
            strong: (n > 0).then_some(crate::data::RandAugment { n, m }),
            ..self.augment()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip_through_toml() {
        let cfg = TrainConfig::default();
        cfg.validate().unwrap();
        let back = TrainConfig::from_toml_str(&cfg.to_toml()).unwrap();
        assert_eq!(back, cfg);
    }

    #[test]
    fn partial_file_keeps_defaults() {
        let cfg = TrainConfig::from_toml_str("threshold = 0.8\nrounds = 2\n").unwrap();
        assert_eq!(cfg.threshold, 0.8);
        assert_eq!(cfg.rounds, 2);
        assert_eq!(cfg.batch_size, TrainConfig::default().batch_size);
    }

    #[test]
    fn out_of_range_values_name_the_field() {
        for (text, field) in [
            ("threshold = 1.5", "threshold"),
            ("threshold = -0.1", "threshold"),
            ("pseudo_weight = -1.0", "pseudo_weight"),
            ("learning_rate = 0.0", "learning_rate"),
            ("batch_size = 0", "batch_size"),
            ("channels = 2", "channels"),
            ("device = \"tpu\"", "device"),
            ("cv_folds = 1", "cv_folds"),
            ("pseudo_cutout = 1.5", "pseudo_cutout"),
            ("curriculum_step = 0.0", "curriculum_step"),
            ("mc_passes = 0", "mc_passes"),
            ("uncertainty_kappa = -0.1", "uncertainty_kappa"),
            ("outlier_filter = 1.0", "outlier_filter"),
            (
                "pseudo_policy = \"uncertainty\"\ndropout = 0.0",
                "pseudo_policy",
            ),
            ("strong_augment = [12, 5]", "strong_augment"),
            ("strong_augment = [2, 11]", "strong_augment"),
            ("strong_augment = [2]", "strong_augment"),
            ("strong_augment = \"2,9\"", "strong_augment"),
            ("mixup = -1.0", "mixup"),
            (
                "selection_standard_errors = nan",
                "selection_standard_errors",
            ),
            ("cv_folds = 5\ncv_fold = 5", "cv_fold"),
        ] {
            let err = TrainConfig::from_toml_str(text).unwrap_err().to_string();
            assert!(err.contains(field), "{text}: {err}");
        }
    }

    #[test]
    fn the_policy_reads_under_its_old_name_and_lists_the_valid_ones() {
        let old = TrainConfig::from_toml_str("acceptance = \"threshold\"").unwrap();
        assert_eq!(old.pseudo_policy, Acceptance::Threshold);
        let new = TrainConfig::from_toml_str("pseudo_policy = \"flexmatch\"").unwrap();
        assert_eq!(new.pseudo_policy, Acceptance::Flexmatch);
        let err = TrainConfig::from_toml_str("pseudo_policy = \"fixmatch\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("softmatch") && err.contains("curriculum"),
            "{err}"
        );
    }

    #[test]
    fn unknown_field_is_an_error() {
        let err = TrainConfig::from_toml_str("treshold = 0.5")
            .unwrap_err()
            .to_string();
        assert!(err.contains("treshold"), "{err}");
    }

    #[test]
    fn the_photo_augmentation_is_off_by_default_and_on_for_both_kinds_of_sample() {
        let cfg = TrainConfig::default();
        let shape = crate::data::ImageShape {
            channels: 3,
            height: 32,
            width: 32,
        };
        assert_eq!(cfg.augment().photo, None);
        let photos = TrainConfig {
            crop_scale: 0.35,
            colour_jitter: 0.4,
            ..cfg
        };
        let photo = photos.augment().photo.expect("on");
        assert_eq!((photo.min_scale, photo.jitter), (0.35, 0.4));
        assert_eq!(photos.pseudo_augment(shape).photo, Some(photo));
    }

    #[test]
    fn pseudo_augment_adds_cutout_scaled_to_the_shorter_side() {
        let cfg = TrainConfig {
            pseudo_cutout: 0.5,
            ..TrainConfig::default()
        };
        let shape = crate::data::ImageShape {
            channels: 1,
            height: 28,
            width: 40,
        };
        assert_eq!(cfg.augment().cutout, 0, "labelled samples never get cutout");
        let pseudo = cfg.pseudo_augment(shape);
        assert_eq!(pseudo.cutout, 14);
        assert_eq!(pseudo.max_shift, cfg.augment_shift);
        let off = TrainConfig {
            pseudo_cutout: 0.0,
            ..cfg
        };
        assert_eq!(off.pseudo_augment(shape), off.augment());
        assert_eq!(pseudo.strong, None, "RandAugment is off by default");
        let strong = TrainConfig {
            strong_augment: [2, 9],
            ..TrainConfig::default()
        };
        assert_eq!(
            strong.pseudo_augment(shape).strong,
            Some(crate::data::RandAugment { n: 2, m: 9 })
        );
        assert_eq!(
            strong.augment().strong,
            None,
            "labelled samples never get it"
        );
        let zero = TrainConfig {
            strong_augment: [0, 9],
            ..TrainConfig::default()
        };
        assert_eq!(zero.pseudo_augment(shape).strong, None);
    }

    #[test]
    fn strong_augment_reads_as_a_pair_and_round_trips() {
        let cfg = TrainConfig::from_toml_str("strong_augment = [2, 9]\n").unwrap();
        assert_eq!(cfg.strong_augment, [2, 9]);
        assert!(cfg.to_toml().contains("strong_augment = ["));
        assert_eq!(TrainConfig::from_toml_str(&cfg.to_toml()).unwrap(), cfg);
        assert_eq!(
            TrainConfig::from_toml_str("").unwrap().strong_augment,
            [0, 0]
        );
        TrainConfig::from_toml_str("strong_augment = [11, 10]\n").unwrap();
    }

    #[test]
    fn cosine_schedule_decays_from_the_rate_to_zero() {
        let lr = 1e-3;
        assert_eq!(LrSchedule::Constant.rate(lr, 0.7), lr);
        assert!((LrSchedule::Cosine.rate(lr, 0.0) - lr).abs() < 1e-12);
        assert!((LrSchedule::Cosine.rate(lr, 0.5) - lr / 2.0).abs() < 1e-12);
        assert!(LrSchedule::Cosine.rate(lr, 1.0).abs() < 1e-12);
        assert!(LrSchedule::Cosine.rate(lr, 0.3) > LrSchedule::Cosine.rate(lr, 0.6));
    }
}
