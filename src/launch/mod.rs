//! What the subcommands do. Starting a run lives here: the choice between a new run and a
//! resumed one, the run directory's lock, the one Ctrl-C path ([`signal`]), the front-end (the
//! dashboard or headless) and the exit code from the run's typed stop reason ([`exit_code`]).
//! Cross-validation runs its folds the same way ([`cv`]); the commands that do not train are in
//! [`commands`].

pub mod commands;
pub mod cv;
pub mod signal;

pub use cv::cv;
pub use signal::StopSignal;

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::TrainArgs;
use crate::config::TrainConfig;
use crate::device::{self, DeviceSpec};
use crate::headless::{HeadlessOptions, run_headless};
use crate::run::{RunDir, RunLock, StopReason};
use crate::train::engine::{EngineInputs, ResumeState, spawn_with};
use crate::train::prepare::prepare;

/// Exit code of a run stopped by the user or a signal (after saving a checkpoint): 128 + SIGINT,
/// as shells report a process ended by Ctrl-C.
pub const EXIT_STOPPED: u8 = 130;

/// The exit status of a command that trained, from why it stopped: [`EXIT_STOPPED`] when the
/// user stopped it (it can be resumed), 0 when it ended by itself. Errors exit with 1.
pub fn exit_status(reason: StopReason) -> u8 {
    if reason.is_interrupted() {
        EXIT_STOPPED
    } else {
        0
    }
}

/// [`exit_status`] as the process's exit code.
pub fn exit_code(reason: StopReason) -> ExitCode {
    ExitCode::from(exit_status(reason))
}

/// A run directory this process writes: locked for it, and with the checkpoint to continue from
/// when resumed.
pub struct OpenRun {
    /// The run directory.
    pub dir: RunDir,
    /// Held until the run is over (no other process writes the directory meanwhile).
    pub lock: RunLock,
    /// Where a resumed run continues from (None for a new run).
    pub resume: Option<ResumeState>,
}

impl OpenRun {
    /// Creates a new run directory under `runs_dir` and locks it before anything is written.
    pub fn create(runs_dir: &Path) -> anyhow::Result<Self> {
        let dir = RunDir::create(runs_dir)
            .with_context(|| format!("creating a run directory in {}", runs_dir.display()))?;
        let lock = RunLock::acquire(dir.path())?;
        Ok(Self {
            dir,
            lock,
            resume: None,
        })
    }

    /// Opens an existing run directory to continue it: locks it (failing at once while another
    /// process writes it), then reads its checkpoint.
    pub fn resume(path: &Path) -> anyhow::Result<Self> {
        let dir = RunDir::open(path)?;
        let lock = RunLock::acquire(dir.path())?;
        let resume = Some(ResumeState::load(&dir)?);
        Ok(Self { dir, lock, resume })
    }
}

/// `selftrain train`: a new run, or `--resume` of a stopped one, on the dashboard when stdout is
/// a terminal (unless `--headless` or `--json`), else headless. Returns why the run stopped.
pub fn train(args: &TrainArgs) -> anyhow::Result<StopReason> {
    let resume = args.resume_config()?;
    let cfg: TrainConfig = match &resume {
        Some((cfg, _)) => cfg.clone(),
        None => args.to_config()?,
    };
    let spec = device::resolve(DeviceSpec::parse(&cfg.device)?)?;
    if !args.headless && !args.json && std::io::stdout().is_terminal() {
        crate::tui::picture::check_variable()?;
    }
    let run = match &resume {
        Some((_, dir)) => OpenRun::resume(dir)?,
        None => OpenRun::create(&cfg.runs_dir)?,
    };
    let data = prepare(&cfg)?;
    let dashboard = !args.headless && !args.json && std::io::stdout().is_terminal();
    let options = crate::tui::DashboardOptions {
        exit_when_finished: false,
    };
    let handle = spawn_with(
        EngineInputs {
            config: cfg,
            data: data.clone(),
            device: spec,
            run_dir: run.dir,
        },
        run.resume,
    );
    let signal = StopSignal::install();
    signal.watch(handle.controls.clone());
    let reason = if dashboard {
        match crate::tui::run_dashboard(handle, data, options)? {
            Some(summary) => {
                println!("{}", crate::tui::run::summary_line(&summary));
                summary.stop_reason
            }
            None => {
                eprintln!(
                    "left before the trainer finished stopping; its checkpoint may be missing"
                );
                StopReason::Stopped
            }
        }
    } else {
        signal.announce_on_stderr();
        let options = HeadlessOptions {
            json: args.json,
            progress_bar: std::io::stderr().is_terminal(),
            quiet: false,
        };
        run_headless(handle, options)?.stop_reason
    };
    // A signal that came after the trainer stopped polling (while it wrote its summary) still
    // means the user stopped the run.
    let reason = if signal.received() {
        StopReason::Stopped
    } else {
        reason
    };
    drop(run.lock);
    Ok(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_stop_by_the_user_exits_with_130() {
        for reason in StopReason::ALL {
            let expected = if reason == StopReason::Stopped {
                130
            } else {
                0
            };
            assert_eq!(exit_status(reason), expected, "{reason}");
        }
    }
}
