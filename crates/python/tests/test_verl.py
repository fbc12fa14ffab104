"""verl: the token-level reward manager on a real verl ``DataProto`` (verl 0.9 installed
without its training stack: DataProto needs torch, tensordict and numpy). Each response is
tokenized by a word-level tokenizer whose tokens are whole lines, so the per-token rewards
are per line, and the most negative one must be the faulty line. With
TRACEALIGN_REQUIRE_VERL=1 (CI) a missing verl fails instead of skipping."""

import json
import os

import pytest

REQUIRED = os.environ.get("TRACEALIGN_REQUIRE_VERL") == "1"
try:
    import numpy as np
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    from verl import DataProto
except ImportError as missing:  # pragma: no cover - depends on the environment
    if REQUIRED:
        raise
    pytest.skip(f"verl is not installed: {missing}", allow_module_level=True)

from tracealign.verl import TokenRewardManager

PROMPT = "def total_positive(xs):\n"
BODY_OK = ["    total = 0\n", "    for x in xs:\n", "        if x > 0:\n", "            total += x\n", "    return total\n"]
BODY_BUG = [line.replace("x > 0", "x > 1") for line in BODY_OK]


def tokenizer():
    lines = sorted(set(BODY_OK + BODY_BUG + [PROMPT]))
    vocab = {"<pad>": 0, "<eos>": 1, **{line: i + 2 for i, line in enumerate(lines)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<pad>"))
    tok.pre_tokenizer = pre_tokenizers.Split(pattern="\n", behavior="merged_with_previous")
    tok.decoder = decoders.Fuse()  # tokens are whole lines: joined as they are, no spaces
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>")


def batch(tmp_path):
    """A problem file, the tokenizer, and a DataProto of two responses: the bug, then the
    correct body, right-padded to 7 tokens."""
    tests = [{"name": f"t{i}", "input": json.loads(a)} for i, a in enumerate(["[[1, 2, 3]]", "[[-1, 5]]", "[[]]", "[[4, -4, 4]]"])]
    problems = tmp_path / "problems.jsonl"
    problems.write_text(json.dumps({"id": "sum", "prompt": PROMPT, "entry_point": "total_positive", "reference": PROMPT + "".join(BODY_OK), "tests": tests}) + "\n")
    tok = tokenizer()
    width = 7
    prompt_ids = torch.tensor([tok(PROMPT)["input_ids"]] * 2)
    rows = [tok("".join(BODY_BUG))["input_ids"], tok("".join(BODY_OK))["input_ids"]]
    assert [len(r) for r in rows] == [5, 5]
    responses = torch.tensor([r + [0] * (width - len(r)) for r in rows])
    mask = torch.cat([torch.ones_like(prompt_ids), (responses != 0).long()], dim=1)
    data = DataProto.from_dict(
        tensors={"prompts": prompt_ids, "responses": responses, "attention_mask": mask},
        non_tensors={"data_source": np.array(["tracealign"] * 2, dtype=object),
                     "reward_model": np.array([{"ground_truth": "sum"}] * 2, dtype=object)},
    )
    return problems, tok, data, responses


def test_token_rewards_land_on_the_faulty_line(tmp_path):
    problems, tok, data, responses = batch(tmp_path)
    manager = TokenRewardManager(tok, 0, problems=str(problems), scheme="pass_ratio", jobs=2)
    out = manager(data, return_dict=True)
    rewards = out["reward_tensor"]
    assert rewards.shape == responses.shape and rewards.dtype == torch.float32
    assert out["reward_extra_info"]["tracealign_passed"] == [False, True]
    bug, ok = rewards[0].tolist(), rewards[1].tolist()
    # The bug: the most negative token is its faulty `if x > 1:` line (token 2); the scalar
    # pass ratio (3 of 4 tests) is added on its last token; padding stays 0.
    assert min(range(5), key=lambda k: bug[k]) == 2, bug
    assert bug[2] < 0
    assert bug[5:] == [0.0, 0.0]
    # The correct program: only its scalar reward, on its last token.
    assert ok == [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]


def test_verls_own_manager_calls_compute_score(tmp_path, monkeypatch):
    """verl's NaiveRewardManager with tracealign's compute_score: the pass ratio on each
    response's last token (3 of 4 tests for the bug, all for the correct body)."""
    from verl.workers.reward_manager.naive import NaiveRewardManager

    from tracealign.rewards import verl_compute_score

    problems, tok, data, _ = batch(tmp_path)
    monkeypatch.setenv("TRACEALIGN_PROBLEMS", str(problems))
    rewards = NaiveRewardManager(tok, 0, compute_score=verl_compute_score)(data)
    assert rewards[0].tolist() == pytest.approx([0, 0, 0, 0, 0.75, 0, 0])
    assert rewards[1].tolist() == pytest.approx([0, 0, 0, 0, 1.0, 0, 0])
