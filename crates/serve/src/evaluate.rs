//! `POST /v1/evaluate`: many programs of one or more problems in one request; each gets
//! the record a runs file holds for it (every test's outcome), in the request's order, as
//! `tracealign run` writes it (the same `Executor::run` on the same prepared problems).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use tracealign_core::{Execution, Problem, Sample};
use tracealign_exec::PreparedProblem;

use crate::api_error::ApiError;
use crate::app::AppState;
use crate::body::JsonBody;
use crate::registry::{inline_problems, Entry};

/// The request.
#[derive(Debug, Deserialize)]
pub struct EvaluateRequest {
    /// Problems sent along (any problem-file format), before the server's own.
    #[serde(default)]
    pub problems: Vec<serde_json::Value>,
    pub samples: Vec<ProgramInput>,
}

/// One program: a whole `code`, or a `completion` of the problem's prompt (the program is
/// the prompt then the completion, as for HumanEval samples).
#[derive(Debug, Clone, Deserialize)]
pub struct ProgramInput {
    pub problem_id: String,
    /// Default: `s` and the program's index in the request.
    #[serde(default)]
    pub sample_id: Option<String>,
    #[serde(default)]
    pub completion: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
}

/// The response.
#[derive(Debug, Serialize)]
pub struct EvaluateResponse {
    /// One record per sample, in the request's order.
    pub executions: Vec<Execution>,
    pub passed: usize,
    pub total: usize,
}

pub async fn evaluate(
    State(state): State<Arc<AppState>>,
    JsonBody(request): JsonBody<EvaluateRequest>,
) -> Result<Json<EvaluateResponse>, ApiError> {
    let checked = check_programs(&state, &request.problems, &request.samples, "samples")?;
    let ticket = state.admission.admit(state.metrics.mean_seconds())?;
    let shared = Arc::clone(&state);
    let executions = (state.admission)
        .run(&ticket, move || run_programs(&shared, checked))
        .await??;
    record_outcomes(&state, &executions);
    let passed = executions.iter().filter(|e| e.passed).count();
    Ok(Json(EvaluateResponse {
        total: executions.len(),
        passed,
        executions,
    }))
}

/// A request's programs, checked: sizes, ids, one program each.
pub struct CheckedPrograms {
    pub inline: Vec<Problem>,
    /// (field path, problem id, sample id, whole program or completion, model)
    pub programs: Vec<CheckedProgram>,
}

pub struct CheckedProgram {
    pub field: String,
    pub problem_id: String,
    pub sample_id: String,
    pub text: ProgramText,
    pub model: Option<String>,
}

/// What the caller sent: a whole program, or a completion of the prompt.
#[derive(Debug, Clone)]
pub enum ProgramText {
    Code(String),
    Completion(String),
}

/// Checks `programs` (the request's field `field`) against the server's limits.
pub fn check_programs(
    state: &AppState,
    problems: &[serde_json::Value],
    programs: &[ProgramInput],
    field: &str,
) -> Result<CheckedPrograms, ApiError> {
    let limits = &state.limits;
    crate::RequestLimits::check_count(field, programs.len(), limits.programs)?;
    crate::RequestLimits::check_count("problems", problems.len(), limits.programs)?;
    let inline = inline_problems(problems)?;
    let mut seen = HashSet::new();
    let mut checked = Vec::with_capacity(programs.len());
    for (index, program) in programs.iter().enumerate() {
        let at = format!("{field}[{index}]");
        let text = match (&program.code, &program.completion) {
            (Some(code), None) => {
                limits.check_code(&format!("{at}.code"), code)?;
                ProgramText::Code(code.clone())
            }
            (None, Some(completion)) => {
                limits.check_code(&format!("{at}.completion"), completion)?;
                ProgramText::Completion(completion.clone())
            }
            _ => {
                return Err(ApiError::invalid(
                    &at,
                    "give exactly one of `code` and `completion`",
                ))
            }
        };
        let sample_id = program
            .sample_id
            .clone()
            .unwrap_or_else(|| format!("s{index}"));
        if !seen.insert(sample_id.clone()) {
            let why = format!("`{sample_id}` is used twice; sample ids must be unique");
            return Err(ApiError::invalid(&format!("{at}.sample_id"), why));
        }
        checked.push(CheckedProgram {
            field: format!("{at}.problem_id"),
            problem_id: program.problem_id.clone(),
            sample_id,
            text,
            model: program.model.clone(),
        });
    }
    Ok(CheckedPrograms {
        inline,
        programs: checked,
    })
}

impl CheckedPrograms {
    /// The problems the programs name, prepared (inline ones now).
    pub fn entries(&self, state: &AppState) -> Result<BTreeMap<String, Arc<Entry>>, ApiError> {
        let ids: Vec<(String, &str)> = (self.programs.iter())
            .map(|p| (p.field.clone(), p.problem_id.as_str()))
            .collect();
        state.registry.resolve(&state.engine, &self.inline, &ids)
    }

    /// The programs as samples of their problems.
    pub fn samples(&self, entries: &BTreeMap<String, Arc<Entry>>) -> Vec<Sample> {
        (self.programs.iter())
            .map(|program| {
                let problem = &entries[&program.problem_id].problem;
                Sample {
                    problem_id: problem.id.clone(),
                    sample_id: program.sample_id.clone(),
                    code: match &program.text {
                        ProgramText::Code(code) => code.clone(),
                        ProgramText::Completion(completion) => {
                            format!("{}{}", problem.prompt, completion)
                        }
                    },
                    model: program.model.clone(),
                    mutation: None,
                }
            })
            .collect()
    }
}

/// Runs the programs untraced; executions in the programs' order.
fn run_programs(state: &AppState, checked: CheckedPrograms) -> Result<Vec<Execution>, ApiError> {
    let entries = checked.entries(state)?;
    let samples = checked.samples(&entries);
    let prepared = prepared_of(&entries, |e| &e.untraced);
    Ok(in_order(&samples, |done| {
        state.engine.untraced.run(&prepared, &samples, done)
    }))
}

/// The entries' problems as one executor prepared them (`which`): borrowed for one
/// problem (most requests), cloned for more.
pub fn prepared_of<'e>(
    entries: &'e BTreeMap<String, Arc<Entry>>,
    which: impl Fn(&Entry) -> &PreparedProblem,
) -> Cow<'e, [PreparedProblem]> {
    match entries.values().next() {
        Some(only) if entries.len() == 1 => Cow::Borrowed(std::slice::from_ref(which(only))),
        _ => Cow::Owned(entries.values().map(|e| which(e).clone()).collect()),
    }
}

/// The executions `run` hands over (in completion order), in the order of `samples`.
pub fn in_order(samples: &[Sample], run: impl FnOnce(&mut dyn FnMut(Execution))) -> Vec<Execution> {
    let position: HashMap<&str, usize> = (samples.iter().enumerate())
        .map(|(index, s)| (s.sample_id.as_str(), index))
        .collect();
    let mut slots: Vec<Option<Execution>> = vec![None; samples.len()];
    run(&mut |execution| {
        if let Some(&index) = position.get(execution.sample_id.as_str()) {
            slots[index] = Some(execution);
        }
    });
    slots.into_iter().flatten().collect()
}

/// Each test's outcome, and job restarts, into the metrics.
pub fn record_outcomes(state: &AppState, executions: &[Execution]) {
    let kinds = executions
        .iter()
        .flat_map(|e| e.tests.iter().map(|t| t.outcome.name()));
    state.metrics.outcomes(kinds);
    let restarts = executions.iter().map(|e| u64::from(e.restarts)).sum();
    state.metrics.restarts(restarts);
}
