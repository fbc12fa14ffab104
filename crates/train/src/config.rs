//! The architecture of a Llama-family decoder, read from a Hugging Face `config.json` (field
//! names as there) or built from GGUF metadata. Qwen2 is Llama with biases on q/k/v.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{io, Result, TrainError};

/// A decoder's hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    /// Grouped-query attention; absent means as many as attention heads.
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    #[serde(default = "default_rms_norm_eps")]
    pub rms_norm_eps: f64,
    #[serde(default = "default_rope_theta")]
    pub rope_theta: f64,
    #[serde(default = "default_max_position_embeddings")]
    pub max_position_embeddings: usize,
    /// The output layer is the embedding (SmolLM2, Qwen2 small models).
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// Biases on q/k/v/o (Llama's `attention_bias`; implied by Qwen2).
    #[serde(default)]
    pub attention_bias: bool,
    #[serde(default = "default_model_type")]
    pub model_type: String,
    /// An id or a list of ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eos_token_id: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bos_token_id: Option<serde_json::Value>,
}

fn default_rms_norm_eps() -> f64 {
    1e-5
}
fn default_rope_theta() -> f64 {
    10_000.0
}
fn default_max_position_embeddings() -> usize {
    2048
}
fn default_model_type() -> String {
    "llama".to_string()
}

impl Config {
    /// Reads a `config.json`.
    pub fn read(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        let config: Config = serde_json::from_str(&text).map_err(|e| TrainError::Json {
            path: path.to_path_buf(),
            line: None,
            message: e.to_string(),
        })?;
        config.check()?;
        Ok(config)
    }

    /// Writes it as a `config.json`.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("a config serializes");
        std::fs::write(path, text).map_err(io(path))
    }

    /// Rejects shapes the decoder cannot run.
    pub fn check(&self) -> Result<()> {
        if !matches!(self.model_type.as_str(), "llama" | "qwen2" | "mistral") {
            return Err(TrainError::Invalid(format!(
                "model_type `{}` is not a Llama-family decoder (llama, qwen2, mistral)",
                self.model_type
            )));
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads)
            || !self.num_attention_heads.is_multiple_of(self.kv_heads())
        {
            return Err(TrainError::Invalid(format!(
                "hidden_size {} / num_attention_heads {} / num_key_value_heads {} do not divide",
                self.hidden_size,
                self.num_attention_heads,
                self.kv_heads()
            )));
        }
        Ok(())
    }

    /// Key/value heads.
    pub fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    /// The size of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Whether q/k/v carry biases.
    pub fn qkv_bias(&self) -> bool {
        self.attention_bias || self.model_type == "qwen2"
    }

    /// Whether o_proj carries a bias (Llama's `attention_bias` only).
    pub fn o_bias(&self) -> bool {
        self.attention_bias
    }

    /// The end-of-sequence ids the config names.
    pub fn eos_ids(&self) -> Vec<u32> {
        match &self.eos_token_id {
            Some(serde_json::Value::Number(n)) => {
                n.as_u64().map(|n| n as u32).into_iter().collect()
            }
            Some(serde_json::Value::Array(ids)) => ids
                .iter()
                .filter_map(|v| v.as_u64().map(|n| n as u32))
                .collect(),
            _ => Vec::new(),
        }
    }
}
