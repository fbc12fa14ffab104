//! What happened when a sample ran: one record per sample, one outcome per test.
//! These are the lines of `runs.jsonl`.

use serde::{Deserialize, Serialize};

/// The result of running one sample against every test of its problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    pub problem_id: String,
    pub sample_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The program that ran, so that a runs file is all later stages (localization,
    /// datasets) need. Empty in runs files written before it was recorded.
    #[serde(default)]
    pub code: String,
    pub status: ProgramStatus,
    /// Every test passed.
    pub passed: bool,
    /// One entry per test of the problem, in the problem's order, even after a failure.
    pub tests: Vec<TestResult>,
    /// Wall time of the whole sample, in milliseconds.
    pub duration_ms: f64,
    /// How many times the program had to be started again after a test killed or hung it.
    #[serde(default)]
    pub restarts: u32,
    /// Standard output, cut to the capture limit.
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub stderr: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stdout_truncated: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stderr_truncated: bool,
    /// Where the tests' traces went when they were too big to keep inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traces_at: Option<TraceLocation>,
}

/// A sample's traces in a sidecar file: one JSON line at `offset`, of `bytes` bytes,
/// `{"sample_id": ..., "traces": [trace or null, ...]}` in test order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceLocation {
    /// File name, relative to the runs file's directory.
    pub file: String,
    pub offset: u64,
    pub bytes: u64,
}

/// Whether the program could be compiled at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProgramStatus {
    Ok,
    SyntaxError { line: Option<u32>, message: String },
}

/// One test's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    pub name: String,
    #[serde(flatten)]
    pub outcome: TestOutcome,
    /// Time spent in the test as measured inside the program, when it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    /// The test's trace (`--trace full`), when it is kept inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<crate::Trace>,
    /// Lines of the candidate's program this test ran (`--trace coverage` or `full`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Vec<u32>>,
}

/// How a test ended. A wrong answer, a crash or a hang is an outcome, never an error of
/// the tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TestOutcome {
    Passed,
    /// A wrong answer: the assertion's source, and for value checks both values as `repr`s.
    Failed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assertion: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expected: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        actual: Option<String>,
    },
    /// An exception, with the line of the candidate's code where it was raised (if it was).
    Error {
        exc_type: String,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<u32>,
        /// Raised while the program was loading (its module-level code ran), before the
        /// test itself: every test of the program then has this same error.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        at_load: bool,
    },
    Timeout {
        limit_s: f64,
    },
    MemoryLimit,
    OutputLimit,
    /// The process died from a signal (a segfault, say).
    Killed {
        signal: i32,
    },
}

/// A sample's verdict in one word, for summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed,
    Error,
    Timeout,
}

impl TestOutcome {
    pub fn is_passed(&self) -> bool {
        matches!(self, TestOutcome::Passed)
    }

    /// The outcome in words, for people and prompts: `error: IndexError: list index out of
    /// range (line 3)`.
    pub fn describe(&self) -> String {
        match self {
            TestOutcome::Passed => "passed".into(),
            TestOutcome::Failed {
                expected: Some(expected),
                actual: Some(actual),
                ..
            } => format!("failed: expected {expected}, got {actual}"),
            TestOutcome::Failed { assertion, .. } => format!(
                "failed: {}",
                assertion.as_deref().unwrap_or("assertion failed")
            ),
            TestOutcome::Error {
                exc_type,
                message,
                line,
                at_load,
            } => {
                let place = match (line, at_load) {
                    (Some(line), true) => format!(" (line {line}, while loading the program)"),
                    (Some(line), false) => format!(" (line {line})"),
                    (None, true) => " (while loading the program)".into(),
                    (None, false) => String::new(),
                };
                format!("error: {exc_type}: {message}{place}")
            }
            TestOutcome::Timeout { limit_s } => format!("timeout after {limit_s:.2} s"),
            TestOutcome::MemoryLimit => "memory limit exceeded".into(),
            TestOutcome::OutputLimit => "output limit exceeded".into(),
            TestOutcome::Killed { signal } => format!("killed by signal {signal}"),
        }
    }

    /// The outcome's name as it appears in `runs.jsonl`.
    pub fn name(&self) -> &'static str {
        match self {
            TestOutcome::Passed => "passed",
            TestOutcome::Failed { .. } => "failed",
            TestOutcome::Error { .. } => "error",
            TestOutcome::Timeout { .. } => "timeout",
            TestOutcome::MemoryLimit => "memory_limit",
            TestOutcome::OutputLimit => "output_limit",
            TestOutcome::Killed { .. } => "killed",
        }
    }

    fn verdict(&self) -> Verdict {
        match self {
            TestOutcome::Passed => Verdict::Passed,
            TestOutcome::Failed { .. } => Verdict::Failed,
            TestOutcome::Timeout { .. } => Verdict::Timeout,
            _ => Verdict::Error,
        }
    }
}

impl Execution {
    /// A run of `code` whose tests (named `t0`, `t1`, …) ended as `outcomes`, with no
    /// traces, timings or output: all a scorer of verdicts looks at.
    pub fn with_outcomes(
        problem_id: &str,
        sample_id: &str,
        code: &str,
        outcomes: &[TestOutcome],
    ) -> Execution {
        Execution {
            problem_id: problem_id.into(),
            sample_id: sample_id.into(),
            model: None,
            code: code.into(),
            status: ProgramStatus::Ok,
            passed: outcomes.iter().all(TestOutcome::is_passed),
            tests: outcomes
                .iter()
                .enumerate()
                .map(|(i, outcome)| TestResult {
                    name: format!("t{i}"),
                    outcome: outcome.clone(),
                    duration_ms: None,
                    trace: None,
                    coverage: None,
                })
                .collect(),
            duration_ms: 0.0,
            restarts: 0,
            stdout: String::new(),
            stderr: String::new(),
            stdout_truncated: false,
            stderr_truncated: false,
            traces_at: None,
        }
    }

    /// Whether this is a run of a problem's reference solution (`<problem>#reference`,
    /// [`crate::sample::is_reference_id`]).
    pub fn is_reference(&self) -> bool {
        crate::sample::is_reference_id(&self.sample_id)
    }

    /// Passed when every test passed; otherwise what the first test that did not pass did
    /// (a syntax error counts as an error).
    pub fn verdict(&self) -> Verdict {
        if matches!(self.status, ProgramStatus::SyntaxError { .. }) {
            return Verdict::Error;
        }
        self.tests
            .iter()
            .find(|t| !t.outcome.is_passed())
            .map_or(Verdict::Passed, |t| t.outcome.verdict())
    }
}
