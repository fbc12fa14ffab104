//! `/v1/evaluate` gives the records `tracealign run`'s library step writes.

use serde_json::{json, Value};
use tracealign_core::formats::runs::RunsWriter;
use tracealign_core::Sample;
use tracealign_exec::{resolve_python, TraceMode};
use tracealign_pipeline::{run_into, ExecSettings, NoProgress, RunSummary, Workers};

use crate::harness::{problems, start};

/// The programs, as `(problem, sample id, whole program)`.
const PROGRAMS: [(&str, &str, &str); 4] = [
    ("t/add", "right", "def add(a, b):\n    return a + b\n"),
    ("t/add", "wrong", "def add(a, b):\n    return a - b\n"),
    ("t/total", "crash", "def total(xs):\n    return xs[0]\n"),
    ("t/total", "syntax", "def total(xs)\n    return 0\n"),
];

/// What a record says, durations left out (they differ from run to run).
fn verdicts(record: &Value) -> Value {
    let tests: Vec<Value> = (record["tests"].as_array().unwrap().iter())
        .map(|t| {
            let mut t = t.clone();
            t.as_object_mut().unwrap().remove("duration_ms");
            t
        })
        .collect();
    json!([
        record["sample_id"],
        record["passed"],
        record["status"],
        tests,
        record["stdout"]
    ])
}

#[test]
fn records_equal_what_run_into_writes() {
    let server = start(|_| {});
    let samples: Vec<Value> = (PROGRAMS.iter())
        .map(|(problem, id, code)| json!({"problem_id": problem, "sample_id": id, "code": code}))
        .collect();
    let answer = server.post("/v1/evaluate", &json!({"samples": samples}));
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        (
            answer.body["passed"].as_u64(),
            answer.body["total"].as_u64()
        ),
        (Some(1), Some(4))
    );
    let served: Vec<Value> = answer.body["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(verdicts)
        .collect();

    let cache = tempfile::tempdir().unwrap();
    let mut settings = ExecSettings::new(resolve_python(None).unwrap());
    settings.cache_dir = Some(cache.path().to_path_buf());
    let workers = Workers {
        settings: &settings,
        progress: &NoProgress,
    };
    let executor = workers.start(TraceMode::None).unwrap();
    let problems = problems();
    let prepared = workers.prepare(&executor, &problems).unwrap();
    let samples: Vec<Sample> = (PROGRAMS.iter())
        .map(|(problem, id, code)| Sample {
            problem_id: problem.to_string(),
            sample_id: id.to_string(),
            code: code.to_string(),
            model: None,
            mutation: None,
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.jsonl");
    let mut writer = RunsWriter::create(&path).unwrap();
    let summary = RunSummary::new(problems.len(), 0);
    run_into(
        &executor,
        &prepared,
        &samples,
        &mut writer,
        summary,
        &NoProgress,
    )
    .unwrap();
    drop(writer);
    let mut written: Vec<Value> = (std::fs::read_to_string(&path).unwrap().lines())
        .map(|line| verdicts(&serde_json::from_str(line).unwrap()))
        .collect();
    let order = |v: &Value| PROGRAMS.iter().position(|(_, id, _)| v[0] == *id);
    written.sort_by_key(order);
    assert_eq!(served, written);
}

#[test]
fn completions_inline_problems_and_unknown_ids() {
    let server = start(|_| {});
    let inline = json!({"task_id": "X/1", "prompt": "def inc(x):\n", "entry_point": "inc",
        "canonical_solution": "    return x + 1\n",
        "test": "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(5) == 6\n"});
    let request = json!({"problems": [inline], "samples": [
        {"problem_id": "X/1", "completion": "    return x + 1\n"},
        {"problem_id": "t/add", "completion": "    return a + b\n"}]});
    let answer = server.post("/v1/evaluate", &request);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["passed"], 2);
    assert_eq!(answer.body["executions"][0]["sample_id"], "s0");
    let unknown = json!({"samples": [{"problem_id": "t/add", "code": "x"}, {"problem_id": "nope", "code": "x"}]});
    let refused = server.post("/v1/evaluate", &unknown);
    assert_eq!(
        (refused.status, refused.body["field"].as_str()),
        (422, Some("samples[1].problem_id"))
    );
}

#[test]
fn concurrent_one_program_requests_run_on_different_workers() {
    // Each program sleeps 0.6 s in each of `add`'s two tests: 1.2 s a request. On the two
    // workers at once, two requests take about that; queued on one worker, twice that.
    let server = start(|_| {});
    let code = "import time\ndef add(a, b):\n    time.sleep(0.6)\n    return a + b\n";
    let started = std::time::Instant::now();
    let answers: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let server = &server;
                scope.spawn(move || {
                    let request = json!({"samples": [{"problem_id": "t/add", "code": code}]});
                    server.post("/v1/evaluate", &request)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let wall = started.elapsed().as_secs_f64();
    for answer in &answers {
        assert_eq!(
            (answer.status, answer.body["passed"].as_u64()),
            (200, Some(1))
        );
    }
    assert!(
        wall < 2.0,
        "two one-program requests took {wall:.2} s: run one after the other"
    );
}
