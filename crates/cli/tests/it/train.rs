//! `tracealign train` on the trainer's tiny random model: what a resumed run leaves in its
//! metrics file.

use serde_json::{json, Value as Json};

use crate::workspace::Workspace;

fn steps(ws: &Workspace) -> Vec<(u64, f64)> {
    let text = std::fs::read_to_string(ws.path("out/metrics.jsonl")).unwrap();
    text.lines()
        .map(|line| {
            let step: Json = serde_json::from_str(line).unwrap();
            (
                step["step"].as_u64().unwrap(),
                step["loss"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// A run killed after its checkpoint left lines for steps it will repeat: resuming replaces
/// them, so the learning curve has each step once.
#[test]
fn a_resumed_training_run_has_one_metrics_line_per_step() {
    let ws = Workspace::new();
    tracealign_train::tiny::write_tiny_model(&ws.path("tiny"), "llama").unwrap();
    let rows: Vec<Json> = (0..4)
        .map(|i| json!({"prompt": format!("def f{i}(x):\n"), "completion": "    return x\n"}))
        .collect();
    ws.write_jsonl("rows.jsonl", &rows);
    let train = |steps: &str, resume: bool| {
        let mut args = vec![
            "train",
            "--model",
            "tiny",
            "--data",
            "rows.jsonl",
            "--objective",
            "sft",
            "--steps",
            steps,
            "--save-every",
            "2",
            "--batch-size",
            "2",
            "--threads",
            "1",
            "-o",
            "out",
            "-q",
        ];
        if resume {
            args.push("--resume");
        }
        ws.run_ok(&args);
    };
    train("4", false);
    let whole = steps(&ws);
    assert_eq!(whole.iter().map(|s| s.0).collect::<Vec<_>>(), [1, 2, 3, 4]);

    // The checkpoint of a 2-step run, and the lines a killed run wrote after it.
    std::fs::remove_dir_all(ws.path("out")).unwrap();
    train("2", false);
    let mut metrics = std::fs::read_to_string(ws.path("out/metrics.jsonl")).unwrap();
    metrics.push_str("{\"step\":3,\"loss\":9.0}\n{\"step\":4,\"loss\":9.0}\n{\"step\":5,\"lo");
    std::fs::write(ws.path("out/metrics.jsonl"), metrics).unwrap();
    train("4", true);
    let resumed = steps(&ws);
    assert_eq!(
        resumed.iter().map(|s| s.0).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert!(
        resumed.iter().all(|s| s.1 != 9.0),
        "the killed run's lines are gone"
    );
}

/// GRPO from the command line on the tiny model and a real problem: a metrics line per step
/// with the signal shares and the time split, the adapter written; bad combinations refused.
#[test]
fn grpo_trains_online_and_refuses_what_it_cannot_use() {
    let ws = Workspace::new();
    tracealign_train::tiny::write_tiny_model(&ws.path("tiny"), "llama").unwrap();
    ws.write_jsonl("problems.jsonl", &[crate::workspace::increment_problem()]);
    let base = [
        "train",
        "--objective",
        "grpo",
        "--model",
        "tiny",
        "--threads",
        "1",
        "-o",
        "out",
    ];
    let with =
        |extra: &[&'static str]| -> Vec<&str> { base.iter().chain(extra).copied().collect() };
    let error = ws.run_err(&with(&[]));
    assert!(error.contains("--problems"), "{error}");
    let error = ws.run_err(&with(&["-p", "problems.jsonl", "--data", "rows.jsonl"]));
    assert!(error.contains("--data is for sft and dpo"), "{error}");
    ws.run_ok(&with(&[
        "-p",
        "problems.jsonl",
        "--credit",
        "fault",
        "--steps",
        "2",
        "--prompts",
        "1",
        "--samples",
        "2",
        "--max-tokens",
        "8",
        "-q",
        "--no-cache",
    ]));
    let text = std::fs::read_to_string(ws.path("out/metrics.jsonl")).unwrap();
    let steps: Vec<Json> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(steps.len(), 2);
    for key in [
        "reward",
        "signal_groups",
        "signal_tokens",
        "kl",
        "seconds_sampling",
        "seconds_execution",
        "seconds_update",
    ] {
        assert!(steps[0][key].is_number(), "{key}: {}", steps[0]);
    }
    assert!(ws.path("out/adapter_model.safetensors").exists());
    // A finished run is not overwritten without --force or --resume.
    let error = ws.run_err(&with(&["-p", "problems.jsonl", "--steps", "2", "-q"]));
    assert!(
        error.contains("--force") || error.contains("--resume"),
        "{error}"
    );
    // Execution prediction rows instead of problems: each answer judged by running it.
    let crux = serde_json::json!({"id": "c0", "code": "def f(x):\n    return x * 2\n", "input": "21", "output": "42"});
    ws.write_jsonl("crux.jsonl", &[crux]);
    let error = ws.run_err(&with(&["-p", "problems.jsonl", "--rows", "crux.jsonl"]));
    assert!(error.contains("cannot be used with"), "{error}");
    let rows = [
        "--rows",
        "crux.jsonl",
        "--credit",
        "sequence",
        "--steps",
        "1",
        "--samples",
        "2",
        "--max-tokens",
        "4",
        "-q",
        "--force",
    ];
    ws.run_ok(&with(&rows));
    let text = std::fs::read_to_string(ws.path("out/metrics.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
}
