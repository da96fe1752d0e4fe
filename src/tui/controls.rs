//! The controls the user sends from the dashboard and where each stands: τ and λ in force, sent
//! and not yet acknowledged by the trainer, or only previewed (controls disabled); the pause and
//! checkpoint requests.

use crate::train::Control;

/// Largest λ the keys dial in.
pub const MAX_WEIGHT: f32 = 10.0;

fn round2(v: f32) -> f32 {
    (v * 100.0).round() / 100.0
}

fn same(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-4
}

/// τ, λ, pause and checkpoint: in force and asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Controls {
    /// τ in force (acknowledged by the trainer).
    pub threshold: f32,
    /// τ sent and not yet acknowledged.
    pub pending_threshold: Option<f32>,
    /// τ dialled for the what-if line only (controls disabled).
    pub preview_threshold: Option<f32>,
    /// λ in force.
    pub pseudo_weight: f32,
    /// λ sent and not yet acknowledged.
    pub pending_weight: Option<f32>,
    /// Whether the trainer is paused.
    pub paused: bool,
    /// Pause state asked for and not yet acknowledged.
    pub pending_pause: Option<bool>,
    /// A checkpoint was requested and not yet written.
    pub checkpoint_pending: bool,
}

impl Controls {
    /// The τ the user is dialling in (pending or preview), else the one in force.
    pub fn dialled_threshold(&self) -> f32 {
        self.preview_threshold
            .or(self.pending_threshold)
            .unwrap_or(self.threshold)
    }

    /// The λ the user is dialling in, else the one in force.
    pub fn dialled_weight(&self) -> f32 {
        self.pending_weight.unwrap_or(self.pseudo_weight)
    }

    /// The τ `delta` away from the dialled one (within [0, 1], two decimals), or `None` when
    /// that does not move it.
    pub fn threshold_step(&self, delta: f32) -> Option<f32> {
        let current = self.dialled_threshold();
        let value = round2((current + delta).clamp(0.0, 1.0));
        (!same(value, current)).then_some(value)
    }

    /// The λ `delta` away from the dialled one (within [0, [`MAX_WEIGHT`]], two decimals), or
    /// `None` when that does not move it.
    pub fn weight_step(&self, delta: f32) -> Option<f32> {
        let current = self.dialled_weight();
        let value = round2((current + delta).clamp(0.0, MAX_WEIGHT));
        (!same(value, current)).then_some(value)
    }

    /// Sends τ: pending until acknowledged (unless it is the one in force).
    pub fn send_threshold(&mut self, value: f32) -> Control {
        self.pending_threshold = if same(value, self.threshold) {
            None
        } else {
            Some(value)
        };
        Control::SetThreshold { value }
    }

    /// Sends λ: pending until acknowledged (unless it is the one in force).
    pub fn send_weight(&mut self, value: f32) -> Control {
        self.pending_weight = if same(value, self.pseudo_weight) {
            None
        } else {
            Some(value)
        };
        Control::SetPseudoWeight { value }
    }

    /// Asks for the opposite of the pause state being asked for (or in force).
    pub fn toggle_pause(&mut self) -> Control {
        let want = !self.pending_pause.unwrap_or(self.paused);
        self.pending_pause = if want == self.paused {
            None
        } else {
            Some(want)
        };
        if want {
            Control::Pause
        } else {
            Control::Resume
        }
    }

    /// Asks for a checkpoint.
    pub fn request_checkpoint(&mut self) -> Control {
        self.checkpoint_pending = true;
        Control::SaveCheckpoint
    }

    /// Takes in the trainer's acknowledgement of `control` (`ok`: applied, else refused).
    /// Returns whether τ in force changed with nothing dialled over it, so the what-if line must
    /// follow.
    pub fn acknowledge(&mut self, control: &Control, ok: bool) -> bool {
        match *control {
            Control::SetThreshold { value } => {
                if ok {
                    self.threshold = value;
                }
                if self.pending_threshold.is_some_and(|p| same(p, value)) {
                    self.pending_threshold = None;
                }
                return ok && self.pending_threshold.is_none() && self.preview_threshold.is_none();
            }
            Control::SetPseudoWeight { value } => {
                if ok {
                    self.pseudo_weight = value;
                }
                if self.pending_weight.is_some_and(|p| same(p, value)) {
                    self.pending_weight = None;
                }
            }
            Control::Pause => {
                self.paused = true;
                if self.pending_pause == Some(true) {
                    self.pending_pause = None;
                }
            }
            Control::Resume => {
                self.paused = false;
                if self.pending_pause == Some(false) {
                    self.pending_pause = None;
                }
            }
            _ => {}
        }
        false
    }

    /// The run is over: nothing pending can be acknowledged any more.
    pub fn settle(&mut self) {
        self.pending_threshold = None;
        self.pending_weight = None;
        self.pending_pause = None;
        self.checkpoint_pending = false;
        self.paused = false;
    }
}
