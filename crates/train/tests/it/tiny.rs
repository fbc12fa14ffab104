//! The crate's tiny random model (`tracealign_train::tiny`) in a temporary directory, loaded,
//! and the SFT sequences the tests train it on.

use candle_core::Device;
use tempfile::TempDir;
use tracealign_train::batch::Sequence;
pub use tracealign_train::tiny::{write_tiny_model, CORPUS};
use tracealign_train::{load_model, LoadedModel, LoraConfig};

/// A tiny model directory and the model loaded from it.
pub struct Tiny {
    pub dir: TempDir,
    pub loaded: LoadedModel,
}

/// A tiny Llama with adapters per `lora` (none if `None`).
pub fn tiny(lora: Option<&LoraConfig>) -> Tiny {
    let dir = TempDir::new().unwrap();
    write_tiny_model(dir.path(), "llama").unwrap();
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

/// The largest absolute value of `t` (of `a - b` for a difference).
pub fn max_abs(t: &candle_core::Tensor) -> f32 {
    t.abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}
