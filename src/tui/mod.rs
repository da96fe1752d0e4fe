//! The live terminal dashboard (ratatui + crossterm).
//!
//! The dashboard runs on the UI thread while the trainer runs on its own thread; the two talk
//! through the engine's channels ([`crate::train::engine::EngineHandle`]). The state is a pure
//! [`app::App`] (updates and keys in, controls out, no I/O); each panel has its own module that
//! draws part of that state into a ratatui [`ratatui::Frame`]; [`run`] holds the event loop and
//! [`view`] replays a run directory read-only.
//!
//! Keys are listed in [`help::KEYS`] (press `?` in the dashboard).

#![warn(missing_docs)]

pub mod accuracy;
pub mod app;
pub mod confusion;
pub mod events;
pub mod help;
pub mod images;
pub mod inspector;
pub mod layout;
pub mod loss;
pub mod pseudo;
pub mod run;
pub mod status;
pub mod terminal;
pub mod view;
pub mod widgets;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod snapshots;

pub use app::{Action, App, Mode};
pub use run::{DashboardOptions, run_dashboard};
pub use view::run_view;
