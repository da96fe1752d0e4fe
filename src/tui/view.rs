//! `selftrain view RUN_DIR`: the dashboard, read-only, on a run directory. `metrics.jsonl` is
//! replayed and then followed (polled every [`POLL`]) while the run goes on; the inspector reads
//! the latest `pseudo_labels_round_NNN.csv`; images are drawn when the data root named in the
//! run's `config.toml` can be loaded.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use crossbeam_channel::Sender;

use crate::config::TrainConfig;
use crate::data::{DatasetOptions, load_dataset};
use crate::run::pseudo_csv::{self, PseudoStatus};
use crate::run::{MetricsLine, files, parse_metrics_line};
use crate::train::events::{Phase, PoolPrediction, Progress, Split, Update};
use crate::train::pseudo::PolicySpec;
use crate::tui::app::{App, Mode, SampleInfo, SampleStatus};
use crate::tui::images::PoolImages;
use crate::tui::run::{InputThread, event_loop};
use crate::tui::terminal::TerminalGuard;

/// How often the run files are polled for new lines.
pub const POLL: Duration = Duration::from_millis(500);

/// What the file follower tells the dashboard.
#[derive(Debug)]
pub enum Feed {
    /// A replayed (or synthesized) update.
    Update(Box<Update>),
    /// Predictions of a round, from its CSV.
    Predictions {
        /// Round.
        round: usize,
        /// Predictions (top-2 from the CSV).
        predictions: Arc<Vec<PoolPrediction>>,
        /// File and status of each.
        samples: Vec<SampleInfo>,
    },
    /// The pool images, or why they cannot be drawn.
    Images(Result<PoolImages, String>),
    /// A problem reading the files.
    Problem(String),
}

/// Applies a feed item to the state.
pub fn apply(app: &mut App, feed: Feed) {
    match feed {
        Feed::Update(u) => app.on_update(*u),
        Feed::Predictions {
            round,
            predictions,
            samples,
        } => app.set_predictions(round, predictions, samples),
        Feed::Images(Ok(images)) => app.set_images(images),
        Feed::Images(Err(note)) => app.image_note = Some(note),
        Feed::Problem(message) => app.flash = Some(message),
    }
}

/// The training plan, to turn evaluations into progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Warm-up epochs.
    pub warmup_epochs: usize,
    /// Epochs per round.
    pub epochs_per_round: usize,
    /// Rounds.
    pub rounds: usize,
    /// Batch size (for the average throughput).
    pub batch_size: usize,
}

impl From<&TrainConfig> for Plan {
    fn from(c: &TrainConfig) -> Self {
        Self {
            warmup_epochs: c.warmup_epochs,
            epochs_per_round: c.epochs_per_round,
            rounds: c.rounds,
            batch_size: c.batch_size,
        }
    }
}

/// Turns `metrics.jsonl` lines back into updates (read by the run reader's
/// [`parse_metrics_line`], so a NaN loss is kept), adding the progress updates the file does not
/// hold (derived from evaluations, rounds and the plan).
#[derive(Debug, Clone, Default)]
pub struct Replayer {
    plan: Option<Plan>,
    epochs_done: usize,
    total_rounds: usize,
    /// Class names, once `Started` was read.
    pub classes: Vec<String>,
    /// Whether `Finished` or `Failed` was read.
    pub ended: bool,
    /// Latest round with pseudo-labels.
    pub pseudo_round: usize,
    /// Lines of `metrics.jsonl` read so far.
    lines_read: usize,
    /// The policy of a run whose `Started` line predates `RunInfo.policy` (from its
    /// `config.toml`): filled into `Started` so the dashboard still learns it from the run.
    pub legacy_policy: Option<PolicySpec>,
}

impl Replayer {
    /// A replayer for a run with this plan (when `config.toml` could be read).
    pub fn new(plan: Option<Plan>) -> Self {
        Self {
            plan,
            total_rounds: plan.map_or(0, |p| p.rounds),
            ..Self::default()
        }
    }

    fn progress(
        &self,
        phase: Phase,
        round: usize,
        epoch: usize,
        step: u64,
        elapsed: f64,
    ) -> Update {
        let (total_epochs, fraction) = match self.plan {
            Some(p) => {
                let planned = p.warmup_epochs + p.rounds * p.epochs_per_round;
                let total = if round == 0 {
                    p.warmup_epochs
                } else {
                    p.epochs_per_round
                };
                let f = if planned == 0 {
                    1.0
                } else {
                    (self.epochs_done as f64 / planned as f64).min(1.0)
                };
                (total, f)
            }
            None => (0, 0.0),
        };
        let batch = self.plan.map_or(0, |p| p.batch_size);
        Update::Progress(Progress {
            phase,
            round,
            total_rounds: self.total_rounds,
            epoch,
            total_epochs,
            step: 0,
            total_steps: 0,
            global_step: step,
            images_per_sec: if elapsed > 0.0 {
                step as f64 * batch as f64 / elapsed
            } else {
                0.0
            },
            elapsed_secs: elapsed,
            fraction_done: if phase == Phase::Done { 1.0 } else { fraction },
        })
    }

    /// Updates for the next line of the file (none for a blank line or a kind that is not
    /// replayed); an error names the line.
    pub fn line(&mut self, line: &str) -> Result<Vec<Update>, String> {
        self.lines_read += 1;
        let parsed =
            parse_metrics_line(line).map_err(|e| format!("line {}: {e}", self.lines_read))?;
        let Some(MetricsLine {
            elapsed_secs,
            update: Some(update),
        }) = parsed
        else {
            return Ok(Vec::new());
        };
        let elapsed = elapsed_secs.unwrap_or(0.0);
        let mut out = Vec::with_capacity(2);
        let mut update = update;
        if let Update::Started(info) = &mut update
            && info.policy.is_none()
        {
            info.policy = self.legacy_policy.clone();
        }
        let extra = match &update {
            Update::Started(info) => {
                self.classes = info.classes.clone();
                self.total_rounds = info.rounds;
                Some(self.progress(Phase::WarmUp, 0, 0, 0, elapsed))
            }
            Update::Evaluation(e) if e.split == Split::Validation => {
                self.epochs_done += 1;
                let phase = if e.round == 0 {
                    Phase::WarmUp
                } else {
                    Phase::Training
                };
                Some(self.progress(phase, e.round, e.epoch, e.global_step, elapsed))
            }
            Update::PseudoLabels(p) => {
                self.pseudo_round = p.round;
                None
            }
            Update::Finished(s) => {
                self.ended = true;
                Some(self.progress(Phase::Done, s.rounds_completed, 0, s.global_steps, elapsed))
            }
            Update::Failed { .. } => {
                self.ended = true;
                None
            }
            _ => None,
        };
        if let Some(p) = extra {
            if matches!(update, Update::Started(_)) {
                out.push(update);
                out.push(p);
            } else {
                out.push(p);
                out.push(update);
            }
        } else {
            out.push(update);
        }
        Ok(out)
    }
}

/// Parses a `pseudo_labels_round_NNN.csv` (with [`pseudo_csv::parse`], so the engine's weights
/// and reasons come along) into predictions (top-2: predicted and runner-up) and sample facts;
/// class names are mapped to indices with `classes`. A last line without its newline (a file
/// being written) is left out.
pub fn parse_pseudo_csv(
    text: &str,
    classes: &[String],
) -> Result<(Vec<PoolPrediction>, Vec<SampleInfo>), String> {
    let complete = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
    let index: HashMap<&str, usize> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let mut predictions = Vec::new();
    let mut samples = Vec::new();
    for row in pseudo_csv::parse(complete)? {
        let class = |name: &str| {
            index
                .get(name)
                .copied()
                .ok_or_else(|| format!("sample {}: unknown class `{name}`", row.index))
        };
        let mut top = vec![(class(&row.predicted)?, row.confidence)];
        if let Some((name, p)) = &row.runner_up {
            top.push((class(name)?, *p));
        }
        let status = match row.status {
            PseudoStatus::Accepted => SampleStatus::Accepted,
            PseudoStatus::Rejected => SampleStatus::Rejected,
            PseudoStatus::Forced => SampleStatus::Forced,
            PseudoStatus::ManualLabel => SampleStatus::ManualLabel,
            PseudoStatus::Excluded => SampleStatus::Excluded,
        };
        predictions.push(PoolPrediction {
            index: row.index,
            top,
            truth: row.truth.as_deref().map(class).transpose()?,
            accepted: status.is_accepted(),
            weight: row.weight,
            rejection: row.reason,
            probs: Vec::new(),
            uncertainty: row.uncertainty,
            outlier: row.outlier,
        });
        samples.push(SampleInfo {
            file: row.file,
            status,
        });
    }
    Ok((predictions, samples))
}

/// The latest `pseudo_labels_round_NNN.csv` of a run: `(round, path)`.
pub fn latest_pseudo_csv(run_dir: &Path) -> Option<(usize, PathBuf)> {
    std::fs::read_dir(run_dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n = name
                .strip_prefix("pseudo_labels_round_")?
                .strip_suffix(".csv")?
                .parse()
                .ok()?;
            Some((n, e.path()))
        })
        .max_by_key(|(n, _)| *n)
}

/// The data root of a run: as written in its config, else relative to the folder holding the
/// runs folder (where training was started).
pub fn resolve_data_root(run_dir: &Path, data: &Path) -> Option<PathBuf> {
    let mut candidates = vec![data.to_path_buf()];
    if data.is_relative()
        && let Some(base) = run_dir.parent().and_then(Path::parent)
    {
        candidates.push(base.join(data));
    }
    candidates.into_iter().find(|p| p.join("train").is_dir())
}

fn load_images(run_dir: &Path, cfg: Option<&TrainConfig>) -> Result<PoolImages, String> {
    let cfg = cfg.ok_or("images not shown: config.toml cannot be read")?;
    let root = resolve_data_root(run_dir, &cfg.data).ok_or_else(|| {
        format!(
            "images not shown: data root {} not found",
            cfg.data.display()
        )
    })?;
    let loaded = load_dataset(&DatasetOptions {
        root: root.clone(),
        channels: cfg.channels,
        size: cfg.image_size.map(|[h, w]| (h, w)),
        on_bad_image: crate::data::BadImagePolicy::Skip,
        resize: cfg.resize,
    })
    .map_err(|e| format!("images not shown: {e}"))?;
    Ok(PoolImages::loaded(loaded.unlabeled))
}

/// Follows a run directory, sending what it reads, until `stop` is set or the run has ended
/// and everything was read.
fn follow(
    run_dir: PathBuf,
    plan: Option<Plan>,
    legacy_policy: Option<PolicySpec>,
    tx: Sender<Feed>,
    stop: Arc<AtomicBool>,
) {
    let metrics = run_dir.join(files::METRICS);
    let mut replayer = Replayer::new(plan);
    replayer.legacy_policy = legacy_policy;
    let mut offset: u64 = 0;
    let mut partial = String::new();
    let mut csv_seen: Option<(usize, Option<SystemTime>)> = None;
    while !stop.load(Ordering::SeqCst) {
        // New complete lines of metrics.jsonl.
        if let Ok(mut file) = std::fs::File::open(&metrics) {
            let mut bytes = Vec::new();
            if file.seek(SeekFrom::Start(offset)).is_ok() && file.read_to_end(&mut bytes).is_ok() {
                offset += bytes.len() as u64;
                partial.push_str(&String::from_utf8_lossy(&bytes));
                while let Some(end) = partial.find('\n') {
                    let line: String = partial.drain(..=end).collect();
                    match replayer.line(&line) {
                        Ok(updates) => {
                            for u in updates {
                                if tx.send(Feed::Update(Box::new(u))).is_err() {
                                    return;
                                }
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Feed::Problem(format!("metrics.jsonl: {e}")));
                        }
                    }
                }
            }
        }
        // The latest round's predictions.
        if !replayer.classes.is_empty()
            && let Some((round, path)) = latest_pseudo_csv(&run_dir)
        {
            let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
            if csv_seen != Some((round, modified)) {
                match std::fs::read_to_string(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|t| parse_pseudo_csv(&t, &replayer.classes))
                {
                    Ok((predictions, samples)) => {
                        csv_seen = Some((round, modified));
                        let _ = tx.send(Feed::Predictions {
                            round,
                            predictions: Arc::new(predictions),
                            samples,
                        });
                    }
                    Err(e) => {
                        let _ = tx.send(Feed::Problem(format!("{}: {e}", path.display())));
                        csv_seen = Some((round, modified));
                    }
                }
            }
        }
        if replayer.ended && partial.is_empty() {
            return;
        }
        std::thread::sleep(POLL);
    }
}

/// Opens the read-only dashboard on a run directory until the user quits.
pub fn run_view(run_dir: &Path) -> anyhow::Result<()> {
    crate::tui::picture::check_variable()?;
    let metrics = run_dir.join(files::METRICS);
    if !metrics.is_file() {
        anyhow::bail!(
            "{} is not a run directory: {} is missing",
            run_dir.display(),
            files::METRICS
        );
    }
    let cfg = TrainConfig::from_toml_file(&run_dir.join(files::CONFIG)).ok();
    let plan = cfg.as_ref().map(Plan::from);
    // Runs recorded before `RunInfo` announced the policy: the one their configuration names.
    let legacy_policy = cfg.as_ref().map(PolicySpec::from_config);
    let (tx, rx) = crossbeam_channel::unbounded();
    let stop = Arc::new(AtomicBool::new(false));
    let follower = {
        let (dir, tx, stop) = (run_dir.to_path_buf(), tx.clone(), stop.clone());
        std::thread::Builder::new()
            .name("selftrain-view".into())
            .spawn(move || follow(dir, plan, legacy_policy, tx, stop))
            .context("starting the file follower")?
    };
    {
        let dir = run_dir.to_path_buf();
        std::thread::Builder::new()
            .name("selftrain-images".into())
            .spawn(move || {
                let _ = tx.send(Feed::Images(load_images(&dir, cfg.as_ref())));
            })
            .context("starting the image loader")?;
    }
    let mut app = App::new(Mode::ReadOnly);
    app.source = Some(run_dir.display().to_string());
    let result = {
        let mut guard = TerminalGuard::enter()?;
        app.graphics = crate::tui::picture::Graphics::detect();
        let input = InputThread::spawn();
        let r = event_loop(
            &mut guard.terminal,
            &mut app,
            &rx,
            apply,
            None,
            &input.events,
        );
        input.stop();
        r
    };
    stop.store(true, Ordering::SeqCst);
    let _ = follower.join();
    result.map(|_| ())
}

#[cfg(test)]
mod tests;
