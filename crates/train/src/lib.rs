//! LoRA fine-tuning of Llama-family code models on CPU (or CUDA behind the `cuda` feature):
//! a differentiable decoder ([`model`]) with adapters ([`lora`]), fault-aware weighted
//! cross-entropy ([`loss`]), DPO ([`dpo`]), AdamW with warm-up and cosine decay ([`optim`]),
//! checkpoints and PEFT export ([`checkpoint`], [`peft`]), GGUF loading ([`gguf`]) and
//! sampling with a KV cache ([`generate`]). Rows come from the dataset crate's files
//! ([`data`]) as padded batches ([`batch`]); [`load`] opens a model directory or GGUF file and
//! its tokenizer ([`tokenizer`]); [`trainer`] runs the loop.
//!
//! Two calls do what `tracealign generate` and `tracealign train` do, for any front end:
//! [`sampling::generate_samples`] (samples of problems or prompt rows) and
//! [`training::train_adapter`] (an adapter from a rows file, resumable), each taking typed
//! settings that serialize (to fingerprint a stage) and reporting [`ProgressEvent`]s.
//!
//! Choices: the frozen base is dequantized to f32 (not QLoRA: candle's quantized CPU matmuls
//! are several times slower than f32 for prompts and training); only f32 is supported.
//! Libraries never print: the trainer returns per-step metrics that the CLI renders.

pub mod batch;
pub mod cache;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod dpo;
pub mod error;
pub mod generate;
pub mod gguf;
pub mod kernels;
pub mod load;
pub mod lora;
pub mod loss;
pub mod model;
pub mod optim;
pub mod peft;
pub mod policy;
pub mod progress;
pub mod sampling;
pub mod tiny;
pub mod tokenizer;
pub mod trainer;
pub mod training;

pub use candle_core::Device;
pub use config::Config;
pub use error::{Result, TrainError};
pub use load::{load_model, load_with_adapter, save_merged, LoadedModel};
pub use lora::{DecodeWeights, LoraConfig, ATTENTION_TARGETS, MLP_TARGETS};
pub use model::{Cache, Model, Pass, Weights};
pub use progress::ProgressEvent;
pub use sampling::{
    generate_into, generate_samples, GenerateSettings, GenerateSummary, Prompt, SamplingError,
};
pub use trainer::{Examples, StepMetrics, TrainConfig, Trainer};
pub use training::{device, train_adapter, TrainSettings, TrainSummary, TrainingError};
