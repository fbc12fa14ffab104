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
        "--kinds",
        "output,input,path,state,state-category",
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
        count("input") == count("output") && count("state_category") == count("state"),
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

/// `eval --task output` on CRUXEval's own format with the tiny model: every row answered and
/// judged (the tiny model writes noise, so the point is the plumbing and the files), and
/// what it needs asked for by name.
#[test]
fn eval_task_answers_cruxeval_rows_and_judges_each() {
    let ws = Workspace::new();
    tracealign_train::tiny::write_tiny_model(&ws.path("tiny"), "llama").unwrap();
    write_crux_rows(&ws);
    let error = ws.run_err(&["eval", "--task", "output", "--rows", "crux.jsonl"]);
    assert!(error.contains("--model"), "{error}");
    let error = ws.run_err(&[
        "eval",
        "--task",
        "path",
        "--rows",
        "crux.jsonl",
        "--model",
        "tiny",
    ]);
    assert!(error.contains("no `path` rows"), "{error}");
    let args = [
        "eval",
        "--task",
        "output",
        "--rows",
        "crux.jsonl",
        "--model",
        "tiny",
        "--max-tokens",
        "6",
        "-o",
        "out",
    ];
    let output = ws.run_ok(&args);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("output prediction:") && text.contains("of 2 rows right"),
        "{text}"
    );
    let answers: Vec<Json> = std::fs::read_to_string(ws.path("out/answers.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[1]["expected"], "'ba'");
    let summary: Json =
        serde_json::from_str(&std::fs::read_to_string(ws.path("out/eval.json")).unwrap()).unwrap();
    assert_eq!(
        (summary["task"].as_str(), summary["rows"].as_u64()),
        (Some("output"), Some(2))
    );
    // A second run does not overwrite the answers without --fresh.
    let error = ws.run_err(&args);
    assert!(error.contains("--fresh"), "{error}");
}

/// Answers the execution-prediction prompts of the test below as an OpenAI-compatible
/// completions server would: right for the doubling row (with text after a blank line, which
/// the answer's stop cuts), wrong for the reversal, and any literal for the input row.
const PREDICTOR: &str = r#"
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["prompt"]
        text = "42\n\nBecause 21 * 2." if "x * 2" in prompt else "'ab'"
        reply = json.dumps({"choices": [{"text": text, "index": 0}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// `eval --task output` through an OpenAI-compatible server on loopback: each answer cut at
/// its stop, judged by running it, and the accuracy counted.
#[test]
fn eval_task_answers_through_an_endpoint() {
    let ws = Workspace::new();
    write_crux_rows(&ws);
    let (server, port) = crate::workspace::python_server(PREDICTOR, &[]);
    let url = format!("http://127.0.0.1:{port}");
    let args = [
        "eval",
        "--task",
        "output",
        "--rows",
        "crux.jsonl",
        "--endpoint",
        &url,
        "--model-name",
        "m",
        "-o",
        "out",
    ];
    let output = ws.command().args(args).output().unwrap();
    drop(server);
    assert!(
        output.status.success(),
        "{}",
        crate::workspace::describe(&args, &ws.path(""), &output)
    );
    let answers: Vec<Json> = std::fs::read_to_string(ws.path("out/answers.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        (&answers[0]["answer"], &answers[0]["correct"]),
        (&Json::from("42"), &Json::from(true))
    );
    assert_eq!(answers[1]["correct"], false);
    let summary: Json =
        serde_json::from_str(&std::fs::read_to_string(ws.path("out/eval.json")).unwrap()).unwrap();
    assert_eq!(summary["correct"], 1, "{summary}");
    assert_eq!(summary["endpoint"], url.as_str());
}

/// Two rows in CRUXEval's own format (`crux.jsonl`): `f(21)` doubles, `f('ab')` reverses.
fn write_crux_rows(ws: &Workspace) {
    let crux = [
        serde_json::json!({"id": "sample_0", "code": "def f(x):\n    return x * 2\n", "input": "21", "output": "42"}),
        serde_json::json!({"id": "sample_1", "code": "def f(s):\n    return s[::-1]\n", "input": "'ab'", "output": "'ba'"}),
    ];
    ws.write_jsonl("crux.jsonl", &crux);
}
