//! The inspector's list state: which list and class are shown, the rows in order, the
//! selection and the label picker. Drawn by [`crate::tui::inspector`].

use crate::train::events::PoolPrediction;
use crate::tui::samples::{SampleInfo, SampleStatus};

/// Which inspector list is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InspectorList {
    /// Rejected samples, most confident (nearest τ) first.
    Rejected,
    /// Accepted samples, least confident (nearest τ) first.
    Accepted,
}

/// The order of the inspector's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    /// Nearest the threshold first (rejected: most confident; accepted: least confident).
    NearestThreshold,
    /// Highest outlier score first (samples without one last).
    Outlier,
    /// Largest MC-dropout uncertainty first (samples without one last).
    Uncertainty,
}

impl SortOrder {
    /// Every order, in the cycle's order.
    pub const ALL: [Self; 3] = [Self::NearestThreshold, Self::Outlier, Self::Uncertainty];

    /// The list title's words for it.
    pub fn label(self) -> &'static str {
        match self {
            Self::NearestThreshold => "nearest τ first",
            Self::Outlier => "most outlying first",
            Self::Uncertainty => "most uncertain first",
        }
    }

    /// The score it sorts by, largest first (`None` for the confidence order).
    fn score(self, p: &PoolPrediction) -> Option<f32> {
        match self {
            Self::NearestThreshold => None,
            Self::Outlier => p.outlier,
            Self::Uncertainty => p.uncertainty,
        }
    }

    /// Whether any of `predictions` has this order's score.
    fn available(self, predictions: &[PoolPrediction]) -> bool {
        self == Self::NearestThreshold || predictions.iter().any(|p| self.score(p).is_some())
    }
}

/// State of the pseudo-label inspector.
#[derive(Debug, Clone, PartialEq)]
pub struct InspectorState {
    /// List shown.
    pub list: InspectorList,
    /// Only samples predicted as this class.
    pub class_filter: Option<usize>,
    /// The list's order.
    pub sort: SortOrder,
    /// Indices into the predictions of the rows shown, in order.
    pub rows: Vec<usize>,
    /// Selected row.
    pub selected: usize,
    /// First row drawn (kept by the drawing code so the selection stays visible).
    pub offset: usize,
    /// The label picker, open with this class highlighted.
    pub picker: Option<usize>,
    /// Draw colour images in grey.
    pub grey: bool,
}

impl Default for InspectorState {
    fn default() -> Self {
        Self {
            list: InspectorList::Rejected,
            class_filter: None,
            sort: SortOrder::NearestThreshold,
            rows: Vec::new(),
            selected: 0,
            offset: 0,
            picker: None,
            grey: false,
        }
    }
}

impl InspectorState {
    /// Index into the predictions of the selected row.
    pub fn selected_sample(&self) -> Option<usize> {
        self.rows.get(self.selected).copied()
    }

    /// Rebuilds the rows (list, filter, sort) from `predictions` and the parallel `samples`,
    /// keeping the selected sample if it is still listed.
    pub fn refresh(&mut self, predictions: &[PoolPrediction], samples: &[SampleInfo]) {
        let keep = self.selected_sample();
        if !self.sort.available(predictions) {
            self.sort = SortOrder::NearestThreshold;
        }
        let want_accepted = self.list == InspectorList::Accepted;
        let filter = self.class_filter;
        let mut rows: Vec<usize> = (0..predictions.len())
            .filter(|&i| {
                let s = samples[i].status;
                let listed = if want_accepted {
                    s.is_accepted()
                } else {
                    s == SampleStatus::Rejected
                };
                listed && filter.is_none_or(|c| predictions[i].predicted() == c)
            })
            .collect();
        let sort = self.sort;
        rows.sort_by(|&a, &b| {
            let (pa, pb) = (&predictions[a], &predictions[b]);
            // Scored samples first, largest score first.
            let by_score = match (sort.score(pa), sort.score(pb)) {
                (Some(x), Some(y)) => y.total_cmp(&x),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            };
            let (ca, cb) = (pa.confidence(), pb.confidence());
            let by_conf = if want_accepted {
                ca.total_cmp(&cb)
            } else {
                cb.total_cmp(&ca)
            };
            by_score.then(by_conf).then(pa.index.cmp(&pb.index))
        });
        self.rows = rows;
        self.selected = keep
            .and_then(|k| self.rows.iter().position(|&r| r == k))
            .unwrap_or(0);
        if self.offset > self.selected {
            self.offset = self.selected;
        }
    }

    /// Moves the selection by `delta` rows, within the list.
    pub fn move_selection(&mut self, delta: isize) {
        let n = self.rows.len();
        if n == 0 {
            return;
        }
        let s = self.selected as isize + delta;
        self.selected = s.clamp(0, n as isize - 1) as usize;
    }

    /// Selects the first row.
    pub fn select_first(&mut self) {
        self.selected = 0;
    }

    /// Selects the last row.
    pub fn select_last(&mut self) {
        self.selected = self.rows.len().saturating_sub(1);
    }

    /// Shows the other list, from its top.
    pub fn switch_list(&mut self, predictions: &[PoolPrediction], samples: &[SampleInfo]) {
        self.list = match self.list {
            InspectorList::Rejected => InspectorList::Accepted,
            InspectorList::Accepted => InspectorList::Rejected,
        };
        self.rebuild_from_top(predictions, samples);
    }

    /// Filters on the next (or previous) of `classes` classes, then none, then round again.
    pub fn cycle_filter(
        &mut self,
        classes: usize,
        forward: bool,
        predictions: &[PoolPrediction],
        samples: &[SampleInfo],
    ) {
        if classes == 0 {
            return;
        }
        self.class_filter = match (self.class_filter, forward) {
            (None, true) => Some(0),
            (None, false) => Some(classes - 1),
            (Some(c), true) if c + 1 < classes => Some(c + 1),
            (Some(c), false) if c > 0 => Some(c - 1),
            _ => None,
        };
        self.rebuild_from_top(predictions, samples);
    }

    /// Moves to the next order the predictions have scores for, from the top of the list;
    /// returns false (order unchanged) when they have none besides the confidence.
    pub fn cycle_sort(&mut self, predictions: &[PoolPrediction], samples: &[SampleInfo]) -> bool {
        let at = SortOrder::ALL
            .iter()
            .position(|s| *s == self.sort)
            .unwrap_or(0);
        let next = (1..SortOrder::ALL.len())
            .map(|n| SortOrder::ALL[(at + n) % SortOrder::ALL.len()])
            .find(|s| s.available(predictions));
        match next {
            Some(sort) => {
                self.sort = sort;
                self.rebuild_from_top(predictions, samples);
                true
            }
            None => false,
        }
    }

    fn rebuild_from_top(&mut self, predictions: &[PoolPrediction], samples: &[SampleInfo]) {
        self.selected = 0;
        self.offset = 0;
        self.refresh(predictions, samples);
        self.selected = 0;
    }

    /// Opens the label picker on the selected sample's predicted class (nothing selected:
    /// stays closed).
    pub fn open_picker(&mut self, predictions: &[PoolPrediction]) {
        if let Some(i) = self.selected_sample() {
            self.picker = Some(predictions[i].predicted());
        }
    }

    /// Moves the picker's highlight by one of `classes`, wrapping.
    pub fn move_picker(&mut self, forward: bool, classes: usize) {
        let k = classes.max(1);
        if let Some(h) = self.picker {
            self.picker = Some(if forward {
                (h + 1) % k
            } else {
                (h + k - 1) % k
            });
        }
    }
}
