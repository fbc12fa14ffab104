//! Whole programs run as scripts: standard input given, files written into the job's work
//! directory before it starts and read back after it ends, one wall-clock limit. This is
//! how SandboxFusion's `/run_code` runs code (and so how verl scores with it), on the same
//! warm, isolated workers as tests.
//!
//! Invariants: a program's misbehaviour (a non-zero exit, a signal, a timeout, output past
//! the limit) is a [`ScriptEnd`], never an `Err`; `Err` means the machinery failed.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

/// A program to run as `python3 program.py < stdin`.
#[derive(Debug, Clone, Default)]
pub struct Script {
    pub code: String,
    pub stdin: String,
    /// Files written (relative to the work directory) before the program starts.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Files read back after it ends (relative to the work directory).
    pub fetch_files: Vec<String>,
    /// Wall-clock limit, loading included.
    pub timeout_s: f64,
    /// Address-space limit in MiB; `None`: the executor's.
    pub memory_mb: Option<u64>,
}

/// How a script ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptEnd {
    /// It exited (a Python exception exits 1, with its traceback on stderr).
    Exited { code: i32 },
    /// A signal ended it (the kernel's, or its own).
    Killed { signal: i32 },
    /// It outlived its wall-clock limit and was killed.
    Timeout,
    /// It ran out of its memory limit (Python's `MemoryError` ended it, exit code 1).
    MemoryLimit,
}

/// What a script did.
#[derive(Debug, Clone)]
pub struct ScriptRun {
    pub end: ScriptEnd,
    /// Seconds from start to end (the limit, for a timeout).
    pub seconds: f64,
    pub stdout: String,
    pub stderr: String,
    /// Whether more was written than kept, or than allowed.
    pub output_truncated: bool,
    /// The files asked for that existed, by path.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// The worker's run request for `script`, on top of the usual limits (`limits`: the
/// request's `limits` object, adjusted here).
pub(crate) fn script_request(script: &Script, mut limits: Json) -> Json {
    let hex = |bytes: &Vec<u8>| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let files: BTreeMap<&String, String> = script.files.iter().map(|(p, d)| (p, hex(d))).collect();
    if let Some(mb) = script.memory_mb {
        limits["memory_bytes"] = json!(mb << 20);
    }
    // A script's output is its answer: keep all that it may write.
    limits["capture_bytes"] = limits["output_bytes"].clone();
    json!({
        "op": "run",
        "id": 0,
        "program": script.code,
        "entry_point": "",
        "tests": [{"kind": "script"}],
        "timeouts": [script.timeout_s],
        "limits": limits,
        "script": {"stdin": script.stdin, "files": files, "fetch_files": script.fetch_files},
    })
}

/// Reads the worker's answer to [`script_request`].
pub(crate) fn script_run(script: &Script, response: &Json) -> ScriptRun {
    let result = &response["results"][0];
    let text = |key: &str| response[key].as_str().unwrap_or_default().to_string();
    let mut stderr = text("stderr");
    let end = match (response.get("syntax_error"), result["r"].as_str()) {
        (Some(error), _) => {
            stderr.push_str(&syntax_error_text(error));
            ScriptEnd::Exited { code: 1 }
        }
        (None, Some("exit")) if result["memory"] == true => ScriptEnd::MemoryLimit,
        (None, Some("exit" | "exited")) => ScriptEnd::Exited {
            code: result["code"].as_i64().unwrap_or(1) as i32,
        },
        (None, Some("killed")) => ScriptEnd::Killed {
            signal: result["signal"].as_i64().unwrap_or(9) as i32,
        },
        (None, Some("timeout")) => ScriptEnd::Timeout,
        // Tampered result pipe, oversized result line: the program broke the protocol.
        (None, _) => ScriptEnd::Exited { code: 1 },
    };
    let seconds = match end {
        ScriptEnd::Timeout => script.timeout_s,
        _ => result["t"]
            .as_f64()
            .or_else(|| response["wall"].as_f64())
            .unwrap_or(0.0),
    };
    ScriptRun {
        end,
        seconds,
        stdout: text("stdout"),
        stderr,
        output_truncated: response["stdout_truncated"] == true
            || response["stderr_truncated"] == true
            || result["output_limit"] == true,
        files: fetched_files(&result["files"]),
    }
}

/// What Python prints for a syntax error, in short.
fn syntax_error_text(error: &Json) -> String {
    let message = error["message"].as_str().unwrap_or("invalid syntax");
    match error["line"].as_u64() {
        Some(line) => format!("  File \"<candidate>\", line {line}\nSyntaxError: {message}\n"),
        None => format!("SyntaxError: {message}\n"),
    }
}

/// The fetched files from their hex form; unreadable ones (null) left out.
fn fetched_files(files: &Json) -> BTreeMap<String, Vec<u8>> {
    let Some(files) = files.as_object() else {
        return BTreeMap::new();
    };
    files
        .iter()
        .filter_map(|(path, hex)| Some((path.clone(), from_hex(hex.as_str()?)?)))
        .collect()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_ends_and_files_come_back_decoded() {
        let script = Script {
            timeout_s: 2.0,
            ..Script::default()
        };
        let answer = json!({"results": [{"r": "exit", "code": 3, "t": 0.5,
            "files": {"a.txt": "6869", "gone": null}}], "stdout": "out", "stderr": ""});
        let run = script_run(&script, &answer);
        assert_eq!(run.end, ScriptEnd::Exited { code: 3 });
        assert_eq!(run.files.get("a.txt").map(Vec::as_slice), Some(&b"hi"[..]));
        assert!(!run.files.contains_key("gone"));
        let timeout = script_run(&script, &json!({"results": [{"r": "timeout"}]}));
        assert_eq!((timeout.end, timeout.seconds), (ScriptEnd::Timeout, 2.0));
        let syntax = script_run(
            &script,
            &json!({"results": [null], "syntax_error": {"line": 2, "message": "bad"}}),
        );
        assert_eq!(syntax.end, ScriptEnd::Exited { code: 1 });
        assert!(syntax.stderr.contains("line 2\nSyntaxError: bad"));
    }
}
