//! The benchmark subcommands: flags in, progress on stderr, the report as JSON on stdout.

use anyhow::Context;

use super::{cnn, dashboard, scale};
use crate::cli::{BenchArgs, BenchDashboardArgs, BenchScaleArgs};
use crate::data::ImageShape;
use crate::device::{self, DeviceSpec};
use crate::train::prepare::prepare;

/// `selftrain bench`.
pub fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let spec = device::resolve(DeviceSpec::parse(&args.device)?)?;
    let opts = cnn::BenchOptions {
        device: spec,
        model: args.model,
        batch_size: args.batch_size,
        shape: ImageShape {
            channels: args.channels,
            height: args.size[0],
            width: args.size[1],
        },
        num_classes: 10,
        train_steps: args.train_steps,
        infer_batches: args.infer_batches,
    };
    opts.validate()?;
    let report = cnn::run(&opts);
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// `selftrain bench-scale`.
pub fn bench_scale(args: BenchScaleArgs) -> anyhow::Result<()> {
    let spec = device::resolve(DeviceSpec::parse(&args.device)?)?;
    let report = scale::run(
        &scale::ScaleOptions {
            data: args.data,
            pool_sizes: args.pool_sizes,
            device: spec,
            model: args.model,
            batch_size: args.batch_size,
            train_steps: args.train_steps,
            threshold: args.threshold,
            acceptance: args.acceptance,
            repeats: args.repeats,
            idx_dir: args.idx_dir,
            seed: args.seed,
        },
        |line| eprintln!("{line}"),
    )?;
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(out) = &args.out {
        crate::run::atomic_write(out, format!("{json}\n").as_bytes())
            .with_context(|| format!("writing {}", out.display()))?;
    }
    println!("{json}");
    Ok(())
}

/// `selftrain bench-dashboard`.
pub fn bench_dashboard(args: BenchDashboardArgs) -> anyhow::Result<()> {
    let cfg = args.train.to_config()?;
    let spec = device::resolve(DeviceSpec::parse(&cfg.device)?)?;
    let data = prepare(&cfg)?;
    let [cols, rows] = args.terminal;
    let opts = dashboard::OverheadOptions {
        config: cfg,
        device: spec,
        repeats: args.repeats,
        size: (
            cols.min(u16::MAX as usize) as u16,
            rows.min(u16::MAX as usize) as u16,
        ),
    };
    let report = dashboard::run(&opts, data, |r| {
        eprintln!(
            "{:<9} {:>6} steps in {:>7.2}s: {:>8.1} img/s{}",
            r.arm,
            r.global_steps,
            r.wall_secs,
            r.images_per_sec,
            if r.arm == "dashboard" {
                format!(
                    " ({} frames, {} KiB drawn, UI thread {:.2}s CPU of {:.1}s)",
                    r.frames,
                    r.terminal_bytes / 1024,
                    r.ui_cpu_secs,
                    r.process_cpu_secs
                )
            } else {
                String::new()
            }
        );
    })?;
    println!(
        "training throughput (median of {}): headless {:.1} img/s | dashboard {:.1} img/s ({} at {:.1} frames/s) | overhead {:.2}% (wall clock) | dashboard thread {:.2}% of the process CPU",
        opts.repeats.max(1),
        report.headless_images_per_sec,
        report.dashboard_images_per_sec,
        report.terminal,
        report.dashboard_frames_per_sec,
        report.overhead_percent,
        report.dashboard_cpu_share_percent
    );
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
