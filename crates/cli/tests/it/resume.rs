//! Interrupted runs resume without losing or repeating work.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use crate::workspace::{read_runs, Workspace};

/// Counts of each sample id in a runs file.
fn sample_counts(ws: &Workspace) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for run in read_runs(&ws.path("runs.jsonl")) {
        *counts
            .entry(run["sample_id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    counts
}

#[test]
fn a_run_killed_with_sigkill_resumes_to_every_sample_exactly_once() {
    let ws = Workspace::new();
    let args = [
        "run",
        "--samples",
        "embedded",
        "-o",
        "runs.jsonl",
        "-j",
        "2",
        "-q",
    ];
    let mut child = ws.command().args(args).spawn().expect("start tracealign");
    // Wait until some, but not all, samples are written, then kill without warning.
    let started = Instant::now();
    loop {
        let written =
            std::fs::read_to_string(ws.path("runs.jsonl")).map_or(0, |t| t.lines().count());
        if written >= 20 || started.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    let before = sample_counts(&ws);
    assert!(!before.is_empty(), "the run wrote results as they finished");

    // A torn last line, as a kill in the middle of a write would leave.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(ws.path("runs.jsonl"))
        .unwrap();
    file.write_all(b"{\"problem_id\": \"ta/0").unwrap();
    drop(file);

    let output = ws.run_line("run --samples embedded -o runs.jsonl --resume -q");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("resuming: {} of", before.len())),
        "{stderr}"
    );
    let after = sample_counts(&ws);
    let expected = tracealign_core::embedded::samples().unwrap().len();
    assert_eq!(after.len(), expected, "every sample is present");
    assert!(
        after.values().all(|&n| n == 1),
        "no sample twice: {after:?}"
    );
}

#[test]
fn prepared_problems_are_cached_between_runs() {
    let ws = Workspace::new();
    ws.run_line("run -o first.jsonl -q");
    let entries = std::fs::read_dir(ws.path("cache/prepared"))
        .unwrap()
        .count();
    assert_eq!(
        entries,
        tracealign_core::embedded::problems().len(),
        "one entry per problem"
    );
    // Same verdicts from the cache; and a corrupt entry is simply prepared again.
    let victim = std::fs::read_dir(ws.path("cache/prepared"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&victim, "{not json").unwrap();
    ws.run_line("run -o second.jsonl -q");
    assert!(ws
        .runs("second.jsonl")
        .values()
        .all(|r| r["passed"] == true));
    assert!(
        std::fs::read_to_string(&victim).unwrap().starts_with('{'),
        "rewritten"
    );
    assert!(
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&victim).unwrap())
            .is_ok()
    );
}

#[test]
fn resuming_a_finished_run_runs_nothing() {
    let ws = Workspace::new();
    ws.run_line("run -o runs.jsonl -q --summary-json first.json");
    ws.run_line("run -o runs.jsonl -q --resume --summary-json second.json");
    let second: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path("second.json")).unwrap()).unwrap();
    assert_eq!(second["samples"], 0);
    assert_eq!(
        second["resumed"],
        tracealign_core::embedded::problems().len()
    );
    assert!(sample_counts(&ws).values().all(|&n| n == 1));
}

/// A run killed while writing a sample's big traces leaves a torn line in the traces
/// sidecar (written first) and none in `runs.jsonl`: resuming drops the torn line and reruns
/// that sample; the sidecar stays JSON Lines, and every run line points at the whole line
/// holding its own traces.
#[test]
fn resuming_after_a_torn_traces_line_keeps_every_trace_reachable() {
    let ws = Workspace::new();
    let code = |step: u32| {
        format!("def f(n):\n    text = ''\n    for i in range(n):\n        text = str(i * {step}) * 20\n    return len(text)\n")
    };
    let problem = json!({"id": "big", "prompt": "", "entry_point": "f", "reference": code(1),
                         "tests": [{"name": "long", "input": [3000]}, {"name": "short", "input": [1]}]});
    ws.write_jsonl("problems.jsonl", &[problem]);
    let samples: Vec<Json> = (1..=3)
        .map(|k| json!({"problem_id": "big", "sample_id": format!("s{k}"), "code": code(k)}))
        .collect();
    ws.write_jsonl("samples.jsonl", &samples);
    let run = "run -p problems.jsonl -s samples.jsonl -o runs.jsonl -q --trace full";
    ws.run_line(run);

    // As if killed while writing the last sample: its runs line never made it, and its
    // traces line in the sidecar stops half-way.
    let runs = std::fs::read_to_string(ws.path("runs.jsonl")).unwrap();
    let kept: String = runs.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(ws.path("runs.jsonl"), kept).unwrap();
    let sidecar_path = ws.path("runs.jsonl.traces.jsonl");
    let mut sidecar = std::fs::read(&sidecar_path).unwrap();
    let last_line = sidecar[..sidecar.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    sidecar.truncate(last_line + (sidecar.len() - last_line) / 2);
    std::fs::write(&sidecar_path, &sidecar).unwrap();

    ws.run_line(&format!("{run} --resume"));
    let sidecar = std::fs::read(&sidecar_path).unwrap();
    for line in sidecar.split_inclusive(|&b| b == b'\n') {
        assert!(line.ends_with(b"\n"), "the torn line was dropped");
        serde_json::from_slice::<Json>(line).expect("the sidecar is JSON Lines");
    }
    let runs = read_runs(&ws.path("runs.jsonl"));
    assert_eq!(runs.len(), 3);
    for run in runs {
        let at = &run["traces_at"];
        let start = at["offset"].as_u64().unwrap() as usize;
        let line = &sidecar[start..start + at["bytes"].as_u64().unwrap() as usize];
        let record: Json = serde_json::from_slice(line).expect("a whole line");
        assert_eq!(record["sample_id"], run["sample_id"]);
        assert_eq!(record["traces"].as_array().unwrap().len(), 2);
    }
}
