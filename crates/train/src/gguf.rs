//! Models from GGUF files (llama.cpp's format), e.g. SmolLM2-135M-Instruct in Q4_1: the
//! config from `llama.*` metadata, every tensor dequantized to f32 under its Hugging Face name,
//! and the tokenizer from `tokenizer.ggml.*`.
//!
//! llama.cpp's converter permutes the rows of q/k weights for interleaved rotary embeddings;
//! they are permuted back here so the one half-split rotary of [`crate::model`] serves both
//! formats. The frozen weights are dequantized (QLoRA would keep them quantized): candle's
//! quantized CPU matmuls process prompts ~10× slower than f32 on these machines.

use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::{Device, Tensor};

use crate::config::Config;
use crate::error::{io, Result, TrainError};
use crate::model::Weights;
use crate::tokenizer::{byte_level_bpe, TextTokenizer};

/// A model read from a GGUF file.
#[derive(Debug)]
pub struct GgufModel {
    pub config: Config,
    pub weights: Weights,
    pub tokenizer: TextTokenizer,
}

/// Reads and dequantizes `path`.
pub fn read_gguf(path: &Path, device: &Device) -> Result<GgufModel> {
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let invalid = |message: String| TrainError::Invalid(format!("{}: {message}", path.display()));
    let content = Content::read(&mut file).map_err(|e| invalid(e.to_string()))?;
    let meta = Metadata {
        values: &content.metadata,
        path,
    };
    let arch = meta.string("general.architecture")?;
    if arch != "llama" && arch != "qwen2" {
        return Err(invalid(format!(
            "architecture `{arch}` is not supported (llama, qwen2)"
        )));
    }
    let tokenizer = read_tokenizer(&meta)?;
    let heads = meta.u32(&format!("{arch}.attention.head_count"))? as usize;
    let kv_heads = meta
        .u32(&format!("{arch}.attention.head_count_kv"))
        .unwrap_or(heads as u32) as usize;
    let vocab_size = tokenizer.inner.get_vocab_size(true);
    let config = Config {
        vocab_size,
        hidden_size: meta.u32(&format!("{arch}.embedding_length"))? as usize,
        intermediate_size: meta.u32(&format!("{arch}.feed_forward_length"))? as usize,
        num_hidden_layers: meta.u32(&format!("{arch}.block_count"))? as usize,
        num_attention_heads: heads,
        num_key_value_heads: Some(kv_heads),
        rms_norm_eps: meta.f32(&format!("{arch}.attention.layer_norm_rms_epsilon"))? as f64,
        rope_theta: meta
            .f32(&format!("{arch}.rope.freq_base"))
            .unwrap_or(10_000.0) as f64,
        max_position_embeddings: meta.u32(&format!("{arch}.context_length")).unwrap_or(2048)
            as usize,
        tie_word_embeddings: !content.tensor_infos.contains_key("output.weight"),
        attention_bias: false,
        model_type: arch.clone(),
        eos_token_id: Some(serde_json::json!(tokenizer.eos_ids)),
        bos_token_id: None,
    };
    config.check()?;
    let mut tensors = HashMap::new();
    let head_dim = config.head_dim();
    for name in content.tensor_infos.keys() {
        let q = content
            .tensor(&mut file, name, device)
            .map_err(|e| invalid(format!("tensor `{name}`: {e}")))?;
        let mut t = q.dequantize(device)?;
        let hf = hf_name(name).ok_or_else(|| invalid(format!("unexpected tensor `{name}`")))?;
        // Only llama's converter permutes q/k (Qwen2's does not).
        if arch == "llama" && name.ends_with("attn_q.weight") {
            t = unpermute(&t, heads, head_dim)?;
        } else if arch == "llama" && name.ends_with("attn_k.weight") {
            t = unpermute(&t, kv_heads, head_dim)?;
        }
        tensors.insert(hf, t);
    }
    Ok(GgufModel {
        config,
        weights: Weights {
            origin: path.to_path_buf(),
            tensors,
        },
        tokenizer,
    })
}

/// The Hugging Face name of a GGUF tensor.
fn hf_name(name: &str) -> Option<String> {
    let fixed = match name {
        "token_embd.weight" => Some("model.embed_tokens.weight"),
        "output_norm.weight" => Some("model.norm.weight"),
        "output.weight" => Some("lm_head.weight"),
        _ => None,
    };
    if let Some(fixed) = fixed {
        return Some(fixed.to_string());
    }
    let rest = name.strip_prefix("blk.")?;
    let (layer, rest) = rest.split_once('.')?;
    let (module, kind) = rest.rsplit_once('.')?;
    let hf = match module {
        "attn_q" => "self_attn.q_proj",
        "attn_k" => "self_attn.k_proj",
        "attn_v" => "self_attn.v_proj",
        "attn_output" => "self_attn.o_proj",
        "ffn_gate" => "mlp.gate_proj",
        "ffn_up" => "mlp.up_proj",
        "ffn_down" => "mlp.down_proj",
        "attn_norm" => "input_layernorm",
        "ffn_norm" => "post_attention_layernorm",
        _ => return None,
    };
    Some(format!("model.layers.{layer}.{hf}.{kind}"))
}

/// Undoes llama.cpp's `permute`: rows (head, pair, half) back to (head, half, pair).
fn unpermute(w: &Tensor, heads: usize, head_dim: usize) -> Result<Tensor> {
    let (out, inp) = w.dims2()?;
    Ok(w.reshape((heads, head_dim / 2, 2, inp))?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((out, inp))?)
}

struct Metadata<'a> {
    values: &'a HashMap<String, Value>,
    path: &'a Path,
}

impl Metadata<'_> {
    fn get(&self, key: &str) -> Result<&Value> {
        self.values.get(key).ok_or_else(|| {
            TrainError::Invalid(format!("{}: no metadata `{key}`", self.path.display()))
        })
    }
    fn error(&self, key: &str, e: candle_core::Error) -> TrainError {
        TrainError::Invalid(format!("{}: metadata `{key}`: {e}", self.path.display()))
    }
    fn string(&self, key: &str) -> Result<String> {
        self.get(key)?
            .to_string()
            .cloned()
            .map_err(|e| self.error(key, e))
    }
    fn u32(&self, key: &str) -> Result<u32> {
        let v = self.get(key)?;
        v.to_u32()
            .or_else(|_| v.to_u64().map(|n| n as u32))
            .map_err(|e| self.error(key, e))
    }
    fn f32(&self, key: &str) -> Result<f32> {
        self.get(key)?.to_f32().map_err(|e| self.error(key, e))
    }
    fn strings(&self, key: &str) -> Result<Vec<String>> {
        let values = self.get(key)?.to_vec().map_err(|e| self.error(key, e))?;
        values
            .iter()
            .map(|v| v.to_string().cloned().map_err(|e| self.error(key, e)))
            .collect()
    }
    fn i32s(&self, key: &str) -> Result<Vec<i32>> {
        let values = self.get(key)?.to_vec().map_err(|e| self.error(key, e))?;
        values
            .iter()
            .map(|v| v.to_i32().map_err(|e| self.error(key, e)))
            .collect()
    }
}

/// GGUF token types: 3 is a control token (special, never split).
const CONTROL_TOKEN: i32 = 3;

fn read_tokenizer(meta: &Metadata) -> Result<TextTokenizer> {
    let model = meta.string("tokenizer.ggml.model")?;
    if model != "gpt2" {
        return Err(TrainError::Invalid(format!(
            "{}: tokenizer `{model}` is not supported (byte-level BPE, `gpt2`)",
            meta.path.display()
        )));
    }
    let tokens = meta.strings("tokenizer.ggml.tokens")?;
    let merges = meta
        .strings("tokenizer.ggml.merges")?
        .into_iter()
        .filter_map(|m| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        })
        .collect();
    let types = meta.i32s("tokenizer.ggml.token_type").unwrap_or_default();
    let special: Vec<String> = tokens
        .iter()
        .zip(&types)
        .filter(|(_, &t)| t == CONTROL_TOKEN)
        .map(|(s, _)| s.clone())
        .collect();
    let vocab: HashMap<String, u32> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as u32))
        .collect();
    let tokenizer = byte_level_bpe(vocab, merges, &special)?;
    let eos = meta.u32("tokenizer.ggml.eos_token_id").ok();
    let mut eos_ids: Vec<u32> = eos.into_iter().collect();
    // Plain completion ends with `<|endoftext|>` even when the chat EOS is `<|im_end|>`.
    if let Some(id) = tokenizer.token_to_id("<|endoftext|>") {
        if !eos_ids.contains(&id) {
            eos_ids.push(id);
        }
    }
    let template = meta.string("tokenizer.chat_template").ok();
    Ok(TextTokenizer::wrap(tokenizer, eos_ids).with_chat_template(template))
}
