//! SandboxFusion's API, so its clients work unchanged: `POST /run_code` (one program, its
//! stdin and files, one wall-clock limit) and `POST /submit` with `provided_data` test
//! cases (stdin in, stdout expected). Status rules as SandboxFusion's: `run_result.status`
//! is `Finished` when the program ended by itself (any exit code or signal),
//! `TimeLimitExceeded` when it was killed at its limit, `Error` when the sandbox failed; the
//! response's `status` is `Success` when it finished with exit code 0, `SandboxError` when
//! the sandbox failed, else `Failed`. A program killed by a signal has the negative signal
//! number as its return code, as Python's `subprocess` reports it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json_;
use tracealign_exec::{ExecError, Script, ScriptEnd, ScriptRun};

use crate::api_error::ApiError;
use crate::app::AppState;
use crate::body::JsonBody;
use crate::lanes::Lanes;
use crate::request_limits::RequestLimits;

/// Most files one request may fetch back.
const FETCH_FILES: usize = 64;

fn ten() -> f64 {
    10.0
}

/// `POST /run_code`'s request (SandboxFusion's `RunCodeRequest`, with verl's
/// `memory_limit_MB`).
#[derive(Debug, Deserialize)]
pub struct RunCodeRequest {
    pub code: String,
    pub language: String,
    #[serde(default = "ten")]
    pub compile_timeout: f64,
    #[serde(default = "ten")]
    pub run_timeout: f64,
    #[serde(default, rename = "memory_limit_MB")]
    pub memory_limit_mb: Option<i64>,
    #[serde(default)]
    pub stdin: Option<String>,
    /// Path → base64 content; a null content writes nothing.
    #[serde(default)]
    pub files: BTreeMap<String, Option<String>>,
    #[serde(default)]
    pub fetch_files: Vec<String>,
}

/// SandboxFusion's `RunStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RunStatus {
    Success,
    Failed,
    SandboxError,
}

/// SandboxFusion's `CommandRunStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CommandRunStatus {
    Finished,
    Error,
    TimeLimitExceeded,
}

/// SandboxFusion's `CommandRunResult`.
#[derive(Debug, Clone, Serialize)]
pub struct CommandRunResult {
    pub status: CommandRunStatus,
    pub execution_time: Option<f64>,
    pub return_code: Option<i32>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
}

/// SandboxFusion's `RunCodeResponse`.
#[derive(Debug, Clone, Serialize)]
pub struct RunCodeResponse {
    pub status: RunStatus,
    pub message: String,
    pub compile_result: Option<CommandRunResult>,
    pub run_result: Option<CommandRunResult>,
    pub executor_pod_name: Option<String>,
    /// Fetched files, base64.
    pub files: BTreeMap<String, String>,
}

pub async fn run_code(
    State(state): State<Arc<AppState>>,
    JsonBody(request): JsonBody<RunCodeRequest>,
) -> Result<Json<RunCodeResponse>, ApiError> {
    let script = script_of(&request, &state.limits)?;
    let ticket = state.admission.admit(state.metrics.mean_seconds())?;
    let shared = Arc::clone(&state);
    let run = (state.admission)
        .run(&ticket, move || shared.engine.untraced.run_script(&script))
        .await?;
    let response = response_of(run);
    state.metrics.outcomes([outcome_kind(&response)]);
    Ok(Json(response))
}

/// The script a request describes, every field checked against the server's limits.
fn script_of(request: &RunCodeRequest, limits: &RequestLimits) -> Result<Script, ApiError> {
    check_language(request.language.as_str(), "language")?;
    limits.check_code("code", &request.code)?;
    let stdin = request.stdin.clone().unwrap_or_default();
    RequestLimits::check_bytes("stdin", &stdin, limits.stdin_bytes)?;
    let timeout_s = limits.check_timeout("run_timeout", request.run_timeout)?;
    let memory_mb = match request.memory_limit_mb {
        Some(mb) if mb > limits.memory_mb as i64 => {
            let why = format!("at most {} MB on this server", limits.memory_mb);
            return Err(ApiError::invalid("memory_limit_MB", why));
        }
        Some(mb) if mb > 0 => Some(mb as u64),
        _ => None,
    };
    RequestLimits::check_count("fetch_files", request.fetch_files.len(), FETCH_FILES)?;
    for (index, path) in request.fetch_files.iter().enumerate() {
        check_path(&format!("fetch_files[{index}]"), path)?;
    }
    Ok(Script {
        code: request.code.clone(),
        stdin,
        files: decode_files(&request.files, limits.files_bytes)?,
        fetch_files: request.fetch_files.clone(),
        timeout_s,
        memory_mb,
    })
}

fn check_language(language: &str, field: &str) -> Result<(), ApiError> {
    match language {
        "python" | "python3" => Ok(()),
        other => Err(ApiError::invalid(
            field,
            format!("`{other}` does not run here; this server runs `python`"),
        )),
    }
}

/// A path inside the work directory: relative, without `..`.
fn check_path(field: &str, path: &str) -> Result<(), ApiError> {
    let inside = !path.is_empty()
        && !path.starts_with('/')
        && !path.split('/').any(|part| part == ".." || part.is_empty());
    match inside {
        true => Ok(()),
        false => Err(ApiError::invalid(
            field,
            "must be a relative path inside the work directory (no `..`, no leading `/`)",
        )),
    }
}

fn decode_files(
    files: &BTreeMap<String, Option<String>>,
    limit: usize,
) -> Result<BTreeMap<String, Vec<u8>>, ApiError> {
    let mut decoded = BTreeMap::new();
    let mut total = 0;
    for (path, content) in files {
        let field = format!("files.{path}");
        check_path(&field, path)?;
        let Some(content) = content else { continue };
        let bytes = BASE64
            .decode(content)
            .map_err(|e| ApiError::invalid(&field, format!("not base64: {e}")))?;
        total += bytes.len();
        if total > limit {
            return Err(ApiError::too_large(
                "files",
                limit,
                "bytes (decoded, all files)",
            ));
        }
        decoded.insert(path.clone(), bytes);
    }
    Ok(decoded)
}

/// `message` of a program that ran out of its memory limit.
pub const MEMORY_LIMIT_MESSAGE: &str =
    "MemoryLimitExceeded: the program ran out of its memory limit";

/// The SandboxFusion answer for a script's run (or for the sandbox's failure).
fn response_of(run: Result<ScriptRun, ExecError>) -> RunCodeResponse {
    let run = match run {
        Ok(run) => run,
        Err(error) => {
            let failed = CommandRunResult {
                status: CommandRunStatus::Error,
                execution_time: None,
                return_code: None,
                stdout: None,
                stderr: Some(error.to_string()),
            };
            return RunCodeResponse {
                status: RunStatus::SandboxError,
                message: error.to_string(),
                compile_result: None,
                run_result: Some(failed),
                executor_pod_name: None,
                files: BTreeMap::new(),
            };
        }
    };
    let (status, return_code, run_status) = match run.end {
        ScriptEnd::Exited { code: 0 } => (CommandRunStatus::Finished, Some(0), RunStatus::Success),
        ScriptEnd::Exited { code } => (CommandRunStatus::Finished, Some(code), RunStatus::Failed),
        ScriptEnd::Killed { signal } => {
            (CommandRunStatus::Finished, Some(-signal), RunStatus::Failed)
        }
        ScriptEnd::Timeout => (CommandRunStatus::TimeLimitExceeded, None, RunStatus::Failed),
        ScriptEnd::MemoryLimit => (CommandRunStatus::Finished, Some(1), RunStatus::Failed),
    };
    // SandboxFusion's statuses have no word for it (its clients parse them strictly), so
    // an out-of-memory is told by the message, and in the metrics by a kind of its own.
    let message = match run.end {
        ScriptEnd::MemoryLimit => MEMORY_LIMIT_MESSAGE.to_string(),
        _ => String::new(),
    };
    RunCodeResponse {
        status: run_status,
        message,
        compile_result: None,
        run_result: Some(CommandRunResult {
            status,
            execution_time: Some(run.seconds),
            return_code,
            stdout: Some(run.stdout),
            stderr: Some(run.stderr),
        }),
        executor_pod_name: None,
        files: (run.files.into_iter())
            .map(|(path, bytes)| (path, BASE64.encode(bytes)))
            .collect(),
    }
}

/// The outcome's name in the metrics.
fn outcome_kind(response: &RunCodeResponse) -> &'static str {
    let run = response.run_result.as_ref();
    match (response.status, run.map(|r| r.status)) {
        (RunStatus::Success, _) => "script_success",
        (RunStatus::SandboxError, _) => "script_sandbox_error",
        _ if response.message == MEMORY_LIMIT_MESSAGE => "script_memory_limit",
        (_, Some(CommandRunStatus::TimeLimitExceeded)) => "script_timeout",
        _ => "script_failed",
    }
}

/// `POST /submit`'s request (SandboxFusion's `SubmitRequest`).
#[derive(Debug, Deserialize)]
pub struct SubmitRequest {
    #[serde(default)]
    pub dataset: String,
    pub id: Json_,
    pub completion: String,
    pub config: TestConfig,
}

/// SandboxFusion's `TestConfig`, the fields this server reads.
#[derive(Debug, Deserialize)]
pub struct TestConfig {
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub run_timeout: Option<f64>,
    #[serde(default)]
    pub provided_data: Option<Json_>,
}

/// One standard-stream test: `{"input": {"stdin": ...}, "output": {"stdout": ...}}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StdioTest {
    pub input: BTreeMap<String, String>,
    pub output: BTreeMap<String, String>,
}

/// SandboxFusion's `EvalTestCase`.
#[derive(Debug, Serialize)]
pub struct EvalTestCase {
    pub passed: bool,
    pub exec_info: RunCodeResponse,
    pub test_info: StdioTest,
}

/// SandboxFusion's `EvalResult`.
#[derive(Debug, Serialize)]
pub struct EvalResult {
    pub id: Json_,
    pub accepted: bool,
    pub extracted_code: String,
    pub full_code: Option<String>,
    pub test_code: Option<String>,
    pub tests: Vec<EvalTestCase>,
    pub extracted_type: Option<&'static str>,
    pub extra: Option<Json_>,
}

pub async fn submit(
    State(state): State<Arc<AppState>>,
    JsonBody(request): JsonBody<SubmitRequest>,
) -> Result<Json<EvalResult>, ApiError> {
    let limits = &state.limits;
    if let Some(language) = &request.config.language {
        check_language(language, "config.language")?;
    }
    limits.check_code("completion", &request.completion)?;
    let tests = provided_tests(request.config.provided_data.as_ref(), limits)?;
    let timeout = request.config.run_timeout.unwrap_or(10.0);
    let timeout_s = limits.check_timeout("config.run_timeout", timeout)?;
    let (code, extracted_type) = extract_code(&request.completion);
    let ticket = state.admission.admit(state.metrics.mean_seconds())?;
    let shared = Arc::clone(&state);
    let (program, cases) = (code.clone(), tests.clone());
    let runs = (state.admission)
        .run(&ticket, move || {
            run_tests(&shared.engine.untraced, &program, &cases, timeout_s)
        })
        .await?;
    let tests: Vec<EvalTestCase> = tests
        .into_iter()
        .zip(runs)
        .map(|(test, run)| {
            let expected = test.output.get("stdout").map_or("", String::as_str);
            let passed = run.as_ref().is_ok_and(|run| {
                run.end == ScriptEnd::Exited { code: 0 } && same_output(&run.stdout, expected)
            });
            EvalTestCase {
                passed,
                exec_info: response_of(run),
                test_info: test,
            }
        })
        .collect();
    state.metrics.outcomes(tests.iter().map(|t| match t.passed {
        true => "passed",
        false => "failed",
    }));
    Ok(Json(EvalResult {
        id: request.id,
        accepted: !tests.is_empty() && tests.iter().all(|t| t.passed),
        extracted_code: code,
        full_code: None,
        test_code: None,
        tests,
        extracted_type,
        extra: None,
    }))
}

/// The test cases of `provided_data`: an object whose `test` is a list of stdio tests (or
/// that list as JSON text, as SandboxFusion's dataset rows keep it), or the list itself.
fn provided_tests(
    data: Option<&Json_>,
    limits: &RequestLimits,
) -> Result<Vec<StdioTest>, ApiError> {
    let field = "config.provided_data";
    let data = data.ok_or_else(|| {
        ApiError::invalid(field, "needed: this server has no datasets of its own; send the test cases as `provided_data.test`")
    })?;
    let tests = match data {
        Json_::Array(_) => data.clone(),
        Json_::Object(object) => match object.get("test") {
            Some(Json_::String(text)) => serde_json::from_str(text)
                .map_err(|e| ApiError::invalid(&format!("{field}.test"), e))?,
            Some(tests) => tests.clone(),
            None => return Err(ApiError::invalid(field, "has no `test` list")),
        },
        _ => {
            return Err(ApiError::invalid(
                field,
                "must be an object with `test`, or a list",
            ))
        }
    };
    let tests: Vec<StdioTest> = serde_json::from_value(tests).map_err(|e| {
        let why = format!(
            "{e}; expected [{{\"input\": {{\"stdin\": ...}}, \"output\": {{\"stdout\": ...}}}}]"
        );
        ApiError::invalid(&format!("{field}.test"), why)
    })?;
    RequestLimits::check_count(&format!("{field}.test"), tests.len(), limits.tests)?;
    for (index, test) in tests.iter().enumerate() {
        let stdin = test.input.get("stdin").map_or("", String::as_str);
        RequestLimits::check_bytes(
            &format!("{field}.test[{index}].input.stdin"),
            stdin,
            limits.stdin_bytes,
        )?;
    }
    Ok(tests)
}

/// The program in a completion: its first fenced Python block (else its first fenced
/// block), or the whole completion when it has none.
pub fn extract_code(completion: &str) -> (String, Option<&'static str>) {
    let mut blocks: Vec<(&str, String)> = Vec::new();
    let mut lines = completion.lines();
    while let Some(line) = lines.next() {
        let Some(language) = line.trim_start().strip_prefix("```") else {
            continue;
        };
        let body: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.trim_start().starts_with("```"))
            .collect();
        blocks.push((language.trim(), body.join("\n") + "\n"));
    }
    let python = blocks
        .iter()
        .find(|(lang, _)| matches!(*lang, "python" | "py" | "python3"));
    match python.or(blocks.first()) {
        Some((_, code)) => (code.clone(), Some("fenced")),
        None => (completion.to_string(), None),
    }
}

/// Each test's run, on as many lanes as are free.
fn run_tests(
    lanes: &Lanes,
    code: &str,
    tests: &[StdioTest],
    timeout_s: f64,
) -> Vec<Result<ScriptRun, ExecError>> {
    let next = AtomicUsize::new(0);
    let threads = lanes.count().min(tests.len()).max(1);
    let mut runs: Vec<(usize, Result<ScriptRun, ExecError>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(test) = tests.get(index) else { break };
                        let script = Script {
                            code: code.to_string(),
                            stdin: test.input.get("stdin").cloned().unwrap_or_default(),
                            timeout_s,
                            ..Script::default()
                        };
                        done.push((index, lanes.run_script(&script)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    runs.sort_by_key(|(index, _)| *index);
    runs.into_iter().map(|(_, run)| run).collect()
}

/// Output equality as online judges take it: trailing whitespace on each line and trailing
/// blank lines ignored.
pub fn same_output(actual: &str, expected: &str) -> bool {
    let lines = |text: &str| -> Vec<String> {
        let mut lines: Vec<String> = text.lines().map(|l| l.trim_end().to_string()).collect();
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines
    };
    lines(actual) == lines(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenced_python_is_extracted_and_plain_code_kept() {
        let (code, kind) = extract_code("Here:\n```python\nprint(1)\n```\ndone");
        assert_eq!((code.as_str(), kind), ("print(1)\n", Some("fenced")));
        let (code, kind) = extract_code("print(2)\n");
        assert_eq!((code.as_str(), kind), ("print(2)\n", None));
    }

    #[test]
    fn outputs_compare_without_trailing_whitespace() {
        assert!(same_output("1 2 \n3\n\n", "1 2\n3"));
        assert!(!same_output("1 2\n", "1  2\n"));
    }

    #[test]
    fn paths_must_stay_inside_the_work_directory() {
        assert!(check_path("f", "data/in.txt").is_ok());
        for bad in ["/etc/passwd", "../x", "a//b", ""] {
            assert_eq!(
                check_path("f", bad).unwrap_err().field.as_deref(),
                Some("f")
            );
        }
    }
}
