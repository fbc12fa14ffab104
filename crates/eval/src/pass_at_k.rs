//! The unbiased pass@k estimator.

/// The probability that at least one of `k` samples drawn without replacement from `n`
/// samples, `c` of them correct, is correct: `1 - C(n-c, k) / C(n, k)`.
///
/// Computed as the product `1 - Π_{i=n-c+1}^{n} (1 - k/i)` (as HumanEval and EvalPlus do),
/// which never forms the huge binomials. `k > n` has no unbiased estimate: callers should
/// not ask for it; it answers as if `k = n`.
pub fn pass_at_k(n: usize, c: usize, k: usize) -> f64 {
    let c = c.min(n);
    let k = k.min(n);
    if n == 0 || k == 0 {
        return 0.0;
    }
    if n - c < k {
        return 1.0;
    }
    let all_wrong: f64 = (n - c + 1..=n).map(|i| 1.0 - k as f64 / i as f64).product();
    1.0 - all_wrong
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn hand_computed_values_for_ten_samples_three_correct() {
        // k=1: c/n. k=5: 1 - C(7,5)/C(10,5) = 1 - 21/252. k=10: every draw holds a correct one.
        assert!(close(pass_at_k(10, 3, 1), 0.3));
        assert!(close(pass_at_k(10, 3, 5), 1.0 - 21.0 / 252.0));
        assert!(close(pass_at_k(10, 3, 10), 1.0));
    }

    #[test]
    fn no_correct_sample_scores_zero_and_all_correct_one() {
        assert_eq!(pass_at_k(20, 0, 10), 0.0);
        assert_eq!(pass_at_k(20, 20, 1), 1.0);
        assert_eq!(pass_at_k(0, 0, 1), 0.0);
    }

    #[test]
    fn product_form_equals_the_binomial_definition() {
        fn choose(n: u64, k: u64) -> f64 {
            if k > n {
                return 0.0;
            }
            (0..k).map(|i| (n - i) as f64 / (i + 1) as f64).product()
        }
        for n in 1..=30usize {
            for c in 0..=n {
                for k in 1..=n {
                    let exact = 1.0 - choose((n - c) as u64, k as u64) / choose(n as u64, k as u64);
                    let estimate = pass_at_k(n, c, k);
                    assert!((estimate - exact).abs() < 1e-9, "n={n} c={c} k={k}");
                }
            }
        }
    }
}
