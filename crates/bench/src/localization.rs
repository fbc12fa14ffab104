//! Localization accuracy of every method, on killed mutants (ground truth: the mutated lines)
//! or on real failing programs (pseudo ground truth: the lines a diff to the nearest passing
//! program of *another* model changes).
//!
//! Honesty rules (see the localization issue): on mutants the diff localizer would be
//! comparing with the program the mutant came from, so it is left out there and `combined`
//! runs without it; on real programs every localizer sees only the problem (reference and
//! tests) and the one failing program, never the other models' programs. A program that
//! failed on its own module-level test code is localized on a rerun without it, as
//! `tracealign localize` does.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{json, Value as Json};
use tracealign_core::formats::samples::read_samples;
use tracealign_core::{Execution, Problem, Sample};
use tracealign_eval::accuracy::{Accuracy, CaseScore};
use tracealign_eval::fit::{fit, FitCase};
use tracealign_exec::{Executor, PreparedProblem, TraceMode};
use tracealign_localize::diff::nearest;
use tracealign_localize::program::Program;
use tracealign_localize::{report_from, Evidence, Method, MutantRun, Run, Signals, Weights};
use tracealign_pipeline::localization::{mutant_runs, start_for_mutants};
use tracealign_pipeline::scaffolding::{failed_on_scaffolding, rerun_without_scaffolding};
use tracealign_pipeline::{evaluate, kill_mutants, MutateSettings, Workers};

use crate::BenchError;

/// What the localization benchmark measures on.
#[derive(Debug, Clone)]
pub struct LocalizationBench {
    /// Real programs instead of mutants: a samples file, or a directory of them (one per
    /// model). `None`: mutants of the reference solutions.
    pub samples: Option<PathBuf>,
    /// Mutants per problem, and their seed.
    pub mutants: MutateSettings,
    /// Mutants of each failing program run for mutation-based localization (0: none).
    pub mutation_budget: usize,
    /// Also search the combination's weights on the cases.
    pub fit: bool,
    /// Also write one JSON line per case here.
    pub cases: Option<PathBuf>,
}

/// The benchmark's figures, and the weight search's best rows when asked for.
pub struct Measured {
    pub table: Table,
    pub fit: Vec<String>,
}

/// A real failure is kept when the nearest fix touches at most this many lines.
const MAX_FIX_LINES: usize = 6;

/// One failing program with known faulty lines.
struct Case {
    execution: Execution,
    faulty: Vec<u32>,
    /// The mutation operator, for mutants.
    operator: Option<String>,
    /// Small fault in a program that is not tiny (real failures only).
    hard: bool,
    /// Programs the diff localizer may compare with.
    fixes: Vec<String>,
    /// Mutants of the program and their runs.
    mutants: Vec<MutantRun>,
}

/// Every method's accuracy on the cases.
pub fn measure(
    bench: &LocalizationBench,
    problems: &[Problem],
    workers: &Workers,
) -> Result<Measured, BenchError> {
    let executor = workers.start(TraceMode::Full)?;
    let prepared = workers.prepare(&executor, problems)?;
    let references: Vec<Sample> = problems.iter().map(Sample::reference).collect();
    let references: HashMap<String, Execution> =
        run_all(&executor, &prepared, &references, "references", workers)
            .into_iter()
            .map(|e| (e.problem_id.clone(), e))
            .collect();
    let (mut cases, methods) = match &bench.samples {
        None => (
            mutant_cases(&executor, &prepared, problems, bench, workers),
            mutant_methods(),
        ),
        Some(path) => (
            real_cases(&executor, &prepared, problems, path, workers)?,
            Method::ALL.to_vec(),
        ),
    };
    if cases.is_empty() {
        return Err(BenchError::NoCases);
    }
    let subjects: Vec<&Execution> = cases
        .iter()
        .map(|c| &c.execution)
        .filter(|e| failed_on_scaffolding(e))
        .collect();
    let mut reruns = rerun_without_scaffolding(&executor, &prepared, &subjects, workers.progress);
    for case in &mut cases {
        if let Some(rerun) = reruns.remove(&case.execution.sample_id) {
            case.execution = rerun;
        }
    }
    drop(executor);
    add_mutant_runs(&mut cases, problems, bench, workers)?;
    let by_id: HashMap<&str, &Problem> = problems.iter().map(|p| (p.id.as_str(), p)).collect();
    let signals: Vec<Signals> = cases
        .iter()
        .map(|case| {
            Signals::of(&evidence(
                case,
                by_id[case.execution.problem_id.as_str()],
                &references,
            ))
        })
        .collect();
    let fit = match bench.fit {
        true => fit_weights(&cases, &signals),
        false => Vec::new(),
    };
    let table = Table::score(&cases, &signals, &methods, &by_id, &references);
    if let Some(path) = &bench.cases {
        write_cases(path, &cases, &signals, &by_id, &references)?;
    }
    Ok(Measured { table, fit })
}

/// Runs mutants of every case's program (untraced, with workers of their own) for the
/// mutation-based localizer.
fn add_mutant_runs(
    cases: &mut [Case],
    problems: &[Problem],
    bench: &LocalizationBench,
    workers: &Workers,
) -> Result<(), BenchError> {
    if bench.mutation_budget == 0 {
        return Ok(());
    }
    let executor = start_for_mutants(workers)?;
    let prepared = workers.prepare(&executor, problems)?;
    let subjects: Vec<&Execution> = cases.iter().map(|c| &c.execution).collect();
    let budget = bench.mutation_budget;
    let mut runs = mutant_runs(&executor, &prepared, &subjects, budget, workers.progress);
    for case in cases {
        case.mutants = runs.remove(&case.execution.sample_id).unwrap_or_default();
    }
    Ok(())
}

/// On mutants, diff would see the mutant's origin: left out.
fn mutant_methods() -> Vec<Method> {
    Method::ALL
        .into_iter()
        .filter(|m| *m != Method::Diff)
        .collect()
}

fn evidence<'a>(
    case: &'a Case,
    problem: &'a Problem,
    references: &'a HashMap<String, Execution>,
) -> Evidence<'a> {
    Evidence {
        subject: Run {
            code: &case.execution.code,
            execution: &case.execution,
        },
        reference: references.get(&problem.id).map(|r| Run {
            code: &problem.reference,
            execution: r,
        }),
        fixes: case.fixes.iter().map(String::as_str).collect(),
        mutants: &case.mutants,
    }
}

fn run_all(
    executor: &Executor,
    prepared: &[PreparedProblem],
    samples: &[Sample],
    what: &str,
    workers: &Workers,
) -> Vec<Execution> {
    let mut executions = Vec::with_capacity(samples.len());
    evaluate(executor, prepared, samples, what, workers.progress, |e| {
        executions.push(e)
    });
    executions.sort_by(|a, b| a.sample_id.cmp(&b.sample_id));
    executions
}

fn mutant_cases(
    executor: &Executor,
    prepared: &[PreparedProblem],
    problems: &[Problem],
    bench: &LocalizationBench,
    workers: &Workers,
) -> Vec<Case> {
    kill_mutants(
        executor,
        prepared,
        problems,
        bench.mutants,
        workers.progress,
    )
    .into_iter()
    .filter_map(|(sample, execution)| {
        let fault = sample.mutation?;
        Some(Case {
            execution,
            faulty: fault.lines,
            operator: Some(fault.operator),
            hard: false,
            fixes: vec![],
            mutants: vec![],
        })
    })
    .collect()
}

/// Real failing programs whose nearest passing program of another model differs in at
/// most [`MAX_FIX_LINES`] lines.
fn real_cases(
    executor: &Executor,
    prepared: &[PreparedProblem],
    problems: &[Problem],
    path: &Path,
    workers: &Workers,
) -> Result<Vec<Case>, BenchError> {
    let samples = read_sample_sets(path, problems)?;
    let executions = run_all(executor, prepared, &samples, "samples", workers);
    let by_id: HashMap<&str, &Problem> = problems.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut cases = Vec::new();
    for failing in executions.iter().filter(|e| !e.passed) {
        let others: Vec<&str> = executions
            .iter()
            .filter(|e| e.passed && e.problem_id == failing.problem_id && e.model != failing.model)
            .map(|e| e.code.as_str())
            .collect();
        let Some((_, fix)) = nearest(&failing.code, &others) else {
            continue;
        };
        let faulty = fix.blamed_lines();
        if faulty.is_empty() || faulty.len() > MAX_FIX_LINES {
            continue;
        }
        let code_lines = Program::parse(&failing.code).fault_lines().len();
        cases.push(Case {
            hard: faulty.len() <= 2 && code_lines >= 5,
            faulty,
            operator: None,
            fixes: vec![by_id[failing.problem_id.as_str()].reference.clone()],
            mutants: vec![],
            execution: failing.clone(),
        });
    }
    Ok(cases)
}

/// Samples from a file, or from every `.jsonl`/`.jsonl.gz` file in a directory (one per
/// model: the file's name is the model's, and prefixes the sample ids to keep them apart).
fn read_sample_sets(path: &Path, problems: &[Problem]) -> Result<Vec<Sample>, BenchError> {
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|source| BenchError::Io {
                path: path.to_path_buf(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.to_string_lossy();
                name.ends_with(".jsonl") || name.ends_with(".jsonl.gz")
            })
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    if files.is_empty() {
        return Err(BenchError::NoSampleFiles {
            path: path.to_path_buf(),
        });
    }
    let mut samples = Vec::new();
    for file in files {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        let model = name
            .trim_end_matches(".gz")
            .trim_end_matches(".jsonl")
            .to_string();
        for mut sample in read_samples(&file, problems)?.samples {
            sample.sample_id = format!("{model}/{}", sample.sample_id);
            sample.model.get_or_insert_with(|| model.clone());
            samples.push(sample);
        }
    }
    Ok(samples)
}

/// Accuracy per method, overall, per operator and on the hard subset.
pub struct Table {
    methods: Vec<String>,
    all: BTreeMap<String, Accuracy>,
    hard: BTreeMap<String, Accuracy>,
    by_operator: BTreeMap<String, BTreeMap<String, Accuracy>>,
}

impl Table {
    fn score(
        cases: &[Case],
        signals: &[Signals],
        methods: &[Method],
        problems: &HashMap<&str, &Problem>,
        references: &HashMap<String, Execution>,
    ) -> Table {
        let mut table = Table {
            methods: methods.iter().map(|m| m.name().to_string()).collect(),
            all: BTreeMap::new(),
            hard: BTreeMap::new(),
            by_operator: BTreeMap::new(),
        };
        table.methods.push("random".into());
        for (case, signals) in cases.iter().zip(signals) {
            let evidence = evidence(
                case,
                problems[case.execution.problem_id.as_str()],
                references,
            );
            let mut scores: Vec<(String, CaseScore)> = methods
                .iter()
                .map(|&method| {
                    let found = match method {
                        Method::Combined => signals.combine(&Weights::DEFAULT),
                        _ => tracealign_localize::localize(&evidence, method, &Weights::DEFAULT),
                    };
                    let report = report_from(&evidence.subject, method, &found);
                    (
                        method.name().to_string(),
                        CaseScore::of(&report, &case.faulty),
                    )
                })
                .collect();
            let code_lines = Program::parse(&case.execution.code).fault_lines();
            let faulty = case
                .faulty
                .iter()
                .filter(|l| code_lines.contains(l))
                .count();
            scores.push(("random".into(), CaseScore::random(code_lines.len(), faulty)));
            for (method, score) in scores {
                table.all.entry(method.clone()).or_default().add(score);
                if case.hard {
                    table.hard.entry(method.clone()).or_default().add(score);
                }
                if let Some(operator) = &case.operator {
                    let row = table.by_operator.entry(operator.clone()).or_default();
                    row.entry(method).or_default().add(score);
                }
            }
        }
        table
    }

    pub fn markdown(&self, mutants: bool) -> String {
        let mut out = String::new();
        let what = if mutants {
            "killed mutants"
        } else {
            "real failures"
        };
        out.push_str(&self.accuracy_table(&format!("all {what}"), &self.all));
        if !self.hard.is_empty() {
            out.push_str(&self.accuracy_table(
                "hard subset (fault ≤ 2 lines, program ≥ 5 code lines)",
                &self.hard,
            ));
        }
        if !self.by_operator.is_empty() {
            out.push_str(&format!(
                "\n### top-1 by mutation operator\n\n| operator | cases | {} |\n|---|---:|{}\n",
                self.methods.join(" | "),
                "---:|".repeat(self.methods.len())
            ));
            for (operator, row) in &self.by_operator {
                let cases = row.values().next().map_or(0, |a| a.cases);
                let cells: Vec<String> = self
                    .methods
                    .iter()
                    .map(|m| row.get(m).map_or("–".into(), |a| percent(a.top1)))
                    .collect();
                out.push_str(&format!(
                    "| {operator} | {cases} | {} |\n",
                    cells.join(" | ")
                ));
            }
        }
        out
    }

    fn accuracy_table(&self, title: &str, rows: &BTreeMap<String, Accuracy>) -> String {
        let mut out = format!(
            "\n### {title}\n\n| method | cases | top-1 | top-3 | top-5 | EXAM |\n|---|---:|---:|---:|---:|---:|\n"
        );
        for method in &self.methods {
            if let Some(a) = rows.get(method) {
                out.push_str(&format!(
                    "| {method} | {} | {} | {} | {} | {:.3} |\n",
                    a.cases,
                    percent(a.top1),
                    percent(a.top3),
                    percent(a.top5),
                    a.exam
                ));
            }
        }
        out
    }

    /// One object per method, keyed by its name, with its hard-subset and per-operator
    /// figures nested inside.
    pub fn json(&self) -> Json {
        let mut root = serde_json::Map::new();
        for method in &self.methods {
            let Some(all) = self.all.get(method) else {
                continue;
            };
            let mut object = serde_json::to_value(all).expect("plain numbers");
            if let Some(hard) = self.hard.get(method) {
                object["hard"] = json!(hard);
            }
            let by_operator: BTreeMap<&String, &Accuracy> = self
                .by_operator
                .iter()
                .filter_map(|(op, row)| row.get(method).map(|a| (op, a)))
                .collect();
            if !by_operator.is_empty() {
                object["by_operator"] = json!(by_operator);
            }
            root.insert(method.clone(), object);
        }
        Json::Object(root)
    }
}

/// Per case: the program, its faulty lines, and the combined method's ranking.
fn write_cases(
    path: &Path,
    cases: &[Case],
    signals: &[Signals],
    problems: &HashMap<&str, &Problem>,
    references: &HashMap<String, Execution>,
) -> Result<(), BenchError> {
    let mut text = String::new();
    for (case, signals) in cases.iter().zip(signals) {
        let evidence = evidence(
            case,
            problems[case.execution.problem_id.as_str()],
            references,
        );
        let report = report_from(
            &evidence.subject,
            Method::Combined,
            &signals.combine(&Weights::DEFAULT),
        );
        let row = json!({
            "sample_id": case.execution.sample_id,
            "operator": case.operator,
            "hard": case.hard,
            "faulty": case.faulty,
            "rank": report.best_rank(&case.faulty),
            "lines": report.lines,
            "signals": signals.parts().collect::<BTreeMap<_, _>>(),
            "outcomes": case.execution.tests.iter().map(|t| t.outcome.name()).collect::<Vec<_>>(),
            "code": case.execution.code,
        });
        text.push_str(&format!("{row}\n"));
    }
    std::fs::write(path, text).map_err(|source| BenchError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// Grid search of the combination's weights on these cases: the best few, as lines.
fn fit_weights(cases: &[Case], signals: &[Signals]) -> Vec<String> {
    let fit_cases: Vec<FitCase> = cases
        .iter()
        .zip(signals)
        .map(|(case, signals)| FitCase {
            signals: signals.clone(),
            lines: Program::parse(&case.execution.code).fault_lines(),
            faulty: case.faulty.clone(),
        })
        .collect();
    let mut lines = vec!["best weights (objective top-1 + top-3/2 − EXAM):".to_string()];
    for (w, a) in fit(&fit_cases, Weights::DEFAULT.diff).iter().take(8) {
        lines.push(format!(
            "  divergence {} values {} mutation {} exception {} undefined {} diff {} ochiai {} recency {} trivial {} → top-1 {} top-3 {} EXAM {:.3}",
            w.divergence, w.values, w.mutation, w.exception, w.undefined, w.diff, w.ochiai, w.recency, w.trivial, percent(a.top1), percent(a.top3), a.exam
        ));
    }
    lines
}
