//! Running the experiment: the planned stages on the stage graph (a finished stage whose
//! fingerprint still matches is skipped; an interrupted one continues), each calling the
//! library steps directly — sampling and training in tracealign-train, running, localizing
//! and building rows in tracealign-pipeline, scoring in tracealign-eval — then the results
//! table from every evaluation and learning curve.
//!
//! Problem sets are read once per run and runs files once per stage that writes them, not
//! once per stage that reads them.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use tracealign_core::formats::faults::{read_faults, write_faults, Faults};
use tracealign_core::formats::runs::read_runs;
use tracealign_core::{Execution, Problem, Sample};
use tracealign_dataset::dpo::DpoOptions;
use tracealign_dataset::repair::{RepairOptions, Representation};
use tracealign_dataset::rows::write_jsonl;
use tracealign_dataset::sft::SftOptions;
use tracealign_dataset::SensitiveWeights;
use tracealign_eval::Evaluation;
use tracealign_exec::TraceMode;
use tracealign_localize::Method;
use tracealign_pipeline::report::{assemble_report, files, ReportInputs};
use tracealign_pipeline::rows::{dpo_rows, repair_rows, sft_rows};
use tracealign_pipeline::{
    load_samples, open_runs, run_into, run_stages, ExecSettings, Job, LocalizeSettings,
    ProblemSource, Progress, RowInputs, RunSummary, SampleSource, SftSettings, Stage, StageEvent,
    Start, Workers,
};
use tracealign_predict::answer::answer_rows;
use tracealign_predict::rows::interleave;
use tracealign_predict::{build_rows, read_rows, Checker, PredictOptions, Task};
use tracealign_rl::grpo::{train_grpo, GrpoRun};
use tracealign_train::sampling::{generate_into, problem_prompts, read_prompt_rows};
use tracealign_train::{train_adapter, ProgressEvent};

use crate::config::{Config, DataKind, ProblemSet};
use crate::error::{ExperimentError, StepError};
use crate::layout::{eval_files, Layout};
use crate::plan::{
    models, plan, problem_source, repair_conditions, repair_set, DataStep, EvalStep,
    ExperimentStage, GenerateStep, GrpoTrainStep, LocalizeStep, PredictionRowsStep, PredictionStep,
    Programs, RepairStep, RunStep, TrainStep,
};
use crate::results::{CurvePoint, Paired, RepairResult, ResultRow, Results, BASE};

/// Runs the experiment `config` describes into `out`: the problem subsets, every stage not
/// already done (`on_event` hears of each), then the results table, written as
/// `results.json`, `results.md` and `results.html` and returned.
pub fn run(
    config: &Config,
    out: &Path,
    exec: &ExecSettings,
    progress: &dyn Progress,
    on_event: &mut dyn FnMut(StageEvent<'_>),
) -> Result<Results, ExperimentError> {
    let layout = Layout::new(out);
    write_problem_subsets(config, &layout)?;
    let stages = plan(config, out, exec);
    let mut job = ExperimentJob::new(exec, progress);
    run_stages(out, &stages, &mut job, on_event)?;
    let results = collect_results(config, &layout)?;
    write_results(&layout, &results)?;
    Ok(results)
}

/// Runs each kind of stage by calling its step.
pub struct ExperimentJob<'a> {
    exec: &'a ExecSettings,
    progress: &'a dyn Progress,
    problems: Vec<(ProblemSource, Rc<Vec<Problem>>)>,
    runs: HashMap<PathBuf, Rc<Vec<Execution>>>,
}

impl Job for ExperimentJob<'_> {
    type Kind = ExperimentStage;
    type Error = ExperimentError;

    fn run_stage(
        &mut self,
        stage: &Stage<ExperimentStage>,
        start: Start,
    ) -> Result<(), ExperimentError> {
        // What the stage rewrites is read again by the stages after it.
        for output in &stage.outputs {
            self.runs.remove(output);
        }
        let result = match &stage.kind {
            ExperimentStage::Sample(step) => self.sample(step, start),
            ExperimentStage::Runs(step) | ExperimentStage::RepairRuns(step) => {
                self.run_traced(step, start)
            }
            ExperimentStage::Faults(step) | ExperimentStage::RepairFaults(step) => {
                self.localize(step)
            }
            ExperimentStage::Data(step) => self.data(step),
            ExperimentStage::Train(step) => self.train(step, start),
            ExperimentStage::Grpo(step) => self.grpo(step, start),
            ExperimentStage::Eval(step) => self.eval(step, start),
            ExperimentStage::RepairCondition(step) => self.repair(step, start),
            ExperimentStage::PredictionRows(step) => self.prediction_rows(step, start),
            ExperimentStage::Prediction(step) => self.prediction(step),
        };
        result.map_err(|source| ExperimentError::Stage {
            stage: stage.name.clone(),
            source: Box::new(source),
        })
    }
}

impl<'a> ExperimentJob<'a> {
    pub fn new(exec: &'a ExecSettings, progress: &'a dyn Progress) -> ExperimentJob<'a> {
        ExperimentJob {
            exec,
            progress,
            problems: Vec::new(),
            runs: HashMap::new(),
        }
    }

    fn workers(&self) -> Workers<'a> {
        Workers {
            settings: self.exec,
            progress: self.progress,
        }
    }

    /// A problem set, read on first use.
    fn problems(&mut self, source: &ProblemSource) -> Result<Rc<Vec<Problem>>, StepError> {
        if let Some((_, problems)) = self.problems.iter().find(|(s, _)| s == source) {
            return Ok(problems.clone());
        }
        let problems = Rc::new(source.load()?);
        self.problems.push((source.clone(), problems.clone()));
        Ok(problems)
    }

    /// A runs file (traces included), read on first use after the stage that wrote it.
    fn executions(&mut self, path: &Path) -> Result<Rc<Vec<Execution>>, StepError> {
        if let Some(runs) = self.runs.get(path) {
            return Ok(runs.clone());
        }
        let runs = Rc::new(read_runs(path)?);
        self.runs.insert(path.to_path_buf(), runs.clone());
        Ok(runs)
    }

    fn sample(&mut self, step: &GenerateStep, start: Start) -> Result<(), StepError> {
        let problems = self.problems(&step.problems)?;
        let prompts = problem_prompts(&problems);
        let resume = start == Start::Continue;
        generate_into(
            &step.generate,
            &prompts,
            &step.out,
            resume,
            &mut report_to(self.progress, "generating"),
        )?;
        self.progress.end();
        Ok(())
    }

    /// The samples, then the reference solutions, run with full traces into one runs file.
    fn run_traced(&mut self, step: &RunStep, start: Start) -> Result<(), StepError> {
        let problems = self.problems(&step.problems)?;
        let source = SampleSource::File(step.samples.clone());
        let (mut samples, _skipped) = load_samples(&source, &problems, step.skip_unknown)?;
        samples.extend(problems.iter().map(Sample::reference));
        self.run_programs(&problems, samples, &step.out, TraceMode::Full, start)
    }

    /// Runs `samples` into the runs file `out`; continuing, the samples it holds are kept
    /// and not run again.
    fn run_programs(
        &self,
        problems: &[Problem],
        samples: Vec<Sample>,
        out: &Path,
        trace: TraceMode,
        start: Start,
    ) -> Result<(), StepError> {
        let mut todo = samples;
        let (mut writer, done) = open_runs(out, start == Start::Continue, &mut todo)?;
        if todo.is_empty() {
            return Ok(());
        }
        let needed: HashSet<&str> = todo.iter().map(|s| s.problem_id.as_str()).collect();
        let problems: Vec<Problem> = (problems.iter())
            .filter(|p| needed.contains(p.id.as_str()))
            .cloned()
            .collect();
        let workers = self.workers();
        let executor = workers.start(trace)?;
        let prepared = workers.prepare(&executor, &problems)?;
        let summary = RunSummary::new(problems.len(), done);
        let progress = self.progress;
        run_into(&executor, &prepared, &todo, &mut writer, summary, progress)?;
        Ok(())
    }

    fn localize(&mut self, step: &LocalizeStep) -> Result<(), StepError> {
        let problems = self.problems(&step.problems)?;
        let executions = self.executions(&step.runs)?;
        let settings = LocalizeSettings {
            method: Method::Combined,
            mutation_budget: 0,
            exec: self.exec.clone(),
        };
        let reports =
            tracealign_pipeline::localize(&settings, &problems, &executions, self.progress)?;
        write_faults(&step.out, &reports)?;
        Ok(())
    }

    fn data(&mut self, step: &DataStep) -> Result<(), StepError> {
        let problems = self.problems(&step.problems)?;
        let executions = self.executions(&step.runs)?;
        let faults: Faults = read_faults(&step.faults)?;
        let inputs = RowInputs {
            problems: &problems,
            executions: &executions,
            faults: Some(&faults),
            aligner: None,
        };
        let sft = |options: SftOptions, mutants: usize| SftSettings {
            options,
            mutants,
            run_mutants: true,
            seed: 0,
        };
        match step.kind {
            DataKind::FaitSft => {
                let settings = sft(SftOptions::default(), step.mutants.unwrap_or(0));
                let built = sft_rows(&inputs, &settings, &self.workers())?;
                write_jsonl(&step.out, &built.rows)?;
            }
            DataKind::UniformSft | DataKind::TracedSft => {
                // Every character weighs 1: no diffs, so no mutants either.
                let options = SftOptions {
                    weights: SensitiveWeights {
                        alpha: 0.0,
                        beta: 0.0,
                    },
                    ..SftOptions::default()
                };
                let built = sft_rows(&inputs, &sft(options, 0), &self.workers())?;
                if step.kind == DataKind::UniformSft {
                    write_jsonl(&step.out, &built.rows)?;
                    return Ok(());
                }
                // Execution prediction from the same traced programs, one row per program
                // and kind, interleaved up to as many as the SFT rows.
                let options = PredictOptions {
                    tasks: vec![Task::Output, Task::Input, Task::Path, Task::State],
                    per_problem: 1,
                    failing: true,
                };
                let predictions = build_rows(&problems, &executions, &options);
                write_jsonl(&step.out, &interleave(&built.rows, &predictions))?;
            }
            DataKind::Dpo => {
                let options = DpoOptions {
                    fault_lines: step.fault_lines.unwrap_or(1),
                    ..DpoOptions::default()
                };
                write_jsonl(&step.out, &dpo_rows(&inputs, &options)?.rows)?;
            }
            DataKind::Repair => {
                // The study's feedback condition, and passing programs left alone.
                let options = RepairOptions {
                    representations: vec![Representation::Feedback],
                    leave_alone: true,
                    ..RepairOptions::default()
                };
                write_jsonl(&step.out, &repair_rows(&inputs, &options)?.rows)?;
            }
        }
        Ok(())
    }

    fn train(&mut self, step: &TrainStep, start: Start) -> Result<(), StepError> {
        let resume = start == Start::Continue;
        let mut report = report_to(self.progress, "training");
        train_adapter(&step.train, &step.data, &step.out, resume, &mut report)?;
        self.progress.end();
        Ok(())
    }

    /// GRPO on the training problems; a line of metrics per step (the stage's progress).
    fn grpo(&mut self, step: &GrpoTrainStep, start: Start) -> Result<(), StepError> {
        let problems = self.problems(&step.problems)?;
        let traced = self.exec.clone();
        let run = GrpoRun {
            model: &step.model,
            problems: &problems,
            exec: &traced,
            settings: &step.settings,
            threads: step.threads,
        };
        self.progress.begin("grpo steps", step.settings.steps);
        let progress = self.progress;
        train_grpo(&run, &step.out, start == Start::Continue, &mut |_| {
            progress.advance();
            ControlFlow::Continue(())
        })?;
        self.progress.end();
        Ok(())
    }

    fn eval(&mut self, step: &EvalStep, start: Start) -> Result<(), StepError> {
        let problems = self.problems(&step.problems)?;
        let samples = match &step.programs {
            Programs::Generate(settings) => {
                let path = step.dir.join(eval_files::SAMPLES);
                let prompts = problem_prompts(&problems);
                let resume = start == Start::Continue;
                let mut report = report_to(self.progress, "generating");
                generate_into(settings, &prompts, &path, resume, &mut report)?;
                self.progress.end();
                path
            }
            Programs::JudgedFrom(path) => path.clone(),
        };
        self.score(&problems, &samples, &step.dir, &step.ks, start)
    }

    /// Runs a samples file's programs into `dir` and scores them: `runs.jsonl`, `eval.json`
    /// and `report.html`.
    fn score(
        &mut self,
        problems: &[Problem],
        samples: &Path,
        dir: &Path,
        ks: &[usize],
        start: Start,
    ) -> Result<(), StepError> {
        let (samples, _) =
            load_samples(&SampleSource::File(samples.to_path_buf()), problems, false)?;
        let runs = dir.join(eval_files::RUNS);
        self.run_programs(problems, samples, &runs, TraceMode::None, start)?;
        let executions = read_runs(&runs)?;
        let evaluation = Evaluation::of(&executions, ks);
        let path = dir.join(eval_files::EVALUATION);
        let json = serde_json::to_string_pretty(&evaluation).expect("evaluations serialize");
        write(&path, json + "\n")?;
        let mut report = assemble_report(&ReportInputs {
            title: "tracealign eval".into(),
            place: dir.display().to_string(),
            problems,
            executions: &executions,
            references: &[],
            faults: &[],
            truth: &HashMap::new(),
            evaluation: Some(evaluation),
            sft_rows: None,
            programs: None,
        })?;
        report.files = files(dir).map_err(|source| StepError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        write(&dir.join(eval_files::REPORT), report.to_html())
    }

    /// The eval set's references run with full traces, then `output` rows of their calls.
    fn prediction_rows(
        &mut self,
        step: &PredictionRowsStep,
        start: Start,
    ) -> Result<(), StepError> {
        let problems = self.problems(&step.problems)?;
        let references = problems.iter().map(Sample::reference).collect();
        self.run_programs(&problems, references, &step.runs, TraceMode::Full, start)?;
        let executions = self.executions(&step.runs)?;
        let options = PredictOptions {
            tasks: vec![Task::Output],
            per_problem: step.per_problem,
            failing: false,
        };
        write_jsonl(&step.out, &build_rows(&problems, &executions, &options))?;
        Ok(())
    }

    /// A model's greedy answers to the prediction rows, each judged by running it: the
    /// answers with their verdicts, and an evaluation with one item per row.
    fn prediction(&mut self, step: &PredictionStep) -> Result<(), StepError> {
        let rows = read_rows(&step.rows)?;
        self.progress.begin("answering", rows.len());
        let progress = self.progress;
        let answers = answer_rows(&step.generate, &rows, &mut || progress.advance())?;
        self.progress.end();
        let checker = Checker::start(self.exec.config.python.clone())?;
        let score = checker.score(&rows, &answers)?;
        std::fs::create_dir_all(&step.dir).map_err(|source| StepError::Write {
            path: step.dir.clone(),
            source,
        })?;
        let answers_path = step.dir.join(eval_files::ANSWERS);
        write(&answers_path, score.answer_lines(&rows, &answers))?;
        let verdicts: Vec<(String, bool)> = (rows.iter().zip(&score.judgements))
            .map(|(row, judged)| (row.id.clone(), judged.correct))
            .collect();
        let evaluation = Evaluation::of_verdicts(&verdicts);
        let json = serde_json::to_string_pretty(&evaluation).expect("evaluations serialize");
        write(&step.dir.join(eval_files::EVALUATION), json + "\n")
    }

    /// Repair prompts for the failing programs, the replies, and their evaluation.
    fn repair(&mut self, step: &RepairStep, start: Start) -> Result<(), StepError> {
        let problems = self.problems(&step.problems)?;
        let executions = self.executions(&step.runs)?;
        let faults = read_faults(&step.faults)?;
        let inputs = RowInputs {
            problems: &problems,
            executions: &executions,
            faults: Some(&faults),
            aligner: None,
        };
        let options = RepairOptions {
            representations: vec![step.representation],
            style: step.style,
            budget: step.budget,
            fl_lines: step.fl_lines,
            leave_alone: false,
        };
        let prompts_path = step.dir.join(eval_files::PROMPTS);
        write_jsonl(&prompts_path, &repair_rows(&inputs, &options)?.rows)?;
        let prompts = read_prompt_rows(&prompts_path, &problems)?;
        let replies = step.dir.join(eval_files::SAMPLES);
        let resume = start == Start::Continue;
        let mut report = report_to(self.progress, "repairing");
        generate_into(&step.generate, &prompts, &replies, resume, &mut report)?;
        self.progress.end();
        self.score(&problems, &replies, &step.dir, &[1], start)
    }
}

/// A sampling or training call's events as `progress` phases (the caller ends the phase).
fn report_to<'p>(progress: &'p dyn Progress, label: &'p str) -> impl FnMut(ProgressEvent) + 'p {
    move |event| match event {
        ProgressEvent::Begin { total, done } => {
            progress.begin(label, total);
            (0..done).for_each(|_| progress.advance());
        }
        ProgressEvent::Advance { status } => {
            progress.message(&status);
            progress.advance();
        }
    }
}

fn write(path: &Path, text: String) -> Result<(), StepError> {
    std::fs::write(path, text).map_err(|source| StepError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Copies each problem set with `task_ids` or a `limit` to [`Layout::problem_subset`]: the
/// selected records, in the file's order and format. A copy is rewritten only when it
/// changed, since its identity is part of the fingerprints of the stages that read it.
pub fn write_problem_subsets(config: &Config, layout: &Layout) -> Result<(), ExperimentError> {
    let repair = config.repair.as_ref().and_then(|r| repair_set(config, r));
    let sets = std::iter::once(&config.training)
        .chain(&config.eval_sets)
        .chain(repair.as_ref());
    for set in sets {
        write_subset(set, layout)?;
    }
    Ok(())
}

fn write_subset(set: &ProblemSet, layout: &Layout) -> Result<(), ExperimentError> {
    let Some(path) = &set.path else {
        return Ok(());
    };
    let copy = match problem_source(set, layout).path {
        Some(copy) if &copy != path => copy,
        _ => return Ok(()),
    };
    let text = tracealign_core::formats::read_text(path)?;
    let mut lines = String::new();
    let mut kept = 0;
    let records = (text.lines().enumerate()).filter(|(_, l)| !l.trim().is_empty());
    for (number, line) in records {
        if set.limit.is_some_and(|limit| kept >= limit) {
            break;
        }
        let record: serde_json::Value =
            serde_json::from_str(line).map_err(|e| ExperimentError::ProblemRecord {
                path: path.clone(),
                line: number + 1,
                message: e.to_string(),
            })?;
        if set.selects(&record) {
            lines.push_str(line);
            lines.push('\n');
            kept += 1;
        }
    }
    if std::fs::read_to_string(&copy).ok().as_deref() == Some(lines.as_str()) {
        return Ok(());
    }
    let write_error = |source| ExperimentError::Write {
        path: copy.clone(),
        source,
    };
    if let Some(dir) = copy.parent() {
        std::fs::create_dir_all(dir).map_err(write_error)?;
    }
    std::fs::write(&copy, lines).map_err(write_error)
}

/// The table, from every evaluation's `eval.json` and every arm's metrics.
pub fn collect_results(config: &Config, layout: &Layout) -> Result<Results, ExperimentError> {
    let mut results = Results::default();
    for set in &config.eval_sets {
        let set = set.name.as_str();
        for arm in models(config) {
            let arm = arm.map(|a| a.name.as_str());
            let greedy = read_evaluation(&layout.eval_dir(set, arm, false))?;
            let sampled = match &config.eval.pass_at_k {
                Some(p) => Some((read_evaluation(&layout.eval_dir(set, arm, true))?, p.k, p.n)),
                None => None,
            };
            let name = arm.unwrap_or(BASE);
            let sampled = sampled.as_ref().map(|(e, k, n)| (e, *k, *n));
            let Some(mut row) = ResultRow::of(name, set, &greedy, sampled) else {
                return Err(ExperimentError::NoPassAt1 {
                    model: name.to_string(),
                    set: set.to_string(),
                });
            };
            if arm.is_some() {
                let base = read_evaluation(&layout.eval_dir(set, None, false))?;
                row.vs_base = Paired::of(&greedy, &base);
            }
            if let Some(other) = varied_arm(config, arm) {
                let evaluation = read_evaluation(&layout.eval_dir(set, Some(other), false))?;
                row.vs_arm = Paired::of(&greedy, &evaluation).map(|p| (other.to_string(), p));
            }
            results.rows.push(row);
        }
    }
    if let Some(prediction) = &config.prediction {
        let set = format!("{} output prediction", prediction.eval_set);
        let base = read_evaluation(&layout.prediction_dir(None))?;
        for arm in models(config) {
            let arm = arm.map(|a| a.name.as_str());
            let evaluation = read_evaluation(&layout.prediction_dir(arm))?;
            let name = arm.unwrap_or(BASE);
            let Some(mut row) = ResultRow::of(name, &set, &evaluation, None) else {
                continue; // no rows to answer
            };
            if arm.is_some() {
                row.vs_base = Paired::of(&evaluation, &base);
            }
            if let Some(other) = varied_arm(config, arm) {
                let theirs = read_evaluation(&layout.prediction_dir(Some(other)))?;
                row.vs_arm = Paired::of(&evaluation, &theirs).map(|p| (other.to_string(), p));
            }
            results.rows.push(row);
        }
    }
    if let Some(study) = &config.repair {
        for (condition, _) in repair_conditions(config, study) {
            let evaluation = read_evaluation(&layout.repair_dir(&condition.name))?;
            // No failing program to repair gives no pass@1: no row.
            results
                .repair
                .extend(RepairResult::of(&condition.name, &evaluation));
        }
    }
    for arm in &config.arms {
        let curve = learning_curve(&layout.metrics(&arm.name))?;
        results.curves.insert(arm.name.clone(), curve);
    }
    Ok(results)
}

/// The arm `arm` is a variant of, compared with it in the results: for an online arm,
/// plain GRPO (the arm with sequence credit, not itself); for one trained on `traced_sft`,
/// the arm trained on `uniform_sft`.
fn varied_arm<'c>(config: &'c Config, arm: Option<&str>) -> Option<&'c str> {
    let arm = config.arms.iter().find(|a| Some(a.name.as_str()) == arm)?;
    let other = match (arm.credit, arm.data) {
        (Some(credit), _) if credit != tracealign_rl::Credit::Sequence => {
            (config.arms.iter()).find(|a| a.credit == Some(tracealign_rl::Credit::Sequence))
        }
        (None, Some(DataKind::TracedSft)) => {
            (config.arms.iter()).find(|a| a.data == Some(DataKind::UniformSft))
        }
        _ => None,
    };
    other.map(|a| a.name.as_str())
}

/// `results.json`, `results.md` and `results.html`.
pub fn write_results(layout: &Layout, results: &Results) -> Result<(), ExperimentError> {
    let json = serde_json::to_string_pretty(results).expect("results serialize") + "\n";
    let files = [
        (layout.results_json(), json),
        (layout.results_markdown(), results.markdown()),
        (layout.results_html(), results.html("tracealign experiment")),
    ];
    for (path, text) in files {
        std::fs::write(&path, text).map_err(|source| ExperimentError::Write { path, source })?;
    }
    Ok(())
}

/// Loss (and DPO margin) per step from a training run's metrics.
fn learning_curve(metrics: &Path) -> Result<Vec<CurvePoint>, ExperimentError> {
    let text = std::fs::read_to_string(metrics).map_err(|source| ExperimentError::Read {
        path: metrics.to_path_buf(),
        source,
    })?;
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| ExperimentError::Metrics {
                path: metrics.to_path_buf(),
                line: i + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

fn read_evaluation(dir: &Path) -> Result<Evaluation, ExperimentError> {
    let path = dir.join(eval_files::EVALUATION);
    let text = std::fs::read_to_string(&path).map_err(|source| ExperimentError::Read {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| ExperimentError::NotAnEvaluation {
        path,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subset_keeps_the_selected_records_and_is_rewritten_only_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mbpp.jsonl");
        let records: Vec<String> = (599..=603)
            .map(|id| format!("{{\"task_id\": {id}, \"text\": \"t\"}}"))
            .collect();
        std::fs::write(&file, records.join("\n\n") + "\n").unwrap();
        let text = "eval_sets = []\narms = []\nmodel = \"m\"\n[training]\npath = \"mbpp.jsonl\"\n\
                    task_ids = [600, 700]\nlimit = 2\n[sampling]\nn = 1\ntemperature = 0.0\n\
                    max_tokens = 8\n[train]\nsteps = 1\nlr = 1e-3\nrank = 2\nalpha = 4.0\n\
                    batch = 1\nseed = 0\n[eval]\nmax_tokens = 8\n";
        let config = Config::parse(text, &dir.path().join("exp.toml")).unwrap();
        let layout = Layout::new(dir.path().join("out"));
        write_problem_subsets(&config, &layout).unwrap();
        let copy = layout.problem_subset("training");
        let kept = std::fs::read_to_string(&copy).unwrap();
        assert_eq!(kept, format!("{}\n{}\n", records[1], records[2]));
        let written = std::fs::metadata(&copy).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_problem_subsets(&config, &layout).unwrap();
        assert_eq!(
            std::fs::metadata(&copy).unwrap().modified().unwrap(),
            written
        );
    }
}
