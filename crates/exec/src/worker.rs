//! One warm Python worker: a long-lived interpreter running our harness, spoken to in JSON
//! lines over its stdin/stdout. The harness forks a child per job, so the interpreter's
//! start-up and imports are paid once per worker, not once per test.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use crate::error::ExecError;

/// The harness, compiled into the binary so the tool needs no files beside itself.
pub const HARNESS: &str = include_str!("harness.py");

/// The tracer, run in the same namespace, before the harness.
pub const TRACER: &str = include_str!("tracer.py");

/// `python -c BOOT TRACER HARNESS CONFIG` runs the tracer and the harness as one module,
/// leaving `sys.argv[1]` to the config.
const BOOT: &str =
    "import sys\nexec(compile(sys.argv.pop(1) + '\\n' + sys.argv.pop(1), '<harness>', 'exec'))\n";

/// What a worker reported about its isolation when it started.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Isolation {
    /// Runs in its own user, pid, mount and network namespaces.
    pub namespaces: bool,
    /// Anything weaker than full isolation, in words.
    pub notes: Vec<String>,
    /// The uid jobs run as inside the namespace, when it is not the worker's (tracealign
    /// runs as root and could map one).
    pub job_uid: Option<u32>,
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
    /// The empty host directory the worker mounted its root over (in its own mount
    /// namespace), removed once the worker is gone.
    mount_point: Option<PathBuf>,
}

impl Worker {
    /// Starts a worker and waits for its greeting.
    pub fn start(python: &Path, index: usize, isolate: bool) -> Result<Worker, ExecError> {
        let config = json!({"index": index, "isolate": isolate});
        let mut child = Command::new(python)
            // -s: no user site-packages; not -I/-E, which would drop PYTHONHASHSEED. The
            // tracer and the harness travel as arguments of their own: the kernel caps each
            // argument at 128 KiB, which the two together exceed.
            .args(["-s", "-c", BOOT, TRACER, HARNESS, &config.to_string()])
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
            mount_point: None,
        };
        let greeting = worker.receive(Instant::now() + Duration::from_secs(60))?;
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
            job_uid: greeting["isolation"]["job_uid"]
                .as_u64()
                .and_then(|uid| u32::try_from(uid).ok()),
        };
        worker.mount_point = greeting["isolation"]["mount_point"]
            .as_str()
            .map(PathBuf::from);
        Ok(worker)
    }

    /// Sends one request and waits up to `patience` for its answer (attachments included);
    /// a worker that does not answer in time, or answers something that is not the answer
    /// to this request (its nonce), is killed and the caller starts another.
    pub fn call(&mut self, request: &Json, patience: Duration) -> Result<Json, ExecError> {
        let nonce = fresh_nonce();
        // The nonce goes in as the request's last field (requests are objects): cloning
        // a request to add it would copy every test's input.
        let mut line = serde_json::to_vec(request).expect("requests serialize");
        if line.pop() != Some(b'}') {
            return Err(ExecError::Protocol {
                detail: "a request that is not a JSON object".into(),
            });
        }
        let separator = if line.len() > 1 { "," } else { "" };
        line.extend_from_slice(format!("{separator}\"nonce\":\"{nonce}\"}}\n").as_bytes());
        let sent = match self.stdin.as_mut() {
            Some(stdin) => stdin.write_all(&line).and_then(|()| stdin.flush()),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        };
        if let Err(source) = sent {
            return Err(ExecError::WorkerDied {
                detail: format!("cannot send a job: {source}"),
            });
        }
        let reply = self.receive(Instant::now() + patience);
        match reply {
            Ok(reply) if reply["nonce"] == nonce.as_str() => Ok(reply),
            Ok(_) => {
                self.kill();
                Err(ExecError::Protocol {
                    detail: "a reply that does not answer the request in flight".into(),
                })
            }
            Err(e) => {
                self.kill();
                Err(e)
            }
        }
    }

    /// Whether the worker has written anything since its last reply: it never should, so
    /// such a worker is not trusted with another job.
    pub fn has_unasked_output(&mut self) -> bool {
        !self.stdout.buffer().is_empty() || self.wait_readable(Instant::now())
    }

    fn receive(&mut self, deadline: Instant) -> Result<Json, ExecError> {
        let line = self.read_line(deadline)?;
        let mut reply: Json = serde_json::from_slice(&line).map_err(|e| ExecError::Protocol {
            detail: format!("{e} in {:.200}", String::from_utf8_lossy(&line)),
        })?;
        self.receive_attachments(&mut reply, deadline)?;
        Ok(reply)
    }

    /// One line of the worker's output, without its newline, by `deadline`.
    fn read_line(&mut self, deadline: Instant) -> Result<Vec<u8>, ExecError> {
        let mut line = Vec::new();
        loop {
            let buffered = self.stdout.buffer();
            if let Some(end) = buffered.iter().position(|&b| b == b'\n') {
                line.extend_from_slice(&buffered[..end]);
                self.stdout.consume(end + 1);
                return Ok(line);
            }
            line.extend_from_slice(buffered);
            let taken = buffered.len();
            self.stdout.consume(taken);
            if !self.wait_readable(deadline) {
                return Err(ExecError::WorkerDied {
                    detail: "no answer in time; the worker was stopped".into(),
                });
            }
            match self.stdout.fill_buf() {
                Ok([]) => {
                    let status = match self.child.try_wait() {
                        Ok(Some(status)) => status.to_string(),
                        _ => "its output closed".into(),
                    };
                    return Err(ExecError::WorkerDied {
                        detail: format!("the worker exited ({status})"),
                    });
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(ExecError::WorkerDied {
                        detail: e.to_string(),
                    })
                }
            }
        }
    }

    /// Reads the lines that follow a reply with `attachments` (the events of traces, as the
    /// tracer wrote them) and puts each in place: a result's trace that names attachment
    /// `k` gets it as its `json` text, which only [`crate::Executor`] parses, once.
    fn receive_attachments(
        &mut self,
        reply: &mut Json,
        deadline: Instant,
    ) -> Result<(), ExecError> {
        let count = reply["attachments"].as_u64().unwrap_or(0);
        let mut attachments = Vec::new();
        for _ in 0..count {
            // Bytes, not a String: a program that took over its process can send anything,
            // and its text not being UTF-8 costs it its trace, not the worker.
            let line = self.read_line(deadline)?;
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

    /// Waits until output has begun to arrive (or the worker closed its end), at most
    /// until `deadline`.
    fn wait_readable(&mut self, deadline: Instant) -> bool {
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
        self.remove_mount_point();
    }

    /// A worker killed before it could remove its mount point would leave an empty
    /// directory in the host's temp dir for every replacement.
    fn remove_mount_point(&mut self) {
        if let Some(dir) = self.mount_point.take() {
            let _ = std::fs::remove_dir(dir);
        }
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
                Ok(Some(_)) | Err(_) => return self.remove_mount_point(),
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
        self.kill();
    }
}

/// 128 random bits, as hex: a request's nonce, echoed by its reply.
fn fresh_nonce() -> String {
    let mut bytes = [0u8; 16];
    // SAFETY: the buffer is valid for its length.
    let filled = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    if filled != bytes.len() as isize {
        // No getrandom: still unique per request, which is what the reply check needs.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        bytes = (now.as_nanos() ^ u128::from(std::process::id())).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
        // Each job sets its thread pools' sizes ([`Limits::threads`]); the worker's own is 1.
        ("OMP_NUM_THREADS", "1".to_string()),
    ];
    if let Ok(path) = std::env::var("PATH") {
        env.push(("PATH", path));
    }
    env
}
