//! The `report` step: an HTML report of a job's outputs (a pipeline or eval directory), from
//! what they hold: executions (required), fault reports, the samples' known faults (mutants),
//! SFT rows, the evaluation. Nothing is run: first divergences compare with traced reference
//! runs given alongside.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use tracealign_core::formats::faults::read_faults;
use tracealign_core::formats::runs::read_runs;
use tracealign_core::formats::samples::read_samples;
use tracealign_core::{Execution, FaultReport, Problem};
use tracealign_dataset::feedback::Failure;
use tracealign_eval::{Category, Evaluation, LocalizationFigures};
use tracealign_report::{
    Figure, LocalizationRow, ModelRow, ProblemRow, ProgramSection, Report, TopLine, WeightedText,
};
use tracealign_trace::divergence::{first_divergence, Divergence, Side};
use tracealign_trace::render::{self, CharsPerToken, RenderInput, RenderOptions, TestContext};

use crate::layout::{OutputLayout, RowKind};

/// Tokens (characters / 4) a program's rendered trace may take in the report.
const TRACE_BUDGET: usize = 700;

/// What a report shows.
pub struct ReportInputs<'a> {
    pub title: String,
    /// Where the outputs are, shown under the title.
    pub place: String,
    pub problems: &'a [Problem],
    pub executions: &'a [Execution],
    /// Traced runs of reference solutions (besides any in `executions`).
    pub references: &'a [Execution],
    pub faults: &'a [FaultReport],
    /// Known faulty lines by sample id (mutants').
    pub truth: &'a HashMap<String, Vec<u32>>,
    /// `None`: computed from the executions (pass@1, 5, 10).
    pub evaluation: Option<Evaluation>,
    /// An SFT rows file whose weighted rows are shown, when there is one.
    pub sft_rows: Option<&'a Path>,
    /// Failing programs shown at most (`None`: every one).
    pub programs: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{dir} is not a pipeline or eval directory: it holds no {}", runs.display())]
    NotADirectory { dir: PathBuf, runs: PathBuf },
    #[error("{path} is not an evaluation: {message}")]
    Evaluation { path: PathBuf, message: String },
    #[error("{path}:{line}: not JSON: {message}")]
    Rows {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Format(#[from] tracealign_core::Error),
}

/// The report of what `inputs` hold, listing the JSON Lines files of `dir`, written to
/// `output` as one self-contained HTML file.
pub fn write_report(inputs: &ReportInputs, dir: &Path, output: &Path) -> Result<(), ReportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReportError::Io { path, source }
    };
    let mut report = assemble_report(inputs)?;
    report.files = files(dir).map_err(io(dir))?;
    std::fs::write(output, report.to_html()).map_err(io(output))
}

/// The report of what `inputs` hold.
pub fn assemble_report(inputs: &ReportInputs) -> Result<Report, ReportError> {
    let evaluation = (inputs.evaluation.clone())
        .unwrap_or_else(|| Evaluation::of(&without(inputs.executions, inputs.truth), &[1, 5, 10]));
    let localization = LocalizationFigures::of(inputs.faults, inputs.truth);
    let mut report = Report {
        title: inputs.title.clone(),
        subtitle: format!(
            "{} — {}",
            inputs.place,
            subtitle(inputs.executions, inputs.faults)
        ),
        figures: figures(&evaluation, localization.as_ref(), inputs),
        evaluation: Some(evaluation),
        ..Report::default()
    };
    if let Some(figures) = localization {
        report.localization = localization_rows(inputs.faults, figures);
        report.localization_note = Some(
            "The programs with known faults are mutants of the reference solutions, and the \
             diff and divergence signals compare a program with the reference it came from: \
             read these figures as an upper bound. `tracealign bench localize` measures each \
             method without that advantage, and on real model failures."
                .into(),
        );
    }
    let mut references = inputs.references.to_vec();
    references.extend(
        inputs
            .executions
            .iter()
            .filter(|e| e.is_reference())
            .cloned(),
    );
    let context = Context::new(inputs, &references);
    let (mutants, programs): (Vec<&Execution>, Vec<&Execution>) = context
        .failing(inputs.executions)
        .into_iter()
        .take(inputs.programs.unwrap_or(usize::MAX))
        .partition(|e| inputs.truth.contains_key(&e.sample_id));
    report.programs = programs.iter().map(|e| context.section(e)).collect();
    report.mutants = mutants.iter().map(|e| context.section(e)).collect();
    let scored: Vec<&Execution> = (inputs.executions.iter())
        .filter(|e| !e.is_reference() && !inputs.truth.contains_key(&e.sample_id))
        .collect();
    report.models = models(&scored, report.evaluation.as_ref());
    report.problems = problem_rows(&scored, &report.programs, &report.models);
    if let Some(path) = inputs.sft_rows {
        report.weighted_rows = weighted_rows(path, 3)?;
    }
    Ok(report)
}

fn localization_rows(faults: &[FaultReport], figures: LocalizationFigures) -> Vec<LocalizationRow> {
    let method = faults
        .first()
        .map_or("reports".into(), |r| r.method.clone());
    vec![
        LocalizationRow {
            method,
            accuracy: figures.accuracy,
        },
        LocalizationRow {
            method: "random order (expected)".into(),
            accuracy: figures.random,
        },
    ]
}

/// The outputs a job directory holds, read: `runs.jsonl` (required), `references.jsonl`,
/// `faults.jsonl`, `samples.jsonl` (mutants' known faults), `eval.json`, `sft.jsonl`.
pub struct DirContents {
    pub executions: Vec<Execution>,
    pub references: Vec<Execution>,
    pub faults: Vec<FaultReport>,
    pub truth: HashMap<String, Vec<u32>>,
    pub evaluation: Option<Evaluation>,
    pub sft_rows: Option<PathBuf>,
}

impl DirContents {
    pub fn read(dir: &Path, problems: &[Problem]) -> Result<DirContents, ReportError> {
        let layout = OutputLayout::new(dir);
        let runs = layout.runs();
        if !runs.exists() {
            return Err(ReportError::NotADirectory {
                dir: dir.to_path_buf(),
                runs,
            });
        }
        let existing = |path: PathBuf| Some(path).filter(|p| p.exists());
        let evaluation = match existing(layout.eval()) {
            Some(path) => Some(read_evaluation(&path)?),
            None => None,
        };
        Ok(DirContents {
            executions: read_runs(&runs)?,
            references: existing(layout.references()).map_or(Ok(Vec::new()), |p| read_runs(&p))?,
            faults: existing(layout.faults()).map_or(Ok(Vec::new()), |p| {
                read_faults(&p).map(|f| f.into_reports())
            })?,
            truth: match existing(layout.samples()) {
                Some(path) => known_faults(&path, problems)?,
                None => HashMap::new(),
            },
            evaluation,
            sft_rows: existing(layout.rows(RowKind::Sft)),
        })
    }
}

/// An `eval.json`.
pub fn read_evaluation(path: &Path) -> Result<Evaluation, ReportError> {
    let error = |message: String| ReportError::Evaluation {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| error(e.to_string()))
}

fn subtitle(executions: &[Execution], faults: &[FaultReport]) -> String {
    let samples = executions.iter().filter(|e| !e.is_reference()).count();
    format!(
        "{samples} programs run, {} fault reports",
        faults.iter().filter(|f| !f.passed).count()
    )
}

fn figures(
    evaluation: &Evaluation,
    localization: Option<&LocalizationFigures>,
    inputs: &ReportInputs,
) -> Vec<Figure> {
    let figure = |label: &str, value: String| Figure {
        label: label.into(),
        value,
    };
    let mut figures = vec![
        figure("programs scored", evaluation.samples.to_string()),
        figure("problems", evaluation.problems.to_string()),
        figure("passed every test", format!("{}", evaluation.passed)),
    ];
    if let Some(one) = evaluation.pass_at(1) {
        figures.push(figure("pass@1", format!("{:.1}%", one.mean * 100.0)));
    }
    let failing = inputs.faults.iter().filter(|f| !f.passed).count();
    figures.push(figure("fault reports", failing.to_string()));
    if !inputs.truth.is_empty() {
        // Synthetic faults with known lines: not in pass@1, only in the localization figure.
        let mutants = inputs.truth.len().to_string();
        figures.push(figure("mutants (synthetic, not scored)", mutants));
    }
    if let Some(l) = localization {
        figures.push(figure(
            "top-1 localization on mutants (an upper bound: see below)",
            format!("{:.1}%", l.accuracy.top1 * 100.0),
        ));
    }
    figures
}

/// The executions that are not mutants (`truth` holds the mutants' known faults).
pub fn without(executions: &[Execution], truth: &HashMap<String, Vec<u32>>) -> Vec<Execution> {
    (executions.iter())
        .filter(|e| !truth.contains_key(&e.sample_id))
        .cloned()
        .collect()
}

/// Known faulty lines by sample id, from a samples file's mutants (none without the file).
pub fn known_faults(
    samples: &Path,
    problems: &[Problem],
) -> Result<HashMap<String, Vec<u32>>, ReportError> {
    let file = read_samples(samples, problems)?;
    Ok(file
        .samples
        .into_iter()
        .filter_map(|s| s.mutation.map(|m| (s.sample_id, m.lines)))
        .collect())
}

/// What every program's section is made from, by id.
struct Context<'a> {
    problems: HashMap<&'a str, &'a Problem>,
    reports: HashMap<&'a str, &'a FaultReport>,
    references: HashMap<&'a str, &'a Execution>,
    truth: &'a HashMap<String, Vec<u32>>,
}

impl<'a> Context<'a> {
    fn new(inputs: &'a ReportInputs, references: &'a [Execution]) -> Context<'a> {
        Context {
            problems: inputs.problems.iter().map(|p| (p.id.as_str(), p)).collect(),
            reports: (inputs.faults.iter())
                .map(|f| (f.sample_id.as_str(), f))
                .collect(),
            references: (references.iter())
                .map(|e| (e.problem_id.as_str(), e))
                .collect(),
            truth: inputs.truth,
        }
    }

    /// The failing programs of known problems, by problem then sample (numbers in ids in
    /// numeric order: HumanEval/2 before HumanEval/10).
    fn failing(&self, executions: &'a [Execution]) -> Vec<&'a Execution> {
        let mut failing: Vec<&Execution> = (executions.iter())
            .filter(|e| !e.passed && !e.is_reference())
            .filter(|e| self.problems.contains_key(e.problem_id.as_str()))
            .collect();
        failing.sort_by_cached_key(|e| (natural(&e.problem_id), natural(&e.sample_id)));
        failing
    }

    fn section(&self, e: &Execution) -> ProgramSection {
        let problem = self.problems[e.problem_id.as_str()];
        let mut section = ProgramSection {
            problem_id: e.problem_id.clone(),
            sample_id: e.sample_id.clone(),
            model: e.model.clone(),
            verdict: Category::of(e).to_string(),
            code: e.code.clone(),
            scores: self
                .reports
                .get(e.sample_id.as_str())
                .map_or(Vec::new(), |r| {
                    r.lines.iter().map(|l| (l.line, l.score)).collect()
                }),
            faulty_lines: self.truth.get(&e.sample_id).cloned().unwrap_or_default(),
            ..ProgramSection::default()
        };
        if let Some(failure) = Failure::first(problem, e) {
            section.failing_test = Some(failure.code.clone().unwrap_or(failure.name.clone()));
            section.outcome = Some(failure.outcome.clone());
            let reference = self.references.get(e.problem_id.as_str()).copied();
            trace_of(&mut section, e, reference, problem, &failure);
        }
        section
    }
}

/// `id` cut into text and numbers, so that ids sort as people count.
fn natural(id: &str) -> Vec<(String, u64)> {
    let mut parts = Vec::new();
    let mut rest = id;
    while !rest.is_empty() {
        let text_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (text, tail) = rest.split_at(text_end);
        let digits_end = tail
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (digits, tail) = tail.split_at(digits_end);
        parts.push((text.to_string(), digits.parse().unwrap_or(u64::MAX)));
        rest = tail;
    }
    parts
}

/// Each model's evaluation when the programs come from several (with the ks of `overall`).
fn models(executions: &[&Execution], overall: Option<&Evaluation>) -> Vec<ModelRow> {
    let name = |e: &Execution| e.model.clone().unwrap_or_else(|| "(no model)".into());
    let names: HashSet<String> = executions.iter().map(|e| name(e)).collect();
    if names.len() < 2 {
        return Vec::new();
    }
    // Evaluation::of takes owned executions: cloned only when there is a comparison to make.
    let mut by_model: BTreeMap<String, Vec<Execution>> = BTreeMap::new();
    for e in executions {
        by_model.entry(name(e)).or_default().push((*e).clone());
    }
    let mut ks: Vec<usize> = overall.map_or(vec![1], |o| {
        o.pass_at_k
            .iter()
            .map(|p| p.k)
            .chain(o.skipped_k.iter().copied())
            .collect()
    });
    ks.sort_unstable();
    let solved: BTreeMap<&str, HashSet<&str>> = (by_model.iter())
        .map(|(model, runs)| {
            let passed = runs.iter().filter(|e| e.passed);
            (
                model.as_str(),
                passed.map(|e| e.problem_id.as_str()).collect(),
            )
        })
        .collect();
    let alone = |model: &str| {
        let others = solved.iter().filter(|(m, _)| **m != model);
        let by_others: HashSet<&str> = others.flat_map(|(_, s)| s.iter().copied()).collect();
        solved[model].difference(&by_others).count()
    };
    (by_model.iter())
        .map(|(model, runs)| ModelRow {
            model: model.clone(),
            evaluation: Evaluation::of(runs, &ks),
            solved_alone: alone(model),
        })
        .collect()
}

/// A row per problem of the scored programs, in natural order; `programs` are the sections
/// shown (their index is the link target), `models` the comparison's columns.
fn problem_rows(
    executions: &[&Execution],
    programs: &[ProgramSection],
    models: &[ModelRow],
) -> Vec<ProblemRow> {
    let mut by_problem: BTreeMap<Vec<(String, u64)>, Vec<&Execution>> = BTreeMap::new();
    for &e in executions {
        by_problem
            .entry(natural(&e.problem_id))
            .or_default()
            .push(e);
    }
    (by_problem.into_values())
        .map(|runs| problem_row(&runs, programs, models))
        .collect()
}

fn problem_row(
    runs: &[&Execution],
    programs: &[ProgramSection],
    models: &[ModelRow],
) -> ProblemRow {
    let problem_id = runs[0].problem_id.clone();
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    for e in runs.iter().filter(|e| !e.passed) {
        *failures.entry(Category::of(e).to_string()).or_default() += 1;
    }
    let mut failures: Vec<(String, usize)> = failures.into_iter().collect();
    failures.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let by_model = (models.iter())
        .map(|m| {
            let of_model = runs
                .iter()
                .filter(|e| e.model.as_deref().unwrap_or("(no model)") == m.model);
            let (passed, samples) =
                of_model.fold((0, 0), |(p, n), e| (p + e.passed as usize, n + 1));
            (passed, samples)
        })
        .collect();
    let shown: Vec<usize> = (programs.iter().enumerate())
        .filter(|(_, p)| p.problem_id == problem_id)
        .map(|(i, _)| i)
        .collect();
    let top_line = shown
        .iter()
        .find_map(|&i| top_line(&programs[i]).map(|t| (i, t)));
    ProblemRow {
        samples: runs.len(),
        passed: runs.iter().filter(|e| e.passed).count(),
        failures,
        by_model,
        first_program: top_line.as_ref().map(|t| t.0).or(shown.first().copied()),
        top_line: top_line.map(|t| t.1),
        problem_id,
    }
}

/// A program's most suspicious line (the first of equals), when its fault report scored any.
fn top_line(program: &ProgramSection) -> Option<TopLine> {
    let (line, score) = (program.scores.iter()).filter(|s| s.1 > 0.0).fold(
        None,
        |best: Option<(u32, f64)>, &(line, score)| match best {
            Some(b) if b.1 >= score => Some(b),
            _ => Some((line, score)),
        },
    )?;
    Some(TopLine {
        sample_id: program.sample_id.clone(),
        line,
        text: program.code.lines().nth(line as usize - 1)?.to_string(),
        score,
    })
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
fn weighted_rows(sft: &Path, count: usize) -> Result<Vec<WeightedText>, ReportError> {
    let Ok(text) = std::fs::read_to_string(sft) else {
        return Ok(Vec::new());
    };
    let mut rows = Vec::new();
    let lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    for (index, line) in lines {
        let row: Json = serde_json::from_str(line).map_err(|e| ReportError::Rows {
            path: sft.to_path_buf(),
            line: index + 1,
            message: e.to_string(),
        })?;
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
pub fn files(dir: &Path) -> std::io::Result<Vec<(String, usize)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
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
