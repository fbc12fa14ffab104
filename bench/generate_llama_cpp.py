#!/usr/bin/env python3
"""SmolLM2 generation speed: tracealign (candle) against llama.cpp on the same GGUF and threads.

Both process the same token ids: a prompt of PROMPT tokens, then DECODE tokens decoded greedily
one at a time (batch 1, KV cache), each timed separately; tracealign's batched decoding (several
sequences per forward pass, what `tracealign generate`/`eval` use) is reported beside it, with
its decoding weights in f32 (the default) and in Q8_0 (`--decode-weights q8_0`). llama.cpp
comes from the `llama-cpp-python` package (PyPI builds llama.cpp from source), installed into
bench/.venv on first use. Everything runs interleaved, REPEATS times; medians are reported.

Usage: bench/generate_llama_cpp.py [--gguf PATH] [--threads 2] [--repeats 3] [--prompt 128]
                                   [--decode 64] [--speed target/release/examples/speed]
Writes bench/out/generate_llama_cpp.md and .json.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_PYTHON = os.path.join(ROOT, "bench", ".venv", "bin", "python")

# Runs inside bench/.venv: llama.cpp timings of one repeat, as JSON on stdout.
LLAMA_CPP = r"""
import json, sys, time
from llama_cpp import Llama
path, threads, prompt_len, decode_len = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
llm = Llama(model_path=path, n_threads=threads, n_threads_batch=threads, n_ctx=1024,
            n_batch=512, verbose=False)
vocab = llm.n_vocab()
ids = [(i * 7919 + 13) % vocab for i in range(prompt_len)]
start = time.perf_counter()
llm.eval(ids)
prefill = time.perf_counter() - start
start = time.perf_counter()
for _ in range(decode_len):
    token = int(llm.scores[llm.n_tokens - 1].argmax())
    llm.eval([token])
decode = time.perf_counter() - start
print(json.dumps({"prompt_tps": prompt_len / prefill, "decode_tps": decode_len / decode}))
"""


def ensure_llama_cpp():
    probe = [VENV_PYTHON, "-c", "import llama_cpp"]
    if os.path.exists(VENV_PYTHON) and subprocess.run(probe, capture_output=True).returncode == 0:
        return
    if not os.path.exists(VENV_PYTHON):
        subprocess.run([sys.executable, "-m", "venv", os.path.dirname(os.path.dirname(VENV_PYTHON))], check=True)
    print("installing llama-cpp-python into bench/.venv (builds llama.cpp; minutes)", file=sys.stderr)
    # Built for this CPU's vector units (AVX-512 included) but without its AMX kernels: these
    # VMs report AMX, and llama.cpp's AMX matmul crashes (SIGSEGV in ggml_backend_amx_mul_mat).
    # -march=native would turn AMX on whatever GGML_AMX_* say, so the features are listed.
    env = dict(
        os.environ,
        CMAKE_BUILD_PARALLEL_LEVEL=str(os.cpu_count() or 2),
        CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AVX_VNNI=ON -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_BF16=OFF",
    )
    subprocess.run([VENV_PYTHON, "-m", "pip", "install", "--quiet", "llama-cpp-python"], check=True, env=env)


def run_llama_cpp(args):
    out = subprocess.run(
        [VENV_PYTHON, "-c", LLAMA_CPP, args.gguf, str(args.threads), str(args.prompt), str(args.decode)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_tracealign(args, decode_weights):
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads), SPEED_BATCHES=args.batches,
               SPEED_DECODE_WEIGHTS=decode_weights)
    # Training is not measured here: TRAIN_STEPS 0.
    out = subprocess.run(
        [args.speed, args.gguf, str(args.prompt), str(args.decode), "16", "0"],
        check=True, capture_output=True, text=True, env=env,
    ).stdout
    result = {
        "prompt_tps": float(re.search(r"prompt: .* = ([\d.]+) tokens/s", out).group(1)),
        "decode_tps": float(re.search(r"decode: \d+ tokens .* = ([\d.]+) tokens/s \(batch 1\)", out).group(1)),
    }
    for rows, rate in re.findall(r"decode: batch (\d+): .* = ([\d.]+) tokens/s", out):
        result[f"decode_batch{rows}_tps"] = float(rate)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gguf", default=os.path.join(ROOT, "target", "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--prompt", type=int, default=128)
    parser.add_argument("--decode", type=int, default=64)
    parser.add_argument("--batches", default="8,16", help="tracealign's batched decoding rows")
    parser.add_argument("--speed", default=os.path.join(ROOT, "target", "release", "examples", "speed"))
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "out"))
    args = parser.parse_args()
    if not os.path.exists(args.speed):
        sys.exit(f"error: {args.speed} is missing; hint: cargo build --release -p tracealign-train --example speed")
    if not os.path.exists(args.gguf):
        sys.exit(f"error: {args.gguf} is missing; hint: python3 scripts/fetch_smollm2.py")
    ensure_llama_cpp()
    runs = {"tracealign f32": [], "tracealign q8_0": [], "llama.cpp": []}
    load = [os.getloadavg()[0]]
    for _ in range(args.repeats):
        runs["tracealign f32"].append(run_tracealign(args, "f32"))
        runs["tracealign q8_0"].append(run_tracealign(args, "q8_0"))
        runs["llama.cpp"].append(run_llama_cpp(args))
    load.append(os.getloadavg()[0])
    median = {name: {key: statistics.median(r[key] for r in rs) for key in rs[0]} for name, rs in runs.items()}
    theirs = median["llama.cpp"]
    lines = [
        f"# SmolLM2-135M-Instruct generation: tracealign vs llama.cpp ({args.threads} threads)",
        "",
        f"Same GGUF, same token ids; prompt {args.prompt} tokens, then {args.decode} greedy decoding steps "
        f"at batch 1; median of {args.repeats} interleaved repeats. Load average {load[0]:.2f} → {load[1]:.2f}. "
        "tracealign's decoding weights: f32 (default) or q8_0 (`--decode-weights q8_0`); prompts are f32 in both.",
        "",
        "| measurement | tracealign tokens/s | llama.cpp tokens/s | ratio (target ≥ 0.5) |",
        "|---|---:|---:|---:|",
    ]

    def row(label, ours):
        lines.append(f"| {label} | {ours:.1f} | {theirs['decode_tps']:.1f} | {ours / theirs['decode_tps']:.2f}× |")

    ours = median["tracealign f32"]
    lines.append(f"| prompt processing | {ours['prompt_tps']:.1f} | {theirs['prompt_tps']:.1f} | "
                 f"{ours['prompt_tps'] / theirs['prompt_tps']:.2f}× |")
    for weights in ["f32", "q8_0"]:
        ours = median[f"tracealign {weights}"]
        row(f"decoding, batch 1, {weights}", ours["decode_tps"])
        for key in sorted((k for k in ours if k.startswith("decode_batch")), key=lambda k: int(k[12:-4])):
            rows = key[len("decode_batch"):-len("_tps")]
            row(f"decoding, {rows} sequences together, {weights} (llama.cpp: batch 1)", ours[key])
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "generate_llama_cpp.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(args.out, "generate_llama_cpp.json"), "w") as f:
        json.dump({"args": vars(args), "runs": runs, "median": median, "load": load}, f, indent=1)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
