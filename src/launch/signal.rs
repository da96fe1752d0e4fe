//! The one Ctrl-C / SIGTERM path of every command that trains (`train`, `cv`).
//!
//! The first signal asks the trainer being watched to stop (it finishes the batch and saves a
//! checkpoint) and asks a running dashboard to leave once it has; the commands then exit with
//! [`super::EXIT_STOPPED`]. A second signal exits at once, restoring the terminal first. In the
//! dashboard, Ctrl-C arrives as a key instead (raw mode), and the dashboard handles it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_channel::Sender;

use crate::train::Control;

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalAction {
    /// The first signal: the watched trainer was asked to stop.
    StopTrainer,
    /// A later signal: leave now.
    ExitNow,
}

/// Signals received so far and the trainer they go to.
#[derive(Debug, Default)]
struct Shared {
    received: AtomicBool,
    /// Print the acknowledgement on stderr (headless: no dashboard to show it).
    announce: AtomicBool,
    trainer: Mutex<Option<Sender<Control>>>,
}

/// What a headless run prints as soon as the first signal arrives.
pub const STOP_ACKNOWLEDGEMENT: &str =
    "stopping after this batch (a resumable checkpoint is saved); press Ctrl-C again to quit now";

impl Shared {
    fn acknowledgement(&self) -> Option<&'static str> {
        self.announce
            .load(Ordering::SeqCst)
            .then_some(STOP_ACKNOWLEDGEMENT)
    }

    fn on_signal(&self) -> SignalAction {
        if self.received.swap(true, Ordering::SeqCst) {
            return SignalAction::ExitNow;
        }
        if let Some(controls) = self.trainer.lock().ok().and_then(|t| t.clone()) {
            let _ = controls.send(Control::Stop);
        }
        SignalAction::StopTrainer
    }
}

/// The stop requests of this process: a handle to the signal handler.
#[derive(Debug, Clone, Default)]
pub struct StopSignal {
    shared: Arc<Shared>,
}

impl StopSignal {
    /// Installs the process's Ctrl-C / SIGTERM handler (the first call in a process wins; a
    /// handle is returned either way).
    pub fn install() -> Self {
        let signal = Self::default();
        let shared = signal.shared.clone();
        let _ = ctrlc::set_handler(move || match shared.on_signal() {
            SignalAction::StopTrainer => {
                if let Some(text) = shared.acknowledgement() {
                    eprintln!("{text}");
                }
                crate::tui::run::request_exit()
            }
            SignalAction::ExitNow => {
                crate::tui::terminal::restore();
                std::process::exit(i32::from(super::EXIT_STOPPED));
            }
        });
        signal
    }

    /// Acknowledges the first signal on stderr at once (headless runs; the trainer itself only
    /// answers at its next batch boundary).
    pub fn announce_on_stderr(&self) {
        self.shared.announce.store(true, Ordering::SeqCst);
    }

    /// Sends the next signal's stop request to this trainer.
    pub fn watch(&self, controls: Sender<Control>) {
        *self.shared.trainer.lock().expect("stop signal lock") = Some(controls);
    }

    /// No trainer to stop (between folds).
    pub fn unwatch(&self) {
        *self.shared.trainer.lock().expect("stop signal lock") = None;
    }

    /// Whether a stop was asked for.
    pub fn received(&self) -> bool {
        self.shared.received.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_signal_stops_the_watched_trainer_and_the_second_exits() {
        let signal = StopSignal::default();
        let (tx, rx) = crossbeam_channel::unbounded();
        signal.watch(tx);
        assert!(!signal.received());
        assert_eq!(signal.shared.on_signal(), SignalAction::StopTrainer);
        assert!(signal.received());
        assert!(matches!(rx.try_recv(), Ok(Control::Stop)));
        assert_eq!(signal.shared.on_signal(), SignalAction::ExitNow);
        assert!(rx.try_recv().is_err(), "one stop request only");
    }

    #[test]
    fn a_headless_stop_is_acknowledged_at_once() {
        let signal = StopSignal::default();
        assert_eq!(
            signal.shared.acknowledgement(),
            None,
            "the dashboard shows its own"
        );
        signal.announce_on_stderr();
        assert_eq!(signal.shared.on_signal(), SignalAction::StopTrainer);
        let text = signal.shared.acknowledgement().unwrap();
        assert!(text.contains("stopping after this batch"), "{text}");
    }

    #[test]
    fn a_signal_between_trainers_is_remembered() {
        let signal = StopSignal::default();
        let (tx, rx) = crossbeam_channel::unbounded();
        signal.watch(tx);
        signal.unwatch();
        assert_eq!(signal.shared.on_signal(), SignalAction::StopTrainer);
        assert!(rx.try_recv().is_err(), "no trainer was watched");
        // The next fold sees it before starting.
        assert!(signal.clone().received());
    }
}
