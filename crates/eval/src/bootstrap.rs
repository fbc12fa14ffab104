//! Bootstrap confidence intervals over problems: resample the problems with replacement,
//! take the mean each time, read the 2.5th and 97.5th percentiles. Problems are the unit
//! because samples of one problem are not independent.

use serde::{Deserialize, Serialize};
use tracealign_core::random::SplitMix64;
use tracealign_core::stats::mean;

/// A mean and its 95% bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
}

/// Resamples drawn; enough for two-digit percentiles to settle.
pub const RESAMPLES: usize = 2000;

/// The mean of `values` with a 95% percentile-bootstrap interval, deterministic per `seed`.
pub fn interval(values: &[f64], seed: u64) -> Interval {
    let mean = mean(values);
    if values.len() < 2 {
        return Interval {
            mean,
            low: mean,
            high: mean,
        };
    }
    let mut random = SplitMix64::new(seed);
    let mut means: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let total: f64 = (0..values.len())
                .map(|_| values[random.below(values.len())])
                .sum();
            total / values.len() as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    let at = |q: f64| means[((q * (RESAMPLES - 1) as f64).round() as usize).min(RESAMPLES - 1)];
    Interval {
        mean,
        low: at(0.025),
        high: at(0.975),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_values_have_a_zero_width_interval() {
        let i = interval(&[0.5; 40], 1);
        assert_eq!((i.mean, i.low, i.high), (0.5, 0.5, 0.5));
    }

    #[test]
    fn interval_brackets_the_mean_and_narrows_with_more_problems() {
        let few: Vec<f64> = (0..20).map(|i| f64::from(u8::from(i % 4 == 0))).collect();
        let many: Vec<f64> = (0..400).map(|i| f64::from(u8::from(i % 4 == 0))).collect();
        let (a, b) = (interval(&few, 7), interval(&many, 7));
        assert!(a.low < a.mean && a.mean < a.high, "{a:?}");
        assert!(b.low < 0.25 && 0.25 < b.high, "{b:?}");
        assert!(b.high - b.low < a.high - a.low);
        // Binomial standard error at p=.25, n=400 is 0.0217: the 95% width is about 0.085.
        assert!((b.high - b.low - 0.085).abs() < 0.02, "{b:?}");
    }

    #[test]
    fn same_seed_same_interval() {
        let values = [0.0, 1.0, 0.5, 0.25, 1.0];
        assert_eq!(interval(&values, 3), interval(&values, 3));
    }
}
