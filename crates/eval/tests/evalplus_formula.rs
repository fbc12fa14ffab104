//! Our pass@k against EvalPlus's `estimate_pass_at_k` formula, evaluated by Python on the
//! same counts (`1 - prod(1 - k / arange(n - c + 1, n + 1))`, or 1 when `n - c < k`).

use std::process::Command;

use tracealign_eval::pass_at_k;

const EVALPLUS_FORMULA: &str = r#"
import sys
def estimator(n, c, k):
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod
for line in sys.stdin:
    n, c, k = map(int, line.split())
    print(repr(estimator(n, c, k)))
"#;

#[test]
fn pass_at_k_matches_evalplus_on_the_same_counts() {
    let counts: Vec<(usize, usize, usize)> = [(10, 3, 1), (10, 3, 5), (10, 3, 10), (200, 17, 100)]
        .into_iter()
        .chain((1..=20).flat_map(|c| [(20, c, 1), (20, c, 10), (20, c, 20)]))
        .collect();
    let input: String = counts
        .iter()
        .map(|(n, c, k)| format!("{n} {c} {k}\n"))
        .collect();
    let mut child = Command::new("python3")
        .args(["-c", EVALPLUS_FORMULA])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let theirs: Vec<f64> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(theirs.len(), counts.len());
    for (&(n, c, k), their) in counts.iter().zip(theirs) {
        let ours = pass_at_k(n, c, k);
        assert!(
            (ours - their).abs() < 1e-12,
            "n={n} c={c} k={k}: {ours} vs {their}"
        );
    }
}
