//! A tiny random Llama-family model in a temporary directory: `config.json` written here,
//! random weights from a seeded generator, and a byte-level BPE trained in-process on a few
//! Python programs.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use candle_core::{Device, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tempfile::TempDir;
use tokenizers::models::bpe::{BpeTrainer, BPE};
use tokenizers::models::TrainerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};
use tracealign_train::batch::Sequence;
use tracealign_train::{load_model, Config, LoadedModel, LoraConfig};

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
    .unwrap()
}

/// A byte-level BPE with `<|endoftext|>` as id 0.
pub fn tiny_tokenizer() -> Tokenizer {
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
    tokenizer.train(&mut trainer, CORPUS.iter()).unwrap();
    assert_eq!(tokenizer.token_to_id(EOS), Some(0));
    tokenizer
}

fn random(rng: &mut StdRng, shape: &[usize], scale: f32) -> Tensor {
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n).map(|_| rng.random_range(-scale..scale)).collect();
    Tensor::from_vec(values, shape, &Device::Cpu).unwrap()
}

/// Random weights for `config`, with q/k/v biases when it asks for them.
pub fn random_weights(config: &Config, seed: u64) -> HashMap<String, Tensor> {
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
        random(&mut rng, &[config.vocab_size, h], 0.5),
    );
    out.insert(
        "model.norm.weight".into(),
        Tensor::ones(h, candle_core::DType::F32, &Device::Cpu).unwrap(),
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
                random(&mut rng, &shape, scale),
            );
        }
        if config.qkv_bias() {
            for (name, n) in [("q_proj", q), ("k_proj", kv), ("v_proj", kv)] {
                out.insert(
                    format!("{p}.self_attn.{name}.bias"),
                    random(&mut rng, &[n], 0.1),
                );
            }
        }
        for norm in ["input_layernorm", "post_attention_layernorm"] {
            out.insert(
                format!("{p}.{norm}.weight"),
                Tensor::ones(h, candle_core::DType::F32, &Device::Cpu).unwrap(),
            );
        }
    }
    out
}

/// Writes a tiny model directory.
pub fn write_tiny_model(dir: &Path, model_type: &str) {
    let tokenizer = tiny_tokenizer();
    let config = tiny_config(tokenizer.get_vocab_size(true), model_type);
    config.write(&dir.join("config.json")).unwrap();
    candle_core::safetensors::save(&random_weights(&config, 7), dir.join("model.safetensors"))
        .unwrap();
    tokenizer.save(dir.join("tokenizer.json"), false).unwrap();
}

/// A tiny model directory and the model loaded from it.
pub struct Tiny {
    pub dir: TempDir,
    pub loaded: LoadedModel,
}

/// A tiny Llama with adapters per `lora` (none if `None`).
pub fn tiny(lora: Option<&LoraConfig>) -> Tiny {
    let dir = TempDir::new().unwrap();
    write_tiny_model(dir.path(), "llama");
    let loaded = load_model(dir.path(), lora, &Device::Cpu).unwrap();
    Tiny { dir, loaded }
}

/// LoRA on every projection, rank 4.
pub fn all_targets() -> LoraConfig {
    LoraConfig {
        rank: 4,
        alpha: 8.0,
        targets: tracealign_train::ATTENTION_TARGETS
            .iter()
            .chain(tracealign_train::MLP_TARGETS.iter())
            .map(|s| s.to_string())
            .collect(),
        seed: 1,
    }
}

/// The SFT sequence of a prompt and completion, weights 1 and an end-of-sequence token.
pub fn sequence(loaded: &LoadedModel, prompt: &str, completion: &str) -> Sequence {
    let prompt_ids = loaded.tokenizer.encode(prompt).unwrap();
    let mut completion_ids = loaded.tokenizer.encode(completion).unwrap();
    completion_ids.push(loaded.tokenizer.eos_ids[0]);
    let weights = vec![1.0; completion_ids.len()];
    Sequence::prompt_completion(&prompt_ids, &completion_ids, &weights)
}

/// The corpus as (signature line, body) SFT sequences.
pub fn corpus_sequences(loaded: &LoadedModel) -> Vec<Sequence> {
    CORPUS
        .iter()
        .map(|program| {
            let (head, body) = program.split_once('\n').unwrap();
            sequence(loaded, &format!("{head}\n"), body)
        })
        .collect()
}
