//! `tracealign train --objective grpo`: online GRPO on training problems, each step's samples
//! run and credited by execution (`tracealign_rl`). The flags become [`GrpoSettings`]; the
//! library does the rest. OUT receives the adapter (PEFT layout), `metrics.jsonl` (one line
//! per step: reward, pass rate, signal shares, KL, the time split) and `checkpoint/`
//! (rewritten after every step; `--resume` continues from it).

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use tracealign_exec::resolve_python;
use tracealign_pipeline::ProblemSource;
use tracealign_predict::read_rows;
use tracealign_rl::grpo::{train_grpo, GrpoRun, GrpoSettings, GrpoStep, GrpoSummary};
use tracealign_rl::prediction::{train_prediction_grpo, PredictionRun};
use tracealign_rl::Credit;
use tracealign_train::{DecodeWeights, LoraConfig, ATTENTION_TARGETS, MLP_TARGETS};

use crate::args::{ExecArgs, FormatArg, TraceCapArgs};
use crate::commands::train::TrainArgs;
use crate::commands::workers::{problem_format, traced_exec_settings};
use crate::printer;

/// Where a step's credit lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CreditArg {
    /// The group advantage on every token, binary reward (plain GRPO).
    Sequence,
    /// Sequence credit with the share of tests passed as the reward (RLTF's adaptive).
    PassRatio,
    /// A failing sample's suspicious lines (fault report) carry extra negative credit.
    Fault,
    /// A failing sample's credit only on its first divergent span from the reference
    /// trace, what follows masked (execution-grounded credit assignment).
    Divergence,
}

impl CreditArg {
    pub fn credit(self) -> Credit {
        match self {
            CreditArg::Sequence => Credit::Sequence,
            CreditArg::PassRatio => Credit::PassRatio,
            CreditArg::Fault => Credit::Fault,
            CreditArg::Divergence => Credit::Divergence,
        }
    }
}

/// The GRPO objective's flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "GRPO (--objective grpo)")]
pub struct GrpoArgs {
    /// Training problems (any problem-file format); their prompts are sampled.
    #[arg(long, short = 'p', value_name = "FILE", conflicts_with = "rows")]
    pub problems: Option<PathBuf>,
    /// Execution prediction rows instead (`tracealign build traced`, or CRUXEval's JSONL):
    /// each sampled answer is judged by running it, the verdict its reward (`sequence`
    /// credit: right or wrong; any other: the checker's partial credit).
    #[arg(long, value_name = "FILE")]
    pub rows: Option<PathBuf>,
    /// The problems' format, when detection guesses wrong.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Where each step's credit lands.
    #[arg(long, value_enum, default_value = "divergence")]
    pub credit: CreditArg,
    /// Problems per step.
    #[arg(long, default_value_t = 4)]
    pub prompts: usize,
    /// Samples per problem (the group).
    #[arg(long, default_value_t = 4)]
    pub samples: usize,
    /// Sampling temperature.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Most new tokens per sample.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: usize,
    /// ε of the clipped ratio.
    #[arg(long, default_value_t = 0.2)]
    pub clip: f64,
    /// β of the KL penalty to the base model (0: none).
    #[arg(long, default_value_t = 0.02)]
    pub kl_beta: f64,
    /// `fault` credit: what the most suspicious tokens of a failing sample lose.
    #[arg(long, default_value_t = 1.0)]
    pub fault_penalty: f32,
    /// `divergence` credit: the least negative credit on a failing sample's divergent span.
    #[arg(long, default_value_t = 1.0)]
    pub failure_floor: f32,
    /// Decoding weights while sampling (`q8_0`: 8-bit, faster on CPU).
    #[arg(long, value_enum, default_value = "f32")]
    pub decode_weights: DecodeArg,
    #[command(flatten)]
    pub exec: ExecArgs,
    #[command(flatten)]
    pub trace_caps: TraceCapArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DecodeArg {
    F32,
    #[value(name = "q8_0")]
    Q8_0,
}

/// Runs GRPO per the flags.
pub fn train(args: &TrainArgs) -> Result<()> {
    let grpo = &args.grpo;
    if let Some(rows) = &grpo.rows {
        return train_on_rows(args, rows);
    }
    let Some(path) = &grpo.problems else {
        bail!("--objective grpo samples training problems or prediction rows: give them with --problems FILE or --rows FILE");
    };
    let source = ProblemSource {
        path: Some(path.clone()),
        format: grpo.format.map(problem_format),
    };
    let problems = source.load()?;
    let exec = traced_exec_settings(&grpo.exec, &grpo.trace_caps)?;
    let settings = settings(args);
    let run = GrpoRun {
        model: &args.model,
        problems: &problems,
        exec: &exec,
        settings: &settings,
        threads: args.threads,
    };
    printer::note(format_args!(
        "GRPO on {} problems: {} steps of {} problems x {} samples, {:?} credit",
        problems.len(),
        settings.steps,
        settings.prompts,
        settings.samples,
        settings.credit
    ));
    let summary = train_grpo(&run, &args.out, args.resume, &mut print_step(args.quiet))?;
    finished(args, &summary);
    Ok(())
}

/// GRPO on execution prediction rows.
fn train_on_rows(args: &TrainArgs, path: &Path) -> Result<()> {
    let rows = read_rows(path)?;
    if rows.is_empty() {
        bail!("{} holds no rows", path.display());
    }
    let python = resolve_python(args.grpo.exec.python.as_deref())?;
    let settings = settings(args);
    let run = PredictionRun {
        model: &args.model,
        rows: &rows,
        python: &python,
        settings: &settings,
        threads: args.threads,
    };
    printer::note(format_args!(
        "GRPO on {} prediction rows: {} steps of {} rows x {} samples, {:?} credit",
        rows.len(),
        settings.steps,
        settings.prompts,
        settings.samples,
        settings.credit
    ));
    let summary = train_prediction_grpo(&run, &args.out, args.resume, &mut print_step(args.quiet))?;
    finished(args, &summary);
    Ok(())
}

/// Prints each step's line unless quiet.
fn print_step(quiet: bool) -> impl FnMut(&GrpoStep) -> ControlFlow<()> {
    move |step| {
        if !quiet {
            printer::line(format_args!("{}", step_line(step)));
        }
        ControlFlow::Continue(())
    }
}

fn finished(args: &TrainArgs, summary: &GrpoSummary) {
    if summary.resumed_at > 0 {
        printer::note(format_args!("resumed at step {}", summary.resumed_at));
    }
    printer::note(format_args!("wrote the adapter to {}", args.out.display()));
}

fn settings(args: &TrainArgs) -> GrpoSettings {
    let grpo = &args.grpo;
    let mut targets: Vec<String> = ATTENTION_TARGETS.iter().map(|s| s.to_string()).collect();
    if args.mlp {
        targets.extend(MLP_TARGETS.iter().map(|s| s.to_string()));
    }
    let lora = LoraConfig {
        rank: args.rank,
        alpha: args.alpha,
        targets,
        seed: args.seed,
    };
    let mut settings = GrpoSettings::new(grpo.credit.credit(), lora);
    settings.credit_settings.fault_penalty = grpo.fault_penalty;
    settings.credit_settings.failure_floor = grpo.failure_floor;
    settings.steps = args.steps;
    settings.prompts = grpo.prompts;
    settings.samples = grpo.samples;
    settings.temperature = grpo.temperature;
    settings.max_new_tokens = grpo.max_tokens;
    settings.lr = args.lr;
    settings.clip = grpo.clip;
    settings.kl_beta = grpo.kl_beta;
    settings.micro_batch = args.batch_size;
    settings.max_grad_norm = args.max_grad_norm;
    settings.seed = args.seed;
    settings.decode_weights = match grpo.decode_weights {
        DecodeArg::F32 => DecodeWeights::F32,
        DecodeArg::Q8_0 => DecodeWeights::Q8_0,
    };
    settings
}

/// One step, in a line.
fn step_line(s: &GrpoStep) -> String {
    format!(
        "step {:>3}  reward {:.3}  passed {:>5.1}%  signal: groups {:>5.1}% tokens {:>5.1}%  kl {:.4}  \
         loss {:+.4}  trained {}  time: sample {:.1}s exec {:.1}s update {:.1}s",
        s.step,
        s.reward,
        100.0 * s.passed,
        100.0 * s.signal_groups,
        100.0 * s.signal_tokens,
        s.kl,
        s.loss,
        s.trained,
        s.seconds_sampling,
        s.seconds_execution,
        s.seconds_update
    )
}
