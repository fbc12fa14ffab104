//! pass@k over a set of executions: per problem, then averaged over problems.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tracealign_core::Execution;

use crate::bootstrap::{self, Interval};
use crate::category::Category;
use crate::localization::LocalizationFigures;
use crate::pass_at_k::pass_at_k;

/// One problem's counts and estimates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemScore {
    pub problem_id: String,
    /// Samples run.
    pub n: usize,
    /// Samples that passed every test.
    pub correct: usize,
    /// `pass@k` for every reported k, keyed `pass@1`, `pass@10`, ...
    pub pass_at: BTreeMap<String, f64>,
}

/// The mean of pass@k over problems, with a 95% bootstrap interval over problems.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassAtK {
    pub k: usize,
    #[serde(flatten)]
    pub interval: Interval,
}

/// An evaluation of samples that have been run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub samples: usize,
    pub passed: usize,
    /// Problems with at least one sample.
    pub problems: usize,
    /// pass@k for each asked k that every problem has enough samples for (the estimator is
    /// unbiased only for k ≤ n), smallest k first.
    pub pass_at_k: Vec<PassAtK>,
    /// Asked ks left out because some problem has fewer samples.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_k: Vec<usize>,
    /// Samples per failure category (`passed`, `wrong_answer`, `runtime_error:IndexError`, ...).
    pub categories: BTreeMap<String, usize>,
    /// Samples per category kind, exception types merged (`runtime_error`).
    pub category_kinds: BTreeMap<String, usize>,
    pub per_problem: Vec<ProblemScore>,
    /// Accuracy of fault reports against known faults, when both were given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localization: Option<LocalizationFigures>,
}

impl Evaluation {
    /// Scores `executions` (several samples per problem; reference solutions, whose ids end
    /// in `#reference` ([`Execution::is_reference`]), are left out) for each k in `ks`.
    pub fn of(executions: &[Execution], ks: &[usize]) -> Evaluation {
        let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        let mut categories = BTreeMap::new();
        let mut category_kinds = BTreeMap::new();
        let judged = executions.iter().filter(|e| !e.is_reference());
        for execution in judged {
            let entry = counts.entry(&execution.problem_id).or_default();
            entry.0 += 1;
            entry.1 += usize::from(execution.passed);
            let category = Category::of(execution);
            *category_kinds
                .entry(category.kind().to_string())
                .or_default() += 1;
            *categories.entry(category.to_string()).or_default() += 1;
        }
        let mut ks: Vec<usize> = ks.iter().copied().filter(|&k| k > 0).collect();
        ks.sort_unstable();
        ks.dedup();
        let fewest = counts.values().map(|&(n, _)| n).min().unwrap_or(0);
        let (kept, skipped_k): (Vec<usize>, Vec<usize>) = ks.iter().partition(|&&k| k <= fewest);
        let per_problem: Vec<ProblemScore> = counts
            .iter()
            .map(|(&id, &(n, correct))| ProblemScore {
                problem_id: id.to_string(),
                n,
                correct,
                pass_at: kept
                    .iter()
                    .map(|&k| (format!("pass@{k}"), pass_at_k(n, correct, k)))
                    .collect(),
            })
            .collect();
        let pass_at_k = kept
            .iter()
            .map(|&k| {
                let values: Vec<f64> = per_problem
                    .iter()
                    .map(|p| p.pass_at[&format!("pass@{k}")])
                    .collect();
                PassAtK {
                    k,
                    interval: bootstrap::interval(&values, k as u64),
                }
            })
            .collect();
        Evaluation {
            samples: counts.values().map(|&(n, _)| n).sum(),
            passed: counts.values().map(|&(_, c)| c).sum(),
            problems: counts.len(),
            pass_at_k,
            skipped_k,
            categories,
            category_kinds,
            per_problem,
            localization: None,
        }
    }

    /// One verdict per item (an answer to an execution-prediction row, say), each item
    /// scored as a problem with one greedy sample: pass@1 is the share right, with its
    /// bootstrap interval over items, and two models' verdicts on the same items pair up
    /// as two models' programs do. Categories are `correct` and `wrong`.
    pub fn of_verdicts(verdicts: &[(String, bool)]) -> Evaluation {
        let per_problem: Vec<ProblemScore> = (verdicts.iter())
            .map(|(id, right)| ProblemScore {
                problem_id: id.clone(),
                n: 1,
                correct: usize::from(*right),
                pass_at: [("pass@1".to_string(), f64::from(u8::from(*right)))].into(),
            })
            .collect();
        let passed = per_problem.iter().map(|p| p.correct).sum::<usize>();
        let mut categories = BTreeMap::new();
        for (name, count) in [("correct", passed), ("wrong", verdicts.len() - passed)] {
            if count > 0 {
                categories.insert(name.to_string(), count);
            }
        }
        let values: Vec<f64> = per_problem.iter().map(|p| p.pass_at["pass@1"]).collect();
        Evaluation {
            samples: verdicts.len(),
            passed,
            problems: verdicts.len(),
            pass_at_k: match verdicts.is_empty() {
                true => Vec::new(),
                false => vec![PassAtK {
                    k: 1,
                    interval: bootstrap::interval(&values, 1),
                }],
            },
            skipped_k: Vec::new(),
            category_kinds: categories.clone(),
            categories,
            per_problem,
            localization: None,
        }
    }

    /// pass@k for one k, when it was reported.
    pub fn pass_at(&self, k: usize) -> Option<&Interval> {
        self.pass_at_k
            .iter()
            .find(|p| p.k == k)
            .map(|p| &p.interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracealign_core::{ProgramStatus, TestOutcome};

    fn execution(problem: &str, sample: &str, outcomes: &[TestOutcome]) -> Execution {
        Execution::with_outcomes(problem, sample, "", outcomes)
    }

    fn wrong() -> TestOutcome {
        TestOutcome::Failed {
            assertion: None,
            expected: None,
            actual: None,
        }
    }

    #[test]
    fn averages_per_problem_estimates_and_skips_ks_beyond_the_fewest_samples() {
        let mut runs = Vec::new();
        for i in 0..10 {
            let outcome = if i < 3 { TestOutcome::Passed } else { wrong() };
            runs.push(execution("a", &format!("a{i}"), &[outcome]));
            runs.push(execution("b", &format!("b{i}"), &[TestOutcome::Passed]));
        }
        runs.push(execution("a", "a#reference", &[TestOutcome::Passed]));
        let eval = Evaluation::of(&runs, &[1, 5, 100]);
        assert_eq!((eval.samples, eval.passed, eval.problems), (20, 13, 2));
        assert_eq!(eval.skipped_k, vec![100]);
        let one = eval.pass_at(1).unwrap();
        assert!((one.mean - (0.3 + 1.0) / 2.0).abs() < 1e-12);
        let five = eval.pass_at(5).unwrap();
        assert!((five.mean - (1.0 - 21.0 / 252.0 + 1.0) / 2.0).abs() < 1e-12);
        assert_eq!(eval.categories["wrong_answer"], 7);
        assert_eq!(eval.categories["passed"], 13);
    }

    #[test]
    fn the_first_test_that_did_not_pass_decides_the_category() {
        let error = TestOutcome::Error {
            exc_type: "IndexError".into(),
            message: "list index out of range".into(),
            line: Some(3),
            at_load: false,
        };
        let crash_first = execution("a", "x", &[TestOutcome::Passed, error.clone(), wrong()]);
        assert_eq!(
            Category::of(&crash_first).to_string(),
            "runtime_error:IndexError"
        );
        let wrong_first = execution("a", "y", &[wrong(), error]);
        assert_eq!(Category::of(&wrong_first), Category::WrongAnswer);
        let mut syntax = execution("a", "z", &[]);
        syntax.status = ProgramStatus::SyntaxError {
            line: Some(1),
            message: "invalid syntax".into(),
        };
        assert_eq!(Category::of(&syntax).kind(), "syntax_error");
    }
}
