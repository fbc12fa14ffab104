//! A group's samples scored by running them: the facts credit assignment needs, on each
//! completion's tokens.
//!
//! Samples run traced (every test's line events) on a traced executor with the problems
//! prepared; failing ones are localized against the traced reference runs (the combined
//! method, no mutant runs: what the service's `/v1/reward` does), and compared with the
//! reference trace for their first divergence. From there, per completion token:
//! - the suspicion of its characters: the negative part of the `fault_penalty` dense reward
//!   (`rewards::score`, the code `build rewards` and the service use);
//! - whether it lies on the line of the first divergence, the blamed line's content.
//!
//! The scalar reward is `rewards::score` under the credit mode's scheme.

use std::collections::HashMap;
use std::ops::Range;

use tracealign_core::{Execution, FaultReport, Problem, Sample};
use tracealign_dataset::lines::LineIndex;
use tracealign_dataset::rewards::{score, Evidence, Scheme};
use tracealign_exec::{Executor, PreparedProblem};
use tracealign_localize::Method;
use tracealign_pipeline::{
    localize_with, ExecSettings, LocalizeInputs, LocalizeSettings, NoProgress,
};
use tracealign_trace::divergence::first_failing_divergence;

use crate::credit::{Credit, Rollout};

/// A problem ready to score samples of: prepared on the traced executor, with its traced
/// reference run.
pub struct Scoring<'a> {
    pub settings: &'a ExecSettings,
    /// Records full traces.
    pub executor: &'a Executor,
    pub problems: &'a [Problem],
    pub prepared: &'a [PreparedProblem],
    /// The reference solutions' traced runs, one per problem.
    pub references: &'a [Execution],
}

/// One sampled completion and its tokens' character spans (within the completion).
#[derive(Debug, Clone)]
pub struct Candidate {
    pub problem_id: String,
    pub sample_id: String,
    /// The text the completion continues: the program is `prompt + completion`.
    pub prompt: String,
    pub completion: String,
    pub spans: Vec<Range<usize>>,
}

/// A candidate's execution and what credit assignment takes from it.
#[derive(Debug, Clone)]
pub struct Scored {
    pub execution: Execution,
    pub rollout: Rollout,
}

/// Why scoring failed (the machinery, never a program's misbehaviour).
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error("no problem `{0}` among those prepared")]
    UnknownProblem(String),
    #[error("sample {0} did not come back from the executor")]
    Lost(String),
    #[error(transparent)]
    Localize(#[from] tracealign_pipeline::LocalizeError),
    #[error("scoring failed: {0}")]
    Reward(String),
    #[error(transparent)]
    Exec(#[from] tracealign_exec::ExecError),
}

impl Scoring<'_> {
    /// Runs, localizes and scores `candidates` (in order).
    pub fn score(
        &self,
        candidates: &[Candidate],
        credit: Credit,
    ) -> Result<Vec<Scored>, ScoreError> {
        let by_id: HashMap<&str, &Problem> =
            self.problems.iter().map(|p| (p.id.as_str(), p)).collect();
        let samples = (candidates.iter())
            .map(|c| {
                if !by_id.contains_key(c.problem_id.as_str()) {
                    return Err(ScoreError::UnknownProblem(c.problem_id.clone()));
                }
                Ok(Sample {
                    problem_id: c.problem_id.clone(),
                    sample_id: c.sample_id.clone(),
                    code: format!("{}{}", c.prompt, c.completion),
                    model: None,
                    mutation: None,
                })
            })
            .collect::<Result<Vec<_>, ScoreError>>()?;
        let executions = self.run(&samples)?;
        let reports = self.localize(&executions)?;
        let references: HashMap<&str, &Execution> = self
            .references
            .iter()
            .map(|e| (e.problem_id.as_str(), e))
            .collect();
        let scheme = credit.reward_scheme();
        (candidates.iter().zip(executions).zip(&reports))
            .map(|((candidate, execution), report)| {
                let problem = by_id[candidate.problem_id.as_str()];
                let reference = references.get(candidate.problem_id.as_str()).copied();
                let rollout = rollout(candidate, problem, &execution, report, reference, scheme)?;
                Ok(Scored { execution, rollout })
            })
            .collect()
    }

    fn run(&self, samples: &[Sample]) -> Result<Vec<Execution>, ScoreError> {
        let mut done: HashMap<String, Execution> = HashMap::new();
        self.executor.run(self.prepared, samples, |execution| {
            done.insert(execution.sample_id.clone(), execution);
        });
        (samples.iter())
            .map(|s| {
                done.remove(&s.sample_id)
                    .ok_or_else(|| ScoreError::Lost(s.sample_id.clone()))
            })
            .collect()
    }

    fn localize(&self, executions: &[Execution]) -> Result<Vec<FaultReport>, ScoreError> {
        let settings = LocalizeSettings {
            method: Method::Combined,
            mutation_budget: 0,
            exec: self.settings.clone(),
        };
        let inputs = LocalizeInputs {
            problems: self.problems,
            executions,
            references: self.references,
            traced: Some((self.executor, self.prepared)),
        };
        Ok(localize_with(&settings, &inputs, &NoProgress)?)
    }
}

fn rollout(
    candidate: &Candidate,
    problem: &Problem,
    execution: &Execution,
    report: &FaultReport,
    reference: Option<&Execution>,
    scheme: Scheme,
) -> Result<Rollout, ScoreError> {
    let reward = |evidence: &Evidence, scheme| {
        score(evidence, scheme).map_err(|e| ScoreError::Reward(e.to_string()))
    };
    let evidence = Evidence {
        fault: Some(report),
        ..Evidence::of(execution)
    };
    let value = reward(&evidence, scheme)?.value.unwrap_or(0.0);
    let passed = execution.passed;
    let offset = candidate.prompt.chars().count();
    let suspicion = match passed {
        true => Vec::new(),
        false => {
            let chars = reward(&evidence, Scheme::FaultPenalty)?.chars;
            let completion: Vec<f64> = chars.iter().skip(offset).map(|v| (-v).max(0.0)).collect();
            (candidate.spans.iter())
                .map(|span| {
                    let covered = completion
                        .get(span.start.min(completion.len())..span.end.min(completion.len()));
                    covered
                        .unwrap_or_default()
                        .iter()
                        .copied()
                        .fold(0.0, f64::max) as f32
                })
                .collect()
        }
    };
    let divergence = match (passed, reference) {
        (false, Some(reference)) => {
            divergent_tokens(candidate, problem, execution, reference, offset)
        }
        _ => None,
    };
    Ok(Rollout {
        reward: value,
        passed,
        tokens: candidate.spans.len(),
        suspicion,
        divergence,
    })
}

/// The tokens of the completion that overlap the content of the line where the candidate's
/// trace first departs from the reference's.
fn divergent_tokens(
    candidate: &Candidate,
    problem: &Problem,
    execution: &Execution,
    reference: &Execution,
    offset: usize,
) -> Option<Range<usize>> {
    let (_, divergence) = first_failing_divergence(execution, reference, &problem.reference)?;
    let content = LineIndex::new(&execution.code).content(divergence.candidate.line);
    if content.start < offset || content.is_empty() {
        return None; // in the prompt: nothing the model wrote
    }
    let (start, end) = (content.start - offset, content.end - offset);
    let overlapping = |span: &Range<usize>| span.start < end && span.end > start;
    let first = candidate.spans.iter().position(overlapping)?;
    let last = candidate.spans.iter().rposition(overlapping)?;
    Some(first..last + 1)
}
