//! `tracealign experiment`: the alignment loop on a real model. Sample the base model on the
//! training problems → run with traces (and the reference solutions) → localize faults →
//! build FAIT-weighted SFT, uniform SFT and DPO rows → train one LoRA adapter per arm with
//! the same budget → evaluate the base model and every adapter on every evaluation set →
//! (with `[repair]`) ask the base model to repair its failing programs of one set under each
//! prompt condition → `OUT/results.json`, `OUT/results.md` and `OUT/results.html` (with
//! learning curves).
//!
//! Every stage is the `tracealign` command a user would type, writing into `OUT/<stage>/`,
//! and is skipped, as in `tracealign pipeline`, when its output exists and its fingerprint
//! (its commands, the identity of the files it reads, the manifests of the stages before it)
//! matches the one recorded when it finished. A stage interrupted part-way continues where
//! it stopped when the commands support it (generation, runs, training).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser};
use sha2::{Digest, Sha256};
use tracealign_core::formats::problems::ProblemFormat;
use tracealign_dataset::repair::Representation;
use tracealign_eval::Evaluation;
use tracealign_experiment::{
    Arm, Config, CurvePoint, DataKind, Objective, Paired, ProblemSet, RepairResult, RepairStudy,
    ResultRow, Results, BASE,
};

use tracealign_train::DecodeWeights;

use crate::args::Cli;
use crate::commands::dispatch;

#[derive(Debug, Args)]
pub struct ExperimentArgs {
    /// The experiment's config (see experiment.toml at the repository root).
    #[arg(long, value_name = "FILE", default_value = "experiment.toml")]
    pub config: PathBuf,
    /// Apply the config's [quick] section: a handful of problems, few samples and steps.
    #[arg(long)]
    pub quick: bool,
    /// Output directory. Default: tracealign-experiment (tracealign-experiment-quick with
    /// --quick, so a smoke run never invalidates the full run's stages).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No progress bars.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// One step: `tracealign` commands run in order, then optionally a concatenation.
struct Stage {
    name: String,
    /// Its existence (with a matching manifest) means the stage is done.
    output: PathBuf,
    /// Stages whose outputs this one reads.
    after: Vec<String>,
    /// Files or model directories from outside the experiment this one reads.
    reads: Vec<PathBuf>,
    commands: Vec<Vec<String>>,
    /// Files concatenated into `output` after the commands.
    concat: Vec<PathBuf>,
    /// The flag that makes the commands continue an interrupted run of the same stage.
    resume: Option<&'static str>,
    /// The flag that makes the commands discard what an older run of the stage left.
    fresh: Option<&'static str>,
}

impl Stage {
    fn new(name: impl Into<String>, output: PathBuf) -> Stage {
        Stage {
            name: name.into(),
            output,
            after: Vec::new(),
            reads: Vec::new(),
            commands: Vec::new(),
            concat: Vec::new(),
            resume: None,
            fresh: None,
        }
    }
}

pub fn experiment(args: ExperimentArgs) -> Result<()> {
    let started = Instant::now();
    let mut config = Config::read(&args.config)?;
    if args.quick {
        config = config.quick();
    }
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(match args.quick {
            true => "tracealign-experiment-quick",
            false => "tracealign-experiment",
        })
    });
    std::fs::create_dir_all(out.join(".stages"))
        .with_context(|| format!("cannot create {}", out.display()))?;
    let plan = Plan::new(&config, &out)?;
    let stages = plan.stages();
    for (i, stage) in stages.iter().enumerate() {
        let label = format!("[{}/{}] {}", i + 1, stages.len(), stage.name);
        run_cached(&out, stage, &label, args.quiet)?;
    }
    let results = plan.results()?;
    write_results(&out, &results)?;
    print!("{}", results.markdown());
    println!(
        "experiment finished in {:.1}s; results in {}",
        started.elapsed().as_secs_f64(),
        out.join("results.md").display()
    );
    Ok(())
}

/// The config with every problem set resolved to the file the stages read.
struct Plan<'a> {
    config: &'a Config,
    out: PathBuf,
    training: Problems,
    eval_sets: Vec<(String, Problems)>,
    /// The problems of the repair study (its eval set, cut to its limit).
    repair: Option<(&'a RepairStudy, Problems)>,
}

/// `-p`/`--format` arguments of a problem set, and the file they read (none: embedded).
struct Problems {
    path: Option<PathBuf>,
    format: Option<ProblemFormat>,
}

impl Problems {
    fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(path) = &self.path {
            args.extend(["-p".to_string(), display(path)]);
        }
        if let Some(format) = &self.format {
            let name = serde_json::to_value(format).expect("formats serialize");
            let name = name.as_str().expect("a format is named").to_string();
            args.extend(["--format".to_string(), name]);
        }
        args
    }

    fn reads(&self) -> Vec<PathBuf> {
        self.path.iter().cloned().collect()
    }
}

impl<'a> Plan<'a> {
    fn new(config: &'a Config, out: &Path) -> Result<Plan<'a>> {
        let training = subset(&config.training, out)?;
        let eval_sets = config
            .eval_sets
            .iter()
            .map(|set| Ok((set.name.clone(), subset(set, out)?)))
            .collect::<Result<_>>()?;
        let repair = match &config.repair {
            Some(study) => {
                let set = config.eval_sets.iter().find(|s| s.name == study.eval_set);
                let set = set.context("repair.eval_set names no eval set")?;
                let limited = ProblemSet {
                    name: format!("repair-{}", set.name),
                    limit: study.limit.or(set.limit),
                    ..set.clone()
                };
                Some((study, subset(&limited, out)?))
            }
            None => None,
        };
        Ok(Plan {
            config,
            out: out.to_path_buf(),
            training,
            eval_sets,
            repair,
        })
    }

    fn path(&self, parts: &str) -> PathBuf {
        self.out.join(parts)
    }

    fn stages(&self) -> Vec<Stage> {
        let mut stages = vec![self.sample(), self.runs(), self.faults()];
        stages.extend(self.config.data_needed().into_iter().map(|k| self.data(k)));
        stages.extend(self.config.arms.iter().map(|arm| self.train(arm)));
        for (set, problems) in &self.eval_sets {
            for arm in self.models() {
                stages.push(self.eval(arm, set, problems, false));
                if self.config.eval.pass_at_k.is_some() {
                    stages.push(self.eval(arm, set, problems, true));
                }
            }
            // The study needs only the base model's programs of its set: it runs as soon as
            // they exist, before the other sets.
            if let Some((study, problems)) = self.repair.as_ref().filter(|r| &r.0.eval_set == set) {
                stages.extend(self.repair_stages(study, problems));
            }
        }
        stages
    }

    /// `base`, then every arm that writes programs (not the repair adapters).
    fn models(&self) -> Vec<Option<&'a Arm>> {
        let writers = self.config.arms.iter().filter(|a| !a.repairs());
        std::iter::once(None).chain(writers.map(Some)).collect()
    }

    /// The study's conditions, then `feedback@<arm>` for each repair adapter.
    fn repair_conditions(&self, study: &RepairStudy) -> Vec<(String, Vec<String>, Option<&Arm>)> {
        let mut conditions: Vec<_> = (study.conditions().into_iter())
            .map(|c| {
                let mut args = strings(&["--repr", c.representation.name()]);
                if c.representation == Representation::Trace {
                    args.extend(strings(&["--style", c.style.name()]));
                }
                (c.name, args, None)
            })
            .collect();
        for arm in self.config.arms.iter().filter(|a| a.repairs()) {
            let repr = strings(&["--repr", "feedback"]);
            conditions.push((format!("feedback@{}", arm.name), repr, Some(arm)));
        }
        conditions
    }

    fn sample(&self) -> Stage {
        let s = &self.config.sampling;
        let mut stage = Stage::new("sample", self.path("sample/samples.jsonl"));
        let mut command = strings(&["generate", "--model", &display(&self.config.model)]);
        command.extend(self.training.args());
        command.extend(strings(&[
            "-n",
            &s.n.to_string(),
            "--temperature",
            &s.temperature.to_string(),
            "--max-new-tokens",
            &s.max_tokens.to_string(),
            "--seed",
            &self.config.train.seed.to_string(),
            "-o",
            &display(&stage.output),
        ]));
        command.extend(self.decode_weights());
        stage.commands = vec![command];
        stage.reads = [vec![self.config.model.clone()], self.training.reads()].concat();
        stage.resume = Some("--resume");
        stage
    }

    /// The samples and the reference solutions, run with full traces, in one runs file:
    /// the references are correct programs to train on too.
    fn runs(&self) -> Stage {
        let mut stage = Stage::new("runs", self.path("runs/runs.jsonl"));
        let samples = self.path("runs/samples.jsonl");
        let references = self.path("runs/references.jsonl");
        let run = |tail: &[String]| {
            let mut command = strings(&["run"]);
            command.extend(self.training.args());
            command.extend(tail.iter().cloned());
            command.extend(strings(&["--trace", "full"]));
            command
        };
        let sampled = display(&self.path("sample/samples.jsonl"));
        stage.commands = vec![
            run(&strings(&["-s", &sampled, "-o", &display(&samples)])),
            run(&strings(&["-o", &display(&references)])),
        ];
        stage.concat = vec![samples, references];
        stage.after = vec!["sample".into()];
        stage.reads = self.training.reads();
        stage.resume = Some("--resume");
        stage
    }

    fn faults(&self) -> Stage {
        let mut stage = Stage::new("faults", self.path("faults/faults.jsonl"));
        let mut command = strings(&["localize", &display(&self.path("runs/runs.jsonl"))]);
        command.extend(self.training.args());
        // Mutation-based localization runs mutants of every failing program: with a small
        // model's many failures it would cost more than the rest of the experiment.
        command.extend(strings(&["--mutation-budget", "0"]));
        command.extend(strings(&["-o", &display(&stage.output)]));
        stage.commands = vec![command];
        stage.after = vec!["runs".into()];
        stage.reads = self.training.reads();
        stage
    }

    fn data(&self, kind: DataKind) -> Stage {
        let name = format!("data/{}", kind.name());
        let mut stage = Stage::new(&name, self.path(&format!("{name}.jsonl")));
        let builder = match kind {
            DataKind::Dpo => "dpo",
            DataKind::Repair => "repair",
            DataKind::FaitSft | DataKind::UniformSft => "sft",
        };
        let mut command = strings(&["build", builder]);
        command.extend(self.training.args());
        command.extend(strings(&[
            "--runs",
            &display(&self.path("runs/runs.jsonl")),
            "--faults",
            &display(&self.path("faults/faults.jsonl")),
            "-o",
            &display(&stage.output),
        ]));
        let build = &self.config.build;
        command.extend(match kind {
            DataKind::FaitSft => strings(&["--mutants", &build.mutants.to_string()]),
            // The same rows, every character weighing 1: no diffs, so no mutants either.
            DataKind::UniformSft => strings(&["--alpha", "0", "--beta", "0", "--mutants", "0"]),
            DataKind::Dpo => strings(&["--fault-lines", &build.fault_lines.to_string()]),
            // The study's feedback condition, and passing programs left alone.
            DataKind::Repair => strings(&["--repr", "feedback", "--leave-alone"]),
        });
        stage.commands = vec![command];
        stage.after = vec!["runs".into(), "faults".into()];
        stage.reads = self.training.reads();
        stage
    }

    fn train(&self, arm: &Arm) -> Stage {
        let dir = self.path(&format!("train/{}", arm.name));
        let mut stage = Stage::new(
            format!("train/{}", arm.name),
            dir.join("adapter_model.safetensors"),
        );
        let b = &self.config.train;
        let data = self.path(&format!("data/{}.jsonl", arm.data.name()));
        let objective = match arm.objective {
            Objective::Sft => "sft",
            Objective::Dpo => "dpo",
        };
        let mut command = strings(&["train", "--model", &display(&self.config.model)]);
        command.extend(strings(&[
            "--data",
            &display(&data),
            "--objective",
            objective,
            "-o",
            &display(&dir),
            "--steps",
            &b.steps.to_string(),
            "--lr",
            &b.lr.to_string(),
            "--rank",
            &b.rank.to_string(),
            "--alpha",
            &b.alpha.to_string(),
            "--batch-size",
            &b.batch.to_string(),
            "--seed",
            &b.seed.to_string(),
            "--max-len",
            &b.max_len.to_string(),
            "--mask-weight",
            &arm.mask_weight.to_string(),
        ]));
        if let Some(threads) = b.threads {
            command.extend(strings(&["--threads", &threads.to_string()]));
        }
        stage.commands = vec![command];
        stage.after = vec![format!("data/{}", arm.data.name())];
        stage.reads = vec![self.config.model.clone()];
        stage.resume = Some("--resume");
        stage
    }

    /// Greedy pass@1 of a model on a set, or (`sampled`) pass@k of n samples at T; for a
    /// set with `programs_from`, the other set's programs judged by this set's tests.
    fn eval(&self, arm: Option<&Arm>, set: &str, problems: &Problems, sampled: bool) -> Stage {
        let dir = self.eval_dir(arm, set, sampled);
        let mut stage = Stage::new(self.stage_name(&dir), dir.join("eval.json"));
        let mut command = strings(&["eval"]);
        command.extend(problems.args());
        stage.reads = problems.reads();
        stage.fresh = Some("--fresh");
        if let Some(from) = self.programs_from(set) {
            let source = self.eval_dir(arm, from, sampled);
            let programs = display(&source.join("samples.jsonl"));
            command.extend(strings(&["--samples", &programs]));
            command.extend(strings(&["-k", &self.ks(sampled), "-o", &display(&dir)]));
            stage.after = vec![self.stage_name(&source)];
            stage.commands = vec![command];
            return stage;
        }
        command.extend(strings(&["--model", &display(&self.config.model)]));
        if let Some(arm) = arm {
            let adapter = self.path(&format!("train/{}", arm.name));
            command.extend(strings(&["--adapter", &display(&adapter)]));
            stage.after = vec![format!("train/{}", arm.name)];
        }
        let (n, temperature) = match (&self.config.eval.pass_at_k, sampled) {
            (Some(p), true) => (p.n, p.temperature),
            _ => (1, 0.0),
        };
        command.extend(strings(&[
            "-n",
            &n.to_string(),
            "--temperature",
            &temperature.to_string(),
            "--max-tokens",
            &self.config.eval.max_tokens.to_string(),
            "--seed",
            &self.config.train.seed.to_string(),
            "-k",
            &self.ks(sampled),
            "-o",
            &display(&dir),
        ]));
        command.extend(self.decode_weights());
        stage.commands = vec![command];
        stage.reads.push(self.config.model.clone());
        stage
    }

    /// The pass@k values an evaluation reports.
    fn ks(&self, sampled: bool) -> String {
        match (&self.config.eval.pass_at_k, sampled) {
            (Some(p), true) => format!("1,{}", p.k),
            _ => "1".to_string(),
        }
    }

    /// The eval set whose programs `set` judges instead of generating its own.
    fn programs_from(&self, set: &str) -> Option<&str> {
        let config = self.config.eval_sets.iter().find(|s| s.name == set)?;
        config.programs_from.as_deref()
    }

    /// A stage's name: its directory under the output directory.
    fn stage_name(&self, dir: &Path) -> String {
        display(dir.strip_prefix(&self.out).unwrap_or(dir))
    }

    /// The repair study: the base model's greedy programs of the study's problems run with
    /// full traces (beside the traced references) → fault reports → per condition, repair
    /// prompts for the failing programs (`build repair`), the base model's replies
    /// (`generate --prompts`) and their evaluation (`eval --samples`: the share repaired).
    fn repair_stages(&self, study: &RepairStudy, problems: &Problems) -> Vec<Stage> {
        let runs = self.path("repair/runs/runs.jsonl");
        let faults = self.path("repair/faults.jsonl");
        let source = self.eval_dir(None, &study.eval_set, false);
        let mut traced = Stage::new("repair/runs", runs.clone());
        let run = |tail: &[&str]| {
            let mut command = strings(&["run"]);
            command.extend(problems.args());
            command.extend(strings(tail));
            command.extend(strings(&["--trace", "full"]));
            command
        };
        let (samples, references) = (
            self.path("repair/runs/samples.jsonl"),
            self.path("repair/runs/references.jsonl"),
        );
        let programs = display(&source.join("samples.jsonl"));
        traced.commands = vec![
            // The set's other problems are outside the study.
            run(&["-s", &programs, "--skip-unknown", "-o", &display(&samples)]),
            run(&["-o", &display(&references)]),
        ];
        traced.concat = vec![samples, references];
        traced.after = vec![self.stage_name(&source)];
        traced.reads = problems.reads();
        let mut localized = Stage::new("repair/faults", faults.clone());
        let mut command = strings(&["localize", &display(&runs)]);
        command.extend(problems.args());
        command.extend(strings(&[
            "--mutation-budget",
            "0",
            "-o",
            &display(&faults),
        ]));
        localized.commands = vec![command];
        localized.after = vec!["repair/runs".into()];
        localized.reads = problems.reads();
        let mut stages = vec![traced, localized];
        for (condition, repr, arm) in self.repair_conditions(study) {
            stages.push(self.repair_condition(study, problems, &condition, &repr, arm));
        }
        stages
    }

    /// One condition of the repair study: its prompts, the replies, their evaluation.
    fn repair_condition(
        &self,
        study: &RepairStudy,
        problems: &Problems,
        condition: &str,
        repr: &[String],
        adapter: Option<&Arm>,
    ) -> Stage {
        let dir = self.path(&format!("repair/{condition}"));
        let prompts = display(&dir.join("prompts.jsonl"));
        let replies = display(&dir.join("samples.jsonl"));
        let mut stage = Stage::new(format!("repair/{condition}"), dir.join("eval.json"));
        let mut build = strings(&["build", "repair"]);
        build.extend(problems.args());
        build.extend(strings(&[
            "--runs",
            &display(&self.path("repair/runs/runs.jsonl")),
            "--faults",
            &display(&self.path("repair/faults.jsonl")),
            "--budget",
            &study.budget.to_string(),
            "--fl-lines",
            &study.fl_lines.to_string(),
            "-o",
            &prompts,
        ]));
        build.extend(repr.iter().cloned());
        let mut generate = strings(&["generate", "--model", &display(&self.config.model)]);
        stage.after = vec!["repair/runs".into(), "repair/faults".into()];
        if let Some(arm) = adapter {
            let dir = self.path(&format!("train/{}", arm.name));
            generate.extend(strings(&["--adapter", &display(&dir)]));
            stage.after.push(format!("train/{}", arm.name));
        }
        generate.extend(problems.args());
        generate.extend(strings(&[
            "--prompts",
            &prompts,
            "--max-new-tokens",
            &study.max_tokens.to_string(),
            "-o",
            &replies,
        ]));
        generate.extend(self.decode_weights());
        let mut eval = strings(&["eval"]);
        eval.extend(problems.args());
        eval.extend(strings(&[
            "--samples",
            &replies,
            "-k",
            "1",
            "-o",
            &display(&dir),
        ]));
        stage.commands = vec![build, generate, eval];
        stage.reads = [vec![self.config.model.clone()], problems.reads()].concat();
        stage
    }

    /// `--decode-weights` unless it is the default (so stages made before the setting existed
    /// keep their fingerprints).
    fn decode_weights(&self) -> Vec<String> {
        match self.config.decode_weights {
            DecodeWeights::F32 => Vec::new(),
            DecodeWeights::Q8_0 => strings(&["--decode-weights", "q8_0"]),
        }
    }

    fn eval_dir(&self, arm: Option<&Arm>, set: &str, sampled: bool) -> PathBuf {
        let model = arm.map_or(BASE, |a| a.name.as_str());
        let kind = if sampled { "sampled" } else { "greedy" };
        self.path(&format!("eval/{set}/{model}/{kind}"))
    }

    /// The table, from every evaluation's eval.json.
    fn results(&self) -> Result<Results> {
        let mut results = Results::default();
        for (set, _) in &self.eval_sets {
            for arm in self.models() {
                let greedy = read_evaluation(&self.eval_dir(arm, set, false))?;
                let sampled = match &self.config.eval.pass_at_k {
                    Some(p) => Some((read_evaluation(&self.eval_dir(arm, set, true))?, p.k, p.n)),
                    None => None,
                };
                let name = arm.map_or(BASE, |a| a.name.as_str());
                let sampled = sampled.as_ref().map(|(e, k, n)| (e, *k, *n));
                let Some(mut row) = ResultRow::of(name, set, &greedy, sampled) else {
                    bail!("the greedy evaluation of {name} on {set} has no pass@1");
                };
                if arm.is_some() {
                    let base = read_evaluation(&self.eval_dir(None, set, false))?;
                    row.vs_base = Paired::of(&greedy, &base);
                }
                results.rows.push(row);
            }
        }
        if let Some((study, _)) = &self.repair {
            for (condition, _, _) in self.repair_conditions(study) {
                let evaluation = read_evaluation(&self.path(&format!("repair/{condition}")))?;
                // No failing program to repair gives no pass@1: no row.
                results
                    .repair
                    .extend(RepairResult::of(&condition, &evaluation));
            }
        }
        for arm in &self.config.arms {
            let metrics = self.path(&format!("train/{}/metrics.jsonl", arm.name));
            results
                .curves
                .insert(arm.name.clone(), learning_curve(&metrics)?);
        }
        Ok(results)
    }
}

/// Loss (and DPO margin) per step from a training run's metrics.jsonl.
fn learning_curve(metrics: &Path) -> Result<Vec<CurvePoint>> {
    let text = std::fs::read_to_string(metrics)
        .with_context(|| format!("cannot read {}", metrics.display()))?;
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .with_context(|| format!("{}:{}: not a step's metrics", metrics.display(), i + 1))
        })
        .collect()
}

fn read_evaluation(dir: &Path) -> Result<Evaluation> {
    let path = dir.join("eval.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not an evaluation", path.display()))
}

fn write_results(out: &Path, results: &Results) -> Result<()> {
    let json = out.join("results.json");
    std::fs::write(&json, serde_json::to_string_pretty(results)? + "\n")
        .with_context(|| format!("cannot write {}", json.display()))?;
    let markdown = out.join("results.md");
    std::fs::write(&markdown, results.markdown())
        .with_context(|| format!("cannot write {}", markdown.display()))?;
    let html = out.join("results.html");
    std::fs::write(&html, results.html("tracealign experiment"))
        .with_context(|| format!("cannot write {}", html.display()))
}

/// The set as the stages read it: with `task_ids` or a `limit`, the problems selected copied
/// (same format) to `OUT/problems/<name>.jsonl`; the embedded set is taken whole.
fn subset(set: &ProblemSet, out: &Path) -> Result<Problems> {
    let whole = Problems {
        path: set.path.clone(),
        format: set.format,
    };
    let Some(path) = &set.path else {
        return Ok(whole);
    };
    if set.limit.is_none() && set.task_ids.is_none() {
        return Ok(whole);
    }
    let text = read_text(path)?;
    let mut lines = String::new();
    let mut kept = 0;
    let records = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    for (number, line) in records {
        if set.limit.is_some_and(|limit| kept >= limit) {
            break;
        }
        let record: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not JSON", path.display(), number + 1))?;
        if set.selects(&record) {
            lines.push_str(line);
            lines.push('\n');
            kept += 1;
        }
    }
    let copy = out.join("problems").join(format!("{}.jsonl", set.name));
    std::fs::create_dir_all(out.join("problems"))?;
    // Rewritten only when changed: the file's identity is part of later fingerprints.
    if std::fs::read_to_string(&copy).ok().as_deref() != Some(lines.as_str()) {
        std::fs::write(&copy, lines).with_context(|| format!("cannot write {}", copy.display()))?;
    }
    Ok(Problems {
        path: Some(copy),
        format: set.format,
    })
}

/// A problem file's text, gunzipped when it ends in `.gz`.
fn read_text(path: &Path) -> Result<String> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut text = String::new();
    let read = if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(file).read_to_string(&mut text)
    } else {
        std::io::BufReader::new(file).read_to_string(&mut text)
    };
    read.with_context(|| format!("cannot read {}", path.display()))?;
    Ok(text)
}

/// Skips a finished stage, else runs it (continuing an interrupted run of the same stage)
/// and records its fingerprint.
fn run_cached(out: &Path, stage: &Stage, label: &str, quiet: bool) -> Result<()> {
    let fingerprint = fingerprint(out, stage)?;
    let manifest = manifest_path(out, &stage.name);
    let started_marker = manifest.with_extension("started");
    let done = std::fs::read_to_string(&manifest).ok();
    if done.is_some_and(|d| d.starts_with(&fingerprint)) && stage.output.exists() {
        eprintln!("{label:<44} up to date");
        return Ok(());
    }
    let continuing = std::fs::read_to_string(&started_marker).ok().as_deref() == Some(&fingerprint);
    std::fs::write(&started_marker, &fingerprint)
        .with_context(|| format!("cannot write {}", started_marker.display()))?;
    let _ = std::fs::remove_file(&manifest);
    let clock = Instant::now();
    let flag = if continuing {
        stage.resume
    } else {
        stage.fresh
    };
    for command in &stage.commands {
        run_command(command, flag, quiet)
            .with_context(|| format!("stage {} failed", stage.name))?;
    }
    if !stage.concat.is_empty() {
        concat(&stage.concat, &stage.output)?;
    }
    // A fresh run marks itself, so the stages after it see a new fingerprint.
    let ran_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::fs::write(&manifest, format!("{fingerprint} {ran_at}\n"))
        .with_context(|| format!("cannot write {}", manifest.display()))?;
    eprintln!(
        "{label:<44} done in {:>6.1}s",
        clock.elapsed().as_secs_f64()
    );
    Ok(())
}

fn run_command(command: &[String], flag: Option<&str>, quiet: bool) -> Result<()> {
    let mut argv = vec!["tracealign".to_string()];
    argv.extend(command.iter().cloned());
    argv.extend(flag.map(str::to_string));
    if quiet {
        argv.push("-q".into());
    }
    if let Some(parent) = output_dir(command) {
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    dispatch(Cli::try_parse_from(&argv)?.command)
}

/// Where a command writes (`-o FILE` or `-o DIR`): its parent must exist.
fn output_dir(command: &[String]) -> Option<PathBuf> {
    let at = command.iter().position(|a| a == "-o")?;
    let path = Path::new(command.get(at + 1)?);
    path.parent().map(Path::to_path_buf)
}

fn concat(parts: &[PathBuf], into: &Path) -> Result<()> {
    let mut text = String::new();
    for part in parts {
        let part_text = std::fs::read_to_string(part)
            .with_context(|| format!("cannot read {}", part.display()))?;
        text.push_str(&part_text);
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
    }
    std::fs::write(into, text).with_context(|| format!("cannot write {}", into.display()))
}

fn manifest_path(out: &Path, stage: &str) -> PathBuf {
    out.join(".stages").join(stage.replace('/', "--"))
}

/// The stage's commands, the identity of what it reads, its predecessors' manifests.
fn fingerprint(out: &Path, stage: &Stage) -> Result<String> {
    let mut hash = Sha256::new();
    hash.update(&stage.name);
    for command in &stage.commands {
        hash.update(command.join("\u{1f}"));
        hash.update("\u{1e}");
    }
    for path in &stage.reads {
        hash.update(identity(path)?);
    }
    for before in &stage.after {
        hash.update(std::fs::read(manifest_path(out, before)).unwrap_or_default());
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// A file's contents, or for a model directory (or a large model file, not worth hashing
/// every run) the names, sizes and modification times of its files.
fn identity(path: &Path) -> Result<Vec<u8>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_file() && meta.len() < 64 << 20 {
        return std::fs::read(path).with_context(|| format!("cannot read {}", path.display()));
    }
    let mut files = vec![path.to_path_buf()];
    if meta.is_dir() {
        files = std::fs::read_dir(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<std::io::Result<_>>()?;
        files.sort();
    }
    let mut id = Vec::new();
    for file in files {
        let meta = std::fs::metadata(&file)?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok());
        id.extend(format!("{} {} {modified:?}\n", file.display(), meta.len()).bytes());
    }
    Ok(id)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
