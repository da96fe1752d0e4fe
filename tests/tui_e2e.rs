//! The real binary's dashboard, driven like a person would in tmux (120×40): change τ, pause,
//! open the inspector, accept a sample (acknowledged in the list and the event log), quit with
//! `q` `y`; then the screen and `events.jsonl` are checked. `selftrain view` of a run recorded
//! before runs announced their policy. Skipped (with a message) only when tmux is missing and
//! `CI` is unset.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// A tmux server on its own socket, killed when dropped.
struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    fn command(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    fn start(width: u16, height: u16, cwd: &Path, shell_command: &str) -> Self {
        // One server per test: tests run in parallel.
        static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let t = Self {
            socket: format!("selftrain-e2e-{}-{n}", std::process::id()),
            session: "dash".into(),
        };
        let status = t
            .command()
            .args(["-f", "/dev/null", "new-session", "-d", "-s", &t.session])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .arg("-c")
            .arg(cwd)
            .arg(shell_command)
            .status()
            .expect("running tmux");
        assert!(status.success(), "tmux new-session failed");
        t
    }

    fn send(&self, keys: &str) {
        let status = self
            .command()
            .args(["send-keys", "-t", &self.session, "-l", keys])
            .status()
            .unwrap();
        assert!(status.success(), "tmux send-keys {keys:?} failed");
    }

    /// Presses a named key (`Down`, `Right`…).
    fn key(&self, name: &str) {
        let status = self
            .command()
            .args(["send-keys", "-t", &self.session, name])
            .status()
            .unwrap();
        assert!(status.success(), "tmux send-keys {name} failed");
    }

    fn screen(&self) -> String {
        let out = self
            .command()
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn alive(&self) -> bool {
        self.command()
            .args(["has-session", "-t", &self.session])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    /// Polls the screen until `pred` holds; panics with the last screen after `timeout`.
    fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if pred(&screen) {
                // A capture can land while the terminal is half repainted (a colour picture is
                // many escape codes): look again a moment later and keep that one if it holds.
                std::thread::sleep(Duration::from_millis(250));
                let settled = self.screen();
                return if pred(&settled) { settled } else { screen };
            }
            if Instant::now() > deadline || !self.alive() {
                panic!("timed out waiting for {what}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn wait_exit(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.alive() {
            if Instant::now() > deadline {
                panic!("the dashboard did not exit; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").output();
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// The number after `marker` on the screen.
fn number_after(screen: &str, marker: &str) -> Option<usize> {
    let rest = &screen[screen.find(marker)? + marker.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn controls(events: &[serde_json::Value]) -> Vec<(String, &serde_json::Value)> {
    events
        .iter()
        .map(|e| (e["control"]["kind"].as_str().unwrap().to_string(), e))
        .collect()
}

/// Whether tmux can drive the test; without it the test is skipped outside CI.
fn tmux_or_skip() -> bool {
    if tmux_available() {
        return true;
    }
    if std::env::var_os("CI").is_none() {
        eprintln!("skipping the dashboard end-to-end test: tmux is not installed");
        return false;
    }
    panic!("tmux is required in CI (.ci/run installs it)");
}

#[test]
fn view_of_a_run_recorded_before_policies_were_announced() {
    if !tmux_or_skip() {
        return;
    }
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden/run");
    let dir = temp_dir("tui-e2e-view");
    let run = dir.join("runs").join("old");
    std::fs::create_dir_all(&run).unwrap();
    for entry in std::fs::read_dir(&golden).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), run.join(entry.file_name())).unwrap();
    }
    let command = format!(
        "'{}' view '{}'; sleep 30",
        env!("CARGO_BIN_EXE_selftrain"),
        run.display()
    );
    let tmux = Tmux::start(120, 40, &dir, &command);
    let long = Duration::from_secs(30);
    // The policy comes from the run's configuration (its `Started` line names none), so the
    // what-if line at the round's τ is the round's own decision.
    let screen = tmux.wait_for("the replayed run", long, |s| {
        s.contains("READ-ONLY") && s.contains("what-if τ 0.70")
    });
    assert!(
        screen.contains("round 2 · τ 0.70 · class-balanced"),
        "{screen}"
    );
    let accepted = number_after(&screen, "accepted ").expect("the round's accepted count");
    assert_eq!(
        number_after(&screen, "what-if τ 0.70: "),
        Some(accepted),
        "{screen}"
    );
    tmux.send("i");
    tmux.wait_for("the inspector", long, |s| {
        s.contains("Sample #") && s.contains("rejected in round 2")
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dashboard_changes_tau_accepts_a_sample_and_quits() {
    if !tmux_or_skip() {
        return;
    }
    let data = sample_data();
    assert!(
        data.join("train").is_dir(),
        "{} holds no train/ folder",
        data.display()
    );
    let dir = temp_dir("tui-e2e");
    let runs = dir.join("runs");
    let exit_file = dir.join("exit_code");
    let command = format!(
        "'{}' train --data '{}' --runs-dir '{}' --warmup-epochs 10 --epochs-per-round 30 \
         --rounds 3 --patience 0 --threshold 0.5 --lr-schedule constant --seed 0 \
         --pseudo-policy class-balanced 2>'{}'; \
         echo $? >'{}'",
        env!("CARGO_BIN_EXE_selftrain"),
        data.display(),
        runs.display(),
        dir.join("stderr").display(),
        exit_file.display()
    );
    let tmux = Tmux::start(120, 40, &dir, &command);
    let long = Duration::from_secs(60);

    // The dashboard is up once the run has started.
    tmux.wait_for("the dashboard", long, |s| {
        s.contains("selftrain") && s.contains("τ 0.50")
    });

    // τ up three times: shown pending, then acknowledged by the trainer.
    tmux.send("]");
    tmux.send("]");
    tmux.send("]");
    let screen = tmux.wait_for("τ 0.53 acknowledged", long, |s| {
        s.contains("τ 0.53 ·") && !s.contains("pending")
    });
    assert!(screen.contains("τ set to 0.53"), "{screen}");

    // Round 1's predictions arrive while training goes on; pause to inspect calmly.
    tmux.wait_for("round 1 training", long, |s| {
        s.contains("round 1 of 3: training")
    });
    tmux.send("p");
    tmux.wait_for("the pause", long, |s| s.contains("PAUSED"));

    // The inspector: rejected samples nearest τ first; accept the first one.
    tmux.send("i");
    // The action line is the detail panel's last: the whole panel has been drawn.
    let screen = tmux.wait_for("the inspector", long, |s| {
        s.contains("Rejected") && s.contains("Sample #") && s.contains("a: accept as")
    });
    assert!(screen.contains("nearest τ first"), "{screen}");
    // Why it was left out: the engine's own reason, recorded with the round.
    assert!(
        screen.contains("its class's quota of") || screen.contains("confidence below its"),
        "{screen}"
    );
    let index = number_after(&screen, "Sample #").expect("selected sample index");
    tmux.send("a");
    // `✓ accepted` in the list's `you` column: the trainer acknowledged the action (before
    // that the column reads `… accept`).
    tmux.wait_for("the acceptance acknowledged", long, |s| {
        s.contains("✓ accepted")
    });
    // Back on the dashboard (the key also clears the `sent: …` feedback), the event log holds
    // the line written only when the trainer reports the control applied.
    tmux.send("i");
    let logged = format!("sample #{index} accepted as `");
    let screen = tmux.wait_for("the acceptance in the event log", long, |s| {
        s.contains("Events") && s.contains(&logged)
    });
    assert!(!screen.contains("sent: "), "{screen}");

    // A class's own threshold: focus the pseudo-label panel, pick the second class, one step
    // up from the τ the round applied to it (0.53); shown `*`, logged once acknowledged.
    tmux.send("4");
    tmux.key("Down");
    tmux.key("Right");
    let screen = tmux.wait_for("the class threshold in the event log", long, |s| {
        s.lines()
            .any(|l| l.contains('│') && l.contains("τ of `") && l.contains("set to 0.54"))
    });
    assert!(screen.contains("τ0.54*"), "{screen}");
    assert!(screen.contains("+1 class τ"), "{screen}");

    // Quit: asks, then stops (checkpoint) and leaves once the trainer has finished.
    tmux.send("q");
    tmux.wait_for("the quit question", long, |s| {
        s.contains("Stop training and quit?")
    });
    tmux.send("y");
    tmux.wait_exit(long);
    let code = std::fs::read_to_string(&exit_file).unwrap_or_default();
    let stderr = std::fs::read_to_string(dir.join("stderr")).unwrap_or_default();
    assert_eq!(code.trim(), "130", "stopped by the user; stderr:\n{stderr}");

    // events.jsonl holds the actions, in order, at the steps they were applied.
    let run = only_run_dir(&runs);
    let events = read_jsonl(&run.join("events.jsonl"));
    let got = controls(&events);
    let kinds: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "set_threshold",
            "set_threshold",
            "set_threshold",
            "pause",
            "accept_sample",
            "set_class_threshold",
            "stop"
        ],
        "{events:#?}"
    );
    for (i, value) in [0.51, 0.52, 0.53].iter().enumerate() {
        let v = got[i].1["control"]["value"].as_f64().unwrap();
        assert!((v - value).abs() < 1e-4, "{v} != {value}");
    }
    let class = &got[5].1["control"];
    assert_eq!(class["class"], 1, "{events:#?}");
    assert!(
        (class["value"].as_f64().unwrap() - 0.54).abs() < 1e-4,
        "{class}"
    );
    assert!(events.iter().all(|e| e["error"].is_null()), "{events:#?}");
    let steps: Vec<u64> = events
        .iter()
        .map(|e| e["global_step"].as_u64().unwrap())
        .collect();
    assert!(steps.windows(2).all(|w| w[0] <= w[1]), "{steps:?}");
    let (pause, accept, stop) = (got[3].1, got[4].1, got[5].1);
    assert_eq!(pause["round"], 1);
    assert_eq!(accept["round"], 1);
    assert_eq!(
        accept["global_step"], pause["global_step"],
        "no training step while paused"
    );
    assert_eq!(stop["global_step"], pause["global_step"]);
    assert_eq!(accept["control"]["index"].as_u64().unwrap() as usize, index);

    // The accepted sample was a rejected one of round 1, accepted with its predicted class.
    let class = accept["control"]["class"].as_u64().unwrap() as usize;
    let info = read_jsonl(&run.join("metrics.jsonl"))
        .into_iter()
        .find(|m| m["type"] == "started")
        .unwrap();
    let class_name = info["classes"][class].as_str().unwrap().to_string();
    let csv = std::fs::read_to_string(run.join("pseudo_labels_round_001.csv")).unwrap();
    let row = csv
        .lines()
        .find(|l| l.starts_with(&format!("{index},")))
        .expect("the sample's row");
    let fields: Vec<&str> = row.split(',').collect();
    assert_eq!(fields[2], class_name, "{row}");
    assert_eq!(fields[7], "rejected", "{row}");

    // The same controls are in metrics.jsonl, and the run ended as stopped with a checkpoint.
    let applied = read_jsonl(&run.join("metrics.jsonl"))
        .into_iter()
        .filter(|m| m["type"] == "control_applied")
        .count();
    assert_eq!(applied, events.len());
    assert_eq!(
        read_json(&run.join("summary.json"))["stop_reason"],
        "stopped"
    );
    assert!(run.join("last.bpk").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
