//! `tracealign generate`: sample completions of each problem's prompt from a local model
//! (optionally with a trained adapter) and write them as samples
//! (`{"problem_id", "sample_id", "code", "model"}`) that `tracealign run` executes.
//!
//! The prompt is the problem's prompt without trailing whitespace (line breaks included); the
//! program is that prompt then the completion cut at the first stop sequence
//! (`tracealign_core::completion::stop_sequences`: Codex's when the prompt starts the
//! function, fewer when the model must write it, as for MBPP). With `--chat` the model is asked for the
//! function as a chat message (`completion::chat_request`) through its own chat template, and
//! the program is the code block of its reply (`completion::program_of_chat_reply`). With
//! `--prompts`, rows such as `tracealign build repair`'s are completed instead, each reply
//! taken as a whole program of the row's problem (the same rule), cut before a `### ` line.
//! The samples of many problems decode together (`--batch` sequences per forward pass,
//! continuous batching); each problem's samples are written when the last of them finishes,
//! so the file is in completion order.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use tracealign_core::completion::{chat_request, program_of_chat_reply, stop_sequences};
use tracealign_core::{Problem, Sample};
use tracealign_train::generate::Completion;
use tracealign_train::generate::{generate_batched, Request, SamplingConfig};
use tracealign_train::tokenizer::TextTokenizer;
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
    let problems = problem_set(args.problems.as_deref(), args.format)?;
    let mut items = match &args.prompts {
        Some(path) => prompt_rows(path, &problems)?,
        None => problems.iter().map(Item::problem).collect(),
    };
    if let Some(limit) = args.limit {
        items.truncate(limit);
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
    let id = |item: &Item, k: usize| format!("{}#{k}", item.key);
    // An item cut short is generated again whole (its samples decode together); only its
    // missing samples are written.
    let todo: Vec<(usize, &Item)> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| !(0..args.samples).all(|k| done.contains(&id(item, k))))
        .collect();
    let requests: Vec<Request> = todo
        .iter()
        .map(|(i, item)| {
            Ok(Request {
                prompt: item.model_prompt(&loaded.tokenizer, args.chat)?,
                n: args.samples,
                seed: args.seed + *i as u64,
                stop: match args.chat || item.row {
                    true => Vec::new(),
                    false => (stop_sequences(item.problem).iter())
                        .map(|s| s.to_string())
                        .collect(),
                },
            })
        })
        .collect::<Result<_>>()?;
    // A chat reply ends at the end of the assistant's turn; Codex's stops would cut it at a
    // fence or a blank-line `def`. A reply to a prompt row ends where a new section would start.
    // A plain completion ends at its problem's stops (each request carries its own).
    let stop: Vec<String> = match (args.chat, &args.prompts) {
        (false, Some(_)) => vec![SECTION.to_string()],
        _ => Vec::new(),
    };
    let sampling = SamplingConfig {
        temperature: args.temperature,
        top_p: args.top_p,
        max_new_tokens: args.max_new_tokens,
        seed: args.seed,
        stop,
    };
    let bar = printer::progress(items.len(), "generating", args.quiet);
    bar.inc((items.len() - todo.len()) as u64);
    let mut tokens = 0;
    let started = std::time::Instant::now();
    let mut write = |r: usize, completions: Vec<Completion>| -> Result<(), TrainError> {
        let item = todo[r].1;
        for (k, completion) in completions.iter().enumerate() {
            tokens += completion.tokens;
            if done.contains(&id(item, k)) {
                continue;
            }
            // Already cut at the first stop sequence.
            let text = completion.text.as_str();
            let code = match args.chat || item.row {
                true => program_of_chat_reply(item.problem, text),
                false => format!("{}{text}", item.prompt),
            };
            let sample = Sample {
                problem_id: item.problem.id.clone(),
                sample_id: id(item, k),
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
        "wrote {} samples of {} prompts to {} ({tokens} tokens, {:.1} tokens/s)",
        items.len() * args.samples,
        items.len(),
        args.out.display(),
        tokens as f64 / started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The header that starts a section of a prompt row (`### Feedback`, ...): a reply to such a
/// prompt ends before the next one.
const SECTION: &str = "\n### ";

/// One prompt to sample: a problem's own prompt, or a prompt row about a problem.
struct Item<'a> {
    problem: &'a Problem,
    /// Names its samples (`KEY#k`).
    key: String,
    /// The text the model continues (before any chat template).
    prompt: String,
    /// A `--prompts` row (its reply is a whole program), not the problem's own prompt.
    row: bool,
}

impl<'a> Item<'a> {
    /// A problem's own prompt, without trailing whitespace: SmolLM2 given a prompt ending in
    /// a line break writes prose or a closing fence instead of the body.
    fn problem(problem: &'a Problem) -> Item<'a> {
        Item {
            problem,
            key: problem.id.clone(),
            prompt: problem.prompt.trim_end().to_string(),
            row: false,
        }
    }

    /// What the model sees: the prompt itself, or with `chat` a user message through the
    /// model's chat template (a problem's prompt becomes a request for the whole function).
    fn model_prompt(&self, tokenizer: &TextTokenizer, chat: bool) -> Result<String> {
        Ok(match (chat, self.row) {
            (false, _) => self.prompt.clone(),
            (true, false) => tokenizer.chat_prompt(&chat_request(self.problem))?,
            (true, true) => tokenizer.chat_prompt(&self.prompt)?,
        })
    }
}

/// The rows of a `--prompts` file, each tied to its problem.
fn prompt_rows<'a>(path: &Path, problems: &'a [Problem]) -> Result<Vec<Item<'a>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut items = Vec::new();
    for (index, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let at = format!("{}:{}", path.display(), index + 1);
        let row: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{at}: not a JSON object"))?;
        let field = |name: &str| row[name].as_str().map(str::to_string);
        let (Some(prompt), Some(problem_id)) = (field("prompt"), field("problem_id")) else {
            bail!("{at}: a prompt row needs the string fields `prompt` and `problem_id`");
        };
        let Some(problem) = problems.iter().find(|p| p.id == problem_id) else {
            bail!(
                "{at}: problem `{problem_id}` is not in the problem set; \
                 hint: pass the problems the rows were built from with --problems"
            );
        };
        let named: Vec<String> = ["sample_id", "representation", "trace_style"]
            .iter()
            .filter_map(|name| field(name))
            .collect();
        let key = match field("id") {
            Some(id) => id,
            None if !named.is_empty() => named.join(":"),
            None => format!("{problem_id}@{}", index + 1),
        };
        items.push(Item {
            problem,
            key,
            prompt,
            row: true,
        });
    }
    Ok(items)
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
pub(crate) fn finished_samples(path: &Path) -> Result<HashSet<String>> {
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
