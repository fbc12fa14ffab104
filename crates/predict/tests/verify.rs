//! Rows built from real traced runs, re-verified by a fresh execution of each call, and
//! answers judged the way the checker judges a model's.

use std::path::Path;

use tracealign_core::formats::problems::parse_problems;
use tracealign_core::{Execution, Problem, Sample};
use tracealign_exec::{resolve_python, ExecConfig, Executor, TraceMode};
use tracealign_predict::rows::{build_rows, PredictOptions, Task};
use tracealign_predict::Checker;

const PROBLEMS: &str = r#"[
{"id": "t/total", "language": "python", "prompt": "def total(xs):\n", "entry_point": "total",
 "reference": "def total(xs):\n    s = 0\n    for x in xs:\n        s = s + x\n    return s\n",
 "tests": [{"name": "t1", "input": [[1, 2, 3]], "expected": 6}, {"name": "t2", "input": [[4]], "expected": 4}]},
{"id": "t/words", "language": "python", "prompt": "def words(text, n=2):\n", "entry_point": "words",
 "reference": "def words(text, n=2):\n    seen = set()\n    out = []\n    for w in text.split():\n        if len(w) >= n and w not in seen:\n            seen.add(w)\n            out.append(w.upper())\n    return out, len(seen) > 1\n",
 "tests": [{"name": "t1", "input": ["a bb cc bb"], "expected": [["BB", "CC"], true]}]},
{"id": "t/splat", "language": "python", "prompt": "def splat(*xs):\n", "entry_point": "splat",
 "reference": "def splat(*xs):\n    return len(xs)\n",
 "tests": [{"name": "t1", "input": [1, 2], "expected": 2}]}
]"#;

fn executions(problems: &[Problem], samples: &[Sample]) -> Vec<Execution> {
    let mut config = ExecConfig::new(resolve_python(None).unwrap());
    config.workers = 1;
    config.trace = TraceMode::Full;
    let executor = Executor::start(config).unwrap();
    let prepared = executor.prepare(problems, None, |_| {}).unwrap();
    let mut out = Vec::new();
    executor.run(&prepared, samples, |e| out.push(e));
    out.sort_by(|a, b| a.sample_id.cmp(&b.sample_id));
    out
}

#[test]
fn every_row_is_reverified_by_a_fresh_execution_and_wrong_answers_are_judged_wrong() {
    let problems = parse_problems(Path::new("t"), PROBLEMS, None).unwrap();
    let mut samples: Vec<Sample> = problems.iter().map(Sample::reference).collect();
    // A failing program: the rows say what it does (skips the first item), not what it should.
    samples.push(Sample {
        problem_id: "t/total".into(),
        sample_id: "buggy".into(),
        code: "def total(xs):\n    s = 0\n    for x in xs[1:]:\n        s = s + x\n    return s\n"
            .into(),
        model: None,
        mutation: None,
    });
    let runs = executions(&problems, &samples);
    let rows = build_rows(&problems, &runs, &PredictOptions::default());
    let count = |task| rows.iter().filter(|r| r.kind == task).count();
    // total: 2 tests x 2 programs, cut to 4 per kind; words: 1; splat: none (*xs).
    assert_eq!(
        (count(Task::Output), count(Task::Path), count(Task::State)),
        (5, 5, 5),
        "{rows:#?}"
    );
    assert_eq!(
        (count(Task::Input), count(Task::StateCategory)),
        (5, 5),
        "{rows:#?}"
    );
    assert!(rows.iter().all(|r| r.problem_id != "t/splat"));
    let buggy = rows
        .iter()
        .find(|r| r.sample_id == "buggy" && r.kind == Task::Output)
        .unwrap();
    assert!(buggy.from_failing);
    assert_eq!(
        (buggy.args.as_str(), buggy.completion.as_str()),
        ("[1, 2, 3]", "5")
    );
    let words = rows
        .iter()
        .find(|r| r.problem_id == "t/words" && r.kind == Task::Output)
        .unwrap();
    assert_eq!(words.args, "'a bb cc bb', 2");
    assert_eq!(words.completion, "(['BB', 'CC'], True)");
    let path = (rows.iter())
        .find(|r| r.problem_id == "t/total" && r.kind == Task::Path && !r.from_failing)
        .unwrap();
    assert_eq!(path.completion, "2, [3, 4] × 3, 3, 5");

    let checker = Checker::start(resolve_python(None).unwrap()).unwrap();
    for row in &rows {
        let fresh = checker
            .fresh(row)
            .unwrap()
            .unwrap_or_else(|| panic!("no fresh row for {}", row.id));
        let judged = checker.judge(row, &fresh.completion).unwrap();
        assert!(
            judged.correct && judged.credit == 1.0,
            "{}: {} vs {}",
            row.id,
            row.completion,
            fresh.completion
        );
    }
    // Python's semantics, not text: another spelling of the same value is right; `1` is not
    // `True`; a fenced answer is read inside its fence; an unparsable one is wrong.
    let judge = |answer: &str| checker.judge(words, answer).unwrap().correct;
    assert!(judge("( [ 'BB', \"CC\" ], True )"));
    assert!(judge("```python\n(['BB', 'CC'], True)\n```"));
    assert!(!judge("(['BB', 'CC'], 1)"));
    assert!(!judge("(['BB', 'CC'],"));
    assert!(!judge("__import__('os').system('true')"));
    // An answer that would print a verdict and leave before the real one runs nothing.
    assert!(!judge("print('[true]') or __import__('os')._exit(0)"));
    assert!(!judge("(['BB', 'CC'], True) if print('[true]') else 0"));
    let partial = checker.judge(path, "2, 3, 4, 3").unwrap();
    assert!(
        !partial.correct && (partial.credit - 4.0 / 9.0).abs() < 1e-9,
        "{partial:?}"
    );
    // A rationale row: the trace step by step, then the value; judged on its `Answer:` line.
    let rationale = (rows.iter())
        .find(|r| r.kind == Task::Rationale && !r.from_failing && r.problem_id == "t/total")
        .unwrap();
    assert!(
        rationale.completion.ends_with("\nAnswer: 6"),
        "{}",
        rationale.completion
    );
    assert!(
        checker
            .judge(rationale, "s grows to 6\nAnswer: 6")
            .unwrap()
            .correct
    );
    assert!(!checker.judge(rationale, "Answer: 5").unwrap().correct);
    assert_eq!(count(Task::Rationale), count(Task::Output));
    let state = rows
        .iter()
        .find(|r| r.problem_id == "t/total" && r.kind == Task::State)
        .unwrap();
    let wrong_one = state.completion.replacen("s = ", "s = 99 + ", 1);
    let judged = checker.judge(state, &wrong_one).unwrap();
    assert!(
        !judged.correct && judged.credit > 0.0 && judged.credit < 1.0,
        "{}: {judged:?}",
        state.completion
    );

    // The same question in value categories: the kind of each value, judged as text.
    let category = (rows.iter())
        .find(|r| r.problem_id == "t/words" && r.kind == Task::StateCategory)
        .unwrap();
    assert!(
        category.completion.contains("seen = empty set")
            || category.completion.contains("seen = set"),
        "{}",
        category.completion
    );
    assert!(
        category.completion.contains("text = string"),
        "{}",
        category.completion
    );
    let wrong = category
        .completion
        .replace("text = string", "text = empty string");
    let judged = checker.judge(category, &wrong).unwrap();
    assert!(!judged.correct && judged.credit > 0.0, "{judged:?}");
}

/// `input` rows: any arguments that make the program return the value are right, judged by
/// running them as a sample's test; answers that try to print or forge a verdict are wrong.
#[test]
fn input_answers_are_judged_by_running_them() {
    let problems = parse_problems(Path::new("t"), PROBLEMS, None).unwrap();
    let samples: Vec<Sample> = problems.iter().map(Sample::reference).collect();
    let runs = executions(&problems, &samples);
    let rows = build_rows(&problems, &runs, &PredictOptions::default());
    let total = (rows.iter())
        .find(|r| r.problem_id == "t/total" && r.kind == Task::Input && r.test == "t1")
        .unwrap();
    assert_eq!(total.completion, "[1, 2, 3]");
    assert!(total.prompt.contains("returns `6`"), "{}", total.prompt);
    let checker = Checker::start(resolve_python(None).unwrap()).unwrap();
    let judge = |answer: &str| checker.judge(total, answer).unwrap().correct;
    assert!(judge("[1, 2, 3]"));
    assert!(judge("[6]"), "another right answer");
    assert!(judge("xs=[2, 4]"), "keywords too");
    assert!(judge("`[3, 3]`"));
    // CRUXEval-I's test is `f(input) == output`: Python's `==`, so 6.0 returns 6.
    assert!(judge("[6.0]"));
    assert!(!judge("[5]"));
    assert!(!judge("[1, 2"));
    // Attempts to fake the result from inside the answer's own process.
    assert!(!judge(
        "[print('{\"r\": \"ok\", \"i\": 0}') or 6, __import__('os')._exit(0)]"
    ));
    assert!(!judge("[__import__('sys').exit(0)]"));
    assert!(!judge(
        "__import__('builtins').__dict__.update(sum=lambda *a: 6) or [0]"
    ));
    // An expression that rewrites the function instead of finding an input is no answer.
    assert!(!judge(
        "(setattr(candidate, '__code__', (lambda xs: 6).__code__), [0])[1]"
    ));
    assert!(!judge("[f'{6}']"));
    assert!(judge("[-1, 7]"), "a negative literal");
}
