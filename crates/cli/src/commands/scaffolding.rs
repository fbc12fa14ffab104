//! Programs that fail before any test runs because of their own module-level test code (an
//! `assert f(1) == 2` a model appended) give localization nothing to look at: every test
//! "raised" on that assert. Localization runs them again with the scaffolding blanked out
//! (the same lines at the same numbers) and looks at what the tests do to the function.

use std::collections::HashMap;

use tracealign_core::{Execution, Sample, TestOutcome};
use tracealign_exec::{Executor, PreparedProblem};
use tracealign_localize::program::Program;

use crate::printer;

/// Whether every test of a failing program raised on the same line of its module-level
/// test scaffolding: it failed while loading, before the tests ran.
pub fn failed_on_scaffolding(execution: &Execution) -> bool {
    let mut lines = execution.tests.iter().map(|t| match &t.outcome {
        TestOutcome::Error { line, .. } => *line,
        _ => None,
    });
    let Some(Some(first)) = lines.next() else {
        return false; // no tests, or the first did not raise on a line of the program
    };
    !execution.passed
        && lines.all(|l| l == Some(first))
        && Program::parse(&execution.code)
            .scaffolding_lines()
            .contains(&first)
}

/// The programs among `executions` that failed on their scaffolding, run again without it;
/// keyed by sample id, the reruns that still fail (one that passes was let down by its own
/// test code only, and there is no fault in its functions to find).
pub fn rerun_without_scaffolding(
    executor: &Executor,
    prepared: &[PreparedProblem],
    executions: &[&Execution],
    quiet: bool,
) -> HashMap<String, Execution> {
    let samples: Vec<Sample> = executions
        .iter()
        .filter(|e| failed_on_scaffolding(e))
        .map(|e| Sample {
            problem_id: e.problem_id.clone(),
            sample_id: e.sample_id.clone(),
            code: Program::parse(&e.code).without_scaffolding(),
            model: e.model.clone(),
            mutation: None,
        })
        .collect();
    let mut reruns = HashMap::new();
    if samples.is_empty() {
        return reruns;
    }
    let bar = printer::progress(samples.len(), "without their own test code", quiet);
    executor.run(prepared, &samples, |execution| {
        bar.inc(1);
        if !execution.passed {
            reruns.insert(execution.sample_id.clone(), execution);
        }
    });
    bar.finish_and_clear();
    reruns
}
