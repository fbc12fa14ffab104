//! One warm Python worker: a long-lived interpreter running our harness, spoken to in JSON
//! lines over its stdin/stdout. The harness forks a child per job, so the interpreter's
//! start-up and imports are paid once per worker, not once per test.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use crate::error::ExecError;

/// The harness, compiled into the binary so the tool needs no files beside itself.
pub const HARNESS: &str = include_str!("harness.py");

/// The tracer, run in the same namespace, before the harness.
pub const TRACER: &str = include_str!("tracer.py");

/// What a worker reported about its isolation when it started.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Isolation {
    /// Runs in its own user, pid, mount and network namespaces.
    pub namespaces: bool,
    /// Anything weaker than full isolation, in words.
    pub notes: Vec<String>,
    /// The worker's Python version.
    pub python: String,
}

/// A running worker process.
pub struct Worker {
    child: Child,
    /// `None` once closed, which asks the worker to finish.
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    pub isolation: Isolation,
}

impl Worker {
    /// Starts a worker and waits for its greeting.
    pub fn start(python: &Path, index: usize, isolate: bool) -> Result<Worker, ExecError> {
        let config = json!({"index": index, "isolate": isolate});
        let script = format!("{TRACER}\n{HARNESS}");
        let mut child = Command::new(python)
            // -s: no user site-packages; not -I/-E, which would drop PYTHONHASHSEED.
            .args(["-s", "-c", &script, &config.to_string()])
            .env_clear()
            .envs(worker_environment())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|source| ExecError::Spawn {
                python: python.into(),
                source,
            })?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout =
            BufReader::with_capacity(1 << 16, child.stdout.take().expect("stdout is piped"));
        let mut worker = Worker {
            child,
            stdin: Some(stdin),
            stdout,
            isolation: Isolation::default(),
        };
        let greeting = worker.receive(Duration::from_secs(60))?;
        worker.isolation = Isolation {
            namespaces: greeting["isolation"]["namespaces"]
                .as_bool()
                .unwrap_or(false),
            notes: greeting["isolation"]["notes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n.as_str().map(String::from))
                .collect(),
            python: greeting["python"].as_str().unwrap_or_default().to_string(),
        };
        Ok(worker)
    }

    /// Sends one request and waits up to `patience` for its answer; a worker that does not
    /// answer in time is killed (the caller starts another).
    pub fn call(&mut self, request: &Json, patience: Duration) -> Result<Json, ExecError> {
        let mut line = serde_json::to_vec(request).expect("requests serialize");
        line.push(b'\n');
        let sent = match self.stdin.as_mut() {
            Some(stdin) => stdin.write_all(&line).and_then(|()| stdin.flush()),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        };
        if let Err(source) = sent {
            return Err(ExecError::WorkerDied {
                detail: format!("cannot send a job: {source}"),
            });
        }
        self.receive(patience)
    }

    fn receive(&mut self, patience: Duration) -> Result<Json, ExecError> {
        if !self.wait_readable(patience) {
            self.kill();
            return Err(ExecError::WorkerDied {
                detail: format!(
                    "no answer within {:.0} s; the worker was stopped",
                    patience.as_secs_f64()
                ),
            });
        }
        // The worker writes each answer as one line and flushes it: once data has begun to
        // arrive, the rest of the line follows at once.
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => {
                let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
                Err(ExecError::WorkerDied {
                    detail: format!("the worker exited ({status})"),
                })
            }
            Ok(_) => {
                let mut reply: Json =
                    serde_json::from_str(&line).map_err(|e| ExecError::Protocol {
                        detail: format!("{e} in {:.200}", line),
                    })?;
                self.receive_attachments(&mut reply)?;
                Ok(reply)
            }
            Err(e) => Err(ExecError::WorkerDied {
                detail: e.to_string(),
            }),
        }
    }

    /// Reads the lines that follow a reply with `attachments` (the events of traces, as the
    /// tracer wrote them) and puts each in place: a result's trace that names attachment
    /// `k` gets it as its `json` text, which only [`crate::Executor`] parses, once.
    fn receive_attachments(&mut self, reply: &mut Json) -> Result<(), ExecError> {
        let count = reply["attachments"].as_u64().unwrap_or(0);
        let mut attachments = Vec::new();
        for _ in 0..count {
            // Bytes, not a String: a program that took over its process can send anything,
            // and its text not being UTF-8 costs it its trace, not the worker.
            let mut line = Vec::new();
            let read = self.stdout.read_until(b'\n', &mut line);
            if read.is_err() || line.pop() != Some(b'\n') {
                return Err(ExecError::WorkerDied {
                    detail: "the worker exited within a reply".into(),
                });
            }
            attachments.push(String::from_utf8(line).ok());
        }
        let Some(results) = reply["results"].as_array_mut() else {
            return Ok(());
        };
        for trace in results.iter_mut().filter_map(|r| r.get_mut("trace")) {
            let taken = trace["attachment"]
                .as_u64()
                .and_then(|k| attachments.get_mut(k as usize))
                .and_then(Option::take);
            if let Some(text) = taken {
                trace["json"] = Json::String(text);
            }
        }
        Ok(())
    }

    /// Waits until an answer has begun to arrive (or the worker closed its end).
    fn wait_readable(&mut self, patience: Duration) -> bool {
        if !self.stdout.buffer().is_empty() {
            return true;
        }
        let deadline = Instant::now() + patience;
        let mut poll = libc::pollfd {
            fd: self.stdout.get_ref().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let millis = left.as_millis().min(i32::MAX as u128) as i32;
            // SAFETY: one valid pollfd for the duration of the call.
            let ready = unsafe { libc::poll(&mut poll, 1, millis) };
            if ready > 0 {
                return true;
            }
            let interrupted = ready < 0
                && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted;
            if !interrupted && left.is_zero() {
                return false;
            }
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    /// Closing its stdin ends the worker's loop; it exits, and so does everything in its
    /// namespaces. A worker that does not leave within a second is killed.
    fn drop(&mut self) {
        self.stdin = None;
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
        self.kill();
    }
}

/// A small, fixed environment: reproducible hashing (set iteration order must agree between
/// the reference run and a sample's run), UTF-8 I/O, and nothing inherited that could change
/// how Python behaves.
fn worker_environment() -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("PYTHONHASHSEED", "0".to_string()),
        ("PYTHONIOENCODING", "utf-8".to_string()),
        ("PYTHONDONTWRITEBYTECODE", "1".to_string()),
        ("LANG", "C.UTF-8".to_string()),
        ("OMP_NUM_THREADS", "1".to_string()),
    ];
    if let Ok(path) = std::env::var("PATH") {
        env.push(("PATH", path));
    }
    env
}
