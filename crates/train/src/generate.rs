//! Sampling completions with a KV cache: a prompt is processed once, its cache repeated for its
//! `n` samples, and the samples of many prompts decode together, one batched forward per token
//! ([`generate_batched`]; rows are left-padded, see [`crate::cache`]). A sample stops at an
//! end-of-sequence token, at a stop sequence (cut off, not kept) or at `max_new_tokens`;
//! finished samples leave the batch and the next prompt's samples take their place.
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

/// One prompt to complete `n` times; sample k draws with a generator seeded by (`seed`, k), so
/// a sample does not depend on what else shares its batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub prompt: String,
    pub n: usize,
    pub seed: u64,
    /// This prompt's own stop sequences, besides the config's (prompts of one batch may end
    /// differently: a function body, a whole program).
    pub stop: Vec<String>,
}

/// `n` completions of `prompt` (seeded by `config.seed`).
pub fn generate(
    model: &Model,
    tokenizer: &TextTokenizer,
    prompt: &str,
    n: usize,
    config: &SamplingConfig,
) -> Result<Vec<Completion>> {
    let request = Request {
        prompt: prompt.to_string(),
        n,
        seed: config.seed,
        stop: Vec::new(),
    };
    let mut out = Vec::new();
    generate_batched(model, tokenizer, &[request], config, n.max(1), |_, c| {
        out = c;
        Ok(())
    })?;
    Ok(out)
}

/// A sample being decoded: its request, its tokens so far and its own generator.
struct Row {
    request: usize,
    sample: usize,
    tokens: Vec<u32>,
    rng: StdRng,
}

/// What is decoding: one cache row and one row of next-token logits per [`Row`].
struct Batch {
    rows: Vec<Row>,
    cache: Cache,
    logits: Option<Tensor>,
}

/// Completes every request, decoding the samples of many prompts together: up to `max_rows`
/// sequences share each forward pass (continuous batching: a finished sample leaves the batch
/// and the next prompt's samples join as soon as there is room). `on_finished(i, completions)`
/// is called when all samples of request `i` are done, in completion order.
pub fn generate_batched(
    model: &Model,
    tokenizer: &TextTokenizer,
    requests: &[Request],
    config: &SamplingConfig,
    max_rows: usize,
    mut on_finished: impl FnMut(usize, Vec<Completion>) -> Result<()>,
) -> Result<()> {
    let mut results: Vec<Vec<Option<Completion>>> =
        requests.iter().map(|r| vec![None; r.n]).collect();
    let mut batch = Batch {
        rows: Vec::new(),
        cache: Cache::default(),
        logits: None,
    };
    let mut next = 0;
    loop {
        while next < requests.len()
            && (batch.rows.is_empty() || batch.rows.len() + requests[next].n <= max_rows.max(1))
        {
            if requests[next].n == 0 {
                on_finished(next, Vec::new())?;
            } else {
                admit(model, tokenizer, &requests[next], next, &mut batch)?;
            }
            next += 1;
        }
        let Some(logits) = batch.logits.take() else {
            return Ok(());
        };
        let scores = logits.to_dtype(candle_core::DType::F32)?.to_vec2::<f32>()?;
        let mut inputs = Vec::with_capacity(batch.rows.len());
        let mut keep = Vec::with_capacity(batch.rows.len());
        for (slot, row) in batch.rows.iter_mut().enumerate() {
            let token = sample(&scores[slot], config, &mut row.rng);
            let stop: Vec<&str> = (config.stop.iter())
                .chain(&requests[row.request].stop)
                .map(String::as_str)
                .collect();
            let Some(done) = step(tokenizer, row, token, &stop, config)? else {
                inputs.push(token);
                keep.push(slot);
                continue;
            };
            let pending = &mut results[row.request];
            pending[row.sample] = Some(done);
            if pending.iter().all(Option::is_some) {
                let finished = std::mem::take(pending).into_iter().flatten().collect();
                on_finished(row.request, finished)?;
            }
        }
        if keep.len() < batch.rows.len() {
            batch.cache = batch.cache.select(&keep)?.trim()?;
            let rows = std::mem::take(&mut batch.rows);
            batch.rows = rows
                .into_iter()
                .enumerate()
                .filter(|(slot, _)| keep.binary_search(slot).is_ok())
                .map(|(_, row)| row)
                .collect();
        }
        if batch.rows.is_empty() {
            batch.cache = Cache::default();
            continue;
        }
        let input = Tensor::new(inputs.as_slice(), model.device())?.unsqueeze(1)?;
        batch.logits = Some(model.forward_cached(&input, &mut batch.cache)?);
    }
}

/// Processes the prompt of `request` once and adds its `n` samples to the batch.
fn admit(
    model: &Model,
    tokenizer: &TextTokenizer,
    request: &Request,
    index: usize,
    batch: &mut Batch,
) -> Result<()> {
    let ids = tokenizer.encode(&request.prompt)?;
    if ids.is_empty() {
        return Err(crate::TrainError::Invalid(
            "cannot generate from an empty prompt".into(),
        ));
    }
    let mut cache = Cache::default();
    let input = Tensor::new(ids.as_slice(), model.device())?.unsqueeze(0)?;
    let logits = model
        .forward_cached(&input, &mut cache)?
        .repeat((request.n, 1))?;
    batch.cache = batch.cache.concat(&cache.repeat(request.n)?)?;
    batch.logits = Some(match batch.logits.take() {
        Some(running) => Tensor::cat(&[&running, &logits], 0)?,
        None => logits,
    });
    batch.rows.extend((0..request.n).map(|k| Row {
        request: index,
        sample: k,
        tokens: Vec::new(),
        rng: StdRng::seed_from_u64(sample_seed(request.seed, k)),
    }));
    Ok(())
}

/// Appends `token` to `row`; the finished completion when it ends the sample.
fn step(
    tokenizer: &TextTokenizer,
    row: &mut Row,
    token: u32,
    stop: &[&str],
    config: &SamplingConfig,
) -> Result<Option<Completion>> {
    if tokenizer.eos_ids.contains(&token) {
        return finish(tokenizer, &row.tokens, StopReason::EndOfSequence, stop).map(Some);
    }
    row.tokens.push(token);
    let text = tokenizer.decode(&row.tokens)?;
    if stop.iter().any(|s| text.contains(s)) {
        return finish(tokenizer, &row.tokens, StopReason::StopSequence, stop).map(Some);
    }
    if row.tokens.len() >= config.max_new_tokens {
        return finish(tokenizer, &row.tokens, StopReason::Length, stop).map(Some);
    }
    Ok(None)
}

/// The seed of sample `k` of a request seeded `seed` (SplitMix64's finalizer: nearby inputs
/// give unrelated seeds).
fn sample_seed(seed: u64, k: usize) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(k as u64);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The completion's text, cut at the first stop sequence.
fn finish(
    tokenizer: &TextTokenizer,
    tokens: &[u32],
    reason: StopReason,
    stop: &[&str],
) -> Result<Completion> {
    let mut text = tokenizer.decode(tokens)?;
    if let Some(cut) = stop.iter().filter_map(|s| text.find(s)).min() {
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
    let weights: Vec<f32> = logits.iter().map(|&l| ((l - max) / t).exp()).collect();
    let total: f32 = weights.iter().sum();
    // Tokens below (1 - top_p)/V of the mass hold less than 1 - top_p together, so the nucleus
    // lies among the others: sorting only those gives the same nucleus, far cheaper.
    let floor = match config.top_p < 1.0 {
        true => total * (1.0 - config.top_p as f32) / logits.len() as f32,
        false => 0.0,
    };
    let mut probs: Vec<(u32, f32)> = weights
        .iter()
        .enumerate()
        .filter(|(_, &w)| w >= floor)
        .map(|(i, &w)| (i as u32, w))
        .collect();
    let mut cut = probs.len();
    if config.top_p < 1.0 {
        probs.sort_by(|a, b| b.1.total_cmp(&a.1));
        // The nucleus: the most likely tokens whose mass first reaches top_p.
        let mut mass = 0.0;
        for (i, p) in probs.iter().enumerate() {
            mass += p.1 / total;
            if mass >= config.top_p as f32 {
                cut = i + 1;
                break;
            }
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
