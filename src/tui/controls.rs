//! The controls the user sends from the dashboard and where each stands: τ, λ and the per-class
//! thresholds τ_c in force, sent and not yet acknowledged by the trainer, or only previewed
//! (controls disabled); the pause and checkpoint requests.

use std::collections::BTreeMap;

use crate::train::Control;

/// Largest λ the keys dial in.
pub const MAX_WEIGHT: f32 = 10.0;

fn round2(v: f32) -> f32 {
    (v * 100.0).round() / 100.0
}

fn same(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-4
}

fn same_override(a: Option<f32>, b: Option<f32>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same(a, b),
        (a, b) => a.is_none() && b.is_none(),
    }
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
    /// The user's per-class thresholds in force, by class (`None`: the policy decides).
    pub class_thresholds: Vec<Option<f32>>,
    /// Per-class thresholds sent and not yet acknowledged (`None`: back to the policy).
    pub pending_class: BTreeMap<usize, Option<f32>>,
    /// Per-class thresholds dialled for the what-if line only (controls disabled).
    pub preview_class: BTreeMap<usize, Option<f32>>,
}

impl Controls {
    /// The τ the user is dialling in (pending or preview), else the one in force.
    pub fn dialled_threshold(&self) -> f32 {
        self.preview_threshold
            .or(self.pending_threshold)
            .unwrap_or(self.threshold)
    }

    /// Class `c`'s own threshold in force (`None`: the policy decides it).
    pub fn class_threshold(&self, c: usize) -> Option<f32> {
        self.class_thresholds.get(c).copied().flatten()
    }

    /// Whether class `c` has a threshold sent and not acknowledged, or previewed.
    pub fn class_pending(&self, c: usize) -> bool {
        self.preview_class.contains_key(&c) || self.pending_class.contains_key(&c)
    }

    /// Whether any class has a threshold sent and not acknowledged, or previewed.
    pub fn any_class_pending(&self) -> bool {
        !self.preview_class.is_empty() || !self.pending_class.is_empty()
    }

    /// The threshold the user is dialling in for class `c` (preview, else pending, else in
    /// force); `None`: the policy decides it.
    pub fn dialled_class(&self, c: usize) -> Option<f32> {
        self.preview_class
            .get(&c)
            .or_else(|| self.pending_class.get(&c))
            .copied()
            .unwrap_or_else(|| self.class_threshold(c))
    }

    /// Every class's dialled threshold, in class order, as long as the last class that has one
    /// (what the what-if line decides with).
    pub fn dialled_class_thresholds(&self) -> Vec<Option<f32>> {
        let len = [
            self.class_thresholds.len(),
            self.pending_class.keys().next_back().map_or(0, |c| c + 1),
            self.preview_class.keys().next_back().map_or(0, |c| c + 1),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        let mut out: Vec<Option<f32>> = (0..len).map(|c| self.dialled_class(c)).collect();
        while out.last() == Some(&None) {
            out.pop();
        }
        out
    }

    /// Class `c`'s threshold `delta` away from the dialled one, or from `base` (what the policy
    /// applied to it) when it has none; within [0, 1], two decimals; `None` when that does not
    /// move it.
    pub fn class_step(&self, c: usize, base: f32, delta: f32) -> Option<f32> {
        let current = self.dialled_class(c).unwrap_or(base);
        let value = round2((current + delta).clamp(0.0, 1.0));
        (!same(value, current)).then_some(value)
    }

    /// Sends class `c`'s threshold (`None`: back to the policy): pending until acknowledged
    /// (unless it is the one in force).
    pub fn send_class(&mut self, class: usize, value: Option<f32>) -> Control {
        self.preview_class.remove(&class);
        if same_override(value, self.class_threshold(class)) {
            self.pending_class.remove(&class);
        } else {
            self.pending_class.insert(class, value);
        }
        Control::SetClassThreshold { class, value }
    }

    /// Previews class `c`'s threshold on the what-if line only (controls disabled).
    pub fn preview_class_threshold(&mut self, class: usize, value: Option<f32>) {
        if same_override(value, self.class_threshold(class)) {
            self.preview_class.remove(&class);
        } else {
            self.preview_class.insert(class, value);
        }
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
            Control::SetClassThreshold { class, value } => {
                if ok {
                    if self.class_thresholds.len() <= class {
                        self.class_thresholds.resize(class + 1, None);
                    }
                    self.class_thresholds[class] = value;
                    while self.class_thresholds.last() == Some(&None) {
                        self.class_thresholds.pop();
                    }
                }
                if self
                    .pending_class
                    .get(&class)
                    .is_some_and(|p| same_override(*p, value))
                {
                    self.pending_class.remove(&class);
                }
                return ok && !self.class_pending(class);
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
        self.pending_class.clear();
        self.checkpoint_pending = false;
        self.paused = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_thresholds_step_from_the_policys_send_and_settle() {
        let mut c = Controls::default();
        assert_eq!(c.class_step(1, 0.9, -0.05), Some(0.85));
        assert_eq!(c.class_step(1, 1.0, 0.01), None, "already at 1");
        assert_eq!(
            c.send_class(1, Some(0.85)),
            Control::SetClassThreshold {
                class: 1,
                value: Some(0.85)
            }
        );
        // The next step starts from the pending value, not from the policy's.
        assert_eq!(c.class_step(1, 0.9, -0.05), Some(0.8));
        assert_eq!(c.dialled_class_thresholds(), vec![None, Some(0.85)]);
        let ack = c.pending_control(1);
        assert!(c.acknowledge(&ack, true));
        assert_eq!(c.class_thresholds, vec![None, Some(0.85)]);
        assert!(!c.any_class_pending());
        // Sending the value in force is nothing pending.
        c.send_class(1, Some(0.85));
        assert!(!c.class_pending(1));
        // A clear is pending as `None` and wins over the one in force on the what-if line.
        c.send_class(1, None);
        assert_eq!(c.pending_class.get(&1), Some(&None));
        assert!(c.dialled_class_thresholds().is_empty());
        c.settle();
        assert!(!c.any_class_pending());
        assert_eq!(
            c.dialled_class(1),
            Some(0.85),
            "the trainer never took the clear"
        );
    }

    #[test]
    fn a_preview_wins_over_what_is_sent_and_in_force() {
        let mut c = Controls {
            class_thresholds: vec![Some(0.7)],
            ..Controls::default()
        };
        c.preview_class_threshold(0, Some(0.5));
        assert_eq!(c.dialled_class(0), Some(0.5));
        c.preview_class_threshold(0, Some(0.7));
        assert!(!c.class_pending(0), "back at the value in force");
        c.preview_class_threshold(3, None);
        assert!(!c.class_pending(3), "no threshold to clear");
    }

    impl Controls {
        /// The control that acknowledges class `c`'s pending threshold.
        fn pending_control(&self, class: usize) -> Control {
            Control::SetClassThreshold {
                class,
                value: self.pending_class[&class],
            }
        }
    }
}
