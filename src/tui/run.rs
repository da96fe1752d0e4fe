//! The dashboard's event loop: waits on trainer updates, terminal input and a tick together
//! (`crossbeam_channel::select!`), drains every pending update before drawing, redraws at most
//! [`FRAME`]-often and only when something changed, and never blocks the trainer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select};
use crossterm::event::Event;
use ratatui::Terminal;
use ratatui::backend::Backend;

use crate::train::Control;
use crate::train::engine::EngineHandle;
use crate::train::events::{RunSummary, Update};
use crate::train::prepare::PreparedData;
use crate::tui::app::{Action, App, Mode};
use crate::tui::images::PoolImages;
use crate::tui::layout;
use crate::tui::terminal::TerminalGuard;

/// Shortest time between two frames (at most 20 redraws a second).
pub const FRAME: Duration = Duration::from_millis(50);
/// Most updates applied in one go before the loop looks at input again.
pub const MAX_DRAIN: usize = 50_000;

/// How the dashboard behaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DashboardOptions {
    /// Leave as soon as the run finishes (no key needed); used by benchmarks.
    pub exit_when_finished: bool,
}

/// Counters of one event-loop run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopStats {
    /// Frames drawn.
    pub frames: u64,
    /// Updates (or feed items) applied.
    pub updates: u64,
}

/// Reads terminal events on a dedicated thread and forwards them into a channel.
pub struct InputThread {
    /// Terminal events.
    pub events: Receiver<Event>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    done: Receiver<()>,
}

impl InputThread {
    /// Starts reading.
    pub fn spawn() -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (done_tx, done) = crossbeam_channel::bounded(1);
        let handle = std::thread::Builder::new()
            .name("selftrain-input".into())
            .spawn(move || {
                let _done = DoneOnDrop(done_tx);
                while !flag.load(Ordering::SeqCst) {
                    match crossterm::event::poll(Duration::from_millis(100)) {
                        Ok(true) => match crossterm::event::read() {
                            Ok(ev) => {
                                if tx.send(ev).is_err() {
                                    break;
                                }
                            }
                            Err(_) => break,
                        },
                        Ok(false) => {}
                        Err(_) => break,
                    }
                }
            })
            .expect("spawn input thread");
        Self {
            events: rx,
            stop,
            handle: Some(handle),
            done,
        }
    }

    /// Stops reading and waits (briefly) for the thread. When the terminal has gone away
    /// (SIGHUP) a read can hang in the OS: the thread is then left behind rather than waited
    /// for, so the process can still exit.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            match self.done.recv_timeout(Duration::from_millis(500)) {
                Ok(()) | Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                    let _ = h.join();
                }
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            }
        }
    }
}

/// Signals the end of the input thread however it ends.
struct DoneOnDrop(crossbeam_channel::Sender<()>);

impl Drop for DoneOnDrop {
    fn drop(&mut self) {
        let _ = self.0.try_send(());
    }
}

impl Drop for InputThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Set by a signal handler (SIGTERM, SIGHUP when the terminal goes away): the dashboard leaves
/// as soon as the trainer has stopped, without waiting for a key.
static EXIT_REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks a running dashboard to leave once the trainer has stopped (safe in a signal handler
/// thread).
pub fn request_exit() {
    EXIT_REQUESTED.store(true, Ordering::SeqCst);
}

/// Runs the loop until the app asks to exit. `feed` carries what changes the state (trainer
/// updates, or file replays), applied with `apply`; controls from keys go to `controls`.
pub fn event_loop<B: Backend, F>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    feed: &Receiver<F>,
    mut apply: impl FnMut(&mut App, F),
    controls: Option<&Sender<Control>>,
    input: &Receiver<Event>,
) -> anyhow::Result<LoopStats> {
    let ticker = crossbeam_channel::tick(FRAME);
    let started = Instant::now();
    let never_feed = crossbeam_channel::never::<F>();
    let never_input = crossbeam_channel::never::<Event>();
    let mut feed_open = true;
    let mut input_open = true;
    let mut dirty = true;
    let mut clear = false;
    let mut last_draw: Option<Instant> = None;
    let mut stats = LoopStats::default();
    loop {
        if EXIT_REQUESTED.load(Ordering::SeqCst) && controls.is_some() {
            if feed_open {
                app.stopping = true;
            } else {
                app.exit = true;
            }
        }
        if app.exit {
            break;
        }
        if dirty && last_draw.is_none_or(|t| t.elapsed() >= FRAME) {
            if clear {
                terminal
                    .clear()
                    .map_err(|e| anyhow::anyhow!("clearing the terminal: {e}"))?;
                clear = false;
            }
            terminal
                .draw(|f| layout::draw(f, app))
                .map_err(|e| anyhow::anyhow!("drawing the dashboard: {e}"))?;
            stats.frames += 1;
            dirty = false;
            last_draw = Some(Instant::now());
        }
        let feed_rx = if feed_open { feed } else { &never_feed };
        let input_rx = if input_open { input } else { &never_input };
        select! {
            recv(feed_rx) -> msg => match msg {
                Ok(item) => {
                    apply(app, item);
                    stats.updates += 1;
                    for _ in 0..MAX_DRAIN {
                        match feed.try_recv() {
                            Ok(item) => {
                                apply(app, item);
                                stats.updates += 1;
                            }
                            Err(_) => break,
                        }
                    }
                    dirty = true;
                }
                Err(_) => {
                    feed_open = false;
                    app.on_disconnected();
                    // A panicking trainer may have printed over the screen.
                    clear = app.failed.is_some();
                    dirty = true;
                }
            },
            recv(input_rx) -> ev => match ev {
                Ok(Event::Key(key)) => {
                    for action in app.on_key(key) {
                        match action {
                            Action::Send(c) => {
                                if let Some(tx) = controls {
                                    let _ = tx.send(c);
                                }
                            }
                            Action::Quit => app.exit = true,
                        }
                    }
                    dirty = true;
                }
                Ok(Event::Resize(..)) => dirty = true,
                Ok(_) => {}
                Err(_) => input_open = false,
            },
            recv(ticker) -> _ => {
                if app.on_tick(started.elapsed().as_secs_f64()) {
                    dirty = true;
                }
            }
        }
    }
    Ok(stats)
}

/// Runs the dashboard on this thread for a training run until the user leaves; restores the
/// terminal whatever happens. Returns the run summary, or `None` when the user left (second
/// Ctrl-C) before the trainer finished.
pub fn run_dashboard(
    handle: EngineHandle,
    data: Arc<PreparedData>,
    options: DashboardOptions,
) -> anyhow::Result<Option<RunSummary>> {
    let mut app = App::new(Mode::Live);
    app.exit_on_finish = options.exit_when_finished;
    app.set_images(PoolImages::live(data));
    let result = {
        let mut guard = TerminalGuard::enter()?;
        app.graphics = crate::tui::picture::Graphics::detect();
        let input = InputThread::spawn();
        let r = event_loop(
            &mut guard.terminal,
            &mut app,
            &handle.updates,
            App::on_update,
            Some(&handle.controls),
            &input.events,
        );
        input.stop();
        r
    };
    if let Err(e) = result {
        // The dashboard failed: stop the trainer cleanly (checkpoint) before reporting.
        let _ = handle.controls.send(Control::Stop);
        drop(handle.updates);
        let _ = handle.thread.join();
        return Err(e);
    }
    if !app.ended() {
        return Ok(None);
    }
    drop(handle.updates);
    match handle.thread.join() {
        Ok(r) => r.map(Some),
        Err(_) => anyhow::bail!("the training thread panicked"),
    }
}

/// The one-line result printed after the dashboard closes.
pub fn summary_line(s: &RunSummary) -> String {
    let pct = |r: &Option<crate::metrics::EvalReport>| {
        r.as_ref()
            .map_or("n/a".to_string(), |r| format!("{:.2}%", r.accuracy * 100.0))
    };
    format!(
        "done ({}): {} rounds in {:.1}s on {}; test accuracy supervised-only {}, best (round {}) {}, last {}",
        s.stop_reason,
        s.rounds_completed,
        s.wall_secs,
        s.device,
        pct(&s.baseline_test),
        s.best_round,
        pct(&s.best_test),
        pct(&s.last_test)
    )
}

/// Applies a trainer update (the `apply` of [`event_loop`] for live runs).
pub fn apply_update(app: &mut App, update: Update) {
    app.on_update(update);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::backend::TestBackend;

    use crate::tui::fixture;

    #[test]
    fn loop_applies_updates_sends_controls_and_exits_after_stop() {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let mut app = fixture::live_app();
        let (update_tx, update_rx) = crossbeam_channel::unbounded();
        let (control_tx, control_rx) = crossbeam_channel::unbounded::<Control>();
        let (key_tx, key_rx) = crossbeam_channel::unbounded();
        let key = |c: char| Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        key_tx.send(key(']')).unwrap();
        key_tx.send(key('q')).unwrap();
        key_tx.send(key('y')).unwrap();
        let trainer = std::thread::spawn(move || {
            // Acknowledge like the trainer: τ, then Stop, then finish.
            let mut seen = Vec::new();
            while let Ok(c) = control_rx.recv_timeout(Duration::from_secs(5)) {
                let stop = c == Control::Stop;
                seen.push(c.clone());
                update_tx
                    .send(Update::ControlApplied(
                        crate::train::events::AppliedControl {
                            control: c,
                            global_step: 1,
                            round: 1,
                            epoch: 1,
                            time: String::new(),
                            error: None,
                        },
                    ))
                    .unwrap();
                if stop {
                    update_tx
                        .send(Update::Finished(fixture::summary(
                            crate::run::StopReason::Stopped,
                        )))
                        .unwrap();
                    break;
                }
            }
            seen
        });
        let stats = event_loop(
            &mut terminal,
            &mut app,
            &update_rx,
            apply_update,
            Some(&control_tx),
            &key_rx,
        )
        .unwrap();
        let seen = trainer.join().unwrap();
        assert_eq!(
            seen,
            vec![Control::SetThreshold { value: 0.91 }, Control::Stop]
        );
        assert!(stats.frames >= 1);
        assert_eq!(stats.updates, 3, "two acknowledgements and the summary");
        assert_eq!(app.controls.threshold, 0.91);
        assert!(app.finished.is_some() && app.exit);
    }
}
