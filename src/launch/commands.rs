//! The subcommands that do not train: they read or write files and print what they did.

use crate::cli::{ImportIdxArgs, PredictArgs, ReportArgs, SummarizeArgs, ViewArgs};
use crate::device::{self, DeviceSpec};

/// `selftrain view`: the dashboard, read-only, on a run directory (no lock: it only reads).
pub fn view(args: ViewArgs) -> anyhow::Result<()> {
    crate::tui::run_view(&args.run_dir)?;
    Ok(())
}

/// `selftrain report`: charts and an HTML page; prints the files written.
pub fn report(args: ReportArgs) -> anyhow::Result<()> {
    let written = crate::report::write_report(&args.run_dir, args.out.as_deref())?;
    for path in written {
        println!("{}", path.display());
    }
    Ok(())
}

/// `selftrain import idx`: MNIST-format IDX files into the folder layout.
pub fn import_idx(args: ImportIdxArgs) -> anyhow::Result<()> {
    let report = crate::data::idx::import_idx(&crate::data::idx::ImportOptions {
        images: args.images,
        labels: args.labels,
        test_images: args.test_images,
        test_labels: args.test_labels,
        out: args.out.clone(),
        labels_per_class: args.labels_per_class,
        unlabeled_per_class: args.unlabeled_per_class,
        test_per_class: args.test_per_class,
        imbalance_ratio: args.imbalance_ratio,
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
    Ok(())
}

/// `selftrain predict`: classifies image files with a trained run; prints CSV.
pub fn predict(args: PredictArgs) -> anyhow::Result<()> {
    let spec = device::resolve(DeviceSpec::parse(&args.device)?)?;
    let loaded =
        crate::predict::load_model(&args.run_dir, &args.checkpoint, device::burn_device(spec))?;
    let predictions = crate::predict::predict_files(&loaded, &args.images, args.batch_size)?;
    println!("file,class,confidence");
    for p in predictions {
        println!(
            "{},{},{:.6}",
            crate::run::csv_field(&p.file.display().to_string()),
            crate::run::csv_field(&p.class),
            p.confidence
        );
    }
    Ok(())
}

/// `selftrain summarize`: one results-table row (markdown or JSON) from finished runs.
pub fn summarize(args: SummarizeArgs) -> anyhow::Result<()> {
    use crate::experiments::summarize::{
        RunResult, aggregate, aggregate_imbalance, imbalance_header, imbalance_row,
        markdown_header, markdown_row,
    };
    if args.header {
        match args.smallest_classes {
            Some(n) => println!("{}", imbalance_header(n)),
            None => println!("{}", markdown_header()),
        }
    }
    if args.run_dirs.is_empty() {
        if args.header {
            return Ok(());
        }
        anyhow::bail!("no run directory given");
    }
    let runs = args
        .run_dirs
        .iter()
        .map(|d| RunResult::load(d))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let label = args.label.unwrap_or_else(|| {
        crate::config::TrainConfig::from_toml_file(
            &args.run_dirs[0].join(crate::run::files::CONFIG),
        )
        .map(|c| c.data.display().to_string())
        .unwrap_or_else(|_| args.run_dirs[0].display().to_string())
    });
    match args.smallest_classes {
        Some(n) => print_row(
            &aggregate_imbalance(&label, &runs, n),
            args.json,
            imbalance_row,
        ),
        None => print_row(&aggregate(&label, &runs), args.json, markdown_row),
    }
}

/// Prints a results row as pretty JSON or as its markdown line.
fn print_row<R: serde::Serialize>(
    row: &R,
    json: bool,
    markdown: impl Fn(&R) -> String,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(row)?);
    } else {
        println!("{}", markdown(row));
    }
    Ok(())
}
