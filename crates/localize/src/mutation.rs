//! Mutation-based localization (Metallaxis, Papadakis & Le Traon 2015): mutate the failing
//! program line by line and run the mutants. A mutant that changes what a failing test
//! sees (it passes now, or fails differently) touches code on the failure's path; one that
//! breaks passing tests touches code the passing behaviour depends on. Each mutant scores
//! like Ochiai over those counts, and a line scores as its best mutant. Unlike coverage,
//! this separates lines that always run together, which is where spectra tie.

use std::collections::HashSet;

use tracealign_core::Execution;

use crate::evidence::{LineScores, Run};

/// A mutant of the subject program and its run on the same tests.
#[derive(Debug, Clone)]
pub struct MutantRun {
    /// Lines of the subject the mutation is on.
    pub lines: Vec<u32>,
    pub execution: Execution,
}

pub fn mutation_scores(subject: &Run, mutants: &[MutantRun]) -> LineScores {
    let tests = &subject.execution.tests;
    let failing: HashSet<usize> = subject.failing_tests().collect();
    if failing.is_empty() {
        return LineScores::new();
    }
    let mut scores = LineScores::new();
    for mutant in mutants {
        let mut killed_failing = 0.0;
        let mut killed_passing = 0.0;
        for (k, (original, now)) in tests.iter().zip(&mutant.execution.tests).enumerate() {
            if failing.contains(&k) {
                if original.outcome != now.outcome {
                    killed_failing += 1.0;
                }
            } else if !now.outcome.is_passed() {
                killed_passing += 1.0;
            }
        }
        let denominator = (failing.len() as f64 * (killed_failing + killed_passing)).sqrt();
        let score = if denominator > 0.0 {
            killed_failing / denominator
        } else {
            0.0
        };
        for &line in &mutant.lines {
            let best = scores.entry(line).or_default();
            *best = best.max(score);
        }
    }
    scores
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracealign_core::TestOutcome;

    fn execution(outcomes: &[TestOutcome]) -> Execution {
        Execution::with_outcomes("p", "s", "", outcomes)
    }

    fn failed(actual: &str) -> TestOutcome {
        TestOutcome::Failed {
            assertion: None,
            expected: Some("1".into()),
            actual: Some(actual.into()),
        }
    }

    #[test]
    fn mutants_that_change_failing_outcomes_score_by_ochiai() {
        let subject = execution(&[failed("0"), failed("0"), TestOutcome::Passed]);
        let run = Run {
            code: "",
            execution: &subject,
        };
        let mutants = [
            // Line 2: fixes one failing test, changes the other, breaks nothing: 2/sqrt(2×2).
            MutantRun {
                lines: vec![2],
                execution: execution(&[TestOutcome::Passed, failed("5"), TestOutcome::Passed]),
            },
            // Line 3: changes one failing test and breaks the passing one: 1/sqrt(2×2).
            MutantRun {
                lines: vec![3],
                execution: execution(&[failed("7"), failed("0"), failed("3")]),
            },
            // Line 4: changes nothing the tests see.
            MutantRun {
                lines: vec![4],
                execution: execution(&[failed("0"), failed("0"), TestOutcome::Passed]),
            },
        ];
        let scores = mutation_scores(&run, &mutants);
        assert_eq!(scores[&2], 1.0);
        assert_eq!(scores[&3], 0.5);
        assert_eq!(scores[&4], 0.0);
    }
}
