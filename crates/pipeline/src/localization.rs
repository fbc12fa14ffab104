//! The `localize` step: a fault report for every execution of a runs set, with the evidence
//! its method needs gathered first, each kind only when the method uses it and something
//! needs it (executors start lazily).

use std::collections::{BTreeMap, HashMap, HashSet};

use tracealign_core::{Execution, FaultReport, Problem, Sample};
use tracealign_exec::{ExecError, Executor, PreparedProblem, TraceMode};
use tracealign_localize::{report, Evidence, Method, MutantRun, Run, Weights};
use tracealign_mutate::{mutants, Mutant};

use crate::progress::Progress;
use crate::scaffolding::{failed_on_scaffolding, rerun_without_scaffolding};
use crate::workers::{evaluate, ExecSettings, Workers};

/// What `localize` does.
#[derive(Debug, Clone)]
pub struct LocalizeSettings {
    pub method: Method,
    /// Mutants of each failing program run for mutation-based localization (0: none).
    pub mutation_budget: usize,
    pub exec: ExecSettings,
}

/// Why a runs set cannot be localized.
#[derive(Debug, thiserror::Error)]
pub enum LocalizeError {
    #[error(
        "sample `{sample_id}` has no program recorded (written by an older tracealign); \
         run the samples again"
    )]
    NoProgram { sample_id: String },
    #[error(
        "sample `{sample_id}` is of problem `{problem_id}`, which is not in the problem set; \
         pass the problems the runs were made with"
    )]
    UnknownProblem {
        sample_id: String,
        problem_id: String,
    },
    #[error(transparent)]
    Exec(#[from] ExecError),
}

/// The per-test time floor of mutant runs (when the user's is higher). A mutant that loops
/// has changed the outcome as soon as it outlives this or its reference-based limit,
/// whichever is larger; waiting out the usual 1 s floor made mutant runs mostly waiting
/// (`localize` of the main job's runs, `--mutation-budget 3`: 54 s → 16 s, the same top
/// line in 216 of 217 reports).
pub const MUTANT_TIMEOUT_FLOOR_S: f64 = 0.25;

/// A fault report for each of `executions` (in their order), each carrying its program.
/// Programs that failed on their own test code are localized on a traced rerun without it;
/// failing traced programs are compared with their problem's reference solution traced
/// alike (taken from `executions` when they hold it, as `#reference` samples).
pub fn localize(
    settings: &LocalizeSettings,
    problems: &[Problem],
    executions: &[Execution],
    progress: &dyn Progress,
) -> Result<Vec<FaultReport>, LocalizeError> {
    let inputs = LocalizeInputs {
        problems,
        executions,
        references: &[],
        traced: None,
    };
    localize_with(settings, &inputs, progress)
}

/// What [`localize_with`] reads besides its settings.
pub struct LocalizeInputs<'a> {
    pub problems: &'a [Problem],
    pub executions: &'a [Execution],
    /// Traced reference runs made elsewhere (a pipeline's `references` stage): used before
    /// any in `executions`; only missing ones are traced.
    pub references: &'a [Execution],
    /// A traced executor the caller holds, with every problem prepared: scaffolding reruns
    /// and missing references run on it instead of on workers started here.
    pub traced: Option<(&'a Executor, &'a [PreparedProblem])>,
}

/// [`localize`] with references and a traced executor from the caller. Scaffolding reruns
/// and reference runs share one traced executor (the caller's, or one started when needed);
/// mutant runs (untraced, with a shorter time floor) get their own.
pub fn localize_with(
    settings: &LocalizeSettings,
    inputs: &LocalizeInputs,
    progress: &dyn Progress,
) -> Result<Vec<FaultReport>, LocalizeError> {
    let (problems, executions) = (inputs.problems, inputs.executions);
    let by_id: HashMap<&str, &Problem> = problems.iter().map(|p| (p.id.as_str(), p)).collect();
    check_inputs(executions, &by_id)?;
    let workers = Workers {
        settings: &settings.exec,
        progress,
    };
    let mut traced = TracedWorkers {
        workers: &workers,
        given: inputs.traced,
        started: None,
        problems: problems_of(problems, executions.iter().filter(|e| !e.passed)),
    };
    let reruns = reruns_of_scaffolding_failures(&mut traced, executions)?;
    let subjects: Vec<&Execution> = executions
        .iter()
        .map(|e| reruns.get(&e.sample_id).unwrap_or(e))
        .collect();
    let references = reference_runs(&mut traced, &subjects, inputs.references, problems)?;
    let mutants = mutants_of_failing(&workers, settings, &subjects, problems)?;
    let no_mutants = Vec::new();
    Ok(executions
        .iter()
        .zip(&subjects)
        .map(|(e, subject)| {
            let problem = by_id[e.problem_id.as_str()];
            let evidence = Evidence {
                subject: Run {
                    code: &subject.code,
                    execution: subject,
                },
                reference: references.get(&e.problem_id).map(|r| Run {
                    code: &problem.reference,
                    execution: r,
                }),
                fixes: fixes_for(e, executions, problem),
                mutants: mutants.get(&e.sample_id).unwrap_or(&no_mutants),
            };
            FaultReport {
                code: e.code.clone(),
                ..report(&evidence, settings.method, &Weights::DEFAULT)
            }
        })
        .collect())
}

/// The traced executor localization runs programs on: the caller's, else one started on
/// first use with the failing programs' problems prepared.
struct TracedWorkers<'a> {
    workers: &'a Workers<'a>,
    given: Option<(&'a Executor, &'a [PreparedProblem])>,
    started: Option<(Executor, Vec<PreparedProblem>)>,
    problems: Vec<Problem>,
}

impl TracedWorkers<'_> {
    fn get(&mut self) -> Result<(&Executor, &[PreparedProblem]), ExecError> {
        if let Some(given) = self.given {
            return Ok(given);
        }
        if self.started.is_none() {
            let executor = self.workers.start(TraceMode::Full)?;
            let prepared = self.workers.prepare(&executor, &self.problems)?;
            self.started = Some((executor, prepared));
        }
        let (executor, prepared) = self.started.as_ref().expect("started above");
        Ok((executor, prepared))
    }
}

fn check_inputs(
    executions: &[Execution],
    by_id: &HashMap<&str, &Problem>,
) -> Result<(), LocalizeError> {
    if let Some(old) = executions.iter().find(|e| e.code.is_empty()) {
        return Err(LocalizeError::NoProgram {
            sample_id: old.sample_id.clone(),
        });
    }
    match executions
        .iter()
        .find(|e| !by_id.contains_key(e.problem_id.as_str()))
    {
        Some(stray) => Err(LocalizeError::UnknownProblem {
            sample_id: stray.sample_id.clone(),
            problem_id: stray.problem_id.clone(),
        }),
        None => Ok(()),
    }
}

/// The problems some of `executions` are of.
fn problems_of<'a>(
    problems: &[Problem],
    executions: impl Iterator<Item = &'a Execution>,
) -> Vec<Problem> {
    let ids: HashSet<&str> = executions.map(|e| e.problem_id.as_str()).collect();
    problems
        .iter()
        .filter(|p| ids.contains(p.id.as_str()))
        .cloned()
        .collect()
}

/// Traced reruns, without their scaffolding, of the programs that failed on it (always in
/// full: such programs are few, and their first run recorded no test at all).
fn reruns_of_scaffolding_failures(
    traced: &mut TracedWorkers,
    executions: &[Execution],
) -> Result<HashMap<String, Execution>, ExecError> {
    let subjects: Vec<&Execution> = executions
        .iter()
        .filter(|e| failed_on_scaffolding(e))
        .collect();
    if subjects.is_empty() {
        return Ok(HashMap::new());
    }
    let progress = traced.workers.progress;
    let (executor, prepared) = traced.get()?;
    Ok(rerun_without_scaffolding(
        executor, prepared, &subjects, progress,
    ))
}

/// Traced runs of the reference solutions of the problems with a traced failing program:
/// taken from `executions` when they hold them, else run now, traced in full.
fn reference_runs(
    traced: &mut TracedWorkers,
    executions: &[&Execution],
    given: &[Execution],
    problems: &[Problem],
) -> Result<HashMap<String, Execution>, ExecError> {
    let is_traced = |e: &Execution| e.tests.iter().any(|t| t.trace.is_some());
    let mut found: HashMap<String, Execution> = (executions.iter().copied().chain(given))
        .filter(|e| e.is_reference() && is_traced(e))
        .map(|e| (e.problem_id.clone(), e.clone()))
        .collect();
    let wanting = executions
        .iter()
        .copied()
        .filter(|e| !e.passed && is_traced(e) && !found.contains_key(&e.problem_id));
    let needed = problems_of(problems, wanting);
    if needed.is_empty() {
        return Ok(found);
    }
    let samples: Vec<Sample> = needed.iter().map(Sample::reference).collect();
    let progress = traced.workers.progress;
    let (executor, prepared) = traced.get()?;
    evaluate(
        executor,
        prepared,
        &samples,
        "tracing references",
        progress,
        |e| {
            found.insert(e.problem_id.clone(), e);
        },
    );
    Ok(found)
}

/// Mutants of every failing program run on its tests (none with a budget of 0, or when the
/// method does not use them).
fn mutants_of_failing(
    workers: &Workers,
    settings: &LocalizeSettings,
    executions: &[&Execution],
    problems: &[Problem],
) -> Result<HashMap<String, Vec<MutantRun>>, ExecError> {
    let failing: Vec<&Execution> = executions.iter().filter(|e| !e.passed).copied().collect();
    let wanted = matches!(settings.method, Method::Mutation | Method::Combined);
    if !wanted || settings.mutation_budget == 0 || failing.is_empty() {
        return Ok(HashMap::new());
    }
    let executor = start_for_mutants(workers)?;
    let prepared = workers.prepare(&executor, &problems_of(problems, failing.iter().copied()))?;
    Ok(mutant_runs(
        &executor,
        &prepared,
        &failing,
        settings.mutation_budget,
        workers.progress,
    ))
}

/// Workers for mutant runs: untraced, with the shorter time floor.
pub fn start_for_mutants(workers: &Workers) -> Result<Executor, ExecError> {
    workers.start_with(TraceMode::None, |config| {
        let floor = &mut config.limits.timeout_floor_s;
        *floor = floor.min(MUTANT_TIMEOUT_FLOOR_S);
    })
}

/// Up to `budget` mutants of each failing program in `subjects`, spread over its lines
/// (one mutant per line per round, so every line is tried before any line twice), run
/// on `executor`. Keyed by the subject's sample id.
pub fn mutant_runs(
    executor: &Executor,
    prepared: &[PreparedProblem],
    subjects: &[&Execution],
    budget: usize,
    progress: &dyn Progress,
) -> HashMap<String, Vec<MutantRun>> {
    let mut samples = Vec::new();
    let mut lines_of: HashMap<String, (String, Vec<u32>)> = HashMap::new();
    for subject in subjects.iter().filter(|s| !s.passed) {
        for (k, mutant) in spread(mutants(&subject.code, 0), budget)
            .into_iter()
            .enumerate()
        {
            let sample_id = format!("{}#mbfl{k}", subject.sample_id);
            lines_of.insert(sample_id.clone(), (subject.sample_id.clone(), mutant.lines));
            samples.push(Sample {
                problem_id: subject.problem_id.clone(),
                sample_id,
                code: mutant.code,
                model: None,
                mutation: None,
            });
        }
    }
    let mut runs: HashMap<String, Vec<MutantRun>> = HashMap::new();
    let label = "mutants of failing programs";
    evaluate(executor, prepared, &samples, label, progress, |execution| {
        if let Some((subject, lines)) = lines_of.remove(&execution.sample_id) {
            runs.entry(subject)
                .or_default()
                .push(MutantRun { lines, execution });
        }
    });
    runs
}

/// At most `budget` mutants, taking each line's first mutant before any line's second.
fn spread(all: Vec<Mutant>, budget: usize) -> Vec<Mutant> {
    let mut by_line: BTreeMap<u32, Vec<Mutant>> = BTreeMap::new();
    for mutant in all {
        let line = mutant.lines.first().copied().unwrap_or(0);
        by_line.entry(line).or_default().push(mutant);
    }
    let mut queues: Vec<std::vec::IntoIter<Mutant>> =
        by_line.into_values().map(Vec::into_iter).collect();
    let mut chosen = Vec::new();
    while chosen.len() < budget {
        let before = chosen.len();
        for queue in &mut queues {
            if chosen.len() == budget {
                break;
            }
            chosen.extend(queue.next());
        }
        if chosen.len() == before {
            break;
        }
    }
    chosen
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
        .filter(|e| e.sample_id != subject.sample_id && !e.is_reference())
        .map(|e| e.code.as_str())
        .collect();
    if passing.is_empty() {
        vec![problem.reference.as_str()]
    } else {
        passing
    }
}
