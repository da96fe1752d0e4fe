//! `selftrain cv`: the folds of [`crate::experiments::cv::run_cv`], each run headless in its
//! own locked run directory, under the one Ctrl-C path.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Context;

use super::signal::StopSignal;
use crate::cli::CvArgs;
use crate::config::TrainConfig;
use crate::device::{self, DeviceSpec};
use crate::headless::{HeadlessOptions, run_headless};
use crate::run::{RunDir, RunLock, StopReason};
use crate::train::engine::{EngineInputs, spawn_with};
use crate::train::events::RunSummary;
use crate::train::prepare::PreparedData;

/// Runs the cross-validation; returns why it ended: [`StopReason::Stopped`] when a signal
/// stopped it (the folds done so far are saved), else the last fold's stop reason.
pub fn cv(args: CvArgs) -> anyhow::Result<StopReason> {
    if args.train.resume.is_some() {
        anyhow::bail!("--resume cannot be used with cv: resume a fold's run with `train --resume`");
    }
    let cfg = args.train.to_config()?;
    let spec = device::resolve(DeviceSpec::parse(&cfg.device)?)?;
    if args.folds < 2 {
        anyhow::bail!("--folds must be at least 2, got {}", args.folds);
    }
    let cv_dir = RunDir::create(&cfg.runs_dir)
        .with_context(|| format!("creating a run directory in {}", cfg.runs_dir.display()))?;
    let cv_path = cv_dir.path().to_path_buf();
    eprintln!(
        "{}-fold cross-validation of {} into {}",
        args.folds,
        cfg.data.display(),
        cv_path.display()
    );
    // Ctrl-C / SIGTERM stop the fold being trained (it saves a checkpoint) and the whole cv.
    let signal = StopSignal::install();
    signal.announce_on_stderr();
    let folds = args.folds;
    let mut last_reason = StopReason::Stopped;
    let mut run_fold = |i: usize,
                        cfg: TrainConfig,
                        data: Arc<PreparedData>,
                        run_dir: RunDir|
     -> anyhow::Result<Option<RunSummary>> {
        if signal.received() {
            return Ok(None);
        }
        let _lock = RunLock::acquire(run_dir.path())?;
        eprintln!(
            "fold {}/{folds}: {} labelled for training, {} held out",
            i + 1,
            data.train.len(),
            data.val.len()
        );
        let handle = spawn_with(
            EngineInputs {
                config: cfg,
                data,
                device: spec,
                run_dir,
            },
            None,
        );
        signal.watch(handle.controls.clone());
        let summary = run_headless(
            handle,
            HeadlessOptions {
                json: false,
                progress_bar: std::io::stderr().is_terminal(),
                quiet: true,
            },
        );
        signal.unwatch();
        let summary = summary?;
        last_reason = summary.stop_reason;
        Ok((!summary.stop_reason.is_interrupted()).then_some(summary))
    };
    let report = crate::experiments::cv::run_cv(&cfg, folds, spec, &cv_path, &mut run_fold)?;
    match report {
        Some(report) => {
            println!("{}", report.markdown());
            println!(
                "saved {} and {}",
                cv_path.join("cv.json").display(),
                cv_path.join("cv.md").display()
            );
            Ok(last_reason)
        }
        None => {
            eprintln!(
                "stopped: the folds finished so far are in {}",
                cv_path.join("cv.md").display()
            );
            Ok(StopReason::Stopped)
        }
    }
}
