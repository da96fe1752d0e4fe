//! Command-line interface definitions and how flags override the configuration.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{Acceptance, ClassWeighting, LrSchedule, TrainConfig};
use crate::data::BadImagePolicy;
use crate::model::ModelKind;

/// Semi-supervised image classification by self-training (pseudo-labelling).
///
/// Without a subcommand, `selftrain` trains (same flags as `selftrain train`) on ./sample-data.
#[derive(Debug, Parser)]
#[command(name = "selftrain", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do (default: train).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Training flags when no subcommand is given.
    #[command(flatten)]
    pub train: TrainArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a classifier by self-training (the default).
    Train(TrainArgs),
    /// Import data into the folder layout.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Classify image files with a trained run; prints CSV (file, class, confidence).
    Predict(PredictArgs),
    /// Measure training/inference throughput and peak memory of the CNN on random data.
    Bench(BenchArgs),
    /// Measure the pipeline on a real data root at full scale: parallel decode (and IDX import)
    /// throughput, training and inference images/s, pseudo-labelling passes on growing pool
    /// sizes (linear-scaling check) and peak memory against its goal; prints JSON.
    BenchScale(BenchScaleArgs),
    /// Open the dashboard read-only on a run directory (finished, or still running: followed).
    View(ViewArgs),
    /// Measure what the dashboard costs: the same run headless and with the dashboard drawing
    /// into a pseudo-terminal, alternately; prints both training throughputs side by side.
    BenchDashboard(BenchDashboardArgs),
    /// k-fold cross-validation: K runs, each validating on one stratified fold of the labelled
    /// images; prints and saves per-fold and mean ± std accuracy and macro-F1.
    Cv(CvArgs),
    /// One markdown results-table row (mean ± std over runs) from finished run directories.
    Summarize(SummarizeArgs),
    /// Write PNG charts (loss, accuracy, pseudo-label acceptance, confusion matrix) and an HTML
    /// page summarising a run directory (finished, or still running).
    Report(ReportArgs),
}

/// Flags of `cv` (the training flags choose the runs).
#[derive(Debug, Args)]
pub struct CvArgs {
    /// Number of folds (at least 2).
    #[arg(long, default_value_t = 5, allow_negative_numbers = true)]
    pub folds: usize,
    /// Training flags (as for `train`; --resume is not supported here).
    #[command(flatten)]
    pub train: TrainArgs,
}

/// Flags of `summarize`.
#[derive(Debug, Args)]
pub struct SummarizeArgs {
    /// Name of the row (default: the first run's data root).
    #[arg(long)]
    pub label: Option<String>,
    /// Print the table header first.
    #[arg(long)]
    pub header: bool,
    /// Print the row as JSON instead of markdown.
    #[arg(long)]
    pub json: bool,
    /// The long-tailed table instead: macro-F1 before and after self-training and the mean test
    /// recall of the N classes with the fewest labelled images.
    #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub smallest_classes: Option<usize>,
    /// Finished run directories (each holds summary.json).
    pub run_dirs: Vec<PathBuf>,
}

/// Flags of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run directory (holds metrics.jsonl).
    pub run_dir: PathBuf,
    /// Folder to write the report into (created if needed). Default: RUN_DIR/report.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Flags of `view`.
#[derive(Debug, Args)]
pub struct ViewArgs {
    /// Run directory (holds metrics.jsonl).
    pub run_dir: PathBuf,
}

/// Flags of `bench-dashboard` (the training flags choose the run; keep it short).
#[derive(Debug, Args)]
pub struct BenchDashboardArgs {
    /// Runs of each kind (alternating); medians are compared.
    #[arg(long, default_value_t = 3, allow_negative_numbers = true)]
    pub repeats: usize,
    /// Pseudo-terminal size as COLSxROWS.
    #[arg(long, default_value = "120x40", value_parser = parse_size, allow_negative_numbers = true)]
    pub terminal: [usize; 2],
    /// Training flags.
    #[command(flatten)]
    pub train: TrainArgs,
}

/// Import subcommands.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// MNIST-format IDX files (raw or .gz) into ROOT/{train,unlabeled,test}/<class>/.
    Idx(ImportIdxArgs),
}

/// Flags of `import idx`.
#[derive(Debug, Args)]
pub struct ImportIdxArgs {
    /// Training-split images (IDX3, raw or gzip).
    #[arg(long)]
    pub images: PathBuf,
    /// Training-split labels (IDX1, raw or gzip).
    #[arg(long)]
    pub labels: PathBuf,
    /// Test-split images.
    #[arg(long, requires = "test_labels")]
    pub test_images: Option<PathBuf>,
    /// Test-split labels.
    #[arg(long, requires = "test_images")]
    pub test_labels: Option<PathBuf>,
    /// Output data root (must not already hold train/).
    #[arg(long)]
    pub out: PathBuf,
    /// Labelled images per class put in train/.
    #[arg(long, allow_negative_numbers = true)]
    pub labels_per_class: usize,
    /// Cap of unlabelled images per class (default: all the rest of the training split).
    #[arg(long, allow_negative_numbers = true)]
    pub unlabeled_per_class: Option<usize>,
    /// Cap of test images per class (default: all).
    #[arg(long, allow_negative_numbers = true)]
    pub test_per_class: Option<usize>,
    /// Long-tailed labelled set and pool: class 0 keeps the full counts, the last class 1/R of
    /// them, the classes between an exponential profile; the test split stays balanced.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub imbalance_ratio: f64,
    /// Seed of the random choice of labelled images.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub seed: u64,
    /// Comma-separated class folder names in label order (default: label numbers).
    #[arg(long, value_delimiter = ',')]
    pub class_names: Option<Vec<String>>,
}

/// Flags of `predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Run directory (holds model.json and checkpoints).
    #[arg(long = "model")]
    pub run_dir: PathBuf,
    /// Checkpoint file inside the run directory.
    #[arg(long, default_value = "best.bpk")]
    pub checkpoint: String,
    /// Device: auto, flex, tch-cpu, cuda[:N].
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Inference batch size.
    #[arg(long, default_value_t = 256, allow_negative_numbers = true)]
    pub batch_size: usize,
    /// Image files to classify.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
}

/// Flags of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Device: auto, flex, tch-cpu, cuda[:N].
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Model architecture.
    #[arg(long, value_enum, default_value_t = ModelKind::Default)]
    pub model: ModelKind,
    /// Batch size.
    #[arg(long, default_value_t = 64, allow_negative_numbers = true)]
    pub batch_size: usize,
    /// Image size as HxW.
    #[arg(long, default_value = "28x28", value_parser = parse_size, allow_negative_numbers = true)]
    pub size: [usize; 2],
    /// Image channels.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub channels: usize,
    /// Timed training steps.
    #[arg(long, default_value_t = 30, allow_negative_numbers = true)]
    pub train_steps: usize,
    /// Timed inference batches.
    #[arg(long, default_value_t = 60, allow_negative_numbers = true)]
    pub infer_batches: usize,
}

/// Flags of `bench-scale`.
#[derive(Debug, Args)]
pub struct BenchScaleArgs {
    /// Data root (train/<class>/, unlabeled/, optional test/ and val/).
    #[arg(long)]
    pub data: PathBuf,
    /// Comma-separated unlabelled-pool sizes of the timed pseudo-labelling passes (each capped
    /// at the pool's size).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "15000,30000,60000",
        allow_negative_numbers = true
    )]
    pub pool_sizes: Vec<usize>,
    /// Device: auto, flex, tch-cpu, cuda[:N].
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Model architecture.
    #[arg(long, value_enum, default_value_t = ModelKind::Default)]
    pub model: ModelKind,
    /// Training batch size (the passes use the engine's inference batch size, at least 256).
    #[arg(long, default_value_t = 64, allow_negative_numbers = true)]
    pub batch_size: usize,
    /// Timed training steps (after 2 warm-up steps).
    #[arg(long, default_value_t = 30, allow_negative_numbers = true)]
    pub train_steps: usize,
    /// Confidence threshold τ of the acceptance decision, in [0, 1].
    #[arg(long, default_value_t = 0.9, allow_negative_numbers = true)]
    pub threshold: f32,
    /// Pseudo-label acceptance policy.
    #[arg(long, value_enum, default_value_t = Acceptance::Threshold)]
    pub acceptance: Acceptance,
    /// Runs of each pass size; the median time is reported.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub repeats: usize,
    /// Folder of raw MNIST IDX files (train-images-idx3-ubyte, …, raw or .gz): also time
    /// `import idx` of them into a temporary folder, removed afterwards.
    #[arg(long)]
    pub idx_dir: Option<PathBuf>,
    /// Seed of the model initialisation and batch order.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub seed: u64,
    /// Also write the JSON report to this file (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Flags of `train` (each overrides the same field of the config file).
///
/// Numeric flags take negative numbers as their value (`--seed -1` is the value -1, refused by
/// the flag's parser or the config's validation, naming the flag), here and in every command.
#[derive(Debug, Args, Default, Clone, PartialEq)]
pub struct TrainArgs {
    /// TOML config file; flags override its values.
    #[arg(long, conflicts_with = "resume")]
    pub config: Option<PathBuf>,
    /// Continue an interrupted run from its last checkpoint (its saved config is used; only
    /// --device, --headless and --json may be given with it).
    #[arg(long, value_name = "RUN_DIR")]
    pub resume: Option<PathBuf>,
    /// Seconds between periodic checkpoints at epoch ends (0 = every epoch).
    #[arg(long, allow_negative_numbers = true)]
    pub checkpoint_every_secs: Option<f64>,
    /// Data root (train/, unlabeled/, test/, optional val/). Default: sample-data.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Parent folder of run directories. Default: runs.
    #[arg(long)]
    pub runs_dir: Option<PathBuf>,
    /// Device: auto, flex, tch-cpu, cuda[:N].
    #[arg(long)]
    pub device: Option<String>,
    /// Model architecture.
    #[arg(long, value_enum)]
    pub model: Option<ModelKind>,
    /// Start from trained weights: a run directory or .bpk, a PyTorch state_dict (.pt/.pth)
    /// or .safetensors.
    #[arg(long)]
    pub init_from: Option<PathBuf>,
    /// Epochs at the start of the warm-up that train only the last layer.
    #[arg(long, allow_negative_numbers = true)]
    pub freeze_backbone_epochs: Option<usize>,
    /// Learning rate of all but the last layer as a multiple of --learning-rate, in [0, 1].
    #[arg(long, allow_negative_numbers = true)]
    pub backbone_lr_scale: Option<f64>,
    /// Image channels, 1 or 3 (default: from the data).
    #[arg(long, allow_negative_numbers = true)]
    pub channels: Option<usize>,
    /// Image size as HxW (default: the data's size, else 32x32).
    #[arg(long, value_parser = parse_size, allow_negative_numbers = true)]
    pub image_size: Option<[usize; 2]>,
    /// Input normalisation: none, data (the labelled images' per-channel statistics) or
    /// imagenet (torchvision's constants, for pretrained weights).
    #[arg(long, value_enum)]
    pub normalize: Option<crate::config::Normalize>,
    /// Random resized crop of training images: smallest share of the area kept, in (0, 1]
    /// (1 = off).
    #[arg(long, allow_negative_numbers = true)]
    pub crop_scale: Option<f64>,
    /// Colour jitter of training images: brightness/contrast/saturation within 1 ± J, J in
    /// [0, 1) (0 = off).
    #[arg(long, allow_negative_numbers = true)]
    pub colour_jitter: Option<f64>,
    /// How images of another size reach --image-size: crop (cover, cut the centre) or stretch.
    #[arg(long, value_enum)]
    pub resize: Option<crate::data::ResizePolicy>,
    /// Confidence threshold τ for pseudo-labels, in [0, 1].
    #[arg(long, allow_negative_numbers = true)]
    pub threshold: Option<f32>,
    /// Loss weight λ of pseudo-labelled samples (≥ 0).
    #[arg(long, allow_negative_numbers = true)]
    pub pseudo_weight: Option<f32>,
    /// Pseudo-labelling policy (`--acceptance` is its older name).
    #[arg(long, value_enum, alias = "acceptance")]
    pub pseudo_policy: Option<Acceptance>,
    /// Class-balanced acceptance: allowed excess over a class's labelled share (≥ 1).
    #[arg(long, allow_negative_numbers = true)]
    pub balance_slack: Option<f32>,
    /// Curriculum policy: share of the pool added each round, in (0, 1].
    #[arg(long, allow_negative_numbers = true)]
    pub curriculum_step: Option<f32>,
    /// Uncertainty policy: MC-dropout passes over the pool per round (≥ 2).
    #[arg(long, allow_negative_numbers = true)]
    pub mc_passes: Option<usize>,
    /// Uncertainty policy: largest MC-dropout standard deviation κ of a pseudo-label (≥ 0).
    #[arg(long, allow_negative_numbers = true)]
    pub uncertainty_kappa: Option<f32>,
    /// Fraction of the pool filtered out as outliers before acceptance, in [0, 1) (0 = off).
    #[arg(long, allow_negative_numbers = true)]
    pub outlier_filter: Option<f32>,
    /// Rounds over which λ ramps up linearly (0 = none).
    #[arg(long, allow_negative_numbers = true)]
    pub pseudo_ramp_rounds: Option<usize>,
    /// Minimum share of labelled samples per batch once pseudo-labels join, in [0, 1].
    #[arg(long, allow_negative_numbers = true)]
    pub min_labeled_share: Option<f32>,
    /// Re-initialise the model at every round instead of fine-tuning.
    #[arg(long)]
    pub reinit_each_round: Option<bool>,
    /// Adam learning rate (> 0).
    #[arg(long = "lr", allow_negative_numbers = true)]
    pub learning_rate: Option<f64>,
    /// Learning-rate schedule within the warm-up and within each round.
    #[arg(long, value_enum)]
    pub lr_schedule: Option<LrSchedule>,
    /// Adam weight decay (≥ 0).
    #[arg(long, allow_negative_numbers = true)]
    pub weight_decay: Option<f64>,
    /// Mini-batch size (≥ 1).
    #[arg(long, allow_negative_numbers = true)]
    pub batch_size: Option<usize>,
    /// Supervised warm-up epochs.
    #[arg(long, allow_negative_numbers = true)]
    pub warmup_epochs: Option<usize>,
    /// Epochs per self-training round.
    #[arg(long, allow_negative_numbers = true)]
    pub epochs_per_round: Option<usize>,
    /// Maximum self-training rounds.
    #[arg(long, allow_negative_numbers = true)]
    pub rounds: Option<usize>,
    /// Stop after this many rounds without validation improvement (0 = never).
    #[arg(long, allow_negative_numbers = true)]
    pub patience: Option<usize>,
    /// Model selection: validation images a later round may lose against the best and still
    /// be selected (0 = only ties).
    #[arg(long, allow_negative_numbers = true)]
    pub selection_tolerance: Option<usize>,
    /// Model selection: standard errors of the best validation accuracy, √(p(1−p)/n), that a
    /// later round may fall below it and still be selected (≥ 0; 0 = images only).
    #[arg(long, allow_negative_numbers = true)]
    pub selection_standard_errors: Option<f64>,
    /// Random seed.
    #[arg(long, allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// Augmentation: random shift in pixels (0 = off).
    #[arg(long, allow_negative_numbers = true)]
    pub augment_shift: Option<usize>,
    /// Augmentation: random horizontal flip (true/false; off for digits).
    #[arg(long)]
    pub hflip: Option<bool>,
    /// Cutout on pseudo-labelled samples: erased square's side as a fraction of the image's
    /// shorter side, in [0, 1] (0 = off).
    #[arg(long, allow_negative_numbers = true)]
    pub pseudo_cutout: Option<f64>,
    /// RandAugment on pseudo-labelled samples: N operations per image (0..=11) at magnitude M
    /// (0..=10), as N,M; 0 = off.
    #[arg(long, value_name = "N,M", value_parser = parse_strong_augment, allow_negative_numbers = true)]
    pub strong_augment: Option<[usize; 2]>,
    /// Mixup in the self-training rounds: α of the Beta(α, α) blend weight (0 = off).
    #[arg(long, allow_negative_numbers = true)]
    pub mixup: Option<f64>,
    /// Fraction of labelled images held out for validation, in [0, 1).
    #[arg(long, allow_negative_numbers = true)]
    pub val_fraction: Option<f64>,
    /// Class weighting of the supervised loss.
    #[arg(long, value_enum)]
    pub class_weighting: Option<ClassWeighting>,
    /// Dropout of the default model, in [0, 1).
    #[arg(long, allow_negative_numbers = true)]
    pub dropout: Option<f64>,
    /// Undecodable images: skip (warn, count, list) or fail.
    #[arg(long)]
    pub on_bad_image: Option<BadImagePolicy>,
    /// No dashboard: progress bar on stderr and a line per evaluation
    /// (automatic when stdout is not a terminal).
    #[arg(long)]
    pub headless: bool,
    /// Stream every update as a JSON line on stdout (implies --headless).
    #[arg(long)]
    pub json: bool,
}

/// Parses `N,M` for `--strong-augment` (or `0` for off) and checks both ranges.
pub fn parse_strong_augment(text: &str) -> Result<[usize; 2], String> {
    let malformed = || format!("`{text}` is not N,M (like 2,9) or 0 for off");
    let num = |s: &str| s.trim().parse::<usize>().map_err(|_| malformed());
    let pair = match text.split(',').collect::<Vec<_>>().as_slice() {
        [off] if num(off)? == 0 => [0, 0],
        [n, m] => [num(n)?, num(m)?],
        _ => return Err(malformed()),
    };
    crate::data::rand_augment::check(pair[0], pair[1])?;
    Ok(pair)
}

/// Parses `HxW` (or a single number for a square).
pub fn parse_size(text: &str) -> Result<[usize; 2], String> {
    let parts: Vec<&str> = text.split(['x', 'X']).collect();
    let num = |s: &str| {
        s.trim()
            .parse::<usize>()
            .map_err(|_| format!("`{text}` is not a size like 28x28"))
    };
    match parts.as_slice() {
        [s] => {
            let n = num(s)?;
            Ok([n, n])
        }
        [h, w] => Ok([num(h)?, num(w)?]),
        _ => Err(format!("`{text}` is not a size like 28x28")),
    }
}

impl TrainArgs {
    /// For `--resume RUN_DIR`: the run's saved configuration, with `--device` and
    /// `--checkpoint-every-secs` applied. Any other training flag is refused: the resumed run must
    /// be the same run.
    pub fn resume_config(&self) -> anyhow::Result<Option<(TrainConfig, PathBuf)>> {
        let Some(run_dir) = &self.resume else {
            return Ok(None);
        };
        let allowed = TrainArgs {
            resume: self.resume.clone(),
            device: self.device.clone(),
            checkpoint_every_secs: self.checkpoint_every_secs,
            headless: self.headless,
            json: self.json,
            ..TrainArgs::default()
        };
        if *self != allowed {
            anyhow::bail!(
                "--resume continues a run with its saved config.toml: only --device, --checkpoint-every-secs, --headless and --json may be given with it"
            );
        }
        let path = run_dir.join(crate::run::files::CONFIG);
        let mut cfg = TrainConfig::from_toml_file(&path)?;
        if let Some(d) = &self.device {
            cfg.device = d.clone();
        }
        if let Some(c) = self.checkpoint_every_secs {
            cfg.checkpoint_every_secs = c;
        }
        cfg.validate()?;
        Ok(Some((cfg, run_dir.clone())))
    }

    /// The effective configuration: defaults, then the config file, then these flags; validated.
    pub fn to_config(&self) -> anyhow::Result<TrainConfig> {
        let mut cfg = match &self.config {
            Some(path) => TrainConfig::from_toml_file(path)?,
            None => TrainConfig::default(),
        };
        macro_rules! set {
            ($($field:ident),*) => {$(
                if let Some(v) = &self.$field {
                    cfg.$field = v.clone();
                }
            )*};
        }
        set!(
            data,
            runs_dir,
            device,
            model,
            resize,
            normalize,
            crop_scale,
            colour_jitter,
            freeze_backbone_epochs,
            backbone_lr_scale,
            threshold,
            pseudo_weight,
            pseudo_policy,
            balance_slack,
            curriculum_step,
            mc_passes,
            uncertainty_kappa,
            outlier_filter,
            pseudo_ramp_rounds,
            min_labeled_share,
            reinit_each_round,
            learning_rate,
            lr_schedule,
            weight_decay,
            batch_size,
            warmup_epochs,
            epochs_per_round,
            rounds,
            patience,
            selection_tolerance,
            selection_standard_errors,
            seed,
            augment_shift,
            hflip,
            pseudo_cutout,
            strong_augment,
            mixup,
            val_fraction,
            class_weighting,
            dropout,
            on_bad_image,
            checkpoint_every_secs
        );
        if self.channels.is_some() {
            cfg.channels = self.channels;
        }
        if self.init_from.is_some() {
            cfg.init_from = self.init_from.clone();
        }
        if self.image_size.is_some() {
            cfg.image_size = self.image_size;
        }
        cfg.validate()?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_values() {
        let dir = std::env::temp_dir().join(format!("selftrain-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(&file, "threshold = 0.7\nrounds = 9\n").unwrap();
        let cli = Cli::parse_from([
            "selftrain",
            "--config",
            file.to_str().unwrap(),
            "--rounds",
            "2",
        ]);
        let cfg = cli.train.to_config().unwrap();
        assert_eq!(cfg.threshold, 0.7);
        assert_eq!(cfg.rounds, 2);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_flag_value_names_the_field() {
        let cli = Cli::parse_from(["selftrain", "train", "--threshold", "1.2"]);
        let Some(Command::Train(args)) = cli.command else {
            panic!()
        };
        let err = args.to_config().unwrap_err().to_string();
        assert!(err.contains("threshold"), "{err}");
    }

    #[test]
    fn negative_numbers_after_a_flag_are_its_value() {
        let train = |args: &[&str]| {
            let cli = Cli::try_parse_from(["selftrain", "train"].iter().chain(args))?;
            let Some(Command::Train(args)) = cli.command else {
                panic!("not train")
            };
            Ok::<_, clap::Error>(args)
        };
        // A negative zero is a valid threshold.
        let args = train(&["--threshold", "-0"]).unwrap();
        assert_eq!(args.threshold, Some(-0.0));
        assert_eq!(args.to_config().unwrap().threshold, 0.0);
        // Out of range: the config's validation names the field.
        let args = train(&["--threshold", "-0.5", "--lr", "-1"]).unwrap();
        assert_eq!(args.learning_rate, Some(-1.0));
        let err = args.to_config().unwrap_err().to_string();
        assert!(err.contains("threshold") && err.contains("-0.5"), "{err}");
        // Unsigned flags: the flag's parser refuses the value, naming the flag.
        let err = train(&["--seed", "-1"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        let text = err.to_string();
        assert!(text.contains("'-1'") && text.contains("--seed"), "{text}");
        // Without a subcommand, and in the other commands, the same.
        let cli = Cli::try_parse_from(["selftrain", "--pseudo-weight", "-2"]).unwrap();
        assert_eq!(cli.train.pseudo_weight, Some(-2.0));
        let cli = Cli::try_parse_from([
            "selftrain",
            "bench-scale",
            "--data",
            "d",
            "--threshold",
            "-1",
        ])
        .unwrap();
        let Some(Command::BenchScale(args)) = cli.command else {
            panic!("not bench-scale")
        };
        assert_eq!(args.threshold, -1.0);
        // A word that is not a number after a flag is still an unknown flag.
        let err = train(&["--seed", "-x"]).unwrap_err();
        assert_ne!(err.kind(), clap::error::ErrorKind::ValueValidation);
    }

    #[test]
    fn strong_augment_parses_pairs_and_off() {
        assert_eq!(parse_strong_augment("2,9"), Ok([2, 9]));
        assert_eq!(parse_strong_augment(" 11 , 10 "), Ok([11, 10]));
        assert_eq!(parse_strong_augment("0"), Ok([0, 0]));
        assert_eq!(parse_strong_augment("0,0"), Ok([0, 0]));
        for bad in ["2", "", "2,", "a,b", "1,2,3", "-1,5", "2;9"] {
            assert!(
                parse_strong_augment(bad).unwrap_err().contains("not N,M"),
                "{bad}"
            );
        }
        assert!(parse_strong_augment("12,5").unwrap_err().contains("0..=11"));
        assert!(parse_strong_augment("2,11").unwrap_err().contains("0..=10"));
        let cli = Cli::parse_from(["selftrain", "--strong-augment", "2,9"]);
        assert_eq!(cli.train.to_config().unwrap().strong_augment, [2, 9]);
        let cli = Cli::parse_from(["selftrain"]);
        assert_eq!(cli.train.to_config().unwrap().strong_augment, [0, 0]);
        let err = Cli::try_parse_from(["selftrain", "--strong-augment", "3,12"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--strong-augment") && err.contains("0..=10"),
            "{err}"
        );
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("28x32"), Ok([28, 32]));
        assert_eq!(parse_size("16"), Ok([16, 16]));
        assert!(parse_size("a").is_err());
    }
}
