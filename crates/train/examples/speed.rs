//! Throughput of a model on this machine (a benchmark, not a test): prompt processing and
//! decoding tokens/s with the KV cache, and LoRA training tokens/s (forward + backward + AdamW).
//!
//! `cargo run --release -p tracealign-train --example speed -- MODEL [PROMPT_TOKENS] [DECODE_TOKENS] [TRAIN_LEN]`

use std::time::Instant;

use candle_core::{Device, Tensor};
use tracealign_train::batch::Sequence;
use tracealign_train::{load_model, Cache, Examples, LoraConfig, TrainConfig, Trainer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: speed MODEL [PROMPT_TOKENS] [DECODE_TOKENS] [TRAIN_LEN]")?;
    let arg =
        |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    let (prompt_len, decode_len, train_len) = (arg(2, 128), arg(3, 64), arg(4, 512));
    let started = Instant::now();
    let lora = LoraConfig {
        rank: 16,
        alpha: 32.0,
        ..LoraConfig::default()
    };
    let loaded = load_model(path.as_ref(), Some(&lora), &Device::Cpu)?;
    println!("load: {:.2} s", started.elapsed().as_secs_f64());
    let model = &loaded.model;
    let vocab = model.config.vocab_size as u32;
    let ids: Vec<u32> = (0..prompt_len as u32)
        .map(|i| (i * 7919 + 13) % vocab)
        .collect();

    let mut cache = Cache::default();
    let t = Instant::now();
    let mut logits = model.forward_cached(
        &Tensor::new(ids.as_slice(), &Device::Cpu)?.unsqueeze(0)?,
        &mut cache,
    )?;
    let prefill = t.elapsed().as_secs_f64();
    println!(
        "prompt: {prompt_len} tokens in {prefill:.2} s = {:.1} tokens/s",
        prompt_len as f64 / prefill
    );

    let t = Instant::now();
    for _ in 0..decode_len {
        let next = logits.argmax(candle_core::D::Minus1)?.unsqueeze(1)?;
        logits = model.forward_cached(&next, &mut cache)?;
    }
    let decode = t.elapsed().as_secs_f64();
    println!(
        "decode: {decode_len} tokens in {decode:.2} s = {:.1} tokens/s (batch 1)",
        decode_len as f64 / decode
    );

    let seq_ids: Vec<u32> = (0..train_len as u32)
        .map(|i| (i * 31 + 7) % vocab)
        .collect();
    let half = train_len / 2;
    let row = Sequence::prompt_completion(
        &seq_ids[..half],
        &seq_ids[half..],
        &vec![1.0; train_len - half],
    );
    let config = TrainConfig {
        steps: 3,
        batch_size: 1,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(loaded.model.clone(), Examples::Sft(vec![row]), config, 0)?;
    for _ in 0..3 {
        let m = trainer.step()?;
        println!(
            "train step (LoRA r=16 on q/k/v/o, {train_len} tokens): {:.2} s = {:.1} tokens/s, loss {:.4}",
            m.seconds, m.tokens_per_second, m.loss
        );
    }
    Ok(())
}
