//! Traces recorded from real executions: events (snapshots), coverage, the first divergence
//! from the reference, and the `trace` command's renderings.

use serde_json::{json, Value as Json};

use crate::workspace::{increment_problem, outcomes, sample, Workspace};

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

/// Runs each program on its input, traced in `mode` (40 events kept per test), and returns
/// its test's record.
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
    reference_runs(ws, &problems, mode, 40, python)
        .into_iter()
        .map(|(id, run)| (id, run["tests"][0].clone()))
        .collect()
}

/// Runs the reference solutions of `problems` traced in `mode`, keeping `max_events` per
/// test (with `--python PYTHON` if given): each problem's run, by problem id.
fn reference_runs(
    ws: &Workspace,
    problems: &[Json],
    mode: &str,
    max_events: u32,
    python: Option<&str>,
) -> std::collections::HashMap<String, Json> {
    ws.write_jsonl("problems.jsonl", problems);
    let python = python.map(|p| format!(" --python {p}")).unwrap_or_default();
    ws.run_line(&format!(
        "run -p problems.jsonl -o runs.jsonl -q --trace {mode} --trace-max-events {max_events}{python}"
    ));
    ws.runs("runs.jsonl")
        .into_iter()
        .map(|(id, run)| (id.trim_end_matches("#reference").to_string(), run))
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

/// `--trace-max-bytes` cuts a trace by the bytes of its events, whatever their number.
#[test]
fn the_byte_cap_cuts_a_trace_as_set() {
    let ws = Workspace::new();
    let code =
        "def f(n):\n    total = 0\n    for i in range(n):\n        total += i\n    return total\n";
    let problem = json!({"id": "loop", "prompt": "", "entry_point": "f", "reference": code,
                         "tests": [{"name": "t", "input": [200]}]});
    ws.write_jsonl("problems.jsonl", &[problem]);
    let run = "run -p problems.jsonl -q --trace full --trace-max-events 100000";
    let events = |output: &str| {
        let trace = ws.runs(output)["loop#reference"]["tests"][0]["trace"].clone();
        (
            trace["events"].as_array().unwrap().len(),
            trace["truncated"] == true,
        )
    };
    ws.run_line(&format!("{run} -o whole.jsonl"));
    let (all, truncated) = events("whole.jsonl");
    assert!(
        !truncated && all > 400,
        "{all} events within 256 KiB, the default"
    );
    ws.run_line(&format!("{run} -o cut.jsonl --trace-max-bytes 2000"));
    let (kept, truncated) = events("cut.jsonl");
    assert!(truncated && (10..40).contains(&kept), "{kept} events kept");
}

/// A sample whose traces serialize to over 64 KiB keeps them in `<runs>.traces.jsonl`: its
/// runs line holds none and points at the one sidecar line that holds them all.
#[test]
fn big_traces_go_to_the_sidecar_line_the_run_points_at() {
    let ws = Workspace::new();
    let code = "def f(n):\n    text = ''\n    for i in range(n):\n        text = str(i) * 20\n    return len(text)\n";
    let problem = json!({"id": "big", "prompt": "", "entry_point": "f", "reference": code,
                         "tests": [{"name": "long", "input": [3000]}, {"name": "short", "input": [1]}]});
    ws.write_jsonl("problems.jsonl", &[problem]);
    ws.run_line("run -p problems.jsonl -o runs.jsonl -q --trace full");
    let run = &ws.runs("runs.jsonl")["big#reference"];
    for test in run["tests"].as_array().unwrap() {
        assert!(test.get("trace").is_none(), "{test}");
        assert!(test["coverage"].is_array(), "coverage stays inline: {test}");
    }
    let at = &run["traces_at"];
    assert_eq!(at["file"], "runs.jsonl.traces.jsonl");
    let sidecar = std::fs::read(ws.path("runs.jsonl.traces.jsonl")).unwrap();
    let start = at["offset"].as_u64().unwrap() as usize;
    let line = &sidecar[start..start + at["bytes"].as_u64().unwrap() as usize];
    assert!(line.len() > 64 * 1024 && line.ends_with(b"\n"));
    let record: Json = serde_json::from_slice(line).unwrap();
    assert_eq!(record["sample_id"], "big#reference");
    let (long, short) = (&record["traces"][0], &record["traces"][1]);
    assert_eq!(long["truncated"], true, "3000 iterations pass the byte cap");
    assert!(long["events"].as_array().unwrap().len() > 1000);
    let last = short["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["kind"], &last["value"]),
        (&json!("return"), &json!("20"))
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
    let output =
        ws.run_line("trace -p problems.jsonl --code off_by_one.py --against-reference --json");
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

/// Shapes that coverage by statement markers (Python < 3.12) must get right: (id, program,
/// the arguments of each test).
const MARKED: &[(&str, &str, &str)] = &[
    (
        "branches",
        "def f(n):\n    total = 0\n    for i in range(n):\n        if i % 3 == 0:\n            total += i\n        elif i % 3 == 1:\n            total -= 1\n        else:\n            continue\n    else:\n        total *= 2\n    while total > 10:\n        total //= 2\n        if total == 7:\n            break\n    return total\n",
        "[[0], [5], [30]]",
    ),
    (
        "handlers",
        "def f(x):\n    try:\n        y = 10 // x\n    except ZeroDivisionError:\n        y = -1\n    except (TypeError,\n            ValueError) as e:\n        y = -2\n    except:\n        y = -3\n    else:\n        y += 1\n    finally:\n        z = 0\n    return y\n",
        "[[2], [0], [\"a\"], [null]]",
    ),
    (
        "with",
        "class Guard:\n    def __enter__(self):\n        return self\n    def __exit__(self, kind, value, tb):\n        return kind is KeyError\n\ndef f(d, k):\n    with Guard() as g:\n        v = d[k]\n        v += 1\n    return d.get(k,\n                 -1)\n",
        "[[{\"1\": 2}, \"1\"], [{}, \"1\"]]",
    ),
    (
        "nested",
        "def f(n):\n    def helper(k,\n               m=2):\n        \"\"\"doc\"\"\"\n        return k * m\n    class C:\n        \"\"\"class doc\"\"\"\n        z = 3\n        def m(self):\n            return self.z\n    g = lambda t: (t +\n                   1)\n    return helper(n) + C().m() + g(1)\n",
        "[[2]]",
    ),
    (
        "comprehensions",
        "def f(xs):\n    a = [x * 2 for x in xs if x]\n    b = {x: [y for y in range(x)]\n         for x in xs}\n    c = sum(x\n            for x in xs)\n    return [a, len(b), c]\n",
        "[[[1, 2, 0]]]",
    ),
    (
        "generator",
        "def evens(n):\n    for i in range(n):\n        if i % 2 == 0:\n            yield i\n    return 'done'\n\ndef f(n):\n    it = evens(n)\n    out = [next(it)]\n    out.extend(it)\n    return out\n",
        "[[5]]",
    ),
    (
        "early_returns",
        "def f(x):\n    if x < 0:\n        return 'neg'\n    if x == 0: return 'zero'\n    y = x * 2\n    return y\n",
        "[[-1], [0], [3]]",
    ),
    (
        "multiline",
        "def f(xs,\n      k=1):\n    total = sum(\n        x * k\n        for x in xs\n    )\n    message = ('total: ' +\n               str(total))\n    result = {\n        'total': total,\n        'message': message,\n    }\n    values = [1, 2,\n              3, 4]\n    return [result,\n            values]\n",
        "[[[1, 2]]]",
    ),
    (
        "raises_mid_block",
        "def g(d):\n    total = 0\n    for k in d:\n        total += d[k]\n        total += d[k + 1]\n    return total\n\ndef f(d):\n    x = (1 +\n         g(d))\n    return x\n",
        "[[{\"1\": 2}], [{}]]",
    ),
    (
        "module_lambda",
        "square = lambda x: x * x\nkey = lambda p: (p[1],\n                 p[0])\n\ndef f(xs):\n    return [sorted(xs, key=key), square(3)]\n",
        "[[[[1, 2], [0, 1]]]]",
    ),
];

fn marked_runs(
    ws: &Workspace,
    mode: &str,
    python: Option<&str>,
) -> std::collections::HashMap<String, Json> {
    let problems: Vec<Json> = MARKED
        .iter()
        .map(|(id, code, inputs)| {
            let inputs: Vec<Json> = serde_json::from_str(inputs).unwrap();
            let tests: Vec<Json> = inputs
                .into_iter()
                .enumerate()
                .map(|(i, input)| json!({"name": format!("t{i}"), "input": input}))
                .collect();
            json!({"id": id, "prompt": "", "entry_point": "f", "reference": code, "tests": tests})
        })
        .collect();
    reference_runs(ws, &problems, mode, 100_000, python)
}

/// On Python 3.11 coverage comes from markers compiled into the program, full traces from
/// sys.settrace; on 3.12+ coverage comes from LINE events on the program's code objects,
/// full traces from sys.monitoring's calls too. Either way a test's coverage must be
/// exactly the lines of its full trace's line events.
#[test]
fn coverage_is_the_lines_of_the_full_traces_line_events() {
    let coverage = marked_runs(&Workspace::new(), "coverage", None);
    let full = marked_runs(&Workspace::new(), "full", None);
    same_lines_as_full_traces(&coverage, &full, "python3");
    if let Some(python) = python_with_monitoring() {
        let monitored = marked_runs(&Workspace::new(), "coverage", Some(&python));
        let full = marked_runs(&Workspace::new(), "full", Some(&python));
        same_lines_as_full_traces(&monitored, &full, &python);
    }
}

fn same_lines_as_full_traces(
    coverage: &std::collections::HashMap<String, Json>,
    full: &std::collections::HashMap<String, Json>,
    python: &str,
) {
    for (id, _, _) in MARKED {
        let tests = coverage[*id]["tests"].as_array().unwrap();
        for (i, test) in tests.iter().enumerate() {
            let traced = &full[*id]["tests"][i];
            assert_eq!(traced["trace"]["truncated"], false, "{id} {i}, {python}");
            let mut lines: Vec<u64> = traced["trace"]["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["kind"] == "line")
                .map(|e| e["line"].as_u64().unwrap())
                .collect();
            lines.sort_unstable();
            lines.dedup();
            assert_eq!(test["coverage"], json!(lines), "{id}, test {i}, {python}");
            assert_eq!(
                traced["coverage"], test["coverage"],
                "{id}, test {i}, {python}"
            );
        }
    }
    // Spot checks: a failed `except` test counts, a multi-line statement's lines count.
    assert_eq!(
        coverage["handlers"]["tests"][2]["coverage"],
        json!([2, 3, 4, 6, 7, 8, 14, 15])
    );
    assert_eq!(
        coverage["raises_mid_block"]["tests"][0]["coverage"],
        json!([2, 3, 4, 5, 9, 10])
    );
}

/// Exceptions keep their lines whether or not (and however) the program is traced.
#[test]
fn tracing_changes_no_exception_or_its_line() {
    let ws = Workspace::new();
    ws.write_jsonl("problems.jsonl", &[increment_problem()]);
    ws.write_jsonl(
        "samples.jsonl",
        &[
            sample("index", "def f(x):\n    items = []\n    return items[x]\n"),
            sample(
                "nested",
                "def g(d, k):\n    total = 0\n    for i in range(k):\n        total += d[i]\n    return total\n\ndef f(x):\n    y = (x +\n         g({}, x))\n    return y\n",
            ),
            sample(
                "continuation",
                "def f(x):\n    values = [x,\n              1 // (x - 3),\n              x]\n    return values[0] + 1\n",
            ),
            sample(
                "handled_then_raised",
                "def f(x):\n    try:\n        raise KeyError(x)\n    except KeyError:\n        pass\n    if x == 3:\n        raise ValueError('three')\n    return x + 1\n",
            ),
            sample(
                "at_load",
                "def f(x):\n    return x + 1\n\nVALUES = [f(1),\n          f(None)]\n",
            ),
        ],
    );
    let mut outcomes = Vec::new();
    for mode in ["none", "coverage", "full"] {
        let output = format!("runs_{mode}.jsonl");
        ws.run_line(&format!(
            "run -p problems.jsonl -s samples.jsonl -o {output} -q --trace {mode}"
        ));
        let runs = ws.runs(&output);
        let seen: Vec<Json> = [
            "index",
            "nested",
            "continuation",
            "handled_then_raised",
            "at_load",
        ]
        .iter()
        .map(|id| {
            let run = &runs[*id];
            let tests: Vec<Json> = run["tests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| json!([t["outcome"], t["exc_type"], t["message"], t["line"]]))
                .collect();
            json!({"status": run["status"], "tests": tests})
        })
        .collect();
        outcomes.push(seen);
    }
    assert_eq!(
        outcomes[0], outcomes[1],
        "untraced against --trace coverage"
    );
    assert_eq!(outcomes[0], outcomes[2], "untraced against --trace full");
    // (sample, test) -> the line reported: the innermost of the candidate's frames.
    let untraced = &outcomes[0];
    let line = |sample: usize, test: usize| untraced[sample]["tests"][test][3].clone();
    assert_eq!(line(0, 0), 3, "{untraced:?}");
    assert_eq!(line(1, 0), 4, "{untraced:?}");
    assert_eq!(line(2, 1), 3, "{untraced:?}");
    assert_eq!(line(3, 1), 7, "{untraced:?}");
    assert_eq!(line(4, 0), 2, "{untraced:?}");
}

/// Programs whose own methods would change their tests if the tracer ran them: (sample id,
/// program, a variable and how its full trace shows it).
const SELF_REPRESENTING: &[(&str, &str, &str, &str)] = &[
    (
        "repr_raises",
        "class Bad:\n    def __repr__(self):\n        raise RuntimeError('no repr')\n\ndef f(x):\n    bad = Bad()\n    y = x + 1\n    return y\n",
        "bad",
        "<__candidate__.Bad object>",
    ),
    (
        "repr_prints",
        "class Loud:\n    def __repr__(self):\n        print('repr ran')\n        return 'Loud'\n\ndef f(x):\n    loud = Loud()\n    y = x + 1\n    return y\n",
        "loud",
        "<__candidate__.Loud object>",
    ),
    (
        "repr_loops",
        "class Forever:\n    def __repr__(self):\n        while True:\n            pass\n\ndef f(x):\n    forever = [Forever()]\n    y = x + 1\n    return y\n",
        "forever",
        "[<__candidate__.Forever object>]",
    ),
    (
        // The tests see the global: a repr that ran makes f return the wrong value.
        "repr_changes_a_global",
        "SEEN = []\n\nclass Sneaky:\n    def __repr__(self):\n        SEEN.append(1)\n        return 'Sneaky'\n\ndef f(x):\n    sneaky = {'s': Sneaky()}\n    y = x + 1\n    return y + len(SEEN)\n",
        "sneaky",
        "{'s': <__candidate__.Sneaky object>}",
    ),
    (
        // reprlib picked its renderer by type name: this class went to repr_list.
        "class_named_list",
        "class list:\n    def __len__(self):\n        raise RuntimeError('len')\n    def __iter__(self):\n        raise RuntimeError('iter')\n\ndef f(x):\n    named = list()\n    y = x + 1\n    return y\n",
        "named",
        "<__candidate__.list object>",
    ),
    (
        "str_raises",
        "class Oops(Exception):\n    def __str__(self):\n        raise RuntimeError('no str')\n\ndef f(x):\n    try:\n        raise Oops('bad', x)\n    except Oops as e:\n        error = e\n    return x + 1\n",
        "error",
        "Oops('bad', ",
    ),
];

/// The tracer renders values without calling the program's methods, so a test's outcome,
/// output and time do not depend on whether (and how) it is traced.
#[test]
fn tracing_runs_none_of_the_programs_code() {
    let ws = Workspace::new();
    ws.write_jsonl("problems.jsonl", &[increment_problem()]);
    let samples: Vec<Json> = SELF_REPRESENTING
        .iter()
        .map(|(id, code, _, _)| sample(id, code))
        .collect();
    ws.write_jsonl("samples.jsonl", &samples);
    let mut seen = Vec::new();
    for mode in ["none", "coverage", "full"] {
        let output = format!("runs_{mode}.jsonl");
        ws.run_line(&format!(
            "run -p problems.jsonl -s samples.jsonl -o {output} -q --trace {mode}"
        ));
        let runs = ws.runs(&output);
        let outcomes: Vec<Json> = SELF_REPRESENTING
            .iter()
            .map(|(id, _, _, _)| {
                let run = &runs[*id];
                json!([
                    id,
                    run["passed"],
                    outcomes(run),
                    run["stdout"],
                    run["stderr"]
                ])
            })
            .collect();
        seen.push(outcomes);
        if mode != "full" {
            continue;
        }
        for (id, _, variable, text) in SELF_REPRESENTING {
            let events = runs[*id]["tests"][0]["trace"]["events"].clone();
            let shown: Vec<String> = events
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|e| e["changed"][variable].as_str().map(String::from))
                .collect();
            assert!(
                shown.iter().any(|s| s.starts_with(text)),
                "{id}: {variable} shown as {shown:?}, not {text}: {events}"
            );
        }
    }
    for outcomes in &seen[0] {
        assert_eq!(
            outcomes[1], true,
            "every sample passes untraced: {outcomes}"
        );
        assert_eq!(outcomes[3], "", "nothing printed: {outcomes}");
    }
    assert_eq!(seen[0], seen[1], "untraced against --trace coverage");
    assert_eq!(seen[0], seen[2], "untraced against --trace full");
}

/// Under tracing, a test's time limit comes from the reference's time traced the same way:
/// a loop that full tracing slows far more than 4 times (the fixed stretch limits once
/// had) still passes, with the cached untraced preparation reused and kept.
#[test]
fn traced_runs_get_time_limits_from_the_traced_reference() {
    let ws = Workspace::new();
    let code = "def f(n):\n    total = 0\n    for i in range(n):\n        total += i % 7\n    return total\n";
    let problem = json!({"id": "loop", "prompt": "", "entry_point": "f", "reference": code,
                         "tests": [{"name": "t", "input": [80000]}]});
    ws.write_jsonl("problems.jsonl", &[problem]);
    let run = "run -p problems.jsonl -q --timeout-floor 0.1";
    let uncapped = "--trace-max-events 100000000 --trace-max-bytes 1000000000";
    let test = |output: &str| ws.runs(output)["loop#reference"]["tests"][0].clone();
    ws.run_line(&format!("{run} -o untraced.jsonl"));
    let untraced = test("untraced.jsonl");
    assert_eq!(untraced["outcome"], "passed", "{untraced}");
    ws.run_line(&format!("{run} -o full.jsonl --trace full {uncapped}"));
    let full = test("full.jsonl");
    assert_eq!(full["outcome"], "passed", "{full}");
    let (fast, slow) = (
        untraced["duration_ms"].as_f64().unwrap(),
        full["duration_ms"].as_f64().unwrap(),
    );
    assert!(
        slow > 4.0 * fast,
        "full tracing is slow here: {fast} ms, {slow} ms"
    );
    // One cache entry, with the untraced times and the full-trace times.
    ws.run_line(&format!("{run} -o coverage.jsonl --trace coverage"));
    assert_eq!(test("coverage.jsonl")["outcome"], "passed");
    let entries: Vec<_> = std::fs::read_dir(ws.path("cache/prepared"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry: Json = serde_json::from_slice(&std::fs::read(entries[0].path()).unwrap()).unwrap();
    assert!(entry["reference_seconds"][0].is_f64(), "{entry}");
    let traced = entry["traced_seconds"].as_object().unwrap();
    let keys: Vec<&String> = traced.keys().collect();
    assert_eq!(
        keys,
        [
            "coverage",
            "full:events=100000000,bytes=1000000000,chars=60"
        ],
        "{entry}"
    );
    for times in traced.values() {
        assert!(times[0].as_f64().unwrap() > 0.0, "{entry}");
    }
}

/// A passing program has no fault to diverge at: `--against-reference` says so instead of
/// reporting a difference; a sample id that names only the problem is answered with the
/// problem's samples.
#[test]
fn passing_programs_show_no_divergence_and_near_miss_ids_get_suggestions() {
    let ws = Workspace::new();
    sum_problem(&ws);
    let correct = "def total(xs):\n    result = 0\n    for x in reversed(xs):\n        result = result + x\n    return result\n";
    ws.write("correct.py", correct);
    let output =
        ws.run_line("trace -p problems.jsonl --code correct.py --against-reference --json");
    let report: Json = serde_json::from_slice(&output.stdout).expect("JSON report");
    assert_eq!(report["outcome"]["outcome"], "passed");
    assert_eq!(report["divergence"], Json::Null, "{report}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("passes this test"), "{stderr}");

    ws.write_jsonl(
        "samples.jsonl",
        &[json!({"problem_id": "sum", "sample_id": "sum#0", "code": SUM_OFF_BY_ONE})],
    );
    let args = [
        "trace",
        "-p",
        "problems.jsonl",
        "-s",
        "samples.jsonl",
        "--sample",
        "sum",
    ];
    let error = ws.run_err(&args);
    assert!(error.contains("did you mean `sum#0`?"), "{error}");
}
