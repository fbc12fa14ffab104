//! The executor: a pool of warm workers, one per core by default, that prepares problems
//! (splits their tests, runs their reference solutions: untraced, and traced as samples
//! will be when they are, for time limits that cover tracing) and runs samples against them.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value as Json};
use tracealign_core::{
    Execution, Problem, ProgramStatus, Sample, TestKind, TestOutcome, TestResult, Trace,
};

use crate::cache::PreparedCache;
use crate::error::ExecError;
use crate::limits::{Limits, TraceLimits, TraceMode};
use crate::plan::{apply_analysis, apply_reference, initial_plan, judge, PreparedProblem};
use crate::script::{script_request, script_run, Script, ScriptRun};
use crate::worker::{Isolation, Worker};

/// How to execute: which interpreter, how many workers, how isolated, what limits.
#[derive(Debug, Clone)]
pub struct ExecConfig {
    /// The interpreter (see [`crate::resolve_python`]).
    pub python: PathBuf,
    /// Number of workers, each running one job at a time. Default: the number of cores.
    pub workers: usize,
    /// Use namespaces (network, filesystem, processes). When the system refuses them the
    /// workers say so and fall back to resource limits only.
    pub isolate: bool,
    pub limits: Limits,
    /// What to record while running samples. When tracing, preparation also times the
    /// reference solutions traced so (see [`Executor::prepare`]).
    pub trace: TraceMode,
    pub trace_limits: TraceLimits,
}

impl ExecConfig {
    /// Defaults for the given interpreter.
    pub fn new(python: PathBuf) -> ExecConfig {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        ExecConfig {
            python,
            workers: cores,
            isolate: true,
            limits: Limits::default(),
            trace: TraceMode::None,
            trace_limits: TraceLimits::default(),
        }
    }
}

/// A slot in the pool: a worker, or none after one died (started again on next use).
type Slot = Mutex<Option<Worker>>;

/// A pool of warm Python workers.
pub struct Executor {
    config: ExecConfig,
    slots: Vec<Slot>,
    isolation: Isolation,
    /// Whose turn it is when every worker is busy (see [`Executor::run_script`]).
    turn: AtomicUsize,
}

impl Executor {
    /// Starts `config.workers` workers (in parallel; each forks its own namespaces).
    pub fn start(config: ExecConfig) -> Result<Executor, ExecError> {
        let count = config.workers.max(1);
        let started: Vec<Result<Worker, ExecError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..count)
                .map(|index| {
                    let config = &config;
                    scope.spawn(move || Worker::start(&config.python, index, config.isolate))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("worker start-up does not panic"))
                .collect()
        });
        let mut slots = Vec::with_capacity(count);
        for worker in started {
            slots.push(Mutex::new(Some(worker?)));
        }
        let isolation = slots[0]
            .lock()
            .expect("not poisoned")
            .as_ref()
            .expect("started")
            .isolation
            .clone();
        Ok(Executor {
            config,
            slots,
            isolation,
            turn: AtomicUsize::new(0),
        })
    }

    /// How isolated jobs are (from the first worker; all are started alike).
    pub fn isolation(&self) -> &Isolation {
        &self.isolation
    }

    pub fn config(&self) -> &ExecConfig {
        &self.config
    }

    /// Splits every problem's tests into what runs in the candidate's process and what
    /// judges it, then runs each reference solution once to learn expected values (where a
    /// test has none) and its time per test (which sets the timeouts). When samples are
    /// traced, each reference solution also runs traced as they will be, and its traced
    /// times set the timeouts instead: tracing slows programs by how much they do per line,
    /// which no fixed factor covers. Problems found in `cache` are not prepared again (a
    /// cached problem without traced times for this tracing gets them, and is stored again
    /// with them); newly prepared ones are stored there. `progress` is called once per
    /// problem.
    pub fn prepare(
        &self,
        problems: &[Problem],
        cache: Option<&PreparedCache>,
        mut progress: impl FnMut(&PreparedProblem),
    ) -> Result<Vec<PreparedProblem>, ExecError> {
        let key = self.timing_key();
        let timed = |problem: &PreparedProblem| {
            key.as_ref()
                .is_none_or(|key| problem.traced_seconds.contains_key(key))
        };
        let mut prepared: Vec<Option<PreparedProblem>> = Vec::with_capacity(problems.len());
        for problem in problems {
            let mut cached = cache.and_then(|c| c.load(problem));
            if let Some(hit) = cached.as_mut().filter(|hit| timed(hit)) {
                self.apply_limits(hit);
                progress(hit);
            }
            prepared.push(cached);
        }
        // Stored again at the end: prepared now, or given traced times.
        let mut changed: Vec<bool> = prepared.iter().map(Option::is_none).collect();
        let missing: Vec<&Problem> = problems
            .iter()
            .zip(&prepared)
            .filter(|(_, p)| p.is_none())
            .map(|(problem, _)| problem)
            .collect();
        let mut fresh = self
            .prepare_uncached(&missing, &mut |problem| {
                if key.is_none() {
                    self.apply_limits(problem);
                    progress(problem);
                }
            })?
            .into_iter();
        let mut prepared: Vec<PreparedProblem> = prepared
            .into_iter()
            .map(|slot| slot.unwrap_or_else(|| fresh.next().expect("one per missing problem")))
            .collect();
        if let Some(key) = &key {
            let untimed: Vec<usize> = (0..prepared.len())
                .filter(|&index| !timed(&prepared[index]))
                .collect();
            let requests: Vec<Json> = untimed
                .iter()
                .map(|&index| self.reference_request(&problems[index], &prepared[index], true))
                .collect();
            self.for_each_job(
                &requests,
                |slot, request| self.call(slot, request),
                |job, response| {
                    let problem = &mut prepared[untimed[job]];
                    let seconds = reference_times(problem.tests.len(), response.as_ref().ok());
                    problem.traced_seconds.insert(key.clone(), seconds);
                    self.apply_limits(problem);
                    progress(problem);
                    changed[untimed[job]] = true;
                },
            );
        }
        if let Some(cache) = cache {
            for ((problem, new), changed) in problems.iter().zip(&prepared).zip(changed) {
                if changed {
                    cache.store(problem, new);
                }
            }
        }
        Ok(prepared)
    }

    /// Analyses `problems` and runs their reference solutions untraced; `learned` gets each
    /// problem as its reference has run.
    fn prepare_uncached(
        &self,
        problems: &[&Problem],
        learned: &mut impl FnMut(&mut PreparedProblem),
    ) -> Result<Vec<PreparedProblem>, ExecError> {
        let mut prepared: Vec<PreparedProblem> = problems.iter().map(|p| self.initial(p)).collect();
        let mut analysis_error = None;
        self.for_each_job(
            problems,
            |slot, problem| self.analyze(slot, problem),
            |index, plans| match plans {
                Ok(plans) => {
                    for (test, plan) in prepared[index].tests.iter_mut().zip(plans) {
                        apply_analysis(test, &plan);
                    }
                }
                Err(e) => analysis_error = Some(e),
            },
        );
        if let Some(error) = analysis_error {
            return Err(error);
        }
        let references: Vec<(&Problem, PreparedProblem)> = problems
            .iter()
            .copied()
            .zip(prepared.iter().cloned())
            .collect();
        self.for_each_job(
            &references,
            |slot, (problem, plan)| self.call(slot, &self.reference_request(problem, plan, false)),
            |index, response| {
                let problem = &mut prepared[index];
                self.learn_from_reference(problem, response.as_ref().ok());
                learned(problem);
            },
        );
        Ok(prepared)
    }

    /// Runs samples; `done` gets each execution as soon as it finishes (in completion
    /// order). Samples whose problem is not in `problems` are skipped.
    pub fn run(
        &self,
        problems: &[PreparedProblem],
        samples: &[Sample],
        mut done: impl FnMut(Execution),
    ) {
        let by_id: std::collections::HashMap<&str, &PreparedProblem> =
            problems.iter().map(|p| (p.id.as_str(), p)).collect();
        let mut jobs: Vec<(&PreparedProblem, &Sample)> = samples
            .iter()
            .filter_map(|s| by_id.get(s.problem_id.as_str()).map(|p| (*p, s)))
            .collect();
        // Longest first (by the reference's time): one slow problem started last would
        // leave the other workers idle while it finishes.
        jobs.sort_by(|(a, _), (b, _)| {
            a.expected_seconds()
                .total_cmp(&b.expected_seconds())
                .reverse()
        });
        self.for_each_job(
            &jobs,
            |slot, (problem, sample)| {
                let request = self.sample_request(problem, sample);
                let response = self.call(slot, &request);
                execution(problem, sample, response)
            },
            |_, execution| done(execution),
        );
    }

    /// Runs one whole program as a script (see [`crate::script`]) on a free worker, or, all
    /// busy, on the next in turn. Never traced.
    pub fn run_script(&self, script: &Script) -> Result<ScriptRun, ExecError> {
        let budget = script.timeout_s + 1.0;
        let request = script_request(script, self.config.limits.wire(budget));
        let slot = self.free_slot();
        let response = self.call(slot, &request)?;
        Ok(script_run(script, &response))
    }

    /// A slot whose worker is idle now, else the next one in turn.
    fn free_slot(&self) -> &Slot {
        let idle = self
            .slots
            .iter()
            .find(|slot| slot.try_lock().map(drop).is_ok());
        idle.unwrap_or_else(|| {
            let turn = self.turn.fetch_add(1, Ordering::Relaxed);
            &self.slots[turn % self.slots.len()]
        })
    }

    /// A sample's run request, with the trace settings when tracing.
    fn sample_request(&self, problem: &PreparedProblem, sample: &Sample) -> Json {
        let mut request =
            self.run_request(problem, &sample.code, &problem.timeouts, problem.budget_s);
        self.add_trace(&mut request);
        request
    }

    /// Adds the trace settings to a run request, when tracing.
    fn add_trace(&self, request: &mut Json) {
        if self.config.trace != TraceMode::None {
            let limits = &self.config.trace_limits;
            request["trace"] = json!({
                "mode": self.config.trace,
                "max_events": limits.max_events,
                "max_bytes": limits.max_bytes,
                "max_value_chars": limits.max_value_chars,
            });
        }
    }

    /// Under which key of [`PreparedProblem::traced_seconds`] this executor's tracing keeps
    /// the reference's times; None untraced.
    fn timing_key(&self) -> Option<String> {
        self.config.trace_limits.timing_key(self.config.trace)
    }

    fn initial(&self, problem: &Problem) -> PreparedProblem {
        PreparedProblem {
            id: problem.id.clone(),
            entry_point: problem.entry_point.clone(),
            tests: problem.tests.iter().map(initial_plan).collect(),
            atol: problem.atol,
            timeouts: vec![self.config.limits.reference_timeout_s; problem.tests.len()],
            budget_s: self.config.limits.sample_budget_s,
            reference_seconds: vec![None; problem.tests.len()],
            traced_seconds: Default::default(),
        }
    }

    fn analyze(&self, slot: &Slot, problem: &Problem) -> Result<Vec<Json>, ExecError> {
        let codes: Vec<Option<&str>> = problem
            .tests
            .iter()
            .map(|t| match &t.kind {
                TestKind::Code { code } => Some(code.as_str()),
                TestKind::Call { .. } => None,
            })
            .collect();
        if codes.iter().all(Option::is_none) {
            return Ok(vec![Json::Null; codes.len()]);
        }
        let request = json!({
            "op": "analyze",
            "entry_point": problem.entry_point,
            "tests": codes.iter().map(|c| c.unwrap_or("")).collect::<Vec<_>>(),
        });
        let response = self.call(slot, &request)?;
        let plans = response["plans"].as_array().cloned().unwrap_or_default();
        // Only code tests were meant to be analysed.
        Ok(codes
            .iter()
            .zip(plans)
            .map(|(code, plan)| if code.is_some() { plan } else { Json::Null })
            .collect())
    }

    /// The run request of a problem's reference solution, with the reference's generous
    /// limits; `traced`: traced as samples are (see [`Executor::prepare`]).
    fn reference_request(&self, problem: &Problem, plan: &PreparedProblem, traced: bool) -> Json {
        let limits = &self.config.limits;
        let timeouts = vec![limits.reference_timeout_s; plan.tests.len()];
        let budget = limits.reference_timeout_s * (plan.tests.len().max(1) as f64);
        let mut request = self.run_request(plan, &problem.reference, &timeouts, budget.min(1800.0));
        if traced {
            self.add_trace(&mut request);
        }
        request
    }

    /// Learns expected values and untraced times from the reference's (untraced) run.
    fn learn_from_reference(&self, problem: &mut PreparedProblem, response: Option<&Json>) {
        let results = response
            .and_then(|r| r["results"].as_array())
            .cloned()
            .unwrap_or_default();
        for (index, test) in problem.tests.iter_mut().enumerate() {
            apply_reference(test, results.get(index).unwrap_or(&Json::Null));
        }
        problem.reference_seconds = reference_times(problem.tests.len(), response);
    }

    /// Sets a problem's timeouts from its reference times and the configured limits: a
    /// test's limit is `max(floor, factor × the reference's time on it)`, the reference run
    /// as samples are, traced or not. A test the reference did not finish gets the
    /// reference's own limit, and so does every test of a traced run whose reference has no
    /// traced times.
    fn apply_limits(&self, problem: &mut PreparedProblem) {
        let times = match self.timing_key() {
            None => Some(&problem.reference_seconds),
            Some(key) => problem.traced_seconds.get(&key),
        };
        let tests = problem.tests.len();
        (problem.timeouts, problem.budget_s) = time_limits(&self.config.limits, times, tests);
    }

    fn run_request(
        &self,
        problem: &PreparedProblem,
        program: &str,
        timeouts: &[f64],
        budget_s: f64,
    ) -> Json {
        json!({
            "op": "run",
            "id": 0,
            "program": program,
            "entry_point": problem.entry_point,
            "tests": problem.tests.iter().map(|t| &t.wire).collect::<Vec<_>>(),
            "timeouts": timeouts,
            "limits": self.config.limits.wire(budget_s),
        })
    }

    /// Sends a request on this slot's worker, starting a new worker first if the last one
    /// died. A worker that dies or hangs is dropped; the next call replaces it.
    fn call(&self, slot: &Slot, request: &Json) -> Result<Json, ExecError> {
        let mut guard = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if guard.as_mut().is_some_and(Worker::has_unasked_output) {
            *guard = None; // it wrote after its last reply: replaced before this job
        }
        if guard.is_none() {
            let index = self
                .slots
                .iter()
                .position(|s| std::ptr::eq(s, slot))
                .unwrap_or(0);
            *guard = Some(Worker::start(
                &self.config.python,
                index,
                self.config.isolate,
            )?);
        }
        let budget = request["limits"]["sample_seconds"].as_f64().unwrap_or(60.0);
        let patience = Duration::from_secs_f64(budget * 1.5 + 30.0);
        let result = guard
            .as_mut()
            .expect("just started")
            .call(request, patience);
        if result.is_err() {
            *guard = None;
        }
        result
    }

    /// Runs `work` over `jobs` on every worker at once, handing results to `deliver` on the
    /// calling thread as they finish.
    fn for_each_job<J: Sync, R: Send>(
        &self,
        jobs: &[J],
        work: impl Fn(&Slot, &J) -> R + Sync,
        mut deliver: impl FnMut(usize, R),
    ) {
        let next = AtomicUsize::new(0);
        let (sender, results) = mpsc::channel();
        std::thread::scope(|scope| {
            for slot in &self.slots {
                let (sender, next, work) = (sender.clone(), &next, &work);
                scope.spawn(move || loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(index) else { break };
                    if sender.send((index, work(slot, job))).is_err() {
                        break;
                    }
                });
            }
            drop(sender);
            for (index, result) in results {
                deliver(index, result);
            }
        });
    }
}

/// The time limit of each of `tests` tests and of all together, from the reference's time
/// on each (`times`; None: not timed), as [`Executor::apply_limits`] sets them.
fn time_limits(limits: &Limits, times: Option<&Vec<Option<f64>>>, tests: usize) -> (Vec<f64>, f64) {
    let factor = limits.timeout_factor;
    let mut total = 0.0;
    let timeouts = (0..tests)
        .map(|index| {
            let seconds = times.and_then(|times| times.get(index).copied().flatten());
            total += seconds.unwrap_or(limits.reference_timeout_s);
            match seconds {
                Some(t) => (factor * t).max(limits.timeout_floor_s),
                None => limits.reference_timeout_s,
            }
        })
        .collect();
    (timeouts, limits.sample_budget_s.max(2.0 * factor * total))
}

/// The reference's time on each of `tests` tests from its run's `response`: the call and
/// carrying its result out (which for a big result can take longer than the call itself),
/// tracing included if it was traced; None for a test it did not finish.
fn reference_times(tests: usize, response: Option<&Json>) -> Vec<Option<f64>> {
    let results = response.and_then(|r| r["results"].as_array());
    (0..tests)
        .map(|index| {
            let raw = results.and_then(|r| r.get(index))?;
            let t = raw["t"].as_f64()?;
            Some(t + raw["te"].as_f64().unwrap_or(0.0))
        })
        .collect()
}

/// A test's events from the harness's `trace`: `json` holds them as one JSON text, the
/// attachment that followed the worker's reply (see `Worker::receive_attachments`), which
/// the Python side never decodes (decoding and re-encoding megabytes of small objects
/// there would cost as much as recording them). A text that
/// does not parse (a program that took over its own process can send anything) gives no
/// trace. An object with `events` inline is read too.
fn trace_events(trace: &Json) -> Option<Trace> {
    if let Some(text) = trace.get("json").and_then(Json::as_str) {
        return serde_json::from_str(text).ok();
    }
    trace
        .get("events")
        .and_then(|_| Trace::deserialize(trace).ok())
}

/// Builds a sample's execution record from the worker's answer (or its death).
fn execution(
    problem: &PreparedProblem,
    sample: &Sample,
    response: Result<Json, ExecError>,
) -> Execution {
    let mut response = response.unwrap_or_else(|e| json!({"worker_error": e.to_string()}));
    // Taken, not cloned: with `--trace full` the results hold megabytes of trace text.
    let mut results = match response["results"].take() {
        Json::Array(results) => results,
        _ => Vec::new(),
    };
    let status = match response.get("syntax_error") {
        Some(error) => ProgramStatus::SyntaxError {
            line: error["line"].as_u64().map(|l| l as u32),
            message: error["message"].as_str().unwrap_or_default().to_string(),
        },
        None => ProgramStatus::Ok,
    };
    let tests: Vec<TestResult> = problem
        .tests
        .iter()
        .enumerate()
        .map(|(index, test)| {
            let raw = results.get_mut(index).map(Json::take).unwrap_or(Json::Null);
            let outcome = match (&status, response.get("worker_error")) {
                (ProgramStatus::SyntaxError { line, message }, _) => TestOutcome::Error {
                    exc_type: "SyntaxError".into(),
                    message: message.clone(),
                    line: *line,
                    at_load: false,
                },
                (_, Some(error)) => TestOutcome::Error {
                    exc_type: "WorkerCrashed".into(),
                    message: error.as_str().unwrap_or_default().to_string(),
                    line: None,
                    at_load: false,
                },
                _ => judge(&raw, test, problem.timeouts[index], problem.atol),
            };
            let trace = &raw["trace"];
            TestResult {
                name: test.name.clone(),
                outcome,
                duration_ms: raw["t"].as_f64().map(|t| t * 1000.0),
                trace: trace_events(trace),
                coverage: trace
                    .get("lines")
                    .and_then(|lines| Vec::<u32>::deserialize(lines).ok()),
            }
        })
        .collect();
    Execution {
        problem_id: sample.problem_id.clone(),
        sample_id: sample.sample_id.clone(),
        model: sample.model.clone(),
        code: sample.code.clone(),
        passed: status == ProgramStatus::Ok && tests.iter().all(|t| t.outcome.is_passed()),
        status,
        tests,
        duration_ms: response["wall"].as_f64().unwrap_or(0.0) * 1000.0,
        restarts: response["restarts"].as_u64().unwrap_or(0) as u32,
        stdout: response["stdout"].as_str().unwrap_or_default().to_string(),
        stderr: response["stderr"].as_str().unwrap_or_default().to_string(),
        stdout_truncated: response["stdout_truncated"] == true,
        stderr_truncated: response["stderr_truncated"] == true,
        traces_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_the_times_given_with_the_floor_and_the_references_limit() {
        let limits = Limits::default();
        let times = vec![Some(0.01), Some(2.0), None];
        let (timeouts, budget) = time_limits(&limits, Some(&times), 3);
        assert_eq!(timeouts, vec![1.0, 8.0, 20.0]);
        assert_eq!(budget, 2.0 * 4.0 * (0.01 + 2.0 + 20.0));
        // Not timed (a traced run whose reference was not timed traced): the reference's limit.
        let (timeouts, budget) = time_limits(&limits, None, 2);
        assert_eq!((timeouts, budget), (vec![20.0, 20.0], 320.0));
    }

    #[test]
    fn traced_times_are_kept_by_mode_and_full_traces_caps() {
        let caps = TraceLimits::default();
        assert_eq!(caps.timing_key(TraceMode::None), None);
        assert_eq!(caps.timing_key(TraceMode::Coverage).unwrap(), "coverage");
        let full = caps.timing_key(TraceMode::Full).unwrap();
        let smaller = TraceLimits {
            max_events: 40,
            ..TraceLimits::default()
        };
        assert_ne!(smaller.timing_key(TraceMode::Full).unwrap(), full);
        assert_eq!(smaller.timing_key(TraceMode::Coverage).unwrap(), "coverage");
    }
}
