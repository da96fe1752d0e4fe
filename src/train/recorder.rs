//! The recorder: every update goes to front-ends and to `metrics.jsonl`; applied controls also
//! to `events.jsonl`. Live-only updates (progress) are published without being recorded.

use std::time::Instant;

use anyhow::Context;

use crate::run::{JsonlWriter, RunDir, files};
use crate::train::events::{AppliedControl, Update};
use crate::train::publisher::Publisher;

/// Publishes and logs the updates of a run.
pub struct Recorder<'p> {
    publisher: &'p mut Publisher,
    metrics: JsonlWriter,
    events: JsonlWriter,
    started: Instant,
}

/// Lengths of the logs, saved with a checkpoint so a resumed run can cut what came after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLengths {
    /// Bytes of `metrics.jsonl`.
    pub metrics: u64,
    /// Bytes of `events.jsonl`.
    pub events: u64,
}

impl<'p> Recorder<'p> {
    /// Opens the logs of `run_dir` for appending; with `resume_at`, first cuts them to those
    /// lengths (what was logged after the checkpoint is redone by the resumed run).
    pub fn open(
        run_dir: &RunDir,
        publisher: &'p mut Publisher,
        resume_at: Option<LogLengths>,
    ) -> anyhow::Result<Self> {
        if let Some(at) = resume_at {
            for (name, len) in [(files::METRICS, at.metrics), (files::EVENTS, at.events)] {
                let path = run_dir.file(name);
                if path.exists() {
                    crate::run::truncate_to(&path, len)
                        .with_context(|| format!("truncating {}", path.display()))?;
                }
            }
        }
        let open = |name: &str| {
            JsonlWriter::append(&run_dir.file(name))
                .with_context(|| format!("creating {}", run_dir.file(name).display()))
        };
        Ok(Self {
            metrics: open(files::METRICS)?,
            events: open(files::EVENTS)?,
            publisher,
            started: Instant::now(),
        })
    }

    /// Seconds since this recorder (this session of the run) started.
    pub fn elapsed_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Publishes an update and records it in `metrics.jsonl`.
    pub fn emit(&mut self, update: Update) {
        #[derive(serde::Serialize)]
        struct Record<'a> {
            elapsed_secs: f64,
            #[serde(flatten)]
            update: &'a Update,
        }
        let record = Record {
            elapsed_secs: self.elapsed_secs(),
            update: &update,
        };
        if let Err(e) = self.metrics.write(&record) {
            eprintln!("warning: cannot write metrics.jsonl: {e}");
        }
        self.publisher.publish(update);
    }

    /// Records an applied (or refused) control in `events.jsonl`, then emits it.
    pub fn control(&mut self, applied: AppliedControl) {
        if let Err(e) = self.events.write(&applied) {
            eprintln!("warning: cannot write events.jsonl: {e}");
        }
        self.emit(Update::ControlApplied(applied));
    }

    /// Publishes a live-only update (not recorded).
    pub fn publish_live(&mut self, update: Update) {
        self.publisher.publish(update);
    }

    /// Delivers what the publisher holds back, as far as the channel has room.
    pub fn flush(&mut self) {
        self.publisher.flush();
    }

    /// Current lengths of the logs.
    pub fn lengths(&self) -> anyhow::Result<LogLengths> {
        Ok(LogLengths {
            metrics: self.metrics.len()?,
            events: self.events.len()?,
        })
    }

    /// Flushes both logs to disk.
    pub fn sync(&mut self) {
        let _ = self.metrics.sync();
        let _ = self.events.sync();
    }
}
