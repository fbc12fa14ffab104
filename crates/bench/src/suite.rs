//! The benchmarks of record in one run, as one table and one JSON value.
//!
//! - **Execution throughput**: the problems' reference solutions run by tracealign (warm
//!   workers, fork per sample) against the usual way — a fresh interpreter per sample
//!   running the program and its tests (what HumanEval's harness does) — with the same
//!   parallelism. Median of `repeats` runs each.
//! - **Tracing overhead**: the same run with coverage and full traces, against untraced;
//!   line events recorded and bytes stored.
//! - **Localization**: [`crate::localization`] on killed mutants of the reference solutions.
//!
//! Timings on a shared machine are noisy: every ratio compares measurements of this run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::{json, Value as Json};
use tracealign_core::formats::runs::{read_runs, sidecar_path, RunsWriter};
use tracealign_core::{Args as TestArgs, Problem, Sample, TestKind};
use tracealign_exec::TraceMode;
use tracealign_pipeline::{run_into, MutateSettings, NoProgress, RunSummary, Workers};

use crate::localization::{measure, LocalizationBench};
use crate::BenchError;

/// What the suite runs.
#[derive(Debug, Clone)]
pub struct Suite {
    /// Where the runs and the fresh interpreter's scripts go.
    pub out: PathBuf,
    /// Timed runs of each kind; the median is reported.
    pub repeats: usize,
    /// Mutants per problem for the localization benchmark.
    pub mutants_per_problem: usize,
    /// Mutants of each failing program run for mutation-based localization.
    pub mutation_budget: usize,
}

/// The suite's table (Markdown) and figures (JSON).
pub struct SuiteReport {
    pub markdown: String,
    pub json: Json,
}

impl SuiteReport {
    /// Writes `DIR/bench.md` and `DIR/bench.json`; returns their paths.
    pub fn write(&self, dir: &Path) -> Result<[PathBuf; 2], BenchError> {
        let (table, json) = (dir.join("bench.md"), dir.join("bench.json"));
        let text = serde_json::to_string_pretty(&self.json).expect("figures serialize") + "\n";
        std::fs::write(&table, &self.markdown).map_err(|source| io(&table, source))?;
        std::fs::write(&json, text).map_err(|source| io(&json, source))?;
        Ok([table, json])
    }
}

/// One row of the table.
struct Row {
    benchmark: &'static str,
    measure: String,
    value: f64,
    baseline: Option<(String, f64)>,
    /// How the ratio reads: `higher` is better (throughput) or `lower` (overhead).
    unit: &'static str,
}

/// Runs the suite on `problems` with `workers`' settings.
pub fn run_suite(
    suite: &Suite,
    problems: &[Problem],
    workers: &Workers,
) -> Result<SuiteReport, BenchError> {
    std::fs::create_dir_all(&suite.out).map_err(|source| io(&suite.out, source))?;
    let mut rows = Vec::new();
    let untraced = timed_runs(suite, problems, workers, TraceMode::None)?;
    let fresh = fresh_interpreter_per_sample(suite, problems, workers)?;
    let samples = problems.len() as f64;
    rows.push(Row {
        benchmark: "execution",
        measure: "samples/s, whole command".into(),
        value: samples / untraced.wall_s,
        baseline: Some(("fresh interpreter per sample".into(), samples / fresh)),
        unit: "samples/s",
    });
    rows.push(Row {
        benchmark: "execution",
        measure: "samples/s, samples phase".into(),
        value: samples / untraced.run_s,
        baseline: Some(("fresh interpreter per sample".into(), samples / fresh)),
        unit: "samples/s",
    });
    let mut tracing = json!({});
    for mode in [TraceMode::Coverage, TraceMode::Full] {
        let traced = timed_runs(suite, problems, workers, mode)?;
        let name = format!("{mode:?}").to_lowercase();
        rows.push(Row {
            benchmark: "tracing",
            measure: format!("{name}: samples phase, s"),
            value: traced.run_s,
            baseline: Some(("untraced".into(), untraced.run_s)),
            unit: "s",
        });
        tracing[&name] =
            json!({"run_s": traced.run_s, "events": traced.events, "bytes": traced.bytes});
    }
    let localization = localization(suite, problems, workers)?;
    for (method, accuracy) in &localization {
        rows.push(Row {
            benchmark: "localization",
            measure: format!("{method}: top-1 on mutants"),
            value: accuracy["top1"].as_f64().unwrap_or(0.0) * 100.0,
            baseline: None,
            unit: "%",
        });
    }
    let json = json!({
        "problems": problems.len(),
        "repeats": suite.repeats,
        "execution": {"untraced": untraced.json(), "fresh_interpreter_s": fresh},
        "tracing": tracing,
        "localization": localization.into_iter().collect::<serde_json::Map<_, _>>(),
    });
    Ok(SuiteReport {
        markdown: markdown(&rows, &tracing),
        json,
    })
}

fn io(path: &Path, source: std::io::Error) -> BenchError {
    BenchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Medians of repeated `tracealign run`s of the reference solutions.
struct Timed {
    wall_s: f64,
    run_s: f64,
    /// Line events recorded (`full`), or lines covered (`coverage`), over every test.
    events: u64,
    bytes: u64,
}

impl Timed {
    fn json(&self) -> Json {
        json!({"wall_s": self.wall_s, "run_s": self.run_s})
    }
}

/// Medians of repeated runs of the reference solutions (workers started and problems
/// prepared in each, as `tracealign run` does).
fn timed_runs(
    suite: &Suite,
    problems: &[Problem],
    workers: &Workers,
    trace: TraceMode,
) -> Result<Timed, BenchError> {
    let name = format!("{trace:?}").to_lowercase();
    let output = suite.out.join(format!("runs-{name}.jsonl"));
    let samples: Vec<Sample> = problems.iter().map(Sample::reference).collect();
    let (mut walls, mut runs) = (Vec::new(), Vec::new());
    for _ in 0..suite.repeats.max(1) {
        let started = Instant::now();
        let executor = workers.start(trace)?;
        let prepared = workers.prepare(&executor, problems)?;
        let mut writer = RunsWriter::create(&output)?;
        let summary = RunSummary::new(problems.len(), 0).since(started);
        let summary = run_into(
            &executor,
            &prepared,
            &samples,
            &mut writer,
            summary,
            &NoProgress,
        )?;
        walls.push(summary.wall_s);
        runs.push(summary.run_s);
    }
    let events = read_runs(&output)?
        .iter()
        .flat_map(|e| &e.tests)
        .map(|t| match (&t.trace, &t.coverage) {
            (Some(trace), _) => trace.events.len() as u64,
            (None, Some(lines)) => lines.len() as u64,
            (None, None) => 0,
        })
        .sum();
    let sidecar = sidecar_path(&output);
    let bytes = [output.as_path(), sidecar.as_path()]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    Ok(Timed {
        wall_s: median(walls),
        run_s: median(runs),
        events,
        bytes,
    })
}

/// Seconds to run every reference solution and its tests, one fresh `python` process per
/// problem, as many at once as tracealign has workers. Median of the repeats.
fn fresh_interpreter_per_sample(
    suite: &Suite,
    problems: &[Problem],
    workers: &Workers,
) -> Result<f64, BenchError> {
    let config = &workers.settings.config;
    let python = &config.python;
    let dir = suite.out.join("fresh-interpreter");
    std::fs::create_dir_all(&dir).map_err(|source| io(&dir, source))?;
    let scripts: Vec<PathBuf> = problems
        .iter()
        .enumerate()
        .map(|(i, problem)| {
            let path = dir.join(format!("{i}.py"));
            std::fs::write(&path, standalone_script(problem)).map(|()| path)
        })
        .collect::<std::io::Result<_>>()
        .map_err(|source| io(&dir, source))?;
    let jobs = config.workers;
    let mut times = Vec::new();
    for _ in 0..suite.repeats.max(1) {
        let started = Instant::now();
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..jobs {
                scope.spawn(|| {
                    while let Some(script) = scripts.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let _ = Command::new(python).arg(script).current_dir(&dir).output();
                    }
                });
            }
        });
        times.push(started.elapsed().as_secs_f64());
    }
    Ok(median(times))
}

/// The program, then each test in turn, a failing test not stopping the others.
fn standalone_script(problem: &Problem) -> String {
    let mut script = format!(
        "{}\n\ncandidate = {}\n",
        problem.reference, problem.entry_point
    );
    for test in &problem.tests {
        let code = match &test.kind {
            TestKind::Code { code } => code.clone(),
            TestKind::Call {
                args: TestArgs::Json(json),
                ..
            } => {
                format!(
                    "import json\ncandidate(*json.loads({}))",
                    json_literal(json)
                )
            }
            TestKind::Call {
                args: TestArgs::Python(source),
                ..
            } => format!("candidate({source})"),
        };
        script.push_str(&format!(
            "try:\n    exec({}, dict(globals()))\nexcept BaseException:\n    pass\n",
            json_literal(&code)
        ));
    }
    script
}

/// A JSON string literal is also a Python string literal.
fn json_literal(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialize")
}

/// The localization benchmark on mutants, as method → figures.
fn localization(
    suite: &Suite,
    problems: &[Problem],
    workers: &Workers,
) -> Result<Vec<(String, Json)>, BenchError> {
    let bench = LocalizationBench {
        samples: None,
        mutants: MutateSettings {
            per_problem: suite.mutants_per_problem,
            seed: 0,
        },
        mutation_budget: suite.mutation_budget,
        fit: false,
        cases: None,
    };
    let figures = measure(&bench, problems, workers)?.table.json();
    let wanted = ["combined", "divergence", "ochiai", "trivial", "random"];
    Ok(wanted
        .iter()
        .filter_map(|m| figures.get(*m).map(|f| (m.to_string(), f.clone())))
        .collect())
}

fn markdown(rows: &[Row], tracing: &Json) -> String {
    let mut text = String::from(
        "| benchmark | measure | tracealign | baseline | ratio |\n| --- | --- | ---: | --- | ---: |\n",
    );
    for row in rows {
        let (baseline, ratio) = match &row.baseline {
            Some((name, value)) => (
                format!("{name}: {value:.2} {}", row.unit),
                format!("{:.2}×", row.value / value),
            ),
            None => (String::new(), String::new()),
        };
        text.push_str(&format!(
            "| {} | {} | {:.2} {} | {baseline} | {ratio} |\n",
            row.benchmark, row.measure, row.value, row.unit
        ));
    }
    for mode in ["coverage", "full"] {
        let t = &tracing[mode];
        text.push_str(&format!(
            "\n{mode}: {} {} recorded, {} bytes stored",
            t["events"],
            if mode == "full" {
                "events"
            } else {
                "covered lines"
            },
            t["bytes"]
        ));
    }
    text.push('\n');
    text
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
