//! `/run_code` and `/submit` as SandboxFusion's clients see them.

use serde_json::json;

use crate::harness::{run_code, start};

#[test]
fn run_code_answers_with_sandbox_fusion_statuses() {
    let server = start(|_| {});
    let ok = server.post("/run_code", &run_code("print('hi')"));
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body["status"], "Success");
    assert_eq!(ok.body["run_result"]["status"], "Finished");
    assert_eq!(ok.body["run_result"]["return_code"], 0);
    assert_eq!(ok.body["run_result"]["stdout"], "hi\n");
    assert!(ok.body["compile_result"].is_null());

    let failed = server.post(
        "/run_code",
        &run_code("import sys\nprint('x')\nsys.exit(3)"),
    );
    assert_eq!(failed.body["status"], "Failed");
    assert_eq!(failed.body["run_result"]["status"], "Finished");
    assert_eq!(failed.body["run_result"]["return_code"], 3);

    let raised = server.post("/run_code", &run_code("raise ValueError('no')"));
    assert_eq!(raised.body["status"], "Failed");
    assert_eq!(raised.body["run_result"]["return_code"], 1);
    let stderr = raised.body["run_result"]["stderr"].as_str().unwrap();
    assert!(stderr.contains("ValueError: no"), "{stderr}");

    let slow = json!({"code": "while True: pass", "language": "python", "run_timeout": 0.5});
    let slow = server.post("/run_code", &slow);
    assert_eq!(slow.body["status"], "Failed");
    assert_eq!(slow.body["run_result"]["status"], "TimeLimitExceeded");

    let stdin = json!({"code": "a, b = map(int, input().split())\nprint(a * b)",
                       "language": "python", "stdin": "6 7\n"});
    assert_eq!(
        server.post("/run_code", &stdin).body["run_result"]["stdout"],
        "42\n"
    );
}

#[test]
fn files_go_in_and_come_back_base64() {
    let server = start(|_| {});
    let request = json!({
        "code": "data = open('in/a.txt').read()\nopen('out.txt', 'w').write(data.upper())",
        "language": "python",
        "files": {"in/a.txt": "aGVsbG8="},
        "fetch_files": ["out.txt"],
    });
    let answer = server.post("/run_code", &request);
    assert_eq!(answer.body["status"], "Success", "{}", answer.body);
    assert_eq!(answer.body["files"]["out.txt"], "SEVMTE8=");
    let outside = json!({"code": "", "language": "python", "files": {"../x": "aGk="}});
    let refused = server.post("/run_code", &outside);
    assert_eq!(
        (refused.status, refused.body["field"].as_str()),
        (422, Some("files.../x"))
    );
}

#[test]
fn submit_judges_each_provided_test() {
    let server = start(|_| {});
    let test = |stdin: &str, stdout: &str| json!({"input": {"stdin": stdin}, "output": {"stdout": stdout}});
    let request = json!({
        "dataset": "custom", "id": 7,
        "completion": "Here it is:\n```python\nn = int(input())\nprint(n * 2 if n < 10 else n)\n```\n",
        "config": {"language": "python", "provided_data": {"test": [
            test("2\n", "4\n"), test("3", "6  \n\n"), test("12\n", "24\n")]}},
    });
    let answer = server.post("/submit", &request);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["id"], 7);
    assert_eq!(answer.body["accepted"], false);
    assert_eq!(answer.body["extracted_type"], "fenced");
    let passed: Vec<bool> = (answer.body["tests"].as_array().unwrap().iter())
        .map(|t| t["passed"].as_bool().unwrap())
        .collect();
    assert_eq!(passed, [true, true, false]);
    assert_eq!(
        answer.body["tests"][2]["exec_info"]["run_result"]["stdout"],
        "12\n"
    );
    let no_tests = json!({"id": 1, "completion": "print(1)", "config": {}});
    let refused = server.post("/submit", &no_tests);
    assert_eq!(
        (refused.status, refused.body["field"].as_str()),
        (422, Some("config.provided_data"))
    );
}
