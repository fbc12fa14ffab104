//! Evaluate a handful of completions and localize the faults of the failing ones through the
//! library alone: no command line, no files. This is the round trip a reward service or a
//! Python binding makes for a batch of model samples.
//!
//! ```sh
//! cargo run -p tracealign-pipeline --example evaluate_and_localize
//! ```

use tracealign_core::{Args, Language, Problem, Sample, TestCase, TestKind, Value};
use tracealign_exec::{resolve_python, TraceMode};
use tracealign_localize::Method;
use tracealign_pipeline::{
    evaluate, localize, ExecSettings, LocalizeSettings, NoProgress, Workers,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let problem = running_max();
    let completions = [
        ("right", "def running_max(xs):\n    out, best = [], None\n    for x in xs:\n        best = x if best is None or x > best else best\n        out.append(best)\n    return out\n"),
        ("starts_at_zero", "def running_max(xs):\n    out, best = [], 0\n    for x in xs:\n        best = x if x > best else best\n        out.append(best)\n    return out\n"),
        ("keeps_minimum", "def running_max(xs):\n    out, best = [], None\n    for x in xs:\n        best = x if best is None or x < best else best\n        out.append(best)\n    return out\n"),
    ];
    let samples: Vec<Sample> = completions
        .iter()
        .map(|(id, code)| Sample {
            problem_id: problem.id.clone(),
            sample_id: id.to_string(),
            code: code.to_string(),
            model: Some("example".into()),
            mutation: None,
        })
        .collect();

    // Evaluate, traced in full (the evidence localization reads).
    let mut exec = ExecSettings::new(resolve_python(None)?);
    exec.cache_dir = None;
    exec.config.workers = 2;
    let workers = Workers {
        settings: &exec,
        progress: &NoProgress,
    };
    let executor = workers.start(TraceMode::Full)?;
    let problems = vec![problem];
    let prepared = workers.prepare(&executor, &problems)?;
    let mut executions = Vec::new();
    evaluate(
        &executor,
        &prepared,
        &samples,
        "samples",
        &NoProgress,
        |e| executions.push(e),
    );
    executions.sort_by(|a, b| a.sample_id.cmp(&b.sample_id));
    for execution in &executions {
        let passed = execution
            .tests
            .iter()
            .filter(|t| t.outcome.is_passed())
            .count();
        println!(
            "{:<16} {}/{} tests passed",
            execution.sample_id,
            passed,
            execution.tests.len()
        );
    }

    // Localize: a fault report per execution (empty for the passing one).
    let settings = LocalizeSettings {
        method: Method::Combined,
        mutation_budget: 10,
        exec,
    };
    for report in localize(&settings, &problems, &executions, &NoProgress)? {
        let Some(top) = report.lines.first().filter(|_| !report.passed) else {
            continue;
        };
        let line = report.code.lines().nth(top.line as usize - 1).unwrap_or("");
        println!(
            "{:<16} most suspicious: line {} ({:.2}) `{}`",
            report.sample_id,
            top.line,
            top.score,
            line.trim()
        );
    }
    Ok(())
}

/// The running maximum of a list, with tests the way a dataset states them.
fn running_max() -> Problem {
    let call = |name: &str, args: &str, expected: Vec<i64>| TestCase {
        name: name.into(),
        kind: TestKind::Call {
            args: Args::Json(args.into()),
            expected: Some(Value::List(
                expected.into_iter().map(|v| Value::Int(v.into())).collect(),
            )),
        },
    };
    Problem {
        id: "running_max".into(),
        language: Language::Python,
        prompt: "def running_max(xs):\n".into(),
        entry_point: "running_max".into(),
        reference: "def running_max(xs):\n    out = []\n    for x in xs:\n        out.append(x if not out else max(out[-1], x))\n    return out\n".into(),
        tests: vec![
            call("rising", "[[1, 2, 3]]", vec![1, 2, 3]),
            call("negative", "[[-3, -1, -2]]", vec![-3, -1, -1]),
            call("dip", "[[2, 1, 3, 0]]", vec![2, 2, 3, 3]),
            TestCase {
                name: "empty".into(),
                kind: TestKind::Code {
                    code: "assert running_max([]) == []".into(),
                },
            },
        ],
        atol: None,
    }
}
