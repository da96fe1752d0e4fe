//! The λ ramp: the weight of pseudo-labels in force in each round. The pseudo-labelling
//! policies themselves live in [`crate::train::pseudo`].

/// The λ in force in a round, ramped up linearly over `ramp_rounds` rounds (round is 1-based).
pub fn ramped_weight(lambda: f32, round: usize, ramp_rounds: usize) -> f32 {
    if ramp_rounds == 0 || round >= ramp_rounds {
        lambda
    } else {
        lambda * round as f32 / ramp_rounds as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_grows_linearly_then_holds() {
        assert_eq!(ramped_weight(1.0, 1, 4), 0.25);
        assert_eq!(ramped_weight(1.0, 4, 4), 1.0);
        assert_eq!(ramped_weight(0.5, 9, 4), 0.5);
        assert_eq!(ramped_weight(0.5, 1, 0), 0.5);
    }
}
