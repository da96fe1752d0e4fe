//! Terminal setup and restoration: raw mode and the alternate screen are entered by
//! [`TerminalGuard::enter`] and left when the guard drops, on error, on panic (a hook restores
//! the terminal, then runs the previous hook) and from signal handlers ([`restore`]).

use std::io::{Stdout, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::{cursor, execute, terminal};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// Whether the terminal is in dashboard mode (raw, alternate screen).
static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// Leaves raw mode and the alternate screen, and shows the cursor. Idempotent; safe to call
/// from a panic hook or a signal handler.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = terminal::disable_raw_mode();
        let mut out = std::io::stdout();
        let _ = execute!(out, terminal::LeaveAlternateScreen, cursor::Show);
        let _ = out.flush();
    }
}

/// Whether the dashboard currently owns the terminal.
pub fn is_active() -> bool {
    ACTIVE.load(Ordering::SeqCst)
}

/// Name of the trainer thread: its panics leave the terminal to the dashboard, which shows the
/// failure and restores the terminal itself when the user leaves.
const TRAINER_THREAD: &str = "selftrain-trainer";

/// Installs (once) a panic hook that restores the terminal before the previous hook prints the
/// panic, so the message is readable and the shell usable.
pub fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() != Some(TRAINER_THREAD) {
                restore();
            }
            previous(info);
        }));
    });
}

/// Owns the terminal while the dashboard runs; restores it when dropped.
pub struct TerminalGuard {
    /// The ratatui terminal drawing to stdout.
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    /// Enters raw mode and the alternate screen, hides the cursor, installs the panic hook.
    pub fn enter() -> anyhow::Result<Self> {
        install_panic_hook();
        terminal::enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut out = std::io::stdout();
        if let Err(e) = execute!(out, terminal::EnterAlternateScreen, cursor::Hide) {
            restore();
            return Err(e.into());
        }
        match Terminal::new(CrosstermBackend::new(std::io::stdout())) {
            Ok(terminal) => Ok(Self { terminal }),
            Err(e) => {
                restore();
                Err(e.into())
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_hook_restores_the_terminal_except_for_trainer_panics() {
        install_panic_hook();
        ACTIVE.store(true, Ordering::SeqCst);
        let trainer = std::thread::Builder::new()
            .name(TRAINER_THREAD.into())
            .spawn(|| panic!("trainer failure (expected by the test)"))
            .unwrap();
        assert!(trainer.join().is_err());
        assert!(
            is_active(),
            "the dashboard keeps the terminal to show the failure"
        );
        let ui = std::thread::spawn(|| panic!("dashboard failure (expected by the test)"));
        assert!(ui.join().is_err());
        assert!(!is_active(), "restored before the panic message");
    }
}
