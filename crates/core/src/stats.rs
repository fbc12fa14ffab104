//! Summary statistics that several crates report the same way.

/// The arithmetic mean of `values`, 0 for none (an empty mask, no problems). Takes anything
/// that widens to `f64` losslessly: scores, rewards, 0/1 masks.
pub fn mean<T: Copy + Into<f64>>(values: &[T]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().map(|&v| v.into()).sum::<f64>() / values.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_of_floats_and_masks() {
        assert_eq!(mean(&[1.0, 2.0, 4.5]), 2.5);
        assert_eq!(mean::<f64>(&[]), 0.0);
        assert_eq!(mean(&[0u8, 1, 1, 0]), 0.5);
    }
}
