//! `tracealign eval`: pass@k and failure categories of real runs; sampling from an
//! OpenAI-compatible server started by the test (retries, concurrency, resume).

use serde_json::{json, Value as Json};

use crate::workspace::{increment_problem, python_server, sample, Workspace};

fn read_json(ws: &Workspace, name: &str) -> Json {
    let text = std::fs::read_to_string(ws.path(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn pass_at(eval: &Json, k: u64) -> f64 {
    eval["pass_at_k"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["k"] == k)
        .unwrap_or_else(|| panic!("pass@{k} in {eval}"))["mean"]
        .as_f64()
        .unwrap()
}

#[test]
fn eval_scores_runs_with_unbiased_pass_at_k_and_failure_categories() {
    let ws = Workspace::new();
    ws.write_jsonl("problems.jsonl", &[increment_problem()]);
    ws.write_jsonl(
        "samples.jsonl",
        &[
            sample("ok1", "def f(x):\n    return x + 1\n"),
            sample("ok2", "def f(x):\n    return 1 + x\n"),
            sample("wrong", "def f(x):\n    return x\n"),
            sample("crash", "def f(x):\n    return [x][x + 1]\n"),
            sample("syntax", "def f(x)\n    return x + 1\n"),
        ],
    );
    let args = [
        "eval",
        "-p",
        "problems.jsonl",
        "-s",
        "samples.jsonl",
        "-k",
        "1,2,10",
        "-o",
        "out",
    ];
    let first = ws.run_ok(&args);
    let eval = read_json(&ws, "out/eval.json");
    // n = 5, c = 2: pass@1 = 2/5; pass@2 = 1 - C(3,2)/C(5,2) = 1 - 3/10; pass@10 needs n ≥ 10.
    assert!((pass_at(&eval, 1) - 0.4).abs() < 1e-12, "{eval}");
    assert!((pass_at(&eval, 2) - 0.7).abs() < 1e-12, "{eval}");
    assert_eq!(eval["skipped_k"], json!([10]));
    assert_eq!(
        eval["categories"],
        json!({"passed": 2, "wrong_answer": 1, "runtime_error:IndexError": 1, "syntax_error": 1})
    );
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        stdout.contains("pass@1") && stdout.contains("40.0%"),
        "{stdout}"
    );
    let report = std::fs::read_to_string(ws.path("out/report.html")).unwrap();
    assert!(report.contains("runtime_error:IndexError") && report.contains("crash"));

    // A second call reuses the finished runs instead of running them again.
    let second = ws.run_ok(&args);
    let stderr = String::from_utf8_lossy(&second.stderr);
    let runs = stderr
        .lines()
        .find(|l| l.contains(" runs "))
        .unwrap_or_default();
    assert!(runs.contains("up to date"), "{stderr}");
    assert_eq!(
        read_json(&ws, "out/eval.json")["categories"],
        eval["categories"]
    );
}

/// An OpenAI-compatible completions server in Python: the first request gets HTTP 503 (a
/// retry must follow); then each prompt's requests get, in turn, a correct body, a wrong
/// one, a correct one. Every request body is logged to `requests.jsonl`.
const SERVER: &str = r#"
import json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
answers = ["    return x + 1\n\n\ndef unused():\n    pass\n", "    return x\n", "    return x + 1\n"]
lock = threading.Lock()
state = {"requests": 0, "per_prompt": {}}
class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with lock:
            state["requests"] += 1
            first = state["requests"] == 1
            with open(sys.argv[1], "a") as log:
                log.write(json.dumps({"path": self.path, "body": body}) + "\n")
            if not first:
                seen = state["per_prompt"].get(body["prompt"], 0)
                state["per_prompt"][body["prompt"]] = seen + 1
        if first:
            self.send_response(503)
            self.end_headers()
            return
        text = answers[seen % len(answers)]
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

#[test]
fn eval_samples_an_openai_compatible_server_with_retries() {
    let ws = Workspace::new();
    ws.write_jsonl("problems.jsonl", &[increment_problem()]);
    let log = ws.path("requests.jsonl");
    let (_server, port) = python_server(SERVER, &[log.to_str().unwrap()]);
    let url = format!("http://127.0.0.1:{port}");
    let args = [
        "eval",
        "-p",
        "problems.jsonl",
        "--endpoint",
        &url,
        "--model-name",
        "tiny",
        "-n",
        "3",
        "--temperature",
        "0.8",
        "--concurrency",
        "1",
        "-k",
        "1,3",
        "-o",
        "out",
    ];
    ws.run_ok(&args);
    let samples: Vec<Json> = std::fs::read_to_string(ws.path("out/samples.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(samples.len(), 3);
    let codes: Vec<&str> = samples
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    // The prompt, then the completion cut before the next top-level `def`.
    assert_eq!(codes[0], "def f(x):\n    return x + 1\n\n");
    assert_eq!(codes[1], "def f(x):\n    return x\n");
    assert!(samples.iter().all(|s| s["model"] == "tiny"));
    let eval = read_json(&ws, "out/eval.json");
    assert!((pass_at(&eval, 1) - 2.0 / 3.0).abs() < 1e-12, "{eval}");
    assert_eq!(pass_at(&eval, 3), 1.0);

    let requests: Vec<Json> = std::fs::read_to_string(ws.path("requests.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(requests.len(), 4, "three samples and one retried 503");
    let body = &requests[1]["body"];
    assert_eq!(requests[1]["path"], "/v1/completions");
    assert_eq!(
        (&body["model"], &body["prompt"]),
        (&json!("tiny"), &json!("def f(x):\n"))
    );
    assert_eq!(body["temperature"], 0.8);
    assert!(body["stop"].as_array().unwrap().contains(&json!("\ndef ")));
    let mut seeds: Vec<u64> = requests[1..]
        .iter()
        .map(|r| r["body"]["seed"].as_u64().unwrap())
        .collect();
    seeds.sort();
    assert_eq!(seeds, [0, 1, 2]);

    // Rerun: every sample is kept, no request is made.
    ws.run_ok(&args);
    let after = std::fs::read_to_string(ws.path("requests.jsonl")).unwrap();
    assert_eq!(after.lines().count(), 4);
    // Other settings in the same directory are refused, not mixed in.
    let mut other = args.to_vec();
    other[10] = "0.2";
    let error = ws.run_err(&other);
    assert!(error.contains("--fresh"), "{error}");
}

/// A workspace with the `inc` problem and the trainer's tiny random model in `tiny/`.
fn with_tiny_model() -> Workspace {
    let ws = Workspace::new();
    ws.write_jsonl("problems.jsonl", &[increment_problem()]);
    tracealign_train::tiny::write_tiny_model(&ws.path("tiny"), "llama").unwrap();
    ws
}

/// A local model (the trainer's tiny random one): samples are generated with the trainer's
/// batched decoding, run and scored; an interrupted generation resumes where it stopped.
#[test]
fn eval_samples_a_local_model_and_resumes_its_generation() {
    let ws = with_tiny_model();
    let args = [
        "eval",
        "-p",
        "problems.jsonl",
        "--model",
        "tiny",
        "-n",
        "3",
        "--temperature",
        "0.8",
        "--max-tokens",
        "24",
        "-k",
        "1,3",
        "-o",
        "out",
    ];
    ws.run_ok(&args);
    let read = || std::fs::read_to_string(ws.path("out/samples.jsonl")).unwrap();
    let first = read();
    let samples: Vec<Json> = first
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = samples
        .iter()
        .map(|s| s["sample_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["inc#0", "inc#1", "inc#2"]);
    assert!(samples
        .iter()
        .all(|s| s["code"].as_str().unwrap().starts_with("def f(x):")));
    let eval = read_json(&ws, "out/eval.json");
    assert_eq!(eval["samples"], 3);
    assert_eq!(
        eval["categories"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum::<u64>(),
        3
    );

    // Interrupted mid-line after the first sample (so the stage never recorded that it
    // finished): the rerun keeps it, repairs the torn line and generates the rest again, the
    // same (seeded) way.
    let torn = format!(
        "{}\n{{\"problem_id\": \"inc\", \"sam",
        first.lines().next().unwrap()
    );
    std::fs::write(ws.path("out/samples.jsonl"), torn).unwrap();
    std::fs::remove_file(ws.path("out/.stages/samples")).unwrap();
    ws.run_ok(&args);
    assert_eq!(read(), first);
}

#[test]
fn a_local_chat_model_is_prompted_through_its_own_chat_template() {
    let ws = with_tiny_model();
    let args = [
        "generate",
        "--model",
        "tiny",
        "-p",
        "problems.jsonl",
        "--chat",
        "--max-new-tokens",
        "8",
        "-o",
        "chat.jsonl",
    ];
    let error = ws.run_err(&args);
    assert!(error.contains("no chat template"), "{error}");

    ws.write(
        "tiny/tokenizer_config.json",
        r#"{"chat_template": "{% for m in messages %}<|user|>{{ m['content'] }}{% endfor %}<|bot|>"}"#,
    );
    ws.run_ok(&args);
    let text = std::fs::read_to_string(ws.path("chat.jsonl")).unwrap();
    let sample: Json = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    // A random model's reply holds no block defining `f`: it becomes the body after the prompt.
    assert!(
        sample["code"].as_str().unwrap().starts_with("def f(x):"),
        "{sample}"
    );
}

#[test]
fn generate_answers_prompt_rows_with_programs_run_can_judge() {
    let ws = with_tiny_model();
    let rows = [
        json!({"id": "mine", "problem_id": "inc", "prompt": "### Fixed program\n"}),
        json!({"problem_id": "inc", "sample_id": "inc#3", "representation": "trace",
               "trace_style": "lines", "prompt": "### Buggy program\ndef f(x):\n    return x\n"}),
        json!({"problem_id": "inc", "prompt": "Fix it.\n"}),
    ];
    ws.write_jsonl("prompts.jsonl", &rows);
    let args = [
        "generate",
        "--model",
        "tiny",
        "-p",
        "problems.jsonl",
        "--prompts",
        "prompts.jsonl",
        "-n",
        "2",
        "--max-new-tokens",
        "8",
        "-o",
        "samples.jsonl",
    ];
    ws.run_ok(&args);
    let text = std::fs::read_to_string(ws.path("samples.jsonl")).unwrap();
    let samples: Vec<Json> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut ids: Vec<&str> = samples
        .iter()
        .map(|s| s["sample_id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "inc#3:trace:lines#0",
            "inc#3:trace:lines#1",
            "inc@3#0",
            "inc@3#1",
            "mine#0",
            "mine#1"
        ]
    );
    // A random model defines no `f`: its reply is taken as the body after the problem's prompt.
    assert!(samples
        .iter()
        .all(|s| s["problem_id"] == "inc" && s["code"].as_str().unwrap().starts_with("def f(x):")));
    ws.run_line("run -p problems.jsonl --samples samples.jsonl -o runs.jsonl");
    assert_eq!(ws.runs("runs.jsonl").len(), 6);

    ws.write_jsonl("bad.jsonl", &[json!({"problem_id": "nope", "prompt": "x"})]);
    let bad = [
        "generate",
        "--model",
        "tiny",
        "-p",
        "problems.jsonl",
        "--prompts",
        "bad.jsonl",
        "-o",
        "not_written.jsonl",
    ];
    let error = ws.run_err(&bad);
    assert!(
        error.contains("bad.jsonl:1: problem `nope` is not in the problem set"),
        "{error}"
    );
    assert!(error.contains("hint: pass the problems"), "{error}");
    ws.write_jsonl("bad.jsonl", &[json!({"problem_id": "inc"})]);
    let error = ws.run_err(&bad);
    assert!(
        error.contains("bad.jsonl:1: a prompt row needs the string fields `prompt`"),
        "{error}"
    );
}

/// A server that is not there: one probe request fails (after its retries) and the eval
/// stops with the address, before the batch; nothing is written as samples.
#[test]
fn an_unreachable_server_fails_before_the_batch() {
    let ws = Workspace::new();
    ws.write_jsonl("problems.jsonl", &[increment_problem()]);
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let args = [
        "eval",
        "-p",
        "problems.jsonl",
        "--endpoint",
        &url,
        "--model-name",
        "m",
        "-n",
        "20",
        "-o",
        "out",
    ];
    let error = ws.run_err(&args);
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    assert!(error.contains("attempt"), "{error}");
    assert!(
        !error.contains("requests failed"),
        "the batch never started: {error}"
    );
    let samples = std::fs::read_to_string(ws.path("out/samples.jsonl")).unwrap_or_default();
    assert!(samples.is_empty(), "{samples}");
}

/// `eval --localize` localizes the failing programs into OUT/faults.jsonl and the report
/// shows their heat maps, with no file copied in by hand; a second call reuses them.
#[test]
fn eval_localizes_on_request_and_the_report_shows_heat_maps() {
    let ws = Workspace::new();
    ws.write_jsonl("problems.jsonl", &[increment_problem()]);
    ws.write_jsonl(
        "samples.jsonl",
        &[
            sample("ok", "def f(x):\n    return x + 1\n"),
            sample("wrong", "def f(x):\n    return x + 2\n"),
        ],
    );
    let args = [
        "eval",
        "-p",
        "problems.jsonl",
        "-s",
        "samples.jsonl",
        "-k",
        "1",
        "--trace",
        "full",
        "--localize",
        "-o",
        "out",
    ];
    ws.run_ok(&args);
    let faults = std::fs::read_to_string(ws.path("out/faults.jsonl")).unwrap();
    let reports: Vec<Json> = faults
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let wrong = reports
        .iter()
        .find(|r| r["sample_id"] == "wrong")
        .expect("a report");
    assert_eq!(wrong["lines"][0]["line"], 2, "{wrong}");
    let report = std::fs::read_to_string(ws.path("out/report.html")).unwrap();
    assert!(report.contains("row hot"), "the failing program's heat map");
    let again = ws.run_ok(&args);
    let log = String::from_utf8_lossy(&again.stderr);
    let faults_line = log
        .lines()
        .find(|l| l.contains(" faults "))
        .unwrap_or_default();
    assert!(faults_line.contains("up to date"), "{log}");
}
