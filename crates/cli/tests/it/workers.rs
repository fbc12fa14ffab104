//! The worker pool survives what happens to its workers and to its environment.

use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::workspace::{all_pids, describe, increment_problem, parent_of, Workspace};

/// Process ids whose parent is `parent`.
fn children_of(parent: u32) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|&pid| parent_of(pid) == Some(parent as i32))
        .collect()
}

#[test]
fn a_worker_killed_mid_job_is_replaced_and_its_job_reported() {
    let ws = Workspace::new();
    ws.write_jsonl("problems.jsonl", &[increment_problem()]);
    let slow =
        "import time\ndef f(x):\n    if x == 1:\n        time.sleep(0.4)\n    return x + 1\n";
    let samples: Vec<_> = (0..8)
        .map(|n| json!({"problem_id": "inc", "sample_id": format!("s{n}"), "code": slow}))
        .collect();
    ws.write_jsonl("samples.jsonl", &samples);
    let mut child = ws
        .command()
        .args([
            "run",
            "-p",
            "problems.jsonl",
            "-s",
            "samples.jsonl",
            "-o",
            "runs.jsonl",
            "-j",
            "1",
            "-q",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Once a few samples are done, kill the worker from outside.
    let started = Instant::now();
    while std::fs::read_to_string(ws.path("runs.jsonl")).map_or(0, |t| t.lines().count()) < 2 {
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(150));
    let workers = children_of(child.id());
    assert_eq!(workers.len(), 1, "one worker for -j 1");
    unsafe { libc::kill(workers[0], libc::SIGKILL) };
    assert!(child.wait().unwrap().success());

    let runs = ws.runs("runs.jsonl");
    assert_eq!(runs.len(), 8, "every sample is reported");
    let crashed: Vec<_> = runs
        .values()
        .filter(|r| r["tests"][0]["exc_type"] == "WorkerCrashed")
        .collect();
    assert_eq!(
        crashed.len(),
        1,
        "the job in flight is reported as crashed: {runs:?}"
    );
    assert_eq!(
        runs.values().filter(|r| r["passed"] == true).count(),
        7,
        "a new worker took over"
    );
}

/// A problem whose function reports the address-space limit it runs under.
fn limit_probe(expected: u64) -> serde_json::Value {
    json!({
        "id": "limit", "prompt": "", "entry_point": "f",
        "reference": "import resource\ndef f():\n    return resource.getrlimit(resource.RLIMIT_AS)[0]\n",
        "tests": [{"name": "soft_limit", "input": [], "expected": expected}]
    })
}

/// The address space a job gets: the memory limit and 64 MiB for each thread of its
/// numeric libraries' pools.
#[test]
fn the_memory_limit_is_applied() {
    let ws = Workspace::new();
    let threads = tracealign_exec::Limits::default().threads;
    ws.write_jsonl("problems.jsonl", &[limit_probe((512 + 64 * threads) << 20)]);
    ws.run_line("run -p problems.jsonl -o runs.jsonl -q --memory-mb 512");
    assert_eq!(ws.runs("runs.jsonl")["limit#reference"]["passed"], true);
}

#[test]
fn memory_limits_above_a_lower_hard_limit_are_clamped() {
    let ws = Workspace::new();
    let hard: u64 = 6 << 30;
    ws.write_jsonl("problems.jsonl", &[limit_probe(hard)]);
    let args = [
        "run",
        "-p",
        "problems.jsonl",
        "-o",
        "runs.jsonl",
        "-q",
        "--memory-mb",
        "100000",
    ];
    let mut command = ws.command();
    command.args(args);
    // As in a container whose hard address-space limit is lower than what we ask for.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: hard,
                rlim_max: hard,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        describe(&args, ws.dir.path(), &output)
    );
    let run = &ws.runs("runs.jsonl")["limit#reference"];
    assert_eq!(
        run["passed"], true,
        "the limit is clamped to the hard limit: {run}"
    );
}
