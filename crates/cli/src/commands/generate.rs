//! `tracealign generate`: sample completions of each problem's prompt from a local model
//! (optionally with a trained adapter) and write them as samples
//! (`{"problem_id", "sample_id", "code", "model"}`) that `tracealign run` executes.
//!
//! The prompt is the problem's prompt without trailing whitespace (line breaks included); the
//! program is that prompt then the completion cut at the first stop sequence
//! (`tracealign_core::completion::STOP_SEQUENCES`). With `--chat` the model is asked for the
//! function as a chat message (`completion::chat_request`) through its own chat template, and
//! the program is the code block of its reply (`completion::program_of_chat_reply`). The samples of many problems decode
//! together (`--batch` sequences per forward pass, continuous batching); each problem's samples
//! are written when the last of them finishes, so the file is in completion order.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use tracealign_core::completion::{
    chat_request, cut_at_stop, program_of_chat_reply, STOP_SEQUENCES,
};
use tracealign_core::{Problem, Sample};
use tracealign_train::generate::Completion;
use tracealign_train::generate::{generate_batched, Request, SamplingConfig};
use tracealign_train::{load_model, load_with_adapter, DecodeWeights, TrainError};

use crate::args::FormatArg;
use crate::commands::run::problem_set;
use crate::commands::train::candle_device;
use crate::printer;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The model: a directory (config.json, *.safetensors, tokenizer.json) or a .gguf file.
    #[arg(long, value_name = "DIR|FILE")]
    pub model: PathBuf,
    /// A trained adapter (PEFT layout, e.g. the OUT of `tracealign train`).
    #[arg(long, value_name = "DIR")]
    pub adapter: Option<PathBuf>,
    /// Problems whose prompts are completed. Default: the embedded problem set.
    #[arg(long, short = 'p', value_name = "FILE")]
    pub problems: Option<PathBuf>,
    /// The problems' format (default: detected).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Samples per problem.
    #[arg(short = 'n', long, default_value_t = 1)]
    pub samples: usize,
    /// Sampling temperature (0: greedy).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// Nucleus sampling mass.
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f64,
    /// Tokens per completion at most.
    #[arg(long, default_value_t = 384)]
    pub max_new_tokens: usize,
    /// Seed of the sampler (problem i uses seed + i; each of its samples its own stream).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sequences decoded together in one forward pass (samples of several problems).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BATCH)]
    pub batch: usize,
    /// Only the first N problems.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// The `model` field of the samples. Default: the model's file or directory name.
    #[arg(long)]
    pub name: Option<String>,
    /// Ask for each function as a chat message through the model's chat template (from the
    /// GGUF, or tokenizer_config.json) and take the code block of the reply.
    #[arg(long)]
    pub chat: bool,
    /// The frozen weights' form in decoding steps: `f32` (exact), or `q8_0` (8-bit blocks as
    /// in llama.cpp, activations too: 1.3–2.4× faster decoding here, slightly different
    /// numbers). Prompts are processed in f32 either way.
    #[arg(long, value_enum, default_value = "f32")]
    pub decode_weights: DecodeWeightsArg,
    /// Output samples file.
    #[arg(
        long,
        short = 'o',
        value_name = "FILE",
        default_value = "samples.jsonl"
    )]
    pub out: PathBuf,
    /// Keep the samples already in the output file and generate only what is missing.
    #[arg(long)]
    pub resume: bool,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// The forms of `--decode-weights`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DecodeWeightsArg {
    F32,
    #[value(name = "q8_0")]
    Q8_0,
}

impl From<DecodeWeightsArg> for DecodeWeights {
    fn from(arg: DecodeWeightsArg) -> DecodeWeights {
        match arg {
            DecodeWeightsArg::F32 => DecodeWeights::F32,
            DecodeWeightsArg::Q8_0 => DecodeWeights::Q8_0,
        }
    }
}

/// Sequences per forward pass by default: on 2 CPU cores SmolLM2's decoding throughput grows
/// up to about this many rows (`cargo run --release -p tracealign-train --example speed`).
pub const DEFAULT_BATCH: usize = 16;

pub fn generate(args: GenerateArgs) -> Result<()> {
    let device = candle_device(None)?;
    let mut loaded = match &args.adapter {
        Some(adapter) => load_with_adapter(&args.model, adapter, &device),
        None => load_model(&args.model, None, &device),
    }
    .with_context(|| format!("cannot load the model {}", args.model.display()))?;
    loaded
        .model
        .set_decode_weights(args.decode_weights.into())
        .context("cannot quantize the decoding weights")?;
    let mut problems = problem_set(args.problems.as_deref(), args.format)?;
    if let Some(limit) = args.limit {
        problems.truncate(limit);
    }
    let name = args.name.clone().unwrap_or_else(|| model_name(&args));
    let done = if args.resume {
        finished_samples(&args.out)?
    } else {
        HashSet::new()
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(args.resume)
        .truncate(!args.resume)
        .open(&args.out)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let mut out = std::io::LineWriter::new(file);
    let id = |problem: &Problem, k: usize| format!("{}#{k}", problem.id);
    // A problem cut short is generated again whole (its samples decode together); only its
    // missing samples are written.
    let todo: Vec<(usize, &Problem)> = problems
        .iter()
        .enumerate()
        .filter(|(_, p)| !(0..args.samples).all(|k| done.contains(&id(p, k))))
        .collect();
    // All trailing whitespace goes: SmolLM2 given a prompt ending in a line break writes
    // prose or a closing fence instead of the body.
    let prompt = |p: &Problem| -> Result<String> {
        match args.chat {
            true => Ok(loaded.tokenizer.chat_prompt(&chat_request(p))?),
            false => Ok(p.prompt.trim_end().to_string()),
        }
    };
    let requests: Vec<Request> = todo
        .iter()
        .map(|(i, p)| {
            Ok(Request {
                prompt: prompt(p)?,
                n: args.samples,
                seed: args.seed + *i as u64,
            })
        })
        .collect::<Result<_>>()?;
    // A chat reply ends at the end of the assistant's turn; Codex's stops would cut it at a
    // fence or a blank-line `def`.
    let stop = match args.chat {
        true => Vec::new(),
        false => STOP_SEQUENCES.iter().map(|s| s.to_string()).collect(),
    };
    let sampling = SamplingConfig {
        temperature: args.temperature,
        top_p: args.top_p,
        max_new_tokens: args.max_new_tokens,
        seed: args.seed,
        stop,
    };
    let bar = printer::progress(problems.len(), "generating", args.quiet);
    bar.inc((problems.len() - todo.len()) as u64);
    let mut tokens = 0;
    let started = std::time::Instant::now();
    let mut write = |r: usize, completions: Vec<Completion>| -> Result<(), TrainError> {
        let problem = todo[r].1;
        let prompt = &requests[r].prompt;
        for (k, completion) in completions.iter().enumerate() {
            tokens += completion.tokens;
            if done.contains(&id(problem, k)) {
                continue;
            }
            let code = match args.chat {
                true => program_of_chat_reply(problem, &completion.text),
                false => format!("{prompt}{}", cut_at_stop(&completion.text, &STOP_SEQUENCES)),
            };
            let sample = Sample {
                problem_id: problem.id.clone(),
                sample_id: id(problem, k),
                code,
                model: Some(name.clone()),
                mutation: None,
            };
            let line = serde_json::to_string(&sample).expect("samples serialize");
            writeln!(out, "{line}").map_err(|source| TrainError::Io {
                path: args.out.clone(),
                source,
            })?;
        }
        bar.inc(1);
        bar.set_message(format!(
            "{:.1} tok/s",
            tokens as f64 / started.elapsed().as_secs_f64()
        ));
        Ok(())
    };
    generate_batched(
        &loaded.model,
        &loaded.tokenizer,
        &requests,
        &sampling,
        args.batch,
        &mut write,
    )
    .context("cannot generate")?;
    bar.finish_and_clear();
    eprintln!(
        "wrote {} samples of {} problems to {} ({tokens} tokens, {:.1} tokens/s)",
        problems.len() * args.samples,
        problems.len(),
        args.out.display(),
        tokens as f64 / started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn model_name(args: &GenerateArgs) -> String {
    let stem = |p: &PathBuf| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    match &args.adapter {
        Some(adapter) => format!("{}+{}", stem(&args.model), stem(adapter)),
        None => stem(&args.model),
    }
}

/// Sample ids already in a samples file. A last line cut short by an interrupted run is cut
/// off, so that appending continues on a clean line.
fn finished_samples(path: &Path) -> Result<HashSet<String>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(HashSet::new());
    };
    let whole = text.rfind('\n').map_or(0, |at| at + 1);
    if whole < text.len() {
        let file = std::fs::OpenOptions::new().write(true).open(path)?;
        file.set_len(whole as u64)
            .with_context(|| format!("cannot repair {}", path.display()))?;
    }
    Ok(text[..whole]
        .lines()
        .filter_map(|line| serde_json::from_str::<Sample>(line).ok())
        .map(|s| s.sample_id)
        .collect())
}
