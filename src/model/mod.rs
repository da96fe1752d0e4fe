//! The CNN classifiers.

mod cnn;

pub use cnn::{Cnn, CnnConfig, ModelKind};
