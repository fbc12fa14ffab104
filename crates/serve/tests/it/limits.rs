//! The queue bound, request limits, the token, metrics and the OpenAPI document.

use std::time::Duration;

use serde_json::json;

use crate::harness::{run_code, start};

#[test]
fn past_the_queue_bound_requests_get_429_with_retry_after() {
    let server = start(|s| {
        s.queue = 1;
        s.exec.config.workers = 1;
    });
    std::thread::scope(|scope| {
        let slow =
            scope.spawn(|| server.post("/run_code", &run_code("import time\ntime.sleep(2)")));
        std::thread::sleep(Duration::from_millis(500));
        let refused = server.post("/run_code", &run_code("print(1)"));
        assert_eq!(refused.status, 429, "{}", refused.body);
        let seconds: u64 = refused.retry_after.expect("Retry-After").parse().unwrap();
        assert!(seconds >= 1);
        assert_eq!(slow.join().unwrap().body["status"], "Success");
    });
    // Its place is free again.
    assert_eq!(server.post("/run_code", &run_code("print(1)")).status, 200);
    let (_, metrics) = server.get("/metrics");
    assert!(
        metrics.contains("tracealign_requests_total{route=\"/run_code\",status=\"429\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tracealign_request_seconds_bucket{route=\"/run_code\",le=\"+Inf\"} 3")
    );
    assert!(metrics.contains("tracealign_outcomes_total{kind=\"script_success\"} 2"));
}

#[test]
fn oversized_and_malformed_requests_name_the_field() {
    let server = start(|s| {
        s.limits.code_bytes = 100;
        s.limits.body_bytes = 4096;
        s.limits.programs = 2;
    });
    let long = run_code(&"x = 1\n".repeat(50));
    let answer = server.post("/run_code", &long);
    assert_eq!(
        (answer.status, answer.body["field"].as_str()),
        (413, Some("code"))
    );
    let body = run_code(&"#".repeat(5000));
    let answer = server.post("/run_code", &body);
    assert_eq!(
        (answer.status, answer.body["field"].as_str()),
        (413, Some("body"))
    );
    let answer = server.post_raw("/run_code", "{not json", None);
    assert_eq!(
        (answer.status, answer.body["field"].as_str()),
        (422, Some("body"))
    );
    let answer = server.post("/run_code", &json!({"language": "python"}));
    assert_eq!(answer.status, 422);
    assert!(
        answer.body["error"].as_str().unwrap().contains("code"),
        "{}",
        answer.body
    );
    let answer = server.post("/run_code", &json!({"code": 3, "language": "python"}));
    assert_eq!(
        (answer.status, answer.body["field"].as_str()),
        (422, Some("code"))
    );
    let answer = server.post("/run_code", &json!({"code": "", "language": "cpp"}));
    assert_eq!(
        (answer.status, answer.body["field"].as_str()),
        (422, Some("language"))
    );
    let answer = server.post(
        "/run_code",
        &json!({"code": "", "language": "python", "run_timeout": 1000}),
    );
    assert_eq!(
        (answer.status, answer.body["field"].as_str()),
        (422, Some("run_timeout"))
    );
    let three = json!({"samples": [{"problem_id": "t/add", "code": ""}, {"problem_id": "t/add", "code": ""}, {"problem_id": "t/add", "code": ""}]});
    let answer = server.post("/v1/evaluate", &three);
    assert_eq!(
        (answer.status, answer.body["field"].as_str()),
        (413, Some("samples"))
    );
}

#[test]
fn with_a_token_every_route_but_health_needs_it() {
    let server = start(|s| s.token = Some("s3cret".into()));
    let without = server.post("/run_code", &run_code("print(1)"));
    assert_eq!(without.status, 401);
    let wrong = server.post_with("/run_code", &run_code("print(1)"), Some("guess"));
    assert_eq!(wrong.status, 401);
    let with = server.post_with("/run_code", &run_code("print(1)"), Some("s3cret"));
    assert_eq!(
        (with.status, with.body["status"].as_str()),
        (200, Some("Success"))
    );
    assert_eq!(server.get("/health").0, 200);
    assert_eq!(server.get("/metrics").0, 401);
}

#[test]
fn health_and_the_openapi_document_name_every_route() {
    let server = start(|_| {});
    let (status, health) = server.get("/health");
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(
        (health["status"].as_str(), health["problems"].as_u64()),
        (Some("ok"), Some(2))
    );
    let (_, document) = server.get("/openapi.json");
    let document: serde_json::Value = serde_json::from_str(&document).unwrap();
    for route in [
        "/run_code",
        "/submit",
        "/v1/evaluate",
        "/v1/reward",
        "/health",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(document["paths"].get(route).is_some(), "{route} missing");
    }
}

#[test]
fn a_graceful_stop_finishes_requests_in_flight_and_refuses_new_ones() {
    let mut server = start(|_| {});
    let running = server.server.take().unwrap();
    let addr = running.addr;
    std::thread::scope(|scope| {
        let slow = scope.spawn(|| {
            server.post(
                "/run_code",
                &run_code("import time\ntime.sleep(1.5)\nprint('done')"),
            )
        });
        std::thread::sleep(Duration::from_millis(400));
        running.shutdown().expect("stops cleanly");
        let finished = slow.join().unwrap();
        assert_eq!(
            (
                finished.status,
                finished.body["run_result"]["stdout"].as_str()
            ),
            (200, Some("done\n"))
        );
    });
    assert!(std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
}
