//! `tracealign eval`: pass@k and failure categories of samples — given, already run, or
//! generated now by an OpenAI-compatible server.
//!
//! Everything lands in OUT: `samples.jsonl` (when generated), `runs.jsonl`, `eval.json`,
//! `report.html`.
//! Generation and running both resume: a rerun keeps the samples and runs made the same way
//! (same source, settings and problems) and does only what is missing; `--fresh` starts over.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use tracealign_core::completion::{
    chat_request, program_of_chat_reply, program_of_completion, stop_sequences,
};
use tracealign_core::formats::runs::read_runs;
use tracealign_core::formats::samples::read_samples;
use tracealign_core::{embedded, FaultReport, Problem, Sample};
use tracealign_dataset::read_faults;
use tracealign_endpoint::{Api, Endpoint, Request};
use tracealign_eval::{Evaluation, LocalizationFigures};

use crate::args::{ApiArg, EvalArgs, ReportArgs, RunArgs, TraceCapArgs};
use crate::commands::generate::{self, DecodeWeightsArg, GenerateArgs};
use crate::commands::report;
use crate::commands::run::{self, problem_set};
use crate::printer;

pub fn eval(args: EvalArgs) -> Result<()> {
    let started = Instant::now();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    if args.fresh {
        for name in [
            "samples.jsonl",
            "runs.jsonl",
            ".samples-made-by",
            ".runs-made-by",
        ] {
            let _ = std::fs::remove_file(args.out.join(name));
        }
    }
    let problems = problem_set(args.problems.as_deref(), args.format)?;
    let samples = match (&args.endpoint, &args.model) {
        (Some(url), _) => Some(generate(&args, &problems, url)?),
        (None, Some(model)) => Some(generate_locally(&args, &problems, model)?),
        (None, None) => args.samples.clone(),
    };
    let (executions, samples) = match &args.runs {
        Some(runs) => (read_runs(runs)?, samples),
        None => {
            let samples = samples.unwrap_or_else(|| PathBuf::from("embedded"));
            (run_samples(&args, &samples)?, Some(samples))
        }
    };
    let mut evaluation = Evaluation::of(&executions, &args.k);
    if let Some(faults) = &args.faults {
        evaluation.localization = localization(faults, samples.as_deref(), &problems)?;
    }
    let path = args.out.join("eval.json");
    std::fs::write(&path, serde_json::to_string_pretty(&evaluation)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    print!("{}", summary(&evaluation));
    // The report needs the runs file in OUT; a scored --runs file elsewhere has none there.
    if args.out.join("runs.jsonl").exists() {
        report::report(ReportArgs {
            dir: args.out.clone(),
            output: None,
            problems: args.problems.clone(),
            format: args.format,
            programs: 12,
            title: "tracealign eval".into(),
        })?;
    }
    println!(
        "eval finished in {:.1}s → {}",
        started.elapsed().as_secs_f64(),
        path.display()
    );
    Ok(())
}

/// Runs `samples` into OUT/runs.jsonl, resuming a run of the same inputs.
fn run_samples(args: &EvalArgs, samples: &Path) -> Result<Vec<tracealign_core::Execution>> {
    let output = args.out.join("runs.jsonl");
    let made_by = args.out.join(".runs-made-by");
    let mut hash = Sha256::new();
    hash.update(format!("{:?}", args.trace));
    hash.update(input_bytes(samples)?);
    if let Some(problems) = &args.problems {
        hash.update(
            std::fs::read(problems)
                .with_context(|| format!("cannot read {}", problems.display()))?,
        );
    }
    let fingerprint = hex(&hash.finalize());
    let resume =
        output.exists() && std::fs::read_to_string(&made_by).ok().as_deref() == Some(&fingerprint);
    std::fs::write(&made_by, &fingerprint)?;
    run::run(RunArgs {
        problems: args.problems.clone(),
        samples: Some(samples.to_path_buf()),
        output: output.clone(),
        format: args.format,
        resume,
        skip_unknown: false,
        exec: args.exec.clone(),
        trace: args.trace,
        trace_caps: TraceCapArgs::default(),
        summary_json: None,
        quiet: args.quiet,
    })?;
    Ok(read_runs(&output)?)
}

/// The bytes that identify a samples source (`embedded` stands for the embedded samples).
fn input_bytes(samples: &Path) -> Result<Vec<u8>> {
    if samples == Path::new("embedded") {
        return Ok(serde_json::to_vec(&embedded::samples()?)?);
    }
    std::fs::read(samples).with_context(|| format!("cannot read {}", samples.display()))
}

/// Samples every problem `-n` times from the server into OUT/samples.jsonl, keeping the
/// samples a previous call with the same settings made.
fn generate(args: &EvalArgs, problems: &[Problem], url: &str) -> Result<PathBuf> {
    let api = match args.api {
        ApiArg::Completions => Api::Completions,
        ApiArg::Chat => Api::Chat,
    };
    let model = args.model_name.clone().unwrap_or_default();
    let endpoint = Endpoint::new(url, &model, api).with_api_key(args.api_key.clone());
    let path = args.out.join("samples.jsonl");
    let source = format!("{} {model} {:?}", endpoint.url(), args.api);
    let kept = if same_samples(args, problems, &source)? {
        generate::finished_samples(&path)?
    } else {
        HashSet::new()
    };
    let wanted: Vec<(&Problem, String, u64)> = problems
        .iter()
        .flat_map(|p| (0..args.samples_per_problem as u64).map(move |i| (p, i)))
        .map(|(p, i)| (p, format!("{}#{i}", p.id), args.seed + i))
        .filter(|(_, id, _)| !kept.contains(id))
        .collect();
    let requests: Vec<Request> = wanted
        .iter()
        .map(|(problem, _, seed)| Request {
            prompt: match api {
                Api::Completions => tracealign_core::completion::completion_prompt(problem).into(),
                Api::Chat => chat_request(problem),
            },
            max_tokens: args.max_tokens,
            temperature: args.temperature,
            top_p: args.top_p,
            stop: match api {
                Api::Completions => (stop_sequences(problem).iter())
                    .map(|s| s.to_string())
                    .collect(),
                Api::Chat => Vec::new(),
            },
            seed: (args.temperature > 0.0).then_some(*seed),
        })
        .collect();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let mut out = std::io::LineWriter::new(file);
    let bar = printer::progress(requests.len(), "generating", args.quiet);
    let mut failures = Vec::new();
    endpoint.complete_all(&requests, args.concurrency, |index, result| {
        bar.inc(1);
        let (problem, id, _) = &wanted[index];
        let text = match result {
            Ok(text) => text,
            Err(error) => return failures.push(error),
        };
        let code = match api {
            Api::Completions => program_of_completion(problem, &text),
            Api::Chat => program_of_chat_reply(problem, &text),
        };
        let sample = Sample {
            problem_id: problem.id.clone(),
            sample_id: id.clone(),
            code,
            model: Some(model.clone()),
            mutation: None,
        };
        let line = serde_json::to_string(&sample).expect("samples serialize") + "\n";
        if let Err(error) = out.write_all(line.as_bytes()) {
            printer::warning(&format!("cannot write {}: {error}", path.display()));
        }
    });
    bar.finish_and_clear();
    if let Some(first) = failures.first() {
        bail!(
            "{} of {} requests failed (the {} finished samples are kept in {}; rerun to \
             generate the rest): {first}",
            failures.len(),
            requests.len(),
            requests.len() - failures.len(),
            path.display()
        );
    }
    Ok(path)
}

/// Samples every problem `-n` times from a local model into OUT/samples.jsonl; a complete
/// file made with the same settings is kept.
fn generate_locally(args: &EvalArgs, problems: &[Problem], model: &Path) -> Result<PathBuf> {
    let path = args.out.join("samples.jsonl");
    // Settings at their defaults add nothing, so directories made before they existed resume.
    let mut source = format!("{} {:?}", model.display(), args.adapter);
    if matches!(args.api, ApiArg::Chat) {
        source.push_str(" chat");
    }
    if args.decode_weights != DecodeWeightsArg::F32 {
        source.push_str(&format!(" decode={:?}", args.decode_weights));
    }
    let resume = same_samples(args, problems, &source)?;
    let wanted = problems.len() * args.samples_per_problem;
    if resume && generate::finished_samples(&path)?.len() == wanted {
        eprintln!("samples: {wanted} already in {}", path.display());
        return Ok(path);
    }
    generate::generate(GenerateArgs {
        model: model.to_path_buf(),
        adapter: args.adapter.clone(),
        problems: args.problems.clone(),
        format: args.format,
        samples: args.samples_per_problem,
        temperature: args.temperature,
        top_p: args.top_p,
        max_new_tokens: args.max_tokens as usize,
        seed: args.seed,
        batch: args.batch,
        prompts: None,
        limit: None,
        name: None,
        chat: matches!(args.api, ApiArg::Chat),
        decode_weights: args.decode_weights,
        out: path.clone(),
        resume,
        quiet: args.quiet,
    })?;
    Ok(path)
}

/// Whether OUT/samples.jsonl was generated from `source` with the same sampling settings
/// and problems (then it is kept and completed); refuses samples made otherwise, and records
/// the settings for the next call.
fn same_samples(args: &EvalArgs, problems: &[Problem], source: &str) -> Result<bool> {
    let path = args.out.join("samples.jsonl");
    let made_by = args.out.join(".samples-made-by");
    let ids: Vec<&str> = problems.iter().map(|p| p.id.as_str()).collect();
    let settings = format!(
        "{source} n={} T={} top_p={} max_tokens={} seed={} problems={}",
        args.samples_per_problem,
        args.temperature,
        args.top_p,
        args.max_tokens,
        args.seed,
        ids.join(",")
    );
    let fingerprint = hex(&Sha256::digest(settings.as_bytes()));
    let previous = std::fs::read_to_string(&made_by).ok();
    let same = previous.as_deref() == Some(fingerprint.as_str());
    if path.exists() && !same {
        bail!(
            "{} holds samples generated with other settings; pass --fresh to discard them, \
             or choose another --out",
            path.display()
        );
    }
    std::fs::write(&made_by, &fingerprint)
        .with_context(|| format!("cannot write {}", made_by.display()))?;
    Ok(same && path.exists())
}

/// Top-k and EXAM of the fault reports against the faults known for the samples' mutants.
fn localization(
    faults: &Path,
    samples: Option<&Path>,
    problems: &[Problem],
) -> Result<Option<LocalizationFigures>> {
    let Some(samples) = samples.filter(|s| *s != Path::new("embedded")) else {
        bail!("--faults needs --samples with mutants (their known faults are the ground truth)");
    };
    let reports: Vec<FaultReport> = read_faults(faults)?
        .reports
        .into_iter()
        .map(|r| r.1)
        .collect();
    let truth: HashMap<String, Vec<u32>> = read_samples(samples, problems)?
        .samples
        .into_iter()
        .filter_map(|s| s.mutation.map(|m| (s.sample_id, m.lines)))
        .collect();
    Ok(LocalizationFigures::of(&reports, &truth))
}

/// The terminal summary: pass@k with intervals, then where the failures went.
pub fn summary(evaluation: &Evaluation) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} samples of {} problems, {} passed",
        evaluation.samples, evaluation.problems, evaluation.passed
    );
    for p in &evaluation.pass_at_k {
        let i = &p.interval;
        let _ = writeln!(
            text,
            "  pass@{:<4} {:>6.1}%   95% CI [{:.1}%, {:.1}%]",
            p.k,
            i.mean * 100.0,
            i.low * 100.0,
            i.high * 100.0
        );
    }
    if !evaluation.skipped_k.is_empty() {
        let ks: Vec<String> = evaluation.skipped_k.iter().map(|k| k.to_string()).collect();
        let _ = writeln!(
            text,
            "  (pass@{} left out: fewer samples per problem)",
            ks.join(", pass@")
        );
    }
    let mut kinds: Vec<(&String, &usize)> = evaluation.category_kinds.iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let listed: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let _ = writeln!(text, "  outcomes: {}", listed.join(" · "));
    if let Some(l) = &evaluation.localization {
        let a = &l.accuracy;
        let _ = writeln!(
            text,
            "  localization ({} faulty programs): top-1 {:.1}%, top-3 {:.1}%, EXAM {:.3} (random: top-1 {:.1}%)",
            a.cases,
            a.top1 * 100.0,
            a.top3 * 100.0,
            a.exam,
            l.random.top1 * 100.0
        );
    }
    text
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
