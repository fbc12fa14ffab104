//! Objectives, gradients, optimizer, checkpoints on the tiny model.

use candle_core::{Device, Tensor};
use tracealign_train::batch::{collate, Sequence};
use tracealign_train::dpo::DpoPair;
use tracealign_train::loss::{sft_loss, weighted_cross_entropy, IGNORE_INDEX};
use tracealign_train::peft::{load_adapter, save_adapter};
use tracealign_train::{
    load_with_adapter, save_merged, Examples, LoraConfig, TrainConfig, Trainer,
};

use crate::tiny::{all_targets, corpus_sequences, sequence, tiny};

fn config(steps: usize, lr: f64) -> TrainConfig {
    TrainConfig {
        steps,
        batch_size: 2,
        lr,
        warmup: 0,
        min_lr_ratio: 1.0,
        ..TrainConfig::default()
    }
}

/// log-softmax of one row, by hand in f64.
fn log_softmax(row: &[f32]) -> Vec<f64> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = row.iter().map(|&x| (x as f64 - max).exp()).sum();
    row.iter().map(|&x| x as f64 - max - sum.ln()).collect()
}

#[test]
fn weighted_loss_equals_the_hand_computed_value() {
    let t = tiny(None);
    let model = &t.loaded.model;
    let a = Sequence {
        input_ids: vec![5, 9, 12, 40, 41],
        labels: vec![IGNORE_INDEX, IGNORE_INDEX, 12, 40, 41],
        weights: vec![0.0, 0.0, 2.0, 0.5, 1.0],
    };
    let b = Sequence {
        input_ids: vec![7, 8, 60],
        labels: vec![IGNORE_INDEX, 8, 60],
        weights: vec![0.0, 3.0, 1.0],
    };
    let batch = collate(&[&a, &b], 0, &Device::Cpu).unwrap();
    let logits = model.forward(&batch.input_ids).unwrap();
    let loss = weighted_cross_entropy(&logits, &batch, batch.weight_sum)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap() as f64;
    let rows = logits.to_vec3::<f32>().unwrap();
    let mut total = 0.0;
    let mut weight = 0.0;
    for (r, seq) in [&a, &b].iter().enumerate() {
        for t in 1..seq.input_ids.len() {
            if seq.labels[t] == IGNORE_INDEX {
                continue;
            }
            let lp = log_softmax(&rows[r][t - 1]);
            total += seq.weights[t] as f64 * -lp[seq.labels[t] as usize];
            weight += seq.weights[t] as f64;
        }
    }
    assert_eq!(weight, 7.5);
    let expected = total / weight;
    assert!(
        (loss - expected).abs() < 1e-5,
        "loss {loss} vs hand-computed {expected}"
    );
}

/// The adapters' gradients of the weighted loss of `seqs`.
fn gradients(trainer_model: &tracealign_train::Model, seqs: &[&Sequence]) -> Vec<Vec<f32>> {
    let batch = collate(seqs, 0, &Device::Cpu).unwrap();
    let loss = sft_loss(trainer_model, &batch, 1.0).unwrap();
    let grads = loss.backward().unwrap();
    trainer_model
        .adapters
        .vars
        .iter()
        .map(|(_, v)| {
            grads
                .get(v.as_tensor())
                .map(|g| g.flatten_all().unwrap().to_vec1::<f32>().unwrap())
                .unwrap_or_default()
        })
        .collect()
}

/// One training step so that B is no longer zero (A's gradient is zero while B is).
pub fn stepped_model() -> (crate::tiny::Tiny, tracealign_train::Model) {
    let t = tiny(Some(&all_targets()));
    let seqs = corpus_sequences(&t.loaded);
    let mut trainer = Trainer::new(
        t.loaded.model.clone(),
        Examples::Sft(seqs),
        config(1, 1e-2),
        0,
    )
    .unwrap();
    trainer.step().unwrap();
    let model = trainer.model.clone();
    (t, model)
}

#[test]
fn every_adapter_receives_a_non_zero_gradient() {
    let (t, model) = stepped_model();
    assert_eq!(
        model.adapters.vars.len(),
        2 * 7 * 2,
        "A and B on 7 projections in 2 layers"
    );
    let seq = corpus_sequences(&t.loaded).remove(4);
    let grads = gradients(&model, &[&seq]);
    for ((name, _), grad) in model.adapters.vars.iter().zip(&grads) {
        let norm: f32 = grad.iter().map(|g| g * g).sum();
        assert!(norm > 0.0, "{name} has no gradient");
    }
}

#[test]
fn zero_weight_tokens_contribute_no_gradient() {
    let (t, model) = stepped_model();
    let mut seq = corpus_sequences(&t.loaded).remove(0);
    let k = seq.input_ids.len() - 3;
    seq.weights[k] = 0.0;
    // The same row with another target at the zero-weight position: if that position
    // contributed anything, the gradients would differ.
    let mut other = seq.clone();
    other.labels[k] = (other.labels[k] + 1) % 300;
    let g1 = gradients(&model, &[&seq]);
    let g2 = gradients(&model, &[&other]);
    assert_eq!(g1, g2);
    // And the weight does matter where it is not zero.
    let mut weighted = other.clone();
    weighted.weights[k] = 1.0;
    assert_ne!(gradients(&model, &[&weighted]), g2);
}

#[test]
fn training_on_a_fixed_set_drives_the_loss_down() {
    let t = tiny(Some(&all_targets()));
    let seqs = corpus_sequences(&t.loaded);
    let mut trainer = Trainer::new(
        t.loaded.model.clone(),
        Examples::Sft(seqs),
        config(40, 1e-2),
        0,
    )
    .unwrap();
    let before = trainer.evaluate().unwrap();
    while !trainer.finished() {
        trainer.step().unwrap();
    }
    let after = trainer.evaluate().unwrap();
    assert!(after < 0.5 * before, "loss {before} → {after}");
}

#[test]
fn dpo_raises_the_chosen_rejected_margin() {
    let t = tiny(Some(&all_targets()));
    let pair = |prompt: &str, good: &str, bad: &str| DpoPair {
        chosen: sequence(&t.loaded, prompt, good),
        rejected: sequence(&t.loaded, prompt, bad),
    };
    let pairs = vec![
        pair(
            "def add(a, b):\n",
            "    return a + b\n",
            "    return a - b\n",
        ),
        pair(
            "def is_even(n):\n",
            "    return n % 2 == 0\n",
            "    return n % 2 == 1\n",
        ),
        pair(
            "def mul(a, b):\n",
            "    return a * b\n",
            "    return a + b\n",
        ),
    ];
    let examples = Examples::Dpo { pairs, beta: 0.1 };
    let mut trainer = Trainer::new(t.loaded.model.clone(), examples, config(15, 5e-3), 0).unwrap();
    let before: f32 = trainer.margins().unwrap().iter().sum();
    assert!(
        before.abs() < 1e-4,
        "untrained adapters leave the policy equal to the reference"
    );
    for _ in 0..15 {
        trainer.step().unwrap();
    }
    let after = trainer.margins().unwrap();
    assert!(after.iter().all(|&m| m > 0.0), "margins {after:?}");
}

#[test]
fn save_then_load_gives_identical_logits() {
    let (t, model) = stepped_model();
    let out = tempfile::TempDir::new().unwrap();
    save_adapter(&model, out.path(), None).unwrap();
    let reloaded = load_with_adapter(t.dir.path(), out.path(), &Device::Cpu).unwrap();
    let ids = Tensor::new(&[[3u32, 50, 77, 9, 120]], &Device::Cpu).unwrap();
    let a = model
        .forward(&ids)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let b = reloaded
        .model
        .forward(&ids)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert_eq!(a, b);
    // Loading into a model with other initial adapters overwrites all of them.
    let lora = LoraConfig {
        seed: 99,
        ..all_targets()
    };
    let other = tracealign_train::load_model(t.dir.path(), Some(&lora), &Device::Cpu).unwrap();
    load_adapter(&other.model, out.path()).unwrap();
    let c = other
        .model
        .forward(&ids)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert_eq!(a, c);
}

#[test]
fn merged_weights_give_the_adapted_logits() {
    let (t, model) = stepped_model();
    let merged_dir = tempfile::TempDir::new().unwrap();
    let loaded = tracealign_train::LoadedModel {
        model: model.clone(),
        tokenizer: t.loaded.tokenizer.clone(),
    };
    save_merged(&loaded, merged_dir.path()).unwrap();
    let merged = tracealign_train::load_model(merged_dir.path(), None, &Device::Cpu).unwrap();
    let ids = Tensor::new(&[[3u32, 50, 77, 9, 120]], &Device::Cpu).unwrap();
    let a = model.forward(&ids).unwrap();
    let b = merged.model.forward(&ids).unwrap();
    let diff = (a - b)
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
fn resume_continues_the_same_loss_curve() {
    let t = tiny(Some(&all_targets()));
    let seqs = corpus_sequences(&t.loaded);
    let cfg = TrainConfig {
        grad_accum: 2,
        warmup: 2,
        min_lr_ratio: 0.1,
        ..config(6, 1e-2)
    };
    let mut straight = Trainer::new(
        t.loaded.model.clone(),
        Examples::Sft(seqs.clone()),
        cfg.clone(),
        0,
    )
    .unwrap();
    let losses: Vec<f64> = (0..6).map(|_| straight.step().unwrap().loss).collect();

    let first = tiny(Some(&all_targets()));
    let mut part = Trainer::new(
        first.loaded.model.clone(),
        Examples::Sft(seqs.clone()),
        cfg.clone(),
        0,
    )
    .unwrap();
    for _ in 0..3 {
        part.step().unwrap();
    }
    let checkpoint = tempfile::TempDir::new().unwrap();
    part.save_checkpoint(checkpoint.path(), None).unwrap();
    drop(part);

    let lora = LoraConfig {
        seed: 42,
        ..all_targets()
    };
    let fresh = tracealign_train::load_model(t.dir.path(), Some(&lora), &Device::Cpu).unwrap();
    let mut resumed = Trainer::new(fresh.model, Examples::Sft(seqs), cfg, 0).unwrap();
    resumed.resume(checkpoint.path()).unwrap();
    assert_eq!(resumed.state.step, 3);
    let rest: Vec<f64> = (0..3).map(|_| resumed.step().unwrap().loss).collect();
    for (a, b) in losses[3..].iter().zip(&rest) {
        assert!(
            (a - b).abs() < 1e-5,
            "straight {:?} vs resumed {rest:?}",
            &losses[3..]
        );
    }
}

#[test]
fn dataset_rows_become_weighted_sequences() {
    use tracealign_train::data::{detect_kind, read_dpo, read_sft, RowKind};
    let t = tiny(None);
    let dir = tempfile::TempDir::new().unwrap();
    let sft = dir.path().join("sft.jsonl");
    let completion = "    return a + b\n";
    let weights: Vec<f64> = completion
        .chars()
        .map(|c| if c == '+' { 3.0 } else { 1.0 })
        .collect();
    let row = serde_json::json!({"prompt": "def add(a, b):\n", "completion": completion, "weights": weights});
    std::fs::write(&sft, format!("{row}\n")).unwrap();
    assert_eq!(detect_kind(&sft).unwrap(), RowKind::Sft);
    let seqs = read_sft(&sft, &t.loaded.tokenizer, 512).unwrap();
    let seq = &seqs[0];
    let prompt_len = t.loaded.tokenizer.encode("def add(a, b):").unwrap().len();
    assert!(seq.labels[..prompt_len].iter().all(|&l| l == IGNORE_INDEX));
    assert!(seq.weights[..prompt_len].iter().all(|&w| w == 0.0));
    assert_eq!(
        seq.input_ids.last(),
        Some(&0),
        "an end-of-sequence token closes the completion"
    );
    assert!(seq.weights.contains(&3.0));
    let text = t.loaded.tokenizer.decode(&seq.input_ids).unwrap();
    assert_eq!(text, format!("def add(a, b):\n{completion}"));

    let dpo = dir.path().join("dpo.jsonl");
    let chosen = "    return a + b\n";
    let rejected = "    return a - b\n";
    let mask = |s: &str, c: char| -> Vec<u8> { s.chars().map(|x| u8::from(x == c)).collect() };
    let row = serde_json::json!({
        "prompt": "def add(a, b):\n", "chosen": chosen, "rejected": rejected,
        "chosen_diff_mask": mask(chosen, '+'), "rejected_diff_mask": mask(rejected, '-'),
    });
    std::fs::write(&dpo, format!("{row}\n")).unwrap();
    assert_eq!(detect_kind(&dpo).unwrap(), RowKind::Dpo);
    let pairs = read_dpo(&dpo, &t.loaded.tokenizer, 512, 2.0).unwrap();
    let pair = &pairs[0];
    assert!(
        pair.rejected.weights.contains(&3.0),
        "masked tokens weigh 1 + 2"
    );
    assert!(pair.rejected.weights.contains(&1.0));
    assert_eq!(
        pair.chosen.labels[..prompt_len],
        pair.rejected.labels[..prompt_len]
    );
}

#[test]
fn a_qwen2_model_loads_its_qkv_biases_and_trains() {
    let dir = tempfile::TempDir::new().unwrap();
    crate::tiny::write_tiny_model(dir.path(), "qwen2").unwrap();
    let loaded =
        tracealign_train::load_model(dir.path(), Some(&all_targets()), &Device::Cpu).unwrap();
    assert!(loaded.model.config.qkv_bias());
    let merged = loaded.model.merged_weights().unwrap();
    assert!(merged.contains_key("model.layers.1.self_attn.k_proj.bias"));
    let seqs = corpus_sequences(&loaded);
    let mut trainer = Trainer::new(loaded.model, Examples::Sft(seqs), config(20, 1e-2), 0).unwrap();
    let before = trainer.evaluate().unwrap();
    while !trainer.finished() {
        trainer.step().unwrap();
    }
    assert!(trainer.evaluate().unwrap() < before);
}
