"""The trainer adapters, called the way their trainers call them (TRL's GRPOTrainer passes
``prompts``, ``completions``, ``completion_ids`` and the dataset's columns as keywords; verl
calls ``compute_score(data_source, solution_str, ground_truth, extra_info)``)."""

import asyncio
import json

import pytest

from tracealign.rewards import AsyncTrlReward, TrlReward, verl_compute_score

REFERENCE = "def total_positive(xs):\n    total = 0\n    for x in xs:\n        if x > 0:\n            total += x\n    return total\n"
BUG = REFERENCE.replace("x > 0", "x > 1")
PROMPT = "def total_positive(xs):\n    \"\"\"Sum of the positive numbers in xs.\"\"\"\n"


@pytest.fixture(scope="module")
def problems(tmp_path_factory):
    path = tmp_path_factory.mktemp("problems") / "problems.jsonl"
    tests = [{"name": f"t{i}", "input": json.loads(a)} for i, a in enumerate(["[[1, 2, 3]]", "[[-1, 5]]", "[[]]", "[[4, -4, 4]]"])]
    path.write_text(json.dumps({"id": "sum", "prompt": PROMPT, "entry_point": "total_positive", "reference": REFERENCE, "tests": tests}) + "\n")
    return str(path)


def test_trl_reward_with_grpo_calling_convention(problems):
    reward = TrlReward(problems, scheme="pass_ratio", jobs=2)
    assert reward.__name__ == "tracealign_pass_ratio"
    completions = ["    return sum(x for x in xs if x > 0)\n", BUG, "    return 0\n"]
    values = reward(prompts=[PROMPT] * 3, completions=completions, completion_ids=[[1], [2], [3]], task_id=["sum", "sum", None])
    assert values[0] == 1.0
    assert values[1] == pytest.approx(0.75)
    assert values[2] is None  # a row without a problem id is not applicable


def test_trl_reward_on_conversational_completions(problems):
    reward = TrlReward(problems, scheme="binary")
    reply = [{"role": "assistant", "content": "```python\n" + REFERENCE + "```"}]
    assert reward(prompts=[[{"role": "user", "content": PROMPT}]], completions=[reply], task_id=["sum"]) == [1.0]


def test_async_trl_reward(problems):
    reward = AsyncTrlReward(problems, scheme="binary")
    values = asyncio.run(reward(prompts=[PROMPT, PROMPT], completions=[REFERENCE, BUG], task_id=["sum", "sum"]))
    assert values == [1.0, 0.0]


def test_trl_reward_names_a_missing_column(problems):
    with pytest.raises(KeyError, match="no `task_id` column"):
        TrlReward(problems)(prompts=[PROMPT], completions=[REFERENCE])
    with pytest.raises(ValueError, match="unknown scheme"):
        TrlReward(problems, scheme="fait")


def test_verl_compute_score(problems, monkeypatch):
    monkeypatch.setenv("TRACEALIGN_PROBLEMS", problems)
    assert verl_compute_score("tracealign", REFERENCE, "sum") == 1.0
    assert verl_compute_score("tracealign", BUG, "sum", {"scheme": "rltf"}) == pytest.approx(-0.3)
