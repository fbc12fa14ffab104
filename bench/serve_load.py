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
5. Two replicas behind nginx (loopback; each replica with half the cores' workers, so the
   machine runs as many workers as in 2-3): aggregate throughput of `/run_code` (one program
   per request) and `/v1/evaluate` (one per request), and how the requests were shared.
   Skipped, saying so, where nginx is not installed (`apt-get install nginx`).

Every row also gives the CPU time spent per request by the server (its process and every
descendant: workers and the jobs they forked, from /proc) and by this client (its own
process), so where the time goes is visible. With `--baseline-bin OLD`, phases 2-3 run on
both binaries, alternating which goes first, and each row gets the baseline's rate and the
ratio new/baseline: compare only within one run (the machine's load changes between runs).

Clients open one connection per request, as verl's `requests.post` does (the "kept connections"
phase keeps one per client, as a `requests.Session` does). Every phase stops
after --max-seconds; servers and nginx are stopped with SIGTERM/SIGQUIT (then killed after a
bounded wait). Results go to OUT/serve_load.{md,json} and the table is printed. Only the
standard library is needed.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import gzip
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
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


_kept = threading.local()  # each client thread's kept connection, for --keep-alive phases


def post(base: str, path: str, body: bytes, timeout: float = 120.0, keep: bool = False) -> tuple[int, dict, float]:
    """One POST, on a connection of its own (as `requests.post` without a session), or with
    `keep` on this thread's kept connection (as a `requests.Session` or `httpx.Client`)."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    started = time.perf_counter()
    connection = getattr(_kept, base, None) if keep else None
    if connection is None:
        connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
        if keep:
            setattr(_kept, base, connection)
    try:
        connection.request("POST", path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        data = response.read()
        try:
            answer = json.loads(data) if response.status == 200 else {"retry_after": response.getheader("Retry-After")}
        except ValueError:
            answer = {}
        return response.status, answer, time.perf_counter() - started
    except OSError as error:
        keep = False  # drop a broken kept connection
        return 599, {"error": str(error)}, time.perf_counter() - started
    finally:
        if not keep:
            connection.close()
            if getattr(_kept, base, None) is connection:
                delattr(_kept, base)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def tree_cpu_seconds(roots: list[int]) -> float:
    """CPU seconds (user + system, reaped children included) of `roots` and all their
    descendants now alive: a server, its workers and their jobs."""
    ticks = os.sysconf("SC_CLK_TCK")
    parent, spent = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as file:
                text = file.read()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        parent[int(name)] = int(fields[1])
        spent[int(name)] = sum(int(v) for v in fields[11:15]) / ticks
    total, wanted = 0.0, set(roots)
    for pid in spent:
        ancestor = pid
        while ancestor and ancestor not in wanted:
            ancestor = parent.get(ancestor, 0)
        if ancestor:
            total += spent[pid]
    return total


def load(base: str, path: str, bodies: list[bytes], concurrency: int, ok, max_seconds: float,
         server_pids: list[int], keep: bool = False) -> dict:
    """Sends `bodies` with `concurrency` clients; `ok(status, answer)` says a success."""
    deadline = time.monotonic() + max_seconds
    latencies, errors, refused, sent = [], 0, 0, 0

    def one(body):
        if time.monotonic() > deadline:
            return None
        return post(base, path, body, keep=keep)

    server_before, client_before = tree_cpu_seconds(server_pids), time.process_time()
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
    server_cpu = tree_cpu_seconds(server_pids) - server_before
    client_cpu = time.process_time() - client_before
    per = 1000 / max(sent, 1)
    return {"requests": sent, "wall_s": wall, "rps": sent / wall if wall else 0.0,
            "p50_ms": 1000 * percentile(latencies, 0.5), "p99_ms": 1000 * percentile(latencies, 0.99),
            "server_cpu_ms": server_cpu * per, "client_cpu_ms": client_cpu * per,
            "errors": errors, "429": refused, "complete": sent == len(bodies)}


class Server:
    """`tracealign serve` on a port the system picks."""

    def __init__(self, binary: Path, problems: Path, cache: Path, jobs: int, queue: int):
        self.process = subprocess.Popen(
            [str(binary), "serve", "--addr", "127.0.0.1:0", "-p", str(problems), "--cache-dir", str(cache),
             "--jobs", str(jobs), "--queue", str(queue)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline()
        found = re.search(r"listening on (http://\S+)", line)
        if not found:
            self.process.kill()
            sys.exit(f"the server {binary} did not start: {line!r}")
        self.base = found.group(1)
        self.port = int(self.base.rsplit(":", 1)[1])

    def metrics(self, route: str) -> int:
        """Requests answered on `route` so far."""
        pattern = re.compile(r'tracealign_requests_total\{route="%s",status="\d+"\} (\d+)' % re.escape(route))
        return sum(int(n) for n in pattern.findall(get_text(self.base + "/metrics")))

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def get_text(url: str) -> str:
    host, rest = url.removeprefix("http://").split("/", 1)
    name, port = host.rsplit(":", 1)
    connection = http.client.HTTPConnection(name, int(port), timeout=30)
    try:
        connection.request("GET", "/" + rest)
        return connection.getresponse().read().decode()
    finally:
        connection.close()


def tracealign_run(binary: Path, problems: Path, samples: Path, out: Path, cache: Path, jobs: int) -> dict:
    summary = out / "run_summary.json"
    started = time.perf_counter()
    subprocess.run([str(binary), "run", "-p", str(problems), "-s", str(samples), "-o", str(out / "runs.jsonl"),
                    "--force", "-q", "--jobs", str(jobs), "--cache-dir", str(cache), "--summary-json", str(summary)],
                   check=True, stdout=subprocess.DEVNULL, timeout=900)
    wall = time.perf_counter() - started
    return {"wall_s": wall, "summary": json.loads(summary.read_text())}


def encoded(bodies: list[dict]) -> list[bytes]:
    return [json.dumps(body).encode() for body in bodies]


def workloads(tasks: list[dict]) -> list[tuple]:
    singles = [{"samples": [{"problem_id": t["task_id"], "code": t["prompt"] + t["canonical_solution"]}]} for t in tasks]
    batches = [{"samples": [s["samples"][0] for s in singles[i:i + 16]]} for i in range(0, len(singles), 16)]
    per_test = [{"code": code, "language": "python", "run_timeout": 20, "memory_limit_MB": 1024}
                for t in tasks for code in per_test_programs(t)]
    whole = [{"code": whole_program(t), "language": "python", "run_timeout": 20} for t in tasks]
    all_passed = lambda status, answer: status == 200 and answer.get("passed") == answer.get("total")  # noqa: E731
    success = lambda status, answer: status == 200 and answer.get("status") == "Success"  # noqa: E731
    return [("/v1/evaluate, 1 per request", "/v1/evaluate", encoded(singles), all_passed, 1),
            ("/v1/evaluate, 1 per request, kept connections", "/v1/evaluate", encoded(singles), all_passed, 1),
            ("/v1/evaluate, 16 per request", "/v1/evaluate", encoded(batches), all_passed, 16),
            ("/run_code, 1 test per request (verl)", "/run_code", encoded(per_test), success, 1),
            ("/run_code, 1 program per request", "/run_code", encoded(whole), success, 1)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def nginx_replicas(args, problems: Path, cache: Path, tmp: Path, phases: list[tuple], cores: int) -> dict:
    """Two replicas behind nginx on loopback; aggregate throughput at 8x cores."""
    nginx = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)
    if nginx is None:
        message = "nginx is not installed: the two-replica phase is skipped (apt-get install nginx)"
        print(message, flush=True)
        return {"skipped": message}
    jobs = max(1, cores // 2)
    replicas = [Server(args.bin, problems, cache, jobs, queue=4096) for _ in range(2)]
    prefix = tmp / "nginx"
    prefix.mkdir()
    port = free_port()
    upstream = "\n".join(f"    server 127.0.0.1:{r.port};" for r in replicas)
    (prefix / "nginx.conf").write_text(f"""daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  upstream tracealign {{
{upstream}
    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 16m;
    location / {{
      proxy_pass http://tracealign;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_read_timeout 120s;
      proxy_next_upstream error timeout http_429;
    }}
  }}
}}
""")
    proxy = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    result = {"replicas": 2, "jobs_per_replica": jobs, "rows": []}
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proxy.poll() is not None:
                    message = f"nginx did not start: {(prefix / 'error.log').read_text() if (prefix / 'error.log').exists() else ''}"
                    print(message, flush=True)
                    return {"skipped": message}
                time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        pids = [r.process.pid for r in replicas] + [proxy.pid]
        for name, path, bodies, ok, per_request in phases:
            if name not in ("/run_code, 1 program per request", "/v1/evaluate, 1 per request"):
                continue
            before = [r.metrics(path) for r in replicas]
            measured = load(base, path, bodies, 8 * cores, ok, args.max_seconds, pids)
            shares = [r.metrics(path) - b for r, b in zip(replicas, before)]
            measured.update(name=name, concurrency=8 * cores, units_per_s=measured["rps"] * per_request, per_replica=shares)
            result["rows"].append(measured)
            print(f"nginx, 2 replicas: {name:36} c={8 * cores:3} {measured['units_per_s']:8.1f}/s "
                  f"p50 {measured['p50_ms']:7.1f} ms p99 {measured['p99_ms']:7.1f} ms errors {measured['errors']} "
                  f"per replica {shares}", flush=True)
    finally:
        proxy.send_signal(signal.SIGQUIT)
        try:
            proxy.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proxy.kill()
            proxy.wait()
        for replica in replicas:
            replica.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--humaneval", type=Path, default=Path("/work/shared/data/HumanEval.jsonl.gz"))
    parser.add_argument("--bin", type=Path, default=REPO_ROOT / "target/release/tracealign")
    parser.add_argument("--baseline-bin", type=Path, help="another build to compare with, phase by phase")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "target/bench/serve_load")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="per phase")
    parser.add_argument("--multipliers", default="1,2,8", help="concurrency as multiples of the cores")
    parser.add_argument("--rounds", type=int, default=1, help="send each phase's requests this many times (steadier figures)")
    parser.add_argument("--only", help="run only the phases whose name contains this text")
    parser.add_argument("--skip-nginx", action="store_true", help="skip the two replicas behind nginx")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    tasks = load_humaneval(args.humaneval)
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict = {"cores": cores, "problems": len(tasks), "rounds": args.rounds, "bin": str(args.bin),
                     "baseline_bin": str(args.baseline_bin) if args.baseline_bin else None,
                     "load_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        problems = tmp / "HumanEval.jsonl"
        problems.write_text("".join(json.dumps(t) + "\n" for t in tasks))
        samples = tmp / "samples.jsonl"
        # As many samples as each phase sends (--rounds copies), so both are timed over a like span.
        samples.write_text("".join(json.dumps({"problem_id": t["task_id"], "sample_id": f"{t['task_id']}#{r}",
                                               "code": t["prompt"] + t["canonical_solution"]}) + "\n"
                                   for r in range(max(args.rounds, 1)) for t in tasks))
        cache = tmp / "cache"
        tracealign_run(args.bin, problems, samples, tmp, cache, cores)
        results["tracealign_run"] = tracealign_run(args.bin, problems, samples, tmp, cache, cores)  # cache warm, as the server's is
        phases = [(name, path, bodies * max(args.rounds, 1), ok, per_request)
                  for name, path, bodies, ok, per_request in workloads(tasks) if not args.only or args.only in name]
        binaries = {"new": args.bin} | ({"baseline": args.baseline_bin} if args.baseline_bin else {})
        servers = {label: Server(binary, problems, cache, cores, queue=4096) for label, binary in binaries.items()}
        try:
            results["phases"] = []
            row = 0
            for name, path, bodies, ok, per_request in phases:
                for multiplier in [int(m) for m in args.multipliers.split(",")]:
                    concurrency = multiplier * cores
                    labels = list(servers)
                    if row % 2:
                        labels.reverse()  # alternate which build goes first
                    row += 1
                    measured = {}
                    for label in labels:
                        server = servers[label]
                        got = load(server.base, path, bodies, concurrency, ok, args.max_seconds, [server.process.pid],
                                   keep="kept connections" in name)
                        got.update(units_per_s=got["rps"] * per_request)
                        measured[label] = got
                    entry = dict(measured["new"], name=name, concurrency=concurrency)
                    if "baseline" in measured:
                        entry["baseline"] = measured["baseline"]
                        entry["ratio"] = measured["new"]["units_per_s"] / max(measured["baseline"]["units_per_s"], 1e-9)
                    results["phases"].append(entry)
                    versus = (f" | baseline {entry['baseline']['units_per_s']:7.1f}/s ({entry['baseline']['server_cpu_ms']:.1f} ms CPU) "
                              f"ratio {entry['ratio']:.2f}") if "baseline" in entry else ""
                    print(f"{name:42} c={concurrency:3} {entry['units_per_s']:8.1f}/s p50 {entry['p50_ms']:7.1f} ms "
                          f"p99 {entry['p99_ms']:7.1f} ms CPU/request server {entry['server_cpu_ms']:5.1f} ms "
                          f"client {entry['client_cpu_ms']:4.1f} ms errors {entry['errors']} 429 {entry['429']}{versus}", flush=True)
        finally:
            for server in servers.values():
                server.stop()
        # Again after the phases: the machine's load drifts, and the ratios use the mean.
        results["tracealign_run_after"] = tracealign_run(args.bin, problems, samples, tmp, cache, cores)
        if not args.only:
            server = Server(args.bin, problems, cache, cores, queue=4)
            try:
                sleepy = encoded([{"code": "import time\ntime.sleep(0.3)", "language": "python"}] * 32)
                success = lambda status, answer: status == 200 and answer.get("status") == "Success"  # noqa: E731
                results["burst_over_queue_4"] = load(server.base, "/run_code", sleepy, 32, success, args.max_seconds,
                                                     [server.process.pid])
            finally:
                server.stop()
        if not args.skip_nginx:
            results["nginx"] = nginx_replicas(args, problems, cache, tmp, phases, cores)
    results["load_at_end"] = os.getloadavg()
    write(results, args.out)


SANDBOX_FUSION_PROGRAMS_PER_S = 100.0  # its best on 2 cores, default local config (the measurement)
SANDBOX_FUSION_TESTS_PER_S = 90.0


def run_rate(results: dict) -> float:
    """`tracealign run`'s samples/s in its run phase, the mean of the runs before and after."""
    runs = [results[key]["summary"].get("run_samples_per_s") for key in ("tracealign_run", "tracealign_run_after")
            if key in results]
    runs = [r for r in runs if r]
    return sum(runs) / len(runs) if runs else float("nan")


def targets(results: dict) -> list[str]:
    """The issue's targets against this run: each phase's best rate over the concurrencies."""
    best = {}
    for p in results.get("phases", []):
        best[p["name"]] = max(best.get(p["name"], 0.0), p["units_per_s"])
    run = run_rate(results)
    lines = ["", f"Targets (best concurrency; `tracealign run` {run:.1f} samples/s, mean of before and after):", ""]
    for name, rate in best.items():
        if name.startswith("/v1/evaluate"):
            lines.append(f"- {name}: {rate:.1f} samples/s = {rate / run:.0%} of `tracealign run` (target: at least 85%)")
        elif "1 test" in name:
            lines.append(f"- {name}: {rate:.1f} tests/s = {rate / SANDBOX_FUSION_TESTS_PER_S:.2f}x SandboxFusion's ~90")
        else:
            lines.append(f"- {name}: {rate:.1f} programs/s = {rate / SANDBOX_FUSION_PROGRAMS_PER_S:.2f}x "
                         f"SandboxFusion's ~100 (target: 3x)")
    return lines


def write(results: dict, out: Path) -> None:
    run = results["tracealign_run"]
    samples = run["summary"].get("samples") or results["problems"]
    baseline = results.get("baseline_bin")
    lines = [f"# tracealign serve under load ({results['cores']} cores, HumanEval canonical solutions, "
             f"each phase's requests sent {results.get('rounds', 1)}x)", "",
             f"Binary `{results['bin']}`" + (f", baseline `{baseline}` (same run, alternating)" if baseline else "")
             + f"; load average at start {results['load_at_start'][0]:.2f}, at end {results['load_at_end'][0]:.2f}.", "",
             f"`tracealign run` (cache warm, {samples} samples): {samples / run['wall_s']:.1f} samples/s whole command, "
             f"{run['summary'].get('run_samples_per_s', float('nan')):.1f} samples/s in its run phase "
             f"(after the phases: {results.get('tracealign_run_after', run)['summary'].get('run_samples_per_s', float('nan')):.1f}); summary: "
             f"`{json.dumps({k: v for k, v in run['summary'].items() if 'second' in k or 'rate' in k or k.endswith('_s')})}`", "",
             "CPU ms per request: the server's process tree (workers and jobs included) and this client's.", ""]
    head = "| what | concurrency | per second | p50 ms | p99 ms | server CPU ms | client CPU ms | errors | 429 | all sent |"
    rule = "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    if baseline:
        head += " baseline per second | baseline server CPU ms | new / baseline |"
        rule += " ---: | ---: | ---: |"
    lines += [head, rule]
    for p in results.get("phases", []):
        line = (f"| {p['name']} | {p['concurrency']} | {p['units_per_s']:.1f} | {p['p50_ms']:.1f} | {p['p99_ms']:.1f} | "
                f"{p['server_cpu_ms']:.1f} | {p['client_cpu_ms']:.1f} | {p['errors']} | {p['429']} | {p['complete']} |")
        if "baseline" in p:
            line += f" {p['baseline']['units_per_s']:.1f} | {p['baseline']['server_cpu_ms']:.1f} | {p['ratio']:.2f} |"
        lines.append(line)
    lines += targets(results)
    b = results.get("burst_over_queue_4")
    if b:
        lines += ["", f"Over the queue bound (`--queue 4`, 32 concurrent sleeps of 0.3 s): {b['requests']} requests, "
                  f"{b['429']} answered 429, {b['errors']} errors."]
    nginx = results.get("nginx")
    if nginx and "skipped" in nginx:
        lines += ["", f"Two replicas behind nginx: skipped ({nginx['skipped']})."]
    elif nginx:
        lines += ["", f"Two replicas behind nginx on loopback (`--jobs {nginx['jobs_per_replica']}` each), aggregate:", "",
                  "| what | concurrency | per second | p50 ms | p99 ms | server CPU ms (replicas + nginx) | errors | requests per replica |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        for p in nginx["rows"]:
            lines.append(f"| {p['name']} | {p['concurrency']} | {p['units_per_s']:.1f} | {p['p50_ms']:.1f} | {p['p99_ms']:.1f} | "
                         f"{p['server_cpu_ms']:.1f} | {p['errors']} | {' / '.join(map(str, p['per_replica']))} |")
    text = "\n".join(lines) + "\n"
    (out / "serve_load.md").write_text(text)
    (out / "serve_load.json").write_text(json.dumps(results, indent=2))
    print(text)


if __name__ == "__main__":
    main()
