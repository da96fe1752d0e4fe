//! The pool signals through the real binary: MC-dropout uncertainty for the `uncertainty`
//! policy and the outlier score for the outlier filter, recorded in the round CSVs.

mod common;

use std::path::Path;

use common::*;

/// The rows of a round CSV as (header, rows of fields); the sample data's file names hold no
/// commas, so a plain split is enough.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let split = |l: &str| l.split(',').map(str::to_string).collect::<Vec<_>>();
    let header = split(lines.next().unwrap());
    (header, lines.map(split).collect())
}

/// A one-round run on the sample data with `extra` flags; its first round's CSV.
fn run_one_round(name: &str, extra: &[&str]) -> (Vec<String>, Vec<Vec<String>>) {
    let runs = temp_dir(name);
    let mut args = small_budget(&runs);
    let rounds = args.iter().position(|a| a == "--rounds").unwrap();
    args[rounds + 1] = "1".into();
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = bin().args(&args).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let run = only_run_dir(&runs);
    let csv = read_csv(&run.join("pseudo_labels_round_001.csv"));
    let _ = std::fs::remove_dir_all(&runs);
    csv
}

fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("column {name} missing in {header:?}"))
}

#[test]
fn mc_dropout_passes_reject_unstable_predictions_as_uncertain() {
    let kappa = 0.02f32;
    let (header, rows) = run_one_round(
        "mc-dropout",
        &[
            "--pseudo-policy",
            "uncertainty",
            "--mc-passes",
            "4",
            "--uncertainty-kappa",
            &kappa.to_string(),
        ],
    );
    let [status, reason, uncertainty, outlier] =
        ["status", "reason", "uncertainty", "outlier"].map(|c| column(&header, c));
    assert_eq!(rows.len(), 2000, "one row per pool image");
    let mut uncertain = 0;
    for r in &rows {
        let u: f32 = r[uncertainty].parse().unwrap_or_else(|_| panic!("{r:?}"));
        assert!((0.0..=0.5).contains(&u), "{r:?}");
        assert_eq!(r[outlier], "", "no outlier score without the filter: {r:?}");
        if r[reason] == "uncertain" {
            uncertain += 1;
            // The file holds six decimals.
            assert!(u >= kappa - 1e-6, "rejected as uncertain at {u} < κ: {r:?}");
        }
        if r[status] == "accepted" {
            assert!(u <= kappa + 1e-6, "accepted at {u} > κ: {r:?}");
        }
    }
    assert!(
        uncertain > 0,
        "some confident predictions vary over the passes"
    );
}

#[test]
fn the_outlier_filter_takes_the_highest_scores_out() {
    let (header, rows) = run_one_round("outlier-filter", &["--outlier-filter", "0.1"]);
    let [reason, uncertainty, outlier] =
        ["reason", "uncertainty", "outlier"].map(|c| column(&header, c));
    let scores: Vec<f32> = rows
        .iter()
        .map(|r| r[outlier].parse().unwrap_or_else(|_| panic!("{r:?}")))
        .collect();
    assert!(
        scores.iter().all(|s| (0.0..=2.0).contains(s)),
        "cosine distances"
    );
    assert!(
        rows.iter().all(|r| r[uncertainty].is_empty()),
        "no MC passes"
    );
    let flagged: Vec<f32> = rows
        .iter()
        .zip(&scores)
        .filter(|(r, _)| r[reason] == "outlier")
        .map(|(_, s)| *s)
        .collect();
    assert_eq!(flagged.len(), 200, "10% of the 2000-image pool");
    let lowest_flagged = flagged.iter().copied().fold(f32::INFINITY, f32::min);
    let kept_highest = rows
        .iter()
        .zip(&scores)
        .filter(|(r, _)| r[reason] != "outlier")
        .map(|(_, s)| *s)
        .fold(f32::NEG_INFINITY, f32::max);
    assert!(
        lowest_flagged >= kept_highest,
        "flagged from {lowest_flagged}, kept up to {kept_highest}"
    );
}
