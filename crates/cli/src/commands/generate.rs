//! `tracealign generate`: sample completions of each problem's prompt from a local model
//! (optionally with a trained adapter) and write them as samples
//! (`{"problem_id", "sample_id", "code", "model"}`) that `tracealign run` executes. The
//! arguments become [`GenerateSettings`]; `tracealign_train::sampling` does the rest (see
//! there how prompts, stops and programs are made).

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use clap::Args;
use tracealign_train::sampling::{generate_into, problem_prompts, read_prompt_rows};
use tracealign_train::{DecodeWeights, GenerateSettings, SamplingError};

use crate::args::ProblemSetArgs;
use crate::commands::train::EventBar;
use crate::commands::workers::refuse_to_replace;
use crate::printer;

pub use tracealign_train::sampling::DEFAULT_BATCH;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The model: a directory (config.json, *.safetensors, tokenizer.json) or a .gguf file.
    #[arg(long, value_name = "DIR|FILE")]
    pub model: PathBuf,
    /// A trained adapter (PEFT layout, e.g. the OUT of `tracealign train`).
    #[arg(long, value_name = "DIR")]
    pub adapter: Option<PathBuf>,
    #[command(flatten)]
    pub set: ProblemSetArgs,
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
    /// Prompts to complete instead of the problems' own: JSON Lines rows with `prompt` and
    /// `problem_id` (e.g. `tracealign build repair` rows), each answered with a whole program
    /// (the reply's code block, else the reply up to a `### ` line) that `tracealign run`
    /// judges against the problem's tests (--problems). A row's samples are named by its `id`,
    /// else by its `sample_id`, `representation` and `trace_style`, else by its line.
    #[arg(long, value_name = "FILE")]
    pub prompts: Option<PathBuf>,
    /// Only the first N problems (or prompt rows).
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
    /// in llama.cpp, activations too: 1.3–2.7× faster decoding here, slightly different
    /// numbers). Prompts are processed in f32 either way.
    #[arg(long, value_enum, default_value = "f32")]
    pub decode_weights: DecodeWeightsArg,
    /// Output samples file.
    #[arg(
        long = "output",
        visible_alias = "out",
        short = 'o',
        value_name = "FILE",
        default_value = "samples.jsonl"
    )]
    pub out: PathBuf,
    /// Keep the samples already in the output file and generate only what is missing.
    #[arg(long, conflicts_with = "force")]
    pub resume: bool,
    /// Replace an output file that already holds samples.
    #[arg(long)]
    pub force: bool,
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

pub fn generate(args: GenerateArgs) -> Result<()> {
    if !args.resume {
        refuse_to_replace(&args.out, args.force, Some("--resume"))?;
    }
    let problems = args.set.load()?;
    let mut prompts = match &args.prompts {
        Some(path) => read_prompt_rows(path, &problems).map_err(|error| match error {
            SamplingError::UnknownProblem { .. } => {
                anyhow!("{error}; hint: pass the problems the rows were built from with --problems")
            }
            error => error.into(),
        })?,
        None => problem_prompts(&problems),
    };
    if let Some(limit) = args.limit {
        prompts.truncate(limit);
    }
    let settings = settings(&args);
    let mut bar = EventBar::new("generating", args.quiet);
    let summary = generate_into(&settings, &prompts, &args.out, args.resume, &mut |e| {
        bar.on(e)
    })?;
    bar.finish();
    printer::note(format_args!("wrote {summary} to {}", args.out.display()));
    Ok(())
}

/// The library's settings for the arguments.
pub fn settings(args: &GenerateArgs) -> GenerateSettings {
    GenerateSettings {
        model: args.model.clone(),
        adapter: args.adapter.clone(),
        samples: args.samples,
        temperature: args.temperature,
        top_p: args.top_p,
        max_new_tokens: args.max_new_tokens,
        seed: args.seed,
        batch: args.batch,
        chat: args.chat,
        decode_weights: args.decode_weights.into(),
        name: args.name.clone(),
    }
}
