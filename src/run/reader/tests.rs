use super::*;
use crate::run::StopReason;
use crate::train::controls::Control;
use crate::train::events::{Phase, Progress};

/// A run directory written before `format_version` existed (kept as a fixture).
fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden/run")
}

fn temp_run(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("selftrain-reader-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A copy of the golden run's JSON files, to alter.
fn golden_copy(name: &str) -> PathBuf {
    let dir = temp_run(name);
    for f in [
        files::METRICS,
        files::EVENTS,
        files::SUMMARY,
        files::MODEL,
        files::CONFIG,
    ] {
        std::fs::copy(golden().join(f), dir.join(f)).unwrap();
    }
    dir
}

const LOSS: &str = r#"{"elapsed_secs":1.5,"type":"loss","global_step":1,"round":0,"supervised":1.0,"pseudo":null,"total":1.0}"#;
const NAN_LOSS: &str = r#"{"elapsed_secs":2.5,"type":"loss","global_step":2,"round":0,"supervised":null,"pseudo":null,"total":null}"#;

#[test]
fn a_run_written_before_format_versions_reads_in_full() {
    let run = RunRecords::load(&golden()).unwrap();
    let summary = run.summary.as_ref().expect("the golden run finished");
    assert_eq!(summary.format_version, 1);
    assert_eq!(summary.stop_reason, StopReason::MaxRounds);
    assert_eq!(summary.rounds_completed, 2);
    let m = &run.metrics;
    assert!(!m.torn_last_line);
    assert_eq!(m.lines, 70);
    assert_eq!(m.records.len(), 70);
    assert_eq!(m.records[0].line, 1);
    assert_eq!(m.records[69].line, 70);
    let info = m.run_info().unwrap();
    assert_eq!((info.classes.len(), info.unlabeled), (10, 2000));
    // The baseline the engine recorded is the first warm-up test evaluation.
    assert_eq!(m.baseline_test(), summary.baseline_test.as_ref());
    assert!(matches!(
        m.updates().last(),
        Some(Update::Finished(s)) if s == summary
    ));
    let losses = m.updates().filter(|u| matches!(u, Update::Loss(_))).count();
    assert_eq!(losses, 38);
    let model = run.model().unwrap();
    assert_eq!(model.format_version, 1);
    assert_eq!(model.classes, info.classes);
    assert!(run.events().unwrap().is_empty());
    assert!(run.config_text().unwrap().unwrap().contains("threshold"));
}

#[test]
fn a_nan_loss_is_kept_as_nan() {
    let m = parse_metrics(format!("{LOSS}\n{NAN_LOSS}\n").as_bytes(), false).unwrap();
    assert_eq!(m.records.len(), 2);
    match &m.records[1].update {
        Update::Loss(l) => {
            assert_eq!(l.global_step, 2);
            assert!(l.supervised.is_nan() && l.total.is_nan());
            assert_eq!(l.pseudo, None);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(m.records[1].line, 2);
    assert_eq!(m.elapsed_secs, Some(2.5));
}

#[test]
fn a_refused_nan_control_is_kept() {
    let line = r#"{"type":"control_applied","control":{"kind":"set_threshold","value":null},"global_step":3,"round":1,"epoch":1,"time":"t","error":"threshold must be within [0, 1], got NaN"}"#;
    let m = parse_metrics(format!("{line}\n").as_bytes(), false).unwrap();
    match &m.records[0].update {
        Update::ControlApplied(AppliedControl {
            control: Control::SetThreshold { value },
            error: Some(_),
            ..
        }) => assert!(value.is_nan()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_torn_last_line_is_tolerated_only_when_allowed() {
    let torn = format!("{LOSS}\n\n{LOSS}\n{{\"type\":\"lo");
    let m = parse_metrics(torn.as_bytes(), true).unwrap();
    assert!(m.torn_last_line);
    assert_eq!((m.lines, m.records.len()), (2, 2));
    assert_eq!(m.records[1].line, 3, "blank lines still count");
    let e = parse_metrics(torn.as_bytes(), false).unwrap_err();
    assert_eq!(e.line, 4);
    // A complete bad last line is an error either way.
    let e = parse_metrics(format!("{LOSS}\nnope\n").as_bytes(), true).unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("not valid JSON"), "{e}");

    let dir = temp_run("torn");
    std::fs::write(dir.join(files::METRICS), &torn).unwrap();
    let run = RunRecords::load(&dir).unwrap();
    assert!(run.summary.is_none() && run.metrics.torn_last_line);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unknown_and_unrecorded_kinds_are_skipped_but_bad_records_are_errors() {
    let text = format!(
        "{{\"type\":\"some_future_kind\",\"elapsed_secs\":9.0}}\n{{\"type\":\"progress\",\"x\":1}}\n{LOSS}\n"
    );
    let m = parse_metrics(text.as_bytes(), false).unwrap();
    assert_eq!((m.lines, m.records.len()), (3, 1));
    assert_eq!(m.records[0].line, 3);
    assert_eq!(m.elapsed_secs, Some(1.5));

    let e = parse_metrics(b"{\"type\":\"loss\",\"global_step\":1}\n", false).unwrap_err();
    assert_eq!(e.line, 1);
    assert!(e.message.contains("not a valid metrics record"), "{e}");
    assert!(e.message.contains("missing field"), "{e}");
    let e = parse_metrics(b"{\"a\":1}\n", false).unwrap_err();
    assert!(e.message.contains("no `type`"), "{e}");
    let e = parse_metrics(b"[1,2]\n", false).unwrap_err();
    assert_eq!(e.line, 1);
    let e = parse_metrics(b"\xff\xfe\n", false).unwrap_err();
    assert!(e.message.contains("UTF-8"), "{e}");

    let dir = temp_run("bad-line");
    std::fs::write(dir.join(files::METRICS), format!("{LOSS}\n{{oops\n")).unwrap();
    let err = format!("{:#}", RunRecords::load(&dir).unwrap_err());
    assert!(
        err.contains("metrics.jsonl: line 2: not valid JSON"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_newer_format_version_is_refused_naming_the_file() {
    let dir = golden_copy("newer");
    let bump = |name: &str| {
        let path = dir.join(name);
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        v["format_version"] = serde_json::json!(crate::run::FORMAT_VERSION + 1);
        std::fs::write(&path, v.to_string()).unwrap();
    };
    bump(files::MODEL);
    let run = RunRecords::load(&dir).unwrap();
    let err = format!("{:#}", run.model().unwrap_err());
    assert!(
        err.contains("model.json: format_version 2 is newer"),
        "{err}"
    );

    bump(files::SUMMARY);
    for err in [
        RunRecords::load(&dir).unwrap_err(),
        RunRecords::load_finished(&dir).unwrap_err(),
    ] {
        let err = format!("{err:#}");
        assert!(
            err.contains("summary.json: format_version 2 is newer"),
            "{err}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn missing_files_are_named() {
    let dir = temp_run("missing");
    let err = format!("{:#}", RunRecords::load(&dir).unwrap_err());
    assert!(err.contains("metrics.jsonl: no such file"), "{err}");
    let err = format!("{:#}", RunRecords::load_finished(&dir).unwrap_err());
    assert!(err.contains("summary.json: no such file"), "{err}");
    let err = format!("{:#}", RunRecords::load(&dir.join("nope")).unwrap_err());
    assert!(err.contains("does not exist"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn events_read_back_with_a_torn_tail() {
    let dir = temp_run("events");
    std::fs::write(dir.join(files::METRICS), format!("{LOSS}\n")).unwrap();
    let applied = AppliedControl {
        control: Control::SetThreshold { value: 0.8 },
        global_step: 3,
        round: 1,
        epoch: 2,
        time: "2025-01-01T00:00:00+00:00".into(),
        error: None,
    };
    let line = serde_json::to_string(&applied).unwrap();
    std::fs::write(dir.join(files::EVENTS), format!("{line}\n{line}\n{{\"cont")).unwrap();
    let run = RunRecords::load(&dir).unwrap();
    assert_eq!(run.events().unwrap(), vec![applied.clone(), applied]);
    std::fs::write(dir.join(files::EVENTS), format!("{line}\n{{}}\n")).unwrap();
    let err = format!("{:#}", run.events().unwrap_err());
    assert!(
        err.contains("events.jsonl: line 2: not a valid control record"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Whether an update is recorded in `metrics.jsonl`. An exhaustive match: a new kind of update
/// does not compile until it is decided here (and in [`RECORDED_KINDS`]).
fn is_recorded(u: &Update) -> bool {
    match u {
        Update::Progress(_) => false,
        Update::Started(_)
        | Update::Loss(_)
        | Update::Evaluation(_)
        | Update::PseudoLabels(_)
        | Update::ControlApplied(_)
        | Update::Checkpoint { .. }
        | Update::RoundFinished { .. }
        | Update::Warning { .. }
        | Update::Finished(_)
        | Update::Failed { .. } => true,
    }
}

#[test]
fn recorded_kinds_are_the_update_tags_of_recorded_updates() {
    let mut examples: Vec<Update> = RunRecords::load(&golden())
        .unwrap()
        .metrics
        .updates()
        .cloned()
        .collect();
    examples.extend([
        Update::Progress(Progress {
            phase: Phase::Training,
            round: 1,
            total_rounds: 2,
            epoch: 1,
            total_epochs: 1,
            step: 1,
            total_steps: 2,
            global_step: 5,
            images_per_sec: f64::NAN,
            elapsed_secs: 1.0,
            fraction_done: 0.5,
        }),
        Update::ControlApplied(AppliedControl {
            control: Control::Pause,
            global_step: 1,
            round: 0,
            epoch: 1,
            time: String::new(),
            error: None,
        }),
        Update::Warning {
            message: "w".into(),
        },
        Update::Failed {
            message: "f".into(),
        },
    ]);
    let mut seen = std::collections::BTreeSet::new();
    for u in &examples {
        let value = serde_json::to_value(u).unwrap();
        let tag = value["type"].as_str().unwrap().to_string();
        assert_eq!(
            RECORDED_KINDS.contains(&tag.as_str()),
            is_recorded(u),
            "{tag}"
        );
        // Every recorded update reads back as itself; the others are skipped.
        let line = parse_metrics_line(&value.to_string()).unwrap().unwrap();
        let expected = is_recorded(u).then(|| u.clone());
        assert_eq!(line.update, expected, "{tag}");
        seen.insert(tag);
    }
    for kind in RECORDED_KINDS {
        assert!(seen.contains(*kind), "no example of {kind}");
    }
}
