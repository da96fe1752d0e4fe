//! Stratified splits of labelled data: a held-out part and k-fold partitions.
//!
//! Both functions are deterministic for a given seed and keep every class represented in the
//! same proportion in each part.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// Groups sample indices by label; labels `>= num_classes` go to an extra last group.
fn group_by_class(labels: &[usize], num_classes: usize) -> Vec<Vec<usize>> {
    let mut groups = vec![Vec::new(); num_classes + 1];
    for (i, &label) in labels.iter().enumerate() {
        groups[label.min(num_classes)].push(i);
    }
    groups
}

/// Splits sample indices into `(keep, holdout)`, stratified by class.
///
/// For each class with `n` samples, `round(fraction * n)` randomly chosen samples are held out,
/// but at least one when the class has two or more samples and `fraction > 0`, and never all
/// of them (a class with a single sample is always kept whole). A `fraction` of 0 (or NaN, or
/// negative) holds nothing out. Labels `>= num_classes` are never held out.
///
/// Both returned lists are sorted in ascending order; together they hold every index exactly
/// once. The result depends only on `labels`, `num_classes`, `fraction` and `seed`.
pub fn stratified_holdout(
    labels: &[usize],
    num_classes: usize,
    fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut groups = group_by_class(labels, num_classes);
    let unknown = groups.pop().unwrap_or_default();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut keep = unknown;
    let mut holdout = Vec::new();
    let fraction = if fraction.is_nan() { 0.0 } else { fraction };
    for mut group in groups {
        let n = group.len();
        let mut held = if fraction > 0.0 && n >= 2 {
            ((fraction * n as f64).round() as usize).max(1)
        } else {
            0
        };
        held = held.min(n.saturating_sub(1));
        group.shuffle(&mut rng);
        holdout.extend_from_slice(&group[..held]);
        keep.extend_from_slice(&group[held..]);
    }
    keep.sort_unstable();
    holdout.sort_unstable();
    (keep, holdout)
}

/// Partitions sample indices into `k` disjoint folds, stratified by class.
///
/// The samples of each class are shuffled and dealt round-robin to the folds; the dealing goes
/// on from where the previous class stopped, so fold sizes differ by at most one. Labels
/// `>= num_classes` are dealt too (as one extra group), so the folds always cover every index.
/// Each fold is sorted in ascending order. `k == 0` gives no fold at all.
pub fn stratified_folds(
    labels: &[usize],
    num_classes: usize,
    k: usize,
    seed: u64,
) -> Vec<Vec<usize>> {
    if k == 0 {
        return Vec::new();
    }
    let mut folds = vec![Vec::new(); k];
    let mut rng = StdRng::seed_from_u64(seed);
    let mut next = 0usize;
    for mut group in group_by_class(labels, num_classes) {
        group.shuffle(&mut rng);
        for index in group {
            folds[next].push(index);
            next = (next + 1) % k;
        }
    }
    for fold in &mut folds {
        fold.sort_unstable();
    }
    folds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(counts: &[usize]) -> Vec<usize> {
        // Interleave classes so indices of a class are not contiguous.
        let mut out = Vec::new();
        let max = counts.iter().copied().max().unwrap_or(0);
        for round in 0..max {
            for (class, &n) in counts.iter().enumerate() {
                if round < n {
                    out.push(class);
                }
            }
        }
        out
    }

    fn count_per_class(labels: &[usize], idx: &[usize], num_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; num_classes];
        for &i in idx {
            counts[labels[i]] += 1;
        }
        counts
    }

    #[test]
    fn holdout_counts_per_class() {
        let l = labels(&[10, 20, 5, 2, 1]);
        let (keep, hold) = stratified_holdout(&l, 5, 0.2, 7);
        assert_eq!(count_per_class(&l, &hold, 5), vec![2, 4, 1, 1, 0]);
        assert_eq!(count_per_class(&l, &keep, 5), vec![8, 16, 4, 1, 1]);
        let mut all: Vec<usize> = keep.iter().chain(&hold).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..l.len()).collect::<Vec<_>>());
    }

    #[test]
    fn holdout_at_least_one_never_all() {
        let l = labels(&[3, 2, 1]);
        let (_, hold) = stratified_holdout(&l, 3, 0.01, 1);
        assert_eq!(count_per_class(&l, &hold, 3), vec![1, 1, 0]);
        let (keep, hold) = stratified_holdout(&l, 3, 1.0, 1);
        assert_eq!(count_per_class(&l, &hold, 3), vec![2, 1, 0]);
        assert_eq!(count_per_class(&l, &keep, 3), vec![1, 1, 1]);
    }

    #[test]
    fn holdout_zero_fraction_and_determinism() {
        let l = labels(&[10, 10]);
        let (keep, hold) = stratified_holdout(&l, 2, 0.0, 3);
        assert!(hold.is_empty());
        assert_eq!(keep.len(), 20);
        let a = stratified_holdout(&l, 2, 0.3, 42);
        let b = stratified_holdout(&l, 2, 0.3, 42);
        assert_eq!(a, b);
        let c = stratified_holdout(&l, 2, 0.3, 43);
        assert_ne!(a.1, c.1, "different seeds should usually differ");
    }

    #[test]
    fn holdout_out_of_range_labels_are_kept() {
        let l = vec![0, 0, 5, 5, 5];
        let (keep, hold) = stratified_holdout(&l, 1, 0.5, 0);
        assert_eq!(hold.len(), 1);
        assert!(keep.contains(&2) && keep.contains(&3) && keep.contains(&4));
    }

    #[test]
    fn folds_disjoint_cover_and_balanced() {
        let l = labels(&[7, 5, 3]);
        let folds = stratified_folds(&l, 3, 4, 9);
        assert_eq!(folds.len(), 4);
        let mut all: Vec<usize> = folds.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..l.len()).collect::<Vec<_>>());
        let sizes: Vec<usize> = folds.iter().map(Vec::len).collect();
        let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(max - min <= 1, "{sizes:?}");
        // Each class spread: per-fold class counts differ by at most one.
        for class in 0..3 {
            let per: Vec<usize> = folds
                .iter()
                .map(|f| count_per_class(&l, f, 3)[class])
                .collect();
            let (mn, mx) = (per.iter().min().unwrap(), per.iter().max().unwrap());
            assert!(mx - mn <= 1, "class {class}: {per:?}");
        }
    }

    #[test]
    fn folds_deterministic_and_k_zero() {
        let l = labels(&[6, 6]);
        assert_eq!(stratified_folds(&l, 2, 3, 5), stratified_folds(&l, 2, 3, 5));
        assert!(stratified_folds(&l, 2, 0, 5).is_empty());
        let folds = stratified_folds(&l, 2, 3, 5);
        for f in &folds {
            assert_eq!(count_per_class(&l, f, 2), vec![2, 2]);
        }
    }
}
