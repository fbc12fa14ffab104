//! GRPO on execution prediction rows: the checker's verdict is the reward (judged by
//! running the answer), and a run on the tiny model writes its steps and adapter.

use std::ops::ControlFlow;

use tracealign_exec::resolve_python;
use tracealign_predict::{read_rows, Checker};
use tracealign_rl::grpo::{GrpoSettings, Task};
use tracealign_rl::prediction::{train_prediction_grpo, PredictionRun, PredictionTask};
use tracealign_rl::rollout::Candidate;
use tracealign_rl::Credit;
use tracealign_train::LoraConfig;

/// CRUXEval-shaped rows (`output` prediction).
const ROWS: &str = r#"{"id": "double", "code": "def f(x):\n    return x * 2\n", "input": "21", "output": "42"}
{"id": "pair", "code": "def f(s):\n    return (s[::-1], len(s))\n", "input": "'ab'", "output": "('ba', 2)"}
"#;

fn rows(dir: &std::path::Path) -> Vec<tracealign_predict::PredictRow> {
    let path = dir.join("rows.jsonl");
    std::fs::write(&path, ROWS).unwrap();
    read_rows(&path).unwrap()
}

fn candidate(completion: &str) -> Candidate {
    Candidate {
        problem_id: "double".into(),
        sample_id: "double#s0k0".into(),
        prompt: String::new(),
        completion: completion.into(),
        spans: vec![
            0..completion.len().min(1),
            completion.len().min(1)..completion.len(),
        ],
    }
}

#[test]
fn the_reward_is_the_checkers_verdict_on_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let rows = rows(dir.path());
    let checker = Checker::start(resolve_python(None).unwrap()).unwrap();
    let task = PredictionTask {
        rows: &rows,
        checker: &checker,
    };
    assert_eq!(task.items(), 2);
    assert_eq!(task.stops(0), ["\n\n"]);
    let candidates = [
        candidate(" 42\n"),
        candidate("42.0"),
        candidate("41"),
        candidate("__import__('os')._exit(0)"),
    ];
    let rollouts = task.score(0, &candidates, Credit::Sequence).unwrap();
    let rewards: Vec<f64> = rollouts.iter().map(|r| r.reward).collect();
    // The value by Python's `==` with its type: 42.0 is not the int 42.
    assert_eq!(rewards, [1.0, 0.0, 0.0, 0.0]);
    assert!(rollouts[0].passed && !rollouts[2].passed);
    assert!(rollouts
        .iter()
        .all(|r| r.tokens == 2 && r.divergence.is_none()));
    let pair = task
        .score(
            1,
            &[candidate("('ba', 2)"), candidate("('ab', 2)")],
            Credit::PassRatio,
        )
        .unwrap();
    assert_eq!((pair[0].reward, pair[1].reward), (1.0, 0.0));
}

#[test]
fn grpo_on_prediction_rows_writes_its_steps_and_adapter() {
    let model = tempfile::tempdir().unwrap();
    tracealign_train::tiny::write_tiny_model(model.path(), "llama").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rows = rows(dir.path());
    let lora = LoraConfig {
        rank: 4,
        alpha: 8.0,
        targets: vec!["q_proj".into(), "v_proj".into()],
        seed: 3,
    };
    let settings = GrpoSettings {
        steps: 2,
        prompts: 2,
        samples: 3,
        max_new_tokens: 6,
        lr: 1e-2,
        ..GrpoSettings::new(Credit::Sequence, lora)
    };
    let python = resolve_python(None).unwrap();
    let run = PredictionRun {
        model: model.path(),
        rows: &rows,
        python: &python,
        settings: &settings,
        threads: Some(1),
    };
    let out = dir.path().join("out");
    let summary =
        train_prediction_grpo(&run, &out, false, &mut |_| ControlFlow::Continue(())).unwrap();
    assert_eq!(summary.history.len(), 2);
    assert!(out.join("adapter_model.safetensors").exists());
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 2);
    for step in &summary.history {
        assert!((0.0..=1.0).contains(&step.reward), "{step:?}");
        assert!(step.tokens > 0, "{step:?}");
    }
}
