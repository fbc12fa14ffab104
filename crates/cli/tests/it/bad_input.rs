//! Bad input gets a clear error naming file, line and field, and never a panic.

use serde_json::json;

use crate::workspace::{increment_problem, sample, Workspace};

#[test]
fn malformed_json_names_the_file_and_line() {
    let ws = Workspace::new();
    let good = increment_problem().to_string();
    ws.write(
        "problems.jsonl",
        &format!("{good}\n\n{{\"id\": \"broken\",\n"),
    );
    let stderr = ws.run_err(&["run", "-p", "problems.jsonl", "-o", "runs.jsonl"]);
    assert!(
        stderr.contains("problems.jsonl:3: malformed JSON"),
        "{stderr}"
    );
}

#[test]
fn a_wrongly_typed_field_is_named() {
    let ws = Workspace::new();
    let mut problem = increment_problem();
    problem["tests"][1]["code"] = json!(42);
    ws.write_jsonl("problems.jsonl", &[problem]);
    let stderr = ws.run_err(&["run", "-p", "problems.jsonl", "-o", "runs.jsonl"]);
    assert!(
        stderr.contains("problems.jsonl:1: tests[1].code must be a string, found a number"),
        "{stderr}"
    );
}

#[test]
fn empty_files_say_what_was_expected() {
    let ws = Workspace::new();
    ws.write("problems.jsonl", "\n");
    let stderr = ws.run_err(&["run", "-p", "problems.jsonl", "-o", "runs.jsonl"]);
    assert!(
        stderr.contains("the file is empty; expected JSON Lines with one problem per line"),
        "{stderr}"
    );
}

#[test]
fn unknown_formats_suggest_the_format_flag() {
    let ws = Workspace::new();
    ws.write_jsonl("problems.jsonl", &[json!({"question": "?"})]);
    let stderr = ws.run_err(&["run", "-p", "problems.jsonl", "-o", "runs.jsonl"]);
    assert!(
        stderr.contains("cannot tell the format of this record (keys: question)"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: pass --format"), "{stderr}");
}

#[test]
fn unknown_problem_ids_are_listed_up_to_five() {
    let ws = Workspace::new();
    ws.write_jsonl("problems.jsonl", &[increment_problem()]);
    let mut samples = vec![sample("good", "def f(x):\n    return x + 1\n")];
    for n in 0..7 {
        samples.push(
            json!({"problem_id": format!("ghost{n}"), "sample_id": format!("g{n}"), "code": ""}),
        );
    }
    ws.write_jsonl("samples.jsonl", &samples);
    let stderr = ws.run_err(&[
        "run",
        "-p",
        "problems.jsonl",
        "-s",
        "samples.jsonl",
        "-o",
        "runs.jsonl",
    ]);
    assert!(
        stderr
            .contains("7 sample(s) in samples.jsonl name problems that are not in the problem set"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`ghost4` (line 6)") && !stderr.contains("ghost5"),
        "{stderr}"
    );
    assert!(stderr.contains("and 2 more"), "{stderr}");
    assert!(
        !ws.path("runs.jsonl").exists(),
        "nothing is written when the input is refused"
    );

    let output =
        ws.run_line("run -p problems.jsonl -s samples.jsonl -o runs.jsonl --skip-unknown -q");
    assert!(String::from_utf8_lossy(&output.stderr).contains("skipping them"));
    assert_eq!(ws.runs("runs.jsonl").len(), 1);
}

#[test]
fn duplicate_sample_ids_are_refused() {
    let ws = Workspace::new();
    ws.write_jsonl("problems.jsonl", &[increment_problem()]);
    ws.write_jsonl(
        "samples.jsonl",
        &[sample("same", "x = 1\n"), sample("same", "x = 2\n")],
    );
    let stderr = ws.run_err(&[
        "run",
        "-p",
        "problems.jsonl",
        "-s",
        "samples.jsonl",
        "-o",
        "runs.jsonl",
    ]);
    assert!(
        stderr.contains("samples.jsonl:2: duplicate sample id `same` (first seen on line 1)"),
        "{stderr}"
    );
}

#[test]
fn missing_files_are_named() {
    let ws = Workspace::new();
    let stderr = ws.run_err(&["run", "-p", "nowhere.jsonl", "-o", "runs.jsonl"]);
    assert!(stderr.contains("cannot read nowhere.jsonl"), "{stderr}");
}
