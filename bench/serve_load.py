#!/usr/bin/env python3
"""Load benchmark of `tracealign serve` (loopback only, bounded in requests and time).

In one run, on HumanEval's 164 canonical solutions (prompt + canonical solution, a
known-correct whole program, against HumanEval's base tests):

1. `tracealign run` on the same samples: whole-command and samples-phase samples/s.
2. `/v1/evaluate`, one request per problem and in batches of 16, at 1x, 2x and 8x cores
   concurrency: samples/s, p50/p99 request latency, errors.
3. `/run_code` the way verl calls it: one request per test (the solution, the test module and
   one assert of `check`, with the statements before it), and one whole program per request
   (solution + test + `check(entry_point)`), at the same concurrencies.
4. Past the queue bound: a server with `--queue 4` hit by 32 concurrent requests answers
   429 (with Retry-After), never a failure.

Every phase stops after --max-seconds; the server is stopped with SIGTERM. Results go to
OUT/serve_load.{md,json} and the table is printed. Only the standard library is needed.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def load_humaneval(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as file:
        return [json.loads(line) for line in file if line.strip()]


def per_test_programs(task: dict) -> list[str]:
    """One program per assert of `check`: solution, test module, the statements of `check`
    before the assert, then the assert (with `candidate` bound to the entry point)."""
    solution = task["prompt"] + task["canonical_solution"]
    module = ast.parse(task["test"])
    check = next(n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == "check")
    programs, before = [], []
    for statement in check.body:
        source = ast.get_source_segment(task["test"], statement)
        if isinstance(statement, ast.Assert):
            body = "\n".join(before + [source])
            programs.append(f"{solution}\n{task['test']}\ncandidate = {task['entry_point']}\n{body}\n")
        else:
            before.append(source)
    return programs


def whole_program(task: dict) -> str:
    return f"{task['prompt']}{task['canonical_solution']}\n{task['test']}\ncheck({task['entry_point']})\n"


def post(url: str, body: dict, timeout: float = 120.0) -> tuple[int, dict, float]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.load(response)
            return response.status, answer, time.perf_counter() - started
    except urllib.error.HTTPError as error:
        return error.code, {"retry_after": error.headers.get("Retry-After")}, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def load(url: str, bodies: list[dict], concurrency: int, ok, max_seconds: float) -> dict:
    """Sends `bodies` with `concurrency` clients; `ok(status, answer)` says a success."""
    deadline = time.monotonic() + max_seconds
    latencies, errors, refused, sent = [], 0, 0, 0

    def one(body):
        if time.monotonic() > deadline:
            return None
        return post(url, body)

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        for result in pool.map(one, bodies):
            if result is None:
                continue
            status, answer, seconds = result
            sent += 1
            latencies.append(seconds)
            refused += status == 429
            errors += status != 429 and not ok(status, answer)
    wall = time.perf_counter() - started
    return {"requests": sent, "wall_s": wall, "rps": sent / wall if wall else 0.0,
            "p50_ms": 1000 * percentile(latencies, 0.5), "p99_ms": 1000 * percentile(latencies, 0.99),
            "errors": errors, "429": refused, "complete": sent == len(bodies)}


def start_server(binary: Path, problems: Path, cache: Path, jobs: int, queue: int) -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen(
        [str(binary), "serve", "--addr", "127.0.0.1:0", "-p", str(problems), "--cache-dir", str(cache),
         "--jobs", str(jobs), "--queue", str(queue)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = server.stdout.readline()
    found = re.search(r"listening on (http://\S+)", line)
    if not found:
        server.kill()
        sys.exit(f"the server did not start: {line!r}")
    return server, found.group(1)


def stop(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()


def tracealign_run(binary: Path, problems: Path, samples: Path, out: Path, cache: Path, jobs: int) -> dict:
    summary = out / "run_summary.json"
    started = time.perf_counter()
    subprocess.run([str(binary), "run", "-p", str(problems), "-s", str(samples), "-o", str(out / "runs.jsonl"),
                    "--force", "-q", "--jobs", str(jobs), "--cache-dir", str(cache), "--summary-json", str(summary)],
                   check=True, stdout=subprocess.DEVNULL, timeout=900)
    wall = time.perf_counter() - started
    return {"wall_s": wall, "summary": json.loads(summary.read_text())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--humaneval", type=Path, default=Path("/work/shared/data/HumanEval.jsonl.gz"))
    parser.add_argument("--bin", type=Path, default=REPO_ROOT / "target/release/tracealign")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "target/bench/serve_load")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="per phase")
    parser.add_argument("--multipliers", default="1,2,8", help="concurrency as multiples of the cores")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    tasks = load_humaneval(args.humaneval)
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict = {"cores": cores, "problems": len(tasks)}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        problems = tmp / "HumanEval.jsonl"
        problems.write_text("".join(json.dumps(t) + "\n" for t in tasks))
        samples = tmp / "samples.jsonl"
        samples.write_text("".join(json.dumps({"task_id": t["task_id"], "solution": t["prompt"] + t["canonical_solution"]}) + "\n" for t in tasks))
        cache = tmp / "cache"
        run = tracealign_run(args.bin, problems, samples, tmp, cache, cores)
        run = tracealign_run(args.bin, problems, samples, tmp, cache, cores)  # cache warm, as the server's is
        results["tracealign_run"] = run
        server, base = start_server(args.bin, problems, cache, cores, queue=4096)
        try:
            singles = [{"samples": [{"problem_id": t["task_id"], "code": t["prompt"] + t["canonical_solution"]}]} for t in tasks]
            batches = [{"samples": [s["samples"][0] for s in singles[i:i + 16]]} for i in range(0, len(singles), 16)]
            per_test = [{"code": code, "language": "python", "run_timeout": 20, "memory_limit_MB": 1024}
                        for t in tasks for code in per_test_programs(t)]
            whole = [{"code": whole_program(t), "language": "python", "run_timeout": 20} for t in tasks]
            all_passed = lambda status, answer: status == 200 and answer.get("passed") == answer.get("total")
            success = lambda status, answer: status == 200 and answer.get("status") == "Success"
            phases = [("/v1/evaluate, 1 per request", "/v1/evaluate", singles, all_passed, 1),
                      ("/v1/evaluate, 16 per request", "/v1/evaluate", batches, all_passed, 16),
                      ("/run_code, 1 test per request (verl)", "/run_code", per_test, success, 1),
                      ("/run_code, 1 program per request", "/run_code", whole, success, 1)]
            results["phases"] = []
            for name, path, bodies, ok, per_request in phases:
                for multiplier in [int(m) for m in args.multipliers.split(",")]:
                    measured = load(base + path, bodies, multiplier * cores, ok, args.max_seconds)
                    measured.update(name=name, concurrency=multiplier * cores, units_per_s=measured["rps"] * per_request)
                    results["phases"].append(measured)
                    print(f"{name:42} c={multiplier * cores:3} {measured['units_per_s']:8.1f}/s p50 {measured['p50_ms']:7.1f} ms "
                          f"p99 {measured['p99_ms']:7.1f} ms errors {measured['errors']} 429 {measured['429']}", flush=True)
        finally:
            stop(server)
        server, base = start_server(args.bin, problems, cache, cores, queue=4)
        try:
            sleepy = [{"code": "import time\ntime.sleep(0.3)", "language": "python"}] * 32
            burst = load(base + "/run_code", sleepy, 32, success, args.max_seconds)
            results["burst_over_queue_4"] = burst
        finally:
            stop(server)
    write(results, args.out)


def write(results: dict, out: Path) -> None:
    run = results["tracealign_run"]
    samples = run["summary"].get("samples") or results["problems"]
    lines = [f"# tracealign serve under load ({results['cores']} cores, HumanEval canonical solutions)", "",
             f"`tracealign run` (cache warm): {samples / run['wall_s']:.1f} samples/s whole command; summary: "
             f"`{json.dumps({k: v for k, v in run['summary'].items() if 'second' in k or 'rate' in k or k.endswith('_s')})}`", "",
             "| what | concurrency | per second | p50 ms | p99 ms | errors | 429 | all sent |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for p in results.get("phases", []):
        lines.append(f"| {p['name']} | {p['concurrency']} | {p['units_per_s']:.1f} | {p['p50_ms']:.1f} | {p['p99_ms']:.1f} | "
                     f"{p['errors']} | {p['429']} | {p['complete']} |")
    b = results["burst_over_queue_4"]
    lines += ["", f"Over the queue bound (`--queue 4`, 32 concurrent sleeps of 0.3 s): {b['requests']} requests, "
              f"{b['429']} answered 429, {b['errors']} errors."]
    text = "\n".join(lines) + "\n"
    (out / "serve_load.md").write_text(text)
    (out / "serve_load.json").write_text(json.dumps(results, indent=2))
    print(text)


if __name__ == "__main__":
    main()
