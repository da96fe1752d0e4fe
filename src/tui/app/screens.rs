//! What is shown: the screen, the panels in focus order and one round's figures.

/// The full-screen view shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Status, charts, confusion matrix, pseudo-labels, event log.
    Dashboard,
    /// The pseudo-label inspector.
    Inspector,
}

/// A dashboard panel; `tab` moves the focus through them in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    /// Loss chart.
    Loss,
    /// Accuracy chart.
    Accuracy,
    /// Confusion matrix and per-class scores.
    Confusion,
    /// Pseudo-label statistics.
    Pseudo,
    /// Event log.
    Events,
}

impl Panel {
    /// Every panel, in focus order.
    pub const ALL: [Panel; 5] = [
        Panel::Loss,
        Panel::Accuracy,
        Panel::Confusion,
        Panel::Pseudo,
        Panel::Events,
    ];

    /// Short name (tab label).
    pub fn title(self) -> &'static str {
        match self {
            Panel::Loss => "Loss",
            Panel::Accuracy => "Accuracy",
            Panel::Confusion => "Confusion",
            Panel::Pseudo => "Pseudo-labels",
            Panel::Events => "Events",
        }
    }

    fn position(self) -> usize {
        Self::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    /// The next panel in focus order (wrapping).
    pub fn next(self) -> Panel {
        Self::ALL[(self.position() + 1) % Self::ALL.len()]
    }

    /// The previous panel in focus order (wrapping).
    pub fn prev(self) -> Panel {
        Self::ALL[(self.position() + Self::ALL.len() - 1) % Self::ALL.len()]
    }
}

/// One round's pseudo-labelling figures.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundStats {
    /// Round (1-based).
    pub round: usize,
    /// τ used.
    pub threshold: f32,
    /// Eligible pool size.
    pub pool_size: usize,
    /// Accepted samples.
    pub accepted: usize,
    /// Accuracy of accepted samples against hidden truth.
    pub accepted_accuracy: Option<f64>,
    /// Optimizer step when the round's selection happened.
    pub global_step: u64,
}

impl RoundStats {
    /// Accepted share of the pool.
    pub fn rate(&self) -> f64 {
        if self.pool_size == 0 {
            0.0
        } else {
            self.accepted as f64 / self.pool_size as f64
        }
    }
}
