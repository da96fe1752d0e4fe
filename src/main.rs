//! The `selftrain` command.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use selftrain::cli::{
    BenchArgs, BenchDashboardArgs, BenchScaleArgs, Cli, Command, CvArgs, ImportCommand,
    PredictArgs, ReportArgs, SummarizeArgs, TrainArgs, ViewArgs,
};
use selftrain::data::ImageShape;
use selftrain::device::{self, DeviceSpec};
use selftrain::headless::{HeadlessOptions, run_headless};
use selftrain::run::RunDir;
use selftrain::train::engine::{EngineInputs, ResumeState, spawn_with};
use selftrain::train::{Control, prepare::prepare};

/// Exit code of a run stopped by the user or a signal (after saving a checkpoint).
const EXIT_STOPPED: u8 = 130;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => train(&cli.train),
        Some(Command::Train(args)) => train(&args),
        Some(Command::Import(ImportCommand::Idx(args))) => import_idx(args),
        Some(Command::Predict(args)) => predict(args),
        Some(Command::Bench(args)) => bench(args),
        Some(Command::BenchScale(args)) => bench_scale(args),
        Some(Command::View(args)) => view(args),
        Some(Command::BenchDashboard(args)) => bench_dashboard(args),
        Some(Command::Cv(args)) => cv(args),
        Some(Command::Summarize(args)) => summarize(args),
        Some(Command::Report(args)) => report(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn train(args: &TrainArgs) -> anyhow::Result<ExitCode> {
    let resume = args.resume_config()?;
    let cfg = match &resume {
        Some((cfg, _)) => cfg.clone(),
        None => args.to_config()?,
    };
    let spec = device::resolve(DeviceSpec::parse(&cfg.device)?)?;
    let (run_dir, state) = match &resume {
        Some((_, dir)) => {
            let run_dir = RunDir::open(dir)?;
            let state = ResumeState::load(&run_dir)?;
            (run_dir, Some(state))
        }
        None => (
            RunDir::create(&cfg.runs_dir).with_context(|| {
                format!("creating a run directory in {}", cfg.runs_dir.display())
            })?,
            None,
        ),
    };
    let data = prepare(&cfg)?;
    // The dashboard when stdout is a terminal, unless --headless or --json.
    let dashboard = !args.headless && !args.json && std::io::stdout().is_terminal();
    let options = selftrain::tui::DashboardOptions {
        exit_when_finished: false,
        policy: Some((&cfg).into()),
    };
    let handle = spawn_with(
        EngineInputs {
            config: cfg,
            data: data.clone(),
            device: spec,
            run_dir,
        },
        state,
    );
    // Ctrl-C / SIGTERM: ask the trainer to stop (it finishes the batch and saves a checkpoint);
    // a second signal exits at once. (In the dashboard, Ctrl-C arrives as a key instead.)
    let controls = handle.controls.clone();
    let signalled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = signalled.clone();
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, std::sync::atomic::Ordering::SeqCst) {
            selftrain::tui::terminal::restore();
            std::process::exit(EXIT_STOPPED as i32);
        }
        let _ = controls.send(Control::Stop);
        selftrain::tui::run::request_exit();
    });
    let summary = if dashboard {
        match selftrain::tui::run_dashboard(handle, data, options)? {
            Some(summary) => {
                println!("{}", selftrain::tui::run::summary_line(&summary));
                summary
            }
            None => {
                eprintln!(
                    "left before the trainer finished stopping; its checkpoint may be missing"
                );
                return Ok(ExitCode::from(EXIT_STOPPED));
            }
        }
    } else {
        let options = HeadlessOptions {
            json: args.json,
            progress_bar: std::io::stderr().is_terminal(),
            quiet: false,
        };
        run_headless(handle, options)?
    };
    if summary.stop_reason.is_interrupted() {
        return Ok(ExitCode::from(EXIT_STOPPED));
    }
    Ok(ExitCode::SUCCESS)
}

fn view(args: ViewArgs) -> anyhow::Result<ExitCode> {
    selftrain::tui::run_view(&args.run_dir)?;
    Ok(ExitCode::SUCCESS)
}

fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let written = selftrain::report::write_report(&args.run_dir, args.out.as_deref())?;
    for path in written {
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn bench_dashboard(args: BenchDashboardArgs) -> anyhow::Result<ExitCode> {
    let cfg = args.train.to_config()?;
    let spec = device::resolve(DeviceSpec::parse(&cfg.device)?)?;
    let data = prepare(&cfg)?;
    let [cols, rows] = args.terminal;
    let opts = selftrain::tui::bench::OverheadOptions {
        config: cfg,
        device: spec,
        repeats: args.repeats,
        size: (
            cols.min(u16::MAX as usize) as u16,
            rows.min(u16::MAX as usize) as u16,
        ),
    };
    let report = selftrain::tui::bench::run(&opts, data, |r| {
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
    Ok(ExitCode::SUCCESS)
}

fn import_idx(args: selftrain::cli::ImportIdxArgs) -> anyhow::Result<ExitCode> {
    let report = selftrain::data::idx::import_idx(&selftrain::data::idx::ImportOptions {
        images: args.images,
        labels: args.labels,
        test_images: args.test_images,
        test_labels: args.test_labels,
        out: args.out.clone(),
        labels_per_class: args.labels_per_class,
        unlabeled_per_class: args.unlabeled_per_class,
        test_per_class: args.test_per_class,
        seed: args.seed,
        class_names: args.class_names,
    })?;
    println!(
        "imported into {}: {} classes, {} labelled, {} unlabelled, {} test",
        args.out.display(),
        report.classes.len(),
        report.train,
        report.unlabeled,
        report.test
    );
    Ok(ExitCode::SUCCESS)
}

fn predict(args: PredictArgs) -> anyhow::Result<ExitCode> {
    let spec = device::resolve(DeviceSpec::parse(&args.device)?)?;
    let loaded =
        selftrain::predict::load_model(&args.run_dir, &args.checkpoint, device::burn_device(spec))?;
    let predictions = selftrain::predict::predict_files(&loaded, &args.images, args.batch_size)?;
    println!("file,class,confidence");
    for p in predictions {
        println!(
            "{},{},{:.6}",
            selftrain::run::csv_field(&p.file.display().to_string()),
            selftrain::run::csv_field(&p.class),
            p.confidence
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let spec = device::resolve(DeviceSpec::parse(&args.device)?)?;
    if args.batch_size == 0 {
        anyhow::bail!("--batch-size must be at least 1");
    }
    if args.size.iter().any(|&s| !(4..=1024).contains(&s)) {
        anyhow::bail!(
            "--size: each side must be within 4..=1024, got {}x{}",
            args.size[0],
            args.size[1]
        );
    }
    if args.channels != 1 && args.channels != 3 {
        anyhow::bail!("--channels must be 1 or 3, got {}", args.channels);
    }
    let report = selftrain::bench::run(&selftrain::bench::BenchOptions {
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
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(ExitCode::SUCCESS)
}

fn cv(args: CvArgs) -> anyhow::Result<ExitCode> {
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
    let current: std::sync::Arc<std::sync::Mutex<Option<crossbeam_channel::Sender<Control>>>> =
        Default::default();
    let signalled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let current = current.clone();
        let flag = signalled.clone();
        let _ = ctrlc::set_handler(move || {
            if flag.swap(true, std::sync::atomic::Ordering::SeqCst) {
                std::process::exit(EXIT_STOPPED as i32);
            }
            if let Some(tx) = current.lock().ok().and_then(|c| c.clone()) {
                let _ = tx.send(Control::Stop);
            }
        });
    }
    let folds = args.folds;
    let mut run_fold = |i: usize,
                        cfg: selftrain::config::TrainConfig,
                        data: std::sync::Arc<selftrain::train::prepare::PreparedData>,
                        run_dir: RunDir|
     -> anyhow::Result<Option<selftrain::train::events::RunSummary>> {
        if signalled.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(None);
        }
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
        *current.lock().expect("cv control lock") = Some(handle.controls.clone());
        let summary = run_headless(
            handle,
            HeadlessOptions {
                json: false,
                progress_bar: std::io::stderr().is_terminal(),
                quiet: true,
            },
        )?;
        *current.lock().expect("cv control lock") = None;
        Ok((!summary.stop_reason.is_interrupted()).then_some(summary))
    };
    match selftrain::experiments::cv::run_cv(&cfg, folds, spec, &cv_path, &mut run_fold)? {
        Some(report) => {
            println!("{}", report.markdown());
            println!(
                "saved {} and {}",
                cv_path.join("cv.json").display(),
                cv_path.join("cv.md").display()
            );
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!(
                "stopped: the folds finished so far are in {}",
                cv_path.join("cv.md").display()
            );
            Ok(ExitCode::from(EXIT_STOPPED))
        }
    }
}

fn summarize(args: SummarizeArgs) -> anyhow::Result<ExitCode> {
    use selftrain::experiments::summarize::{RunResult, aggregate, markdown_header, markdown_row};
    if args.header {
        println!("{}", markdown_header());
    }
    if args.run_dirs.is_empty() {
        if args.header {
            return Ok(ExitCode::SUCCESS);
        }
        anyhow::bail!("no run directory given");
    }
    let runs = args
        .run_dirs
        .iter()
        .map(|d| RunResult::load(d))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let label = args.label.unwrap_or_else(|| {
        selftrain::config::TrainConfig::from_toml_file(
            &args.run_dirs[0].join(selftrain::run::files::CONFIG),
        )
        .map(|c| c.data.display().to_string())
        .unwrap_or_else(|_| args.run_dirs[0].display().to_string())
    });
    let row = aggregate(&label, &runs);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&row)?);
    } else {
        println!("{}", markdown_row(&row));
    }
    Ok(ExitCode::SUCCESS)
}

fn bench_scale(args: BenchScaleArgs) -> anyhow::Result<ExitCode> {
    let spec = device::resolve(DeviceSpec::parse(&args.device)?)?;
    let report = selftrain::bench_scale::run(
        &selftrain::bench_scale::ScaleOptions {
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
        selftrain::run::atomic_write(out, format!("{json}\n").as_bytes())
            .with_context(|| format!("writing {}", out.display()))?;
    }
    println!("{json}");
    Ok(ExitCode::SUCCESS)
}
