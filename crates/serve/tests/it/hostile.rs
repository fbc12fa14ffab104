//! Hostile programs mixed into concurrent load change no other request's verdict.

use serde_json::json;

use tracealign_serve::sandbox_fusion::MEMORY_LIMIT_MESSAGE;

use crate::harness::start;

const HOSTILE: [(&str, &str); 5] = [
    ("fork bomb", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"),
    ("memory bomb", "blocks = []\nwhile True:\n    blocks.append(bytearray(64 << 20))\n"),
    ("infinite output", "while True:\n    print('x' * 4096)\n"),
    ("parent killer", "import os, signal\nfor pid in (os.getppid(), 1):\n    try:\n        os.kill(pid, signal.SIGKILL)\n    except OSError:\n        pass\nos.killpg(0, signal.SIGKILL)\n"),
    ("fd and disk filler", "fs = [open('f%d' % i, 'w') for i in range(10000)]\n"),
];

#[test]
fn hostile_programs_in_a_concurrent_mix_change_no_other_verdict() {
    let server = start(|_| {});
    let honest = |i: u64| {
        let code = format!("import sys\nn = int(sys.stdin.read())\nprint(sum(range(n)) + {i})\n");
        let request = json!({"code": code, "language": "python", "stdin": format!("{}", i * 1000), "run_timeout": 10});
        let expected = format!("{}\n", (0..i * 1000).sum::<u64>() + i);
        (request, expected)
    };
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for round in 0..2 {
            for (name, code) in HOSTILE {
                let server = &server;
                handles.push(scope.spawn(move || {
                    // The bomb's time limit is generous: zero-filling 640 MiB on a loaded VM may
                    // take seconds, and it must meet its memory limit first.
                    let timeout = if name == "memory bomb" { 60 } else { 3 };
                    let request = json!({"code": code, "language": "python", "run_timeout": timeout, "memory_limit_MB": 512});
                    let answer = server.post("/run_code", &request);
                    assert_eq!(answer.status, 200, "{name} (round {round}): {}", answer.body);
                    assert_ne!(answer.body["status"], "Success", "{name}: {}", answer.body);
                    assert_ne!(answer.body["status"], "SandboxError", "{name}: {}", answer.body);
                    if name == "memory bomb" {
                        assert_eq!(answer.body["message"], MEMORY_LIMIT_MESSAGE, "{}", answer.body);
                    }
                }));
            }
            for i in 0..6 {
                let server = &server;
                let (request, expected) = honest(round * 6 + i);
                handles.push(scope.spawn(move || {
                    let answer = server.post("/run_code", &request);
                    assert_eq!(answer.body["status"], "Success", "{}", answer.body);
                    assert_eq!(
                        answer.body["run_result"]["stdout"].as_str(),
                        Some(expected.as_str())
                    );
                }));
            }
        }
        for handle in handles {
            handle.join().expect("every verdict as expected");
        }
    });
    let (status, _) = server.get("/health");
    assert_eq!(status, 200);
    let evaluate =
        json!({"samples": [{"problem_id": "t/add", "code": "def add(a, b):\n    return a + b\n"}]});
    assert_eq!(server.post("/v1/evaluate", &evaluate).body["passed"], 1);
}

/// The same attacks as `add`'s body, through `/v1/evaluate` (tests, not scripts): each is a
/// failing sample with its own outcome, and the honest samples sent beside them all pass.
#[test]
fn hostile_samples_in_concurrent_evaluations_change_no_other_verdict() {
    let server = start(|_| {});
    // Past the limit at once (a gradual bomb meets the 1 s test timeout first on a slow VM).
    let allocation = ("allocation past the limit", "blob = bytearray(1 << 36)\n");
    let hostile: Vec<(&str, String)> = (HOSTILE.iter().chain([&allocation]))
        .map(|(name, body)| {
            let indented: String = body.lines().map(|line| format!("    {line}\n")).collect();
            (
                *name,
                format!("def add(a, b):\n{indented}    return a + b\n"),
            )
        })
        .collect();
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for round in 0..2 {
            for (name, code) in &hostile {
                let server = &server;
                handles.push(scope.spawn(move || {
                    let request = json!({"samples": [{"problem_id": "t/add", "code": code}]});
                    let answer = server.post("/v1/evaluate", &request);
                    assert_eq!(
                        answer.status, 200,
                        "{name} (round {round}): {}",
                        answer.body
                    );
                    let record = &answer.body["executions"][0];
                    assert_eq!(record["passed"], false, "{name}: {record}");
                    if *name == "allocation past the limit" {
                        assert_eq!(record["tests"][0]["outcome"], "memory_limit", "{record}");
                    }
                }));
            }
            for i in 0..6 {
                let server = &server;
                handles.push(scope.spawn(move || {
                    let code = format!("def add(a, b):\n    total = a + b + {i}\n    return total - {i}\n");
                    let request = json!({"samples": [{"problem_id": "t/add", "code": code, "sample_id": format!("honest-{round}-{i}")}]});
                    let answer = server.post("/v1/evaluate", &request);
                    assert_eq!(answer.body["executions"][0]["passed"], true, "{}", answer.body);
                }));
            }
        }
        for handle in handles {
            handle.join().expect("every verdict as expected");
        }
    });
}
