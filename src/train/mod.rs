//! The self-training engine and its protocol with front-ends.
//!
//! A front-end (headless printer, dashboard) starts the engine with [`engine::spawn`], which
//! returns a [`engine::EngineHandle`]: a crossbeam sender for [`controls::Control`]s and a
//! receiver of [`events::Update`]s. The engine never blocks on the front-end.

pub mod batcher;
pub mod checkpoint;
pub mod controls;
pub mod engine;
pub mod events;
pub mod policy;
pub mod prepare;
pub mod pseudo;
pub mod pseudo_round;
pub mod publisher;
pub mod recorder;
pub mod seeds;
pub mod selection;
pub mod signals;
pub mod steps;
pub mod timing;

pub use controls::{Control, ControlState};
pub use engine::{EngineHandle, spawn};

pub use events::Update;
