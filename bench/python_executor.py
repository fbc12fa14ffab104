#!/usr/bin/env python3
"""Throughput of `tracealign.Executor.evaluate` from Python against `tracealign run`.

The same programs (each HumanEval problem's canonical solution, prompt + body) run:
- `run`: `tracealign run -p PROBLEMS -s samples.jsonl` (a process per round, so its time
  includes starting workers and preparing problems, read from the prepared cache);
- `python`: one `Executor.evaluate` call with every program (the executor started and the
  problems prepared once, before timing: an RL loop holds one executor for its whole run);
- `python-8-threads`: eight threads each evaluating an eighth of the programs at once on the
  same executor (the GIL is released while programs run, so this should be no slower);
- for a like-for-like with `run`, `python-cold`: starting the executor and evaluating;
- with `--ray`, `ray-2-actors`: Ray Data's `map_batches` with two actors, each holding an
  executor of one worker (`tracealign.ray.EvaluateBatch`), timed on a second pass (each pass
  starts its actors, executors included: compare with `python-cold`).

Rounds alternate the modes so that drift in machine load affects all alike; medians are
reported with each mode's ratio to `run`. Every mode must pass every program (the canonical
solutions pass), else the script fails.

    python3 bench/python_executor.py --problems ../shared/data/HumanEval.jsonl.gz \\
        --tracealign target/release/tracealign --python target/python-venv/bin/python

Writes OUT/python_executor.{md,json} (OUT defaults to bench/results) and prints the table.
Needs the `tracealign` package installed in --python's environment (pip install ./crates/python).
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

# Runs inside --python's interpreter: times the modes there and prints JSON.
WORKER = r"""
import json, sys, time, threading
from tracealign import Executor
problems, samples_path, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
samples = [json.loads(l) for l in open(samples_path)]
codes = [s["code"] for s in samples]
ids = [s["problem_id"] for s in samples]
out = {}
t = time.monotonic(); ex = Executor(problems, jobs=jobs); runs = ex.evaluate(codes, ids, format="program")
out["python-cold"] = (time.monotonic() - t, sum(r["passed"] for r in runs))
t = time.monotonic(); runs = ex.evaluate(codes, ids, format="program")
out["python"] = (time.monotonic() - t, sum(r["passed"] for r in runs))
parts = [list(range(i, len(codes), 8)) for i in range(8)]
results = [None] * 8
def call(k):
    results[k] = ex.evaluate([codes[i] for i in parts[k]], [ids[i] for i in parts[k]], format="program")
threads = [threading.Thread(target=call, args=(k,)) for k in range(8)]
t = time.monotonic()
for th in threads: th.start()
for th in threads: th.join()
out["python-8-threads"] = (time.monotonic() - t, sum(r["passed"] for rs in results for r in rs))
print(json.dumps(out))
"""


# Ray Data with two actors, each holding one executor of one worker (2 cores in all).
RAY_WORKER = r"""
import json, sys, time
import ray
from tracealign.ray import EvaluateBatch
problems, samples_path = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(samples_path)]
items = [{"task_id": r["problem_id"], "completion": r["code"]} for r in rows]
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
def once():
    ds = ray.data.from_items(items).map_batches(EvaluateBatch, concurrency=2, batch_size=16,
        fn_constructor_kwargs={"problems": problems, "format": "program", "jobs": 1})
    t = time.monotonic(); out = ds.take_all()
    return time.monotonic() - t, sum(bool(r["passed"]) for r in out)
once()  # warms Ray's worker processes; each pass starts its own actors (their executors' start is timed)
print(json.dumps({"ray-2-actors": once()}))
ray.shutdown()
"""


def read_problems(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        return [json.loads(line) for line in f if line.strip()]


def time_run(tracealign: str, problems: Path, samples: Path, out: Path, jobs: int) -> tuple[float, int]:
    import time

    out.unlink(missing_ok=True)
    started = time.monotonic()
    subprocess.run(
        [tracealign, "run", "-p", str(problems), "-s", str(samples), "-o", str(out), "-q", "-j", str(jobs)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    elapsed = time.monotonic() - started
    passed = sum(json.loads(l)["passed"] for l in out.read_text().splitlines() if l.strip())
    return elapsed, passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=Path, required=True)
    parser.add_argument("--tracealign", default="target/release/tracealign")
    parser.add_argument("--python", default=sys.executable, help="an interpreter with the tracealign package")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--ray", action="store_true", help="also Ray Data with 2 actors (needs ray[data])")
    args = parser.parse_args()

    problems = read_problems(args.problems)
    work = Path(tempfile.mkdtemp(prefix="tracealign-pybench-"))
    samples = work / "samples.jsonl"
    with samples.open("w") as f:
        for p in problems:
            code = p["prompt"] + p["canonical_solution"]
            f.write(json.dumps({"problem_id": p["task_id"], "sample_id": p["task_id"] + "#0", "code": code}) + "\n")
    n = len(problems)
    times: dict[str, list[float]] = {}
    time_run(args.tracealign, args.problems, samples, work / "warm.jsonl", args.jobs)  # warms the prepared cache
    for _ in range(args.rounds):
        elapsed, passed = time_run(args.tracealign, args.problems, samples, work / "runs.jsonl", args.jobs)
        assert passed == n, f"run: {passed} of {n} passed"
        times.setdefault("run", []).append(elapsed)
        worker = subprocess.run(
            [args.python, "-c", WORKER, str(args.problems), str(samples), str(args.jobs)],
            check=True, capture_output=True, text=True,
        )
        measured = json.loads(worker.stdout)
        if args.ray:
            ray_run = subprocess.run(
                [args.python, "-c", RAY_WORKER, str(args.problems), str(samples)],
                check=True, capture_output=True, text=True,
            )
            measured.update(json.loads(ray_run.stdout.strip().splitlines()[-1]))
        for mode, (elapsed, passed) in measured.items():
            assert passed == n, f"{mode}: {passed} of {n} passed"
            times.setdefault(mode, []).append(elapsed)

    base = statistics.median(times["run"])
    rows = []
    for mode in [m for m in ["run", "python-cold", "python", "python-8-threads", "ray-2-actors"] if m in times]:
        median = statistics.median(times[mode])
        rows.append({"mode": mode, "median_s": median, "samples_per_s": n / median, "vs_run": base / median})
    table = [f"{n} programs (HumanEval canonical solutions), {args.jobs} workers, median of {args.rounds} rounds", "",
             "| mode | median s | samples/s | throughput vs `run` |", "|---|---:|---:|---:|"]
    table += [f"| {r['mode']} | {r['median_s']:.2f} | {r['samples_per_s']:.1f} | {r['vs_run']:.2f}× |" for r in rows]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "python_executor.md").write_text("\n".join(table) + "\n")
    (args.out / "python_executor.json").write_text(json.dumps({"rows": rows, "times": times}, indent=2) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
