//! Tests on SmolLM2-135M-Instruct (Q4_1 GGUF). `scripts/fetch_smollm2.py` fetches it and
//! `.ci/run` points `TRACEALIGN_SMOLLM2_GGUF` at it; without it these tests print why they
//! skip and pass.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use candle_core::{Device, Tensor, D};
use tracealign_train::batch::Sequence;
use tracealign_train::generate::{generate, python_stop_sequences, SamplingConfig, StopReason};
use tracealign_train::{
    load_model, Cache, DecodeWeights, Examples, LoadedModel, LoraConfig, TrainConfig, Trainer,
};

/// A HumanEval-style prompt (ours): a typed signature and a docstring with doctests.
const PROMPT: &str = r#"from typing import List


def count_above(values: List[int], limit: int) -> int:
    """ Count how many of the values are strictly greater than limit.
    >>> count_above([1, 5, 7, 2], 4)
    2
    >>> count_above([], 0)
    0
    """
"#;

const SOLUTION: &str = "    count = 0
    for value in values:
        if value > limit:
            count += 1
    return count
";

fn gguf() -> Option<PathBuf> {
    match std::env::var_os("TRACEALIGN_SMOLLM2_GGUF").map(PathBuf::from) {
        Some(path) if path.is_file() => Some(path),
        Some(path) => {
            eprintln!(
                "skipped: TRACEALIGN_SMOLLM2_GGUF={} is not a file",
                path.display()
            );
            None
        }
        None => {
            eprintln!(
                "skipped: TRACEALIGN_SMOLLM2_GGUF is not set (run scripts/fetch_smollm2.py and \
                 point it at the printed path)"
            );
            None
        }
    }
}

fn load(lora: Option<&LoraConfig>) -> Option<LoadedModel> {
    gguf().map(|path| load_model(&path, lora, &Device::Cpu).unwrap())
}

#[test]
fn smollm2_tokenizer_round_trips_python_and_maps_chat_tokens_to_single_ids() {
    let Some(loaded) = load(None) else { return };
    let t = &loaded.tokenizer;
    let source = format!("{PROMPT}{SOLUTION}\nprint(has_close_elements([1.0, 2.0], 0.5))  # ünïcode ✓\n\t\tx = 12345\n");
    let ids = t.encode(&source).unwrap();
    assert_eq!(t.decode(&ids).unwrap(), source);
    assert_eq!(t.encode("<|im_start|>").unwrap(), vec![1]);
    assert_eq!(t.encode("<|im_end|>").unwrap(), vec![2]);
    assert_eq!(t.encode("<|endoftext|>").unwrap(), vec![0]);
    let chat = t.encode("<|im_start|>user\nhi<|im_end|>\n").unwrap();
    assert_eq!(chat.first(), Some(&1));
    assert!(chat.contains(&2));
    // Digits are split one by one (llama.cpp's "smollm" pre-tokenizer).
    assert_eq!(t.encode("12345").unwrap().len(), 5);
    assert_eq!(loaded.model.config.vocab_size, 49152);
}

fn parses_as_python(code: &str) -> bool {
    let mut child = Command::new("python3")
        .args(["-c", "import ast, sys; ast.parse(sys.stdin.read())"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(code.as_bytes())
        .unwrap();
    child.wait().unwrap().success()
}

#[test]
fn smollm2_greedy_completion_of_a_humaneval_prompt_parses() {
    let Some(loaded) = load(None) else { return };
    let prompt = PROMPT.trim_end();
    let sampling = SamplingConfig {
        max_new_tokens: 160,
        stop: python_stop_sequences(),
        ..SamplingConfig::default()
    };
    let out = generate(&loaded.model, &loaded.tokenizer, prompt, 1, &sampling).unwrap();
    let code = format!("{prompt}{}", out[0].text);
    eprintln!("{code}");
    assert!(out[0].tokens > 5, "the model wrote something");
    assert!(parses_as_python(&code), "does not parse:\n{code}");
}

#[test]
fn smollm2_chat_template_comes_from_the_gguf_and_its_reply_ends_the_turn() {
    let Some(loaded) = load(None) else { return };
    let tokenizer = &loaded.tokenizer;
    let request = format!("Complete this function in a ```python block.\n\n```python\n{PROMPT}```");
    let prompt = tokenizer.chat_prompt(&request).unwrap();
    assert!(prompt.starts_with("<|im_start|>system\n"), "{prompt}");
    assert!(
        prompt.ends_with("<|im_end|>\n<|im_start|>assistant\n"),
        "{prompt}"
    );
    let ids = tokenizer.encode(&prompt).unwrap();
    assert_eq!(
        ids.iter().filter(|&&id| id == 1).count(),
        3,
        "<|im_start|> x3"
    );
    assert_eq!(
        ids.iter().filter(|&&id| id == 2).count(),
        2,
        "<|im_end|> x2"
    );
    assert!(tokenizer.eos_ids.contains(&2), "<|im_end|> ends a reply");
    let sampling = SamplingConfig {
        max_new_tokens: 200,
        ..SamplingConfig::default()
    };
    let out = generate(&loaded.model, tokenizer, &prompt, 1, &sampling).unwrap();
    eprintln!("{}", out[0].text);
    assert_eq!(out[0].reason, StopReason::EndOfSequence, "the turn ends");
    assert!(out[0].text.contains("def count_above"), "{}", out[0].text);
}

#[test]
fn smollm2_q8_0_decoding_picks_the_tokens_f32_picks() {
    let Some(loaded) = load(None) else { return };
    let mut quantized = loaded.model.clone();
    quantized.set_decode_weights(DecodeWeights::Q8_0).unwrap();
    let device = loaded.model.device();
    let prompt = loaded.tokenizer.encode(PROMPT.trim_end()).unwrap();
    let input = Tensor::new(prompt.as_slice(), device)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    // Both decode the f32 model's greedy continuation, one token at a time (teacher forcing),
    // and name their most likely next token at every step.
    let (mut f32_cache, mut q8_cache) = (Cache::default(), Cache::default());
    let mut f32_logits = loaded.model.forward_cached(&input, &mut f32_cache).unwrap();
    let mut q8_logits = quantized.forward_cached(&input, &mut q8_cache).unwrap();
    let (mut agree, steps) = (0, 48);
    for _ in 0..steps {
        let best = |l: &Tensor| l.argmax(D::Minus1).unwrap().to_vec1::<u32>().unwrap()[0];
        let token = best(&f32_logits);
        agree += usize::from(best(&q8_logits) == token);
        let step = Tensor::new(&[[token]], device).unwrap();
        f32_logits = loaded.model.forward_cached(&step, &mut f32_cache).unwrap();
        q8_logits = quantized.forward_cached(&step, &mut q8_cache).unwrap();
    }
    eprintln!("q8_0 agrees with f32 on {agree} of {steps} greedy tokens");
    assert!(agree * 10 >= steps * 9, "{agree} of {steps}");
}

#[test]
fn smollm2_one_lora_step_lowers_the_loss_of_its_row() {
    let lora = LoraConfig {
        rank: 8,
        ..LoraConfig::default()
    };
    let Some(loaded) = load(Some(&lora)) else {
        return;
    };
    let t = &loaded.tokenizer;
    let prompt = t.encode(PROMPT.trim_end()).unwrap();
    let mut completion = t.encode(&format!("\n{SOLUTION}")).unwrap();
    completion.push(0);
    let weights = vec![1.0; completion.len()];
    let row = Sequence::prompt_completion(&prompt, &completion, &weights);
    let config = TrainConfig {
        steps: 1,
        batch_size: 1,
        lr: 1e-3,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(loaded.model, Examples::Sft(vec![row]), config, 0).unwrap();
    let before = trainer.evaluate().unwrap();
    let metrics = trainer.step().unwrap();
    let after = trainer.evaluate().unwrap();
    eprintln!(
        "loss {before:.4} → {after:.4}; {:.0} tokens/s",
        metrics.tokens_per_second
    );
    assert!((metrics.loss - before).abs() < 1e-4);
    assert!(after < before, "loss {before} → {after}");
}

#[test]
fn smollm2_logits_match_an_independent_numpy_forward() {
    // The numpy forward (tests/check_gguf_forward.py) dequantizes with llama.cpp's `gguf`
    // package and rotates adjacent pairs of the permuted q/k rows, as llama.cpp does: agreement
    // checks the un-permutation, the rotary convention, grouped-query attention and tying.
    let Some(python) = std::env::var_os("TRACEALIGN_TRAIN_PYTHON").filter(|p| {
        Command::new(p)
            .args(["-c", "import gguf, numpy"])
            .status()
            .is_ok_and(|s| s.success())
    }) else {
        eprintln!("skipped: TRACEALIGN_TRAIN_PYTHON is not a Python with `gguf` and `numpy`");
        return;
    };
    let Some(path) = gguf() else { return };
    let loaded = load_model(&path, None, &Device::Cpu).unwrap();
    let ids = loaded
        .tokenizer
        .encode("def add(a, b):\n    return")
        .unwrap();
    let input = candle_core::Tensor::new(ids.as_slice(), &Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    let logits = loaded.model.forward(&input).unwrap().squeeze(0).unwrap();
    let last = logits.get(ids.len() - 1).unwrap().to_vec1::<f32>().unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/check_gguf_forward.py");
    let output = Command::new(python)
        .arg(script)
        .arg(&path)
        .args(ids.iter().map(|i| i.to_string()))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let top: Vec<(usize, f64)> = serde_json::from_slice(&output.stdout).unwrap();
    let ours = last
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .unwrap();
    assert_eq!(ours, top[0].0, "greedy token differs");
    let mut worst: f64 = 0.0;
    for (id, value) in top {
        let diff = (last[id] as f64 - value).abs();
        worst = worst.max(diff);
        assert!(
            diff < 1e-3 * value.abs().max(1.0),
            "token {id}: {} vs numpy {value}",
            last[id]
        );
    }
    eprintln!("largest difference over the top-10 logits: {worst:.2e}");
}
