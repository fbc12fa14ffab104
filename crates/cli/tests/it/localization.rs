//! Fault localization end to end on real executions: `mutate`, `run --trace full`,
//! `localize`, `show` and `bench localize`.

use serde_json::{json, Value as Json};

use crate::workspace::Workspace;

const REFERENCE: &str = "def total_positive(xs):\n    total = 0\n    for x in xs:\n        if x > 0:\n            total += x\n    return total\n";

/// `(sample id, model, program, the faulty line)`; line 0 for a correct program.
const SAMPLES: &[(&str, &str, &str, u32)] = &[
    (
        "boundary",
        "m1",
        "def total_positive(xs):\n    total = 0\n    for x in xs:\n        if x > 1:\n            total += x\n    return total\n",
        4,
    ),
    (
        "overwrite",
        "m1",
        "def total_positive(xs):\n    total = 0\n    for x in xs:\n        if x > 0:\n            total = x\n    return total\n",
        5,
    ),
    (
        "crash",
        "m1",
        "def total_positive(xs):\n    total = 0\n    for x in xs:\n        if x > 0:\n            total += xs[x]\n    return total\n",
        5,
    ),
    (
        "ok",
        "m2",
        "def total_positive(xs):\n    total = 0\n    for x in xs:\n        if x >= 1:\n            total += x\n    return total\n",
        0,
    ),
];

fn setup(ws: &Workspace) {
    let tests: Vec<Json> = [
        ("[[1, 2, 3]]", 6),
        ("[[-1, 5]]", 5),
        ("[[]]", 0),
        ("[[0, 0]]", 0),
        ("[[-2, -3]]", 0),
        ("[[4, -4, 4]]", 8),
    ]
    .iter()
    .enumerate()
    .map(|(i, (input, expected))| {
        json!({"name": format!("t{i}"), "input": serde_json::from_str::<Json>(input).unwrap(),
               "expected": expected})
    })
    .collect();
    ws.write_jsonl(
        "problems.jsonl",
        &[
            json!({"id": "sum", "prompt": "", "entry_point": "total_positive",
                  "reference": REFERENCE, "tests": tests}),
        ],
    );
    let samples: Vec<Json> = SAMPLES
        .iter()
        .map(|(id, model, code, _)| {
            json!({"problem_id": "sum", "sample_id": id, "model": model, "code": code})
        })
        .collect();
    ws.write_jsonl("samples.jsonl", &samples);
}

fn read_jsonl(ws: &Workspace, name: &str) -> Vec<Json> {
    std::fs::read_to_string(ws.path(name))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn localize_puts_the_faulty_line_first() {
    let ws = Workspace::new();
    setup(&ws);
    ws.run_line("run -p problems.jsonl -s samples.jsonl --trace full -q");
    ws.run_line("localize runs.jsonl -p problems.jsonl -o faults.jsonl -q");
    let reports = read_jsonl(&ws, "faults.jsonl");
    assert_eq!(reports.len(), SAMPLES.len(), "one report per program");
    for (id, _, code, faulty) in SAMPLES {
        let report = reports.iter().find(|r| r["sample_id"] == *id).unwrap();
        assert_eq!(report["method"], "combined");
        assert_eq!(report["code"], *code);
        let lines: Vec<u64> = report["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["line"].as_u64().unwrap())
            .collect();
        assert_eq!(
            lines.len(),
            6,
            "{id}: the def line and the function body's lines: {lines:?}"
        );
        if *faulty == 0 {
            assert_eq!(report["passed"], true);
            assert!(report["lines"]
                .as_array()
                .unwrap()
                .iter()
                .all(|l| l["score"] == 0.0));
            continue;
        }
        let top = &report["lines"][0];
        let second = &report["lines"][1];
        assert_eq!(top["line"], *faulty, "{id}: {report:#}");
        assert!(
            top["score"].as_f64() > second["score"].as_f64(),
            "{id}: a tie is not a hit"
        );
        assert!(!top["signals"].as_array().unwrap().is_empty());
        for span in report["spans"].as_array().unwrap() {
            let (start, end) = (
                span["start"].as_u64().unwrap(),
                span["end"].as_u64().unwrap(),
            );
            assert!(start < end && end as usize <= code.chars().count());
        }
    }
    // The exception localizer points at the line that raised.
    ws.run_line("localize runs.jsonl -p problems.jsonl -o exc.jsonl -m exception -q");
    let crash = read_jsonl(&ws, "exc.jsonl")
        .into_iter()
        .find(|r| r["sample_id"] == "crash")
        .unwrap();
    assert_eq!(crash["method"], "exception");
    assert_eq!(crash["lines"][0]["line"], 5);
}

#[test]
fn localize_without_traces_falls_back_to_what_the_run_has() {
    let ws = Workspace::new();
    setup(&ws);
    ws.run_line("run -p problems.jsonl -s samples.jsonl -q");
    ws.run_line("localize runs.jsonl -p problems.jsonl -o faults.jsonl -q");
    let reports = read_jsonl(&ws, "faults.jsonl");
    let crash = reports.iter().find(|r| r["sample_id"] == "crash").unwrap();
    assert_eq!(
        crash["lines"][0]["line"], 5,
        "the exception site needs no trace"
    );
}

/// Runs `code` as sample `own` of the `sum` problem, then localizes it: its run and its
/// fault report.
fn run_and_localize_own(code: &str) -> (Json, Json) {
    let ws = Workspace::new();
    setup(&ws);
    ws.write_jsonl(
        "own.jsonl",
        &[json!({"problem_id": "sum", "sample_id": "own", "code": code})],
    );
    ws.run_line("run -p problems.jsonl -s own.jsonl -o own-runs.jsonl -q");
    ws.run_line("localize own-runs.jsonl -p problems.jsonl -o own-faults.jsonl -q");
    let run = read_jsonl(&ws, "own-runs.jsonl").remove(0);
    (run, read_jsonl(&ws, "own-faults.jsonl").remove(0))
}

#[test]
fn a_program_failing_on_its_own_test_code_is_localized_without_it() {
    // The boundary bug, and a module-level assert the bug makes fail before any test runs.
    let code = format!("{}\n\nassert total_positive([1]) == 1\n", SAMPLES[0].2);
    let (run, report) = run_and_localize_own(&code);
    for test in run["tests"].as_array().unwrap() {
        assert_eq!(test["exc_type"], "AssertionError", "{test}");
        assert_eq!(
            test["line"], 9,
            "every test fails on the program's own assert"
        );
    }
    assert_eq!(
        report["code"],
        code.as_str(),
        "the report shows the program as run"
    );
    let (top, second) = (&report["lines"][0], &report["lines"][1]);
    assert_eq!(top["line"], 4, "{report:#}");
    assert!(top["score"].as_f64() > second["score"].as_f64());
}

/// The program's own test code calls the function with a bad argument, which raises inside
/// the function (not on the scaffolding's line) while the program loads: every test records
/// that load error, and localization still runs the tests without the scaffolding.
#[test]
fn a_load_error_inside_a_function_called_by_the_scaffolding_is_looked_past() {
    let code = format!("{}\n\nprint(total_positive(5))\n", SAMPLES[0].2);
    let (run, report) = run_and_localize_own(&code);
    for test in run["tests"].as_array().unwrap() {
        let raised = (&test["exc_type"], &test["line"], &test["at_load"]);
        assert_eq!(raised, (&json!("TypeError"), &json!(3), &json!(true)));
    }
    let top = &report["lines"][0];
    assert_eq!(top["line"], 4, "{report:#}");
    // Evidence from tests that ran (not only the diff to the reference).
    let signals = top["signals"].as_array().unwrap();
    assert!(signals.contains(&json!("divergence")), "{report:#}");
}

#[test]
fn show_prints_the_program_with_a_heat_column() {
    let ws = Workspace::new();
    setup(&ws);
    ws.run_line("run -p problems.jsonl -s samples.jsonl --trace full -q");
    ws.run_line("localize runs.jsonl -p problems.jsonl -q");
    let output = ws.run_line("show faults.jsonl --sample boundary");
    insta::assert_snapshot!(String::from_utf8_lossy(&output.stdout));
    let missing = ws.run_err(&["show", "faults.jsonl", "--sample", "nope"]);
    assert!(missing.contains("no report for sample `nope`"), "{missing}");

    // A reader that stops early (`| head`) ends the output quietly, never as an error.
    let mut child = ws
        .command()
        .args(["show", "faults.jsonl"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn mutate_keeps_killed_mutants_with_their_fault_and_is_deterministic() {
    let ws = Workspace::new();
    setup(&ws);
    let args = [
        "mutate",
        "-p",
        "problems.jsonl",
        "-o",
        "m.jsonl",
        "--per-problem",
        "5",
        "--seed",
        "3",
        "-q",
    ];
    ws.run_ok(&args);
    let first = std::fs::read_to_string(ws.path("m.jsonl")).unwrap();
    let mutants = read_jsonl(&ws, "m.jsonl");
    assert_eq!(mutants.len(), 5);
    for m in &mutants {
        let code = m["code"].as_str().unwrap();
        assert_ne!(code, REFERENCE);
        let fault = &m["mutation"];
        assert_eq!(fault["origin"], "sum#reference");
        let lines = code.lines().count() as u64;
        for line in fault["lines"].as_array().unwrap() {
            assert!((1..=lines).contains(&line.as_u64().unwrap()), "{m:#}");
        }
        let (start, end) = (
            fault["span"][0].as_u64().unwrap(),
            fault["span"][1].as_u64().unwrap(),
        );
        assert!(start <= end && end as usize <= code.chars().count());
    }
    // Every kept mutant fails some test.
    ws.run_line("run -p problems.jsonl -s m.jsonl -o mruns.jsonl -q");
    assert!(ws
        .runs("mruns.jsonl")
        .values()
        .all(|r| r["passed"] == false));
    // Never replaced silently: a second call needs --force.
    let refused = ws.run_err(&args);
    assert!(refused.contains("--force"), "{refused}");
    assert_eq!(std::fs::read_to_string(ws.path("m.jsonl")).unwrap(), first);
    let mut again = args.to_vec();
    again.push("--force");
    ws.run_ok(&again);
    assert_eq!(
        std::fs::read_to_string(ws.path("m.jsonl")).unwrap(),
        first,
        "same seed, same mutants"
    );
}

#[test]
fn bench_localize_scores_mutants_and_real_programs() {
    let ws = Workspace::new();
    setup(&ws);
    ws.run_line("bench localize -p problems.jsonl --per-problem 4 --json mutants.json -q");
    let figures: Json =
        serde_json::from_str(&std::fs::read_to_string(ws.path("mutants.json")).unwrap()).unwrap();
    let combined = &figures["combined"];
    assert_eq!(combined["cases"], 4);
    assert!(combined["top1"].as_f64().unwrap() <= combined["top3"].as_f64().unwrap());
    assert!(
        figures.get("diff").is_none(),
        "diff would see the mutants' origin"
    );
    assert!(figures["random"]["exam"].as_f64().unwrap() > 0.0);
    // Real programs: ground truth from the passing program of the other model.
    let output =
        ws.run_line("bench localize -p problems.jsonl -s samples.jsonl --json real.json -q");
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.contains("| combined | 3 |"), "{table}");
    let real: Json =
        serde_json::from_str(&std::fs::read_to_string(ws.path("real.json")).unwrap()).unwrap();
    assert_eq!(real["combined"]["top1"], 1.0, "{real:#}");
}

#[test]
fn localize_reports_bad_input_clearly() {
    let ws = Workspace::new();
    setup(&ws);
    let missing = ws.run_err(&["localize", "nope.jsonl", "-p", "problems.jsonl"]);
    assert!(missing.contains("nope.jsonl"), "{missing}");
    ws.write("bad.jsonl", "{\"not\": \"a run\"}\n");
    let bad = ws.run_err(&["localize", "bad.jsonl", "-p", "problems.jsonl"]);
    assert!(bad.contains("bad.jsonl") && bad.contains("line 1"), "{bad}");
    ws.run_line("run -p problems.jsonl -s samples.jsonl -q");
    let method = ws.run_err(&[
        "localize",
        "runs.jsonl",
        "-p",
        "problems.jsonl",
        "-m",
        "magic",
    ]);
    assert!(
        method.contains("unknown localization method `magic`") && method.contains("ochiai"),
        "{method}"
    );
    let other = ws.run_err(&["localize", "runs.jsonl"]);
    assert!(
        other.contains("`sum`") && other.contains("--problems"),
        "{other}"
    );
}
