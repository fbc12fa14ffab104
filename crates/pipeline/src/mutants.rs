//! The `mutate` step: single-fault mutants of reference solutions that some test kills (a
//! mutant every test passes is equivalent, or the tests are too weak to tell, and is useless
//! as a faulty sample either way).

use std::collections::HashMap;

use tracealign_core::fault::char_span;
use tracealign_core::sample::{mutant_id, mutant_index};
use tracealign_core::{Execution, InjectedFault, Problem, Sample};
use tracealign_exec::{Executor, PreparedProblem};
use tracealign_mutate::{mutants, Mutant};

use crate::progress::Progress;
use crate::workers::evaluate;

/// Rounds of trying more candidates for problems that are still short of mutants.
const ROUNDS: usize = 3;

/// What `kill_mutants` makes.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct MutateSettings {
    /// Killed mutants kept per problem at most.
    pub per_problem: usize,
    /// Seed of the candidates' order.
    pub seed: u64,
}

/// Up to `per_problem` killed mutants of each problem's reference, in the seeded candidate
/// order, with their executions (traced as the executor is configured).
pub fn kill_mutants(
    executor: &Executor,
    prepared: &[PreparedProblem],
    problems: &[Problem],
    settings: MutateSettings,
    progress: &dyn Progress,
) -> Vec<(Sample, Execution)> {
    let candidates: Vec<Vec<Sample>> = problems
        .iter()
        .map(|p| {
            let reference = Sample::reference(p);
            mutants(&p.reference, settings.seed)
                .into_iter()
                .enumerate()
                .map(|(k, m)| mutant_sample(p, &reference, k, m))
                .collect()
        })
        .collect();
    let index: HashMap<&str, usize> = problems
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let mut kept: Vec<Vec<(Sample, Execution)>> = vec![Vec::new(); problems.len()];
    let mut tried = vec![0usize; problems.len()];
    for round in 0..ROUNDS {
        let mut batch = Vec::new();
        for (i, pool) in candidates.iter().enumerate() {
            let missing = settings.per_problem.saturating_sub(kept[i].len());
            // Most mutants are killed; try a few extra so one round usually suffices.
            let take = (missing * (2 << round)).min(pool.len() - tried[i]);
            batch.extend(pool[tried[i]..tried[i] + take].iter().cloned());
            tried[i] += take;
        }
        if batch.is_empty() {
            break;
        }
        let by_id: HashMap<&str, &Sample> =
            batch.iter().map(|s| (s.sample_id.as_str(), s)).collect();
        let mut found: Vec<(Sample, Execution)> = Vec::new();
        evaluate(
            executor,
            prepared,
            &batch,
            "mutants",
            progress,
            |execution| {
                if !execution.passed {
                    found.push((by_id[execution.sample_id.as_str()].clone(), execution));
                }
            },
        );
        // Keep the candidate order, whatever order the runs finished in.
        found.sort_by_key(|(s, _)| mutant_index(&s.sample_id).unwrap_or(usize::MAX));
        for (sample, execution) in found {
            let slot = &mut kept[index[sample.problem_id.as_str()]];
            if slot.len() < settings.per_problem {
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
        sample_id: mutant_id(&problem.id, k),
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
