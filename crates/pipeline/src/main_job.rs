//! The main job (`tracealign pipeline`): mutants → samples → runs with traces (and the
//! reference solutions, traced once with the same caps) → fault reports → SFT, DPO, repair
//! and reward rows → evaluation → report, each stage writing one output in the job's
//! directory and calling the library's steps directly, on the stage graph (resumable).
//!
//! The problems are read once; the traced executor is started once for the samples and the
//! references; the runs, references and fault reports are read once per process, by the
//! first stage that needs them after they were written.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

use serde_json::json;
use tracealign_core::formats::faults::{read_faults, write_faults, Faults};
use tracealign_core::formats::runs::{read_runs, RunsWriter};
use tracealign_core::formats::samples::{read_samples, write_samples};
use tracealign_core::{Execution, Problem, Sample};
use tracealign_dataset::dpo::DpoOptions;
use tracealign_dataset::repair::RepairOptions;
use tracealign_dataset::rewards::RewardOptions;
use tracealign_dataset::rows::write_jsonl;
use tracealign_dataset::sft::SftOptions;
use tracealign_dataset::Aligner;
use tracealign_eval::{Evaluation, LocalizationFigures};
use tracealign_exec::{Executor, PreparedProblem, TraceMode};
use tracealign_localize::Method;

use crate::job_error::JobError;
use crate::layout::{OutputLayout, RowKind};
use crate::localization::{localize_with, LocalizeInputs, LocalizeSettings};
use crate::mutants::{kill_mutants, MutateSettings};
use crate::problem_set::ProblemSource;
use crate::progress::Progress;
use crate::report::{self, write_report, ReportInputs};
use crate::rows::{self, RowInputs, SftSettings};
use crate::runs::{load_samples, open_runs, run_into, RunSummary, SampleSource};
use crate::stages::{run_stages, Job, Stage, StageEvent, Start};
use crate::workers::{ExecSettings, Workers};

/// What the main job does.
#[derive(Debug, Clone)]
pub struct PipelineSettings {
    pub problems: ProblemSource,
    /// Samples to run besides the mutants; `None`: the embedded samples with the embedded
    /// problems, none with a problem file.
    pub samples: Option<PathBuf>,
    pub mutants: MutateSettings,
    /// A tokenizer.json for the rows' token columns.
    pub tokenizer: Option<PathBuf>,
    /// How every program runs (trace caps included: samples and references share them).
    pub exec: ExecSettings,
    pub localization: Method,
    /// Mutants per failing program for localization. Off by default: mutants of every
    /// failing program cost more than the rest of the pipeline together, for a signal whose
    /// weight in the combination is small.
    pub mutation_budget: usize,
}

impl PipelineSettings {
    pub fn new(exec: ExecSettings) -> PipelineSettings {
        PipelineSettings {
            problems: ProblemSource::default(),
            samples: None,
            mutants: MutateSettings {
                per_problem: 2,
                seed: 0,
            },
            tokenizer: None,
            exec,
            localization: Method::Combined,
            mutation_budget: 0,
        }
    }
}

/// The main job's stages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PipelineStage {
    Mutants,
    Samples,
    Runs,
    References,
    Faults,
    Rows(RowKind),
    Eval,
    Report,
}

/// The stages, in order, with what each reads and writes (nothing runs).
pub fn plan(settings: &PipelineSettings, layout: &OutputLayout) -> Vec<Stage<PipelineStage>> {
    let problems = &settings.problems;
    let p = problems.arguments();
    let exec = settings.exec.fingerprint();
    let traced = settings.exec.traced_fingerprint();
    let caps = settings.exec.trace_cap_arguments();
    let out = |path: PathBuf| path.display().to_string();
    let stage = |name: &str, kind, output: PathBuf| {
        Stage::new(name, kind)
            .output(output)
            .reads(problems.reads())
    };
    let mut stages = vec![
        stage("mutants", PipelineStage::Mutants, layout.mutants())
            .settings(&json!({"problems": problems, "mutate": settings.mutants, "exec": exec}))
            .command(format!(
                "tracealign mutate{p} --per-problem {} --seed {} -o {}",
                settings.mutants.per_problem,
                settings.mutants.seed,
                out(layout.mutants())
            )),
        Stage::new("samples", PipelineStage::Samples)
            .after(&["mutants"])
            .output(layout.samples())
            .reads(settings.samples.iter().cloned())
            .reads(problems.reads())
            .settings(&json!({"samples": settings.samples}))
            .command(format!(
                "cat {}{} > {}",
                match (&settings.samples, &problems.path) {
                    (Some(path), _) => format!("{} ", out(path.clone())),
                    (None, None) => "(the embedded samples) ".into(),
                    (None, Some(_)) => String::new(),
                },
                out(layout.mutants()),
                out(layout.samples())
            )),
        stage("runs", PipelineStage::Runs, layout.runs())
            .after(&["samples"])
            .settings(&json!({"problems": problems, "exec": traced, "trace": "full"}))
            .command(format!(
                "tracealign run{p} -s {} -o {} --trace full{caps}",
                out(layout.samples()),
                out(layout.runs())
            )),
        stage("references", PipelineStage::References, layout.references())
            .settings(&json!({"problems": problems, "exec": traced, "trace": "full"}))
            .command(format!(
                "tracealign run{p} -o {} --trace full{caps}",
                out(layout.references())
            )),
        stage("faults", PipelineStage::Faults, layout.faults())
            .after(&["runs", "references"])
            .settings(&json!({
                "method": settings.localization.name(),
                "mutation_budget": settings.mutation_budget,
                "exec": traced,
            }))
            .command(format!(
                "tracealign localize {}{p} --method {} --mutation-budget {}{caps} -o {}",
                out(layout.runs()),
                settings.localization.name(),
                settings.mutation_budget,
                out(layout.faults())
            )),
    ];
    for kind in RowKind::ALL {
        let tokenizer = settings.tokenizer.as_ref();
        let mut command = format!(
            "tracealign build {}{p} --runs {} --faults {} -o {}",
            kind.name(),
            out(layout.runs()),
            out(layout.faults()),
            out(layout.rows(kind))
        );
        if let Some(path) = tokenizer {
            command.push_str(&format!(" --tokenizer {}", path.display()));
        }
        stages.push(
            stage(kind.name(), PipelineStage::Rows(kind), layout.rows(kind))
                .after(&["runs", "faults"])
                .reads(tokenizer.cloned())
                .settings(&json!({"kind": kind, "tokenizer": tokenizer, "exec": exec}))
                .command(command),
        );
    }
    stages.push(
        stage("eval", PipelineStage::Eval, layout.eval())
            .after(&["samples", "runs", "faults"])
            .settings(&json!({"k": [1]}))
            .command(format!(
                "tracealign eval{p} --runs {} --samples {} --faults {} -k 1 -o {}",
                out(layout.runs()),
                out(layout.samples()),
                out(layout.faults()),
                out(layout.dir.clone())
            )),
    );
    stages.push(
        stage("report", PipelineStage::Report, layout.report())
            .after(&["samples", "runs", "references", "faults", "sft", "eval"])
            .command(format!("tracealign report {}{p}", out(layout.dir.clone()))),
    );
    stages
}

/// What the job left in its directory.
#[derive(Debug)]
pub struct PipelineOutcome {
    pub dir: PathBuf,
    /// Each JSON Lines output with its row count.
    pub files: Vec<(String, usize)>,
    /// The run of the samples, when it ran in this call.
    pub runs: Option<RunSummary>,
    /// The user's programs scored (mutants left out), with localization on the mutants.
    pub evaluation: Evaluation,
}

impl fmt::Display for PipelineOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.evaluation;
        if let Some(one) = e.pass_at(1) {
            writeln!(
                f,
                "pass@1 {:.1}% (your programs: {} of {} passed, {})",
                one.mean * 100.0,
                e.passed,
                e.samples,
                count(e.problems, "problem")
            )?;
        }
        if let Some(l) = &e.localization {
            writeln!(
                f,
                "localization top-1 {:.1}% on {} (synthetic faults, not scored above; \
                 an upper bound: each is compared with the reference it came from)",
                l.accuracy.top1 * 100.0,
                count(l.accuracy.cases, "mutant")
            )?;
        }
        writeln!(f, "outputs in {}:", self.dir.display())?;
        for (name, rows) in &self.files {
            let unit = if *rows == 1 { "row" } else { "rows" };
            writeln!(f, "  {name:<20} {rows:>7} {unit}")?;
        }
        Ok(())
    }
}

/// `n word` or `n words`.
fn count(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Runs the main job into `layout`, resuming where an earlier call stopped.
pub fn run_pipeline(
    settings: &PipelineSettings,
    layout: &OutputLayout,
    progress: &dyn Progress,
    on_event: &mut dyn FnMut(StageEvent<'_>),
) -> Result<PipelineOutcome, JobError> {
    let stages = plan(settings, layout);
    let mut job = MainJob {
        problems: settings.problems.load()?,
        settings,
        layout,
        progress,
        traced: None,
        runs: None,
        references: None,
        faults: None,
        truth: None,
        aligner: None,
        run_summary: None,
    };
    run_stages(&layout.dir, &stages, &mut job, on_event)?;
    let files = report::files(&layout.dir).map_err(|source| JobError::Write {
        path: layout.dir.clone(),
        source,
    })?;
    Ok(PipelineOutcome {
        dir: layout.dir.clone(),
        files,
        runs: job.run_summary,
        evaluation: report::read_evaluation(&layout.eval())?,
    })
}

/// The job's state: what stages made or read, kept for the stages after them.
struct MainJob<'a> {
    settings: &'a PipelineSettings,
    layout: &'a OutputLayout,
    progress: &'a dyn Progress,
    problems: Vec<Problem>,
    /// The traced executor with every problem prepared (samples and references share it).
    traced: Option<(Executor, Vec<PreparedProblem>)>,
    runs: Option<Vec<Execution>>,
    references: Option<Vec<Execution>>,
    faults: Option<Faults>,
    /// The mutants' known faulty lines by sample id, read from the samples once.
    truth: Option<HashMap<String, Vec<u32>>>,
    /// The tokenizer every row kind aligns with, read once.
    aligner: Option<Option<Aligner>>,
    run_summary: Option<RunSummary>,
}

impl Job for MainJob<'_> {
    type Kind = PipelineStage;
    type Error = JobError;

    fn run_stage(&mut self, stage: &Stage<PipelineStage>, start: Start) -> Result<(), JobError> {
        match stage.kind {
            PipelineStage::Mutants => self.mutants(),
            PipelineStage::Samples => self.samples(),
            PipelineStage::Runs => self.runs(start),
            PipelineStage::References => self.references(),
            PipelineStage::Faults => self.faults(),
            PipelineStage::Rows(kind) => self.rows(kind),
            PipelineStage::Eval => self.eval(),
            PipelineStage::Report => self.report(),
        }
    }
}

impl MainJob<'_> {
    fn workers(&self) -> Workers<'_> {
        Workers {
            settings: &self.settings.exec,
            progress: self.progress,
        }
    }

    fn mutants(&mut self) -> Result<(), JobError> {
        let workers = self.workers();
        let executor = workers.start(TraceMode::None)?;
        let prepared = workers.prepare(&executor, &self.problems)?;
        let killed = kill_mutants(
            &executor,
            &prepared,
            &self.problems,
            self.settings.mutants,
            self.progress,
        );
        write_samples(&self.layout.mutants(), killed.iter().map(|(s, _)| s))?;
        Ok(())
    }

    /// The user's samples (the embedded ones with the embedded problems; with a problem
    /// file and no samples, the mutants alone), then the mutants.
    fn samples(&mut self) -> Result<(), JobError> {
        let source = match (&self.settings.samples, &self.settings.problems.path) {
            (Some(path), _) => Some(SampleSource::File(path.clone())),
            (None, None) => Some(SampleSource::Embedded),
            (None, Some(_)) => None,
        };
        let mut samples = match source {
            Some(source) => load_samples(&source, &self.problems, false)?.0,
            None => Vec::new(),
        };
        samples.extend(read_samples(&self.layout.mutants(), &self.problems)?.samples);
        write_samples(&self.layout.samples(), &samples)?;
        self.truth = None;
        Ok(())
    }

    /// The traced executor, started and every problem prepared on first use.
    fn traced(&mut self) -> Result<&(Executor, Vec<PreparedProblem>), JobError> {
        if self.traced.is_none() {
            let workers = self.workers();
            let executor = workers.start(TraceMode::Full)?;
            let prepared = workers.prepare(&executor, &self.problems)?;
            self.traced = Some((executor, prepared));
        }
        Ok(self.traced.as_ref().expect("started above"))
    }

    fn runs(&mut self, start: Start) -> Result<(), JobError> {
        let started = Instant::now();
        let source = SampleSource::File(self.layout.samples());
        let (mut samples, _) = load_samples(&source, &self.problems, false)?;
        let resume = start == Start::Continue;
        let (mut writer, done) = open_runs(&self.layout.runs(), resume, &mut samples)?;
        let summary = RunSummary::new(self.problems.len(), done).since(started);
        let progress = self.progress;
        let (executor, prepared) = self.traced()?;
        let summary = run_into(executor, prepared, &samples, &mut writer, summary, progress)?;
        self.run_summary = Some(summary);
        self.runs = None;
        Ok(())
    }

    fn references(&mut self) -> Result<(), JobError> {
        let samples: Vec<Sample> = self.problems.iter().map(Sample::reference).collect();
        let mut writer = RunsWriter::create(&self.layout.references())?;
        let summary = RunSummary::new(self.problems.len(), 0);
        let progress = self.progress;
        let (executor, prepared) = self.traced()?;
        run_into(executor, prepared, &samples, &mut writer, summary, progress)?;
        self.references = None;
        Ok(())
    }

    fn loaded_runs(&mut self) -> Result<&[Execution], JobError> {
        loaded(&mut self.runs, &self.layout.runs())
    }

    fn loaded_references(&mut self) -> Result<&[Execution], JobError> {
        loaded(&mut self.references, &self.layout.references())
    }

    fn loaded_faults(&mut self) -> Result<&Faults, JobError> {
        if self.faults.is_none() {
            self.faults = Some(read_faults(&self.layout.faults())?);
        }
        Ok(self.faults.as_ref().expect("read above"))
    }

    /// Fault reports of the runs, the references coming from the references stage and any
    /// rerun done on the traced executor of the runs when this call started one (else
    /// localization starts one only if something needs running).
    fn faults(&mut self) -> Result<(), JobError> {
        self.loaded_runs()?;
        self.loaded_references()?;
        let settings = LocalizeSettings {
            method: self.settings.localization,
            mutation_budget: self.settings.mutation_budget,
            exec: self.settings.exec.clone(),
        };
        let inputs = LocalizeInputs {
            problems: &self.problems,
            executions: self.runs.as_deref().expect("loaded"),
            references: self.references.as_deref().expect("loaded"),
            traced: (self.traced.as_ref()).map(|(executor, prepared)| (executor, &prepared[..])),
        };
        let reports = localize_with(&settings, &inputs, self.progress)?;
        write_faults(&self.layout.faults(), &reports)?;
        self.faults = None;
        Ok(())
    }

    fn loaded_truth(&mut self) -> Result<&HashMap<String, Vec<u32>>, JobError> {
        if self.truth.is_none() {
            let samples = self.layout.samples();
            self.truth = Some(report::known_faults(&samples, &self.problems)?);
        }
        Ok(self.truth.as_ref().expect("read above"))
    }

    fn rows(&mut self, kind: RowKind) -> Result<(), JobError> {
        if self.aligner.is_none() {
            let tokenizer = self.settings.tokenizer.as_deref();
            self.aligner = Some(tokenizer.map(Aligner::from_file).transpose()?);
        }
        self.loaded_runs()?;
        self.loaded_faults()?;
        let inputs = RowInputs {
            problems: &self.problems,
            executions: self.runs.as_deref().expect("loaded"),
            faults: self.faults.as_ref(),
            aligner: self.aligner.as_ref().expect("read above").as_ref(),
        };
        let path = self.layout.rows(kind);
        match kind {
            RowKind::Sft => {
                let settings = SftSettings {
                    options: SftOptions::default(),
                    mutants: 4,
                    run_mutants: true,
                    seed: 0,
                };
                write_jsonl(
                    &path,
                    &rows::sft_rows(&inputs, &settings, &self.workers())?.rows,
                )?
            }
            RowKind::Dpo => write_jsonl(
                &path,
                &rows::dpo_rows(&inputs, &DpoOptions::default())?.rows,
            )?,
            RowKind::Repair => write_jsonl(
                &path,
                &rows::repair_rows(&inputs, &RepairOptions::default())?.rows,
            )?,
            RowKind::Rewards => write_jsonl(
                &path,
                &rows::reward_rows(&inputs, &RewardOptions::default())?.rows,
            )?,
        }
        Ok(())
    }

    /// pass@1 of the user's programs (the mutants are synthetic: counting them would report
    /// the pass rate of our faults, not the model's), and localization against the mutants'
    /// known faults.
    fn eval(&mut self) -> Result<(), JobError> {
        self.loaded_truth()?;
        self.loaded_runs()?;
        self.loaded_faults()?;
        let truth = self.truth.as_ref().expect("read above");
        let runs = self.runs.as_deref().expect("read above");
        let mut evaluation = Evaluation::of(&report::without(runs, truth), &[1]);
        let reports = &self.faults.as_ref().expect("read above").reports;
        let reports: Vec<_> = reports.iter().map(|(_, r)| r.clone()).collect();
        evaluation.localization = LocalizationFigures::of(&reports, truth);
        let path = self.layout.eval();
        let text = serde_json::to_string_pretty(&evaluation).expect("evaluations serialize");
        std::fs::write(&path, text + "\n").map_err(|source| JobError::Write { path, source })
    }

    fn report(&mut self) -> Result<(), JobError> {
        self.loaded_truth()?;
        let evaluation = report::read_evaluation(&self.layout.eval())?;
        self.loaded_runs()?;
        self.loaded_references()?;
        let faults: Vec<_> = (self.loaded_faults()?.reports.iter())
            .map(|(_, r)| r.clone())
            .collect();
        let sft = self.layout.rows(RowKind::Sft);
        let inputs = ReportInputs {
            title: "tracealign pipeline".into(),
            place: self.layout.dir.display().to_string(),
            problems: &self.problems,
            executions: self.runs.as_deref().expect("loaded"),
            references: self.references.as_deref().expect("loaded"),
            faults: &faults,
            truth: self.truth.as_ref().expect("read above"),
            evaluation: Some(evaluation),
            sft_rows: Some(&sft),
            programs: None,
        };
        Ok(write_report(
            &inputs,
            &self.layout.dir,
            &self.layout.report(),
        )?)
    }
}

/// The executions in `slot`, read from `path` the first time.
fn loaded<'a>(
    slot: &'a mut Option<Vec<Execution>>,
    path: &std::path::Path,
) -> Result<&'a [Execution], JobError> {
    if slot.is_none() {
        *slot = Some(read_runs(path)?);
    }
    Ok(slot.as_deref().expect("read above"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each stage as `name [after] $ command`, for snapshots.
    fn listing<K>(stages: &[Stage<K>]) -> String {
        stages
            .iter()
            .map(|s| format!("{} [{}] $ {}\n", s.name, s.after.join(", "), s.command))
            .collect()
    }

    #[test]
    fn the_main_job_plans_its_stages() {
        let mut settings = PipelineSettings::new(ExecSettings::new("python3".into()));
        settings.problems = ProblemSource::file("HumanEval.jsonl.gz");
        settings.samples = Some("samples.jsonl".into());
        settings.exec.config.trace_limits.max_events = 20_000;
        insta::assert_snapshot!(listing(&plan(&settings, &OutputLayout::new("OUT"))));
    }
}
