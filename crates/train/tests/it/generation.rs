//! Sampling on the tiny model.

use tracealign_train::generate::{generate, python_stop_sequences, SamplingConfig};
use tracealign_train::{Examples, TrainConfig, Trainer};

use crate::tiny::{all_targets, sequence, tiny};

const PROMPT: &str = "def add(a, b):\n";
const BODY: &str = "    c = a + b\n    return c\n";

#[test]
fn an_overfit_model_regenerates_its_program_at_temperature_0() {
    let t = tiny(Some(&all_targets()));
    let rows = vec![sequence(&t.loaded, PROMPT, BODY)];
    let cfg = TrainConfig {
        steps: 60,
        batch_size: 1,
        lr: 2e-2,
        min_lr_ratio: 1.0,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(t.loaded.model.clone(), Examples::Sft(rows), cfg, 0).unwrap();
    while !trainer.finished() {
        trainer.step().unwrap();
    }
    let sampling = SamplingConfig {
        max_new_tokens: 40,
        ..SamplingConfig::default()
    };
    let out = generate(&trainer.model, &t.loaded.tokenizer, PROMPT, 2, &sampling).unwrap();
    for completion in &out {
        assert_eq!(completion.text, BODY);
    }
}

#[test]
fn sampling_is_seeded_and_respects_stop_sequences() {
    let t = tiny(None);
    let sampling = SamplingConfig {
        temperature: 1.0,
        top_p: 0.9,
        max_new_tokens: 20,
        seed: 3,
        stop: python_stop_sequences(),
    };
    let a = generate(&t.loaded.model, &t.loaded.tokenizer, PROMPT, 3, &sampling).unwrap();
    let b = generate(&t.loaded.model, &t.loaded.tokenizer, PROMPT, 3, &sampling).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.len(), 3);
    for c in &a {
        assert!(python_stop_sequences()
            .iter()
            .all(|s| !c.text.contains(s.as_str())));
        assert!(c.tokens <= 20);
    }
}

#[test]
fn cached_decoding_matches_the_full_forward() {
    let t = tiny(None);
    let model = &t.loaded.model;
    let ids = t.loaded.tokenizer.encode("def fib(n):\n    if n").unwrap();
    let device = model.device();
    let full = model
        .forward(
            &candle_core::Tensor::new(ids.as_slice(), device)
                .unwrap()
                .unsqueeze(0)
                .unwrap(),
        )
        .unwrap();
    let mut cache = tracealign_train::Cache::default();
    let (head, tail) = ids.split_at(ids.len() - 2);
    let input = candle_core::Tensor::new(head, device)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    model.forward_cached(&input, &mut cache).unwrap();
    let input = candle_core::Tensor::new(&tail[..1], device)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    model.forward_cached(&input, &mut cache).unwrap();
    let input = candle_core::Tensor::new(&tail[1..], device)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    let last = model.forward_cached(&input, &mut cache).unwrap();
    let expected = full
        .narrow(1, ids.len() - 1, 1)
        .unwrap()
        .squeeze(1)
        .unwrap();
    let diff = (last - expected)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(diff < 1e-4, "max difference {diff}");
}

#[test]
fn fused_inference_kernels_agree_with_the_differentiable_ops() {
    // Fresh adapters (B = 0) change nothing, but put the forward pass in a differentiated
    // graph (hand-written rotary, softmax, RMSNorm); the base pass uses candle's fused kernels.
    let t = tiny(Some(&all_targets()));
    let model = &t.loaded.model;
    let ids = t
        .loaded
        .tokenizer
        .encode("def fib(n):\n    if n < 2:")
        .unwrap();
    let input = candle_core::Tensor::new(ids.as_slice(), model.device())
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    let tracked = model.forward(&input).unwrap();
    let fused = model.forward_base(&input).unwrap();
    let diff = (tracked - fused)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(diff < 1e-4, "max difference {diff}");
}
