//! `selftrain bench-dashboard`: what the dashboard costs the trainer. The same training run is
//! done headless and with the dashboard drawing into a pseudo-terminal (a real pty, drained by
//! a reader thread like a terminal emulator would), alternately, `repeats` times each; the
//! median training throughput of both is printed side by side.

use std::sync::Arc;

use anyhow::Context;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use serde::Serialize;

use super::stats::{CpuClock, cpu_secs, median};
use crate::config::TrainConfig;
use crate::device::DeviceSpec;
use crate::run::RunDir;
use crate::train::engine::{EngineInputs, spawn};
use crate::train::prepare::PreparedData;
use crate::tui::app::{App, Mode};
use crate::tui::images::PoolImages;
use crate::tui::run::{apply_update, event_loop};

/// Benchmark settings.
#[derive(Debug, Clone)]
pub struct OverheadOptions {
    /// Training configuration (the same for every run).
    pub config: TrainConfig,
    /// Device.
    pub device: DeviceSpec,
    /// Runs of each kind.
    pub repeats: usize,
    /// Pseudo-terminal size (columns, rows).
    pub size: (u16, u16),
}

/// One measured run.
#[derive(Debug, Clone, Serialize)]
pub struct ArmRun {
    /// `headless` or `dashboard`.
    pub arm: &'static str,
    /// Optimizer steps.
    pub global_steps: u64,
    /// Wall time of the run (trainer clock).
    pub wall_secs: f64,
    /// Training throughput: steps × batch size / wall time.
    pub images_per_sec: f64,
    /// Frames drawn (dashboard only).
    pub frames: u64,
    /// Bytes written to the terminal (dashboard only).
    pub terminal_bytes: u64,
    /// CPU seconds of the dashboard's thread (dashboard only, where the OS tells).
    pub ui_cpu_secs: f64,
    /// CPU seconds of the whole process during the run (where the OS tells).
    pub process_cpu_secs: f64,
}

/// The comparison.
#[derive(Debug, Clone, Serialize)]
pub struct OverheadReport {
    /// Every run, in the order done.
    pub runs: Vec<ArmRun>,
    /// Median throughput headless.
    pub headless_images_per_sec: f64,
    /// Median throughput with the dashboard.
    pub dashboard_images_per_sec: f64,
    /// Throughput lost to the dashboard, in percent of headless (negative: noise in its favour).
    pub overhead_percent: f64,
    /// Mean frames per second the dashboard drew.
    pub dashboard_frames_per_sec: f64,
    /// CPU time of the dashboard's thread in percent of the process's CPU time over the
    /// dashboard runs: what it takes from training when the trainer keeps every core busy
    /// (a figure that, unlike wall-clock throughput, does not depend on other load).
    pub dashboard_cpu_share_percent: f64,
    /// Pseudo-terminal size.
    pub terminal: String,
}

/// A pseudo-terminal: the master side (read by a drain thread) and the slave side (written by
/// the dashboard).
#[cfg(unix)]
fn open_pty(cols: u16, rows: u16) -> std::io::Result<(std::fs::File, std::fs::File)> {
    use std::ffi::CStr;
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::os::unix::fs::OpenOptionsExt;
    // SAFETY: plain libc calls on a descriptor we own; every result is checked.
    unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let master = std::fs::File::from_raw_fd(fd);
        if libc::grantpt(fd) != 0 || libc::unlockpt(fd) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut name = [0 as libc::c_char; 256];
        if libc::ptsname_r(fd, name.as_mut_ptr(), name.len()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let path = CStr::from_ptr(name.as_ptr()).to_string_lossy().into_owned();
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(path)?;
        let size = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        libc::ioctl(slave.as_raw_fd(), libc::TIOCSWINSZ, &size);
        Ok((master, slave))
    }
}

fn run_once(
    opts: &OverheadOptions,
    data: &Arc<PreparedData>,
    runs: &std::path::Path,
    dashboard: bool,
) -> anyhow::Result<ArmRun> {
    let run_dir = RunDir::create(runs)?;
    let process_cpu0 = cpu_secs(CpuClock::Process);
    let mut ui_cpu_secs = 0.0;
    let handle = spawn(EngineInputs {
        config: opts.config.clone(),
        data: data.clone(),
        device: opts.device,
        run_dir,
    });
    let mut frames = 0;
    let mut terminal_bytes = 0;
    if dashboard {
        let (cols, rows) = opts.size;
        #[cfg(unix)]
        let (writer, drain) = {
            use std::io::Read;
            let (mut master, slave) = open_pty(cols, rows).context("opening a pseudo-terminal")?;
            let drain = std::thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 16];
                let mut total = 0u64;
                while let Ok(n) = master.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    total += n as u64;
                }
                total
            });
            (slave, Some(drain))
        };
        #[cfg(not(unix))]
        let (writer, drain) = (std::io::sink(), None::<std::thread::JoinHandle<u64>>);
        let mut terminal = Terminal::with_options(
            ratatui::backend::CrosstermBackend::new(writer),
            TerminalOptions {
                viewport: Viewport::Fixed(Rect::new(0, 0, cols, rows)),
            },
        )?;
        let mut app = App::new(Mode::Live);
        app.exit_on_finish = true;
        app.set_images(PoolImages::live(data.clone()));
        let input = crossbeam_channel::never();
        let ui_cpu0 = cpu_secs(CpuClock::Thread);
        let stats = event_loop(
            &mut terminal,
            &mut app,
            &handle.updates,
            apply_update,
            Some(&handle.controls),
            &input,
        )?;
        ui_cpu_secs = cpu_secs(CpuClock::Thread) - ui_cpu0;
        frames = stats.frames;
        drop(terminal);
        if let Some(d) = drain {
            terminal_bytes = d.join().unwrap_or(0);
        }
    } else {
        for _ in handle.updates.iter() {}
    }
    let summary = handle
        .thread
        .join()
        .map_err(|_| anyhow::anyhow!("the training thread panicked"))??;
    let images = summary.global_steps as f64 * opts.config.batch_size as f64;
    Ok(ArmRun {
        arm: if dashboard { "dashboard" } else { "headless" },
        global_steps: summary.global_steps,
        wall_secs: summary.wall_secs,
        images_per_sec: images / summary.wall_secs.max(1e-9),
        frames,
        terminal_bytes,
        ui_cpu_secs,
        process_cpu_secs: cpu_secs(CpuClock::Process) - process_cpu0,
    })
}

/// Runs the comparison; `progress` is told about each run as it ends.
pub fn run(
    opts: &OverheadOptions,
    data: Arc<PreparedData>,
    mut progress: impl FnMut(&ArmRun),
) -> anyhow::Result<OverheadReport> {
    let runs =
        std::env::temp_dir().join(format!("selftrain-bench-dashboard-{}", std::process::id()));
    let mut all = Vec::new();
    let result = (|| {
        for i in 0..opts.repeats.max(1) {
            let order = if i % 2 == 0 {
                [false, true]
            } else {
                [true, false]
            };
            for dashboard in order {
                let r = run_once(opts, &data, &runs, dashboard)?;
                progress(&r);
                all.push(r);
            }
        }
        anyhow::Ok(())
    })();
    let _ = std::fs::remove_dir_all(&runs);
    result?;
    Ok(summarise(all, opts.size))
}

/// The comparison of measured runs (pure): median throughput of each arm, the dashboard's
/// overhead, frame rate and share of the process's CPU.
pub fn summarise(all: Vec<ArmRun>, (cols, rows): (u16, u16)) -> OverheadReport {
    let of = |arm: &str| -> Vec<f64> {
        all.iter()
            .filter(|r| r.arm == arm)
            .map(|r| r.images_per_sec)
            .collect()
    };
    let headless = median(&of("headless"));
    let dashboard = median(&of("dashboard"));
    let dash = || all.iter().filter(|r| r.arm == "dashboard");
    let frames: u64 = dash().map(|r| r.frames).sum();
    let secs: f64 = dash().map(|r| r.wall_secs).sum();
    let ui_cpu: f64 = dash().map(|r| r.ui_cpu_secs).sum();
    let process_cpu: f64 = dash().map(|r| r.process_cpu_secs).sum();
    OverheadReport {
        headless_images_per_sec: headless,
        dashboard_images_per_sec: dashboard,
        overhead_percent: if headless > 0.0 {
            (headless - dashboard) / headless * 100.0
        } else {
            0.0
        },
        dashboard_frames_per_sec: frames as f64 / secs.max(1e-9),
        dashboard_cpu_share_percent: if process_cpu > 0.0 {
            ui_cpu / process_cpu * 100.0
        } else {
            0.0
        },
        terminal: format!("{cols}x{rows}"),
        runs: all,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(arm: &'static str, images_per_sec: f64, frames: u64, ui: f64, process: f64) -> ArmRun {
        ArmRun {
            arm,
            global_steps: 100,
            wall_secs: 2.0,
            images_per_sec,
            frames,
            terminal_bytes: 0,
            ui_cpu_secs: ui,
            process_cpu_secs: process,
        }
    }

    #[test]
    fn the_comparison_uses_each_arms_median_and_the_dashboard_runs_totals() {
        let runs = vec![
            arm("headless", 1000.0, 0, 0.0, 4.0),
            arm("dashboard", 900.0, 40, 0.2, 4.0),
            arm("dashboard", 950.0, 60, 0.2, 4.0),
            arm("headless", 1010.0, 0, 0.0, 4.0),
            arm("headless", 5000.0, 0, 0.0, 4.0),
            arm("dashboard", 100.0, 20, 0.2, 4.0),
        ];
        let r = summarise(runs, (120, 40));
        // Medians: one outlier per arm does not move them.
        assert_eq!(r.headless_images_per_sec, 1010.0);
        assert_eq!(r.dashboard_images_per_sec, 900.0);
        assert!((r.overhead_percent - 110.0 / 1010.0 * 100.0).abs() < 1e-9);
        // 120 frames over 6 s of dashboard runs; 0.6 of 12 CPU seconds.
        assert!((r.dashboard_frames_per_sec - 20.0).abs() < 1e-9);
        assert!((r.dashboard_cpu_share_percent - 5.0).abs() < 1e-9);
        assert_eq!(r.terminal, "120x40");
        assert_eq!(r.runs.len(), 6);
    }

    #[test]
    fn no_runs_give_zeros_not_nan() {
        let r = summarise(Vec::new(), (80, 24));
        assert_eq!(r.overhead_percent, 0.0);
        assert_eq!(r.dashboard_frames_per_sec, 0.0);
        assert_eq!(r.dashboard_cpu_share_percent, 0.0);
    }
}
