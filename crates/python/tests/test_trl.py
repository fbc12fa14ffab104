"""A real TRL GRPOTrainer runs a few steps on a tiny randomly initialised Llama made here (no
model hub) with tracealign's reward function; its rewards show in the trainer's logged metrics.

The tokenizer is a word-level one over a handful of whole lines, so that a random model
writes some programs that pass and some that do not: the rewards vary, and GRPO has a
signal. With TRACEALIGN_REQUIRE_TRL=1 (CI) a missing TRL fails instead of skipping."""

import json
import os

import pytest

REQUIRED = os.environ.get("TRACEALIGN_REQUIRE_TRL") == "1"
try:
    import torch
    import trl
    from datasets import Dataset
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
except ImportError as missing:  # pragma: no cover - depends on the environment
    if REQUIRED:
        raise
    pytest.skip(f"TRL is not installed: {missing}", allow_module_level=True)

from tracealign.rewards import TrlReward

PROMPT = "def add_one(x):\n"
LINES = ["    return x + 1\n", "    return x - 1\n", "    return x\n", "    return 1 / 0\n", "    pass\n"]


def tokenizer():
    vocab = {"<pad>": 0, "<eos>": 1, **{line: i + 2 for i, line in enumerate(LINES)}, PROMPT: len(LINES) + 2}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<pad>"))
    # Each line (and the prompt) is one token: split nowhere, match whole vocabulary entries.
    tok.pre_tokenizer = pre_tokenizers.Split(pattern="\n", behavior="merged_with_previous")
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>")


def test_grpo_trainer_logs_tracealign_rewards(tmp_path):
    problems = tmp_path / "problems.jsonl"
    tests = [{"name": f"t{i}", "input": [i]} for i in range(3)]
    problems.write_text(json.dumps({"id": "add_one", "prompt": PROMPT, "entry_point": "add_one", "reference": PROMPT + LINES[0], "tests": tests}) + "\n")
    torch.manual_seed(0)
    tok = tokenizer()
    assert tok(PROMPT + LINES[0])["input_ids"] == [len(LINES) + 2, 2]
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64,
                         pad_token_id=0, eos_token_id=1, bos_token_id=1)
    model = LlamaForCausalLM(config)
    dataset = Dataset.from_dict({"prompt": [PROMPT] * 8, "task_id": ["add_one"] * 8})
    args = trl.GRPOConfig(
        output_dir=str(tmp_path / "out"), max_steps=3, per_device_train_batch_size=4, num_generations=4,
        max_completion_length=3, logging_steps=1, report_to="none", use_cpu=True, temperature=1.0,
        learning_rate=1e-3, save_strategy="no",
    )
    reward = TrlReward(str(problems), scheme="pass_ratio", jobs=2)
    trainer = trl.GRPOTrainer(model=model, reward_funcs=[reward], args=args, train_dataset=dataset, processing_class=tok)
    trainer.train()
    logged = [row for row in trainer.state.log_history if "rewards/tracealign_pass_ratio/mean" in row]
    assert len(logged) == 3, trainer.state.log_history
    means = [row["rewards/tracealign_pass_ratio/mean"] for row in logged]
    print("tracealign rewards per step:", means)
    assert all(0.0 <= m <= 1.0 for m in means)
    # A random model over five lines writes the passing one now and then: not every group is 0.
    assert any(m > 0 for m in means), trainer.state.log_history
