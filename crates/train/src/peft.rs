//! Adapters in the layout of Hugging Face PEFT: `adapter_config.json` and
//! `adapter_model.safetensors` with keys `base_model.model.<module>.lora_A.weight` (A: [r, in])
//! and `...lora_B.weight` (B: [out, r]), so `PeftModel.from_pretrained` loads them.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{io, Result, TrainError};
use crate::lora::LoraConfig;
use crate::model::Model;

/// PEFT's prefix in front of the Hugging Face module names.
pub const PEFT_PREFIX: &str = "base_model.model.";
/// The adapter weights' file name.
pub const ADAPTER_WEIGHTS: &str = "adapter_model.safetensors";
/// The adapter config's file name.
pub const ADAPTER_CONFIG: &str = "adapter_config.json";

/// The fields of PEFT's `LoraConfig` that describe our adapters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdapterConfig {
    pub peft_type: String,
    pub task_type: String,
    pub r: usize,
    pub lora_alpha: f64,
    pub lora_dropout: f64,
    pub target_modules: Vec<String>,
    pub bias: String,
    pub fan_in_fan_out: bool,
    pub inference_mode: bool,
    pub base_model_name_or_path: Option<String>,
    /// Our addition, ignored by PEFT: the seed A was initialized with.
    #[serde(default)]
    pub init_seed: u64,
}

impl AdapterConfig {
    /// PEFT's config for `lora` on the model at `base`.
    pub fn new(lora: &LoraConfig, base: Option<String>) -> AdapterConfig {
        AdapterConfig {
            peft_type: "LORA".into(),
            task_type: "CAUSAL_LM".into(),
            r: lora.rank,
            lora_alpha: lora.alpha,
            lora_dropout: 0.0,
            target_modules: lora.targets.clone(),
            bias: "none".into(),
            fan_in_fan_out: false,
            inference_mode: true,
            base_model_name_or_path: base,
            init_seed: lora.seed,
        }
    }

    /// Our LoRA config.
    pub fn lora(&self) -> LoraConfig {
        LoraConfig {
            rank: self.r,
            alpha: self.lora_alpha,
            targets: self.target_modules.clone(),
            seed: self.init_seed,
        }
    }

    /// Reads `DIR/adapter_config.json`.
    pub fn read(dir: &Path) -> Result<AdapterConfig> {
        let path = dir.join(ADAPTER_CONFIG);
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        serde_json::from_str(&text).map_err(|e| TrainError::Json {
            path,
            line: None,
            message: e.to_string(),
        })
    }
}

/// Writes the model's adapters to `dir` in PEFT's layout.
pub fn save_adapter(model: &Model, dir: &Path, base: Option<String>) -> Result<()> {
    let lora = model
        .lora
        .as_ref()
        .ok_or_else(|| TrainError::Invalid("the model has no adapters to save".into()))?;
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tensors: HashMap<String, Tensor> = model
        .adapters
        .vars
        .iter()
        .map(|(name, var)| (format!("{PEFT_PREFIX}{name}"), var.as_tensor().clone()))
        .collect();
    let path = dir.join(ADAPTER_WEIGHTS);
    candle_core::safetensors::save(&tensors, &path).map_err(|e| TrainError::Tensor {
        path: path.clone(),
        name: "*".into(),
        message: e.to_string(),
    })?;
    let config = serde_json::to_string_pretty(&AdapterConfig::new(lora, base)).expect("serializes");
    let config_path = dir.join(ADAPTER_CONFIG);
    std::fs::write(&config_path, config).map_err(io(&config_path))
}

/// Sets the model's adapters to those saved in `dir`; the model must have been built with
/// the same LoRA config ([`AdapterConfig::lora`]).
pub fn load_adapter(model: &Model, dir: &Path) -> Result<()> {
    let path = dir.join(ADAPTER_WEIGHTS);
    let tensors =
        candle_core::safetensors::load(&path, &Device::Cpu).map_err(|e| TrainError::Tensor {
            path: path.clone(),
            name: "*".into(),
            message: e.to_string(),
        })?;
    for (name, var) in &model.adapters.vars {
        let key = format!("{PEFT_PREFIX}{name}");
        let tensor = tensors.get(&key).ok_or_else(|| TrainError::Tensor {
            path: path.clone(),
            name: key.clone(),
            message: "missing from the adapter".into(),
        })?;
        if tensor.dims() != var.dims() {
            return Err(TrainError::Tensor {
                path: path.clone(),
                name: key,
                message: format!(
                    "has shape {:?}, the model expects {:?}",
                    tensor.dims(),
                    var.dims()
                ),
            });
        }
        var.set(&tensor.to_device(var.device())?)?;
    }
    Ok(())
}
