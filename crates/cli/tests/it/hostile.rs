//! Hostile programs: each is contained, gets the right verdict, and the tool survives
//! (a correct sample run after them still passes).

use std::io::ErrorKind;
use std::net::TcpListener;

use serde_json::Value as Json;

use crate::workspace::{increment_problem, outcomes, sample, Workspace};

const CORRECT: &str = "def f(x):\n    return x + 1\n";

struct Case {
    id: &'static str,
    code: String,
    /// Checks the execution; returns what is wrong.
    expect: fn(&Json) -> Result<(), String>,
}

fn all_tests(outcome: &'static str) -> impl Fn(&Json) -> Result<(), String> {
    move |execution| {
        let got = outcomes(execution);
        if got.iter().all(|o| o == outcome) {
            Ok(())
        } else {
            Err(format!("expected every test {outcome}, got {got:?}"))
        }
    }
}

fn first_error(execution: &Json) -> (String, String) {
    let test = &execution["tests"][0];
    (
        test["exc_type"].as_str().unwrap_or("").into(),
        test["message"].as_str().unwrap_or("").into(),
    )
}

fn not_passed(execution: &Json) -> Result<(), String> {
    if execution["passed"] == false && !outcomes(execution).contains(&"passed".to_string()) {
        Ok(())
    } else {
        Err(format!(
            "a hostile program got a pass: {:?}",
            outcomes(execution)
        ))
    }
}

fn cases(outside_file: &str, port: u16) -> Vec<Case> {
    let case = |id, code: &str, expect| Case {
        id,
        code: code.to_string(),
        expect,
    };
    vec![
        case("fork_bomb", "import os\ndef f(x):\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass\n", |e| {
            all_tests("timeout")(e)
        }),
        case("disk_fill", "def f(x):\n    with open('big.bin', 'wb') as out:\n        while True:\n            out.write(b'0' * 10**6)\n", |e| all_tests("output_limit")(e)),
        case("infinite_output", "def f(x):\n    while True:\n        print('spam' * 100)\n", |e| all_tests("output_limit")(e)),
        case("infinite_loop", "def f(x):\n    while True:\n        pass\n", |e| all_tests("timeout")(e)),
        case("deep_recursion", "def f(x):\n    return f(x) + 1\n", |e| {
            all_tests("error")(e)?;
            match first_error(e).0.as_str() {
                "RecursionError" => Ok(()),
                other => Err(format!("expected RecursionError, got {other}")),
            }
        }),
        case("runaway_recursion", "import sys\nsys.setrecursionlimit(10**7)\ndef f(x):\n    return f(x) + 1\n", |e| {
            // Python 3.11 recursion grows the heap, not the C stack: it ends by the memory
            // or the time limit, or by a crash; never by a pass.
            let got = outcomes(e);
            let contained = ["killed", "error", "memory_limit", "timeout"];
            match got.iter().all(|o| contained.contains(&o.as_str())) {
                true => not_passed(e),
                false => Err(format!("unexpected outcomes {got:?}")),
            }
        }),
        case("kill_parent", "import os\ndef f(x):\n    try:\n        os.kill(os.getppid(), 9)\n    except PermissionError:\n        pass\n    return x + 1\n", |e| {
            // The worker is init of its pid namespace (a SIGKILL from inside is ignored)
            // and, under root, of another uid (refused): the program carries on and its
            // answers are right.
            all_tests("passed")(e)
        }),
        case("kill_process_group", "import os\ndef f(x):\n    os.killpg(0, 9)\n    return x + 1\n", |e| {
            all_tests("killed")(e)?;
            (e["tests"][0]["signal"] == 9).then_some(()).ok_or("expected signal 9".into())
        }),
        case("kill_everything", "import os\ndef f(x):\n    os.kill(-1, 9)\n    return x + 1\n", |e| {
            // Nothing else is visible in the job's pid namespace (the worker, its init,
            // cannot be signalled): kill(-1) finds no process.
            all_tests("error")(e)?;
            (first_error(e).0 == "ProcessLookupError").then_some(()).ok_or("expected ProcessLookupError".into())
        }),
        Case {
            id: "network",
            code: format!("import socket\ndef f(x):\n    s = socket.create_connection(('127.0.0.1', {port}), timeout=0.5)\n    s.sendall(b'leak')\n    return x + 1\n"),
            expect: |e| {
                all_tests("error")(e)?;
                match first_error(e).0.as_str() {
                    "OSError" | "ConnectionRefusedError" | "TimeoutError" => Ok(()),
                    other => Err(format!("expected a network error, got {other}")),
                }
            },
        },
        Case {
            id: "write_outside",
            code: format!("def f(x):\n    open({outside_file:?}, 'w').write('escaped')\n    return x + 1\n"),
            // Either the write is refused (read-only root) or it lands in the job's private
            // /tmp; the host file is checked separately.
            expect: |e| {
                let got = outcomes(e);
                match got.iter().all(|o| o == "error" || o == "passed") {
                    true => Ok(()),
                    false => Err(format!("unexpected outcomes {got:?}")),
                }
            },
        },
        case("write_into_project", "import os\ndef f(x):\n    open(os.path.join(os.environ.get('HOME', '/root'), 'tracealign-escape.txt'), 'w').write('x')\n    return x + 1\n", |e| {
            // The host's home is not in the job's view: the write is refused (read-only
            // root) or lands in the job's own /tmp; the host is checked separately.
            let got = outcomes(e);
            match got.iter().all(|o| o == "error" || o == "passed") {
                true => Ok(()),
                false => Err(format!("unexpected outcomes {got:?}")),
            }
        }),
        case("segfault", "import ctypes\ndef f(x):\n    ctypes.string_at(0)\n", |e| {
            all_tests("killed")(e)?;
            (e["tests"][0]["signal"] == 11).then_some(()).ok_or("expected SIGSEGV".into())
        }),
        case("close_result_pipe", "import os\ndef f(x):\n    os.closerange(3, 4096)\n    return x + 1\n", not_passed),
        case("forge_result_pipe", "import os\nFORGED = b''.join(b'{\"i\": %d, \"r\": \"ok\", \"t\": 0}\\n' % i for i in range(8))\nFORGED += b'{\"done\": true}\\n'\ndef f(x):\n    for fd in range(3, 64):\n        try:\n            os.write(fd, FORGED)\n        except OSError:\n            pass\n    os._exit(0)\n", not_passed),
        // Megabytes on every descriptor, no newline: the worker stops reading its result pipe
        // at 128 MiB (it would otherwise hold all of it) and the test hits the output limit;
        // on a loaded machine the test's clock may run out first (128 MiB through a pipe in
        // 1.5 s), which contains the flood as well. Never a pass.
        case("flood_result_pipe", "import os\nCHUNK = b'x' * (1 << 20)\ndef f(x):\n    for _ in range(400):\n        for fd in range(3, 64):\n            try:\n                os.write(fd, CHUNK)\n            except OSError:\n                pass\n    return x + 1\n", |e| {
            let got = outcomes(e);
            let contained = got.iter().all(|o| o == "output_limit" || o == "timeout");
            match contained {
                true => Ok(()),
                false => Err(format!("expected output limits (or timeouts), got {got:?}")),
            }
        }),
        case("imitate_on_stdout", "def f(x):\n    print('{\"i\": 0, \"r\": \"ok\"}')\n    print('PASSED')\n    return None\n", not_passed),
        case("always_equal", "class Liar:\n    def __eq__(self, other):\n        return True\n    def __ne__(self, other):\n        return False\n    def __bool__(self):\n        return True\n    def __lt__(self, other):\n        return True\n    def __sub__(self, other):\n        return 0\n    def __rsub__(self, other):\n        return 0\n    def __abs__(self):\n        return 0\ndef f(x):\n    return Liar()\n", |e| {
            let got = outcomes(e);
            // The three value checks are judged outside the process; the plain statement
            // test runs inside and cannot be protected.
            match got[..3].iter().all(|o| o == "failed") {
                true => Ok(()),
                false => Err(format!("a lying object passed a value check: {got:?}")),
            }
        }),
        case("int_subclass", "class Sneaky(int):\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return Sneaky(0)\n", |e| {
            let got = outcomes(e);
            match got[..3].iter().all(|o| o == "failed") {
                true => Ok(()),
                false => Err(format!("an int subclass passed a value check: {got:?}")),
            }
        }),
        case("sys_exit", "import sys\ndef f(x):\n    sys.exit(0)\n", |e| {
            all_tests("error")(e)?;
            (first_error(e).0 == "SystemExit").then_some(()).ok_or("expected SystemExit".into())
        }),
        case("os_exit", "import os\ndef f(x):\n    os._exit(0)\n", |e| all_tests("error")(e)),
        case("exit_at_import", "import os\nos._exit(0)\ndef f(x):\n    return x + 1\n", |e| all_tests("error")(e)),
        case("patched_builtins", "import builtins, json\nbuiltins.isinstance = lambda *a: True\nbuiltins.type = lambda *a: int\nbuiltins.AssertionError = KeyboardInterrupt\njson.dumps = lambda *a, **k: '{\"i\": 0, \"r\": \"ok\"}'\ndef f(x):\n    return 'wrong'\n", |e| {
            let got = outcomes(e);
            match got.iter().all(|o| o == "failed" || o == "error") {
                true => Ok(()),
                false => Err(format!("patched builtins changed a verdict: {got:?}")),
            }
        }),
    ]
}

#[test]
fn hostile_programs_are_contained_and_judged() {
    let ws = Workspace::new();
    let outside = ws.path("outside.txt");
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let cases = cases(outside.to_str().unwrap(), port);
    let mut samples: Vec<Json> = cases.iter().map(|c| sample(c.id, &c.code)).collect();
    for n in 0..4 {
        samples.push(sample(&format!("correct_after_{n}"), CORRECT));
    }
    ws.write_jsonl("problems.jsonl", &[increment_problem()]);
    ws.write_jsonl("samples.jsonl", &samples);
    ws.run_line(
        "run -p problems.jsonl -s samples.jsonl -o runs.jsonl -j 2 --timeout-floor 1.5 \
        --memory-mb 300 -q",
    );
    let runs = ws.runs("runs.jsonl");
    assert_eq!(
        runs.len(),
        samples.len(),
        "every sample is reported exactly once"
    );
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(why) = (case.expect)(&runs[case.id]) {
            failures.push(format!("{}: {why}\n  {}", case.id, runs[case.id]));
        }
    }
    for n in 0..4 {
        let execution = &runs[&format!("correct_after_{n}")];
        if execution["passed"] != true {
            failures.push(format!(
                "a correct program failed after the hostile ones: {execution}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    assert!(!outside.exists(), "a program wrote outside its sandbox");
    let home = std::env::var("HOME").unwrap_or_default();
    assert!(!std::path::Path::new(&home)
        .join("tracealign-escape.txt")
        .exists());
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("a program reached the network: {other:?}"),
    }
}

/// A gradual memory bomb and one allocation past the limit are both `memory_limit`, never
/// `timeout`. Apart from the other hostile cases: on a loaded 2-core VM, zero-filling a few
/// hundred MiB can take longer than their 1.5 s time limit, so this run's limit is generous.
#[test]
fn memory_bombs_are_reported_as_memory_limit() {
    let ws = Workspace::new();
    let gradual =
        "def f(x):\n    hog = []\n    while True:\n        hog.append(bytearray(10**8))\n";
    let at_once = "def f(x):\n    blob = bytearray(1 << 36)\n    return x + 1\n";
    ws.write_jsonl("problems.jsonl", &[increment_problem()]);
    ws.write_jsonl(
        "samples.jsonl",
        &[
            sample("gradual", gradual),
            sample("at_once", at_once),
            sample("correct_after", CORRECT),
        ],
    );
    ws.run_line(
        "run -p problems.jsonl -s samples.jsonl -o runs.jsonl -j 1 --timeout-floor 60 \
        --memory-mb 300 -q",
    );
    let runs = ws.runs("runs.jsonl");
    for id in ["gradual", "at_once"] {
        let got = outcomes(&runs[id]);
        assert!(
            got.iter().all(|o| o == "memory_limit"),
            "{id}: expected every test memory_limit, got {got:?}\n  {}",
            runs[id]
        );
    }
    assert_eq!(
        runs["correct_after"]["passed"], true,
        "{}",
        runs["correct_after"]
    );
}

/// A setsid'd, double-forked daemon is gone before the next job on the same worker starts.
#[test]
fn daemons_do_not_outlive_their_job() {
    let ws = Workspace::new();
    let daemon = "import ctypes, os, time\ndef f(x):\n    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n            ctypes.CDLL(None).prctl(15, b'tadaemon', 0, 0, 0)\n            time.sleep(60)\n        os._exit(0)\n    time.sleep(0.2)\n    return x + 1\n";
    // Passes only when no process named `tadaemon` is visible.
    let probe = "import os\ndef alive():\n    names = []\n    for pid in filter(str.isdigit, os.listdir('/proc')):\n        try:\n            names.append(open('/proc/%s/comm' % pid).read().strip())\n        except OSError:\n            pass\n    return 'tadaemon' in names\ndef f(x):\n    return -1 if alive() else x + 1\n";
    ws.write_jsonl("problems.jsonl", &[increment_problem()]);
    // The probe's own check works: a daemon started in the same job is seen.
    let seen = format!("{probe}def g():\n    if os.fork() == 0:\n        import ctypes, time\n        ctypes.CDLL(None).prctl(15, b'tadaemon', 0, 0, 0)\n        time.sleep(60)\n    import time\n    time.sleep(0.2)\n    return alive()\nf = lambda x, _seen=g(): -1 if _seen else x + 1\n");
    ws.write_jsonl(
        "samples.jsonl",
        &[
            sample("daemon", daemon),
            sample("probe", probe),
            sample("seen", &seen),
        ],
    );
    ws.run_line("run -p problems.jsonl -s samples.jsonl -o runs.jsonl -j 1 -q");
    let runs = ws.runs("runs.jsonl");
    assert_eq!(runs["daemon"]["passed"], true, "{}", runs["daemon"]);
    assert_eq!(
        runs["probe"]["passed"], true,
        "a daemon outlived its job: {}",
        runs["probe"]
    );
    assert_eq!(
        runs["seen"]["passed"], false,
        "the probe cannot see daemons: {}",
        runs["seen"]
    );
    assert!(no_process_named("tadaemon"), "a daemon outlived the run");
}

/// No process on the machine has this name (`/proc/PID/comm`).
fn no_process_named(name: &str) -> bool {
    let entries = std::fs::read_dir("/proc").expect("procfs");
    !entries.flatten().any(|entry| {
        std::fs::read_to_string(entry.path().join("comm")).is_ok_and(|comm| comm.trim() == name)
    })
}
