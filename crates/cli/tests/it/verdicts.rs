//! What each outcome records, on real executions.

use serde_json::json;

use crate::workspace::{increment_problem, outcomes, sample, Workspace};

#[test]
fn outcomes_carry_what_a_user_needs_to_debug() {
    let ws = Workspace::new();
    ws.write_jsonl("problems.jsonl", &[increment_problem()]);
    ws.write_jsonl(
        "samples.jsonl",
        &[
            sample("wrong", "def f(x):\n    return x + 2\n"),
            sample("raises", "def f(x):\n    items = []\n    return items[x]\n"),
            sample("syntax", "def f(x)\n    return x\n"),
            sample("no_entry_point", "def g(x):\n    return x + 1\n"),
            sample(
                "partly",
                "def f(x):\n    if x == 3:\n        raise ValueError('three')\n    return x + 1\n",
            ),
            sample(
                "chatty",
                "import sys\nprint('loading')\ndef f(x):\n    print('f of', x)\n    print('oops', file=sys.stderr)\n    return x + 1\n",
            ),
            sample("warns", "def f(x):\n    return x + 1 if x is not 3 else 4\n"),
        ],
    );
    let output = ws.run_line("run -p problems.jsonl -s samples.jsonl -o runs.jsonl -q");
    let runs = ws.runs("runs.jsonl");

    let wrong = &runs["wrong"]["tests"];
    assert_eq!(wrong[0]["outcome"], "failed");
    assert_eq!(
        (wrong[0]["expected"].as_str(), wrong[0]["actual"].as_str()),
        (Some("2"), Some("3"))
    );
    assert_eq!(wrong[1]["assertion"], "assert f(3) == 4");
    assert_eq!(wrong[3]["outcome"], "failed");
    assert_eq!(wrong[3]["assertion"], "assert candidate(i) == i + 1");

    let raises = &runs["raises"]["tests"][0];
    assert_eq!(
        (raises["outcome"].as_str(), raises["exc_type"].as_str()),
        (Some("error"), Some("IndexError"))
    );
    assert_eq!(raises["line"], 3, "the line in the candidate's code");

    let syntax = &runs["syntax"];
    assert_eq!(syntax["status"]["kind"], "syntax_error");
    assert_eq!(syntax["status"]["line"], 1);
    assert!(outcomes(syntax).iter().all(|o| o == "error"));

    let missing = &runs["no_entry_point"]["tests"][0];
    assert_eq!(missing["exc_type"], "NameError");
    assert!(missing["message"].as_str().unwrap().contains("entry point"));

    // What a program prints is captured per stream; the compiler's warnings are the
    // program's output too, not tracealign's.
    let captured = [
        ("chatty", "stdout", "loading\nf of 1\nf of 3\n"),
        ("chatty", "stderr", "oops\n"),
        (
            "warns",
            "stderr",
            "<candidate>:2: SyntaxWarning: \"is not\" with a literal",
        ),
    ];
    for (id, stream, start) in captured {
        let run = &runs[id];
        assert_eq!(run["passed"], true, "{run}");
        assert!(run[stream].as_str().unwrap().starts_with(start), "{run}");
    }
    let own_stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!own_stderr.contains("SyntaxWarning"), "{own_stderr}");

    // Every test is run even after one fails.
    assert_eq!(
        outcomes(&runs["partly"]),
        ["passed", "error", "passed", "passed"]
    );
}

/// A test that expects an exception from its call is not passed by a program that raises
/// that exception while loading: every test records the load error, marked `at_load`.
#[test]
fn an_exception_while_loading_passes_no_test_that_expects_it() {
    let ws = Workspace::new();
    let problem = json!({
        "id": "neg", "prompt": "", "entry_point": "f",
        "reference": "def f(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x\n",
        "tests": [{"name": "raises", "input": [-1]}, {"name": "value", "input": [2]}]
    });
    ws.write_jsonl("problems.jsonl", &[problem]);
    let code = "def f(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x\n\nraise ValueError('at import')\n";
    ws.write_jsonl(
        "samples.jsonl",
        &[json!({"problem_id": "neg", "sample_id": "loud", "code": code})],
    );
    ws.run_line("run -p problems.jsonl -s samples.jsonl -o runs.jsonl -q");
    let loud = &ws.runs("runs.jsonl")["loud"];
    assert_eq!(loud["passed"], false);
    for test in loud["tests"].as_array().unwrap() {
        let raised = (&test["outcome"], &test["exc_type"], &test["line"]);
        assert_eq!(raised, (&json!("error"), &json!("ValueError"), &json!(6)));
        assert_eq!(test["at_load"], true, "{test}");
    }
}

#[test]
fn expected_values_come_from_the_reference_with_their_exact_types() {
    let ws = Workspace::new();
    let problem = json!({
        "id": "pairs", "prompt": "", "entry_point": "pairs",
        "reference": "def pairs(xs):\n    if not xs:\n        raise ValueError('empty')\n    return [(x, x * 0.5) for x in xs]\n",
        "tests": [
            {"name": "two", "input": [[1, 2]]},
            {"name": "python_args", "input": "[3]"},
            {"name": "empty", "input": [[]]}
        ]
    });
    ws.write_jsonl("problems.jsonl", &[problem]);
    let sample =
        |id: &str, code: &str| json!({"problem_id": "pairs", "sample_id": id, "code": code});
    ws.write_jsonl(
        "samples.jsonl",
        &[
            sample("lists_not_tuples", "def pairs(xs):\n    if not xs:\n        raise ValueError\n    return [[x, x / 2] for x in xs]\n"),
            sample("close_floats", "def pairs(xs):\n    if not xs:\n        raise ValueError\n    return [(x, x * 0.5 + 1e-9) for x in xs]\n"),
            sample("wrong_exception", "def pairs(xs):\n    return [(x, x * 0.5) for x in xs] or None + 1\n"),
        ],
    );
    ws.run_line("run -p problems.jsonl -s samples.jsonl -o runs.jsonl -q");
    let runs = ws.runs("runs.jsonl");
    assert_eq!(
        outcomes(&runs["lists_not_tuples"]),
        ["failed", "failed", "passed"]
    );
    assert_eq!(
        runs["lists_not_tuples"]["tests"][0]["expected"],
        "[(1, 0.5), (2, 1.0)]"
    );
    // EvalPlus's float tolerance (1e-6 by default) applies to float results.
    assert_eq!(
        outcomes(&runs["close_floats"]),
        ["failed", "failed", "passed"],
        "tuples of mixed types are not float lists"
    );
    let wrong_exception = &runs["wrong_exception"]["tests"][2];
    assert_eq!(
        wrong_exception["exc_type"], "TypeError",
        "the reference raised ValueError; another exception is an error"
    );
}

#[test]
fn timeouts_are_relative_to_the_reference() {
    let ws = Workspace::new();
    let problem = json!({
        "id": "slow", "prompt": "", "entry_point": "f",
        "reference": "import time\ndef f(x):\n    time.sleep(x)\n    return x\n",
        "tests": [{"name": "quick", "input": [0.0], "expected": 0.0}, {"name": "half", "input": [0.5], "expected": 0.5}]
    });
    ws.write_jsonl("problems.jsonl", &[problem]);
    let code = "import time\ndef f(x):\n    time.sleep(x * 3 + 0.35)\n    return x\n";
    ws.write_jsonl(
        "samples.jsonl",
        &[json!({"problem_id": "slow", "sample_id": "slower", "code": code})],
    );
    ws.run_line(
        "run -p problems.jsonl -s samples.jsonl -o runs.jsonl -q --timeout-floor 0.3 \
        --timeout-factor 4",
    );
    let tests = &ws.runs("runs.jsonl")["slower"]["tests"];
    // quick: limit is the floor (0.3 s) and 0.35 s is too slow; half: 4 × 0.5 s = 2 s is enough.
    assert_eq!(tests[0]["outcome"], "timeout");
    assert!((tests[0]["limit_s"].as_f64().unwrap() - 0.3).abs() < 1e-9);
    assert_eq!(tests[1]["outcome"], "passed", "{tests}");
}
