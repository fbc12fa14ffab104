//! Programs that fail before any test runs because of their own module-level test code (an
//! `assert f(1) == 2` a model appended) give localization nothing to look at: every test
//! "raised" on that assert. Localization runs them again with the scaffolding blanked out
//! (the same lines at the same numbers) and looks at what the tests do to the function.

use std::collections::HashMap;

use anyhow::Result;
use tracealign_core::{Execution, Problem, Sample, TestOutcome};
use tracealign_exec::{Executor, PreparedProblem, TraceMode};
use tracealign_localize::program::Program;

use crate::args::ExecArgs;
use crate::commands::workers::{exec_config, prepare};
use crate::printer;

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
    quiet: bool,
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

/// [`rerun_without_scaffolding`] for a runs file, with workers of its own (nothing is
/// started when no program needs it). Always traced in full: such programs are few, and
/// their first run recorded no test at all, traced or not.
pub fn reruns_for_runs_file(
    executions: &[Execution],
    problems: &[Problem],
    exec: &ExecArgs,
    quiet: bool,
) -> Result<HashMap<String, Execution>> {
    let subjects: Vec<&Execution> = executions
        .iter()
        .filter(|e| failed_on_scaffolding(e))
        .collect();
    if subjects.is_empty() {
        return Ok(HashMap::new());
    }
    let needed: Vec<Problem> = problems
        .iter()
        .filter(|p| subjects.iter().any(|e| e.problem_id == p.id))
        .cloned()
        .collect();
    let executor = Executor::start(exec_config(exec, TraceMode::Full)?)?;
    let prepared = prepare(&executor, exec, &needed, quiet)?;
    Ok(rerun_without_scaffolding(
        &executor, &prepared, &subjects, quiet,
    ))
}
