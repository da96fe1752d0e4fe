//! Controls sent by a front-end to the trainer, and the pure state they act on.

use serde::{Deserialize, Serialize};

/// A command for the trainer. Applied at the next batch boundary (sample actions at the next
/// round), acknowledged with [`crate::train::events::Update::ControlApplied`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Control {
    /// Set the pseudo-label confidence threshold τ (in `[0, 1]`).
    SetThreshold {
        /// New τ.
        #[serde(deserialize_with = "crate::run::records::f32_or_nan")]
        value: f32,
    },
    /// Set the loss weight λ of pseudo-labelled samples (≥ 0).
    SetPseudoWeight {
        /// New λ.
        #[serde(deserialize_with = "crate::run::records::f32_or_nan")]
        value: f32,
    },
    /// Set one class's own threshold τ_c over the policy (`None` gives the class back to the
    /// policy). Takes effect at the next round.
    SetClassThreshold {
        /// The class.
        class: usize,
        /// Its threshold in `[0, 1]`, or `None`.
        #[serde(default)]
        value: Option<f32>,
    },
    /// Pause training after the current batch.
    Pause,
    /// Resume a paused run.
    Resume,
    /// Stop the run, saving a checkpoint first.
    Stop,
    /// Save a checkpoint now.
    SaveCheckpoint,
    /// Accept an unlabelled sample with the given label as a pseudo-label, whatever its confidence.
    AcceptSample {
        /// Index in the unlabelled pool.
        index: usize,
        /// Class to accept it as.
        class: usize,
    },
    /// Give an unlabelled sample a manual label: it joins the labelled set.
    LabelSample {
        /// Index in the unlabelled pool.
        index: usize,
        /// Its class.
        class: usize,
    },
    /// Exclude an unlabelled sample from pseudo-labelling as an outlier.
    ExcludeSample {
        /// Index in the unlabelled pool.
        index: usize,
    },
}

/// What the user can change while a run goes on; the trainer reads it at every batch boundary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlState {
    /// Current confidence threshold τ.
    pub threshold: f32,
    /// Current pseudo-label loss weight λ.
    pub pseudo_weight: f32,
    /// Whether training is paused.
    pub paused: bool,
    /// Whether a stop was requested.
    pub stop_requested: bool,
    /// Whether a checkpoint save was requested and not yet done.
    pub save_requested: bool,
    /// Pool indices forced to a pseudo-label class by the user.
    pub forced_pseudo: Vec<(usize, usize)>,
    /// Pool indices given a manual label (joining the labelled set).
    pub manual_labels: Vec<(usize, usize)>,
    /// Pool indices excluded as outliers.
    pub excluded: Vec<usize>,
    /// The user's per-class thresholds over the policy, in class order (`None`: the policy
    /// decides; shorter than the class count when the last classes have none).
    #[serde(default)]
    pub class_thresholds: Vec<Option<f32>>,
}

/// Why a control was not applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ControlError {
    /// τ outside `[0, 1]` or not finite.
    #[error("threshold must be within [0, 1], got {0}")]
    Threshold(f32),
    /// λ negative or not finite.
    #[error("pseudo-label weight must be >= 0, got {0}")]
    PseudoWeight(f32),
    /// Sample index beyond the pool.
    #[error("sample {index} is outside the unlabelled pool of {pool} images")]
    Index {
        /// The index given.
        index: usize,
        /// Pool size.
        pool: usize,
    },
    /// Class index beyond the class list.
    #[error("class {class} does not exist ({num_classes} classes)")]
    Class {
        /// The class given.
        class: usize,
        /// Number of classes.
        num_classes: usize,
    },
}

impl ControlState {
    /// Initial state from the configured τ and λ.
    pub fn new(threshold: f32, pseudo_weight: f32) -> Self {
        Self {
            threshold,
            pseudo_weight,
            paused: false,
            stop_requested: false,
            save_requested: false,
            forced_pseudo: Vec::new(),
            manual_labels: Vec::new(),
            excluded: Vec::new(),
            class_thresholds: Vec::new(),
        }
    }

    /// Applies one control; controls are applied strictly in the order received.
    /// A sample action replaces any earlier action on the same sample.
    pub fn apply(
        &mut self,
        control: &Control,
        pool_size: usize,
        num_classes: usize,
    ) -> Result<(), ControlError> {
        let check_index = |index: usize| {
            if index < pool_size {
                Ok(())
            } else {
                Err(ControlError::Index {
                    index,
                    pool: pool_size,
                })
            }
        };
        let check_class = |class: usize| {
            if class < num_classes {
                Ok(())
            } else {
                Err(ControlError::Class { class, num_classes })
            }
        };
        match *control {
            Control::SetThreshold { value } => {
                if !(value.is_finite() && (0.0..=1.0).contains(&value)) {
                    return Err(ControlError::Threshold(value));
                }
                self.threshold = value;
            }
            Control::SetPseudoWeight { value } => {
                if !(value.is_finite() && value >= 0.0) {
                    return Err(ControlError::PseudoWeight(value));
                }
                self.pseudo_weight = value;
            }
            Control::SetClassThreshold { class, value } => {
                check_class(class)?;
                if let Some(v) = value
                    && !(v.is_finite() && (0.0..=1.0).contains(&v))
                {
                    return Err(ControlError::Threshold(v));
                }
                if self.class_thresholds.len() <= class {
                    self.class_thresholds.resize(class + 1, None);
                }
                self.class_thresholds[class] = value;
                while self.class_thresholds.last() == Some(&None) {
                    self.class_thresholds.pop();
                }
            }
            Control::Pause => self.paused = true,
            Control::Resume => self.paused = false,
            Control::Stop => {
                self.stop_requested = true;
                self.paused = false;
            }
            Control::SaveCheckpoint => self.save_requested = true,
            Control::AcceptSample { index, class } => {
                check_index(index)?;
                check_class(class)?;
                self.clear_sample(index);
                self.forced_pseudo.push((index, class));
            }
            Control::LabelSample { index, class } => {
                check_index(index)?;
                check_class(class)?;
                self.clear_sample(index);
                self.manual_labels.push((index, class));
            }
            Control::ExcludeSample { index } => {
                check_index(index)?;
                self.clear_sample(index);
                self.excluded.push(index);
            }
        }
        Ok(())
    }

    fn clear_sample(&mut self, index: usize) {
        self.forced_pseudo.retain(|(i, _)| *i != index);
        self.manual_labels.retain(|(i, _)| *i != index);
        self.excluded.retain(|i| *i != index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_apply_in_order_and_last_wins() {
        let mut s = ControlState::new(0.9, 1.0);
        for c in [
            Control::SetThreshold { value: 0.8 },
            Control::SetThreshold { value: 0.7 },
            Control::SetPseudoWeight { value: 0.5 },
            Control::Pause,
            Control::Resume,
            Control::Pause,
        ] {
            s.apply(&c, 10, 3).unwrap();
        }
        assert_eq!(s.threshold, 0.7);
        assert_eq!(s.pseudo_weight, 0.5);
        assert!(s.paused);
        s.apply(&Control::Stop, 10, 3).unwrap();
        assert!(s.stop_requested);
        assert!(!s.paused, "stop must unpause so the trainer can finish");
    }

    #[test]
    fn out_of_range_values_are_rejected_and_state_kept() {
        let mut s = ControlState::new(0.9, 1.0);
        assert_eq!(
            s.apply(&Control::SetThreshold { value: 1.5 }, 10, 3),
            Err(ControlError::Threshold(1.5))
        );
        assert!(
            s.apply(&Control::SetThreshold { value: f32::NAN }, 10, 3)
                .is_err()
        );
        assert_eq!(
            s.apply(&Control::SetPseudoWeight { value: -0.1 }, 10, 3),
            Err(ControlError::PseudoWeight(-0.1))
        );
        assert!(
            s.apply(&Control::ExcludeSample { index: 10 }, 10, 3)
                .is_err()
        );
        assert!(
            s.apply(&Control::LabelSample { index: 1, class: 3 }, 10, 3)
                .is_err()
        );
        assert_eq!(s, ControlState::new(0.9, 1.0));
    }

    #[test]
    fn class_thresholds_are_set_checked_and_cleared() {
        let mut s = ControlState::new(0.9, 1.0);
        let set = |class, value| Control::SetClassThreshold { class, value };
        s.apply(&set(2, Some(0.6)), 10, 3).unwrap();
        assert_eq!(s.class_thresholds, vec![None, None, Some(0.6)]);
        assert_eq!(
            s.apply(&set(1, Some(1.2)), 10, 3),
            Err(ControlError::Threshold(1.2))
        );
        assert!(s.apply(&set(3, Some(0.5)), 10, 3).is_err());
        s.apply(&set(2, None), 10, 3).unwrap();
        assert!(s.class_thresholds.is_empty(), "cleared back to the policy");
    }

    #[test]
    fn later_sample_action_replaces_earlier_one() {
        let mut s = ControlState::new(0.9, 1.0);
        s.apply(&Control::AcceptSample { index: 4, class: 1 }, 10, 3)
            .unwrap();
        s.apply(&Control::LabelSample { index: 4, class: 2 }, 10, 3)
            .unwrap();
        assert!(s.forced_pseudo.is_empty());
        assert_eq!(s.manual_labels, vec![(4, 2)]);
        s.apply(&Control::ExcludeSample { index: 4 }, 10, 3)
            .unwrap();
        assert!(s.manual_labels.is_empty());
        assert_eq!(s.excluded, vec![4]);
    }
}
