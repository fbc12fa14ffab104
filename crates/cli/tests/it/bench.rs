//! `tracealign bench suite` on a one-problem set: every benchmark lands in one table and one
//! JSON file, with ratios against the baselines measured in the same run.

use serde_json::Value as Json;

use crate::pipeline::setup;
use crate::workspace::Workspace;

#[test]
fn bench_suite_writes_one_table_and_one_json() {
    let ws = Workspace::new();
    setup(&ws);
    let args = [
        "bench",
        "suite",
        "-p",
        "problems.jsonl",
        "-o",
        "bench",
        "--repeats",
        "1",
        "--mutation-budget",
        "2",
    ];
    ws.run_ok(&args);
    let table = std::fs::read_to_string(ws.path("bench/bench.md")).unwrap();
    for row in [
        "| execution | samples/s, whole command |",
        "fresh interpreter per sample",
        "| tracing | coverage: samples phase, s |",
        "| tracing | full: samples phase, s |",
        "| localization | combined: top-1 on mutants |",
    ] {
        assert!(table.contains(row), "no `{row}` in\n{table}");
    }
    let json: Json =
        serde_json::from_str(&std::fs::read_to_string(ws.path("bench/bench.json")).unwrap())
            .unwrap();
    assert_eq!(json["problems"], 1);
    assert!(json["execution"]["fresh_interpreter_s"].as_f64().unwrap() > 0.0);
    assert!(
        json["tracing"]["full"]["events"].as_u64().unwrap() > 0,
        "{json}"
    );
    assert!(
        json["tracing"]["coverage"]["events"].as_u64().unwrap() > 0,
        "{json}"
    );
    let combined = &json["localization"]["combined"];
    assert!(combined["cases"].as_u64().unwrap() > 0, "{json}");
}
