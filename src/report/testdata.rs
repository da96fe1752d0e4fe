//! Hand-written `metrics.jsonl` lines shared by the report's tests.

pub fn report_json(acc: f64) -> serde_json::Value {
    serde_json::json!({
        "accuracy": acc, "macro_f1": acc,
        "per_class": [
            {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1},
            {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
        ],
        "confusion": {"counts": [[1, 0], [1, 0]]},
        "loss": 0.5
    })
}

pub fn eval_line(step: u64, round: usize, split: &str, acc: f64) -> String {
    serde_json::json!({
        "type": "evaluation", "global_step": step, "round": round, "epoch": 1,
        "split": split, "report": report_json(acc)
    })
    .to_string()
}

pub fn loss_line(step: u64, round: usize, sup: &str, pseudo: &str, total: &str) -> String {
    format!(
        r#"{{"elapsed_secs":{step}.5,"type":"loss","global_step":{step},"round":{round},"supervised":{sup},"pseudo":{pseudo},"total":{total}}}"#
    )
}

pub fn pseudo_line(round: usize, pool: usize, accepted: usize, acc: &str) -> String {
    format!(
        r#"{{"type":"pseudo_labels","round":{round},"threshold":0.9,"pseudo_weight":1.0,"pool_size":{pool},"accepted":{accepted},"newly_accepted":{accepted},"dropped":0,"accepted_per_class":[{accepted},0],"hist_accepted":{{"bins":[0]}},"hist_rejected":{{"bins":[0]}},"accepted_accuracy":{acc}}}"#
    )
}

/// Warm-up steps 1–3, round 1 steps 4–5 and round 2 step 6, with evaluations and checkpoints.
pub fn synthetic() -> String {
    [
        r#"{"type":"started","run_dir":"r","device":"flex","classes":["cat","dog"],"labeled":2,"validation":2,"test":2,"unlabeled":10,"labeled_per_class":[1,1],"pool_has_truth":true,"rounds":2,"threshold":0.9,"pseudo_weight":1.0}"#.to_string(),
        r#"{"type":"progress","whatever":true}"#.to_string(),
        loss_line(1, 0, "2.0", "null", "2.0"),
        loss_line(2, 0, "1.0", "null", "1.0"),
        loss_line(3, 0, "null", "null", "null"),
        eval_line(3, 0, "validation", 0.5),
        r#"{"type":"checkpoint","path":"best.bpk","reason":"best","global_step":3}"#.to_string(),
        eval_line(3, 0, "test", 0.4),
        pseudo_line(1, 10, 4, "0.75"),
        loss_line(4, 1, "0.8", "0.4", "1.2"),
        String::new(),
        loss_line(5, 1, "0.6", "0.2", "0.8"),
        eval_line(5, 1, "validation", 0.6),
        eval_line(5, 1, "test", 0.55),
        pseudo_line(2, 10, 5, "null"),
        loss_line(6, 2, "0.5", "0.1", "0.6"),
        r#"{"type":"some_future_kind","x":1}"#.to_string(),
    ]
    .join("\n")
        + "\n"
}
