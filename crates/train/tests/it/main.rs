//! Integration tests of the trainer: one binary, a tiny random Llama written by the harness
//! ([`tiny`]), and SmolLM2 tests that skip with a printed reason when its GGUF is absent.

mod generation;
mod peft;
mod policy;
mod smollm2;
mod tiny;
mod training;
