//! Snapshots of what people read first: every subcommand's `--help`, and the errors that bad
//! input gets (the test's directory written as `[DIR]`).

use serde_json::json;

use crate::workspace::{increment_problem, Workspace};

const SUBCOMMANDS: &[&[&str]] = &[
    &[],
    &["pipeline"],
    &["run"],
    &["trace"],
    &["mutate"],
    &["localize"],
    &["show"],
    &["build", "sft"],
    &["build", "dpo"],
    &["build", "repair"],
    &["build", "rewards"],
    &["bench", "localize"],
    &["bench", "suite"],
    &["eval"],
    &["report"],
    &["train"],
    &["generate"],
    &["experiment"],
    &["serve"],
];

#[test]
fn every_subcommand_explains_itself() {
    let ws = Workspace::new();
    for command in SUBCOMMANDS {
        let mut args = command.to_vec();
        args.push("--help");
        // Help shows the environment's values of flags that read one: none are set here.
        let mut run = ws.command();
        for name in ["TRACEALIGN_CACHE", "TRACEALIGN_JOBS", "TRACEALIGN_PYTHON"] {
            run.env_remove(name);
        }
        let output = run.args(&args).output().unwrap();
        assert!(output.status.success(), "{args:?}");
        let name = match command.is_empty() {
            true => "tracealign".to_string(),
            false => command.join("_"),
        };
        let text = String::from_utf8_lossy(&output.stdout).to_string();
        insta::assert_snapshot!(format!("help_{name}"), text);
    }
}

/// Stderr of a failing command, the test directory written as `[DIR]`.
fn error_of(ws: &Workspace, args: &[&str]) -> String {
    let stderr = ws.run_err(args);
    let dir = ws.dir.path().to_str().unwrap();
    stderr.replace(dir, "[DIR]")
}

#[test]
fn bad_input_errors_name_the_file_line_and_field() {
    let ws = Workspace::new();
    let good = increment_problem().to_string();
    ws.write("broken.jsonl", &format!("{good}\n{{\"id\": \"x\",\n"));
    let mut typed = increment_problem();
    typed["tests"][1]["code"] = json!(42);
    ws.write_jsonl("typed.jsonl", &[typed]);
    ws.write_jsonl("unknown.jsonl", &[json!({"question": "?"})]);
    ws.write_jsonl("problems.jsonl", &[increment_problem()]);
    ws.write_jsonl(
        "stray.jsonl",
        &[json!({"problem_id": "nope", "sample_id": "s", "code": "x = 1\n"})],
    );
    ws.write("runs.jsonl", "{}\n");
    ws.write("held.jsonl", "something\n");
    std::fs::create_dir(ws.path("empty")).unwrap();
    let cases: &[(&str, &[&str])] = &[
        (
            "malformed_json",
            &["run", "-p", "broken.jsonl", "-o", "r.jsonl"],
        ),
        ("wrong_type", &["run", "-p", "typed.jsonl", "-o", "r.jsonl"]),
        (
            "unknown_format",
            &["run", "-p", "unknown.jsonl", "-o", "r.jsonl"],
        ),
        (
            "missing_file",
            &["run", "-p", "absent.jsonl", "-o", "r.jsonl"],
        ),
        (
            "unknown_problem",
            &[
                "run",
                "-p",
                "problems.jsonl",
                "-s",
                "stray.jsonl",
                "-o",
                "r.jsonl",
            ],
        ),
        (
            "not_a_runs_file",
            &["localize", "runs.jsonl", "-o", "f.jsonl"],
        ),
        (
            "output_exists",
            &["run", "-p", "problems.jsonl", "-o", "held.jsonl"],
        ),
        (
            "build_output_exists",
            &["build", "sft", "--runs", "runs.jsonl", "-o", "held.jsonl"],
        ),
        ("report_of_no_directory", &["report", "empty"]),
    ];
    for (name, args) in cases {
        insta::assert_snapshot!(format!("error_{name}"), error_of(&ws, args));
    }
}

/// What the main commands print, on a small problem (timings and the test's directory
/// filtered): the run table, the evaluation, localization, each builder's summary and the
/// pipeline's.
#[test]
fn the_main_commands_print_their_summaries() {
    let ws = Workspace::new();
    ws.write_jsonl("problems.jsonl", &[increment_problem()]);
    ws.write_jsonl(
        "samples.jsonl",
        &[
            crate::workspace::sample("ok", "def f(x):\n    return x + 1\n"),
            crate::workspace::sample("wrong", "def f(x):\n    return x + 2\n"),
        ],
    );
    let steps: &[(&str, &[&str])] = &[
        (
            "run",
            &[
                "run",
                "-p",
                "problems.jsonl",
                "-s",
                "samples.jsonl",
                "--trace",
                "full",
                "-q",
            ],
        ),
        (
            "localize",
            &["localize", "runs.jsonl", "-p", "problems.jsonl", "-q"],
        ),
        (
            "build_sft",
            &[
                "build",
                "sft",
                "-p",
                "problems.jsonl",
                "--runs",
                "runs.jsonl",
                "--faults",
                "faults.jsonl",
                "-o",
                "sft.jsonl",
                "--mutants",
                "0",
            ],
        ),
        (
            "build_dpo",
            &[
                "build",
                "dpo",
                "-p",
                "problems.jsonl",
                "--runs",
                "runs.jsonl",
                "--faults",
                "faults.jsonl",
                "-o",
                "dpo.jsonl",
            ],
        ),
        (
            "eval",
            &[
                "eval",
                "-p",
                "problems.jsonl",
                "--runs",
                "runs.jsonl",
                "-k",
                "1",
                "-o",
                "ev",
                "-q",
            ],
        ),
        (
            "pipeline",
            &[
                "pipeline",
                "-p",
                "problems.jsonl",
                "-s",
                "samples.jsonl",
                "--mutants-per-problem",
                "1",
                "-o",
                "pipe",
                "-q",
            ],
        ),
    ];
    let dir = ws.dir.path().to_str().unwrap().to_string();
    for (name, args) in steps {
        let output = ws.run_ok(args);
        let text = String::from_utf8_lossy(&output.stdout).replace(&dir, "[DIR]");
        insta::assert_snapshot!(format!("stdout_{name}"), without_timings(&text));
    }
}

/// Lines that carry timings, reduced to their label.
fn without_timings(text: &str) -> String {
    text.lines()
        .map(|line| {
            let timed = ["wall time", "samples/s", "finished in", "done in"];
            match timed.iter().find(|label| line.contains(*label)) {
                Some(label) => format!("{label} [timing]"),
                None => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
