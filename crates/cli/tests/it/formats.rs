//! Problem and sample formats from elsewhere: HumanEval, MBPP (original and sanitized),
//! EvalPlus (our own small problems written in their layouts), plus the real HumanEval files
//! when present.

use std::io::Write;
use std::path::Path;

use serde_json::{json, Value as Json};

use crate::workspace::{outcomes, Workspace};

fn gzip(ws: &Workspace, name: &str, rows: &[Json]) {
    let file = std::fs::File::create(ws.path(name)).unwrap();
    let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    for row in rows {
        writeln!(encoder, "{row}").unwrap();
    }
    encoder.finish().unwrap();
}

const HUMAN_EVAL_STYLE_TEST: &str = "\nMETADATA = {}\n\ndef check(candidate):\n    assert candidate([1, 2, 3]) == 6\n    assert candidate([]) == 0\n    big = list(range(100))\n    assert candidate(big) == 4950, 'big'\n    for n in range(5):\n        assert candidate([n]) == n\n";

#[test]
fn human_eval_layout_gzipped_with_completions() {
    let ws = Workspace::new();
    let problem = json!({
        "task_id": "Demo/0", "entry_point": "total",
        "prompt": "def total(xs):\n    \"\"\"Sum of xs.\"\"\"\n",
        "canonical_solution": "    return sum(xs)\n",
        "test": HUMAN_EVAL_STYLE_TEST,
    });
    gzip(&ws, "problems.jsonl.gz", &[problem]);
    ws.write_jsonl(
        "samples.jsonl",
        &[
            json!({"task_id": "Demo/0", "completion": "    return sum(xs)\n"}),
            json!({"task_id": "Demo/0", "completion": "    return sum(xs[1:])\n"}),
            json!({"task_id": "Demo/0", "solution": "def total(xs):\n    return len(xs)\n"}),
        ],
    );
    ws.run_line("run -p problems.jsonl.gz -s samples.jsonl -o runs.jsonl -q");
    let runs = ws.runs("runs.jsonl");
    assert_eq!(outcomes(&runs["Demo/0#0"]), ["passed"; 4]);
    // Each top-level assert is its own test; the loop after the last one is `check_rest`.
    let names: Vec<_> = runs["Demo/0#1"]["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, ["assert_1", "assert_2", "assert_3", "check_rest"]);
    // sum(xs[1:]) is right for [] and for range(100), which starts with 0.
    assert_eq!(
        outcomes(&runs["Demo/0#1"]),
        ["failed", "passed", "passed", "failed"]
    );
    assert_eq!(
        outcomes(&runs["Demo/0#2"]),
        ["failed", "passed", "failed", "failed"]
    );
    assert_eq!(runs["Demo/0#2"]["tests"][2]["actual"], "100");
}

#[test]
fn mbpp_layout_with_setup_code() {
    let ws = Workspace::new();
    let problem = json!({
        "task_id": 7, "text": "Double every element.",
        "code": "def double_all(xs):\r\n    return [SCALE * x for x in xs]\r\n",
        "test_list": ["assert double_all([1, 2]) == [2, 4]", "assert double_all([]) == []"],
        "test_setup_code": "SCALE = 2", "challenge_test_list": [],
    });
    ws.write_jsonl("problems.jsonl", &[problem]);
    ws.write_jsonl("samples.jsonl", &[json!({"problem_id": "Mbpp/7", "sample_id": "s", "code": "SCALE = 3\ndef double_all(xs):\n    return [x + x for x in xs]\n"})]);
    ws.run_line("run -p problems.jsonl -s samples.jsonl -o runs.jsonl -q");
    assert_eq!(outcomes(&ws.runs("runs.jsonl")["s"]), ["passed", "passed"]);
    ws.run_line("run -p problems.jsonl -o refs.jsonl -q --format mbpp");
    assert_eq!(ws.runs("refs.jsonl")["Mbpp/7#reference"]["passed"], true);
}

/// Two problems in the layout of MBPP's sanitized release (`sanitized-mbpp.json`): one JSON
/// array, `prompt` for the description and `test_imports` run before the asserts (the
/// second reference does not import `math` itself).
const SANITIZED_MBPP: &str = r#"[
    {
        "source_file": "Benchmark Questions Verification V2.ipynb",
        "task_id": 2,
        "prompt": "Write a function to find the elements two lists share.",
        "code": "def shared(a, b):\n    return sorted(set(a) & set(b))",
        "test_imports": [],
        "test_list": [
            "assert shared([3, 4, 5], [5, 7, 4]) == [4, 5]",
            "assert shared([1], [2]) == []"
        ]
    },
    {
        "source_file": "Benchmark Questions Verification V2.ipynb",
        "task_id": 3,
        "prompt": "Write a function for the length of a right triangle's hypotenuse.",
        "code": "def hypotenuse(a, b):\n    return (a * a + b * b) ** 0.5",
        "test_imports": ["import math"],
        "test_list": [
            "assert math.isclose(hypotenuse(3, 4), 5)",
            "assert math.isclose(hypotenuse(5, 12), 13)"
        ]
    }
]
"#;

/// Runs the references of `problems`; returns the summary.
fn run_references(ws: &Workspace, problems: &str, output: &str) -> Json {
    let summary = format!("{output}.summary.json");
    ws.run_ok(&[
        "run",
        "-p",
        problems,
        "-o",
        output,
        "-q",
        "--summary-json",
        &summary,
    ]);
    serde_json::from_str(&std::fs::read_to_string(ws.path(&summary)).unwrap()).unwrap()
}

#[test]
fn sanitized_mbpp_array_and_lines_run_their_references() {
    let ws = Workspace::new();
    ws.write("sanitized-mbpp.json", SANITIZED_MBPP);
    let records: Vec<Json> = serde_json::from_str(SANITIZED_MBPP).unwrap();
    gzip(&ws, "sanitized-mbpp.jsonl.gz", &records);
    for (file, output) in [
        ("sanitized-mbpp.json", "array.jsonl"),
        ("sanitized-mbpp.jsonl.gz", "lines.jsonl"),
    ] {
        let summary = run_references(&ws, file, output);
        assert_eq!(
            (summary["samples"].as_u64(), summary["passed"].as_u64()),
            (Some(2), Some(2)),
            "{file}: {summary}"
        );
        let runs = ws.runs(output);
        assert_eq!(outcomes(&runs["Mbpp/2#reference"]), ["passed"; 2], "{file}");
        assert_eq!(outcomes(&runs["Mbpp/3#reference"]), ["passed"; 2], "{file}");
    }
}

#[test]
fn mbpp_samples_named_mbpp_n_or_n_match_the_problem_mbpp_n() {
    let ws = Workspace::new();
    ws.write("sanitized-mbpp.json", SANITIZED_MBPP);
    let shared = |body: &str| format!("def shared(a, b):\n    return {body}\n");
    ws.write_jsonl(
        "samples.jsonl",
        &[
            // LDB's naming, our sample layout.
            json!({"problem_id": "MBPP/2", "sample_id": "upper", "code": shared("sorted(set(a) & set(b))")}),
            // The bare number, as an integer `task_id` (HumanEval's sample layout).
            json!({"task_id": 2, "solution": shared("sorted(set(a) | set(b))")}),
            json!({"task_id": "3", "sample_id": "bare", "solution": "def hypotenuse(a, b):\n    return a + b\n"}),
        ],
    );
    // No --skip-unknown: every sample's problem is found.
    ws.run_line("run -p sanitized-mbpp.json -s samples.jsonl -o runs.jsonl -q");
    let runs = ws.runs("runs.jsonl");
    assert_eq!(runs["upper"]["problem_id"], "Mbpp/2");
    assert_eq!(outcomes(&runs["upper"]), ["passed"; 2]);
    // The sample's id is made from the problem's own id.
    assert_eq!(runs["Mbpp/2#1"]["problem_id"], "Mbpp/2");
    assert_eq!(outcomes(&runs["Mbpp/2#1"]), ["failed", "failed"]);
    assert_eq!(runs["bare"]["problem_id"], "Mbpp/3");
    assert_eq!(outcomes(&runs["bare"]), ["failed", "failed"]);
    // An MBPP id with no problem is still refused.
    ws.write_jsonl(
        "ghost.jsonl",
        &[json!({"problem_id": "MBPP/9", "sample_id": "g", "code": ""})],
    );
    let stderr = ws.run_err(&[
        "run",
        "-p",
        "sanitized-mbpp.json",
        "-s",
        "ghost.jsonl",
        "-o",
        "ghost-runs.jsonl",
        "-q",
    ]);
    assert!(stderr.contains("MBPP/9"), "{stderr}");
}

#[test]
fn sanitized_mbpp_errors_name_the_file_line_and_field() {
    let ws = Workspace::new();
    let broken = SANITIZED_MBPP.replace(
        r#""test_imports": ["import math"]"#,
        r#""test_imports": [7]"#,
    );
    ws.write("broken.json", &broken);
    let stderr = ws.run_err(&["run", "-p", "broken.json", "-o", "runs.jsonl", "-q"]);
    assert!(
        stderr.contains("broken.json:13: test_imports[0] must be a string, found a number"),
        "{stderr}"
    );
    ws.write("cut.json", &SANITIZED_MBPP[..SANITIZED_MBPP.len() - 20]);
    let stderr = ws.run_err(&["run", "-p", "cut.json", "-o", "runs.jsonl", "-q"]);
    assert!(
        stderr.contains("cut.json:") && stderr.contains("malformed JSON"),
        "{stderr}"
    );
}

#[test]
fn human_eval_solution_defining_the_function_is_the_whole_reference() {
    let ws = Workspace::new();
    // MBPP in HumanEval's layout: the prompt opens the function, the solution repeats it.
    let problem = json!({
        "task_id": "MBPP/3", "entry_point": "hypotenuse",
        "prompt": "import math\n\ndef hypotenuse(a, b):\n    \"\"\"The hypotenuse of a right triangle.\"\"\"\n",
        "canonical_solution": "def hypotenuse(a, b):\n    return math.sqrt(a * a + b * b)\n",
        "test": "def check(candidate):\n    assert candidate(3, 4) == 5\n    assert candidate(5, 12) == 13\n",
    });
    ws.write_jsonl("problems.jsonl", &[problem]);
    ws.run_line("run -p problems.jsonl -o refs.jsonl -q --trace coverage");
    let reference = &ws.runs("refs.jsonl")["MBPP/3#reference"];
    assert_eq!(outcomes(reference), ["passed"; 2]);
    // The reference is `import math` (kept from the prompt) and the solution: its `return` is
    // line 3, where prompt + solution would have it on line 6.
    for test in reference["tests"].as_array().unwrap() {
        assert_eq!(test["coverage"], json!([3]), "{reference}");
    }
}

#[test]
fn eval_plus_layout_uses_base_and_plus_inputs_and_atol() {
    let ws = Workspace::new();
    let problem = json!({
        "task_id": "Demo/1", "entry_point": "mean", "prompt": "def mean(xs):\n",
        "canonical_solution": "    return sum(xs) / len(xs)\n", "test": "def check(candidate):\n    pass\n",
        "base_input": [[[1.0, 2.0]], [[3.0]]], "plus_input": [[[10.0, 20.0, 3.5]]], "atol": 0.01,
    });
    ws.write_jsonl("problems.jsonl", &[problem]);
    let sample = |id: &str, body: &str| json!({"task_id": "Demo/1", "sample_id": id, "solution": format!("def mean(xs):\n{body}")});
    ws.write_jsonl(
        "samples.jsonl",
        &[
            sample("within_atol", "    return sum(xs) / len(xs) + 0.001\n"),
            sample("beyond_atol", "    return sum(xs) / len(xs) + 0.1\n"),
        ],
    );
    ws.run_line("run -p problems.jsonl -s samples.jsonl -o runs.jsonl -q");
    let runs = ws.runs("runs.jsonl");
    assert_eq!(outcomes(&runs["within_atol"]), ["passed"; 3]);
    assert_eq!(outcomes(&runs["beyond_atol"]), ["failed"; 3]);
    let names: Vec<_> = runs["within_atol"]["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, ["base_0", "base_1", "plus_0"]);
}

/// The real benchmark files, when this checkout sits beside `shared/`.
pub fn shared_data(name: &str) -> Option<std::path::PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(name);
    if path.exists() {
        Some(path)
    } else {
        println!(
            "skipped: {} is not present (it sits beside the repository in CI)",
            path.display()
        );
        None
    }
}

/// Runs a shared benchmark file's reference solutions; returns the summary, or `None` when
/// the file is absent.
fn self_check(name: &str) -> Option<Json> {
    let path = shared_data(name)?;
    let ws = Workspace::new();
    let args = [
        "run",
        "-p",
        path.to_str().unwrap(),
        "-o",
        "runs.jsonl",
        "-q",
    ];
    ws.run_ok(&[&args[..], &["--summary-json", "s.json"]].concat());
    let summary: Json =
        serde_json::from_str(&std::fs::read_to_string(ws.path("s.json")).unwrap()).unwrap();
    assert_eq!(
        (summary["samples"].as_u64(), summary["passed"].as_u64()),
        (Some(164), Some(164)),
        "{summary}"
    );
    Some(summary)
}

#[test]
fn human_eval_reference_solutions_all_pass() {
    self_check("HumanEval.jsonl.gz");
}

#[test]
fn human_eval_plus_reference_solutions_all_pass() {
    if let Some(summary) = self_check("HumanEvalPlus.jsonl.gz") {
        assert!(
            summary["tests"].as_u64().unwrap() > 100_000,
            "base and plus inputs: {summary}"
        );
    }
}
