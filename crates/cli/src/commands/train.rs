//! `tracealign train`: LoRA fine-tuning of a local model (Hugging Face directory or GGUF) on
//! weighted SFT rows or DPO pairs from `tracealign build`. The arguments become
//! [`TrainSettings`]; `tracealign_train::training` does the rest.
//!
//! OUT receives the adapter in PEFT's layout (`adapter_config.json`,
//! `adapter_model.safetensors`), `metrics.jsonl` (one line per step), `checkpoint/` (adapter,
//! optimizer moments and step, rewritten every `--save-every` steps and at the end; `--resume`
//! continues from it) and, with `--merge`, `merged/` (full weights with the adapter folded in).

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use indicatif::ProgressBar;
use tracealign_train::training::Objective;
use tracealign_train::{train_adapter, ProgressEvent, TrainSettings};

use crate::commands::grpo::{self, GrpoArgs};
use crate::commands::workers::refuse_to_replace;
use crate::printer;

/// What to optimize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ObjectiveArg {
    /// Decide from the rows: DPO when they have `chosen`, else SFT.
    Auto,
    /// Token-weighted cross-entropy on `{prompt, completion, weights}` rows.
    Sft,
    /// DPO on `{prompt, chosen, rejected}` pairs.
    Dpo,
    /// Online GRPO on training problems (`--problems`): samples from the current policy,
    /// run and credited per token by execution (see the GRPO flags).
    Grpo,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The base model: a directory (config.json, *.safetensors, tokenizer.json) or a .gguf file.
    #[arg(long, value_name = "DIR|FILE")]
    pub model: PathBuf,
    /// Training rows (JSON Lines from `tracealign build sft` or `build dpo`); not for grpo.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// The objective.
    #[arg(long, value_enum, default_value = "auto")]
    pub objective: ObjectiveArg,
    /// Output directory.
    #[arg(
        long = "output",
        visible_alias = "out",
        short = 'o',
        value_name = "DIR"
    )]
    pub out: PathBuf,
    /// Optimizer steps.
    #[arg(long, default_value_t = 100)]
    pub steps: usize,
    /// Peak learning rate (after warm-up; cosine decay to a tenth of it).
    #[arg(long, default_value_t = 2e-4)]
    pub lr: f64,
    /// Warm-up steps.
    #[arg(long, default_value_t = 0)]
    pub warmup: usize,
    /// LoRA rank.
    #[arg(long, default_value_t = 8)]
    pub rank: usize,
    /// LoRA alpha (the update is scaled by alpha/rank).
    #[arg(long, default_value_t = 16.0)]
    pub alpha: f64,
    /// Also adapt the MLP projections (gate/up/down), not only q/k/v/o.
    #[arg(long)]
    pub mlp: bool,
    /// Rows per micro-batch.
    #[arg(long, default_value_t = 4)]
    pub batch_size: usize,
    /// Micro-batches per optimizer step.
    #[arg(long, default_value_t = 1)]
    pub grad_accum: usize,
    /// Clip the gradient's global norm (0: off).
    #[arg(long, default_value_t = 1.0)]
    pub max_grad_norm: f64,
    /// Cut rows to this many tokens.
    #[arg(long, default_value_t = 512)]
    pub max_len: usize,
    /// DPO's β.
    #[arg(long, default_value_t = 0.1)]
    pub beta: f64,
    /// Weighted DPO: completion tokens under the diff/fault mask weigh 1 + this (0: plain DPO).
    #[arg(long, default_value_t = 0.0)]
    pub mask_weight: f64,
    /// Seed of the data order and of the adapters' initialization.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write a checkpoint every this many steps (0: only at the end).
    #[arg(long, default_value_t = 0)]
    pub save_every: usize,
    /// Continue from OUT/checkpoint.
    #[arg(long, conflicts_with = "force")]
    pub resume: bool,
    /// Replace an adapter already in OUT.
    #[arg(long)]
    pub force: bool,
    /// Also write OUT/merged: full weights with the adapter merged in.
    #[arg(long)]
    pub merge: bool,
    /// Threads for tensor math (default: one per core). On a busy machine fewer can be much
    /// faster: candle's workers spin while they wait for each other.
    #[arg(long, env = "TRACEALIGN_TENSOR_THREADS")]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub grpo: GrpoArgs,
}

pub fn train(args: TrainArgs) -> Result<()> {
    if !args.resume {
        let adapter = args.out.join("adapter_model.safetensors");
        refuse_to_replace(&adapter, args.force, Some("--resume"))?;
        let checkpoint = args.out.join("checkpoint").join("trainer_state.json");
        refuse_to_replace(&checkpoint, args.force, Some("--resume"))?;
    }
    if args.objective == ObjectiveArg::Grpo {
        if args.data.is_some() {
            bail!(
                "--objective grpo samples its own data from --problems; --data is for sft and dpo"
            );
        }
        return grpo::train(&args);
    }
    let Some(data) = &args.data else {
        bail!("give the training rows with --data FILE (or --objective grpo with --problems)");
    };
    let settings = settings(&args);
    let mut bar = EventBar::new("training", args.quiet);
    let summary = train_adapter(&settings, data, &args.out, args.resume, &mut |e| bar.on(e))?;
    bar.finish();
    if summary.left_out > 0 {
        printer::warning(&format!(
            "{} of {} rows kept no completion token within --max-len {}; left out",
            summary.left_out,
            summary.left_out + summary.examples,
            args.max_len
        ));
    }
    printer::note(format_args!("wrote the adapter to {}", args.out.display()));
    Ok(())
}

/// The library's settings for the arguments.
pub fn settings(args: &TrainArgs) -> TrainSettings {
    TrainSettings {
        model: args.model.clone(),
        objective: match args.objective {
            ObjectiveArg::Auto => Objective::Auto,
            ObjectiveArg::Sft => Objective::Sft,
            ObjectiveArg::Dpo => Objective::Dpo,
            // `train` hands GRPO to `grpo::train` before settings are made.
            ObjectiveArg::Grpo => Objective::Auto,
        },
        steps: args.steps,
        lr: args.lr,
        warmup: args.warmup,
        rank: args.rank,
        alpha: args.alpha,
        mlp: args.mlp,
        batch_size: args.batch_size,
        grad_accum: args.grad_accum,
        max_grad_norm: args.max_grad_norm,
        max_len: args.max_len,
        beta: args.beta,
        mask_weight: args.mask_weight,
        seed: args.seed,
        save_every: args.save_every,
        merge: args.merge,
        threads: args.threads,
    }
}

/// A progress bar drawn from a sampling or training call's events.
pub(crate) struct EventBar {
    label: &'static str,
    quiet: bool,
    bar: Option<ProgressBar>,
}

impl EventBar {
    pub(crate) fn new(label: &'static str, quiet: bool) -> EventBar {
        EventBar {
            label,
            quiet,
            bar: None,
        }
    }

    pub(crate) fn on(&mut self, event: ProgressEvent) {
        match event {
            ProgressEvent::Begin { total, done } => {
                let bar = printer::progress(total, self.label, self.quiet);
                bar.set_position(done as u64);
                self.bar = Some(bar);
            }
            ProgressEvent::Advance { status } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(status);
                    bar.inc(1);
                }
            }
        }
    }

    pub(crate) fn finish(self) {
        self.bar.iter().for_each(ProgressBar::finish_and_clear);
    }
}
