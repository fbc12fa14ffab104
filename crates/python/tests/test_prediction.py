"""Execution prediction as an RL reward: :class:`tracealign.rewards.PredictionReward` judges
completions by running them (the checker of ``tracealign eval --task``), on CRUXEval records,
on ``tracealign build traced`` rows loaded with Hugging Face ``datasets``, and inside a real
TRL GRPOTrainer on a tiny random model. With TRACEALIGN_REQUIRE_TRL=1 (CI) a missing TRL
fails instead of skipping."""

import json
import os
import subprocess

import pytest

from tracealign.rewards import PredictionReward

REQUIRED = os.environ.get("TRACEALIGN_REQUIRE_TRL") == "1"
CRUX = [
    {"id": "double", "code": "def f(x):\n    return x * 2\n", "input": "21", "output": "42"},
    {"id": "pair", "code": "def f(s):\n    return (s[::-1], len(s))\n", "input": "'ab'", "output": "('ba', 2)"},
]


def columns(rows):
    return {key: [row[key] for row in rows] for key in rows[0]}


def test_cruxeval_records_are_judged_by_running_the_answers():
    rows = [CRUX[0], CRUX[0], CRUX[0], CRUX[1], CRUX[1]]
    completions = [
        " 42\n\nBecause 21 * 2 is 42.",
        "42.0",  # a float is not the int the call returns
        "print('[true]') or __import__('os')._exit(0)",  # nothing in an answer runs
        "```python\n('ba', 2)\n```",
        "('ab', 2)",
    ]
    reward = PredictionReward()
    assert reward(prompts=[""] * 5, completions=completions, **columns(rows)) == [1.0, 0.0, 0.0, 1.0, 0.0]
    # Conversational completions: the last message is the model's.
    chat = [[{"role": "assistant", "content": "42"}]]
    assert reward(prompts=[[]], completions=chat, **columns([CRUX[0]])) == [1.0]


def test_build_traced_rows_from_datasets_get_full_and_partial_credit(tmp_path):
    try:
        import datasets
    except ImportError as missing:  # pragma: no cover - datasets comes with TRL
        if REQUIRED:
            raise
        pytest.skip(f"datasets is not installed: {missing}")
    binary = os.environ.get("TRACEALIGN_BIN")
    if not binary:
        pytest.skip("TRACEALIGN_BIN names the tracealign binary (scripts/test sets it)")
    problem = {"id": "total", "prompt": "def total(xs):\n", "entry_point": "total",
               "reference": "def total(xs):\n    s = 0\n    for x in xs:\n        s = s + x\n    return s\n",
               "tests": [{"name": "t1", "input": [[1, 2, 3]], "expected": 6}]}
    (tmp_path / "problems.jsonl").write_text(json.dumps(problem) + "\n")
    run = [binary, "run", "-p", "problems.jsonl", "--trace", "full", "-o", "runs.jsonl", "-q"]
    subprocess.run(run, cwd=tmp_path, check=True)
    build = [binary, "build", "traced", "-p", "problems.jsonl", "--runs", "runs.jsonl",
             "--kinds", "output,input,path,state", "-o", "rows.jsonl"]
    subprocess.run(build, cwd=tmp_path, check=True, capture_output=True)
    rows = datasets.load_dataset("json", data_files=str(tmp_path / "rows.jsonl"))["train"]
    assert sorted(rows["kind"]) == ["input", "output", "path", "state"]
    cells = rows.to_dict()
    prompts = cells.pop("prompt")
    right = PredictionReward()(prompts=prompts, completions=list(cells["completion"]), **cells)
    assert right == [1.0] * 4, list(zip(rows["kind"], rows["completion"]))
    path = rows["kind"].index("path")
    wrong = list(cells["completion"])
    wrong[path] = "2, 3"  # the path's first two lines of nine
    credit = PredictionReward(partial=True)(prompts=prompts, completions=wrong, **cells)
    assert 0.0 < credit[path] < 1.0, credit
    assert PredictionReward()(prompts=prompts, completions=wrong, **cells)[path] == 0.0


def test_grpo_trainer_logs_prediction_rewards(tmp_path):
    try:
        import torch
        import trl
        from datasets import Dataset
        from tokenizers import Tokenizer, models, pre_tokenizers
        from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
    except ImportError as missing:  # pragma: no cover - depends on the environment
        if REQUIRED:
            raise
        pytest.skip(f"TRL is not installed: {missing}")
    prompt = "f(21) returns:\n"
    answers = ["42\n", "41\n", "21\n", "'42'\n", "None\n"]
    vocab = {"<pad>": 0, "<eos>": 1, **{a: i + 2 for i, a in enumerate(answers)}, prompt: len(answers) + 2}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<pad>"))
    tok.pre_tokenizer = pre_tokenizers.Split(pattern="\n", behavior="merged_with_previous")
    tok = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64,
                         pad_token_id=0, eos_token_id=1, bos_token_id=1)
    model = LlamaForCausalLM(config)
    dataset = Dataset.from_dict({"prompt": [prompt] * 8, **columns([CRUX[0]] * 8)})
    args = trl.GRPOConfig(
        output_dir=str(tmp_path / "out"), max_steps=3, per_device_train_batch_size=4, num_generations=4,
        max_completion_length=2, logging_steps=1, report_to="none", use_cpu=True, temperature=1.0,
        learning_rate=1e-3, save_strategy="no",
    )
    trainer = trl.GRPOTrainer(model=model, reward_funcs=[PredictionReward()], args=args,
                              train_dataset=dataset, processing_class=tok)
    trainer.train()
    logged = [row["rewards/tracealign_prediction/mean"] for row in trainer.state.log_history
              if "rewards/tracealign_prediction/mean" in row]
    print("prediction rewards per step:", logged)
    assert len(logged) == 3 and all(0.0 <= m <= 1.0 for m in logged)
    # A random model over five answers writes the right one now and then.
    assert any(m > 0 for m in logged), trainer.state.log_history
