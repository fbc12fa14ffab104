//! Sampling on the tiny model.

use tracealign_train::generate::{generate, python_stop_sequences, SamplingConfig};
use tracealign_train::{DecodeWeights, Examples, TrainConfig, Trainer};

use crate::tiny::{all_targets, max_abs, sequence, tiny};

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
    let diff = max_abs(&(last - expected).unwrap());
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
    let diff = max_abs(&(tracked - fused).unwrap());
    assert!(diff < 1e-4, "max difference {diff}");
}

#[test]
fn prompts_decoded_together_match_prompts_decoded_alone() {
    for form in [DecodeWeights::F32, DecodeWeights::Q8_0] {
        decoded_together_match_decoded_alone(form);
    }
}

fn decoded_together_match_decoded_alone(form: DecodeWeights) {
    use tracealign_train::generate::{generate_batched, Request};
    let mut t = tiny(None);
    t.loaded.model.set_decode_weights(form).unwrap();
    let prompts = [
        "def add(a, b):\n",
        "def fib(n):\n    if n < 2:\n        return n\n",
        "x = 1\n",
        "class Stack:\n    def push(self, item):\n",
    ];
    for temperature in [0.0, 1.0] {
        let sampling = SamplingConfig {
            temperature,
            top_p: 0.95,
            max_new_tokens: 12,
            seed: 11,
            stop: Vec::new(),
        };
        let requests: Vec<Request> = prompts
            .iter()
            .enumerate()
            .map(|(i, p)| Request {
                prompt: p.to_string(),
                n: 1 + i % 2,
                seed: 100 + i as u64,
                stop: Vec::new(),
            })
            .collect();
        // Three rows at a time: prompts of different lengths share a batch (left padding) and
        // the later ones wait for room.
        let mut together = vec![Vec::new(); requests.len()];
        let mut order = Vec::new();
        generate_batched(
            &t.loaded.model,
            &t.loaded.tokenizer,
            &requests,
            &sampling,
            3,
            |i, c| {
                order.push(i);
                together[i] = c;
                Ok(())
            },
        )
        .unwrap();
        order.sort();
        assert_eq!(order, vec![0, 1, 2, 3]);
        for (i, request) in requests.iter().enumerate() {
            let alone = generate(
                &t.loaded.model,
                &t.loaded.tokenizer,
                &request.prompt,
                request.n,
                &SamplingConfig {
                    seed: request.seed,
                    ..sampling.clone()
                },
            )
            .unwrap();
            assert_eq!(
                together[i], alone,
                "prompt {i} at temperature {temperature}, {form:?} decoding"
            );
        }
    }
}

#[test]
fn a_left_padded_batch_gives_each_row_its_own_logits() {
    let t = tiny(None);
    let model = &t.loaded.model;
    let device = model.device();
    let short = t.loaded.tokenizer.encode("x = 1\n").unwrap();
    let long = t
        .loaded
        .tokenizer
        .encode("def fib(n):\n    return n\n")
        .unwrap();
    let prefill = |ids: &[u32]| {
        let mut cache = tracealign_train::Cache::default();
        let input = candle_core::Tensor::new(ids, device)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        model.forward_cached(&input, &mut cache).unwrap();
        cache
    };
    let mut batch = prefill(&short).concat(&prefill(&long)).unwrap();
    assert_eq!(batch.len(), long.len());
    let next = candle_core::Tensor::new(&[[7u32], [9u32]], device).unwrap();
    let batched = model.forward_cached(&next, &mut batch).unwrap();
    for (row, (ids, token)) in [(&short, 7u32), (&long, 9u32)].into_iter().enumerate() {
        let mut cache = prefill(ids);
        let input = candle_core::Tensor::new(&[[token]], device).unwrap();
        let alone = model.forward_cached(&input, &mut cache).unwrap();
        let diff = max_abs(&(batched.narrow(0, row, 1).unwrap() - alone).unwrap());
        assert!(diff < 1e-4, "row {row}: max difference {diff}");
    }
}

#[test]
fn q8_0_decoding_steps_stay_close_to_f32_and_leave_prompts_exact() {
    let t = tiny(None);
    let mut quantized = t.loaded.model.clone();
    quantized.set_decode_weights(DecodeWeights::Q8_0).unwrap();
    let ids = t
        .loaded
        .tokenizer
        .encode("def fib(n):\n    if n < 2:")
        .unwrap();
    let input = candle_core::Tensor::new(ids.as_slice(), t.loaded.model.device())
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    let step = candle_core::Tensor::new(&[[ids[0]]], t.loaded.model.device()).unwrap();
    let logits = |model: &tracealign_train::Model| {
        let mut cache = tracealign_train::Cache::default();
        let prompt = model.forward_cached(&input, &mut cache).unwrap();
        let next = model.forward_cached(&step, &mut cache).unwrap();
        (prompt, next)
    };
    let (prompt_f32, next_f32) = logits(&t.loaded.model);
    let (prompt_q8, next_q8) = logits(&quantized);
    let difference = |a: &candle_core::Tensor, b: &candle_core::Tensor| max_abs(&(a - b).unwrap());
    assert_eq!(difference(&prompt_f32, &prompt_q8), 0.0, "prompts stay f32");
    let spread = max_abs(&next_f32);
    let step_difference = difference(&next_f32, &next_q8);
    assert!(
        step_difference > 0.0,
        "the decoding step used the quantized weights"
    );
    assert!(
        step_difference < 0.05 * spread,
        "{step_difference} vs logits up to {spread}"
    );
}
