//! `tracealign localize`: a fault report for every program of a runs file.

use std::collections::HashMap;
use std::io::Write;

use anyhow::{anyhow, bail, Context, Result};
use tracealign_core::formats::runs::read_runs;
use tracealign_core::{Execution, FaultReport, Problem, Sample};
use tracealign_exec::{Executor, TraceMode};
use tracealign_localize::{report, Evidence, Method, MutantRun, Run, Weights};

use crate::args::{ExecArgs, LocalizeArgs};
use crate::commands::mutation_runs::{mutant_exec_config, mutant_runs};
use crate::commands::run::problem_set;
use crate::commands::scaffolding::reruns_for_runs_file;
use crate::commands::workers::{exec_config, prepare, warn_about_isolation};
use crate::printer;

pub fn localize(args: LocalizeArgs) -> Result<()> {
    let method = parse_method(&args.method)?;
    let executions = read_runs(&args.runs)?;
    if let Some(old) = executions.iter().find(|e| e.code.is_empty()) {
        bail!(
            "{}: sample `{}` has no program recorded (the file was written by an older \
             tracealign); run the samples again with `tracealign run`",
            args.runs.display(),
            old.sample_id
        );
    }
    let problems = problem_set(args.problems.as_deref(), args.format)?;
    let by_id: HashMap<&str, &Problem> = problems.iter().map(|p| (p.id.as_str(), p)).collect();
    if let Some(stray) = executions
        .iter()
        .find(|e| !by_id.contains_key(e.problem_id.as_str()))
    {
        bail!(
            "{}: sample `{}` is of problem `{}`, which is not in the problem set; pass the \
             problems the runs were made with (--problems)",
            args.runs.display(),
            stray.sample_id,
            stray.problem_id
        );
    }
    // A program that failed on its own test code is localized on a rerun without it.
    let reruns = reruns_for_runs_file(&executions, &problems, &args.exec, args.quiet)?;
    let subjects: Vec<&Execution> = executions
        .iter()
        .map(|e| reruns.get(&e.sample_id).unwrap_or(e))
        .collect();
    let references = reference_runs(&subjects, &problems, &args.exec, args.quiet)?;
    let mutants = mutants_of_failing(&subjects, &problems, &args)?;
    let no_mutants = Vec::new();
    let reports = executions.iter().zip(&subjects).map(|(e, subject)| {
        let problem = by_id[e.problem_id.as_str()];
        let fixes = fixes_for(e, &executions, problem);
        let evidence = Evidence {
            subject: Run {
                code: &subject.code,
                execution: subject,
            },
            reference: references.get(&e.problem_id).map(|r| Run {
                code: &problem.reference,
                execution: r,
            }),
            fixes,
            mutants: mutants.get(&e.sample_id).unwrap_or(&no_mutants),
        };
        FaultReport {
            code: e.code.clone(),
            ..report(&evidence, method, &Weights::DEFAULT)
        }
    });
    let written = write_reports(&args.output, reports)?;
    let failing = executions.iter().filter(|e| !e.passed).count();
    println!(
        "{written} fault reports ({failing} failing programs, method {}) → {}",
        method.name(),
        args.output.display()
    );
    Ok(())
}

/// The method a name stands for, or an error listing the names.
pub fn parse_method(name: &str) -> Result<Method> {
    Method::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
        anyhow!(
            "unknown localization method `{name}`: expected one of {}",
            names.join(", ")
        )
    })
}

/// Mutants of every failing program run on its tests (none with `--mutation-budget 0`,
/// or when the method does not use them).
fn mutants_of_failing(
    executions: &[&Execution],
    problems: &[Problem],
    args: &LocalizeArgs,
) -> Result<HashMap<String, Vec<MutantRun>>> {
    let method = parse_method(&args.method)?;
    let failing: Vec<&Execution> = executions.iter().filter(|e| !e.passed).copied().collect();
    let wanted = matches!(method, Method::Mutation | Method::Combined);
    if !wanted || args.mutation_budget == 0 || failing.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: std::collections::HashSet<&str> =
        failing.iter().map(|e| e.problem_id.as_str()).collect();
    let needed: Vec<Problem> = problems
        .iter()
        .filter(|p| ids.contains(p.id.as_str()))
        .cloned()
        .collect();
    let executor = Executor::start(mutant_exec_config(&args.exec)?)?;
    let prepared = prepare(&executor, &args.exec, &needed, args.quiet)?;
    Ok(mutant_runs(
        &executor,
        &prepared,
        &failing,
        args.mutation_budget,
        args.quiet,
    ))
}

/// Programs the diff localizer may compare a failing one with: the other passing programs of
/// its problem, or the reference solution when none passes.
pub fn fixes_for<'a>(
    subject: &Execution,
    all: &'a [Execution],
    problem: &'a Problem,
) -> Vec<&'a str> {
    let passing: Vec<&str> = all
        .iter()
        .filter(|e| e.passed && e.problem_id == subject.problem_id)
        .filter(|e| e.sample_id != subject.sample_id && !is_reference(e))
        .map(|e| e.code.as_str())
        .collect();
    if passing.is_empty() {
        vec![problem.reference.as_str()]
    } else {
        passing
    }
}

fn is_reference(execution: &Execution) -> bool {
    execution.sample_id.ends_with("#reference")
}

/// Traced runs of the reference solutions of the problems with a traced failing program:
/// taken from the runs file when it has them, else run now with full tracing.
fn reference_runs(
    executions: &[&Execution],
    problems: &[Problem],
    exec: &ExecArgs,
    quiet: bool,
) -> Result<HashMap<String, Execution>> {
    let traced = |e: &Execution| e.tests.iter().any(|t| t.trace.is_some());
    let mut found: HashMap<String, Execution> = executions
        .iter()
        .filter(|e| is_reference(e) && traced(e))
        .map(|e| (e.problem_id.clone(), (*e).clone()))
        .collect();
    let needed: Vec<Problem> = problems
        .iter()
        .filter(|p| !found.contains_key(&p.id))
        .filter(|p| {
            executions
                .iter()
                .any(|e| e.problem_id == p.id && !e.passed && traced(e))
        })
        .cloned()
        .collect();
    if needed.is_empty() {
        return Ok(found);
    }
    let executor = Executor::start(exec_config(exec, TraceMode::Full)?)?;
    warn_about_isolation(&executor);
    let prepared = prepare(&executor, exec, &needed, quiet)?;
    let samples: Vec<Sample> = needed.iter().map(Sample::reference).collect();
    let bar = printer::progress(samples.len(), "tracing references", quiet);
    executor.run(&prepared, &samples, |execution| {
        bar.inc(1);
        found.insert(execution.problem_id.clone(), execution);
    });
    bar.finish_and_clear();
    Ok(found)
}

/// Writes reports as JSON Lines; returns how many.
pub fn write_reports(
    path: &std::path::Path,
    reports: impl Iterator<Item = FaultReport>,
) -> Result<usize> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let mut count = 0;
    for report in reports {
        serde_json::to_writer(&mut out, &report)?;
        out.write_all(b"\n")?;
        count += 1;
    }
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(count)
}
