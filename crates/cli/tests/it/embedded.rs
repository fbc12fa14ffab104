//! The embedded default problem set: large enough, self-consistent, and its faulty samples
//! really are faulty.

use crate::workspace::{outcomes, Workspace};

#[test]
fn the_embedded_problem_set_is_complete_and_its_references_pass() {
    let problems = tracealign_core::embedded::problems();
    assert!(problems.len() >= 40, "{} problems", problems.len());
    assert!(problems
        .iter()
        .all(|p| p.tests.len() >= 5 && p.reference.starts_with(&p.prompt)));
    let samples = tracealign_core::embedded::samples().unwrap();
    for problem in &problems {
        let faulty = samples
            .iter()
            .filter(|s| s.problem_id == problem.id && !s.sample_id.ends_with("#ok1"))
            .count();
        assert!(faulty >= 2, "{} has {faulty} faulty samples", problem.id);
    }

    let ws = Workspace::new();
    ws.run_line("run -o runs.jsonl -q --summary-json summary.json");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["samples"], problems.len());
    assert_eq!(
        summary["passed"],
        problems.len(),
        "every reference passes its own tests"
    );
    for key in ["failed", "error", "timeout", "wall_s", "samples_per_s"] {
        assert!(summary.get(key).is_some(), "summary lacks {key}");
    }
}

#[test]
fn embedded_faulty_samples_fail_and_correct_ones_pass() {
    let ws = Workspace::new();
    let output = ws.run_line("run --samples embedded -o runs.jsonl -q");
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.contains("samples/s"), "{table}");
    let runs = ws.runs("runs.jsonl");
    assert_eq!(
        runs.len(),
        tracealign_core::embedded::samples().unwrap().len()
    );
    let mut kinds = std::collections::BTreeSet::new();
    for (id, execution) in &runs {
        let should_pass = id.ends_with("#ok1");
        assert_eq!(
            execution["passed"] == true,
            should_pass,
            "{id}: {execution}"
        );
        kinds.extend(outcomes(execution));
    }
    for kind in ["passed", "failed", "error", "timeout"] {
        assert!(
            kinds.contains(kind),
            "the samples exercise `{kind}`: {kinds:?}"
        );
    }
    let syntax_errors = runs
        .values()
        .filter(|e| e["status"]["kind"] == "syntax_error")
        .count();
    assert!(syntax_errors >= 4);
}
