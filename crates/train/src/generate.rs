//! Sampling completions with a KV cache: the prompt is processed once, its cache repeated for
//! `n` samples, which then decode together, one batched forward per token. A sample stops at an
//! end-of-sequence token, at a stop sequence (cut off, not kept) or at `max_new_tokens`;
//! finished samples leave the batch.
//!
//! Temperature 0 is greedy decoding; otherwise tokens are drawn from the nucleus (top-p) of the
//! tempered distribution with a seeded generator, so a seed fixes the samples.

use candle_core::{Tensor, D};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::Result;
use crate::model::{Cache, Model};
use crate::tokenizer::TextTokenizer;

/// How to sample.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingConfig {
    /// 0: greedy. Default: 0.
    pub temperature: f64,
    /// Nucleus mass. Default: 1 (no truncation).
    pub top_p: f64,
    /// Default: 256.
    pub max_new_tokens: usize,
    /// Default: 0.
    pub seed: u64,
    /// Texts that end a completion (left out of it).
    pub stop: Vec<String>,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        SamplingConfig {
            temperature: 0.0,
            top_p: 1.0,
            max_new_tokens: 256,
            seed: 0,
            stop: Vec::new(),
        }
    }
}

/// Why a completion ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    EndOfSequence,
    StopSequence,
    Length,
}

/// One sampled completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    pub tokens: usize,
    pub reason: StopReason,
}

/// Stop sequences for plain Python completion: a new top-level statement ends the function.
pub fn python_stop_sequences() -> Vec<String> {
    [
        "\ndef ",
        "\nclass ",
        "\nif __name__",
        "\nprint(",
        "\n#",
        "\nassert ",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

struct Row {
    tokens: Vec<u32>,
    done: Option<Completion>,
}

/// `n` completions of `prompt`.
pub fn generate(
    model: &Model,
    tokenizer: &TextTokenizer,
    prompt: &str,
    n: usize,
    config: &SamplingConfig,
) -> Result<Vec<Completion>> {
    let prompt_ids = tokenizer.encode(prompt)?;
    if n == 0 {
        return Ok(Vec::new());
    }
    if prompt_ids.is_empty() {
        return Err(crate::TrainError::Invalid(
            "cannot generate from an empty prompt".into(),
        ));
    }
    let device = model.device();
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut cache = Cache::default();
    let input = Tensor::new(prompt_ids.as_slice(), device)?.unsqueeze(0)?;
    let first = model.forward_cached(&input, &mut cache)?;
    let mut cache = cache.repeat(n)?;
    let mut logits = first.repeat((n, 1))?;
    let mut rows: Vec<Row> = (0..n)
        .map(|_| Row {
            tokens: Vec::new(),
            done: None,
        })
        .collect();
    // Indices into `rows` of the samples still in the batch, in batch order.
    let mut active: Vec<usize> = (0..n).collect();
    while !active.is_empty() {
        let probs = logits.to_dtype(candle_core::DType::F32)?.to_vec2::<f32>()?;
        let mut next = Vec::with_capacity(active.len());
        let mut keep = Vec::with_capacity(active.len());
        for (slot, &r) in active.iter().enumerate() {
            let token = sample(&probs[slot], config, &mut rng);
            let row = &mut rows[r];
            if tokenizer.eos_ids.contains(&token) {
                row.done = Some(finish(
                    tokenizer,
                    &row.tokens,
                    StopReason::EndOfSequence,
                    config,
                )?);
                continue;
            }
            row.tokens.push(token);
            let text = tokenizer.decode(&row.tokens)?;
            if config.stop.iter().any(|s| text.contains(s.as_str())) {
                row.done = Some(finish(
                    tokenizer,
                    &row.tokens,
                    StopReason::StopSequence,
                    config,
                )?);
            } else if row.tokens.len() >= config.max_new_tokens {
                row.done = Some(finish(tokenizer, &row.tokens, StopReason::Length, config)?);
            } else {
                next.push(token);
                keep.push(slot);
            }
        }
        if keep.is_empty() {
            break;
        }
        if keep.len() < active.len() {
            cache = cache.select(&keep)?;
            active = keep.iter().map(|&s| active[s]).collect();
        }
        let input = Tensor::new(next.as_slice(), device)?.unsqueeze(1)?;
        logits = model.forward_cached(&input, &mut cache)?;
    }
    Ok(rows
        .into_iter()
        .map(|r| r.done.expect("every row finishes"))
        .collect())
}

/// The completion's text, cut at the first stop sequence.
fn finish(
    tokenizer: &TextTokenizer,
    tokens: &[u32],
    reason: StopReason,
    config: &SamplingConfig,
) -> Result<Completion> {
    let mut text = tokenizer.decode(tokens)?;
    if let Some(cut) = config
        .stop
        .iter()
        .filter_map(|s| text.find(s.as_str()))
        .min()
    {
        text.truncate(cut);
    }
    Ok(Completion {
        text,
        tokens: tokens.len(),
        reason,
    })
}

/// Draws a token from `logits` (argmax at temperature 0).
fn sample(logits: &[f32], config: &SamplingConfig, rng: &mut StdRng) -> u32 {
    if config.temperature <= 0.0 {
        return argmax(logits);
    }
    let t = config.temperature as f32;
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut probs: Vec<(u32, f32)> = logits
        .iter()
        .enumerate()
        .map(|(i, &l)| (i as u32, ((l - max) / t).exp()))
        .collect();
    let total: f32 = probs.iter().map(|p| p.1).sum();
    probs.sort_by(|a, b| b.1.total_cmp(&a.1));
    // The nucleus: the most likely tokens whose mass first reaches top_p.
    let mut mass = 0.0;
    let mut cut = probs.len();
    for (i, p) in probs.iter().enumerate() {
        mass += p.1 / total;
        if mass >= config.top_p as f32 {
            cut = i + 1;
            break;
        }
    }
    probs.truncate(cut);
    let kept: f32 = probs.iter().map(|p| p.1).sum();
    let mut draw = rng.random::<f32>() * kept;
    for &(id, p) in &probs {
        if draw < p {
            return id;
        }
        draw -= p;
    }
    probs.last().map_or(0, |p| p.0)
}

fn argmax(values: &[f32]) -> u32 {
    values
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i as u32)
}

/// The greedy next token of every row of `logits` [b, v] (for tests and scoring).
pub fn greedy(logits: &Tensor) -> Result<Vec<u32>> {
    Ok(logits.argmax(D::Minus1)?.to_vec1::<u32>()?)
}
