//! A server for one test, and a client for it.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tracealign_core::formats::problems::parse_problems;
use tracealign_core::Problem;
use tracealign_exec::resolve_python;
use tracealign_pipeline::ExecSettings;
use tracealign_serve::{RunningServer, ServeSettings, Server};

/// Two small problems: `add` (call tests with expected values) and `total` (a loop, for
/// localization and divergence).
pub const PROBLEMS: &str = r#"[
{"id": "t/add", "language": "python", "prompt": "def add(a, b):\n", "entry_point": "add",
 "reference": "def add(a, b):\n    return a + b\n",
 "tests": [{"name": "t1", "input": [1, 2], "expected": 3}, {"name": "t2", "input": [-1, 1], "expected": 0}]},
{"id": "t/total", "language": "python", "prompt": "def total(xs):\n", "entry_point": "total",
 "reference": "def total(xs):\n    s = 0\n    for x in xs:\n        s = s + x\n    return s\n",
 "tests": [{"name": "t1", "input": [[1, 2, 3]], "expected": 6}, {"name": "t2", "input": [[]], "expected": 0}, {"name": "t3", "input": [[5]], "expected": 5}]}
]"#;

pub fn problems() -> Vec<Problem> {
    parse_problems(Path::new("test-problems"), PROBLEMS, None).unwrap()
}

/// Settings for a test server: loopback, an ephemeral port, two workers, no cache shared
/// with anything else (`cache`: a directory the test owns).
pub fn settings(cache: &Path) -> ServeSettings {
    let mut exec = ExecSettings::new(resolve_python(None).expect("a python3 on PATH"));
    exec.config.workers = 2;
    exec.cache_dir = Some(cache.to_path_buf());
    let mut settings = ServeSettings::new(exec);
    settings.addr = "127.0.0.1:0".parse().unwrap();
    settings.problems = problems();
    settings
}

/// A started server and the directory it caches in.
pub struct TestServer {
    pub server: Option<RunningServer>,
    pub base: String,
    _cache: tempfile::TempDir,
}

pub fn start(adjust: impl FnOnce(&mut ServeSettings)) -> TestServer {
    let cache = tempfile::tempdir().unwrap();
    let mut settings = settings(cache.path());
    adjust(&mut settings);
    let server = Server::start(settings).expect("the server starts");
    TestServer {
        base: format!("http://{}", server.addr),
        server: Some(server),
        _cache: cache,
    }
}

/// An answer: status, body as JSON (Null when not JSON), the Retry-After header.
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<String>,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(120)))
        .http_status_as_error(false)
        .build()
        .into()
}

impl TestServer {
    pub fn post(&self, path: &str, body: &Value) -> Answer {
        self.post_with(path, body, None)
    }

    pub fn post_with(&self, path: &str, body: &Value, token: Option<&str>) -> Answer {
        self.post_raw(path, &body.to_string(), token)
    }

    pub fn post_raw(&self, path: &str, body: &str, token: Option<&str>) -> Answer {
        let mut request = agent().post(&format!("{}{path}", self.base));
        request = request.header("Content-Type", "application/json");
        if let Some(token) = token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        let response = request.send(body).expect("the server answers");
        answer(response)
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        let mut response = agent()
            .get(&format!("{}{path}", self.base))
            .call()
            .expect("answers");
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (response.status().as_u16(), text)
    }
}

fn answer(mut response: ureq::http::Response<ureq::Body>) -> Answer {
    let status = response.status().as_u16();
    let retry_after = (response.headers().get("retry-after"))
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = response.body_mut().read_to_string().unwrap_or_default();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        retry_after,
    }
}

/// `/run_code`'s body for a Python program.
pub fn run_code(code: &str) -> Value {
    serde_json::json!({"code": code, "language": "python", "run_timeout": 10})
}
