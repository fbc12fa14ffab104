//! What tracealign takes from a worker: only the answer to the request in flight, in time.
//! Each test starts a fake worker (a real Python process speaking the worker protocol, but
//! misbehaving in one way) in place of the interpreter.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use tracealign_exec::worker::Worker;
use tracealign_exec::ExecError;

/// A fake worker: greets, then answers each request by `answer` (Python statements with
/// `request`, `reply(message)` and `out` in scope).
fn fake_worker(dir: &tempfile::TempDir, answer: &str) -> PathBuf {
    let body: String = answer.lines().map(|l| format!("    {l}\n")).collect();
    let script = format!(
        "import json, sys, time\nout = sys.stdout\n\
         def reply(message):\n    out.write(json.dumps(message) + '\\n')\n    out.flush()\n\
         reply({{'ready': True, 'python': 'fake', 'isolation': {{'namespaces': False, 'notes': []}}}})\n\
         for line in sys.stdin:\n    request = json.loads(line)\n{body}"
    );
    let script_path = dir.path().join("fake_worker.py");
    std::fs::write(&script_path, script).unwrap();
    // The worker is started as `PYTHON -s -c BOOT TRACER HARNESS CONFIG`: a shell script in the
    // interpreter's place runs the fake instead.
    let python = dir.path().join("python");
    std::fs::write(
        &python,
        format!("#!/bin/sh\nexec python3 {}\n", script_path.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    python
}

fn start(answer: &str) -> (tempfile::TempDir, Worker) {
    let dir = tempfile::tempdir().unwrap();
    let python = fake_worker(&dir, answer);
    let worker = Worker::start(&python, 0, false).expect("the fake worker greets");
    (dir, worker)
}

#[test]
fn an_honest_answer_is_taken() {
    let (_dir, mut worker) = start("reply({'nonce': request['nonce'], 'pong': True})");
    let reply = worker.call(&json!({"op": "ping"}), Duration::from_secs(10));
    assert_eq!(reply.expect("answered")["pong"], true);
    assert!(!worker.has_unasked_output());
}

#[test]
fn announced_attachments_that_never_come_end_at_the_deadline() {
    let (_dir, mut worker) = start(
        "reply({'nonce': request['nonce'], 'results': [], 'attachments': 3})\ntime.sleep(60)",
    );
    let started = Instant::now();
    let reply = worker.call(&json!({"op": "ping"}), Duration::from_secs(1));
    assert!(
        matches!(reply, Err(ExecError::WorkerDied { .. })),
        "{reply:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "waited {:?} for attachments",
        started.elapsed()
    );
}

#[test]
fn a_reply_to_another_request_is_refused() {
    let (_dir, mut worker) = start("reply({'nonce': '0' * 32, 'pong': True})");
    let reply = worker.call(&json!({"op": "ping"}), Duration::from_secs(10));
    assert!(
        matches!(reply, Err(ExecError::Protocol { .. })),
        "{reply:?}"
    );
}

#[test]
fn a_line_written_unasked_marks_the_worker() {
    let (_dir, mut worker) = start(
        "reply({'nonce': request['nonce'], 'pong': True})\nreply({'nonce': request['nonce'], 'pong': True})",
    );
    let reply = worker.call(&json!({"op": "ping"}), Duration::from_secs(10));
    assert_eq!(reply.expect("answered")["pong"], true);
    std::thread::sleep(Duration::from_millis(200));
    assert!(worker.has_unasked_output(), "the extra line went unnoticed");
}
