//! The `selftrain` command: parses the flags and hands each subcommand to the library.

use std::process::ExitCode;

use clap::Parser;
use selftrain::bench::commands as bench;
use selftrain::cli::{Cli, Command, ImportCommand};
use selftrain::launch::{self, commands, exit_code};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let done = |()| ExitCode::SUCCESS;
    let result = match cli.command {
        None => launch::train(&cli.train).map(exit_code),
        Some(Command::Train(args)) => launch::train(&args).map(exit_code),
        Some(Command::Cv(args)) => launch::cv(args).map(exit_code),
        Some(Command::Import(ImportCommand::Idx(args))) => commands::import_idx(args).map(done),
        Some(Command::Predict(args)) => commands::predict(args).map(done),
        Some(Command::View(args)) => commands::view(args).map(done),
        Some(Command::Summarize(args)) => commands::summarize(args).map(done),
        Some(Command::Report(args)) => commands::report(args).map(done),
        Some(Command::Bench(args)) => bench::bench(args).map(done),
        Some(Command::BenchScale(args)) => bench::bench_scale(args).map(done),
        Some(Command::BenchDashboard(args)) => bench::bench_dashboard(args).map(done),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}
