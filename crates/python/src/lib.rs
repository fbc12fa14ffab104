//! `tracealign._native`: tracealign's executor, rewards and localization for Python.
//!
//! The Python package `tracealign` (python/) wraps this module in typed classes; the
//! boundary is kept small on purpose: records cross it as JSON text, in the same shapes as
//! tracealign's files (a runs-file record per execution, a faults-file record per report), so
//! Python sees exactly what the CLI writes. Programs run with the GIL released: threads
//! calling one executor run their batches at once on its warm workers.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use tracealign_core::completion::{program_of_chat_reply, program_of_completion};
use tracealign_core::formats::faults::Faults;
use tracealign_core::formats::problems::{parse_problems, read_problems};
use tracealign_core::{Execution, FaultReport, Problem, Sample};
use tracealign_dataset::dpo::DpoOptions;
use tracealign_dataset::feedback::Failure;
use tracealign_dataset::repair::RepairOptions;
use tracealign_dataset::rewards::RewardOptions;
use tracealign_dataset::rewards::{score, Evidence, Scheme};
use tracealign_dataset::sft::SftOptions;
use tracealign_dataset::Aligner;
use tracealign_exec::{resolve_python, ExecConfig, PreparedCache, PreparedProblem, TraceMode};
use tracealign_localize::Method;
use tracealign_pipeline::rows::{dpo_rows, repair_rows, reward_rows, sft_rows};
use tracealign_pipeline::{
    evaluate, localize_with, Built, ExecSettings, LocalizeInputs, LocalizeSettings, NoProgress,
    RowInputs, SftSettings, Workers,
};
use tracealign_predict::reply::trimmed;
use tracealign_predict::{parse_row, Checker};
use tracealign_trace::divergence::first_failing_divergence;
use tracealign_trace::render::{
    render, CharsPerToken, RenderInput, RenderOptions, Style, TestContext,
};

/// A pool of warm workers with a problem set prepared for it.
#[pyclass(module = "tracealign._native", frozen)]
struct Executor {
    executor: tracealign_exec::Executor,
    prepared: Vec<PreparedProblem>,
    problems: Vec<Problem>,
    settings: ExecSettings,
    /// Traced runs of reference solutions by problem id, made on first need (divergence).
    references: Mutex<HashMap<String, Execution>>,
}

#[pymethods]
impl Executor {
    /// Starts the workers and prepares the problems (from a file in any format the CLI
    /// reads, or from JSON Lines text of such records), reference solutions run once.
    #[new]
    #[pyo3(signature = (*, path=None, text=None, jobs=None, python=None, memory_mb=None, timeout_s=None, trace=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: Option<PathBuf>,
        text: Option<String>,
        jobs: Option<usize>,
        python: Option<PathBuf>,
        memory_mb: Option<u64>,
        timeout_s: Option<f64>,
        trace: bool,
    ) -> PyResult<Executor> {
        let problems = match (path, text) {
            (Some(path), None) => read_problems(&path, None),
            (None, Some(text)) => parse_problems(&PathBuf::from("<problems>"), &text, None),
            _ => return Err(PyValueError::new_err("give exactly one of path= and text=")),
        }
        .map_err(value_error)?;
        let python = resolve_python(python.as_deref()).map_err(value_error)?;
        let mut config = ExecConfig::new(python);
        config.workers = jobs.unwrap_or(config.workers).max(1);
        if let Some(memory_mb) = memory_mb {
            config.limits.memory_mb = memory_mb;
        }
        if let Some(timeout_s) = timeout_s {
            config.limits.timeout_floor_s = timeout_s;
        }
        let settings = ExecSettings {
            config,
            cache_dir: PreparedCache::default_dir(),
        };
        let mode = if trace {
            TraceMode::Full
        } else {
            TraceMode::None
        };
        py.detach(|| {
            let workers = Workers {
                settings: &settings,
                progress: &NoProgress,
            };
            let executor = workers.start(mode).map_err(runtime_error)?;
            let prepared = workers
                .prepare(&executor, &problems)
                .map_err(runtime_error)?;
            Ok(Executor {
                executor,
                prepared,
                problems,
                settings,
                references: Mutex::new(HashMap::new()),
            })
        })
    }

    /// The program `text` stands for as an answer to problem `problem_id`: `completion`
    /// continues the prompt (cut where the function ends), `chat` is a reply whose code block
    /// (or whole text) is the function or its body, `program` is taken as it is, and `auto`
    /// reads text that defines the entry point or holds a code block as `chat`, else as
    /// `completion`.
    #[pyo3(signature = (problem_id, text, format="auto"))]
    fn program(&self, problem_id: &str, text: &str, format: &str) -> PyResult<String> {
        let problem = self.problem(problem_id)?;
        let chat_like =
            text.contains("```") || text.contains(&format!("def {}", problem.entry_point));
        match format {
            "program" => Ok(text.to_string()),
            "chat" => Ok(program_of_chat_reply(problem, text)),
            "completion" => Ok(program_of_completion(problem, text)),
            "auto" if chat_like => Ok(program_of_chat_reply(problem, text)),
            "auto" => Ok(program_of_completion(problem, text)),
            other => Err(PyValueError::new_err(format!(
                "unknown format `{other}`: expected auto, completion, chat or program"
            ))),
        }
    }

    /// The ids of the problems, in the order given.
    fn problem_ids(&self) -> Vec<String> {
        self.problems.iter().map(|p| p.id.clone()).collect()
    }

    /// Runs samples (a JSON array of `{problem_id, sample_id, code}`, sample ids unique) and
    /// returns their executions as a JSON array, in the samples' order.
    fn evaluate(&self, py: Python<'_>, samples: &str) -> PyResult<String> {
        let samples: Vec<Sample> = serde_json::from_str(samples).map_err(value_error)?;
        self.check_samples(&samples)?;
        let executions = py.detach(|| self.run(&samples));
        Ok(serde_json::to_string(&executions).expect("executions serialize"))
    }

    /// Fault reports (a JSON array, the executions' order) of executions (a JSON array of
    /// runs-file records) by `method`; reference runs are traced here when needed.
    #[pyo3(signature = (executions, method="combined"))]
    fn localize(&self, py: Python<'_>, executions: &str, method: &str) -> PyResult<String> {
        let executions: Vec<Execution> = serde_json::from_str(executions).map_err(value_error)?;
        let method = Method::ALL
            .into_iter()
            .find(|m| m.name() == method)
            .ok_or_else(|| {
                PyValueError::new_err(format!("unknown localization method `{method}`"))
            })?;
        let settings = LocalizeSettings {
            method,
            mutation_budget: 0,
            exec: self.settings.clone(),
        };
        let inputs = LocalizeInputs {
            problems: &self.problems,
            executions: &executions,
            references: &[],
            traced: None,
        };
        let reports = py
            .detach(|| localize_with(&settings, &inputs, &NoProgress))
            .map_err(value_error)?;
        let by_id: HashMap<&str, &FaultReport> =
            reports.iter().map(|r| (r.sample_id.as_str(), r)).collect();
        let ordered: Vec<Option<&FaultReport>> = (executions.iter())
            .map(|e| by_id.get(e.sample_id.as_str()).copied())
            .collect();
        Ok(serde_json::to_string(&ordered).expect("reports serialize"))
    }

    /// The first failing test's trace of an execution (a runs-file record of a traced run)
    /// rendered as text for a prompt, in `style` (`lines`, `blocks`, `inline`, `summary`),
    /// within `budget` tokens (4 characters a token) when given; `None` when no failing test
    /// was traced.
    #[pyo3(signature = (execution, style="lines", budget=None))]
    fn render_trace(
        &self,
        execution: &str,
        style: &str,
        budget: Option<usize>,
    ) -> PyResult<Option<String>> {
        let execution: Execution = serde_json::from_str(execution).map_err(value_error)?;
        let style: Style = style.parse().map_err(value_error)?;
        let problem = self.problem(&execution.problem_id)?;
        let Some(failure) = Failure::first(problem, &execution) else {
            return Ok(None);
        };
        let trace = failure
            .test
            .and_then(|i| execution.tests.get(i)?.trace.as_ref());
        let Some(trace) = trace else { return Ok(None) };
        let input = RenderInput {
            source: &execution.code,
            trace,
            test: Some(TestContext {
                name: &failure.name,
                code: failure.code.as_deref(),
                outcome: &failure.outcome,
            }),
            divergence: None,
        };
        let options = RenderOptions {
            style,
            budget,
            ..RenderOptions::default()
        };
        Ok(Some(render(&input, &options, &CharsPerToken).text))
    }

    /// Where a failing program (a runs-file record of a traced run) first departs from the
    /// reference solution, on its first failing test that diverges: a JSON object with the
    /// test, the line, its character span in the program (`start`, `end`) and the
    /// divergence (reason, values); `null` when none does. The reference is run traced once
    /// per problem, here.
    fn divergence(&self, py: Python<'_>, execution: &str) -> PyResult<String> {
        let execution: Execution = serde_json::from_str(execution).map_err(value_error)?;
        let problem = self.problem(&execution.problem_id)?;
        let reference = py.detach(|| self.reference_run(problem));
        let found = first_failing_divergence(&execution, &reference, &problem.reference);
        let span = found.map(|(test, divergence)| {
            let line = divergence.candidate.line as usize;
            let start: usize = execution
                .code
                .split_inclusive('\n')
                .take(line - 1)
                .map(|l| l.chars().count())
                .sum();
            let text = execution.code.lines().nth(line - 1).unwrap_or_default();
            serde_json::json!({
                "test": test,
                "line": line,
                "start": start,
                "end": start + text.chars().count(),
                "divergence": divergence,
            })
        });
        Ok(serde_json::to_string(&span).expect("spans serialize"))
    }

    /// Training rows of `kind` (`sft`, `dpo`, `repair`, `rewards`) from executions and
    /// their fault reports (JSON arrays of runs-file and faults-file records), as
    /// `tracealign build KIND` makes them: `(rows as a JSON array, the builder's summary)`.
    /// With `tokenizer` (a tokenizer.json) rows carry token columns and per-token weights;
    /// `mutants` killed mutants per passing program without failing contrast (SFT only).
    #[pyo3(signature = (kind, executions, reports=None, tokenizer=None, mutants=0))]
    fn build_rows(
        &self,
        py: Python<'_>,
        kind: &str,
        executions: &str,
        reports: Option<&str>,
        tokenizer: Option<PathBuf>,
        mutants: usize,
    ) -> PyResult<(String, String)> {
        let executions: Vec<Execution> = serde_json::from_str(executions).map_err(value_error)?;
        let faults = match reports {
            Some(text) => {
                let reports: Vec<FaultReport> = serde_json::from_str(text).map_err(value_error)?;
                Some(Faults {
                    path: PathBuf::from("<reports>"),
                    reports: (1..).zip(reports).collect(),
                })
            }
            None => None,
        };
        let aligner = (tokenizer.as_deref())
            .map(Aligner::from_file)
            .transpose()
            .map_err(value_error)?;
        let inputs = RowInputs {
            problems: &self.problems,
            executions: &executions,
            faults: faults.as_ref(),
            aligner: aligner.as_ref(),
        };
        py.detach(|| self.rows(kind, &inputs, mutants))
    }
}

impl Executor {
    /// The rows and summary of one builder, as JSON and text.
    fn rows(&self, kind: &str, inputs: &RowInputs, mutants: usize) -> PyResult<(String, String)> {
        fn out<R: serde::Serialize, S>(built: Built<R, S>) -> (String, String)
        where
            Built<R, S>: std::fmt::Display,
        {
            let rows = serde_json::to_string(&built.rows).expect("rows serialize");
            (rows, built.to_string())
        }
        let built = match kind {
            "sft" => {
                let settings = SftSettings {
                    options: SftOptions::default(),
                    mutants,
                    run_mutants: true,
                    seed: 0,
                };
                let workers = Workers {
                    settings: &self.settings,
                    progress: &NoProgress,
                };
                sft_rows(inputs, &settings, &workers).map(out)
            }
            "dpo" => dpo_rows(inputs, &DpoOptions::default()).map(out),
            "repair" => repair_rows(inputs, &RepairOptions::default()).map(out),
            "rewards" => reward_rows(inputs, &RewardOptions::default()).map(out),
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown row kind `{other}`: expected sft, dpo, repair or rewards"
                )))
            }
        };
        built.map_err(value_error)
    }

    fn problem(&self, id: &str) -> PyResult<&Problem> {
        (self.problems.iter())
            .find(|p| p.id == id)
            .ok_or_else(|| PyValueError::new_err(format!("unknown problem `{id}`")))
    }

    /// The problem's reference solution run on this (traced) executor, kept for later calls.
    fn reference_run(&self, problem: &Problem) -> Execution {
        if let Some(run) = self
            .references
            .lock()
            .expect("not poisoned")
            .get(&problem.id)
        {
            return run.clone();
        }
        let run = self.run(&[Sample::reference(problem)]).remove(0);
        let mut references = self.references.lock().expect("not poisoned");
        references.insert(problem.id.clone(), run.clone());
        run
    }

    /// Every sample names a known problem and no two share an id.
    fn check_samples(&self, samples: &[Sample]) -> PyResult<()> {
        let known: HashMap<&str, ()> = self.problems.iter().map(|p| (p.id.as_str(), ())).collect();
        let mut seen = HashMap::new();
        for (i, sample) in samples.iter().enumerate() {
            if !known.contains_key(sample.problem_id.as_str()) {
                return Err(PyValueError::new_err(format!(
                    "completion {i}: unknown problem `{}`",
                    sample.problem_id
                )));
            }
            if let Some(first) = seen.insert(sample.sample_id.as_str(), i) {
                return Err(PyValueError::new_err(format!(
                    "completions {first} and {i} share the sample id `{}`",
                    sample.sample_id
                )));
            }
        }
        Ok(())
    }

    /// The samples' executions, in their order (the executor reports them as they end).
    fn run(&self, samples: &[Sample]) -> Vec<Execution> {
        let index: HashMap<&str, usize> = (samples.iter().enumerate())
            .map(|(i, s)| (s.sample_id.as_str(), i))
            .collect();
        let mut slots: Vec<Option<Execution>> = vec![None; samples.len()];
        let (executor, prepared) = (&self.executor, &self.prepared);
        evaluate(executor, prepared, samples, "samples", &NoProgress, |e| {
            let i = index[e.sample_id.as_str()];
            slots[i] = Some(e);
        });
        slots
            .into_iter()
            .map(|e| e.expect("the executor reports every sample"))
            .collect()
    }
}

/// Judges answers to execution-prediction rows by running them: `tracealign eval --task`'s
/// checker, on a warm sandboxed worker of its own.
#[pyclass(module = "tracealign._native", frozen)]
struct PredictionChecker {
    checker: Checker,
}

#[pymethods]
impl PredictionChecker {
    #[new]
    #[pyo3(signature = (*, python=None))]
    fn new(py: Python<'_>, python: Option<PathBuf>) -> PyResult<Self> {
        let python = resolve_python(python.as_deref()).map_err(value_error)?;
        let checker = py
            .detach(|| Checker::start(python))
            .map_err(runtime_error)?;
        Ok(PredictionChecker { checker })
    }

    /// `(correct, credit)` of a model's reply to `row` (a `build traced` row or a CRUXEval
    /// record, as JSON): the reply is cut to its answer as `eval --task` cuts it.
    fn judge(&self, py: Python<'_>, row: &str, reply: &str) -> PyResult<(bool, f64)> {
        let value: serde_json::Value = serde_json::from_str(row).map_err(value_error)?;
        let row = parse_row(value).map_err(value_error)?;
        let answer = trimmed(reply, row.kind);
        let judged = py
            .detach(|| self.checker.judge(&row, &answer))
            .map_err(runtime_error)?;
        Ok((judged.correct, judged.credit))
    }
}

/// The scalar reward of an execution (a runs-file record as JSON) under `scheme`:
/// `binary`, `pass_ratio`, `rltf` or `adaptive`.
#[pyfunction]
fn reward(execution: &str, scheme: &str) -> PyResult<f64> {
    let execution: Execution = serde_json::from_str(execution).map_err(value_error)?;
    let scheme: Scheme = scheme.parse().map_err(value_error)?;
    if scheme.is_dense() {
        return Err(PyValueError::new_err(format!(
            "`{scheme}` is a dense scheme: use dense_rewards"
        )));
    }
    let reward = score(&Evidence::of(&execution), scheme).map_err(value_error)?;
    Ok(reward.value.expect("scalar schemes have a value"))
}

/// The dense reward of an execution under `scheme` (`fault_penalty`, which needs the
/// program's fault report, or `error_line`): `(per-line values, per-character values)` of
/// the program, 0 where nothing is said.
#[pyfunction]
#[pyo3(signature = (execution, scheme, report=None))]
fn dense(execution: &str, scheme: &str, report: Option<&str>) -> PyResult<(Vec<f64>, Vec<f64>)> {
    let execution: Execution = serde_json::from_str(execution).map_err(value_error)?;
    let report: Option<FaultReport> = report
        .map(serde_json::from_str)
        .transpose()
        .map_err(value_error)?;
    let scheme: Scheme = scheme.parse().map_err(value_error)?;
    if !scheme.is_dense() || scheme == Scheme::Fait {
        return Err(PyValueError::new_err(format!(
            "`{scheme}` is not a dense scheme of one program: expected fault_penalty or error_line"
        )));
    }
    let evidence = Evidence {
        fault: report.as_ref(),
        ..Evidence::of(&execution)
    };
    let reward = score(&evidence, scheme).map_err(value_error)?;
    Ok((reward.lines, reward.chars))
}

fn value_error(error: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(error.to_string())
}

fn runtime_error(error: impl std::fmt::Display) -> PyErr {
    PyRuntimeError::new_err(error.to_string())
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Executor>()?;
    module.add_class::<PredictionChecker>()?;
    module.add_function(wrap_pyfunction!(reward, module)?)?;
    module.add_function(wrap_pyfunction!(dense, module)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
