//! Opening a model by path: a Hugging Face directory (`config.json`, `*.safetensors`, sharded
//! or not, `tokenizer.json`) or a `.gguf` file; optionally with a PEFT adapter on top.

use std::path::Path;

use candle_core::Device;

use crate::config::Config;
use crate::error::{Result, TrainError};
use crate::gguf::read_gguf;
use crate::lora::LoraConfig;
use crate::model::{read_safetensors, Model};
use crate::peft::{load_adapter, AdapterConfig};
use crate::tokenizer::TextTokenizer;

/// A model ready to train or sample, with its tokenizer.
#[derive(Debug)]
pub struct LoadedModel {
    pub model: Model,
    pub tokenizer: TextTokenizer,
}

/// Opens `path` with fresh adapters (`lora`) or none.
pub fn load_model(path: &Path, lora: Option<&LoraConfig>, device: &Device) -> Result<LoadedModel> {
    if path.is_file() && path.extension().is_some_and(|e| e == "gguf") {
        let gguf = read_gguf(path, device)?;
        let model = Model::new(&gguf.config, &gguf.weights, lora, device)?;
        return Ok(LoadedModel {
            model,
            tokenizer: gguf.tokenizer,
        });
    }
    if !path.is_dir() {
        return Err(TrainError::Invalid(format!(
            "{} is neither a model directory (config.json, *.safetensors, tokenizer.json) nor a .gguf file",
            path.display()
        )));
    }
    let config = Config::read(&path.join("config.json"))?;
    let weights = read_safetensors(path, device)?;
    let tokenizer = TextTokenizer::read(&path.join("tokenizer.json"), config.eos_ids())?;
    let model = Model::new(&config, &weights, lora, device)?;
    Ok(LoadedModel { model, tokenizer })
}

/// Opens `path` with the trained adapter saved in `adapter` (PEFT layout).
pub fn load_with_adapter(path: &Path, adapter: &Path, device: &Device) -> Result<LoadedModel> {
    let lora = AdapterConfig::read(adapter)?.lora();
    let loaded = load_model(path, Some(&lora), device)?;
    load_adapter(&loaded.model, adapter)?;
    Ok(loaded)
}

/// Writes the model with its adapters merged as a Hugging Face directory our loader (and
/// `transformers`) reads: `config.json`, `model.safetensors`, `tokenizer.json`, and the chat
/// template in `tokenizer_config.json`.
pub fn save_merged(loaded: &LoadedModel, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(crate::error::io(dir))?;
    let mut config = loaded.model.config.clone();
    config.eos_token_id = Some(serde_json::json!(loaded.tokenizer.eos_ids));
    config.write(&dir.join("config.json"))?;
    let path = dir.join("model.safetensors");
    let tensors = loaded.model.merged_weights()?;
    candle_core::safetensors::save(&tensors, &path).map_err(|e| TrainError::Tensor {
        path: path.clone(),
        name: "*".into(),
        message: e.to_string(),
    })?;
    let path = dir.join("tokenizer.json");
    loaded
        .tokenizer
        .inner
        .save(&path, false)
        .map_err(|e| TrainError::Tokenizer(format!("cannot write {}: {e}", path.display())))?;
    // The chat template travels in tokenizer_config.json, as in Hugging Face directories.
    if let Some(template) = &loaded.tokenizer.chat_template {
        let path = dir.join("tokenizer_config.json");
        let config = serde_json::json!({ "chat_template": template });
        std::fs::write(&path, config.to_string()).map_err(crate::error::io(&path))?;
    }
    Ok(())
}
