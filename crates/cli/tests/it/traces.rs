//! Traces recorded from real executions: events (snapshots), coverage, the first divergence
//! from the reference, and the `trace` command's renderings.

use serde_json::{json, Value as Json};

use crate::workspace::Workspace;

/// Small programs covering the shapes a tracer must handle.
const PROGRAMS: &[(&str, &str, &str)] = &[
    ("loop", "def f(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total\n", "[[1, 2, 3]]"),
    ("recursion", "def f(n):\n    if n <= 1:\n        return 1\n    return n * f(n - 1)\n", "[3]"),
    ("exception", "def f(xs):\n    i = len(xs)\n    return xs[i]\n", "[[1, 2]]"),
    (
        "generator",
        "def evens(n):\n    for i in range(n):\n        if i % 2 == 0:\n            yield i\n\ndef f(n):\n    return [v * 10 for v in evens(n)]\n",
        "[4]",
    ),
    (
        "class",
        "class Counter:\n    def __init__(self):\n        self.count = 0\n    def add(self, k):\n        self.count += k\n        return self\n\ndef f(k):\n    c = Counter()\n    c.add(k).add(1)\n    return c.count\n",
        "[2]",
    ),
    ("comprehension", "def f(words):\n    lengths = {w: len(w) for w in words}\n    return sorted(lengths.items())\n", "[[\"ab\", \"c\"]]"),
    ("truncated", "def f(n):\n    total = 0\n    for i in range(n):\n        total += i\n    return total\n", "[1000]"),
];

/// Runs each program on its input with `--trace full` and returns the first test's record.
fn traced_runs(
    ws: &Workspace,
    mode: &str,
    python: Option<&str>,
) -> std::collections::HashMap<String, Json> {
    let problems: Vec<Json> = PROGRAMS
        .iter()
        .map(|(id, code, input)| {
            json!({"id": id, "prompt": "", "entry_point": "f", "reference": code,
                   "tests": [{"name": "t", "input": serde_json::from_str::<Json>(input).unwrap()}]})
        })
        .collect();
    ws.write_jsonl("problems.jsonl", &problems);
    let mut args = vec![
        "run",
        "-p",
        "problems.jsonl",
        "-o",
        "runs.jsonl",
        "-q",
        "--trace",
        mode,
    ];
    args.extend(["--trace-max-events", "40"]);
    if let Some(python) = python {
        args.extend(["--python", python]);
    }
    ws.run_ok(&args);
    ws.runs("runs.jsonl")
        .into_iter()
        .map(|(id, run)| {
            (
                id.trim_end_matches("#reference").to_string(),
                run["tests"][0].clone(),
            )
        })
        .collect()
}

#[test]
fn full_traces_of_small_programs() {
    let ws = Workspace::new();
    let runs = traced_runs(&ws, "full", None);
    for (id, _, _) in PROGRAMS {
        let test = &runs[*id];
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_suffix(*id);
        settings.bind(|| insta::assert_json_snapshot!("events", test["trace"]));
    }
    let truncated = &runs["truncated"]["trace"];
    assert_eq!(truncated["truncated"], true);
    assert_eq!(truncated["events"].as_array().unwrap().len(), 40);
    // Recording stops at the cap (so a loop-heavy program is not slowed further).
    assert!(truncated["events_total"].as_u64().unwrap() > 40);
}

#[test]
fn coverage_stays_complete_when_a_full_trace_is_cut() {
    let ws = Workspace::new();
    let full = traced_runs(&ws, "full", None);
    let coverage = traced_runs(&Workspace::new(), "coverage", None);
    assert_eq!(full["truncated"]["trace"]["truncated"], true);
    for (id, _, _) in PROGRAMS {
        assert_eq!(full[*id]["coverage"], coverage[*id]["coverage"], "{id}");
    }
    if let Some(python) = python_with_monitoring() {
        let full = traced_runs(&Workspace::new(), "full", Some(&python));
        assert_eq!(
            full["truncated"]["coverage"], coverage["truncated"]["coverage"],
            "{python}"
        );
    }
}

#[test]
fn coverage_lists_the_lines_each_test_ran() {
    let ws = Workspace::new();
    let runs = traced_runs(&ws, "coverage", None);
    assert_eq!(runs["loop"]["coverage"], json!([2, 3, 4, 5]));
    assert_eq!(runs["recursion"]["coverage"], json!([2, 3, 4]));
    assert_eq!(runs["exception"]["coverage"], json!([2, 3]));
    assert!(
        runs["loop"].get("trace").is_none(),
        "coverage mode records no events"
    );
}

const SUM_REFERENCE: &str = "def total(xs):\n    acc = 0\n    for i in range(len(xs)):\n        acc += xs[i]\n    return acc\n";
const SUM_OFF_BY_ONE: &str = "def total(xs):\n    acc = 0\n    for i in range(len(xs) - 1):\n        acc += xs[i]\n    return acc\n";

fn sum_problem(ws: &Workspace) {
    let problem = json!({"id": "sum", "prompt": "", "entry_point": "total", "reference": SUM_REFERENCE,
                         "tests": [{"name": "three", "input": [[4, 5, 6]], "expected": 15},
                                   {"name": "empty", "input": [[]], "expected": 0}]});
    ws.write_jsonl("problems.jsonl", &[problem]);
    ws.write("off_by_one.py", SUM_OFF_BY_ONE);
}

#[test]
fn the_first_divergence_of_an_off_by_one_points_at_the_faulty_line() {
    let ws = Workspace::new();
    sum_problem(&ws);
    let output = ws.run_ok(&[
        "trace",
        "-p",
        "problems.jsonl",
        "--code",
        "off_by_one.py",
        "--against-reference",
        "--json",
    ]);
    let report: Json = serde_json::from_slice(&output.stdout).expect("JSON report");
    assert_eq!(report["test"], "three", "the first failing test is chosen");
    assert_eq!(report["outcome"]["outcome"], "failed");
    let divergence = &report["divergence"];
    assert_eq!(
        divergence["candidate"]["line"], 3,
        "the loop header is the faulty line: {divergence}"
    );
    assert_eq!(divergence["kind"], "branch");
    assert!(
        report["reference_trace"]["events"]
            .as_array()
            .unwrap()
            .len()
            > report["trace"]["events"].as_array().unwrap().len()
    );
}

#[test]
fn the_trace_command_renders_every_style_within_a_budget() {
    let ws = Workspace::new();
    sum_problem(&ws);
    for style in ["lines", "blocks", "inline", "summary"] {
        let output = ws.run_ok(&[
            "trace",
            "-p",
            "problems.jsonl",
            "--code",
            "off_by_one.py",
            "--against-reference",
            "--style",
            style,
            "--budget",
            "200",
        ]);
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.contains("three"), "{style}: names the test\n{text}");
        assert!(
            text.contains("line 3"),
            "{style}: shows the divergence\n{text}"
        );
        assert!(
            text.len() <= 200 * 4 + 8,
            "{style}: within the budget ({} chars)\n{text}",
            text.len()
        );
    }
    let stderr = ws.run_err(&[
        "trace",
        "-p",
        "problems.jsonl",
        "--code",
        "off_by_one.py",
        "--test",
        "nope",
    ]);
    assert!(
        stderr.contains("has no test `nope` (tests: three, empty)"),
        "{stderr}"
    );
}

/// A Python with sys.monitoring (3.12+), if this machine has one.
fn python_with_monitoring() -> Option<String> {
    let candidates = ["python3.13", "python3.12"]
        .into_iter()
        .map(String::from)
        .chain(
            std::fs::read_dir("/root/.pyenv/versions")
                .into_iter()
                .flatten()
                .flatten()
                .flat_map(|entry| {
                    ["python3.13", "python3.12"].map(|name| {
                        entry
                            .path()
                            .join("bin")
                            .join(name)
                            .to_string_lossy()
                            .to_string()
                    })
                }),
        );
    for python in candidates {
        let works = std::process::Command::new(&python)
            .args(["-c", "import sys; sys.monitoring"])
            .output()
            .is_ok_and(|o| o.status.success());
        if works {
            return Some(python);
        }
    }
    println!("skipped: no Python 3.12+ here; only the sys.settrace tracer was exercised");
    None
}

#[test]
fn sys_monitoring_and_settrace_record_the_same_events() {
    let Some(python) = python_with_monitoring() else {
        return;
    };
    let shared = ["loop", "recursion", "exception", "class", "truncated"];
    let settrace = traced_runs(&Workspace::new(), "full", None);
    let monitoring = traced_runs(&Workspace::new(), "full", Some(&python));
    for id in shared {
        assert_eq!(
            monitoring[id]["trace"]["events"], settrace[id]["trace"]["events"],
            "{id} differs under {python}"
        );
        assert_eq!(monitoring[id]["coverage"], settrace[id]["coverage"], "{id}");
    }
}
