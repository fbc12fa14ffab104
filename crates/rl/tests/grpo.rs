//! GRPO end to end on the crate's tiny random model and real executions: steps run, their
//! metrics are written, and a run stopped after a step and resumed continues at the same
//! step with the same metrics as one that was never stopped.

use std::ops::ControlFlow;
use std::path::Path;

use tracealign_core::formats::problems::parse_problems;
use tracealign_exec::resolve_python;
use tracealign_pipeline::ExecSettings;
use tracealign_rl::grpo::{train_grpo, GrpoRun, GrpoSettings, GrpoStep};
use tracealign_rl::Credit;
use tracealign_train::LoraConfig;

const PROBLEMS: &str = r#"[
{"id": "t/add", "language": "python", "prompt": "def add(a, b):\n", "entry_point": "add",
 "reference": "def add(a, b):\n    return a + b\n",
 "tests": [{"name": "t1", "input": [1, 2], "expected": 3}, {"name": "t2", "input": [0, 0], "expected": 0}]},
{"id": "t/sub", "language": "python", "prompt": "def sub(a, b):\n", "entry_point": "sub",
 "reference": "def sub(a, b):\n    return a - b\n",
 "tests": [{"name": "t1", "input": [3, 2], "expected": 1}]}
]"#;

fn settings(credit: Credit) -> GrpoSettings {
    let lora = LoraConfig {
        rank: 4,
        alpha: 8.0,
        targets: vec!["q_proj".into(), "v_proj".into()],
        seed: 3,
    };
    GrpoSettings {
        steps: 2,
        prompts: 2,
        samples: 3,
        max_new_tokens: 12,
        lr: 1e-2,
        ..GrpoSettings::new(credit, lora)
    }
}

fn run(
    model: &Path,
    credit: Credit,
    out: &Path,
    resume: bool,
    stop_after: Option<usize>,
) -> Vec<GrpoStep> {
    let problems = parse_problems(Path::new("t"), PROBLEMS, None).unwrap();
    let mut exec = ExecSettings::new(resolve_python(None).unwrap());
    exec.config.workers = 1;
    exec.cache_dir = None;
    let settings = settings(credit);
    let run = GrpoRun {
        model,
        problems: &problems,
        exec: &exec,
        settings: &settings,
        threads: Some(1),
    };
    let summary = train_grpo(
        &run,
        out,
        resume,
        &mut |step| match Some(step.step) == stop_after {
            true => ControlFlow::Break(()),
            false => ControlFlow::Continue(()),
        },
    )
    .unwrap();
    summary.history
}

#[test]
fn a_stopped_run_resumes_at_the_same_step_with_the_same_metrics() {
    let model = tempfile::tempdir().unwrap();
    tracealign_train::tiny::write_tiny_model(model.path(), "llama").unwrap();
    let whole = tempfile::tempdir().unwrap();
    let uninterrupted = run(model.path(), Credit::Fault, whole.path(), false, None);
    assert_eq!(uninterrupted.len(), 2);
    assert!(whole.path().join("adapter_model.safetensors").exists());
    let lines = std::fs::read_to_string(whole.path().join("metrics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 2);

    let stopped = tempfile::tempdir().unwrap();
    let first = run(model.path(), Credit::Fault, stopped.path(), false, Some(1));
    assert_eq!(first.len(), 1);
    assert!(!stopped.path().join("adapter_model.safetensors").exists());
    let resumed = run(model.path(), Credit::Fault, stopped.path(), true, None);
    assert_eq!(resumed.len(), 2);
    let comparable = |s: &GrpoStep| {
        (
            s.step,
            s.reward,
            s.passed,
            s.signal_groups,
            s.signal_tokens,
            s.trained,
            s.tokens,
            s.lr,
        )
    };
    for (a, b) in uninterrupted.iter().zip(&resumed) {
        assert_eq!(comparable(a), comparable(b));
        assert!((a.loss - b.loss).abs() < 1e-4, "{} vs {}", a.loss, b.loss);
    }
    // The tiny model writes noise: every sample fails. Binary rewards are all equal, so
    // plain GRPO has nothing to learn, while the fault report still points at lines.
    assert!(uninterrupted.iter().all(|s| s.passed == 0.0));
    let binary = run(
        model.path(),
        Credit::Sequence,
        tempfile::tempdir().unwrap().path(),
        false,
        None,
    );
    assert!(
        binary
            .iter()
            .all(|s| s.signal_groups == 0.0 && s.trained == 0),
        "{binary:?}"
    );
    assert!(
        uninterrupted
            .iter()
            .any(|s| s.signal_groups > 0.0 && s.trained > 0),
        "{uninterrupted:?}"
    );
}
