//! Checkpoint and resume: the resumable state of a run as one serialisable struct
//! ([`RunState`], which the trainer owns and works on directly), the `resume.json` around it,
//! and the model and optimizer files it names.

use anyhow::Context;
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use burn::store::ModuleRecord;
use serde::{Deserialize, Serialize};

use crate::data::fingerprint::DataFingerprint;
use crate::model::{Classifier, ModelConfig};
use crate::run::{RunDir, files};
use crate::train::controls::ControlState;
use crate::train::pseudo_round::PseudoLabels;
use crate::train::selection::Selection;
use crate::train::timing::TimeBreakdown;

/// What a run does next, as saved with a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "snake_case")]
pub enum Position {
    /// Training epoch `epoch` of `round` (0 = warm-up) with `steps_done` batches already done.
    Epoch {
        /// Round (0 = warm-up).
        round: usize,
        /// Epoch, 1-based.
        epoch: usize,
        /// Batches of that epoch already done.
        steps_done: usize,
    },
    /// Start of round `round`, before its pseudo-labels are chosen.
    RoundStart {
        /// Round, 1-based.
        round: usize,
    },
    /// The run finished: nothing left to do.
    Done,
}

/// Everything beyond the model, the optimizer and the logs that a resumed run needs. The
/// trainer keeps its state in this struct, so a checkpoint is a copy of it and a resume puts it
/// back whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// Where to continue.
    pub position: Position,
    /// Optimizer steps done.
    pub global_step: u64,
    /// Epochs completed (for progress).
    pub epochs_done: usize,
    /// Rounds completed.
    pub rounds_completed: usize,
    /// τ, λ, pause and the inspector's sample actions.
    pub controls: ControlState,
    /// The pseudo-labels in force.
    #[serde(flatten)]
    pub pseudo: PseudoLabels,
    /// Model selection and patience.
    #[serde(flatten)]
    pub selection: Selection,
    /// The pseudo-labelling policy's own state (absent in older checkpoints).
    #[serde(default)]
    pub labeller: serde_json::Value,
    /// Where the wall time went so far (absent in older checkpoints).
    #[serde(default)]
    pub time_breakdown: TimeBreakdown,
}

impl RunState {
    /// The state of a run that has not started, with the configured τ and λ.
    pub fn new(threshold: f32, pseudo_weight: f32) -> Self {
        Self {
            position: Position::Epoch {
                round: 0,
                epoch: 1,
                steps_done: 0,
            },
            global_step: 0,
            epochs_done: 0,
            rounds_completed: 0,
            controls: ControlState::new(threshold, pseudo_weight),
            pseudo: PseudoLabels::default(),
            selection: Selection::default(),
            labeller: serde_json::Value::Null,
            time_breakdown: TimeBreakdown::default(),
        }
    }
}

/// `resume.json`: the run state at a checkpoint and the files that go with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResumeState {
    /// Format of the file (absent = 1).
    #[serde(default = "crate::run::legacy_format_version")]
    pub format_version: u32,
    /// The run state.
    #[serde(flatten)]
    pub run: RunState,
    /// Wall time spent before this checkpoint.
    pub wall_secs: f64,
    /// Length of metrics.jsonl at the checkpoint.
    pub metrics_len: u64,
    /// Length of events.jsonl at the checkpoint.
    pub events_len: u64,
    /// Model checkpoint file.
    pub model_file: String,
    /// Optimizer checkpoint file.
    pub optimizer_file: String,
    /// Checksum of `model_file` ([`crate::run::checksum`]; absent in older checkpoints, which
    /// resume unchecked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_checksum: Option<String>,
    /// Checksum of `optimizer_file` (absent in older checkpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer_checksum: Option<String>,
    /// The data the run trained on, compared with the current data on resume (absent in older
    /// checkpoints: no comparison).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_fingerprint: Option<DataFingerprint>,
}

impl ResumeState {
    /// Reads `resume.json` of a run directory; errors name the file.
    pub fn load(run_dir: &RunDir) -> anyhow::Result<Self> {
        let path = run_dir.file(files::RESUME);
        if !path.exists() {
            anyhow::bail!("{}: no checkpoint to resume from", path.display());
        }
        crate::run::read_versioned_json(&path)
            .with_context(|| format!("{}: not a valid resume state", path.display()))
    }

    /// Prepares the run state for continuing: refuses a finished run, checks the state against
    /// the data, and clears the transient control flags (stop, save, pause).
    pub fn into_run_state(
        self,
        run_dir: &RunDir,
        pool: usize,
        num_classes: usize,
    ) -> anyhow::Result<RunState> {
        if self.run.position == Position::Done {
            anyhow::bail!(
                "{}: this run already finished; nothing to resume",
                run_dir.path().display()
            );
        }
        self.run
            .pseudo
            .check(pool, num_classes)
            .map_err(|e| anyhow::anyhow!("{}: {e}", run_dir.file(files::RESUME).display()))?;
        let mut run = self.run;
        run.controls.stop_requested = false;
        run.controls.save_requested = false;
        run.controls.paused = false;
        Ok(run)
    }
}

/// Serialises a model's record.
pub fn model_bytes(model: &Classifier) -> anyhow::Result<Vec<u8>> {
    model
        .to_record()
        .into_bytes()
        .map_err(|e| anyhow::anyhow!("serializing model: {e}"))
        .map(|b| b.to_vec())
}

/// Writes a model file of the run directory.
pub fn write_model(run_dir: &RunDir, name: &str, model: &Classifier) -> anyhow::Result<()> {
    run_dir
        .write(name, &model_bytes(model)?)
        .with_context(|| format!("writing {}", run_dir.file(name).display()))
}

/// Reads file `name` of the run directory, checking it against its recorded checksum if any.
fn read_bytes(
    run_dir: &RunDir,
    name: &str,
    checksum: Option<&str>,
) -> anyhow::Result<burn::tensor::Bytes> {
    let path = run_dir.file(name);
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    if let Some(expected) = checksum {
        crate::run::verify_checksum(&path, &bytes, expected)?;
    }
    Ok(burn::tensor::Bytes::from_bytes_vec(bytes))
}

/// Loads model file `name` of the run directory into a fresh model of `config`, verifying the
/// file against `checksum` when one was recorded.
pub fn load_model(
    run_dir: &RunDir,
    name: &str,
    checksum: Option<&str>,
    config: &ModelConfig,
    device: &Device,
) -> anyhow::Result<Classifier> {
    let fail = |e: &dyn std::fmt::Display| anyhow::anyhow!("{}: {e}", run_dir.file(name).display());
    let record =
        ModuleRecord::from_bytes(read_bytes(run_dir, name, checksum)?).map_err(|e| fail(&e))?;
    config.init(device).try_load(record).map_err(|e| fail(&e))
}

/// Loads optimizer file `name` of the run directory into `fresh`, verifying the file against
/// `checksum` when one was recorded.
pub fn load_optimizer(
    run_dir: &RunDir,
    name: &str,
    checksum: Option<&str>,
    fresh: ModuleOptimizer,
) -> anyhow::Result<ModuleOptimizer> {
    fresh
        .from_bytes(read_bytes(run_dir, name, checksum)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", run_dir.file(name).display()))
}

/// Saves `last.bpk` and a resumable checkpoint: `ckpt-STEP.bpk` (model), `ckpt-STEP.optim.bpk`
/// (optimizer) and `resume.json` naming them, written last, so a crash at any moment leaves a
/// consistent checkpoint. Older `ckpt-*` files are then removed. `state`'s file names and
/// checksums are set here.
pub fn save(
    run_dir: &RunDir,
    model: &Classifier,
    optimizer: &ModuleOptimizer,
    mut state: ResumeState,
) -> anyhow::Result<()> {
    let model_bytes = model_bytes(model)?;
    let optim_bytes = optimizer
        .into_bytes()
        .map_err(|e| anyhow::anyhow!("serializing optimizer: {e}"))?;
    let model_name = format!("ckpt-{:09}.bpk", state.run.global_step);
    let optim_name = format!("ckpt-{:09}.optim.bpk", state.run.global_step);
    for (name, bytes) in [
        (files::LAST, &model_bytes[..]),
        (model_name.as_str(), &model_bytes[..]),
        (optim_name.as_str(), &optim_bytes[..]),
    ] {
        run_dir
            .write(name, bytes)
            .with_context(|| format!("writing {}", run_dir.file(name).display()))?;
    }
    state.format_version = crate::run::FORMAT_VERSION;
    state.model_file = model_name.clone();
    state.optimizer_file = optim_name.clone();
    state.model_checksum = Some(crate::run::checksum(&model_bytes));
    state.optimizer_checksum = Some(crate::run::checksum(&optim_bytes));
    run_dir
        .write_json(files::RESUME, &state)
        .with_context(|| format!("writing {}", run_dir.file(files::RESUME).display()))?;
    if let Ok(entries) = std::fs::read_dir(run_dir.path()) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with("ckpt-") && name != model_name && name != optim_name {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden/run")
    }

    #[test]
    fn the_recorded_resume_state_still_loads() {
        let dir = RunDir::open(&fixture()).unwrap();
        let state = ResumeState::load(&dir).unwrap();
        assert_eq!(state.format_version, 1);
        assert_eq!(state.run.position, Position::Done);
        assert_eq!(state.run.global_step, 38);
        assert_eq!(state.run.pseudo.pseudo_labels.len(), 180);
        assert!(state.run.pseudo.pseudo_label_weights.is_empty());
        assert_eq!(state.run.pseudo.items()[0].weight, Some(1.0));
        assert_eq!(state.run.selection.best_round, 2);
        assert!(state.run.selection.has_best);
        assert_eq!(state.run.labeller, serde_json::Value::Null);
        assert_eq!(state.model_file, "ckpt-000000038.bpk");
        assert_eq!(
            state.model_checksum, None,
            "older checkpoints have no checksum"
        );
        assert_eq!(state.data_fingerprint, None);
        let err = format!("{:#}", state.into_run_state(&dir, 2000, 10).unwrap_err());
        assert!(err.contains("already finished"), "{err}");
    }

    #[test]
    fn resume_state_round_trips_and_a_newer_format_is_refused() {
        let dir = std::env::temp_dir().join(format!("selftrain-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let run_dir = RunDir::open(&dir).unwrap();
        let mut run = RunState::new(0.8, 1.0);
        run.position = Position::RoundStart { round: 2 };
        run.pseudo.pseudo_labels = vec![(3, 1)];
        run.pseudo.pseudo_label_weights = vec![0.5];
        run.selection.top_val_accuracy = Some(0.75);
        run.labeller = serde_json::json!({"seen": [1, 2]});
        let state = ResumeState {
            format_version: crate::run::FORMAT_VERSION,
            run,
            wall_secs: 1.5,
            metrics_len: 10,
            events_len: 0,
            model_file: "m".into(),
            optimizer_file: "o".into(),
            model_checksum: Some("fnv1a64:0123456789abcdef".into()),
            optimizer_checksum: None,
            data_fingerprint: None,
        };
        run_dir.write_json(files::RESUME, &state).unwrap();
        assert_eq!(ResumeState::load(&run_dir).unwrap(), state);
        let mut newer = serde_json::to_value(&state).unwrap();
        newer["format_version"] = serde_json::json!(crate::run::FORMAT_VERSION + 1);
        run_dir.write_json(files::RESUME, &newer).unwrap();
        let err = format!("{:#}", ResumeState::load(&run_dir).unwrap_err());
        assert!(
            err.contains("resume.json") && err.contains("newer"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        let err = format!("{:#}", ResumeState::load(&run_dir).unwrap_err());
        assert!(err.contains("no checkpoint to resume from"), "{err}");
    }
}
