//! Samples of a local model (optionally with a trained adapter) for problems, as
//! `{"problem_id", "sample_id", "code", "model"}` records that tracealign runs: what
//! `tracealign generate` does, as a library call.
//!
//! The prompt is the problem's prompt without trailing whitespace (line breaks included); the
//! program is that prompt then the completion cut at the first stop sequence
//! (`tracealign_core::completion::stop_sequences`: Codex's when the prompt starts the
//! function, fewer when the model must write it, as for MBPP). With `chat` the model is asked
//! for the function as a chat message (`completion::chat_request`) through its own chat
//! template, and the program is the code block of its reply
//! (`completion::program_of_chat_reply`). Prompt rows ([`read_prompt_rows`], such as
//! `tracealign build repair`'s) are answered with whole programs of the row's problem (the
//! same rule), cut before a `### ` line.
//!
//! The samples of many prompts decode together (`batch` sequences per forward pass,
//! continuous batching); a prompt's samples are handed over when the last of them finishes,
//! so a samples file is in completion order. Sample `k` of prompt `KEY` is named `KEY#k`, and
//! a generation given the names already done ([`generate_into`] with `resume`) makes only
//! the prompts that miss some.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tracealign_core::completion::{chat_request, program_of_chat_reply, stop_sequences};
use tracealign_core::formats::samples::SamplesWriter;
use tracealign_core::{Problem, Sample};

use crate::error::TrainError;
use crate::generate::{generate_batched, Completion, Request, SamplingConfig};
use crate::load::{load_model, load_with_adapter};
use crate::lora::DecodeWeights;
use crate::progress::ProgressEvent;
use crate::tokenizer::TextTokenizer;
use crate::training::device;

/// Sequences per forward pass by default: on 2 CPU cores SmolLM2's decoding throughput grows
/// up to about this many rows (`cargo run --release -p tracealign-train --example speed`).
pub const DEFAULT_BATCH: usize = 16;

/// The header that starts a section of a prompt row (`### Feedback`, ...): a reply to such a
/// prompt ends before the next one.
const SECTION: &str = "\n### ";

/// How to sample (serialized, it fingerprints a generation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateSettings {
    /// A directory (config.json, *.safetensors, tokenizer.json) or a .gguf file.
    pub model: PathBuf,
    /// A trained adapter (PEFT layout). Default: none.
    pub adapter: Option<PathBuf>,
    /// Samples per prompt. Default: 1.
    pub samples: usize,
    /// 0: greedy. Default: 0.
    pub temperature: f64,
    /// Nucleus mass. Default: 1.
    pub top_p: f64,
    /// Tokens per completion at most. Default: 384.
    pub max_new_tokens: usize,
    /// Prompt i is sampled with seed + i (each of its samples with its own stream). Default: 0.
    pub seed: u64,
    /// Sequences decoded together. Default: [`DEFAULT_BATCH`].
    pub batch: usize,
    /// Ask through the model's chat template and take the reply's code block. Default: false.
    pub chat: bool,
    /// The frozen weights' form in decoding steps. Default: f32.
    pub decode_weights: DecodeWeights,
    /// The samples' `model` field. Default (`None`): the model's file or directory name, with
    /// the adapter's after a `+`.
    pub name: Option<String>,
}

impl GenerateSettings {
    /// The defaults for `model`.
    pub fn new(model: impl Into<PathBuf>) -> GenerateSettings {
        GenerateSettings {
            model: model.into(),
            adapter: None,
            samples: 1,
            temperature: 0.0,
            top_p: 1.0,
            max_new_tokens: 384,
            seed: 0,
            batch: DEFAULT_BATCH,
            chat: false,
            decode_weights: DecodeWeights::F32,
            name: None,
        }
    }

    /// The samples' `model` field.
    pub fn model_name(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        let stem = |p: &Path| {
            p.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        match &self.adapter {
            Some(adapter) => format!("{}+{}", stem(&self.model), stem(adapter)),
            None => stem(&self.model),
        }
    }
}

/// Why sampling stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SamplingError {
    #[error("cannot load the model {}", model.display())]
    Load {
        model: PathBuf,
        #[source]
        source: TrainError,
    },
    #[error("cannot quantize the decoding weights")]
    Quantize(#[source] TrainError),
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A prompt row that is not JSON, lacks `prompt` or `problem_id`.
    #[error("{}:{line}: {message}", path.display())]
    PromptRow {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A prompt row about a problem that is not in the problem set.
    #[error("{}:{line}: problem `{problem_id}` is not in the problem set", path.display())]
    UnknownProblem {
        path: PathBuf,
        line: usize,
        problem_id: String,
    },
    #[error("cannot make the model's prompt for `{key}`")]
    Prompt {
        key: String,
        #[source]
        source: TrainError,
    },
    #[error("cannot generate")]
    Generate(#[source] TrainError),
    /// The samples could not be written.
    #[error(transparent)]
    Samples(#[from] tracealign_core::Error),
}

/// One prompt to sample: a problem's own prompt, or a prompt row about a problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt<'a> {
    pub problem: &'a Problem,
    /// Names its samples (`KEY#k`).
    pub key: String,
    /// The text the model continues (before any chat template).
    pub text: String,
    /// A prompt row (its reply is a whole program), not the problem's own prompt.
    pub row: bool,
}

impl<'a> Prompt<'a> {
    /// A problem's own prompt, without trailing whitespace: SmolLM2 given a prompt ending in
    /// a line break writes prose or a closing fence instead of the body.
    pub fn of_problem(problem: &'a Problem) -> Prompt<'a> {
        Prompt {
            problem,
            key: problem.id.clone(),
            text: problem.prompt.trim_end().to_string(),
            row: false,
        }
    }

    /// Sample `k`'s id.
    pub fn sample_id(&self, k: usize) -> String {
        format!("{}#{k}", self.key)
    }

    /// What the model sees: the prompt itself, or with `chat` a user message through the
    /// model's chat template (a problem's prompt becomes a request for the whole function).
    fn model_prompt(&self, tokenizer: &TextTokenizer, chat: bool) -> Result<String, TrainError> {
        Ok(match (chat, self.row) {
            (false, _) => self.text.clone(),
            (true, false) => tokenizer.chat_prompt(&chat_request(self.problem))?,
            (true, true) => tokenizer.chat_prompt(&self.text)?,
        })
    }

    /// The program a completion makes: the prompt and the completion, or for a chat reply or
    /// a prompt row the reply's program.
    fn program(&self, completion: &str, chat: bool) -> String {
        match chat || self.row {
            true => program_of_chat_reply(self.problem, completion),
            false => format!("{}{completion}", self.text),
        }
    }
}

/// The prompts of every problem.
pub fn problem_prompts(problems: &[Problem]) -> Vec<Prompt<'_>> {
    problems.iter().map(Prompt::of_problem).collect()
}

/// The rows of a prompts file (JSON Lines with `prompt` and `problem_id`), each tied to its
/// problem. A row's samples are named by its `id`, else by its `sample_id`, `representation`
/// and `trace_style` (joined by `:`), else by its problem and line (`P@LINE`).
pub fn read_prompt_rows<'a>(
    path: &Path,
    problems: &'a [Problem],
) -> Result<Vec<Prompt<'a>>, SamplingError> {
    let text = std::fs::read_to_string(path).map_err(|source| SamplingError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut prompts = Vec::new();
    let lines = text.lines().enumerate();
    for (index, line) in lines.filter(|(_, l)| !l.trim().is_empty()) {
        let row_error = |message: &str| SamplingError::PromptRow {
            path: path.to_path_buf(),
            line: index + 1,
            message: message.to_string(),
        };
        let row: serde_json::Value =
            serde_json::from_str(line).map_err(|_| row_error("not a JSON object"))?;
        let field = |name: &str| row[name].as_str().map(str::to_string);
        let (Some(text), Some(problem_id)) = (field("prompt"), field("problem_id")) else {
            return Err(row_error(
                "a prompt row needs the string fields `prompt` and `problem_id`",
            ));
        };
        let Some(problem) = problems.iter().find(|p| p.id == problem_id) else {
            return Err(SamplingError::UnknownProblem {
                path: path.to_path_buf(),
                line: index + 1,
                problem_id,
            });
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
        prompts.push(Prompt {
            problem,
            key,
            text,
            row: true,
        });
    }
    Ok(prompts)
}

/// What a generation did.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateSummary {
    /// Prompts asked for, and how many of them were already done (resumed).
    pub prompts: usize,
    pub resumed: usize,
    /// Samples of all prompts (`prompts × samples`), done before or now.
    pub samples: usize,
    /// Tokens generated now, and in how long.
    pub tokens: usize,
    pub seconds: f64,
}

impl std::fmt::Display for GenerateSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} samples of {} prompts ({} tokens, {:.1} tokens/s)",
            self.samples,
            self.prompts,
            self.tokens,
            self.tokens as f64 / self.seconds.max(1e-9)
        )
    }
}

/// Samples every prompt `settings.samples` times, handing each sample to `sink` except
/// those named in `done` (a prompt that misses any is generated again whole: its samples
/// decode together). `on_progress` hears of each prompt finished.
pub fn generate_samples(
    settings: &GenerateSettings,
    prompts: &[Prompt<'_>],
    done: &HashSet<String>,
    on_progress: &mut dyn FnMut(ProgressEvent),
    sink: &mut dyn FnMut(Sample) -> Result<(), SamplingError>,
) -> Result<GenerateSummary, SamplingError> {
    let started = Instant::now();
    let device = device(None).map_err(|source| SamplingError::Load {
        model: settings.model.clone(),
        source,
    })?;
    let mut loaded = match &settings.adapter {
        Some(adapter) => load_with_adapter(&settings.model, adapter, &device),
        None => load_model(&settings.model, None, &device),
    }
    .map_err(|source| SamplingError::Load {
        model: settings.model.clone(),
        source,
    })?;
    loaded
        .model
        .set_decode_weights(settings.decode_weights)
        .map_err(SamplingError::Quantize)?;
    let todo: Vec<(usize, &Prompt)> = (prompts.iter().enumerate())
        .filter(|(_, p)| !(0..settings.samples).all(|k| done.contains(&p.sample_id(k))))
        .collect();
    let requests: Vec<Request> = todo
        .iter()
        .map(|(i, prompt)| {
            let text = prompt
                .model_prompt(&loaded.tokenizer, settings.chat)
                .map_err(|source| SamplingError::Prompt {
                    key: prompt.key.clone(),
                    source,
                })?;
            Ok(Request {
                prompt: text,
                n: settings.samples,
                seed: settings.seed + *i as u64,
                stop: match settings.chat || prompt.row {
                    true => Vec::new(),
                    false => (stop_sequences(prompt.problem).iter())
                        .map(|s| s.to_string())
                        .collect(),
                },
            })
        })
        .collect::<Result<_, SamplingError>>()?;
    // A chat reply ends at the end of the assistant's turn; Codex's stops would cut it at a
    // fence or a blank-line `def`. A reply to a prompt row ends where a new section would
    // start. A plain completion ends at its problem's stops (each request carries its own).
    let rows = prompts.iter().any(|p| p.row);
    let stop = match !settings.chat && rows {
        true => vec![SECTION.to_string()],
        false => Vec::new(),
    };
    let sampling = SamplingConfig {
        temperature: settings.temperature,
        top_p: settings.top_p,
        max_new_tokens: settings.max_new_tokens,
        seed: settings.seed,
        stop,
    };
    on_progress(ProgressEvent::Begin {
        total: prompts.len(),
        done: prompts.len() - todo.len(),
    });
    let name = settings.model_name();
    let mut tokens = 0;
    let mut failure = None;
    let decoding = Instant::now();
    let mut finished = |r: usize, completions: Vec<Completion>| -> Result<(), TrainError> {
        let prompt = todo[r].1;
        for (k, completion) in completions.iter().enumerate() {
            tokens += completion.tokens;
            let sample_id = prompt.sample_id(k);
            if done.contains(&sample_id) {
                continue;
            }
            // Already cut at the first stop sequence.
            let sample = Sample {
                problem_id: prompt.problem.id.clone(),
                sample_id,
                code: prompt.program(&completion.text, settings.chat),
                model: Some(name.clone()),
                mutation: None,
            };
            if let Err(error) = sink(sample) {
                failure = Some(error);
                return Err(TrainError::Invalid("the samples' sink failed".into()));
            }
        }
        let rate = tokens as f64 / decoding.elapsed().as_secs_f64().max(1e-9);
        on_progress(ProgressEvent::Advance {
            status: format!("{rate:.1} tok/s"),
        });
        Ok(())
    };
    let result = generate_batched(
        &loaded.model,
        &loaded.tokenizer,
        &requests,
        &sampling,
        settings.batch,
        &mut finished,
    );
    if let Some(error) = failure {
        return Err(error);
    }
    result.map_err(SamplingError::Generate)?;
    Ok(GenerateSummary {
        prompts: prompts.len(),
        resumed: prompts.len() - todo.len(),
        samples: prompts.len() * settings.samples,
        tokens,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// [`generate_samples`] into a samples file: with `resume`, the samples it holds are kept
/// (a last line cut short by an interrupted run is cut off) and only the missing ones
/// generated; otherwise it is written anew.
pub fn generate_into(
    settings: &GenerateSettings,
    prompts: &[Prompt<'_>],
    out: &Path,
    resume: bool,
    on_progress: &mut dyn FnMut(ProgressEvent),
) -> Result<GenerateSummary, SamplingError> {
    let (mut writer, done) = match resume {
        true => SamplesWriter::resume(out)?,
        false => (SamplesWriter::create(out)?, HashSet::new()),
    };
    let mut sink = |sample: Sample| Ok(writer.write(&sample)?);
    generate_samples(settings, prompts, &done, on_progress, &mut sink)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(id: &str) -> Problem {
        tracealign_core::embedded::problems()
            .into_iter()
            .next()
            .map(|mut p| {
                p.id = id.to_string();
                p
            })
            .unwrap()
    }

    #[test]
    fn prompt_rows_are_named_by_id_then_by_their_fields_then_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prompts.jsonl");
        let rows = [
            r#"{"id": "mine", "problem_id": "p", "prompt": "x"}"#,
            r#"{"problem_id": "p", "sample_id": "p#3", "representation": "trace", "trace_style": "lines", "prompt": "y"}"#,
            "",
            r#"{"problem_id": "p", "prompt": "z"}"#,
        ];
        std::fs::write(&path, rows.join("\n")).unwrap();
        let problems = [problem("p")];
        let prompts = read_prompt_rows(&path, &problems).unwrap();
        let keys: Vec<&str> = prompts.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["mine", "p#3:trace:lines", "p@4"]);
        assert!(prompts.iter().all(|p| p.row));

        std::fs::write(&path, r#"{"problem_id": "q", "prompt": "x"}"#).unwrap();
        let error = read_prompt_rows(&path, &problems).unwrap_err().to_string();
        assert!(
            error.ends_with("prompts.jsonl:1: problem `q` is not in the problem set"),
            "{error}"
        );
        std::fs::write(&path, r#"{"problem_id": "p"}"#).unwrap();
        let error = read_prompt_rows(&path, &problems).unwrap_err().to_string();
        assert!(
            error.contains(":1: a prompt row needs the string fields"),
            "{error}"
        );
    }

    #[test]
    fn a_problem_prompt_loses_its_trailing_whitespace_and_keeps_it_in_the_program() {
        let mut p = problem("p");
        p.prompt = "def f(x):\n    \n".into();
        let prompt = Prompt::of_problem(&p);
        assert_eq!(prompt.text, "def f(x):");
        assert_eq!(
            prompt.program("\n    return x", false),
            "def f(x):\n    return x"
        );
        assert_eq!(prompt.sample_id(2), "p#2");
    }

    #[test]
    fn the_model_name_is_the_models_and_the_adapters_stem() {
        let mut settings = GenerateSettings::new("models/tiny.gguf");
        assert_eq!(settings.model_name(), "tiny");
        settings.adapter = Some("out/train/fait".into());
        assert_eq!(settings.model_name(), "tiny+fait");
        settings.name = Some("mine".into());
        assert_eq!(settings.model_name(), "mine");
    }

    #[test]
    fn a_tiny_model_samples_each_prompt_and_skips_the_samples_done() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("tiny");
        crate::tiny::write_tiny_model(&model, "llama").unwrap();
        let problems = [problem("p"), problem("q")];
        let mut settings = GenerateSettings::new(&model);
        settings.samples = 2;
        settings.temperature = 0.8;
        settings.max_new_tokens = 6;
        let prompts = problem_prompts(&problems);
        let out = dir.path().join("samples.jsonl");
        let mut events = Vec::new();
        let summary =
            generate_into(&settings, &prompts, &out, false, &mut |e| events.push(e)).unwrap();
        assert_eq!(
            (summary.prompts, summary.samples, summary.resumed),
            (2, 4, 0)
        );
        assert_eq!(events[0], ProgressEvent::Begin { total: 2, done: 0 });
        let first = std::fs::read_to_string(&out).unwrap();
        assert_eq!(first.lines().count(), 4);

        // One sample of `q` done: `q` is sampled again whole, its missing sample written.
        let done: HashSet<String> = ["p#0", "p#1", "q#0"].map(String::from).into();
        let mut written = Vec::new();
        let mut sink = |sample: Sample| {
            written.push(sample);
            Ok(())
        };
        let summary = generate_samples(&settings, &prompts, &done, &mut |_| {}, &mut sink).unwrap();
        assert_eq!(summary.resumed, 1);
        assert_eq!(written.len(), 1);
        assert_eq!(written[0].sample_id, "q#1");
        assert!(first.contains(&serde_json::to_string(&written[0]).unwrap()));
    }
}
