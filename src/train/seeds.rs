//! Every random draw of a run is a function of (seed, position), so runs are reproducible and a
//! run resumed from a checkpoint draws what the uninterrupted run would have drawn.

/// Derives an independent seed from a base seed and a position (SplitMix64 finaliser).
pub fn mix_seed(seed: u64, position: &[u64]) -> u64 {
    let mut h = seed ^ 0x9E37_79B9_7F4A_7C15;
    for &p in position {
        h = h.wrapping_add(p).wrapping_add(0x9E37_79B9_7F4A_7C15);
        h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        h ^= h >> 31;
    }
    h
}

/// Seed of the epoch plan (shuffle and batch mix) of epoch `epoch` of round `round`.
pub fn epoch_plan(seed: u64, round: usize, epoch: usize) -> u64 {
    mix_seed(seed, &[1, round as u64, epoch as u64])
}

/// Seed of the optimizer step done after `global_step` steps: augmentation, mixup, dropout.
pub fn train_step(seed: u64, global_step: u64) -> u64 {
    mix_seed(seed, &[2, global_step])
}

/// Seed of the fresh model of round `round` (`reinit_each_round`).
pub fn reinit(seed: u64, round: usize) -> u64 {
    mix_seed(seed, &[3, round as u64])
}

/// Seed of the MC-dropout masks of the pool pass of round `round`.
pub fn mc_dropout(seed: u64, round: usize) -> u64 {
    mix_seed(seed, &[4, round as u64])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_give_different_seeds_and_the_same_position_the_same_seed() {
        assert_eq!(epoch_plan(7, 1, 2), mix_seed(7, &[1, 1, 2]));
        assert_eq!(train_step(7, 5), mix_seed(7, &[2, 5]));
        assert_eq!(reinit(7, 3), mix_seed(7, &[3, 3]));
        assert_eq!(mc_dropout(7, 3), mix_seed(7, &[4, 3]));
        assert_ne!(epoch_plan(7, 1, 2), epoch_plan(7, 2, 1));
        assert_ne!(train_step(7, 5), train_step(8, 5));
        assert_eq!(train_step(7, 5), train_step(7, 5));
    }
}
