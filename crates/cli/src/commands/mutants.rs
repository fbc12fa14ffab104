//! Killed mutants: generate single-fault mutants of reference solutions and keep those that
//! some test catches (a mutant every test passes is equivalent, or the tests are too weak to
//! tell, and is useless as a faulty sample either way).

use std::collections::HashMap;

use tracealign_core::fault::char_span;
use tracealign_core::{Execution, InjectedFault, Problem, Sample};
use tracealign_exec::{Executor, PreparedProblem};
use tracealign_mutate::{mutants, Mutant};

use crate::printer;

/// Rounds of trying more candidates for problems that are still short of mutants.
const ROUNDS: usize = 3;

/// Up to `per_problem` killed mutants of each problem's reference, in the seeded candidate
/// order, with their executions (traced as the executor is configured).
pub fn killed_mutants(
    executor: &Executor,
    prepared: &[PreparedProblem],
    problems: &[Problem],
    per_problem: usize,
    seed: u64,
    quiet: bool,
) -> Vec<(Sample, Execution)> {
    let candidates: Vec<Vec<Sample>> = problems
        .iter()
        .map(|p| {
            let reference = Sample::reference(p);
            mutants(&p.reference, seed)
                .into_iter()
                .enumerate()
                .map(|(k, m)| mutant_sample(p, &reference, k, m))
                .collect()
        })
        .collect();
    let mut kept: Vec<Vec<(Sample, Execution)>> = vec![Vec::new(); problems.len()];
    let mut tried = vec![0usize; problems.len()];
    for round in 0..ROUNDS {
        let mut batch = Vec::new();
        for (i, pool) in candidates.iter().enumerate() {
            let missing = per_problem.saturating_sub(kept[i].len());
            // Most mutants are killed; try a few extra so one round usually suffices.
            let take = (missing * (2 << round)).min(pool.len() - tried[i]);
            batch.extend(pool[tried[i]..tried[i] + take].iter().cloned());
            tried[i] += take;
        }
        if batch.is_empty() {
            break;
        }
        let index: HashMap<&str, usize> = problems
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.as_str(), i))
            .collect();
        let by_id: HashMap<String, Sample> = batch
            .iter()
            .map(|s| (s.sample_id.clone(), s.clone()))
            .collect();
        let bar = printer::progress(batch.len(), "mutants", quiet);
        let mut found: Vec<(Sample, Execution)> = Vec::new();
        executor.run(prepared, &batch, |execution| {
            bar.inc(1);
            if !execution.passed {
                found.push((by_id[&execution.sample_id].clone(), execution));
            }
        });
        bar.finish_and_clear();
        // Keep the candidate order, whatever order the runs finished in.
        found.sort_by_key(|(s, _)| candidate_index(s));
        for (sample, execution) in found {
            let slot = &mut kept[index[sample.problem_id.as_str()]];
            if slot.len() < per_problem {
                slot.push((sample, execution));
            }
        }
    }
    kept.into_iter().flatten().collect()
}

fn mutant_sample(problem: &Problem, reference: &Sample, k: usize, mutant: Mutant) -> Sample {
    let span = char_span(&mutant.code, mutant.span);
    Sample {
        problem_id: problem.id.clone(),
        sample_id: format!("{}#mutant{k}", problem.id),
        model: Some("mutant".into()),
        mutation: Some(InjectedFault {
            operator: mutant.operator.name().to_string(),
            lines: mutant.lines,
            span,
            description: mutant.description,
            origin: reference.sample_id.clone(),
        }),
        code: mutant.code,
    }
}

fn candidate_index(sample: &Sample) -> usize {
    sample
        .sample_id
        .rsplit("#mutant")
        .next()
        .and_then(|k| k.parse().ok())
        .unwrap_or(usize::MAX)
}
