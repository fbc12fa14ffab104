//! The `run` step: samples (a file, the embedded faulty samples, or the reference
//! solutions) executed into a runs file, with the counts people and scripts read after.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use tracealign_core::formats::runs::{finished_samples, RunsWriter};
use tracealign_core::formats::samples::read_samples;
use tracealign_core::{embedded, Execution, Problem, Sample, Verdict};
use tracealign_exec::{Executor, PreparedProblem};

use crate::progress::Progress;

/// Which programs a run executes.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum SampleSource {
    /// The problems' reference solutions, as `<problem>#reference` samples.
    References,
    /// The embedded faulty samples (of the embedded problems).
    Embedded,
    /// A samples file (ours, or HumanEval/EvalPlus style).
    File(PathBuf),
}

/// Why samples cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum SamplesError {
    #[error("{count} sample(s) in {path} name problems that are not in the problem set: {listed}")]
    UnknownProblems {
        path: PathBuf,
        count: usize,
        listed: String,
    },
    #[error(transparent)]
    Format(#[from] tracealign_core::Error),
}

/// The samples a source names, and how many of a file's samples name unknown problems
/// (allowed only with `skip_unknown`: returned as a warning).
pub fn load_samples(
    source: &SampleSource,
    problems: &[Problem],
    skip_unknown: bool,
) -> Result<(Vec<Sample>, Option<String>), SamplesError> {
    let path = match source {
        SampleSource::References => {
            return Ok((problems.iter().map(Sample::reference).collect(), None))
        }
        SampleSource::Embedded => return Ok((embedded::samples()?, None)),
        SampleSource::File(path) => path,
    };
    let file = read_samples(path, problems)?;
    if file.unknown.is_empty() {
        return Ok((file.samples, None));
    }
    let mut listed: Vec<String> = (file.unknown.iter().take(5))
        .map(|(line, id)| format!("`{id}` (line {line})"))
        .collect();
    if file.unknown.len() > 5 {
        listed.push(format!("and {} more", file.unknown.len() - 5));
    }
    let error = SamplesError::UnknownProblems {
        path: path.clone(),
        count: file.unknown.len(),
        listed: listed.join(", "),
    };
    match skip_unknown {
        true => Ok((file.samples, Some(format!("{error}; skipping them")))),
        false => Err(error),
    }
}

/// Runs `samples` on `executor`, each execution written to `writer` and counted in
/// `summary` as it ends; returns the summary with its timings (from when the summary's step
/// began, so that starting workers and preparing problems count as preparing). The first
/// write error stops the writing (the runs go on) and is returned.
pub fn run_into(
    executor: &Executor,
    prepared: &[PreparedProblem],
    samples: &[Sample],
    writer: &mut RunsWriter,
    mut summary: RunSummary,
    progress: &dyn Progress,
) -> tracealign_core::Result<RunSummary> {
    let running = Instant::now();
    let mut write_error = None;
    progress.begin("samples", samples.len());
    executor.run(prepared, samples, |execution| {
        summary.add(&execution);
        if write_error.is_none() {
            write_error = writer.write(execution).err();
        }
        progress.message(&summary.short());
        progress.advance();
    });
    progress.end();
    if let Some(error) = write_error {
        return Err(error);
    }
    summary.finish(running.elapsed().as_secs_f64());
    Ok(summary)
}

/// The runs file to write `samples`' executions to: continued (`resume`: the samples it
/// already holds are taken out of `samples`, an unfinished last line cut) or created anew.
/// Returns the writer and how many samples were already done.
pub fn open_runs(
    path: &Path,
    resume: bool,
    samples: &mut Vec<Sample>,
) -> tracealign_core::Result<(RunsWriter, usize)> {
    if !resume {
        return Ok((RunsWriter::create(path)?, 0));
    }
    let finished = finished_samples(path)?;
    let before = samples.len();
    samples.retain(|s| !finished.contains(&s.sample_id));
    Ok((RunsWriter::append(path)?, before - samples.len()))
}

/// Whether the runs file holds anything: a run into it must continue it or replace it.
pub fn holds_runs(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 0)
}

/// Counts over a run's samples and tests.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunSummary {
    pub problems: usize,
    /// Samples run in this invocation.
    pub samples: usize,
    /// Samples skipped because an earlier run finished them (resumed).
    pub resumed: usize,
    pub passed: usize,
    pub failed: usize,
    pub error: usize,
    pub timeout: usize,
    pub tests: usize,
    /// Test outcomes by name (`passed`, `failed`, `error`, `timeout`, `memory_limit`, ...).
    pub test_outcomes: BTreeMap<&'static str, usize>,
    /// The whole step, start-up and reference runs included.
    pub wall_s: f64,
    /// `samples / wall_s`.
    pub samples_per_s: f64,
    /// Starting workers and running the reference solutions.
    pub prepare_s: f64,
    /// Running the samples only.
    pub run_s: f64,
    /// `samples / run_s`.
    pub run_samples_per_s: f64,
    /// When the step began.
    #[serde(skip)]
    started: Instant,
}

impl RunSummary {
    pub fn new(problems: usize, resumed: usize) -> RunSummary {
        RunSummary {
            problems,
            samples: 0,
            resumed,
            passed: 0,
            failed: 0,
            error: 0,
            timeout: 0,
            tests: 0,
            test_outcomes: BTreeMap::new(),
            wall_s: 0.0,
            samples_per_s: 0.0,
            prepare_s: 0.0,
            run_s: 0.0,
            run_samples_per_s: 0.0,
            started: Instant::now(),
        }
    }

    /// The same, its step having begun at `started` (before reading inputs, say).
    pub fn since(self, started: Instant) -> RunSummary {
        RunSummary { started, ..self }
    }

    pub fn add(&mut self, execution: &Execution) {
        self.samples += 1;
        match execution.verdict() {
            Verdict::Passed => self.passed += 1,
            Verdict::Failed => self.failed += 1,
            Verdict::Error => self.error += 1,
            Verdict::Timeout => self.timeout += 1,
        }
        for test in &execution.tests {
            self.tests += 1;
            *self.test_outcomes.entry(test.outcome.name()).or_default() += 1;
        }
    }

    /// Sets the timings: `run_s` spent running the samples, the rest since the step began.
    pub fn finish(&mut self, run_s: f64) {
        let wall_s = self.started.elapsed().as_secs_f64();
        let rate = |seconds: f64| match seconds > 0.0 {
            true => self.samples as f64 / seconds,
            false => 0.0,
        };
        self.wall_s = wall_s;
        self.samples_per_s = rate(wall_s);
        self.run_s = run_s;
        self.prepare_s = wall_s - run_s;
        self.run_samples_per_s = rate(run_s);
    }

    /// One line for a progress bar.
    pub fn short(&self) -> String {
        format!(
            "pass {} fail {} error {} timeout {}",
            self.passed, self.failed, self.error, self.timeout
        )
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("summaries serialize") + "\n"
    }

    fn rows(&self) -> Vec<(String, String)> {
        let percent = |n: usize| match self.samples {
            0 => 0.0,
            all => 100.0 * n as f64 / all as f64,
        };
        let mut rows = vec![
            ("problems".to_string(), self.problems.to_string()),
            ("samples".to_string(), self.samples.to_string()),
        ];
        if self.resumed > 0 {
            rows.push(("already done".into(), self.resumed.to_string()));
        }
        for (name, count) in [
            ("passed", self.passed),
            ("failed", self.failed),
            ("error", self.error),
            ("timeout", self.timeout),
        ] {
            rows.push((
                format!("  {name}"),
                format!("{count} ({:.1}%)", percent(count)),
            ));
        }
        rows.push(("tests".into(), self.tests.to_string()));
        for (name, count) in &self.test_outcomes {
            rows.push((format!("  {name}"), count.to_string()));
        }
        rows.push((
            "wall time".into(),
            format!("{:.2} s ({:.2} s preparing)", self.wall_s, self.prepare_s),
        ));
        rows.push((
            "samples/s".into(),
            format!(
                "{:.1} ({:.1} running samples only)",
                self.samples_per_s, self.run_samples_per_s
            ),
        ));
        rows
    }
}

/// The table people read.
impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows = self.rows();
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (key, value) in rows {
            writeln!(f, "{key:<width$}  {value}")?;
        }
        Ok(())
    }
}
