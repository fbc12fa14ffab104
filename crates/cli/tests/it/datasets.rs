//! `tracealign build sft|dpo|repair|rewards|traced` on real executions (`run --trace full`, then
//! `localize`), without and with a byte-level BPE tokenizer trained in-process, and the
//! files loaded by Hugging Face `datasets` (tests/python/check_datasets.py).

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value as Json};
use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{
    AddedToken, DecoderWrapper, NormalizerWrapper, PostProcessorWrapper, PreTokenizerWrapper,
    Tokenizer, TokenizerBuilder,
};

use crate::workspace::Workspace;

const PROMPT: &str =
    "def total_positive(xs):\n    \"\"\"Sum of the positive numbers in xs — résumé.\"\"\"\n";

/// A program of the `sum` problem: the prompt, then a body with the given condition and
/// update (the body has a multibyte character before either).
fn body(condition: &str, update: &str) -> String {
    format!(
        "{PROMPT}    total = 0  # café\n    for x in xs:\n        if {condition}:\n            {update}\n    return total\n"
    )
}

/// `(sample id, program)`: the reference, one other passing program, four failing ones.
fn samples() -> Vec<(&'static str, String)> {
    vec![
        ("sum#reference", body("x > 0", "total += x")),
        ("ok", body("x >= 1", "total += x")),
        ("boundary", body("x > 1", "total += x")),
        ("overwrite", body("x > 0", "total = x")),
        ("crash", body("x > 0", "total += xs[x]")),
        (
            "syntax",
            format!("{PROMPT}    total = = 0\n    return total\n"),
        ),
        ("inc#reference", INC.to_string()),
    ]
}

const INC: &str = "def inc(x):\n    y = x + 1\n    return y\n";

/// Problems, samples, `runs.jsonl` (full traces) and `faults.jsonl`.
fn setup(ws: &Workspace) {
    let tests: Vec<Json> = [
        ("[[1, 2, 3]]", 6),
        ("[[-1, 5]]", 5),
        ("[[]]", 0),
        ("[[0, 0]]", 0),
        ("[[4, -4, 4]]", 8),
    ]
    .iter()
    .enumerate()
    .map(|(i, (input, expected))| {
        json!({"name": format!("t{i}"), "input": serde_json::from_str::<Json>(input).unwrap(),
                   "expected": expected})
    })
    .collect();
    ws.write_jsonl(
        "problems.jsonl",
        &[
            json!({"id": "sum", "prompt": PROMPT, "entry_point": "total_positive",
                   "reference": body("x > 0", "total += x"), "tests": tests}),
            json!({"id": "inc", "prompt": "def inc(x):\n", "entry_point": "inc", "reference": INC,
                   "tests": [{"name": "a", "code": "assert inc(1) == 2"},
                             {"name": "b", "code": "assert inc(-3) == -2"}]}),
        ],
    );
    let rows: Vec<Json> = samples()
        .into_iter()
        .map(|(id, code)| {
            let problem = if id.starts_with("inc") { "inc" } else { "sum" };
            json!({"problem_id": problem, "sample_id": id, "code": code})
        })
        .collect();
    ws.write_jsonl("samples.jsonl", &rows);
    ws.run_line("run -p problems.jsonl -s samples.jsonl --trace full -q");
    ws.run_line("localize runs.jsonl -p problems.jsonl -o faults.jsonl -q");
}

/// A byte-level BPE (offsets untrimmed, as GPT-2's) trained on the programs, saved in the
/// workspace.
fn tokenizer(ws: &Workspace) -> (PathBuf, Tokenizer) {
    let corpus: Vec<String> = samples().into_iter().map(|(_, code)| code).collect();
    let mut tokenizer = TokenizerBuilder::<
        BPE,
        NormalizerWrapper,
        PreTokenizerWrapper,
        PostProcessorWrapper,
        DecoderWrapper,
    >::new()
    .with_model(BPE::default())
    .with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(false).into()))
    .with_post_processor(Some(ByteLevel::default().trim_offsets(false).into()))
    .with_decoder(Some(ByteLevel::default().into()))
    .build()
    .unwrap();
    let mut trainer = BpeTrainerBuilder::new()
        .show_progress(false)
        .vocab_size(400)
        .min_frequency(1)
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .special_tokens(vec![AddedToken::from("<|endoftext|>", true)])
        .build();
    tokenizer.train(&mut trainer, corpus.iter()).unwrap();
    let path = ws.path("tokenizer.json");
    tokenizer.save(&path, false).unwrap();
    (path.clone(), Tokenizer::from_file(&path).unwrap())
}

fn read_jsonl(path: &Path) -> Vec<Json> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn build(ws: &Workspace, kind: &str, output: &str, extra: &[&str]) -> (Vec<Json>, String) {
    let mut args = vec![
        "build",
        kind,
        "-p",
        "problems.jsonl",
        "--runs",
        "runs.jsonl",
        "-o",
        output,
        // Tests build into the same file more than once.
        "--force",
    ];
    args.extend_from_slice(extra);
    let out = ws.run_ok(&args);
    (
        read_jsonl(&ws.path(output)),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

fn find<'a>(rows: &'a [Json], key: &str, value: &str) -> &'a Json {
    rows.iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no row with {key} = {value}"))
}

fn floats(value: &Json) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// The characters of `text` whose value satisfies `keep`, in order.
fn chars_where(text: &str, values: &[f64], keep: impl Fn(f64) -> bool) -> String {
    assert_eq!(
        text.chars().count(),
        values.len(),
        "one value per character"
    );
    text.chars()
        .zip(values)
        .filter(|(_, &v)| keep(v))
        .map(|(c, _)| c)
        .collect()
}

/// Character spans of the completion's tokens, by the tokenizer itself.
fn token_spans(tokenizer: &Tokenizer, text: &str) -> Vec<Range<usize>> {
    let encoding = tokenizer.encode_char_offsets(text, false).unwrap();
    encoding.get_offsets().iter().map(|&(s, e)| s..e).collect()
}

/// Per token of `text`: whether it covers a character the per-character `values` set.
fn tokens_touching(tokenizer: &Tokenizer, text: &str, values: &[f64]) -> Vec<bool> {
    token_spans(tokenizer, text)
        .into_iter()
        .map(|span| span.into_iter().any(|c| values[c] != 0.0))
        .collect()
}

#[test]
fn sft_weights_land_on_exactly_the_changed_tokens() {
    let ws = Workspace::new();
    setup(&ws);
    let (rows, summary) = build(&ws, "sft", "sft.jsonl", &[]);
    assert_eq!(rows.len(), 3, "one row per passing program");
    assert!(summary.contains("3 SFT rows"), "{summary}");
    // `ok` (`x >= 1`, `+=`) differs from the similar failing programs (`x > 1`, `x > 0`, `=`,
    // `xs[x]`) in `>=`, `1` and `+=`; the syntax error is too different to count.
    let ok = find(&rows, "sample_id", "ok");
    let completion = ok["completion"].as_str().unwrap();
    assert_eq!(
        format!("{PROMPT}{completion}"),
        body("x >= 1", "total += x")
    );
    assert_eq!(ok["contrast"], "failing");
    assert_eq!(
        ok["contrast_ids"],
        json!(["boundary", "crash", "overwrite"])
    );
    assert_eq!(ok["sensitive_lines"], json!([5, 6]));
    let weights = floats(&ok["weights"]);
    assert_eq!(chars_where(completion, &weights, |w| w == 2.0), ">=1+=");
    assert_eq!(
        chars_where(completion, &weights, |w| w == 1.5),
        "if x  :total  x"
    );
    assert!(weights.iter().all(|&w| [1.0, 1.5, 2.0].contains(&w)));
    // No failing program for `inc`: its killed mutants stand in.
    let inc = find(&rows, "sample_id", "inc#reference");
    assert_eq!(inc["contrast"], "mutants");
    assert!(!inc["contrast_ids"].as_array().unwrap().is_empty());

    // With a tokenizer: the tokens weighted 2 are exactly those covering `>=`, `1`, `+=`.
    let (path, tokenizer) = tokenizer(&ws);
    let (rows, summary) = build(
        &ws,
        "sft",
        "sft_tokens.jsonl",
        &[
            "--tokenizer",
            path.to_str().unwrap(),
            "--eos-token",
            "<|endoftext|>",
        ],
    );
    assert!(summary.contains("completion tokens"), "{summary}");
    let ok = find(&rows, "sample_id", "ok");
    let ids: Vec<u64> = ok["input_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let labels: Vec<i64> = ok["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let token_weights = floats(&ok["weights"]);
    assert_eq!(token_weights.len(), ids.len());
    assert_eq!(labels.len(), ids.len());
    let prompt_ids = tokenizer.encode(PROMPT, true).unwrap().get_ids().to_vec();
    let completion_ids = tokenizer
        .encode(completion, false)
        .unwrap()
        .get_ids()
        .to_vec();
    let eos = tokenizer.token_to_id("<|endoftext|>").unwrap();
    let expected: Vec<u64> = prompt_ids
        .iter()
        .chain(&completion_ids)
        .chain([&eos])
        .map(|&id| u64::from(id))
        .collect();
    assert_eq!(
        ids, expected,
        "prompt and completion encoded apart, then EOS"
    );
    let p = prompt_ids.len();
    assert!(labels[..p].iter().all(|&l| l == -100));
    assert!(token_weights[..p].iter().all(|&w| w == 0.0));
    assert_eq!(
        labels[p..].iter().map(|&l| l as u64).collect::<Vec<_>>(),
        ids[p..]
    );
    let sensitive: Vec<f64> = weights
        .iter()
        .map(|&w| if w == 2.0 { 1.0 } else { 0.0 })
        .collect();
    let touching = tokens_touching(&tokenizer, completion, &sensitive);
    let heavy: Vec<bool> = token_weights[p..p + completion_ids.len()]
        .iter()
        .map(|&w| w == 2.0)
        .collect();
    assert_eq!(heavy, touching);
    assert!(heavy.iter().any(|&h| h));
    assert_eq!(
        *token_weights.last().unwrap(),
        1.0,
        "EOS is trained with weight 1"
    );

    // --normalize: the trained weights average 1.
    let (rows, _) = build(
        &ws,
        "sft",
        "sft_normalized.jsonl",
        &["--tokenizer", path.to_str().unwrap(), "--normalize"],
    );
    for row in &rows {
        let weights = floats(&row["weights"]);
        let labels = row["labels"].as_array().unwrap();
        let trained: Vec<f64> = weights
            .iter()
            .zip(labels)
            .filter(|(_, l)| l.as_i64() != Some(-100))
            .map(|(&w, _)| w)
            .collect();
        let mean = trained.iter().sum::<f64>() / trained.len() as f64;
        assert!(
            (mean - 1.0).abs() < 1e-9,
            "{}: mean {mean}",
            row["sample_id"]
        );
    }
}

#[test]
fn dpo_masks_cover_the_differing_span() {
    let ws = Workspace::new();
    setup(&ws);
    let (rows, _) = build(
        &ws,
        "dpo",
        "dpo.jsonl",
        &["--faults", "faults.jsonl", "--pairing", "all"],
    );
    assert_eq!(rows.len(), 2 * 4, "two passing × four failing programs");
    let pair = |chosen: &str, rejected: &str| -> &Json {
        rows.iter()
            .find(|r| r["chosen_id"] == chosen && r["rejected_id"] == rejected)
            .unwrap()
    };
    let masked = |row: &Json, side: &str, mask: &str| {
        chars_where(row[side].as_str().unwrap(), &floats(&row[mask]), |v| {
            v == 1.0
        })
    };
    let boundary = pair("sum#reference", "boundary");
    assert_eq!(boundary["prompt"], PROMPT);
    assert_eq!(masked(boundary, "chosen", "chosen_diff_mask"), "0");
    assert_eq!(masked(boundary, "rejected", "rejected_diff_mask"), "1");
    assert_eq!(boundary["distance"], 2);
    let overwrite = pair("sum#reference", "overwrite");
    assert_eq!(masked(overwrite, "chosen", "chosen_diff_mask"), "+=");
    assert_eq!(masked(overwrite, "rejected", "rejected_diff_mask"), "=");
    // The fault mask covers the rejected program's most suspicious line.
    let reports = read_jsonl(&ws.path("faults.jsonl"));
    let report = reports
        .iter()
        .find(|r| r["sample_id"] == "boundary")
        .unwrap();
    let top = report["lines"][0]["line"].as_u64().unwrap() as usize;
    let program = body("x > 1", "total += x");
    let top_line = program.lines().nth(top - 1).unwrap().trim();
    assert_eq!(
        masked(boundary, "rejected", "rejected_fault_mask"),
        top_line
    );

    // Tokens: masks per token of chosen_input_ids / rejected_input_ids.
    let (path, tokenizer) = tokenizer(&ws);
    let (rows, _) = build(
        &ws,
        "dpo",
        "dpo_tokens.jsonl",
        &[
            "--faults",
            "faults.jsonl",
            "--tokenizer",
            path.to_str().unwrap(),
        ],
    );
    assert_eq!(rows.len(), 4, "nearest: one pair per failing program");
    for row in &rows {
        for side in ["chosen", "rejected"] {
            let text = row[side].as_str().unwrap();
            let mask = floats(&row[format!("{side}_diff_mask")]);
            assert_eq!(
                mask.len(),
                row[format!("{side}_input_ids")].as_array().unwrap().len()
            );
            // The character mask of the same pair, from the untokenized build.
            let chars = build_char_mask(&ws, row, side);
            let expected: Vec<f64> = tokens_touching(&tokenizer, text, &chars)
                .into_iter()
                .map(|t| f64::from(u8::from(t)))
                .collect();
            assert_eq!(
                mask, expected,
                "{side} of {} / {}",
                row["chosen_id"], row["rejected_id"]
            );
        }
    }
    // random: at most K pairs per problem, the same for the same seed.
    let args = ["--pairing", "random", "--max-pairs", "3", "--seed", "5"];
    let (first, _) = build(&ws, "dpo", "r1.jsonl", &args);
    let (second, _) = build(&ws, "dpo", "r2.jsonl", &args);
    assert_eq!(first.len(), 3);
    assert_eq!(first, second);
}

/// The character diff mask of a tokenized row's pair, from an untokenized `--pairing all`
/// build of the same runs.
fn build_char_mask(ws: &Workspace, row: &Json, side: &str) -> Vec<f64> {
    if !ws.path("dpo_all_chars.jsonl").exists() {
        build(ws, "dpo", "dpo_all_chars.jsonl", &["--pairing", "all"]);
    }
    let rows = read_jsonl(&ws.path("dpo_all_chars.jsonl"));
    let same = rows
        .iter()
        .find(|r| r["chosen_id"] == row["chosen_id"] && r["rejected_id"] == row["rejected_id"])
        .unwrap();
    floats(&same[format!("{side}_diff_mask")])
}

#[test]
fn repair_prompts_respect_the_budget() {
    let ws = Workspace::new();
    setup(&ws);
    let (rows, summary) = build(&ws, "repair", "repair.jsonl", &[]);
    assert_eq!(
        rows.len(),
        4 * 3,
        "four failing programs, three representations"
    );
    assert!(summary.contains("markers 4, cloze 4, trace 4"), "{summary}");
    let of = |sample: &str, representation: &str| -> &Json {
        rows.iter()
            .find(|r| r["sample_id"] == sample && r["representation"] == representation)
            .unwrap()
    };
    let cloze = of("boundary", "cloze");
    assert_eq!(cloze["completion"], "        if x >= 1:\n");
    assert_eq!(cloze["buggy_lines"], json!([5]));
    let markers = of("boundary", "markers");
    assert_eq!(markers["completion"], markers["fixed"]);
    let trace = of("boundary", "trace");
    assert_eq!(trace["trace_style"], "lines");
    insta::assert_snapshot!("repair_markers", markers["prompt"].as_str().unwrap());
    insta::assert_snapshot!("repair_cloze", cloze["prompt"].as_str().unwrap());
    insta::assert_snapshot!("repair_trace", trace["prompt"].as_str().unwrap());
    assert_eq!(
        of("syntax", "trace")["trace_style"],
        Json::Null,
        "nothing ran: no trace"
    );

    // Counted with the model's tokenizer, every trace prompt fits its budget.
    let (path, tokenizer) = tokenizer(&ws);
    let count = |text: &str| tokenizer.encode(text, false).unwrap().get_ids().len();
    let mut lengths = Vec::new();
    for budget in [400, 250] {
        let (rows, summary) = build(
            &ws,
            "repair",
            "repair_tokens.jsonl",
            &[
                "--tokenizer",
                path.to_str().unwrap(),
                "--repr",
                "trace",
                "--budget",
                &budget.to_string(),
            ],
        );
        assert_eq!(rows.len(), 4, "{summary}");
        for row in &rows {
            let prompt = row["prompt"].as_str().unwrap();
            assert!(
                count(prompt) <= budget,
                "{} tokens over {budget}:\n{prompt}",
                count(prompt)
            );
            assert_eq!(row["prompt_tokens"], count(prompt));
            let n = row["input_ids"].as_array().unwrap().len();
            assert_eq!(row["labels"].as_array().unwrap().len(), n);
        }
        let with_trace = find(&rows, "sample_id", "boundary");
        assert_eq!(
            with_trace["trace_style"], "lines",
            "a shrunk trace still fits at {budget}"
        );
        lengths.push(count(with_trace["prompt"].as_str().unwrap()));
    }
    assert!(
        lengths[1] < lengths[0],
        "a smaller budget, a shorter trace: {lengths:?}"
    );
    // A budget the program alone exceeds leaves the prompt out, and says so.
    let (rows, summary) = build(
        &ws,
        "repair",
        "repair_tiny.jsonl",
        &[
            "--tokenizer",
            path.to_str().unwrap(),
            "--repr",
            "trace",
            "--budget",
            "20",
        ],
    );
    assert!(rows.is_empty());
    assert!(
        summary.contains("4 over the 20-token budget left out"),
        "{summary}"
    );
}

#[test]
fn study_representations_show_feedback_or_the_localized_lines_but_not_the_fix() {
    let ws = Workspace::new();
    setup(&ws);
    let extra = ["--repr", "feedback,fl-markers", "--faults", "faults.jsonl"];
    let (rows, summary) = build(&ws, "repair", "repair.jsonl", &extra);
    assert!(summary.contains("feedback 4, fl-markers 4"), "{summary}");
    let faults = read_jsonl(&ws.path("faults.jsonl"));
    for row in &rows {
        let prompt = row["prompt"].as_str().unwrap();
        assert!(prompt.contains("### Feedback\ntest "), "{prompt}");
        assert!(!prompt.contains("call "), "no trace: {prompt}");
        assert_eq!(row["completion"], row["fixed"]);
        let markers = prompt.matches("# buggy code start").count();
        if row["representation"] == "feedback" {
            assert_eq!(markers, 0, "{prompt}");
            continue;
        }
        // The marked line is the report's most suspicious one.
        let report = find(&faults, "sample_id", row["sample_id"].as_str().unwrap());
        let top = report["lines"][0]["line"].as_u64().unwrap() as usize;
        let code = report["code"].as_str().unwrap();
        let line = code.lines().nth(top - 1).unwrap();
        assert!(markers >= 1, "{prompt}");
        assert!(
            prompt.contains(&format!("# buggy code start\n{line}\n")),
            "{prompt}"
        );
    }
    let error = ws.run_err(&[
        "build",
        "repair",
        "-p",
        "problems.jsonl",
        "--runs",
        "runs.jsonl",
        "-o",
        "r.jsonl",
        "--repr",
        "fl-markers",
    ]);
    assert!(error.contains("hint: pass them with --faults"), "{error}");
}

#[test]
fn leave_alone_rows_keep_every_passing_program_as_it_is() {
    let ws = Workspace::new();
    setup(&ws);
    let (rows, summary) = build(
        &ws,
        "repair",
        "repair.jsonl",
        &["--repr", "markers", "--leave-alone"],
    );
    let unchanged: Vec<&Json> = rows
        .iter()
        .filter(|r| r["representation"] == "unchanged")
        .collect();
    // The passing programs of the runs: `ok` and the two references.
    let mut ids: Vec<&str> = unchanged
        .iter()
        .map(|r| r["sample_id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["inc#reference", "ok", "sum#reference"]);
    assert!(
        summary.contains("passing programs left alone (unchanged rows): 3"),
        "{summary}"
    );
    for row in unchanged {
        assert_eq!(row["completion"], row["fixed"]);
        assert_eq!(row["fix_id"], row["sample_id"]);
        assert_eq!(row["buggy_lines"], json!([]));
        let prompt = row["prompt"].as_str().unwrap();
        let tests = if row["problem_id"] == "inc" { 2 } else { 5 };
        assert!(
            prompt.contains(&format!("### Feedback\nAll {tests} tests pass.\n")),
            "{prompt}"
        );
        assert!(
            prompt.contains(row["completion"].as_str().unwrap()),
            "{prompt}"
        );
    }
    assert_eq!(
        rows.len(),
        4 + 3,
        "four markers rows and three unchanged ones"
    );
}

#[test]
fn rewards_follow_their_schemes() {
    let ws = Workspace::new();
    setup(&ws);
    let (rows, summary) = build(
        &ws,
        "rewards",
        "rewards.jsonl",
        &["--faults", "faults.jsonl"],
    );
    assert_eq!(rows.len(), 7 * 7, "seven programs, seven schemes");
    assert!(summary.contains("fault_penalty"), "{summary}");
    let reward = |sample: &str, scheme: &str| -> &Json {
        rows.iter()
            .find(|r| r["sample_id"] == sample && r["scheme"] == scheme)
            .unwrap()
    };
    for (sample, rltf) in [
        ("ok", 1.0),
        ("boundary", -0.3),
        ("crash", -0.6),
        ("syntax", -1.0),
    ] {
        assert_eq!(reward(sample, "rltf")["reward"], rltf, "{sample}");
    }
    assert_eq!(reward("ok", "binary")["reward"], 1.0);
    assert_eq!(reward("crash", "binary")["reward"], 0.0);
    let ratio = reward("crash", "pass_ratio")["reward"].as_f64().unwrap();
    let adaptive = reward("crash", "adaptive")["reward"].as_f64().unwrap();
    assert!((adaptive - (-0.3 + 1.3 * ratio)).abs() < 1e-12);
    // RLTF's error line: the line that raised, penalized by the coarse reward.
    let error = reward("crash", "error_line");
    assert_eq!(error["reward"], Json::Null);
    let completion = error["completion"].as_str().unwrap();
    let values = floats(&error["token_rewards"]);
    assert_eq!(
        chars_where(completion, &values, |v| v == -0.6),
        "total += xs[x]"
    );
    assert_eq!(
        chars_where(completion, &values, |v| v != 0.0),
        "total += xs[x]"
    );
    let lines = floats(&error["line_rewards"]);
    assert_eq!(lines[5], -0.6, "line 6 of the program");
    // Fault penalty: the most suspicious line gets -1.
    let penalty = floats(&reward("boundary", "fault_penalty")["line_rewards"]);
    assert_eq!(penalty.iter().copied().fold(0.0, f64::min), -1.0);
    assert!(floats(&reward("ok", "fault_penalty")["line_rewards"])
        .iter()
        .all(|&v| v == 0.0));
    // FAIT: a passing program earns where it differs, a failing one pays.
    assert!(floats(&reward("ok", "fait")["token_rewards"]).contains(&1.0));
    assert!(floats(&reward("boundary", "fait")["token_rewards"]).contains(&-1.0));

    // With a tokenizer, dense rewards follow input_ids.
    let (path, _) = tokenizer(&ws);
    let (rows, _) = build(
        &ws,
        "rewards",
        "rewards_tokens.jsonl",
        &[
            "--tokenizer",
            path.to_str().unwrap(),
            "--scheme",
            "error_line,rltf",
        ],
    );
    assert_eq!(rows.len(), 7 * 2);
    let schemes: BTreeSet<&str> = rows.iter().map(|r| r["scheme"].as_str().unwrap()).collect();
    assert_eq!(schemes, BTreeSet::from(["error_line", "rltf"]));
    for row in &rows {
        let n = row["input_ids"].as_array().unwrap().len();
        let dense = row["token_rewards"].as_array().unwrap().len();
        assert_eq!(dense, if row["scheme"] == "rltf" { 0 } else { n });
    }
    let missing = ws.run_err(&[
        "build",
        "rewards",
        "-p",
        "problems.jsonl",
        "--runs",
        "runs.jsonl",
        "-o",
        "x.jsonl",
        "--scheme",
        "fault_penalty",
    ]);
    assert!(
        missing.contains("fault_penalty") && missing.contains("--faults"),
        "{missing}"
    );
}

#[test]
fn build_reports_bad_input_clearly() {
    let ws = Workspace::new();
    setup(&ws);
    let base = ["-p", "problems.jsonl", "-o", "out.jsonl"];
    let missing = ws.run_err(&[&["build", "sft", "--runs", "nope.jsonl"][..], &base].concat());
    assert!(missing.contains("nope.jsonl"), "{missing}");
    // A fault report about another program than the one that ran.
    let mut reports = read_jsonl(&ws.path("faults.jsonl"));
    reports[2]["code"] = json!("def other(): pass\n");
    ws.write_jsonl("stale.jsonl", &reports);
    let stale = ws.run_err(
        &[
            &[
                "build",
                "dpo",
                "--runs",
                "runs.jsonl",
                "--faults",
                "stale.jsonl",
            ][..],
            &base,
        ]
        .concat(),
    );
    assert!(
        stale.contains("stale.jsonl:3") && stale.contains("localize"),
        "{stale}"
    );
    let random = ws.run_err(
        &[
            &[
                "build",
                "dpo",
                "--runs",
                "runs.jsonl",
                "--pairing",
                "random",
            ][..],
            &base,
        ]
        .concat(),
    );
    assert!(random.contains("--max-pairs"), "{random}");
    let (path, _) = tokenizer(&ws);
    let eos = ws.run_err(
        &[
            &["build", "sft", "--runs", "runs.jsonl", "--no-run-mutants"][..],
            &["--tokenizer", path.to_str().unwrap(), "--eos-token", "</s>"],
            &base,
        ]
        .concat(),
    );
    assert!(eos.contains("no token `</s>`"), "{eos}");
    let other = ws.run_err(&["build", "sft", "--runs", "runs.jsonl", "-o", "out.jsonl"]);
    // Any of the runs' problems may be named first: runs are written as samples finish.
    assert!(
        other.contains("which is not in the problem set") && other.contains("problems"),
        "{other}"
    );
}

/// The Python that checks the files: `TRACEALIGN_DATASETS_PYTHON`, else `python3`.
fn datasets_python() -> Option<PathBuf> {
    let python = std::env::var_os("TRACEALIGN_DATASETS_PYTHON")
        .map_or_else(|| PathBuf::from("python3"), PathBuf::from);
    let found = Command::new(&python)
        .args(["-c", "import datasets"])
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(python);
    }
    assert!(
        std::env::var("TRACEALIGN_REQUIRE_DATASETS").as_deref() != Ok("1"),
        "TRACEALIGN_REQUIRE_DATASETS=1 but `{}` cannot import datasets \
         (pip install datasets, or point TRACEALIGN_DATASETS_PYTHON at a Python that can)",
        python.display()
    );
    eprintln!("skipped: `{}` cannot import datasets", python.display());
    None
}

#[test]
fn datasets_loads_every_output() {
    let Some(python) = datasets_python() else {
        return;
    };
    let ws = Workspace::new();
    setup(&ws);
    let (path, _) = tokenizer(&ws);
    let tokenizer_args = [
        "--tokenizer",
        path.to_str().unwrap(),
        "--eos-token",
        "<|endoftext|>",
    ];
    let mut files = Vec::new();
    for kind in ["sft", "dpo", "repair", "rewards"] {
        for tokenized in [false, true] {
            let output = format!("{kind}{}.jsonl", if tokenized { "_tokens" } else { "" });
            let mut args = vec!["--faults", "faults.jsonl"];
            if tokenized {
                args.extend(tokenizer_args);
            }
            build(&ws, kind, &output, &args);
            files.push(format!("{kind}={}", ws.path(&output).display()));
        }
    }
    build(&ws, "traced", "traced.jsonl", &[]);
    files.push(format!("traced={}", ws.path("traced.jsonl").display()));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_datasets.py");
    let output = Command::new(&python)
        .arg(&script)
        .args(&files)
        .env("HF_DATASETS_OFFLINE", "1")
        .env("HF_HOME", ws.path("hf"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{} {}\nstdout:\n{}\nstderr:\n{}",
        python.display(),
        script.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.lines().count(), 9, "{stdout}");
}

/// Runs of failing programs only (no reference run among them): SFT takes each problem's
/// reference solution as its passing program, and says so; DPO over passing programs only
/// writes no pair, and says why and what to pass.
#[test]
fn builders_fall_back_on_references_and_explain_empty_outputs() {
    let ws = Workspace::new();
    setup(&ws);
    let runs = read_jsonl(&ws.path("runs.jsonl"));
    let keep = |passed: bool| -> Vec<Json> {
        let rows = runs.iter().filter(|r| r["passed"] == passed);
        rows.filter(|r| !r["sample_id"].as_str().unwrap().ends_with("#reference"))
            .cloned()
            .collect()
    };
    ws.write_jsonl("failing.jsonl", &keep(false));
    ws.write_jsonl("passing.jsonl", &keep(true));
    let args = [
        "build",
        "sft",
        "-p",
        "problems.jsonl",
        "--runs",
        "failing.jsonl",
    ];
    let out = ws.run_ok(&[&args[..], &["-o", "sft.jsonl", "--mutants", "0"]].concat());
    let summary = String::from_utf8_lossy(&out.stdout);
    let rows = read_jsonl(&ws.path("sft.jsonl"));
    assert_eq!(rows.len(), 1, "{summary}");
    assert_eq!(rows[0]["sample_id"], "sum#reference");
    assert!(
        summary.contains("reference solutions standing in for a passing program: 1"),
        "{summary}"
    );
    let args = [
        "build",
        "dpo",
        "-p",
        "problems.jsonl",
        "--runs",
        "passing.jsonl",
    ];
    let out = ws.run_ok(&[&args[..], &["-o", "dpo.jsonl"]].concat());
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("0 DPO pairs"), "{summary}");
    assert!(summary.contains("the runs hold none"), "{summary}");
    assert!(summary.contains("hint: pass --runs"), "{summary}");
}
