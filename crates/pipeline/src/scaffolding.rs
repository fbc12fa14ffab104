//! Programs that fail before any test runs because of their own module-level test code (an
//! `assert f(1) == 2` a model appended) give localization nothing to look at: every test
//! "raised" on that assert. Localization runs them again with the scaffolding blanked out
//! (the same lines at the same numbers) and looks at what the tests do to the function.

use std::collections::HashMap;

use tracealign_core::{Execution, Sample, TestOutcome};
use tracealign_exec::{Executor, PreparedProblem};
use tracealign_localize::program::Program;

use crate::progress::Progress;
use crate::workers::evaluate;

/// Whether a failing program failed while loading, before any test ran, and has
/// module-level test scaffolding to blame: every test raised at load (`at_load`; in runs
/// files written before that was recorded, on the same line of the scaffolding). The
/// exception may come from inside a function the scaffolding called: the tests, run without
/// the scaffolding, then show what that function does.
pub fn failed_on_scaffolding(execution: &Execution) -> bool {
    let errors: Option<Vec<(Option<u32>, bool)>> = execution
        .tests
        .iter()
        .map(|t| match &t.outcome {
            TestOutcome::Error { line, at_load, .. } => Some((*line, *at_load)),
            _ => None,
        })
        .collect();
    let Some(errors) = errors.filter(|e| !e.is_empty() && !execution.passed) else {
        return false; // some test did not raise: the tests ran
    };
    let scaffolding = || Program::parse(&execution.code).scaffolding_lines();
    if errors.iter().all(|&(_, at_load)| at_load) {
        return !scaffolding().is_empty();
    }
    match errors[0].0 {
        Some(first) => {
            errors.iter().all(|&(line, _)| line == Some(first)) && scaffolding().contains(&first)
        }
        None => false,
    }
}

/// `executions`, programs that failed on their scaffolding ([`failed_on_scaffolding`]), run
/// again without it; keyed by sample id, the reruns that still fail (one that passes was let
/// down by its own test code only, and there is no fault in its functions to find).
pub fn rerun_without_scaffolding(
    executor: &Executor,
    prepared: &[PreparedProblem],
    executions: &[&Execution],
    progress: &dyn Progress,
) -> HashMap<String, Execution> {
    let samples: Vec<Sample> = executions
        .iter()
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
    let label = "without their own test code";
    evaluate(executor, prepared, &samples, label, progress, |execution| {
        if !execution.passed {
            reruns.insert(execution.sample_id.clone(), execution);
        }
    });
    reruns
}
