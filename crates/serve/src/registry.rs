//! The problems a server knows: those given at start, prepared once on both executors
//! (reference results and times; traced times and traced reference runs for localization
//! and divergence), and those a request brings inline, prepared for it alone (through the
//! prepared-problem cache, so a problem sent again is not run again).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use tracealign_core::formats::problems::parse_problems;
use tracealign_core::{Execution, Problem, Sample};
use tracealign_exec::{ExecError, PreparedProblem, TraceMode};
use tracealign_pipeline::{ExecSettings, NoProgress, Workers};

use crate::api_error::ApiError;
use crate::lanes::Lanes;

/// The two sets of lanes of a server: untraced (evaluation, scripts) and fully traced
/// (rewards: localization and divergence need traces).
pub struct Engine {
    pub settings: ExecSettings,
    pub untraced: Lanes,
    pub traced: Lanes,
}

/// One problem, prepared for both executors, with its reference solution's traced run.
pub struct Entry {
    pub problem: Problem,
    pub untraced: PreparedProblem,
    pub traced: PreparedProblem,
    pub reference: Execution,
}

/// Problems by id.
#[derive(Default)]
pub struct Registry {
    entries: HashMap<String, Arc<Entry>>,
}

impl Engine {
    /// Both sets of lanes started: `settings.config.workers` of each.
    pub fn start(settings: ExecSettings) -> Result<Engine, ExecError> {
        let workers = Workers {
            settings: &settings,
            progress: &NoProgress,
        };
        let untraced = Lanes::start(&workers, TraceMode::None)?;
        let traced = Lanes::start(&workers, TraceMode::Full)?;
        Ok(Engine {
            untraced,
            traced,
            settings,
        })
    }

    fn workers(&self) -> Workers<'_> {
        Workers {
            settings: &self.settings,
            progress: &NoProgress,
        }
    }

    /// `problems` prepared on both sets of lanes, their references run traced.
    pub fn prepare(&self, problems: &[Problem]) -> Result<Vec<Entry>, ExecError> {
        let workers = self.workers();
        let untraced = self.untraced.prepare(&workers, problems)?;
        let traced = self.traced.prepare(&workers, problems)?;
        let samples: Vec<Sample> = problems.iter().map(Sample::reference).collect();
        let mut references: HashMap<String, Execution> = HashMap::new();
        self.traced.run(&traced, &samples, |execution| {
            references.insert(execution.problem_id.clone(), execution);
        });
        Ok(problems
            .iter()
            .zip(untraced)
            .zip(traced)
            .filter_map(|((problem, untraced), traced)| {
                Some(Entry {
                    reference: references.remove(&problem.id)?,
                    problem: problem.clone(),
                    untraced,
                    traced,
                })
            })
            .collect())
    }
}

impl Registry {
    pub fn new(entries: Vec<Entry>) -> Registry {
        Registry {
            entries: (entries.into_iter())
                .map(|e| (e.problem.id.clone(), Arc::new(e)))
                .collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Entry>> {
        self.entries.get(id)
    }

    /// The entries a request's programs name: inline problems (prepared now) before
    /// registered ones. `ids` pairs each program's field path with its problem id; an id
    /// found nowhere is a 422 naming that field.
    pub fn resolve(
        &self,
        engine: &Engine,
        inline: &[Problem],
        ids: &[(String, &str)],
    ) -> Result<BTreeMap<String, Arc<Entry>>, ApiError> {
        let mut found = BTreeMap::new();
        if !inline.is_empty() {
            let prepared = engine.prepare(inline).map_err(ApiError::internal)?;
            found.extend(
                prepared
                    .into_iter()
                    .map(|e| (e.problem.id.clone(), Arc::new(e))),
            );
        }
        for (field, id) in ids {
            if found.contains_key(*id) {
                continue;
            }
            let entry = self.get(id).ok_or_else(|| {
                let why = format!(
                    "no problem `{id}` on this server (it knows {} problems; send it in \
                     `problems` or start the server with --problems)",
                    self.len()
                );
                ApiError::invalid(field, why)
            })?;
            found.insert(id.to_string(), Arc::clone(entry));
        }
        Ok(found)
    }
}

/// Problems sent inline (any format `--problems` reads: tracealign, HumanEval, MBPP,
/// EvalPlus), checked as a problem file would be.
pub fn inline_problems(records: &[serde_json::Value]) -> Result<Vec<Problem>, ApiError> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let text = serde_json::to_string(records).map_err(|e| ApiError::invalid("problems", e))?;
    parse_problems(Path::new("problems"), &text, None).map_err(|e| ApiError::invalid("problems", e))
}
