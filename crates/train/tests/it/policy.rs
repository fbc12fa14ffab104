//! GRPO's clipped policy-gradient loss on the tiny model: its value, the direction of its
//! update, masks, and the KL penalty.

use std::collections::HashMap;

use candle_core::Tensor;
use tracealign_train::batch::collate;
use tracealign_train::loss::weighted_log_probs;
use tracealign_train::optim::{AdamW, AdamWConfig};
use tracealign_train::policy::{policy_loss, PolicyExample, PolicyLossConfig};
use tracealign_train::{Model, Pass};

use crate::tiny::{all_targets, tiny};
use crate::training::stepped_model;

fn example(model_tokens: &tracealign_train::LoadedModel, advantage: f32) -> PolicyExample {
    let prompt = model_tokens.tokenizer.encode("def add(a, b):\n").unwrap();
    let completion = model_tokens.tokenizer.encode("    return a + b\n").unwrap();
    let n = completion.len();
    PolicyExample::new(&prompt, &completion, &vec![1.0; n], &vec![advantage; n])
}

/// Σ log p of the example's tokens in the loss.
fn log_prob(model: &Model, example: &PolicyExample) -> f32 {
    let batch = collate(&[&example.sequence], 0, model.device()).unwrap();
    let values = weighted_log_probs(model, &batch, Pass::Infer).unwrap();
    values.sum_all().unwrap().to_scalar::<f32>().unwrap()
}

fn update(model: &Model, loss: &Tensor) {
    let store = loss.backward().unwrap();
    let grads: HashMap<String, Tensor> = (model.adapters.vars.iter())
        .filter_map(|(name, var)| Some((name.clone(), store.get(var.as_tensor())?.clone())))
        .collect();
    let mut optimizer = AdamW::new(model.adapters.vars.clone(), AdamWConfig::default()).unwrap();
    optimizer.step(&grads, 1e-2).unwrap();
}

#[test]
fn the_loss_is_minus_the_mean_advantage_and_its_step_follows_the_advantage_sign() {
    let no_kl = PolicyLossConfig {
        kl_beta: 0.0,
        ..PolicyLossConfig::default()
    };
    for advantage in [1.0f32, -1.0] {
        let (t, model) = stepped_model();
        let example = example(&t.loaded, advantage);
        let n = example.live_tokens();
        let (loss, stats) = policy_loss(&model, &[&example], 0, &no_kl, n as f64, None).unwrap();
        let value = loss.to_scalar::<f32>().unwrap();
        assert!((value + advantage).abs() < 1e-5, "{value}");
        assert_eq!((stats.tokens, stats.clipped, stats.kl_sum), (n, 0, 0.0));
        let before = log_prob(&model, &example);
        update(&model, &loss);
        let after = log_prob(&model, &example);
        assert_eq!(after > before, advantage > 0.0, "{before} -> {after}");
    }
}

#[test]
fn masked_tokens_and_zero_advantages_give_no_gradient() {
    let t = tiny(Some(&all_targets()));
    let mut masked = example(&t.loaded, 1.0);
    let completion_start = masked
        .sequence
        .weights
        .iter()
        .position(|w| *w != 0.0)
        .unwrap();
    // Mask all completion tokens but the first, whose advantage is zero.
    for (k, weight) in masked
        .sequence
        .weights
        .iter_mut()
        .enumerate()
        .skip(completion_start)
    {
        *weight = if k == completion_start { 1.0 } else { 0.0 };
    }
    masked.advantages[completion_start] = 0.0;
    let config = PolicyLossConfig {
        kl_beta: 0.0,
        ..PolicyLossConfig::default()
    };
    let model = &t.loaded.model;
    let (loss, stats) = policy_loss(model, &[&masked], 0, &config, 1.0, None).unwrap();
    assert_eq!(stats.tokens, 1);
    let store = loss.backward().unwrap();
    for (name, var) in &model.adapters.vars {
        if let Some(grad) = store.get(var.as_tensor()) {
            let size = grad
                .abs()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert_eq!(size, 0.0, "{name}");
        }
    }
}

#[test]
fn the_kl_to_the_base_is_zero_before_training_and_positive_after() {
    let t = tiny(Some(&all_targets()));
    let example = example(&t.loaded, 0.0);
    let config = PolicyLossConfig::default();
    let fresh = policy_loss(&t.loaded.model, &[&example], 0, &config, 1.0, None)
        .unwrap()
        .1;
    assert!(fresh.kl_sum.abs() < 1e-6, "{fresh:?}");
    let (_, trained) = stepped_model();
    let moved = policy_loss(&trained, &[&example], 0, &config, 1.0, None)
        .unwrap()
        .1;
    assert!(moved.kl_sum > 1e-6, "{moved:?}");
}

#[test]
fn old_log_probabilities_far_from_the_policy_are_clipped() {
    let (t, model) = stepped_model();
    let example = example(&t.loaded, 1.0);
    let n = example.live_tokens();
    // Drawn with much lower probabilities: ρ ≫ 1 + ε, so a positive advantage is clipped.
    let old = vec![-50.0f32; n];
    let config = PolicyLossConfig::default();
    let (loss, stats) = policy_loss(&model, &[&example], 0, &config, n as f64, Some(&old)).unwrap();
    assert_eq!(stats.clipped, n);
    let value = loss.to_scalar::<f32>().unwrap();
    // -(1 + ε) per token, plus the KL term.
    assert!(value < -1.19 && value > -1.21, "{value}");
    assert!(policy_loss(&model, &[&example], 0, &config, 1.0, Some(&old[1..])).is_err());
}
