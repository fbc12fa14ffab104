"""A Ray Data pipeline on a local Ray cluster evaluates HumanEval samples; its verdicts and
every test's outcome equal `tracealign run`'s on the same samples.

HumanEval is read from the copy beside the repository (../shared/data, as in CI) or from
$TRACEALIGN_HUMANEVAL; `tracealign run` is $TRACEALIGN_BIN. With TRACEALIGN_REQUIRE_RAY=1 (CI)
a missing piece fails the test instead of skipping it."""

import gzip
import json
import os
import subprocess
from pathlib import Path

import pytest

REQUIRED = os.environ.get("TRACEALIGN_REQUIRE_RAY") == "1"
HUMANEVAL = Path(os.environ.get("TRACEALIGN_HUMANEVAL", Path(__file__).resolve().parents[4] / "shared/data/HumanEval.jsonl.gz"))
BIN = os.environ.get("TRACEALIGN_BIN")


def need(condition, why):
    if not condition:
        if REQUIRED:
            pytest.fail(why + " (TRACEALIGN_REQUIRE_RAY=1)")
        pytest.skip(why)


def test_ray_data_matches_tracealign_run(tmp_path):
    try:
        import ray
    except ImportError:
        ray = None
    need(ray is not None, "ray is not installed (pip install 'ray[data]')")
    need(HUMANEVAL.exists(), f"{HUMANEVAL} is not present")
    need(BIN is not None and Path(BIN).exists(), "TRACEALIGN_BIN does not name the tracealign binary")
    from tracealign.ray import EvaluateBatch

    with gzip.open(HUMANEVAL, "rt") as f:
        problems = [json.loads(line) for line in f][:24]
    # Half the canonical bodies, half a body that returns nothing: both verdicts occur.
    rows = [
        {"task_id": p["task_id"], "completion": p["canonical_solution"] if i % 2 == 0 else "    return None\n"}
        for i, p in enumerate(problems)
    ]
    subset = tmp_path / "problems.jsonl"
    subset.write_text("".join(json.dumps(p) + "\n" for p in problems))
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    subprocess.run([BIN, "run", "-p", str(subset), "-s", str(samples), "-o", str(tmp_path / "runs.jsonl"), "-q", "-j", "2"], check=True)
    expected = {}
    for line in (tmp_path / "runs.jsonl").read_text().splitlines():
        run = json.loads(line)
        expected[run["problem_id"]] = (run["passed"], [t["outcome"] for t in run["tests"]])

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        ds = ray.data.from_items(rows).map_batches(
            EvaluateBatch,
            fn_constructor_kwargs={"problems": str(subset), "format": "completion"},
            concurrency=2,
            batch_size=6,
        )
        got = {r["task_id"]: (bool(r["passed"]), json.loads(r["outcomes"])) for r in ds.take_all()}
    finally:
        ray.shutdown()
    assert got == expected
    assert sum(v[0] for v in got.values()) >= 10  # the canonical half passes
