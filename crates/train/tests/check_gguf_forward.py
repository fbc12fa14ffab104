#!/usr/bin/env python3
"""An independent forward pass of a Llama GGUF in numpy, to check the trainer's: weights
dequantized by llama.cpp's own `gguf` package, rotary embeddings applied the way llama.cpp
does on its (permuted) q/k rows: to adjacent pairs. Prints the last position's 10 largest
logits as JSON `[[id, logit], ...]`.

Usage: check_gguf_forward.py MODEL.gguf ID [ID ...]     (needs numpy, gguf)
"""

import json
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize


def main():
    reader = GGUFReader(sys.argv[1])
    ids = np.array([int(i) for i in sys.argv[2:]])
    field = lambda key: reader.fields[key].parts[-1][0]
    heads = int(field("llama.attention.head_count"))
    kv_heads = int(field("llama.attention.head_count_kv"))
    layers = int(field("llama.block_count"))
    eps = float(field("llama.attention.layer_norm_rms_epsilon"))
    base = float(field("llama.rope.freq_base"))
    w = {t.name: dequantize(t.data, t.tensor_type).astype(np.float64) for t in reader.tensors}
    embed = w["token_embd.weight"]
    out_weight = w.get("output.weight", embed)
    hidden = embed.shape[1]
    dim = hidden // heads
    t = len(ids)

    def norm(x, weight):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * weight

    # llama.cpp's rope: rotate pairs (2i, 2i+1) by position · base^(-2i/dim).
    angles = np.arange(t)[:, None] * base ** (-np.arange(0, dim, 2) / dim)[None, :]
    cos, sin = np.cos(angles)[:, None, :], np.sin(angles)[:, None, :]

    def rope(x):
        even, odd = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2] = even * cos - odd * sin
        out[..., 1::2] = even * sin + odd * cos
        return out

    mask = np.triu(np.full((t, t), -np.inf), 1)
    x = embed[ids]
    for layer in range(layers):
        p = f"blk.{layer}."
        h = norm(x, w[p + "attn_norm.weight"])
        q = rope((h @ w[p + "attn_q.weight"].T).reshape(t, heads, dim))
        k = rope((h @ w[p + "attn_k.weight"].T).reshape(t, kv_heads, dim))
        v = (h @ w[p + "attn_v.weight"].T).reshape(t, kv_heads, dim)
        k = np.repeat(k, heads // kv_heads, axis=1)
        v = np.repeat(v, heads // kv_heads, axis=1)
        scores = np.einsum("thd,shd->hts", q, k) / np.sqrt(dim) + mask
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        attn = np.einsum("hts,shd->thd", scores, v).reshape(t, heads * dim)
        x = x + attn @ w[p + "attn_output.weight"].T
        h = norm(x, w[p + "ffn_norm.weight"])
        gate = h @ w[p + "ffn_gate.weight"].T
        x = x + ((gate / (1 + np.exp(-gate))) * (h @ w[p + "ffn_up.weight"].T)) @ w[p + "ffn_down.weight"].T
    logits = norm(x[-1], w["output_norm.weight"]) @ out_weight.T
    top = np.argsort(-logits)[:10]
    print(json.dumps([[int(i), float(logits[i])] for i in top]))


if __name__ == "__main__":
    main()
