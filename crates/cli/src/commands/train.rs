//! `tracealign train`: LoRA fine-tuning of a local model (Hugging Face directory or GGUF) on
//! weighted SFT rows or DPO pairs from `tracealign build`.
//!
//! OUT receives the adapter in PEFT's layout (`adapter_config.json`,
//! `adapter_model.safetensors`), `metrics.jsonl` (one line per step), `checkpoint/` (adapter,
//! optimizer moments and step, rewritten every `--save-every` steps and at the end; `--resume`
//! continues from it) and, with `--merge`, `merged/` (full weights with the adapter folded in).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use tracealign_train::data::{detect_kind, read_dpo, read_sft, RowKind};
use tracealign_train::{
    load_model, save_merged, Examples, LoraConfig, TrainConfig, Trainer, ATTENTION_TARGETS,
    MLP_TARGETS,
};

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
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The base model: a directory (config.json, *.safetensors, tokenizer.json) or a .gguf file.
    #[arg(long, value_name = "DIR|FILE")]
    pub model: PathBuf,
    /// Training rows (JSON Lines from `tracealign build sft` or `build dpo`).
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// The objective.
    #[arg(long, value_enum, default_value = "auto")]
    pub objective: ObjectiveArg,
    /// Output directory.
    #[arg(long, short = 'o', value_name = "DIR")]
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
    #[arg(long)]
    pub resume: bool,
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
}

pub fn train(args: TrainArgs) -> Result<()> {
    let device = candle_device(args.threads)?;
    let lora = lora_config(&args);
    let loaded = load_model(&args.model, Some(&lora), &device)
        .with_context(|| format!("cannot load the model {}", args.model.display()))?;
    let kind = match args.objective {
        ObjectiveArg::Auto => detect_kind(&args.data)?,
        ObjectiveArg::Sft => RowKind::Sft,
        ObjectiveArg::Dpo => RowKind::Dpo,
    };
    // Rows of the other kind fail on a missing field: say which kind was expected.
    let expected = |kind: &str| format!("reading {kind} rows (see --objective)");
    let examples = match kind {
        RowKind::Sft => Examples::Sft(learnable(
            read_sft(&args.data, &loaded.tokenizer, args.max_len)
                .with_context(|| expected("SFT"))?,
            args.max_len,
        )?),
        RowKind::Dpo => Examples::Dpo {
            pairs: read_dpo(
                &args.data,
                &loaded.tokenizer,
                args.max_len,
                args.mask_weight,
            )
            .with_context(|| expected("DPO"))?,
            beta: args.beta,
        },
    };
    let pad_id = loaded.tokenizer.pad_id;
    let tokenizer = loaded.tokenizer.clone();
    let mut trainer = Trainer::new(loaded.model, examples, train_config(&args), pad_id)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let checkpoint = args.out.join("checkpoint");
    if args.resume && checkpoint.join("trainer_state.json").exists() {
        trainer
            .resume(&checkpoint)
            .with_context(|| format!("cannot resume from {}", checkpoint.display()))?;
    }
    run_steps(&mut trainer, &args, &checkpoint)?;
    let base = Some(args.model.display().to_string());
    trainer.save_checkpoint(&checkpoint, base.clone())?;
    tracealign_train::peft::save_adapter(&trainer.model, &args.out, base)?;
    if args.merge {
        let loaded = tracealign_train::LoadedModel {
            model: trainer.model,
            tokenizer,
        };
        save_merged(&loaded, &args.out.join("merged"))?;
    }
    eprintln!("wrote the adapter to {}", args.out.display());
    Ok(())
}

/// Steps until done, with a progress bar and one metrics line per step.
fn run_steps(trainer: &mut Trainer, args: &TrainArgs, checkpoint: &Path) -> Result<()> {
    let metrics_path = args.out.join("metrics.jsonl");
    // A resumed run repeats the steps after its checkpoint: their old lines go.
    let kept = match args.resume {
        true => metrics_until(&metrics_path, trainer.state.step),
        false => String::new(),
    };
    std::fs::write(&metrics_path, kept)
        .with_context(|| format!("cannot write {}", metrics_path.display()))?;
    let mut metrics = std::fs::OpenOptions::new()
        .append(true)
        .open(&metrics_path)
        .with_context(|| format!("cannot write {}", metrics_path.display()))?;
    let bar = printer::progress(args.steps, "training", args.quiet);
    bar.set_position(trainer.state.step as u64);
    let base = Some(args.model.display().to_string());
    while !trainer.finished() {
        let step = trainer.step()?;
        let mut message = format!("loss {:.4} {:.0} tok/s", step.loss, step.tokens_per_second);
        if let Some(margin) = step.margin {
            message.push_str(&format!(" margin {margin:.3}"));
        }
        bar.set_message(message);
        bar.inc(1);
        writeln!(metrics, "{}", serde_json::to_string(&step)?)
            .with_context(|| format!("cannot write {}", metrics_path.display()))?;
        if args.save_every > 0 && step.step % args.save_every == 0 {
            trainer.save_checkpoint(checkpoint, base.clone())?;
        }
    }
    bar.finish_and_clear();
    Ok(())
}

/// The lines of a metrics file up to and including `step` (none when it cannot be read).
fn metrics_until(path: &Path, step: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let step_of = |line: &str| {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        value["step"].as_u64()
    };
    text.lines()
        .take_while(|line| step_of(line).is_some_and(|s| s <= step as u64))
        .map(|line| format!("{line}\n"))
        .collect()
}

fn lora_config(args: &TrainArgs) -> LoraConfig {
    let mut targets: Vec<String> = ATTENTION_TARGETS.iter().map(|s| s.to_string()).collect();
    if args.mlp {
        targets.extend(MLP_TARGETS.iter().map(|s| s.to_string()));
    }
    LoraConfig {
        rank: args.rank,
        alpha: args.alpha,
        targets,
        seed: args.seed,
    }
}

fn train_config(args: &TrainArgs) -> TrainConfig {
    TrainConfig {
        steps: args.steps,
        batch_size: args.batch_size,
        grad_accum: args.grad_accum,
        lr: args.lr,
        warmup: args.warmup,
        max_grad_norm: args.max_grad_norm,
        seed: args.seed,
        ..TrainConfig::default()
    }
}

/// CPU with `threads` workers (candle reads `RAYON_NUM_THREADS` when it first starts them);
/// CUDA when the trainer was built with its `cuda` feature and a GPU is present.
pub fn candle_device(threads: Option<usize>) -> Result<tracealign_train::Device> {
    if let Some(threads) = threads {
        std::env::set_var("RAYON_NUM_THREADS", threads.max(1).to_string());
    }
    Ok(tracealign_train::Device::cuda_if_available(0)?)
}

/// The rows with a weighted token left after cutting them to `max_len` (a long prompt can
/// leave none of its completion); the others are left out with a warning, since a batch of
/// them would have nothing to learn.
fn learnable(
    rows: Vec<tracealign_train::batch::Sequence>,
    max_len: usize,
) -> Result<Vec<tracealign_train::batch::Sequence>> {
    let total = rows.len();
    let kept: Vec<_> = (rows.into_iter())
        .filter(|row| row.weights.iter().any(|&w| w != 0.0))
        .collect();
    if kept.is_empty() && total > 0 {
        bail!(
            "no row has a completion token within --max-len {max_len}; \
             hint: raise --max-len or shorten the prompts"
        );
    }
    if kept.len() < total {
        eprintln!(
            "warning: {} of {total} rows keep no completion token within --max-len {max_len}; \
             left out",
            total - kept.len()
        );
    }
    Ok(kept)
}
