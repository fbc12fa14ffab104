//! Mutants of failing programs, run on their tests, for mutation-based localization.

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use tracealign_core::{Execution, Sample};
use tracealign_exec::{ExecConfig, Executor, PreparedProblem, TraceMode};
use tracealign_localize::MutantRun;
use tracealign_mutate::{mutants, Mutant};

use crate::args::ExecArgs;
use crate::commands::workers::exec_config;
use crate::printer;

/// The per-test time floor of mutant runs (when the user's is higher). A mutant that loops
/// has changed the outcome as soon as it outlives this or its reference-based limit,
/// whichever is larger; waiting out the usual 1 s floor made mutant runs mostly waiting
/// (`localize` of the main job's runs, `--mutation-budget 3`: 54 s → 16 s, the same top
/// line in 216 of 217 reports).
const MUTANT_TIMEOUT_FLOOR_S: f64 = 0.25;

/// Workers for mutant runs: untraced, with the shorter time floor.
pub fn mutant_exec_config(exec: &ExecArgs) -> Result<ExecConfig> {
    let mut config = exec_config(exec, TraceMode::None)?;
    config.limits.timeout_floor_s = config.limits.timeout_floor_s.min(MUTANT_TIMEOUT_FLOOR_S);
    Ok(config)
}

/// Up to `budget` mutants of each failing program in `subjects`, spread over its lines
/// (one mutant per line per round, so every line is tried before any line twice), run
/// without tracing. Keyed by the subject's sample id.
pub fn mutant_runs(
    executor: &Executor,
    prepared: &[PreparedProblem],
    subjects: &[&Execution],
    budget: usize,
    quiet: bool,
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
    let bar = printer::progress(samples.len(), "mutants of failing programs", quiet);
    let mut runs: HashMap<String, Vec<MutantRun>> = HashMap::new();
    executor.run(prepared, &samples, |execution| {
        bar.inc(1);
        if let Some((subject, lines)) = lines_of.remove(&execution.sample_id) {
            runs.entry(subject)
                .or_default()
                .push(MutantRun { lines, execution });
        }
    });
    bar.finish_and_clear();
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
