//! A temporary directory per test and a wrapper around the `tracealign` binary whose
//! failures print the command, the directory and both output streams.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value as Json;

pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes JSON Lines, one value per line.
    pub fn write_jsonl(&self, name: &str, rows: &[Json]) -> PathBuf {
        let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
        self.write(name, &text)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write test file");
        path
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tracealign"));
        // Each test starts with an empty cache of its own.
        command
            .current_dir(self.dir.path())
            .env("TRACEALIGN_CACHE", self.path("cache"));
        command
    }

    /// Runs `tracealign ARGS` and insists it succeeds.
    pub fn run_ok(&self, args: &[&str]) -> Output {
        let output = self.command().args(args).output().expect("run tracealign");
        assert!(
            output.status.success(),
            "{}",
            describe(args, self.dir.path(), &output)
        );
        output
    }

    /// Runs `tracealign` with `line` split at whitespace (so, arguments without spaces)
    /// and insists it succeeds.
    pub fn run_line(&self, line: &str) -> Output {
        self.run_ok(&line.split_whitespace().collect::<Vec<_>>())
    }

    /// Runs `tracealign ARGS` and insists it fails; returns stderr.
    pub fn run_err(&self, args: &[&str]) -> String {
        let output = self.command().args(args).output().expect("run tracealign");
        assert!(
            !output.status.success(),
            "expected failure\n{}",
            describe(args, self.dir.path(), &output)
        );
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        assert!(!stderr.contains("panicked"), "{stderr}");
        stderr
    }

    /// Reads a runs file into executions keyed by sample id.
    pub fn runs(&self, name: &str) -> HashMap<String, Json> {
        read_runs(&self.path(name))
            .into_iter()
            .map(|r| (r["sample_id"].as_str().unwrap().to_string(), r))
            .collect()
    }
}

pub fn read_runs(path: &Path) -> Vec<Json> {
    let text = std::fs::read_to_string(path).expect("runs file");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

pub fn describe(args: &[&str], dir: &Path, output: &Output) -> String {
    format!(
        "command: tracealign {}\ndir: {}\nstatus: {}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        dir.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The outcome names of an execution's tests, in order.
pub fn outcomes(execution: &Json) -> Vec<String> {
    execution["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["outcome"].as_str().unwrap().to_string())
        .collect()
}

/// A problem in our format: `f(x) = x + 1`, judged three ways (input/expected, a rewritten
/// `==` assert, a rewritten tolerance assert) and by a plain statement test.
pub fn increment_problem() -> Json {
    serde_json::json!({
        "id": "inc", "language": "python", "prompt": "def f(x):\n", "entry_point": "f",
        "reference": "def f(x):\n    return x + 1\n",
        "tests": [
            {"name": "value", "input": [1], "expected": 2},
            {"name": "assert_eq", "code": "assert f(3) == 4"},
            {"name": "assert_close", "code": "assert abs(candidate(4) - 5) < 1e-9"},
            {"name": "statements", "code": "for i in range(3):\n    assert candidate(i) == i + 1"}
        ]
    })
}

pub fn sample(id: &str, code: &str) -> Json {
    serde_json::json!({"problem_id": "inc", "sample_id": id, "code": code})
}

/// The fields of `/proc/PID/stat` after the command name (`state ppid ...`): the name may
/// hold spaces, so they are read after its last ')'.
pub fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(String::from).collect())
}

pub fn parent_of(pid: i32) -> Option<i32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// Every process id in /proc.
pub fn all_pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_string_lossy().parse().ok())
        .collect()
}

/// A loopback server written in Python (`python3 -c script args...`), killed when dropped.
pub struct PythonServer(Child);

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `script`, which prints the port it listens on as its first line.
pub fn python_server(script: &str, args: &[&str]) -> (PythonServer, u16) {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 starts the server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().expect("the server prints its port");
    (PythonServer(child), port)
}
