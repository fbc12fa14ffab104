//! `tracealign report DIR`: the HTML report of a pipeline or eval directory.
//!
//! It reads what the directory holds — `runs.jsonl` (required), `faults.jsonl`,
//! `samples.jsonl` (mutants' known faults), `sft.jsonl`, `eval.json` — and shows what
//! each makes possible. Nothing is run: first divergences compare with the traced reference
//! runs of `references.jsonl` (a pipeline stage) or of the runs file.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value as Json;
use tracealign_core::formats::runs::read_runs;
use tracealign_core::formats::samples::read_samples;
use tracealign_core::{Execution, FaultReport, Problem};
use tracealign_dataset::feedback::Failure;
use tracealign_dataset::read_faults;
use tracealign_eval::{Category, Evaluation, LocalizationFigures};
use tracealign_report::{Figure, LocalizationRow, ProgramSection, Report, WeightedText};
use tracealign_trace::divergence::{first_divergence, Divergence, Side};
use tracealign_trace::render::{self, CharsPerToken, RenderInput, RenderOptions, TestContext};

use crate::args::ReportArgs;
use crate::commands::run::problem_set;

/// Tokens (characters / 4) a program's rendered trace may take in the report.
const TRACE_BUDGET: usize = 700;

pub fn report(args: ReportArgs) -> Result<()> {
    let dir = &args.dir;
    let problems = problem_set(args.problems.as_deref(), args.format)?;
    let runs_path = dir.join("runs.jsonl");
    let executions = read_runs(&runs_path)
        .with_context(|| format!("{} is not a pipeline or eval directory", dir.display()))?;
    let faults: Vec<FaultReport> = match dir.join("faults.jsonl") {
        path if path.exists() => read_faults(&path)?
            .reports
            .into_iter()
            .map(|r| r.1)
            .collect(),
        _ => Vec::new(),
    };
    let truth = known_faults(&dir.join("samples.jsonl"), &problems)?;
    let evaluation = match std::fs::read_to_string(dir.join("eval.json")) {
        Ok(text) => serde_json::from_str(&text).context("eval.json is not an evaluation")?,
        Err(_) => Evaluation::of(&executions, &[1, 5, 10]),
    };
    let localization = LocalizationFigures::of(&faults, &truth);
    let mut report = Report {
        title: args.title.clone(),
        subtitle: format!("{} — {}", dir.display(), subtitle(&executions, &faults)),
        figures: figures(&evaluation, localization.as_ref(), &faults),
        evaluation: Some(evaluation),
        ..Report::default()
    };
    if let Some(figures) = localization {
        let method = faults
            .first()
            .map_or("reports".into(), |r| r.method.clone());
        report.localization = vec![
            LocalizationRow {
                method,
                accuracy: figures.accuracy,
            },
            LocalizationRow {
                method: "random order (expected)".into(),
                accuracy: figures.random,
            },
        ];
        report.localization_note = Some(
            "The programs with known faults are mutants of the reference solutions, and the \
             diff and divergence signals compare a program with the reference it came from: \
             read these figures as an upper bound. `tracealign bench localize` measures each \
             method without that advantage, and on real model failures."
                .into(),
        );
    }
    // Traced reference runs: the pipeline's `references.jsonl`, or ones in the runs file.
    let mut references: Vec<Execution> = match dir.join("references.jsonl") {
        path if path.exists() => read_runs(&path)?,
        _ => Vec::new(),
    };
    references.extend(executions.iter().filter(|e| is_reference(e)).cloned());
    report.programs = programs(
        &executions,
        &references,
        &faults,
        &truth,
        &problems,
        args.programs,
    );
    report.weighted_rows = weighted_rows(&dir.join("sft.jsonl"), 3)?;
    report.files = files(dir)?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| dir.join("report.html"));
    std::fs::write(&output, report.to_html())
        .with_context(|| format!("cannot write {}", output.display()))?;
    println!("report → {}", output.display());
    Ok(())
}

fn subtitle(executions: &[Execution], faults: &[FaultReport]) -> String {
    let samples = executions.iter().filter(|e| !is_reference(e)).count();
    format!(
        "{samples} programs run, {} fault reports",
        faults.iter().filter(|f| !f.passed).count()
    )
}

fn figures(
    evaluation: &Evaluation,
    localization: Option<&LocalizationFigures>,
    faults: &[FaultReport],
) -> Vec<Figure> {
    let figure = |label: &str, value: String| Figure {
        label: label.into(),
        value,
    };
    let mut figures = vec![
        figure("programs run", evaluation.samples.to_string()),
        figure("problems", evaluation.problems.to_string()),
        figure("passed every test", format!("{}", evaluation.passed)),
    ];
    if let Some(one) = evaluation.pass_at(1) {
        figures.push(figure("pass@1", format!("{:.1}%", one.mean * 100.0)));
    }
    figures.push(figure(
        "fault reports",
        faults.iter().filter(|f| !f.passed).count().to_string(),
    ));
    if let Some(l) = localization {
        figures.push(figure(
            "top-1 localization",
            format!("{:.1}%", l.accuracy.top1 * 100.0),
        ));
    }
    figures
}

/// Known faulty lines by sample id, from a samples file's mutants (none without the file).
fn known_faults(samples: &Path, problems: &[Problem]) -> Result<HashMap<String, Vec<u32>>> {
    if !samples.exists() {
        return Ok(HashMap::new());
    }
    let file = read_samples(samples, problems)?;
    Ok(file
        .samples
        .into_iter()
        .filter_map(|s| s.mutation.map(|m| (s.sample_id, m.lines)))
        .collect())
}

/// Up to `limit` failing programs: those with a fault report first, and of those the
/// model-written (not mutants) first.
fn programs(
    executions: &[Execution],
    references: &[Execution],
    faults: &[FaultReport],
    truth: &HashMap<String, Vec<u32>>,
    problems: &[Problem],
    limit: usize,
) -> Vec<ProgramSection> {
    let by_problem: HashMap<&str, &Problem> = problems.iter().map(|p| (p.id.as_str(), p)).collect();
    let reports: HashMap<&str, &FaultReport> =
        faults.iter().map(|f| (f.sample_id.as_str(), f)).collect();
    let references: HashMap<&str, &Execution> = references
        .iter()
        .map(|e| (e.problem_id.as_str(), e))
        .collect();
    let mut failing: Vec<&Execution> = executions
        .iter()
        .filter(|e| !e.passed)
        .filter(|e| by_problem.contains_key(e.problem_id.as_str()))
        .collect();
    failing.sort_by_key(|e| {
        let reported = reports.contains_key(e.sample_id.as_str());
        (!reported, truth.contains_key(&e.sample_id))
    });
    failing
        .into_iter()
        .take(limit)
        .map(|e| {
            let problem = by_problem[e.problem_id.as_str()];
            let mut section = ProgramSection {
                problem_id: e.problem_id.clone(),
                sample_id: e.sample_id.clone(),
                verdict: Category::of(e).to_string(),
                code: e.code.clone(),
                scores: reports.get(e.sample_id.as_str()).map_or(Vec::new(), |r| {
                    r.lines.iter().map(|l| (l.line, l.score)).collect()
                }),
                faulty_lines: truth.get(&e.sample_id).cloned().unwrap_or_default(),
                ..ProgramSection::default()
            };
            if let Some(failure) = Failure::first(problem, e) {
                section.failing_test = Some(failure.code.clone().unwrap_or(failure.name.clone()));
                section.outcome = Some(failure.outcome.clone());
                let reference = references.get(e.problem_id.as_str()).copied();
                trace_of(&mut section, e, reference, problem, &failure);
            }
            section
        })
        .collect()
}

/// The failing test's first divergence and rendered trace, when it was traced.
fn trace_of(
    section: &mut ProgramSection,
    execution: &Execution,
    reference: Option<&Execution>,
    problem: &Problem,
    failure: &Failure,
) {
    let Some(index) = failure.test else { return };
    let Some(trace) = execution.tests.get(index).and_then(|t| t.trace.as_ref()) else {
        return;
    };
    let divergence = reference
        .and_then(|r| r.tests.get(index)?.trace.as_ref())
        .and_then(|reference| {
            first_divergence(
                Side {
                    source: &execution.code,
                    trace,
                },
                Side {
                    source: &problem.reference,
                    trace: reference,
                },
            )
        });
    section.divergence = divergence.as_ref().map(describe);
    let input = RenderInput {
        source: &execution.code,
        trace,
        test: Some(TestContext {
            name: &failure.name,
            code: failure.code.as_deref(),
            outcome: &failure.outcome,
        }),
        divergence: divergence.as_ref(),
    };
    let options = RenderOptions {
        budget: Some(TRACE_BUDGET),
        ..RenderOptions::default()
    };
    section.trace = Some(render::render(&input, &options, &CharsPerToken).text);
}

fn describe(divergence: &Divergence) -> String {
    let mut text = format!("line {}: {}", divergence.candidate.line, divergence.reason);
    if let (Some(actual), Some(expected)) = (&divergence.actual, &divergence.expected) {
        text.push_str(&format!(" (got {actual}, the reference has {expected})"));
    }
    text
}

/// The first `count` SFT rows whose weights are not uniform, as weighted text pieces
/// (runs of characters of equal weight). Rows with token weights (built with a tokenizer)
/// show their completion's characters unweighted: the report has no tokenizer to cut by.
fn weighted_rows(sft: &Path, count: usize) -> Result<Vec<WeightedText>> {
    let Ok(text) = std::fs::read_to_string(sft) else {
        return Ok(Vec::new());
    };
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let row: Json = serde_json::from_str(line)
            .with_context(|| format!("{} is not JSON Lines", sft.display()))?;
        let completion = row["completion"].as_str().unwrap_or_default();
        let weights: Vec<f64> = row["weights"]
            .as_array()
            .map_or(Vec::new(), |w| w.iter().filter_map(Json::as_f64).collect());
        let varied = weights.iter().any(|&w| (w - weights[0]).abs() > 1e-9);
        if row.get("input_ids").is_some() || weights.len() != completion.chars().count() || !varied
        {
            continue;
        }
        let mut pieces: Vec<(String, f64)> = Vec::new();
        for (c, w) in completion.chars().zip(weights) {
            match pieces.last_mut() {
                Some((text, weight)) if (*weight - w).abs() < 1e-9 => text.push(c),
                _ => pieces.push((c.to_string(), w)),
            }
        }
        rows.push(WeightedText {
            title: format!(
                "{} ({})",
                row["sample_id"].as_str().unwrap_or("?"),
                row["problem_id"].as_str().unwrap_or("?")
            ),
            pieces,
        });
        if rows.len() == count {
            break;
        }
    }
    Ok(rows)
}

/// Every JSON Lines file of the directory with its row count.
fn files(dir: &Path) -> Result<Vec<(String, usize)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        if name.ends_with(".jsonl") && !name.ends_with(".traces.jsonl") {
            let rows = std::fs::read_to_string(&path)
                .map_or(0, |t| t.lines().filter(|l| !l.trim().is_empty()).count());
            files.push((name, rows));
        }
    }
    files.sort();
    Ok(files)
}

fn is_reference(execution: &Execution) -> bool {
    execution.sample_id.ends_with("#reference")
}
