//! The experiment as a stage graph: sample the base model on the training problems → run
//! the samples and the reference solutions with full traces → localize faults → build each
//! kind of training rows an arm reads → train one LoRA adapter per arm with the same budget
//! → evaluate the base model and every adapter on every evaluation set (greedy pass@1, and
//! pass@k of sampled programs when asked) → with `[repair]`, the repair study on the base
//! model's failing greedy programs of one set, one stage per prompt condition → with
//! `[prediction]`, output-prediction rows from one set's traced references, answered by
//! every model.
//!
//! [`plan`] only lists the stages (nothing is read or run): each carries the typed settings
//! of the step it calls ([`ExperimentStage`]), which serialized are its fingerprint's
//! settings, and the equivalent `tracealign` command line for people.

use std::path::{Path, PathBuf};

use serde::Serialize;
use tracealign_dataset::repair::Representation;
use tracealign_pipeline::{ExecSettings, ProblemSource, Stage};
use tracealign_rl::grpo::GrpoSettings;
use tracealign_rl::Credit;
use tracealign_trace::render::Style;
use tracealign_train::training::Objective as TrainObjective;
use tracealign_train::{
    DecodeWeights, GenerateSettings, LoraConfig, TrainSettings, ATTENTION_TARGETS,
};

use crate::config::{Arm, Config, DataKind, Objective, PredictionEval, ProblemSet, RepairStudy};
use crate::layout::{eval_files, Layout};
use crate::results::BASE;

/// What a stage does, with the settings of the step it calls (serialized: those settings;
/// the stage's name tells the kind).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ExperimentStage {
    /// The base model sampled on the training problems.
    Sample(GenerateStep),
    /// Those samples and the reference solutions, run with full traces into one runs file
    /// (the references are correct programs to train on too).
    Runs(RunStep),
    /// A fault report per run.
    Faults(LocalizeStep),
    /// One kind of training rows.
    Data(DataStep),
    /// One arm's adapter.
    Train(TrainStep),
    /// One online arm's adapter: GRPO on the training problems.
    Grpo(GrpoTrainStep),
    /// One model on one eval set: greedy, or sampled for pass@k.
    Eval(EvalStep),
    /// The repair study's programs (the base model's greedy programs of its set) and the
    /// references, run with full traces.
    RepairRuns(RunStep),
    /// Their fault reports.
    RepairFaults(LocalizeStep),
    /// One prompt condition of the repair study: its prompts, the replies, their evaluation.
    RepairCondition(RepairStep),
    /// Output-prediction rows: an eval set's references run with full traces, their calls.
    PredictionRows(PredictionRowsStep),
    /// One model's answers to those rows, each judged by running it.
    Prediction(PredictionStep),
}

impl ExperimentStage {
    /// Whether the stage runs programs (then the executor's settings are part of its
    /// fingerprint).
    pub fn runs_programs(&self) -> bool {
        !matches!(self, ExperimentStage::Sample(_) | ExperimentStage::Train(_))
    }

    /// Whether the programs it runs are traced (then the trace caps are part of its
    /// fingerprint too).
    pub fn traces(&self) -> bool {
        matches!(
            self,
            ExperimentStage::Runs(_)
                | ExperimentStage::Faults(_)
                | ExperimentStage::Grpo(_)
                | ExperimentStage::RepairRuns(_)
                | ExperimentStage::RepairFaults(_)
                | ExperimentStage::PredictionRows(_)
        )
    }
}

/// Samples of a problem set's prompts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenerateStep {
    pub problems: ProblemSource,
    pub generate: GenerateSettings,
    pub out: PathBuf,
}

/// A samples file and the problems' reference solutions, run with full traces.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunStep {
    pub problems: ProblemSource,
    pub samples: PathBuf,
    /// Samples of problems outside the set are left out (the repair study's set is cut to
    /// its limit), not refused.
    pub skip_unknown: bool,
    pub out: PathBuf,
}

/// A runs file localized (method `combined`; no mutants: mutation-based localization of a
/// small model's many failures would cost more than the rest of the experiment).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocalizeStep {
    pub problems: ProblemSource,
    pub runs: PathBuf,
    pub out: PathBuf,
}

/// Training rows of one kind from the runs and their fault reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataStep {
    pub kind: DataKind,
    pub problems: ProblemSource,
    pub runs: PathBuf,
    pub faults: PathBuf,
    /// FAIT SFT: killed mutants per passing program with no similar failing one.
    pub mutants: Option<usize>,
    /// DPO: most suspicious lines a rejected program's fault mask covers.
    pub fault_lines: Option<usize>,
    pub out: PathBuf,
}

/// One arm's adapter from its rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainStep {
    pub arm: String,
    pub train: TrainSettings,
    pub data: PathBuf,
    pub out: PathBuf,
}

/// One GRPO arm's adapter: sampled, run, credited and trained online.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrpoTrainStep {
    pub arm: String,
    pub model: PathBuf,
    pub problems: ProblemSource,
    pub settings: GrpoSettings,
    pub threads: Option<usize>,
    pub out: PathBuf,
}

/// Where an evaluation's programs come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Programs {
    /// Generated now, into the evaluation's directory.
    Generate(GenerateSettings),
    /// Another set's programs (same prompts), judged by this set's tests: EvalPlus's
    /// protocol.
    JudgedFrom(PathBuf),
}

/// A model's programs for a set, run and scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalStep {
    pub set: String,
    /// `None`: the base model.
    pub arm: Option<String>,
    pub sampled: bool,
    pub problems: ProblemSource,
    pub programs: Programs,
    /// pass@k for these k.
    pub ks: Vec<usize>,
    pub dir: PathBuf,
}

/// One condition of the repair study.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepairStep {
    pub condition: String,
    #[serde(serialize_with = "representation_name")]
    pub representation: Representation,
    pub style: Style,
    /// Most tokens a trace prompt may take.
    pub budget: usize,
    /// Lines `fl-markers` marks.
    pub fl_lines: usize,
    pub problems: ProblemSource,
    pub runs: PathBuf,
    pub faults: PathBuf,
    /// How the replies are sampled (greedy; with a repair adapter, `generate.adapter`).
    pub generate: GenerateSettings,
    pub dir: PathBuf,
}

/// An eval set's references run with full traces into `runs`, then up to `per_problem`
/// `output` rows per problem from them into `out`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictionRowsStep {
    pub problems: ProblemSource,
    pub per_problem: usize,
    pub runs: PathBuf,
    pub out: PathBuf,
}

/// A model's greedy answers to the prediction rows (`generate.adapter` for an arm).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictionStep {
    /// `None`: the base model.
    pub arm: Option<String>,
    pub rows: PathBuf,
    pub generate: GenerateSettings,
    pub dir: PathBuf,
}

fn representation_name<S: serde::Serializer>(
    representation: &Representation,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(representation.name())
}

/// The experiment's stages, in the order they run (every stage after the ones it reads).
/// `exec` is how programs will run: it is part of the fingerprint of the stages that run
/// them. Nothing is read or written.
pub fn plan(config: &Config, out: &Path, exec: &ExecSettings) -> Vec<Stage<ExperimentStage>> {
    let planner = Planner {
        config,
        layout: Layout::new(out),
    };
    let mut stages = planner.stages();
    for stage in &mut stages {
        let step = serde_json::to_value(&stage.kind).expect("stages serialize");
        let fingerprint = match (stage.kind.runs_programs(), stage.kind.traces()) {
            (false, _) => None,
            (true, false) => Some(exec.fingerprint()),
            (true, true) => Some(exec.traced_fingerprint()),
        };
        stage.settings = match fingerprint {
            Some(exec) => serde_json::json!({"step": step, "exec": exec}),
            None => step,
        };
        if stage.kind.traces() {
            // The caps go with every `tracealign` command of a traced stage.
            stage.command = exec_caps(&stage.command, &exec.trace_cap_arguments());
        }
    }
    stages
}

/// The problems a set's stages read: with `task_ids` or a `limit`, the selected records
/// copied to [`Layout::problem_subset`] (written before the stages run, see
/// [`crate::write_problem_subsets`]); the whole file, or the embedded set, otherwise.
pub fn problem_source(set: &ProblemSet, layout: &Layout) -> ProblemSource {
    let path = match &set.path {
        Some(_) if set.limit.is_some() || set.task_ids.is_some() => {
            Some(layout.problem_subset(&set.name))
        }
        path => path.clone(),
    };
    ProblemSource {
        path,
        format: set.format,
    }
}

/// The repair study's problem set: its eval set cut to the study's limit.
pub fn repair_set(config: &Config, study: &RepairStudy) -> Option<ProblemSet> {
    let set = config.eval_sets.iter().find(|s| s.name == study.eval_set)?;
    Some(ProblemSet {
        name: format!("repair-{}", set.name),
        limit: study.limit.or(set.limit),
        ..set.clone()
    })
}

/// `base`, then every arm that writes programs (not the repair adapters).
pub fn models(config: &Config) -> Vec<Option<&Arm>> {
    let writers = config.arms.iter().filter(|a| !a.repairs());
    std::iter::once(None).chain(writers.map(Some)).collect()
}

/// The repair study's conditions, then `feedback@<arm>` for each repair adapter.
pub fn repair_conditions<'a>(
    config: &'a Config,
    study: &RepairStudy,
) -> Vec<(crate::config::Condition, Option<&'a Arm>)> {
    let mut conditions: Vec<_> = study.conditions().into_iter().map(|c| (c, None)).collect();
    for arm in config.arms.iter().filter(|a| a.repairs()) {
        let feedback = crate::config::Condition {
            name: format!("feedback@{}", arm.name),
            representation: Representation::Feedback,
            style: Style::default(),
        };
        conditions.push((feedback, Some(arm)));
    }
    conditions
}

struct Planner<'a> {
    config: &'a Config,
    layout: Layout,
}

impl Planner<'_> {
    fn stages(&self) -> Vec<Stage<ExperimentStage>> {
        // The base model's samples of the training problems are the offline arms' data;
        // for online arms alone they are still sampled and run once, for the base model's
        // success rate on the problems those arms train on.
        let data = self.config.data_needed();
        let online = self
            .config
            .arms
            .iter()
            .any(|a| a.objective == Objective::Grpo);
        let mut stages = Vec::new();
        if !data.is_empty() || online {
            stages.extend([self.sample(), self.runs()]);
        }
        if !data.is_empty() {
            stages.push(self.faults());
        }
        stages.extend(data.into_iter().map(|k| self.data(k)));
        stages.extend(self.config.arms.iter().map(|arm| self.train(arm)));
        for set in &self.config.eval_sets {
            for arm in models(self.config) {
                stages.push(self.eval(arm, set, false));
                if self.config.eval.pass_at_k.is_some() {
                    stages.push(self.eval(arm, set, true));
                }
            }
            // The study needs only the base model's programs of its set: it runs as soon as
            // they exist, before the other sets.
            if let Some(study) = self
                .config
                .repair
                .as_ref()
                .filter(|r| r.eval_set == set.name)
            {
                stages.extend(self.repair_stages(study));
            }
        }
        if let Some(prediction) = &self.config.prediction {
            stages.extend(self.prediction_stages(prediction));
        }
        stages
    }

    /// Output prediction: the rows from the set's traced references, then each model's
    /// answers (an arm's after its training).
    fn prediction_stages(&self, prediction: &PredictionEval) -> Vec<Stage<ExperimentStage>> {
        let Some(set) = (self.config.eval_sets.iter()).find(|s| s.name == prediction.eval_set)
        else {
            return Vec::new();
        };
        let problems = problem_source(set, &self.layout);
        let rows = PredictionRowsStep {
            problems: problems.clone(),
            per_problem: prediction.per_problem,
            runs: self
                .layout
                .prediction_rows()
                .with_file_name(eval_files::RUNS),
            out: self.layout.prediction_rows(),
        };
        let command = format!(
            "tracealign run{p} --trace full -o {runs} && tracealign build traced{p} --runs \
             {runs} --kinds output --per-problem {} --passing-only -o {}",
            rows.per_problem,
            rows.out.display(),
            p = problems.arguments(),
            runs = rows.runs.display()
        );
        let mut stages = vec![Stage::new(
            PREDICTION_ROWS,
            ExperimentStage::PredictionRows(rows.clone()),
        )
        .reads(problems.reads())
        .command(command)
        .output(rows.out.clone())];
        for arm in models(self.config) {
            let arm_name = arm.map(|a| a.name.clone());
            let step = PredictionStep {
                arm: arm_name.clone(),
                rows: rows.out.clone(),
                generate: GenerateSettings {
                    max_new_tokens: prediction.max_tokens,
                    ..self.generate(arm)
                },
                dir: self.layout.prediction_dir(arm_name.as_deref()),
            };
            let g = &step.generate;
            let mut command = format!(
                "tracealign eval --task output --rows {} --model {}",
                step.rows.display(),
                g.model.display()
            );
            if let Some(adapter) = &g.adapter {
                command.push_str(&format!(" --adapter {}", adapter.display()));
            }
            command.push_str(&format!(
                " --max-tokens {} --seed {}{} -o {}",
                g.max_new_tokens,
                g.seed,
                decode_weights_flag(g),
                step.dir.display()
            ));
            let dir = step.dir.clone();
            let mut stage = Stage::new(
                prediction_stage(arm_name.as_deref()),
                ExperimentStage::Prediction(step),
            )
            .after(&[PREDICTION_ROWS])
            .reads([self.config.model.clone()])
            .output(dir.join(eval_files::EVALUATION))
            .command(command);
            if let Some(arm) = arm {
                stage = stage.after(&[&train_stage(&arm.name)]);
            }
            stages.push(stage);
        }
        stages
    }

    fn training(&self) -> ProblemSource {
        problem_source(&self.config.training, &self.layout)
    }

    /// Generation settings every stage shares: the model, the decoding weights, the seed.
    fn generate(&self, adapter: Option<&Arm>) -> GenerateSettings {
        GenerateSettings {
            adapter: adapter.map(|arm| self.layout.train_dir(&arm.name)),
            seed: self.config.train.seed,
            decode_weights: self.config.decode_weights,
            ..GenerateSettings::new(&self.config.model)
        }
    }

    fn sample(&self) -> Stage<ExperimentStage> {
        let s = &self.config.sampling;
        let step = GenerateStep {
            problems: self.training(),
            generate: GenerateSettings {
                samples: s.n,
                temperature: s.temperature,
                max_new_tokens: s.max_tokens,
                ..self.generate(None)
            },
            out: self.layout.samples(),
        };
        let command = format!(
            "{} -o {}",
            generate_command(&step.generate, &step.problems),
            step.out.display()
        );
        Stage::new("sample", ExperimentStage::Sample(step.clone()))
            .reads([self.config.model.clone()])
            .reads(step.problems.reads())
            .output(step.out)
            .command(command)
    }

    fn runs(&self) -> Stage<ExperimentStage> {
        let step = RunStep {
            problems: self.training(),
            samples: self.layout.samples(),
            skip_unknown: false,
            out: self.layout.runs(),
        };
        Stage::new("runs", ExperimentStage::Runs(step.clone()))
            .after(&["sample"])
            .reads(step.problems.reads())
            .command(run_command(&step))
            .output(step.out)
    }

    fn faults(&self) -> Stage<ExperimentStage> {
        let step = LocalizeStep {
            problems: self.training(),
            runs: self.layout.runs(),
            out: self.layout.faults(),
        };
        Stage::new("faults", ExperimentStage::Faults(step.clone()))
            .after(&["runs"])
            .reads(step.problems.reads())
            .command(localize_command(&step))
            .output(step.out)
    }

    fn data(&self, kind: DataKind) -> Stage<ExperimentStage> {
        let build = &self.config.build;
        let step = DataStep {
            kind,
            problems: self.training(),
            runs: self.layout.runs(),
            faults: self.layout.faults(),
            mutants: (kind == DataKind::FaitSft).then_some(build.mutants),
            fault_lines: (kind == DataKind::Dpo).then_some(build.fault_lines),
            out: self.layout.data(kind),
        };
        let (builder, options) = match kind {
            DataKind::FaitSft => ("sft", format!(" --mutants {}", build.mutants)),
            // The same rows, every character weighing 1: no diffs, so no mutants either.
            DataKind::UniformSft => ("sft", " --alpha 0 --beta 0 --mutants 0".to_string()),
            // The same, interleaved with as many execution-prediction rows.
            DataKind::TracedSft => (
                "sft",
                " --alpha 0 --beta 0 --mutants 0 --traced-kinds output,input,path,state"
                    .to_string(),
            ),
            DataKind::Dpo => ("dpo", format!(" --fault-lines {}", build.fault_lines)),
            // The study's feedback condition, and passing programs left alone.
            DataKind::Repair => ("repair", " --repr feedback --leave-alone".to_string()),
        };
        let command = format!(
            "tracealign build {builder}{} --runs {} --faults {}{options} -o {}",
            step.problems.arguments(),
            step.runs.display(),
            step.faults.display(),
            step.out.display()
        );
        Stage::new(data_stage(kind), ExperimentStage::Data(step.clone()))
            .after(&["runs", "faults"])
            .reads(step.problems.reads())
            .command(command)
            .output(step.out)
    }

    fn train(&self, arm: &Arm) -> Stage<ExperimentStage> {
        let (Some(data), None) = (arm.data, arm.credit) else {
            return self.grpo(arm);
        };
        let b = &self.config.train;
        let train = TrainSettings {
            objective: match arm.objective {
                Objective::Sft => TrainObjective::Sft,
                Objective::Dpo | Objective::Grpo => TrainObjective::Dpo,
            },
            steps: b.steps,
            lr: b.lr,
            rank: b.rank,
            alpha: b.alpha,
            batch_size: b.batch,
            seed: b.seed,
            max_len: b.max_len,
            mask_weight: arm.mask_weight,
            threads: b.threads,
            ..TrainSettings::new(&self.config.model)
        };
        let step = TrainStep {
            arm: arm.name.clone(),
            train,
            data: self.layout.data(data),
            out: self.layout.train_dir(&arm.name),
        };
        let t = &step.train;
        let mut command = format!(
            "tracealign train --model {} --data {} --objective {} -o {} --steps {} --lr {} \
             --rank {} --alpha {} --batch-size {} --seed {} --max-len {} --mask-weight {}",
            t.model.display(),
            step.data.display(),
            arm.objective.name(),
            step.out.display(),
            t.steps,
            t.lr,
            t.rank,
            t.alpha,
            t.batch_size,
            t.seed,
            t.max_len,
            t.mask_weight
        );
        if let Some(threads) = t.threads {
            command.push_str(&format!(" --threads {threads}"));
        }
        Stage::new(train_stage(&arm.name), ExperimentStage::Train(step))
            .after(&[&data_stage(data)])
            .reads([self.config.model.clone()])
            .output(self.layout.adapter_weights(&arm.name))
            .output(self.layout.metrics(&arm.name))
            .command(command)
    }

    /// A GRPO arm (the config checked that it has a credit mode): the online budget, LoRA
    /// from `[train]`; it reads the training problems, not rows.
    fn grpo(&self, arm: &Arm) -> Stage<ExperimentStage> {
        let (b, g) = (&self.config.train, &self.config.grpo);
        let lora = LoraConfig {
            rank: b.rank,
            alpha: b.alpha,
            targets: ATTENTION_TARGETS.iter().map(|s| s.to_string()).collect(),
            seed: b.seed,
        };
        let mut settings = GrpoSettings::new(arm.credit.unwrap_or(Credit::Sequence), lora);
        settings.steps = g.steps;
        settings.prompts = g.prompts;
        settings.samples = g.samples;
        settings.max_new_tokens = g.max_tokens;
        settings.temperature = g.temperature;
        settings.lr = g.lr;
        settings.kl_beta = g.kl_beta;
        settings.micro_batch = b.batch;
        settings.seed = b.seed;
        settings.decode_weights = self.config.decode_weights;
        let step = GrpoTrainStep {
            arm: arm.name.clone(),
            model: self.config.model.clone(),
            problems: self.training(),
            settings,
            threads: b.threads,
            out: self.layout.train_dir(&arm.name),
        };
        let s = &step.settings;
        let credit = serde_json::to_value(s.credit).expect("serializes");
        let mut command = format!(
            "tracealign train --objective grpo --model {}{} --credit {} -o {} --steps {} \
             --prompts {} --samples {} --max-tokens {} --temperature {} --lr {} --kl-beta {} \
             --rank {} --alpha {} --batch-size {} --seed {}{}",
            step.model.display(),
            step.problems.arguments(),
            credit.as_str().unwrap_or_default().replace('_', "-"),
            step.out.display(),
            s.steps,
            s.prompts,
            s.samples,
            s.max_new_tokens,
            s.temperature,
            s.lr,
            s.kl_beta,
            s.lora.rank,
            s.lora.alpha,
            s.micro_batch,
            s.seed,
            decode_weights_flag_of(s.decode_weights)
        );
        if let Some(threads) = step.threads {
            command.push_str(&format!(" --threads {threads}"));
        }
        Stage::new(train_stage(&arm.name), ExperimentStage::Grpo(step))
            .reads(self.training().reads())
            .reads([self.config.model.clone()])
            .output(self.layout.adapter_weights(&arm.name))
            .output(self.layout.metrics(&arm.name))
            .command(command)
    }

    /// Greedy pass@1 of a model on a set, or (`sampled`) pass@k of n samples at T; for a
    /// set with `programs_from`, the other set's programs judged by this set's tests.
    fn eval(&self, arm: Option<&Arm>, set: &ProblemSet, sampled: bool) -> Stage<ExperimentStage> {
        let arm_name = arm.map(|a| a.name.clone());
        let dir = self
            .layout
            .eval_dir(&set.name, arm_name.as_deref(), sampled);
        let name = eval_stage(&set.name, arm_name.as_deref(), sampled);
        let problems = problem_source(set, &self.layout);
        let ks = match (&self.config.eval.pass_at_k, sampled) {
            (Some(p), true) => vec![1, p.k],
            _ => vec![1],
        };
        let ks_text: Vec<String> = ks.iter().map(usize::to_string).collect();
        let tail = format!(" -k {} -o {}", ks_text.join(","), dir.display());
        let mut stage;
        if let Some(from) = &set.programs_from {
            let source = self.layout.eval_dir(from, arm_name.as_deref(), sampled);
            let samples = source.join(eval_files::SAMPLES);
            let command = format!(
                "tracealign eval{} --samples {}{tail}",
                problems.arguments(),
                samples.display()
            );
            stage = Stage::new(
                name,
                ExperimentStage::Eval(EvalStep {
                    set: set.name.clone(),
                    arm: arm_name.clone(),
                    sampled,
                    problems: problems.clone(),
                    programs: Programs::JudgedFrom(samples),
                    ks,
                    dir: dir.clone(),
                }),
            )
            .after(&[&eval_stage(from, arm_name.as_deref(), sampled)])
            .command(command);
        } else {
            let (n, temperature) = match (&self.config.eval.pass_at_k, sampled) {
                (Some(p), true) => (p.n, p.temperature),
                _ => (1, 0.0),
            };
            let generate = GenerateSettings {
                samples: n,
                temperature,
                max_new_tokens: self.config.eval.max_tokens,
                ..self.generate(arm)
            };
            let mut command = format!("tracealign eval{}", problems.arguments());
            command.push_str(&format!(" --model {}", generate.model.display()));
            if let Some(adapter) = &generate.adapter {
                command.push_str(&format!(" --adapter {}", adapter.display()));
            }
            command.push_str(&format!(
                " -n {n} --temperature {temperature} --max-tokens {} --seed {}{}{tail}",
                generate.max_new_tokens,
                generate.seed,
                decode_weights_flag(&generate)
            ));
            stage = Stage::new(
                name,
                ExperimentStage::Eval(EvalStep {
                    set: set.name.clone(),
                    arm: arm_name.clone(),
                    sampled,
                    problems: problems.clone(),
                    programs: Programs::Generate(generate),
                    ks,
                    dir: dir.clone(),
                }),
            )
            .reads([self.config.model.clone()])
            .command(command);
            if let Some(arm) = arm {
                stage = stage.after(&[&train_stage(&arm.name)]);
            }
        }
        stage
            .reads(problems.reads())
            .output(dir.join(eval_files::EVALUATION))
    }

    /// The repair study: the base model's greedy programs of the study's problems run with
    /// full traces (beside the traced references) → fault reports → per condition, repair
    /// prompts for the failing programs, the replies and their evaluation (the share
    /// repaired).
    fn repair_stages(&self, study: &RepairStudy) -> Vec<Stage<ExperimentStage>> {
        let Some(set) = repair_set(self.config, study) else {
            return Vec::new();
        };
        let problems = problem_source(&set, &self.layout);
        let source = self.layout.eval_dir(&study.eval_set, None, false);
        let runs = RunStep {
            problems: problems.clone(),
            // The set's other problems are outside the study.
            samples: source.join(eval_files::SAMPLES),
            skip_unknown: true,
            out: self.layout.repair_runs(),
        };
        let faults = LocalizeStep {
            problems: problems.clone(),
            runs: runs.out.clone(),
            out: self.layout.repair_faults(),
        };
        let mut stages = vec![
            Stage::new(REPAIR_RUNS, ExperimentStage::RepairRuns(runs.clone()))
                .after(&[&eval_stage(&study.eval_set, None, false)])
                .reads(problems.reads())
                .command(run_command(&runs))
                .output(runs.out.clone()),
            Stage::new(REPAIR_FAULTS, ExperimentStage::RepairFaults(faults.clone()))
                .after(&[REPAIR_RUNS])
                .reads(problems.reads())
                .command(localize_command(&faults))
                .output(faults.out.clone()),
        ];
        for (condition, adapter) in repair_conditions(self.config, study) {
            let dir = self.layout.repair_dir(&condition.name);
            let step = RepairStep {
                condition: condition.name.clone(),
                representation: condition.representation,
                style: condition.style,
                budget: study.budget,
                fl_lines: study.fl_lines,
                problems: problems.clone(),
                runs: runs.out.clone(),
                faults: faults.out.clone(),
                generate: GenerateSettings {
                    max_new_tokens: study.max_tokens,
                    seed: 0,
                    ..self.generate(adapter)
                },
                dir: dir.clone(),
            };
            let command = repair_command(&step);
            let mut stage = Stage::new(
                repair_stage(&condition.name),
                ExperimentStage::RepairCondition(step),
            )
            .after(&[REPAIR_RUNS, REPAIR_FAULTS])
            .reads([self.config.model.clone()])
            .reads(problems.reads())
            .output(dir.join(eval_files::EVALUATION))
            .command(command);
            if let Some(arm) = adapter {
                stage = stage.after(&[&train_stage(&arm.name)]);
            }
            stages.push(stage);
        }
        stages
    }
}

/// `command` with the trace caps after each `tracealign run`, `localize` or (GRPO) `train`
/// in it.
fn exec_caps(command: &str, caps: &str) -> String {
    if caps.is_empty() {
        return command.to_string();
    }
    // Not `build traced`: it reads traces, it does not make them.
    let traced = |part: &str| {
        let commands = ["tracealign run", "tracealign localize", "tracealign train"];
        commands.iter().any(|c| part.starts_with(c))
    };
    command
        .split(" && ")
        .map(|part| match traced(part) {
            true => format!("{part}{caps}"),
            false => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" && ")
}

const REPAIR_RUNS: &str = "repair/runs";
const PREDICTION_ROWS: &str = "prediction/rows";

/// The stage of a model's (`None`: the base model's) output prediction.
pub fn prediction_stage(arm: Option<&str>) -> String {
    format!("prediction/{}", arm.unwrap_or(BASE))
}
const REPAIR_FAULTS: &str = "repair/faults";

/// The stage that builds rows of a kind.
pub fn data_stage(kind: DataKind) -> String {
    format!("data/{}", kind.name())
}

/// The stage that trains an arm.
pub fn train_stage(arm: &str) -> String {
    format!("train/{arm}")
}

/// The stage that evaluates a model (`None`: the base model) on a set.
pub fn eval_stage(set: &str, arm: Option<&str>, sampled: bool) -> String {
    let kind = if sampled { "sampled" } else { "greedy" };
    format!("eval/{set}/{}/{kind}", arm.unwrap_or(BASE))
}

/// The stage of a repair condition.
pub fn repair_stage(condition: &str) -> String {
    format!("repair/{condition}")
}

fn decode_weights_flag(generate: &GenerateSettings) -> String {
    decode_weights_flag_of(generate.decode_weights)
}

fn decode_weights_flag_of(weights: DecodeWeights) -> String {
    match weights {
        DecodeWeights::F32 => String::new(),
        DecodeWeights::Q8_0 => " --decode-weights q8_0".into(),
    }
}

fn generate_command(generate: &GenerateSettings, problems: &ProblemSource) -> String {
    let mut command = format!("tracealign generate --model {}", generate.model.display());
    if let Some(adapter) = &generate.adapter {
        command.push_str(&format!(" --adapter {}", adapter.display()));
    }
    command.push_str(&problems.arguments());
    command.push_str(&format!(
        " -n {} --temperature {} --max-new-tokens {} --seed {}{}",
        generate.samples,
        generate.temperature,
        generate.max_new_tokens,
        generate.seed,
        decode_weights_flag(generate)
    ));
    command
}

/// Samples, then the references appended to the same runs file.
fn run_command(step: &RunStep) -> String {
    let skip = if step.skip_unknown {
        " --skip-unknown"
    } else {
        ""
    };
    format!(
        "tracealign run{p} -s {}{skip} --trace full -o {out} && tracealign run{p} --trace full \
         --resume -o {out}",
        step.samples.display(),
        p = step.problems.arguments(),
        out = step.out.display()
    )
}

fn localize_command(step: &LocalizeStep) -> String {
    format!(
        "tracealign localize {}{} --method combined --mutation-budget 0 -o {}",
        step.runs.display(),
        step.problems.arguments(),
        step.out.display()
    )
}

fn repair_command(step: &RepairStep) -> String {
    let prompts = step.dir.join(eval_files::PROMPTS);
    let replies = step.dir.join(eval_files::SAMPLES);
    let mut build = format!(
        "tracealign build repair{} --runs {} --faults {} --budget {} --fl-lines {} --repr {}",
        step.problems.arguments(),
        step.runs.display(),
        step.faults.display(),
        step.budget,
        step.fl_lines,
        step.representation.name()
    );
    if step.representation == Representation::Trace {
        build.push_str(&format!(" --style {}", step.style.name()));
    }
    let generate = GenerateSettings {
        samples: 1,
        ..step.generate.clone()
    };
    format!(
        "{build} -o {prompts} && {} --prompts {} -o {replies} && tracealign eval{} --samples \
         {replies} -k 1 -o {}",
        generate_command(&generate, &step.problems),
        prompts.display(),
        step.problems.arguments(),
        step.dir.display(),
        prompts = prompts.display(),
        replies = replies.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked_in(quick: bool) -> Config {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiment.toml");
        let config = Config::read(&path).unwrap();
        match quick {
            true => config.quick(),
            false => config,
        }
    }

    /// One line per stage: its name, the stages it comes after, its command line (the
    /// checkout's path left out).
    fn listing(stages: &[Stage<ExperimentStage>]) -> String {
        let checkout = concat!(env!("CARGO_MANIFEST_DIR"), "/../../");
        stages
            .iter()
            .map(|s| {
                let command = s.command.replace(checkout, "");
                format!("{} [{}] $ {command}\n", s.name, s.after.join(", "))
            })
            .collect()
    }

    #[test]
    fn the_quick_plan_of_the_checked_in_config() {
        let exec = ExecSettings::new(PathBuf::from("python3"));
        let stages = plan(&checked_in(true), Path::new("OUT"), &exec);
        insta::assert_snapshot!(listing(&stages));
    }

    #[test]
    fn stages_carry_their_steps_settings_and_command_lines() {
        let exec = ExecSettings::new(PathBuf::from("python3"));
        let config = checked_in(true);
        let stages = plan(&config, Path::new("out"), &exec);
        let sample = &stages[0];
        assert_eq!(sample.settings["generate"]["samples"], 2);
        assert_eq!(sample.settings["generate"]["decode_weights"], "q8_0");
        assert!(
            sample.settings.get("exec").is_none(),
            "sampling runs no program"
        );
        assert!(
            sample.command.starts_with("tracealign generate --model "),
            "{}",
            sample.command
        );
        assert!(sample.command.ends_with(
            "--format mbpp -n 2 --temperature 0.8 --max-new-tokens 32 --seed 0 \
             --decode-weights q8_0 -o out/sample/samples.jsonl"
        ));
        // The training set is cut to 3 problems: its stages read the copy.
        assert_eq!(sample.reads[1], Path::new("out/problems/training.jsonl"));
        let runs = &stages[1];
        assert!(runs.settings["exec"]["python"].is_string());
        assert!(runs.settings["exec"]["trace_limits"].is_object());
        let mut capped = exec.clone();
        capped.config.trace_limits.max_events = 20_000;
        let stages = plan(&config, Path::new("out"), &capped);
        assert_eq!(
            stages[1]
                .command
                .matches("--trace-max-events 20000")
                .count(),
            2
        );
        let rows = stages.iter().find(|s| s.name == "prediction/rows").unwrap();
        let (run, build) = rows.command.split_once(" && ").unwrap();
        assert!(run.ends_with("--trace-max-events 20000"), "{run}");
        assert!(!build.contains("--trace-max"), "{build}");
        assert_ne!(stages[1].settings, runs.settings);
        let trace = stages
            .iter()
            .find(|s| s.name == "repair/trace-inline")
            .unwrap();
        assert_eq!(trace.settings["step"]["representation"], "trace");
        assert_eq!(trace.settings["step"]["style"], "inline");
        assert!(trace.command.contains("--repr trace --style inline"));
        let adapter = stages
            .iter()
            .find(|s| s.name == "repair/feedback@repair_sft")
            .unwrap();
        assert_eq!(
            adapter.settings["step"]["generate"]["adapter"],
            "out/train/repair_sft"
        );
    }

    #[test]
    fn the_full_plan_samples_every_set_and_judges_humaneval_plus_with_humanevals_programs() {
        let exec = ExecSettings::new(PathBuf::from("python3"));
        let stages = plan(&checked_in(false), Path::new("out"), &exec);
        let names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
        // 3 + 5 data + 10 arms + 4 sets × 10 models + the study's 2 + 6 conditions + 1,
        // then output prediction's rows and 10 models' answers.
        assert_eq!(stages.len(), 3 + 5 + 10 + 4 * 10 + 2 + 6 + 1 + 1 + 10);
        let traced = (stages.iter())
            .find(|s| s.name == "prediction/traced_sft")
            .unwrap();
        assert_eq!(traced.after, ["prediction/rows", "train/traced_sft"]);
        assert!(
            traced
                .command
                .starts_with("tracealign eval --task output --rows out/prediction/rows/rows.jsonl"),
            "{}",
            traced.command
        );
        let data = stages.iter().find(|s| s.name == "data/traced_sft").unwrap();
        assert!(data
            .command
            .contains("--traced-kinds output,input,path,state"));
        let plus = stages
            .iter()
            .find(|s| s.name == "eval/humaneval_plus/dpo/greedy")
            .unwrap();
        assert_eq!(plus.after, ["eval/humaneval/dpo/greedy"]);
        assert_eq!(
            plus.settings["step"]["programs"]["judged_from"],
            "out/eval/humaneval/dpo/greedy/samples.jsonl"
        );
        assert!(names.contains(&"eval/mbpp_validation/masked_dpo/greedy"));
    }
}
