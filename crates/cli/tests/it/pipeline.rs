//! `tracealign pipeline`: every stage's output, reuse of finished stages, and rerunning
//! from a stage whose output was deleted.

use serde_json::{json, Value as Json};

use crate::workspace::Workspace;

const REFERENCE: &str = "def total_positive(xs):\n    total = 0\n    for x in xs:\n        if x > 0:\n            total += x\n    return total\n";

pub fn setup(ws: &Workspace) {
    let tests: Vec<Json> = ["[[1, 2, 3]]", "[[-1, 5]]", "[[]]", "[[4, -4, 4]]"]
        .iter()
        .enumerate()
        .map(|(i, input)| json!({"name": format!("t{i}"), "input": serde_json::from_str::<Json>(input).unwrap()}))
        .collect();
    ws.write_jsonl(
        "problems.jsonl",
        &[
            json!({"id": "sum", "prompt": "", "entry_point": "total_positive",
                  "reference": REFERENCE, "tests": tests}),
        ],
    );
    let bug = REFERENCE.replace("x > 0", "x > 1");
    let ok = REFERENCE.replace("x > 0", "x >= 1");
    ws.write_jsonl(
        "samples.jsonl",
        &[
            json!({"problem_id": "sum", "sample_id": "bug", "model": "m", "code": bug}),
            json!({"problem_id": "sum", "sample_id": "ok", "model": "m", "code": ok}),
        ],
    );
}

fn lines(ws: &Workspace, name: &str) -> Vec<Json> {
    std::fs::read_to_string(ws.path("out").join(name))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn pipeline(ws: &Workspace) -> String {
    pipeline_with(ws, &["--mutants-per-problem", "2"])
}

/// The pipeline on the test's problem and samples into `out`, with `extra` flags; its log.
fn pipeline_with(ws: &Workspace, extra: &[&str]) -> String {
    let mut args = vec![
        "pipeline",
        "-p",
        "problems.jsonl",
        "-s",
        "samples.jsonl",
        "--out",
        "out",
    ];
    args.extend_from_slice(extra);
    String::from_utf8_lossy(&ws.run_ok(&args).stderr).to_string()
}

/// Every stage of the main job, in order.
const ALL_STAGES: [&str; 11] = [
    "mutants",
    "samples",
    "runs",
    "references",
    "faults",
    "sft",
    "dpo",
    "repair",
    "rewards",
    "eval",
    "report",
];

/// The stages that ran, from lines such as `[3/11] runs   done in 1.2s`.
fn reran(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains(" done in "))
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect()
}

#[test]
fn pipeline_writes_every_stage_and_reuses_finished_ones() {
    let ws = Workspace::new();
    setup(&ws);
    let first = pipeline(&ws);
    let all = ALL_STAGES;
    assert_eq!(reran(&first), all, "{first}");
    // Consistent outputs: 2 samples + 2 mutants, one run and one report each.
    assert_eq!(lines(&ws, "mutants.jsonl").len(), 2);
    let samples = lines(&ws, "samples.jsonl");
    assert_eq!(samples.len(), 4);
    let runs = lines(&ws, "runs.jsonl");
    let faults = lines(&ws, "faults.jsonl");
    let ids = |rows: &[Json]| {
        let mut ids: Vec<String> = rows
            .iter()
            .map(|r| r["sample_id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&runs), ids(&samples));
    assert_eq!(ids(&faults), ids(&samples));
    assert!(
        runs.iter().all(|r| r["tests"][0]["trace"].is_object()),
        "runs are traced"
    );
    assert_eq!(lines(&ws, "sft.jsonl").len(), 1, "the one passing program");
    assert_eq!(
        lines(&ws, "dpo.jsonl").len(),
        3,
        "each failing program paired with it"
    );
    assert!(!lines(&ws, "repair.jsonl").is_empty());
    assert!(lines(&ws, "rewards.jsonl").len() >= 4);
    assert_eq!(
        lines(&ws, "references.jsonl").len(),
        1,
        "the one reference, traced"
    );
    let eval: Json =
        serde_json::from_str(&std::fs::read_to_string(ws.path("out/eval.json")).unwrap()).unwrap();
    // pass@k scores the user's two programs; the mutants count only for localization.
    assert_eq!(
        (eval["samples"].as_u64(), eval["passed"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(eval["pass_at_k"][0]["mean"], 0.5);
    assert_eq!(
        eval["localization"]["accuracy"]["cases"], 2,
        "the two mutants"
    );
    let report = std::fs::read_to_string(ws.path("out/report.html")).unwrap();
    assert!(
        report.contains("mutants (synthetic, not scored)"),
        "{report}"
    );
    assert!(
        report.contains("bug") && report.contains("<svg"),
        "{report}"
    );

    // Reported against other problems (here the embedded set), nothing would show: refused.
    let refused = ws.run_err(&["report", "out"]);
    assert!(
        refused.contains("pass the problems they were run with (--problems)"),
        "{refused}"
    );

    let second = pipeline(&ws);
    assert!(reran(&second).is_empty(), "{second}");
    assert_eq!(second.matches("up to date").count(), all.len());

    std::fs::remove_file(ws.path("out").join("faults.jsonl")).unwrap();
    let third = pipeline(&ws);
    assert_eq!(reran(&third), ALL_STAGES[4..], "{third}");
}

#[test]
fn the_trace_caps_reach_the_samples_and_the_references_alike() {
    let ws = Workspace::new();
    setup(&ws);
    pipeline_with(&ws, &["--trace-max-events", "3"]);
    for name in ["runs.jsonl", "references.jsonl"] {
        let rows = lines(&ws, name);
        let traces: Vec<&Json> = rows
            .iter()
            .flat_map(|r| r["tests"].as_array().unwrap())
            .map(|t| &t["trace"])
            .collect();
        assert!(!traces.is_empty(), "{name}");
        for trace in traces {
            assert!(
                trace["events"].as_array().unwrap().len() <= 3,
                "{name}: {trace}"
            );
            assert_eq!(trace["truncated"], true, "{name}: {trace}");
        }
    }
}

#[test]
fn a_changed_setting_reruns_the_stages_it_reaches() {
    let ws = Workspace::new();
    setup(&ws);
    pipeline(&ws);
    let log = pipeline_with(
        &ws,
        &["--mutants-per-problem", "2", "--trace-max-events", "50"],
    );
    // The mutants run untraced: the caps change the traced stages and what follows them.
    assert_eq!(reran(&log), ALL_STAGES[2..], "{log}");
}
