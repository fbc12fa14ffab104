//! What a localizer may look at: the failing program and what it did, and optionally the
//! reference solution's run on the same tests and other programs to diff against.

use std::collections::BTreeMap;

use tracealign_core::{Execution, TestOutcome, Trace};

/// Suspiciousness per line (lines not in the map score 0).
pub type LineScores = BTreeMap<u32, f64>;

/// A program and its run (tests carry traces and coverage when run with them).
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    pub code: &'a str,
    pub execution: &'a Execution,
}

/// Everything one localization may use.
#[derive(Debug, Clone)]
pub struct Evidence<'a> {
    /// The program under suspicion.
    pub subject: Run<'a>,
    /// The reference solution run on the same tests, with traces for divergence.
    pub reference: Option<Run<'a>>,
    /// Correct programs to diff against: passing programs of the same problem, else the
    /// reference. Benchmarks on mutants leave the mutant's original out (it is the answer).
    pub fixes: Vec<&'a str>,
    /// Mutants of the subject and their runs, for mutation-based localization (empty when
    /// none were run).
    pub mutants: &'a [crate::mutation::MutantRun],
}

impl Run<'_> {
    /// Indices of the tests that did not pass.
    pub fn failing_tests(&self) -> impl Iterator<Item = usize> + '_ {
        self.execution
            .tests
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.outcome.is_passed())
            .map(|(i, _)| i)
    }

    pub fn trace(&self, test: usize) -> Option<&Trace> {
        self.execution.tests.get(test)?.trace.as_ref()
    }

    /// The candidate line where test `test` raised, when it raised in the candidate's code.
    pub fn error_line(&self, test: usize) -> Option<u32> {
        match &self.execution.tests.get(test)?.outcome {
            TestOutcome::Error { line, .. } => *line,
            _ => None,
        }
    }
}
