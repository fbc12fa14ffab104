#!/usr/bin/env python3
"""LoRA training tokens/s of the tiny config: tracealign (candle) against PyTorch on the CPU.

Runs `target/release/examples/speed tiny ...` (ours) and `bench/train_tiny_torch.py` (the same
model, LoRA, optimizer and sequence in plain torch) interleaved, REPEATS times for each thread
count, and reports medians and their ratio (target ≥ 1×). PyTorch is installed into bench/.venv
from PyPI on first use (the CUDA build; it runs on the CPU, ~3 GB with its libraries).

Usage: bench/train_tiny.py [--threads 1,2] [--repeats 3] [--steps 30]
Writes bench/out/train_tiny.md and .json.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_PYTHON = os.path.join(ROOT, "bench", ".venv", "bin", "python")
SPEED = os.path.join(ROOT, "target", "release", "examples", "speed")
TORCH_SCRIPT = os.path.join(ROOT, "bench", "train_tiny_torch.py")


def ensure_torch():
    probe = [VENV_PYTHON, "-c", "import torch"]
    if os.path.exists(VENV_PYTHON) and subprocess.run(probe, capture_output=True).returncode == 0:
        return
    if not os.path.exists(VENV_PYTHON):
        subprocess.run([sys.executable, "-m", "venv", os.path.dirname(os.path.dirname(VENV_PYTHON))], check=True)
    print("installing torch into bench/.venv (a few GB)", file=sys.stderr)
    subprocess.run([VENV_PYTHON, "-m", "pip", "install", "--quiet", "torch"], check=True)


def tracealign(threads, steps):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads), SPEED_BATCHES="1")
    out = subprocess.run([SPEED, "tiny", "128", "64", "256", str(steps)], check=True,
                         capture_output=True, text=True, env=env).stdout
    return float(re.search(r"train mean after the first step: ([\d.]+)", out).group(1))


def torch(threads, steps):
    out = subprocess.run([VENV_PYTHON, TORCH_SCRIPT, str(steps), str(threads)], check=True,
                         capture_output=True, text=True).stdout
    return float(re.search(r"mean after the first step: ([\d.]+)", out).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "out"))
    args = parser.parse_args()
    if not os.path.exists(SPEED):
        sys.exit(f"error: {SPEED} is missing; hint: cargo build --release -p tracealign-train --example speed")
    ensure_torch()
    version = subprocess.run([VENV_PYTHON, "-c", "import torch; print(torch.__version__)"],
                             check=True, capture_output=True, text=True).stdout.strip()
    load = [os.getloadavg()[0]]
    results = {}
    for threads in [int(t) for t in args.threads.split(",")]:
        runs = {"tracealign": [], "torch": []}
        for _ in range(args.repeats):
            runs["tracealign"].append(tracealign(threads, args.steps))
            runs["torch"].append(torch(threads, args.steps))
        results[threads] = {name: {"runs": r, "median": statistics.median(r)} for name, r in runs.items()}
    load.append(os.getloadavg()[0])
    lines = [
        "# LoRA training tokens/s, tiny config: tracealign vs PyTorch (CPU)",
        "",
        "Vocabulary 512, hidden 64, MLP 128, 2 layers, 4 heads / 2 key-value heads, LoRA r=16 on "
        f"q/k/v/o, AdamW, clipping at 1, one 256-token sequence (second half trained); {args.steps} steps, "
        f"mean after the first; median of {args.repeats} interleaved repeats. torch {version}. "
        f"Load average {load[0]:.2f} → {load[1]:.2f}.",
        "",
        "| threads | tracealign tokens/s | PyTorch tokens/s | ratio (target ≥ 1) |",
        "|---:|---:|---:|---:|",
    ]
    for threads, r in results.items():
        ours, theirs = r["tracealign"]["median"], r["torch"]["median"]
        lines.append(f"| {threads} | {ours:.0f} | {theirs:.0f} | {ours / theirs:.2f}× |")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "train_tiny.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(args.out, "train_tiny.json"), "w") as f:
        json.dump({"args": vars(args), "torch": version, "results": results, "load": load}, f, indent=1)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
