//! Throughput of a model on this machine (a benchmark, not a test): prompt processing and
//! decoding tokens/s with the KV cache, and LoRA training tokens/s (forward + backward + AdamW).
//!
//! `cargo run --release -p tracealign-train --example speed -- MODEL [PROMPT_TOKENS] [DECODE_TOKENS] [TRAIN_LEN] [TRAIN_STEPS]`
//! (TRAIN_STEPS 0: generation only; `SPEED_BATCHES=1,8` picks the batched decoding rows;
//! `SPEED_DECODE_WEIGHTS=q8_0` decodes with Q8_0 weights).
//!
//! MODEL is a model directory, a `.gguf` file, or `tiny`: a random 2-layer model (hidden 64,
//! 4 heads, 2 key/value heads, vocabulary 512), the configuration of the PyTorch comparison.

use std::time::Instant;

use candle_core::{Device, Tensor};
use tracealign_train::batch::Sequence;
use tracealign_train::{
    load_model, Cache, Config, DecodeWeights, Examples, LoraConfig, Model, TrainConfig, Trainer,
    Weights,
};

/// The allocator of the `tracealign` binary, so these figures are the CLI's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // As the binary does: freed memory is kept (`mi_option_purge_delay` = 15, see the CLI).
    unsafe { libmimalloc_sys::mi_option_set(15, -1) };
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: speed MODEL [PROMPT_TOKENS] [DECODE_TOKENS] [TRAIN_LEN] [TRAIN_STEPS]")?;
    let arg =
        |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    let (prompt_len, decode_len, train_len, steps) =
        (arg(2, 128), arg(3, 64), arg(4, 512), arg(5, 3));
    let started = Instant::now();
    let lora = LoraConfig {
        rank: 16,
        alpha: 32.0,
        ..LoraConfig::default()
    };
    let mut model = match path.as_str() {
        "tiny" => tiny_model(&lora)?,
        _ => load_model(path.as_ref(), Some(&lora), &Device::Cpu)?.model,
    };
    if std::env::var("SPEED_DECODE_WEIGHTS").as_deref() == Ok("q8_0") {
        model.set_decode_weights(DecodeWeights::Q8_0)?;
        println!("decoding steps use Q8_0 weights");
    }
    println!("load: {:.2} s", started.elapsed().as_secs_f64());
    let model = &model;
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

    // Batched decoding: B sequences of the same prompt, one forward per token for all.
    let batches: Vec<usize> = std::env::var("SPEED_BATCHES")
        .unwrap_or_else(|_| "1,4,8,16,32".into())
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect();
    for &rows in &batches {
        let mut cache = Cache::default();
        let first = model.forward_cached(
            &Tensor::new(ids.as_slice(), &Device::Cpu)?.unsqueeze(0)?,
            &mut cache,
        )?;
        let mut cache = cache.repeat(rows)?;
        let mut logits = first.repeat((rows, 1))?;
        let t = Instant::now();
        for _ in 0..decode_len {
            let next = logits.argmax(candle_core::D::Minus1)?.unsqueeze(1)?;
            logits = model.forward_cached(&next, &mut cache)?;
        }
        let decode = t.elapsed().as_secs_f64();
        println!(
            "decode: batch {rows}: {} tokens in {decode:.2} s = {:.1} tokens/s",
            rows * decode_len,
            (rows * decode_len) as f64 / decode
        );
    }

    if steps == 0 {
        return Ok(());
    }
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
        steps,
        batch_size: 1,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(model.clone(), Examples::Sft(vec![row]), config, 0)?;
    let mut rates = Vec::new();
    for i in 0..steps {
        let m = trainer.step()?;
        if i > 0 {
            rates.push(m.tokens_per_second);
        }
        println!(
            "train step (LoRA r=16 on q/k/v/o, {train_len} tokens, half of them trained): {:.2} s = {:.1} tokens/s, loss {:.4}",
            m.seconds, m.tokens_per_second, m.loss
        );
    }
    let mean = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
    println!("train mean after the first step: {mean:.1} tokens/s");
    Ok(())
}

/// A random model of the tiny configuration.
fn tiny_model(lora: &LoraConfig) -> Result<Model, Box<dyn std::error::Error>> {
    let config: Config = serde_json::from_value(serde_json::json!({
        "vocab_size": 512, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 1024,
        "tie_word_embeddings": true
    }))?;
    let (h, i, kv) = (64, 128, 32);
    let mut shapes = vec![("model.embed_tokens.weight".to_string(), vec![512, h])];
    for l in 0..2 {
        for (name, shape) in [
            ("self_attn.q_proj", vec![h, h]),
            ("self_attn.k_proj", vec![kv, h]),
            ("self_attn.v_proj", vec![kv, h]),
            ("self_attn.o_proj", vec![h, h]),
            ("mlp.gate_proj", vec![i, h]),
            ("mlp.up_proj", vec![i, h]),
            ("mlp.down_proj", vec![h, i]),
        ] {
            shapes.push((format!("model.layers.{l}.{name}.weight"), shape));
        }
    }
    let mut tensors = std::collections::HashMap::new();
    for (name, shape) in shapes {
        tensors.insert(
            name,
            (Tensor::randn(0f32, 1.0, shape, &Device::Cpu)? * 0.05)?,
        );
    }
    let ones = Tensor::ones(h, candle_core::DType::F32, &Device::Cpu)?;
    tensors.insert("model.norm.weight".into(), ones.clone());
    for l in 0..2 {
        tensors.insert(
            format!("model.layers.{l}.input_layernorm.weight"),
            ones.clone(),
        );
        tensors.insert(
            format!("model.layers.{l}.post_attention_layernorm.weight"),
            ones.clone(),
        );
    }
    let weights = Weights {
        origin: "tiny".into(),
        tensors,
    };
    Ok(Model::new(&config, &weights, Some(lora), &Device::Cpu)?)
}
