#!/usr/bin/env python3
"""Check an adapter written by `tracealign train` against what Hugging Face PEFT expects for a
Llama-family model: `adapter_config.json` fields, `adapter_model.safetensors` key names and
shapes (A: [r, in], B: [out, r]) read with the `safetensors` package; and, given the merged
model, that merged weights equal W + B @ A * lora_alpha / r (PEFT's merge).

Usage: check_peft.py ADAPTER_DIR BASE_MODEL_DIR [MERGED_DIR]
Needs: safetensors, numpy.
"""

import json
import os
import re
import sys

import numpy as np
from safetensors.numpy import load_file

KEY = re.compile(
    r"^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\."
    r"(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)\.lora_([AB])\.weight$"
)


def fail(message):
    sys.exit(f"check_peft: {message}")


def main():
    adapter_dir, base_dir = sys.argv[1], sys.argv[2]
    merged_dir = sys.argv[3] if len(sys.argv) > 3 else None
    config = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    for field, expected in [("peft_type", "LORA"), ("task_type", "CAUSAL_LM"), ("bias", "none"),
                            ("fan_in_fan_out", False)]:
        if config.get(field) != expected:
            fail(f"adapter_config.json: {field} is {config.get(field)!r}, expected {expected!r}")
    r, alpha, targets = config["r"], config["lora_alpha"], set(config["target_modules"])
    base = load_file(os.path.join(base_dir, "model.safetensors"))
    tensors = load_file(os.path.join(adapter_dir, "adapter_model.safetensors"))
    seen = set()
    for key, value in tensors.items():
        match = KEY.match(key)
        if not match:
            fail(f"unexpected key {key}")
        layer, block, module, which = match.groups()
        if module not in targets:
            fail(f"{key}: {module} is not in target_modules {sorted(targets)}")
        weight = base[f"model.layers.{layer}.{block}.{module}.weight"]
        out_dim, in_dim = weight.shape
        expected = (r, in_dim) if which == "A" else (out_dim, r)
        if value.shape != expected:
            fail(f"{key} has shape {value.shape}, PEFT expects {expected}")
        if value.dtype != np.float32:
            fail(f"{key} has dtype {value.dtype}")
        seen.add((layer, module, which))
    layers = {k.split(".")[2] for k in base if k.startswith("model.layers.")}
    for layer in layers:
        for module in targets:
            for which in "AB":
                if (layer, module, which) not in seen:
                    fail(f"no lora_{which} for layer {layer} {module}")
    if merged_dir:
        merged = load_file(os.path.join(merged_dir, "model.safetensors"))
        for key in tensors:
            if ".lora_A." not in key:
                continue
            module = key[len("base_model.model."):].replace(".lora_A.weight", "")
            a = tensors[key]
            b = tensors[key.replace("lora_A", "lora_B")]
            want = base[f"{module}.weight"] + (b @ a) * (alpha / r)
            got = merged[f"{module}.weight"]
            if not np.allclose(got, want, atol=1e-5):
                fail(f"merged {module}.weight differs from W + B A alpha/r by {np.abs(got - want).max()}")
    print(f"ok: {len(tensors)} adapter tensors, r={r}, alpha={alpha}, targets={sorted(targets)}")


if __name__ == "__main__":
    main()
