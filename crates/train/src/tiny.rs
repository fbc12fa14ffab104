//! A tiny random Llama-family model: `config.json`, seeded random weights and a byte-level
//! BPE trained in-process on a few Python programs. For smoke runs and tests of the
//! training, generation and evaluation paths without downloading a model; it writes
//! Python-shaped noise, not programs.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokenizers::models::bpe::{BpeTrainer, BPE};
use tokenizers::models::TrainerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

use crate::error::io;
use crate::{Config, Result, TrainError};

/// Programs the tokenizer is trained on (and tests train on).
pub const CORPUS: &[&str] = &[
    "def add(a, b):\n    c = a + b\n    return c\n",
    "def sub(a, b):\n    return a - b\n",
    "def mul(a, b):\n    return a * b\n",
    "def is_even(n):\n    return n % 2 == 0\n",
    "def total(xs):\n    s = 0\n    for x in xs:\n        s += x\n    return s\n",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
];

pub const EOS: &str = "<|endoftext|>";

/// A config with grouped-query attention (4 heads, 2 key/value heads).
pub fn tiny_config(vocab_size: usize, model_type: &str) -> Config {
    serde_json::from_value(serde_json::json!({
        "vocab_size": vocab_size,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "max_position_embeddings": 256,
        "tie_word_embeddings": true,
        "model_type": model_type,
        "eos_token_id": 0
    }))
    .expect("a valid config")
}

/// A byte-level BPE with `<|endoftext|>` as id 0.
pub fn tiny_tokenizer() -> Result<Tokenizer> {
    let mut tokenizer = Tokenizer::new(BPE::default());
    tokenizer.with_pre_tokenizer(Some(ByteLevel::new(false, false, true)));
    tokenizer.with_decoder(Some(ByteLevel::new(false, false, true)));
    let alphabet: HashSet<char> = ByteLevel::alphabet().into_iter().collect();
    let mut trainer: TrainerWrapper = BpeTrainer::builder()
        .vocab_size(320)
        .show_progress(false)
        .special_tokens(vec![AddedToken::from(EOS, true)])
        .initial_alphabet(alphabet)
        .build()
        .into();
    tokenizer
        .train(&mut trainer, CORPUS.iter())
        .map_err(|e| TrainError::Tokenizer(e.to_string()))?;
    debug_assert_eq!(tokenizer.token_to_id(EOS), Some(0));
    Ok(tokenizer)
}

fn random(rng: &mut StdRng, shape: &[usize], scale: f32) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n).map(|_| rng.random_range(-scale..scale)).collect();
    Ok(Tensor::from_vec(values, shape, &Device::Cpu)?)
}

/// Random weights for `config`, with q/k/v biases when it asks for them.
pub fn random_weights(config: &Config, seed: u64) -> Result<HashMap<String, Tensor>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let (h, i, d) = (
        config.hidden_size,
        config.intermediate_size,
        config.head_dim(),
    );
    let (q, kv) = (config.num_attention_heads * d, config.kv_heads() * d);
    let mut out = HashMap::new();
    out.insert(
        "model.embed_tokens.weight".into(),
        random(&mut rng, &[config.vocab_size, h], 0.5)?,
    );
    out.insert(
        "model.norm.weight".into(),
        Tensor::ones(h, DType::F32, &Device::Cpu)?,
    );
    for l in 0..config.num_hidden_layers {
        let p = format!("model.layers.{l}");
        for (name, shape) in [
            ("self_attn.q_proj", [q, h]),
            ("self_attn.k_proj", [kv, h]),
            ("self_attn.v_proj", [kv, h]),
            ("self_attn.o_proj", [h, q]),
            ("mlp.gate_proj", [i, h]),
            ("mlp.up_proj", [i, h]),
            ("mlp.down_proj", [h, i]),
        ] {
            let scale = 1.0 / (shape[1] as f32).sqrt();
            out.insert(
                format!("{p}.{name}.weight"),
                random(&mut rng, &shape, scale)?,
            );
        }
        if config.qkv_bias() {
            for (name, n) in [("q_proj", q), ("k_proj", kv), ("v_proj", kv)] {
                out.insert(
                    format!("{p}.self_attn.{name}.bias"),
                    random(&mut rng, &[n], 0.1)?,
                );
            }
        }
        for norm in ["input_layernorm", "post_attention_layernorm"] {
            out.insert(
                format!("{p}.{norm}.weight"),
                Tensor::ones(h, DType::F32, &Device::Cpu)?,
            );
        }
    }
    Ok(out)
}

/// Writes a tiny model directory (`model_type`: `llama` or `qwen2`).
pub fn write_tiny_model(dir: &Path, model_type: &str) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tokenizer = tiny_tokenizer()?;
    let config = tiny_config(tokenizer.get_vocab_size(true), model_type);
    config.write(&dir.join("config.json"))?;
    candle_core::safetensors::save(&random_weights(&config, 7)?, dir.join("model.safetensors"))?;
    tokenizer
        .save(dir.join("tokenizer.json"), false)
        .map_err(|e| TrainError::Tokenizer(e.to_string()))
}
