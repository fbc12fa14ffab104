//! `tracealign experiment --quick` end to end with the trainer's tiny random model: every
//! stage's output has its shape (the repair study's and a set judging another's programs
//! included), and a second run reuses every stage.

use serde_json::{json, Value as Json};

use crate::workspace::{increment_problem, Workspace};

const ARMS: [&str; 4] = ["uniform_sft", "fait_sft", "dpo", "masked_dpo"];

fn problem(id: &str, prompt: &str, reference: &str, input: i64, expected: i64) -> Json {
    json!({
        "id": id, "language": "python", "prompt": prompt, "entry_point": "f",
        "reference": reference,
        "tests": [{"name": "t", "input": [input], "expected": expected}]
    })
}

/// Two problem sets of our own (training, evaluation) and a config for them.
fn setup(ws: &Workspace) {
    let mut increment = increment_problem();
    increment["id"] = json!("inc2");
    ws.write_jsonl(
        "train.jsonl",
        &[
            increment_problem(),
            problem("dbl", "def f(x):\n", "def f(x):\n    return 2 * x\n", 3, 6),
            problem("neg", "def f(x):\n", "def f(x):\n    return -x\n", 3, -3),
        ],
    );
    let square = problem("sq", "def f(x):\n", "def f(x):\n    return x * x\n", 3, 9);
    ws.write_jsonl("eval.jsonl", &[increment.clone(), square.clone()]);
    // The same prompts with one more test each, as HumanEval+ is to HumanEval.
    let more = |mut p: Json, input: i64, expected: i64| {
        let test = json!({"name": "more", "input": [input], "expected": expected});
        p["tests"].as_array_mut().unwrap().push(test);
        p
    };
    ws.write_jsonl(
        "eval_plus.jsonl",
        &[more(increment, 9, 10), more(square, 4, 16)],
    );
    tracealign_train::tiny::write_tiny_model(&ws.path("tiny"), "llama").unwrap();
    ws.write("exp.toml", CONFIG);
}

const CONFIG: &str = r#"
model = "tiny"

[training]
path = "train.jsonl"

[[eval_sets]]
name = "ours"
path = "eval.jsonl"
format = "tracealign"

[[eval_sets]]
name = "ours_plus"
path = "eval_plus.jsonl"
format = "tracealign"
programs_from = "ours"

[sampling]
n = 4
temperature = 0.8
max_tokens = 64

[train]
steps = 50
lr = 1e-3
rank = 4
alpha = 8.0
batch = 2
seed = 0
max_len = 512
threads = 1

[eval]
max_tokens = 64
pass_at_k = { k = 2, n = 3, temperature = 0.8 }

[[arms]]
name = "uniform_sft"
objective = "sft"
data = "uniform_sft"

[[arms]]
name = "fait_sft"
objective = "sft"
data = "fait_sft"

[[arms]]
name = "dpo"
objective = "dpo"
data = "dpo"

[[arms]]
name = "masked_dpo"
objective = "dpo"
data = "dpo"
mask_weight = 1.0

[[arms]]
name = "repair_sft"
objective = "sft"
data = "repair"

[repair]
eval_set = "ours"
styles = ["lines", "summary"]
budget = 256
fl_lines = 1
max_tokens = 16

[quick]
training_limit = 2
samples = 2
max_tokens = 12
steps = 2
mutants = 1
"#;

fn read_json(ws: &Workspace, name: &str) -> Json {
    let text = std::fs::read_to_string(ws.path(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_quick_experiment_writes_every_output_and_reuses_its_stages() {
    let ws = Workspace::new();
    setup(&ws);
    let args = [
        "experiment",
        "--config",
        "exp.toml",
        "--quick",
        "-o",
        "out",
        "-q",
    ];
    ws.run_ok(&args);

    // --quick kept the first two training problems, sampled twice each.
    let samples = std::fs::read_to_string(ws.path("out/sample/samples.jsonl")).unwrap();
    assert_eq!(samples.lines().count(), 4);
    let runs = std::fs::read_to_string(ws.path("out/runs/runs.jsonl")).unwrap();
    assert_eq!(runs.lines().count(), 4 + 2, "samples and references");
    assert!(ws.path("out/faults/faults.jsonl").exists());
    for data in ["fait_sft", "uniform_sft", "dpo", "repair"] {
        let rows = std::fs::read_to_string(ws.path(&format!("out/data/{data}.jsonl"))).unwrap();
        assert!(rows.lines().count() > 0, "{data} has rows");
    }
    let leave_alone = std::fs::read_to_string(ws.path("out/data/repair.jsonl")).unwrap();
    assert!(
        leave_alone.contains("\"representation\":\"unchanged\""),
        "leave-alone rows"
    );
    for arm in ARMS.iter().chain(&["repair_sft"]) {
        for file in ["adapter_config.json", "adapter_model.safetensors"] {
            assert!(
                ws.path(&format!("out/train/{arm}/{file}")).exists(),
                "{arm}/{file}"
            );
        }
    }
    let results = read_json(&ws, "out/results.json");
    let rows = results["rows"].as_array().unwrap();
    let arms: Vec<&str> = rows.iter().map(|r| r["arm"].as_str().unwrap()).collect();
    let models = ["base", "uniform_sft", "fait_sft", "dpo", "masked_dpo"];
    assert_eq!(arms, [models, models].concat());
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["eval_set"], ["ours", "ours_plus"][i / 5]);
        assert_eq!(row["problems"], 2);
        let pass_at_1 = row["pass_at_1"]["mean"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&pass_at_1));
        assert_eq!(row["pass_at_k"]["k"], 2);
        // Each arm is compared with the base model on the same problems.
        let paired = &row["vs_base"];
        assert_eq!(paired.is_null(), row["arm"] == "base", "{row}");
        if !paired.is_null() {
            let counted = paired["won"].as_u64().unwrap() + paired["lost"].as_u64().unwrap();
            assert!(counted <= 2);
        }
        assert_eq!(row["pass_at_k"]["n"], 3);
    }
    for arm in ARMS {
        let curve = results["curves"][arm].as_array().unwrap();
        assert_eq!(curve.len(), 2, "{arm}: one point per step");
        assert!(curve[0]["loss"].as_f64().unwrap().is_finite());
    }
    // ours_plus judged ours' programs (same ids, same code) with its own tests.
    for model in models {
        let read = |set: &str| {
            let path = format!("out/eval/{set}/{model}/greedy/runs.jsonl");
            let text = std::fs::read_to_string(ws.path(&path)).unwrap();
            let runs: Vec<Json> = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            let mut runs: Vec<_> = runs
                .iter()
                .map(|r| {
                    let tests = r["tests"].as_array().unwrap().len();
                    (r["sample_id"].to_string(), r["code"].to_string(), tests)
                })
                .collect();
            runs.sort();
            runs
        };
        let (ours, plus) = (read("ours"), read("ours_plus"));
        assert_eq!(ours.len(), plus.len(), "{model}");
        for (o, p) in ours.iter().zip(&plus) {
            assert_eq!((&o.0, &o.1), (&p.0, &p.1), "{model}: the same programs");
            assert_eq!(p.2, o.2 + 1, "{model}: one more test");
        }
    }
    // The repair study: every failing base program, once per condition, judged.
    let failing = read_json(&ws, "out/eval/ours/base/greedy/eval.json")["category_kinds"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(kind, _)| kind.as_str() != "passed")
        .map(|(_, n)| n.as_u64().unwrap())
        .sum::<u64>();
    let conditions = [
        "feedback",
        "trace-lines",
        "trace-summary",
        "fl-markers",
        "feedback@repair_sft",
    ];
    let repair = results["repair"].as_array().unwrap();
    let named: Vec<&str> = repair
        .iter()
        .map(|r| r["condition"].as_str().unwrap())
        .collect();
    assert_eq!(named, conditions);
    for (row, condition) in repair.iter().zip(conditions) {
        assert_eq!(row["programs"].as_u64(), Some(failing), "{condition}");
        let prompts =
            std::fs::read_to_string(ws.path(&format!("out/repair/{condition}/prompts.jsonl")))
                .unwrap();
        assert_eq!(prompts.lines().count() as u64, failing, "{condition}");
        let repaired = row["repaired"]["mean"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&repaired), "{condition}");
    }
    let html = std::fs::read_to_string(ws.path("out/results.html")).unwrap();
    assert_eq!(html.matches("<polyline").count(), ARMS.len() + 1);
    assert!(html.contains("<td>trace-summary</td>"));
    let table = std::fs::read_to_string(ws.path("out/results.md")).unwrap();
    // Header and 10 rows; a blank line, the repair table's title, a blank line, its header
    // and 5 rows.
    assert_eq!(table.lines().count(), 2 + 10 + 3 + 2 + 5);

    let again = ws.run_ok(&args);
    let log = String::from_utf8_lossy(&again.stderr);
    let ran: Vec<&str> = log.lines().filter(|l| l.contains(" done in ")).collect();
    assert!(
        ran.is_empty(),
        "every stage is reused, but these ran: {ran:?}"
    );
    // sample, runs, faults; four data sets; five arms; two sets × five models (not the repair
    // adapter) × greedy and sampled; the repair study's runs, faults and five conditions.
    assert_eq!(
        log.matches("up to date").count(),
        3 + 4 + 5 + 2 * 5 * 2 + 2 + 5
    );

    // A new training budget retrains every arm and evaluates the adapters again; the base
    // model's samples, runs, faults, data and evaluations stay.
    ws.write("exp.toml", &CONFIG.replace("steps = 2", "steps = 1"));
    let changed = ws.run_ok(&args);
    let log = String::from_utf8_lossy(&changed.stderr);
    let ran: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" done in "))
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    let mut expected: Vec<String> = ARMS.iter().map(|a| format!("train/{a}")).collect();
    expected.push("train/repair_sft".into());
    expected.push("repair/feedback@repair_sft".into());
    for arm in ARMS {
        for set in ["ours", "ours_plus"] {
            expected.push(format!("eval/{set}/{arm}/greedy"));
            expected.push(format!("eval/{set}/{arm}/sampled"));
        }
    }
    expected.sort();
    let mut ran: Vec<String> = ran.into_iter().map(String::from).collect();
    ran.sort();
    assert_eq!(ran, expected);
    let results = read_json(&ws, "out/results.json");
    assert_eq!(results["curves"]["dpo"].as_array().unwrap().len(), 1);
}

/// `traced_sft` (uniform SFT rows interleaved with execution-prediction rows) against
/// `uniform_sft`, and every model's output prediction on an eval set's traced references.
const TRACED_CONFIG: &str = r#"
model = "tiny"

[training]
path = "train.jsonl"

[[eval_sets]]
name = "ours"
path = "eval.jsonl"
format = "tracealign"

[sampling]
n = 2
temperature = 0.8
max_tokens = 12

[train]
steps = 2
lr = 1e-3
rank = 4
alpha = 8.0
batch = 2
seed = 0
max_len = 512
threads = 1

[eval]
max_tokens = 12

[prediction]
eval_set = "ours"
max_tokens = 8

[[arms]]
name = "uniform_sft"
objective = "sft"
data = "uniform_sft"

[[arms]]
name = "traced_sft"
objective = "sft"
data = "traced_sft"
"#;

#[test]
fn traced_sft_is_compared_with_uniform_sft_on_programs_and_output_prediction() {
    let ws = Workspace::new();
    setup(&ws);
    ws.write("traced.toml", TRACED_CONFIG);
    ws.run_ok(&["experiment", "--config", "traced.toml", "-o", "out", "-q"]);
    let lines = |name: &str| -> Vec<Json> {
        let text = std::fs::read_to_string(ws.path(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let uniform = lines("out/data/uniform_sft.jsonl");
    let traced = lines("out/data/traced_sft.jsonl");
    // Every uniform row, each followed by a prediction row while they last.
    let predictions: Vec<&Json> = traced.iter().filter(|r| r.get("kind").is_some()).collect();
    assert_eq!(traced.len() - predictions.len(), uniform.len());
    assert!(!predictions.is_empty() && predictions.len() <= uniform.len());
    assert_eq!(traced[0]["completion"], uniform[0]["completion"]);
    assert!(traced[1].get("kind").is_some(), "{}", traced[1]);
    // One output row per problem of the eval set, from its traced references.
    let rows = lines("out/prediction/rows/rows.jsonl");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r["kind"] == "output"));
    for model in ["base", "uniform_sft", "traced_sft"] {
        let answers = lines(&format!("out/prediction/{model}/answers.jsonl"));
        assert_eq!(answers.len(), 2, "{model}");
        assert!(answers.iter().all(|a| a["correct"].is_boolean()));
    }
    let results = read_json(&ws, "out/results.json");
    let rows = results["rows"].as_array().unwrap();
    let named: Vec<(&str, &str)> = (rows.iter())
        .map(|r| (r["eval_set"].as_str().unwrap(), r["arm"].as_str().unwrap()))
        .collect();
    let sets = ["ours", "ours output prediction"];
    let expected: Vec<(&str, &str)> = (sets.iter())
        .flat_map(|&s| ["base", "uniform_sft", "traced_sft"].map(|m| (s, m)))
        .collect();
    assert_eq!(named, expected);
    for row in rows {
        let against = &row["vs_arm"];
        match row["arm"].as_str() {
            Some("traced_sft") => assert_eq!(against[0], "uniform_sft", "{row}"),
            _ => assert!(against.is_null(), "{row}"),
        }
    }
    let table = std::fs::read_to_string(ws.path("out/results.md")).unwrap();
    assert!(
        table.contains("| ours output prediction | traced_sft | uniform_sft |"),
        "{table}"
    );
}
