//! The builders' input: problems, their executions (a runs file) and, optionally, fault
//! reports, joined and checked once.
//!
//! Executions are grouped by problem, in the problem set's order, each group split into
//! passing programs (every test passed) and failing ones (anything else, syntax errors
//! included), each sorted by sample id. A reference solution that was run (`<id>#reference`,
//! [`Execution::is_reference`]) is a passing program like any other. Fault reports are read
//! by [`read_faults`] (`tracealign_core::formats::faults`, re-exported here).

use std::collections::HashMap;

pub use tracealign_core::formats::faults::{read_faults, Faults};
use tracealign_core::{Execution, FaultReport, Problem};

use crate::error::{DatasetError, Result};

/// The programs of one problem.
#[derive(Debug, Clone)]
pub struct Group<'a> {
    pub problem: &'a Problem,
    pub passing: Vec<&'a Execution>,
    pub failing: Vec<&'a Execution>,
}

/// Problems, executions and fault reports, joined.
#[derive(Debug, Clone)]
pub struct Corpus<'a> {
    /// One group per problem with at least one execution, in problem-set order.
    pub groups: Vec<Group<'a>>,
    /// Reports by sample id; `None` when no fault reports were given.
    faults: Option<HashMap<&'a str, &'a FaultReport>>,
}

impl<'a> Corpus<'a> {
    /// Joins the inputs. Fails on an execution of an unknown problem or without its program,
    /// and on a fault report about another program than the one that ran (reports of samples
    /// not in the runs are ignored).
    pub fn new(
        problems: &'a [Problem],
        executions: &'a [Execution],
        faults: Option<&'a Faults>,
    ) -> Result<Corpus<'a>> {
        let index: HashMap<&str, usize> = problems
            .iter()
            .enumerate()
            .map(|(k, p)| (p.id.as_str(), k))
            .collect();
        let mut groups: Vec<Group<'a>> = problems
            .iter()
            .map(|problem| Group {
                problem,
                passing: Vec::new(),
                failing: Vec::new(),
            })
            .collect();
        for execution in executions {
            let Some(&k) = index.get(execution.problem_id.as_str()) else {
                return Err(DatasetError::UnknownProblem {
                    sample_id: execution.sample_id.clone(),
                    problem_id: execution.problem_id.clone(),
                });
            };
            if execution.code.is_empty() {
                return Err(DatasetError::MissingCode {
                    sample_id: execution.sample_id.clone(),
                });
            }
            let group = &mut groups[k];
            if execution.passed {
                group.passing.push(execution);
            } else {
                group.failing.push(execution);
            }
        }
        groups.retain(|g| !g.passing.is_empty() || !g.failing.is_empty());
        // Runs files list samples in the order they finished: sort, for the same rows from
        // the same runs whatever the order (ties between programs are broken by this order).
        for group in &mut groups {
            group.passing.sort_by(|a, b| a.sample_id.cmp(&b.sample_id));
            group.failing.sort_by(|a, b| a.sample_id.cmp(&b.sample_id));
        }
        let faults = faults
            .map(|faults| join_faults(faults, executions))
            .transpose()?;
        Ok(Corpus { groups, faults })
    }

    /// The corpus with `extra` passing programs in the groups of their problems (reference
    /// solutions standing in for a passing sample), kept in sample-id order; programs of
    /// problems without a group are left out.
    pub fn with_passing(mut self, extra: &'a [Execution]) -> Corpus<'a> {
        for execution in extra {
            let group = (self.groups.iter_mut()).find(|g| g.problem.id == execution.problem_id);
            if let Some(group) = group {
                group.passing.push(execution);
                group.passing.sort_by(|a, b| a.sample_id.cmp(&b.sample_id));
            }
        }
        self
    }

    /// The fault report of a program, when one was given.
    pub fn fault(&self, execution: &Execution) -> Option<&'a FaultReport> {
        self.faults
            .as_ref()?
            .get(execution.sample_id.as_str())
            .copied()
    }

    /// Whether fault reports were given at all.
    pub fn has_faults(&self) -> bool {
        self.faults.is_some()
    }
}

fn join_faults<'a>(
    faults: &'a Faults,
    executions: &'a [Execution],
) -> Result<HashMap<&'a str, &'a FaultReport>> {
    let code: HashMap<&str, &str> = executions
        .iter()
        .map(|e| (e.sample_id.as_str(), e.code.as_str()))
        .collect();
    let mut joined = HashMap::new();
    for (line, report) in &faults.reports {
        let Some(&ran) = code.get(report.sample_id.as_str()) else {
            continue;
        };
        if ran != report.code {
            return Err(DatasetError::FaultMismatch {
                path: faults.path.clone(),
                line: *line,
                sample_id: report.sample_id.clone(),
            });
        }
        joined.insert(report.sample_id.as_str(), report);
    }
    Ok(joined)
}
