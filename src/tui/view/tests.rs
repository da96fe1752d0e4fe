//! Replaying `metrics.jsonl`, reading the round CSVs and finding the data root.

use super::*;
use crate::tui::fixture;

#[test]
fn pseudo_csv_parses_into_predictions() {
    let classes: Vec<String> = ["cat", "dog"].iter().map(|s| s.to_string()).collect();
    let text = "index,file,predicted,confidence,runner_up,runner_up_confidence,truth,status\n\
                0,unlabeled/cat/a.png,cat,0.950000,dog,0.050000,cat,accepted\n\
                1,\"u/b,1.png\",dog,0.600000,cat,0.400000,,rejected\n\
                2,\"say \"\"hi\"\".png\",dog,0.700000,cat,0.300000,cat,excluded\n\
                3,u/d.png,cat,0.5";
    let (p, s) = parse_pseudo_csv(text, &classes).unwrap();
    assert_eq!(p.len(), 3, "the torn last line is left out");
    assert_eq!(p[0].top, vec![(0, 0.95), (1, 0.05)]);
    assert!(p[0].accepted && !p[1].accepted);
    assert_eq!(p[1].truth, None);
    assert_eq!(s[1].file, "u/b,1.png");
    assert_eq!(s[2].file, "say \"hi\".png");
    assert_eq!(s[2].status, SampleStatus::Excluded);
    assert_eq!(p[1].rejection, None, "files that predate reasons");
    let head = "index,file,predicted,confidence,runner_up,runner_up_confidence,truth,status\n";
    let err = parse_pseudo_csv(&format!("{head}0,f,bird,0.5,,,,rejected\n"), &classes);
    assert!(err.unwrap_err().contains("unknown class `bird`"));
    assert!(parse_pseudo_csv("h\n0,f,cat,0.5,,,,rejected\n", &classes).is_err());
}

#[test]
fn the_engines_weights_and_reasons_are_read() {
    use crate::train::pseudo::RejectReason;
    let classes: Vec<String> = ["cat", "dog"].iter().map(|s| s.to_string()).collect();
    let text = "index,file,predicted,confidence,runner_up,runner_up_confidence,truth,status,weight,reason\n\
                0,a.png,cat,0.950000,dog,0.050000,cat,rejected,0,over_quota\n\
                1,b.png,dog,0.900000,cat,0.100000,,accepted,1,\n";
    let (p, _) = parse_pseudo_csv(text, &classes).unwrap();
    assert_eq!(p[0].rejection, Some(RejectReason::OverQuota));
    assert_eq!((p[0].weight, p[1].weight), (0.0, 1.0));
    assert_eq!(p[1].rejection, None);
    assert_eq!((p[0].uncertainty, p[0].outlier), (None, None));
}

#[test]
fn the_pool_signals_are_read() {
    use crate::train::pseudo::RejectReason;
    let classes: Vec<String> = ["cat", "dog"].iter().map(|s| s.to_string()).collect();
    let text = "index,file,predicted,confidence,runner_up,runner_up_confidence,truth,status,weight,reason,uncertainty,outlier\n\
                0,a.png,cat,0.950000,dog,0.050000,cat,rejected,0,uncertain,0.200000,\n\
                1,b.png,dog,0.900000,cat,0.100000,,rejected,0,outlier,0.010000,0.600000\n";
    let (p, _) = parse_pseudo_csv(text, &classes).unwrap();
    assert_eq!(p[0].rejection, Some(RejectReason::Uncertain));
    assert_eq!((p[0].uncertainty, p[0].outlier), (Some(0.2), None));
    assert_eq!(p[1].rejection, Some(RejectReason::Outlier));
    assert_eq!((p[1].uncertainty, p[1].outlier), (Some(0.01), Some(0.6)));
}

#[test]
fn replay_synthesizes_progress_from_evaluations() {
    let plan = Plan {
        warmup_epochs: 2,
        epochs_per_round: 1,
        rounds: 2,
        batch_size: 10,
    };
    let mut r = Replayer::new(Some(plan));
    let mut all = Vec::new();
    for u in fixture::updates() {
        let mut v = serde_json::to_value(&u).unwrap();
        v["elapsed_secs"] = serde_json::json!(10.0);
        let line = serde_json::to_string(&v).unwrap();
        all.extend(r.line(&line).unwrap());
    }
    let progress: Vec<&Progress> = all
        .iter()
        .filter_map(|u| match u {
            Update::Progress(p) => Some(p),
            _ => None,
        })
        .collect();
    assert!(progress.len() >= 3);
    let last = progress.last().unwrap();
    assert_eq!(last.elapsed_secs, 10.0);
    assert!(last.fraction_done > 0.0 && last.fraction_done <= 1.0);
    assert_eq!(r.classes.len(), fixture::CLASSES.len());
    assert!(r.pseudo_round >= 1);
    assert!(r.line("").unwrap().is_empty());
    assert!(r.line("{\"type\":\"novel\"}").unwrap().is_empty());
    assert!(r.line("{not json").is_err());
}

#[test]
fn a_nan_loss_line_is_replayed_not_dropped() {
    let mut r = Replayer::new(None);
    let nan = r#"{"elapsed_secs":1.0,"type":"loss","global_step":7,"round":0,"supervised":null,"pseudo":null,"total":null}"#;
    let updates = r.line(nan).unwrap();
    match updates.as_slice() {
        [Update::Loss(l)] => {
            assert_eq!(l.global_step, 7);
            assert!(l.supervised.is_nan() && l.total.is_nan());
        }
        other => panic!("the NaN loss line was not replayed: {other:?}"),
    }
    // A NaN evaluation loss is kept too.
    let mut eval: serde_json::Value = serde_json::from_str(
        r#"{"type":"evaluation","global_step":7,"round":0,"epoch":1,"split":"test","report":{"accuracy":0.5,"macro_f1":0.5,"per_class":[],"confusion":{"counts":[]},"loss":null}}"#,
    )
    .unwrap();
    let updates = r.line(&eval.to_string()).unwrap();
    assert!(matches!(updates.as_slice(), [Update::Evaluation(e)] if e.report.loss.is_nan()));
    // A known kind with bad content is a problem naming the line, not silently dropped.
    eval["report"] = serde_json::json!(1);
    let err = r.line(&eval.to_string()).unwrap_err();
    assert!(
        err.starts_with("line 3: not a valid metrics record"),
        "{err}"
    );
}

#[test]
fn a_run_written_before_format_versions_replays() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden/run");
    let cfg = TrainConfig::from_toml_file(&golden.join(files::CONFIG)).unwrap();
    let mut r = Replayer::new(Some(Plan::from(&cfg)));
    let text = std::fs::read_to_string(golden.join(files::METRICS)).unwrap();
    let mut updates = Vec::new();
    for line in text.lines() {
        updates.extend(r.line(line).unwrap());
    }
    assert!(r.ended);
    assert_eq!(r.classes.len(), 10);
    assert_eq!(r.pseudo_round, 2);
    let losses = updates
        .iter()
        .filter(|u| matches!(u, Update::Loss(_)))
        .count();
    assert_eq!(losses, 38);
    match updates.last() {
        Some(Update::Finished(s)) => assert_eq!(s.format_version, 1),
        other => panic!("{other:?}"),
    }
    let (round, csv) = latest_pseudo_csv(&golden).unwrap();
    assert_eq!(round, 2);
    let (predictions, samples) =
        parse_pseudo_csv(&std::fs::read_to_string(csv).unwrap(), &r.classes).unwrap();
    assert_eq!((predictions.len(), samples.len()), (2000, 2000));
}

#[test]
fn data_root_is_found_next_to_the_runs_folder() {
    let base = std::env::temp_dir().join(format!("selftrain-view-{}", std::process::id()));
    let run = base.join("runs").join("r1");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::create_dir_all(base.join("mydata").join("train")).unwrap();
    assert_eq!(
        resolve_data_root(&run, Path::new("mydata")),
        Some(base.join("mydata"))
    );
    assert_eq!(resolve_data_root(&run, Path::new("nowhere")), None);
    std::fs::remove_dir_all(base).unwrap();
}
