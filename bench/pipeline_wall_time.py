#!/usr/bin/env python3
"""Wall time of the main job (`tracealign pipeline`, embedded default) for two builds.

Both binaries run the same job into fresh output directories, alternating within each
round so that drift in machine load affects both alike; the median of `--rounds` runs is
reported per binary with the ratio, and each output's row count is compared (a change in
what the job writes shows next to the time). The prepared-problem cache is warmed by one
untimed run of each binary first.

    python3 bench/pipeline_wall_time.py --before OLD/tracealign --after target/release/tracealign

Results go to OUT/pipeline_wall_time.{md,json}; the table is printed at the end.
Only the standard library is needed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def run_job(binary: str, out: Path, extra: list[str]) -> float:
    shutil.rmtree(out, ignore_errors=True)
    started = time.monotonic()
    subprocess.run(
        [binary, "pipeline", "--out", str(out), *extra],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.monotonic() - started


def row_counts(out: Path) -> dict[str, int]:
    counts = {}
    for path in sorted(out.glob("*.jsonl")):
        if not path.name.endswith(".traces.jsonl"):
            counts[path.name] = sum(1 for line in path.open() if line.strip())
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True, help="the baseline binary")
    parser.add_argument("--after", required=True, help="the binary under test")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default="bench/out", help="where the table goes")
    parser.add_argument("extra", nargs="*", help="more pipeline arguments (after --)")
    args = parser.parse_args()
    binaries = {"before": args.before, "after": args.after}
    times: dict[str, list[float]] = {name: [] for name in binaries}
    rows: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, binary in binaries.items():
            run_job(binary, Path(scratch) / name, args.extra)
            rows[name] = row_counts(Path(scratch) / name)
        for _ in range(args.rounds):
            for name, binary in binaries.items():
                times[name].append(run_job(binary, Path(scratch) / name, args.extra))
    median = {name: statistics.median(t) for name, t in times.items()}
    lines = [
        f"| binary | median wall s ({args.rounds} rounds) | all runs s |",
        "| --- | ---: | --- |",
    ]
    for name in binaries:
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        lines.append(f"| {name} | {median[name]:.2f} | {runs} |")
    lines.append("")
    lines.append(f"after / before: {median['after'] / median['before']:.3f}")
    lines.append("")
    lines.append("| output | rows before | rows after |")
    lines.append("| --- | ---: | ---: |")
    for name in sorted(set(rows["before"]) | set(rows["after"])):
        lines.append(
            f"| {name} | {rows['before'].get(name, '-')} | {rows['after'].get(name, '-')} |"
        )
    table = "\n".join(lines) + "\n"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pipeline_wall_time.md").write_text(table)
    figures = {"times_s": times, "median_s": median, "rows": rows, "binaries": binaries}
    (out / "pipeline_wall_time.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(table, end="")


if __name__ == "__main__":
    main()
