//! The evaluation job (`tracealign eval`): programs (a samples file, the embedded samples,
//! ones generated now, or a runs file) → runs → pass@k, failure categories and, with fault
//! reports, localization accuracy → report, on the stage graph: a rerun keeps the samples
//! and runs made the same way and does only what is missing.
//!
//! Generation is the front end's: a [`Generator`] (an OpenAI-compatible server, a local
//! model) writes the samples file, so this crate needs no model code.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;
use tracealign_core::formats::faults::{read_faults, write_faults};
use tracealign_core::formats::runs::read_runs;
use tracealign_core::Problem;
use tracealign_eval::{Evaluation, LocalizationFigures};
use tracealign_exec::TraceMode;

use crate::job_error::JobError;
use crate::layout::OutputLayout;
use crate::localization::{localize, LocalizeSettings};
use crate::problem_set::ProblemSource;
use crate::progress::Progress;
use crate::report::{self, write_report, ReportInputs};
use crate::runs::{holds_runs, load_samples, open_runs, run_into, RunSummary, SampleSource};
use crate::stages::{run_stages, Job, Stage, StageEvent, Start};
use crate::workers::{ExecSettings, Workers};

/// Writes samples of every problem into a file (a model, a server).
pub trait Generator {
    /// What changes the samples (source, sampling settings): a change regenerates them.
    fn settings(&self) -> serde_json::Value;
    /// The equivalent command line, for people.
    fn command(&self) -> String;
    /// Writes samples of `to.problems` to `to.path`, continuing what an interrupted call
    /// wrote there when `to.start` says so.
    fn generate(&self, to: &Generation) -> Result<(), GenerateError>;
}

/// Why a [`Generator`] failed (its own error type, boxed).
pub type GenerateError = Box<dyn std::error::Error + Send + Sync>;

/// What a [`Generator`] is asked to make.
pub struct Generation<'a> {
    pub problems: &'a [Problem],
    pub path: &'a Path,
    pub start: Start,
    pub progress: &'a dyn Progress,
}

/// Where the evaluated programs come from.
pub enum EvalPrograms<'a> {
    /// Samples to run (a file or the embedded samples).
    Samples(SampleSource),
    /// Samples generated now into `OUT/samples.jsonl`, then run.
    Generated(&'a dyn Generator),
    /// A runs file: scored as it is (its samples file, when given, supplies the mutants'
    /// known faults for localization).
    Runs {
        runs: PathBuf,
        samples: Option<PathBuf>,
    },
}

/// What the evaluation job does.
pub struct EvalSettings<'a> {
    pub problems: ProblemSource,
    pub programs: EvalPrograms<'a>,
    /// The ks of pass@k.
    pub ks: Vec<usize>,
    /// Fault reports to score against the samples' known faults (mutants').
    pub faults: Option<PathBuf>,
    /// Localize the runs' failures into `OUT/faults.jsonl` (the report's heat maps, and
    /// localization figures when the samples have known faults).
    pub localize: Option<LocalizeSettings>,
    /// How programs run; `config.trace` is what the runs record.
    pub exec: ExecSettings,
    /// Failing programs the report shows.
    pub report_programs: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EvalStage {
    Generate,
    Run,
    Localize,
    Score,
    Report,
}

/// The stages, in order (nothing runs).
pub fn plan(settings: &EvalSettings, layout: &OutputLayout) -> Vec<Stage<EvalStage>> {
    let problems = &settings.problems;
    let p = problems.arguments();
    let mut stages = Vec::new();
    let samples = match &settings.programs {
        EvalPrograms::Generated(generator) => {
            stages.push(
                Stage::new("samples", EvalStage::Generate)
                    .output(layout.samples())
                    .reads(problems.reads())
                    .settings(&generator.settings())
                    .command(generator.command()),
            );
            Some(layout.samples())
        }
        EvalPrograms::Samples(SampleSource::File(path)) => Some(path.clone()),
        EvalPrograms::Samples(_) => None,
        EvalPrograms::Runs { samples, .. } => samples.clone(),
    };
    let runs = match &settings.programs {
        EvalPrograms::Runs { runs, .. } => runs.clone(),
        _ => layout.runs(),
    };
    if !matches!(settings.programs, EvalPrograms::Runs { .. }) {
        let trace = trace_name(settings.exec.config.trace);
        let after: &[&str] = match settings.programs {
            EvalPrograms::Generated(_) => &["samples"],
            _ => &[],
        };
        let source = samples
            .as_ref()
            .map_or("embedded".into(), |s| s.display().to_string());
        stages.push(
            Stage::new("runs", EvalStage::Run)
                .after(after)
                .output(layout.runs())
                .reads(problems.reads())
                .reads(samples.clone().filter(|_| after.is_empty()))
                .settings(&json!({"problems": problems, "exec": settings.exec.traced_fingerprint(), "trace": trace}))
                .command(format!(
                    "tracealign run{p} -s {source} -o {} --trace {trace}",
                    layout.runs().display()
                )),
        );
    }
    let mut scored: Vec<&str> = match settings.programs {
        EvalPrograms::Runs { .. } => vec![],
        _ => vec!["runs"],
    };
    let mut external = vec![];
    if scored.is_empty() {
        external.push(runs.clone());
    }
    if let Some(localize) = &settings.localize {
        stages.push(
            Stage::new("faults", EvalStage::Localize)
                .after(&scored)
                .output(layout.faults())
                .reads(problems.reads())
                .reads(external.clone())
                .settings(&json!({
                    "method": localize.method.name(),
                    "mutation_budget": localize.mutation_budget,
                    "exec": localize.exec.traced_fingerprint(),
                }))
                .command(format!(
                    "tracealign localize {}{p} --mutation-budget {} -o {}",
                    runs.display(),
                    localize.mutation_budget,
                    layout.faults().display()
                )),
        );
        scored.push("faults");
    }
    external.extend(settings.faults.clone());
    let with_faults = settings.faults.is_some() || settings.localize.is_some();
    external.extend(samples.clone().filter(|_| with_faults));
    let ks: Vec<String> = settings.ks.iter().map(|k| k.to_string()).collect();
    stages.push(
        Stage::new("eval", EvalStage::Score)
            .after(&scored)
            .output(layout.eval())
            .reads(external)
            .settings(&json!({"k": settings.ks, "faults": settings.faults, "localize": settings.localize.is_some()}))
            .command(format!(
                "tracealign eval{p} --runs {} -k {} -o {}",
                runs.display(),
                ks.join(","),
                layout.dir.display()
            )),
    );
    stages.push(
        Stage::new("report", EvalStage::Report)
            .after(&["eval"])
            .output(layout.report())
            .reads(problems.reads())
            .settings(&json!({"programs": settings.report_programs}))
            .command(format!("tracealign report {}{p}", layout.dir.display())),
    );
    stages
}

/// What the evaluation job found.
#[derive(Debug)]
pub struct EvalOutcome {
    pub evaluation: Evaluation,
    /// The run of the samples, when it ran in this call.
    pub runs: Option<RunSummary>,
}

/// Runs the evaluation job into `layout`, keeping what an earlier call made the same way.
pub fn run_eval(
    settings: &EvalSettings,
    layout: &OutputLayout,
    progress: &dyn Progress,
    on_event: &mut dyn FnMut(StageEvent<'_>),
) -> Result<EvalOutcome, JobError> {
    let stages = plan(settings, layout);
    let mut job = EvalJob {
        problems: settings.problems.load()?,
        settings,
        layout,
        progress,
        run_summary: None,
    };
    run_stages(&layout.dir, &stages, &mut job, on_event)?;
    Ok(EvalOutcome {
        evaluation: report::read_evaluation(&layout.eval())?,
        runs: job.run_summary,
    })
}

struct EvalJob<'a> {
    settings: &'a EvalSettings<'a>,
    layout: &'a OutputLayout,
    progress: &'a dyn Progress,
    problems: Vec<Problem>,
    run_summary: Option<RunSummary>,
}

impl Job for EvalJob<'_> {
    type Kind = EvalStage;
    type Error = JobError;

    fn run_stage(&mut self, stage: &Stage<EvalStage>, start: Start) -> Result<(), JobError> {
        match stage.kind {
            EvalStage::Generate => self.generate(start),
            EvalStage::Run => self.run(start),
            EvalStage::Localize => self.localize(),
            EvalStage::Score => self.score(),
            EvalStage::Report => self.report(),
        }
    }
}

impl EvalJob<'_> {
    /// Samples from the generator; samples made otherwise are never replaced silently.
    fn generate(&mut self, start: Start) -> Result<(), JobError> {
        let EvalPrograms::Generated(generator) = &self.settings.programs else {
            unreachable!("planned with a generator only");
        };
        let path = self.layout.samples();
        if start == Start::Fresh && holds_runs(&path) {
            return Err(JobError::MadeOtherwise {
                path,
                what: "samples",
            });
        }
        let to = Generation {
            problems: &self.problems,
            path: &path,
            start,
            progress: self.progress,
        };
        generator.generate(&to).map_err(JobError::Generate)
    }

    fn sample_source(&self) -> SampleSource {
        match &self.settings.programs {
            EvalPrograms::Samples(source) => source.clone(),
            _ => SampleSource::File(self.layout.samples()),
        }
    }

    fn run(&mut self, start: Start) -> Result<(), JobError> {
        let started = Instant::now();
        let (mut samples, _) = load_samples(&self.sample_source(), &self.problems, false)?;
        let resume = start == Start::Continue;
        let (mut writer, done) = open_runs(&self.layout.runs(), resume, &mut samples)?;
        let workers = Workers {
            settings: &self.settings.exec,
            progress: self.progress,
        };
        let executor = workers.start(self.settings.exec.config.trace)?;
        let prepared = workers.prepare(&executor, &self.problems)?;
        let summary = RunSummary::new(self.problems.len(), done).since(started);
        let progress = self.progress;
        let summary = run_into(
            &executor,
            &prepared,
            &samples,
            &mut writer,
            summary,
            progress,
        )?;
        self.run_summary = Some(summary);
        Ok(())
    }

    fn runs_path(&self) -> PathBuf {
        match &self.settings.programs {
            EvalPrograms::Runs { runs, .. } => runs.clone(),
            _ => self.layout.runs(),
        }
    }

    /// The mutants' known faulty lines, from the samples file (none without one).
    fn truth(&self) -> Result<HashMap<String, Vec<u32>>, JobError> {
        let samples = match &self.settings.programs {
            EvalPrograms::Runs { samples, .. } => samples.clone(),
            EvalPrograms::Samples(SampleSource::File(path)) => Some(path.clone()),
            EvalPrograms::Generated(_) => Some(self.layout.samples()),
            EvalPrograms::Samples(_) => None,
        };
        match samples {
            Some(path) => Ok(report::known_faults(&path, &self.problems)?),
            None => Ok(HashMap::new()),
        }
    }

    /// The fault reports: the user's (`--faults`), or those localized here.
    fn faults_path(&self) -> Option<PathBuf> {
        let localized = self
            .settings
            .localize
            .as_ref()
            .map(|_| self.layout.faults());
        self.settings.faults.clone().or(localized)
    }

    fn localize(&mut self) -> Result<(), JobError> {
        let settings = self
            .settings
            .localize
            .as_ref()
            .expect("planned with settings");
        let executions = read_runs(&self.runs_path())?;
        let reports = localize(settings, &self.problems, &executions, self.progress)?;
        write_faults(&self.layout.faults(), &reports)?;
        Ok(())
    }

    fn score(&mut self) -> Result<(), JobError> {
        let executions = read_runs(&self.runs_path())?;
        let mut evaluation = Evaluation::of(&executions, &self.settings.ks);
        if let Some(faults) = self.faults_path() {
            let truth = self.truth()?;
            // Reports the user brought are for scoring: they need known faults. Reports
            // made here serve the report too, with or without them.
            if truth.is_empty() && self.settings.faults.is_some() {
                return Err(JobError::NoTruth);
            }
            let reports = read_faults(&faults)?.into_reports();
            evaluation.localization = LocalizationFigures::of(&reports, &truth);
        }
        let path = self.layout.eval();
        let text = serde_json::to_string_pretty(&evaluation).expect("evaluations serialize");
        std::fs::write(&path, text + "\n").map_err(|source| JobError::Write { path, source })
    }

    fn report(&mut self) -> Result<(), JobError> {
        let executions = read_runs(&self.runs_path())?;
        let faults = match self.faults_path() {
            Some(path) => read_faults(&path)?.into_reports(),
            None => Vec::new(),
        };
        let truth = self.truth()?;
        let inputs = ReportInputs {
            title: "tracealign eval".into(),
            place: self.layout.dir.display().to_string(),
            problems: &self.problems,
            executions: &executions,
            references: &[],
            faults: &faults,
            truth: &truth,
            evaluation: Some(report::read_evaluation(&self.layout.eval())?),
            sft_rows: None,
            programs: self.settings.report_programs,
        };
        Ok(write_report(
            &inputs,
            &self.layout.dir,
            &self.layout.report(),
        )?)
    }
}

/// The trace mode's name in settings and command lines.
pub fn trace_name(mode: TraceMode) -> &'static str {
    match mode {
        TraceMode::None => "none",
        TraceMode::Coverage => "coverage",
        TraceMode::Full => "full",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing<K>(stages: &[Stage<K>]) -> String {
        stages
            .iter()
            .map(|s| format!("{} [{}] $ {}\n", s.name, s.after.join(", "), s.command))
            .collect()
    }

    fn settings(programs: EvalPrograms<'_>) -> EvalSettings<'_> {
        EvalSettings {
            problems: ProblemSource::file("HumanEval.jsonl.gz"),
            programs,
            ks: vec![1, 10],
            faults: None,
            localize: None,
            exec: ExecSettings::new("python3".into()),
            report_programs: None,
        }
    }

    #[test]
    fn the_evaluation_job_plans_its_stages() {
        let layout = OutputLayout::new("OUT");
        let samples = settings(EvalPrograms::Samples(SampleSource::File("s.jsonl".into())));
        let runs = settings(EvalPrograms::Runs {
            runs: "runs.jsonl".into(),
            samples: None,
        });
        let text = format!(
            "samples:\n{}\nruns:\n{}",
            listing(&plan(&samples, &layout)),
            listing(&plan(&runs, &layout))
        );
        insta::assert_snapshot!(text);
    }
}
