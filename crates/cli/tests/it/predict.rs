//! `tracealign build traced`: execution prediction rows from traced runs, every one
//! re-verified by running its call again.

use serde_json::Value as Json;

use crate::workspace::{increment_problem, Workspace};

#[test]
fn traced_rows_need_traces_and_every_humaneval_row_verifies() {
    let ws = Workspace::new();
    ws.write_jsonl("problems.jsonl", &[increment_problem()]);
    ws.run_ok(&["run", "-p", "problems.jsonl", "-o", "plain.jsonl", "-q"]);
    let error = ws.run_err(&[
        "build",
        "traced",
        "-p",
        "problems.jsonl",
        "--runs",
        "plain.jsonl",
        "-o",
        "rows.jsonl",
    ]);
    assert!(error.contains("--trace full"), "{error}");

    let Some(humaneval) = crate::formats::shared_data("HumanEval.jsonl.gz") else {
        return;
    };
    let humaneval = humaneval.to_str().unwrap();
    ws.run_ok(&[
        "run",
        "-p",
        humaneval,
        "--trace",
        "full",
        "-o",
        "runs.jsonl",
        "-q",
    ]);
    let output = ws.run_ok(&[
        "build",
        "traced",
        "-p",
        humaneval,
        "--runs",
        "runs.jsonl",
        "--per-problem",
        "1",
        "--verify",
        "-o",
        "rows.jsonl",
    ]);
    let text = String::from_utf8_lossy(&output.stdout);
    let rows: Vec<Json> = std::fs::read_to_string(ws.path("rows.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let count = |kind: &str| rows.iter().filter(|r| r["kind"] == kind).count();
    // Most problems give a row of each kind; those whose calls take dicts or huge values,
    // or raise, give none.
    assert!(
        count("output") > 120 && count("path") == count("output") && count("state") > 80,
        "{text}"
    );
    assert!(
        text.contains(&format!("verified: {0} of {0} rows", rows.len())),
        "{text}"
    );
    let row = &rows[0];
    for key in [
        "prompt",
        "completion",
        "code",
        "entry_point",
        "args",
        "answer",
    ] {
        assert!(!row[key].is_null(), "{key}: {row}");
    }
}
