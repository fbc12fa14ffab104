"""The Python API on real executions: real Python programs run by tracealign's workers."""

import asyncio
import json
import threading

import pytest

from tracealign import Executor, reward

REFERENCE = "def total_positive(xs):\n    total = 0\n    for x in xs:\n        if x > 0:\n            total += x\n    return total\n"
PROBLEM = {
    "id": "sum",
    "prompt": "def total_positive(xs):\n    \"\"\"Sum of the positive numbers in xs.\"\"\"\n",
    "entry_point": "total_positive",
    "reference": REFERENCE,
    "tests": [
        {"name": f"t{i}", "input": json.loads(args)}
        for i, args in enumerate(["[[1, 2, 3]]", "[[-1, 5]]", "[[]]", "[[4, -4, 4]]"])
    ],
}
BUG = REFERENCE.replace("x > 0", "x > 1")


@pytest.fixture(scope="module")
def executor():
    return Executor([PROBLEM], jobs=2)


def test_evaluate_returns_a_record_per_completion_in_order(executor):
    body = "    return sum(x for x in xs if x > 0)\n"
    runs = executor.evaluate([REFERENCE, BUG, body], ["sum", "sum", "sum"])
    assert [r["sample_id"] for r in runs] == ["sum#0", "sum#1", "sum#2"]
    assert [r["passed"] for r in runs] == [True, False, True]
    # The bug fails exactly the tests where 1 is counted: [1, 2, 3] and nothing else.
    assert [t["outcome"] for t in runs[1]["tests"]] == ["failed", "passed", "passed", "passed"]
    assert runs[1]["tests"][0]["actual"] == "5"
    # A body-only completion was put after the prompt.
    assert runs[2]["code"].startswith(PROBLEM["prompt"])


def test_scalar_rewards(executor):
    runs = executor.evaluate([REFERENCE, BUG, "def total_positive(xs):\n    return xs[10]\n"], ["sum"] * 3)
    assert reward(runs[0], "binary") == 1.0
    assert reward(runs[1], "binary") == 0.0
    assert reward(runs[1], "pass_ratio") == pytest.approx(0.75)
    assert reward(runs[2], "rltf") == pytest.approx(-0.6)
    assert executor.rewards([REFERENCE, BUG], ["sum", "sum"], "adaptive") == pytest.approx([1.0, -0.3 + 1.3 * 0.75])


def test_chat_replies_and_hostile_programs(executor):
    reply = "Here you go:\n```python\n" + REFERENCE + "```\nIt sums the positives."
    bomb = "import os\ndef total_positive(xs):\n    while True:\n        os.fork()\n"
    runs = executor.evaluate([reply, bomb, REFERENCE], ["sum"] * 3)
    assert runs[0]["passed"] and runs[2]["passed"]
    assert not runs[1]["passed"]


def test_localize_points_at_the_faulty_line():
    traced = Executor([PROBLEM], jobs=2, trace=True)
    runs = traced.evaluate([BUG, REFERENCE], ["sum", "sum"])
    reports = traced.localize(runs)
    assert len(reports) == 2
    lines = sorted(reports[0]["lines"], key=lambda l: -l["score"])
    assert lines[0]["line"] == 4  # `if x > 1:`


def test_threads_share_one_executor(executor):
    results = [None] * 4

    def call(i):
        results[i] = executor.evaluate([REFERENCE, BUG], ["sum", "sum"])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all([r["passed"] for r in runs] == [True, False] for runs in results)


def test_async_evaluate(executor):
    async def main():
        return await asyncio.gather(*(executor.aevaluate([REFERENCE], ["sum"]) for _ in range(3)))

    for runs in asyncio.run(main()):
        assert runs[0]["passed"]


def test_bad_input_is_a_python_exception(executor, tmp_path):
    with pytest.raises(ValueError, match="unknown problem `nope`"):
        executor.evaluate([REFERENCE], ["nope"])
    with pytest.raises(ValueError, match="2 completions but 1 problem ids"):
        executor.evaluate([REFERENCE, BUG], ["sum"])
    with pytest.raises(ValueError, match="share the sample id"):
        executor.evaluate([REFERENCE, BUG], ["sum", "sum"], sample_ids=["a", "a"])
    with pytest.raises(ValueError, match="dense scheme"):
        reward(executor.evaluate([REFERENCE], ["sum"])[0], "fault_penalty")
    bad = tmp_path / "problems.jsonl"
    bad.write_text('{"id": "a"}\n{not json\n')
    with pytest.raises(ValueError, match="problems.jsonl"):
        Executor(bad)
    with pytest.raises(ValueError):
        Executor(tmp_path / "missing.jsonl")


def test_dense_rewards_fall_on_the_faulty_tokens():
    from tracealign import dense_rewards

    traced = Executor([PROBLEM], jobs=2, trace=True)
    body = "    total = 0\n    for x in xs:\n        if x > 1:\n            total += x\n    return total\n"
    run = traced.evaluate([body], ["sum"], format="completion")[0]
    report = traced.localize([run])[0]
    # Tokens: one per word of the completion, as (start, end) character offsets.
    offsets, at = [], 0
    for word in body.split(" "):
        offsets.append((at, at + len(word)))
        at += len(word) + 1
    dense = dense_rewards(run, report, text=body, offsets=offsets)
    assert len(dense.tokens) == len(offsets) and dense.tokens.dtype == "float64"
    assert len(dense.chars) == len(run["code"])
    worst = min(range(len(offsets)), key=lambda i: dense.tokens[i])
    faulty = body.index("if x > 1:")
    assert faulty <= offsets[worst][0] < faulty + len("if x > 1:"), body[offsets[worst][0]:offsets[worst][1]]
    assert dense.lines[run["code"].splitlines().index("        if x > 1:")] == min(dense.lines)
    passing = traced.evaluate([REFERENCE], ["sum"])[0]
    assert set(dense_rewards(passing, traced.localize([passing])[0]).chars) == {0.0}
    with pytest.raises(ValueError, match="needs|fault report"):
        dense_rewards(run, None)


def test_render_trace_in_every_style():
    traced = Executor([PROBLEM], jobs=2, trace=True)
    bug, ok = traced.evaluate([BUG, REFERENCE], ["sum", "sum"])
    for style in ("lines", "blocks", "inline", "summary"):
        text = traced.render_trace(bug, style)
        assert "expected 6, got 5" in text, (style, text)
    assert len(traced.render_trace(bug, "lines", budget=40)) < len(traced.render_trace(bug, "lines"))
    assert traced.render_trace(ok) is None
    with pytest.raises(ValueError):
        traced.render_trace(bug, "fancy")


class WordTokenizer:
    """A stand-in with the one method dense_rewards needs: decode(ids), words joined by spaces."""

    def __init__(self, words):
        self.words = words

    def decode(self, ids):
        return " ".join(self.words[i] for i in ids)


def test_divergence_span_and_token_ids():
    from tracealign import dense_rewards

    traced = Executor([PROBLEM], jobs=2, trace=True)
    body = "    total = 0\n    for x in xs:\n        if x > 1:\n            total += x\n    return total\n"
    run = traced.evaluate([body], ["sum"], format="completion")[0]
    span = traced.divergence(run)
    assert span["line"] == run["code"].splitlines().index("        if x > 1:") + 1
    assert run["code"][span["start"]:span["end"]] == "        if x > 1:"
    assert span["test"] == "t0" and span["divergence"]["reason"]
    assert traced.divergence(traced.evaluate([REFERENCE], ["sum"])[0]) is None
    # Token ids and their tokenizer instead of offsets: the same per-token values.
    words = body.split(" ")
    tok = WordTokenizer(words)
    ids = list(range(len(words)))
    report = traced.localize([run])[0]
    by_ids = dense_rewards(run, report, token_ids=ids, tokenizer=tok)
    assert len(by_ids.tokens) == len(ids)
    worst = min(ids, key=lambda i: by_ids.tokens[i])
    assert words[worst] in ("if", "x", ">", "1:\n"), words[worst]


def test_training_rows_from_python_objects():
    traced = Executor([PROBLEM], jobs=2, trace=True)
    ok = REFERENCE.replace("x > 0", "x >= 1")
    runs = traced.evaluate([REFERENCE, ok, BUG], ["sum"] * 3)
    reports = traced.localize(runs)
    sft, summary = traced.build_rows("sft", runs, reports)
    assert len(sft) == 2 and "SFT rows" in summary
    weighted = [r for r in sft if r["contrast"] == "failing"]
    assert weighted and max(weighted[0]["weights"]) > 1.0  # FAIT weights where ok and BUG differ
    dpo, _ = traced.build_rows("dpo", runs, reports)
    assert dpo and all(r["rejected_id"] == "sum#2" and r["chosen_id"] in ("sum#0", "sum#1") for r in dpo)
    repair, _ = traced.build_rows("repair", runs, reports)
    assert repair and all(r["sample_id"] == "sum#2" for r in repair)
    with pytest.raises(ValueError, match="unknown row kind"):
        traced.build_rows("kto", runs, reports)
