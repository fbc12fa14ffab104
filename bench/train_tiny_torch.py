#!/usr/bin/env python3
"""PyTorch (CPU) counterpart of `cargo run --release -p tracealign-train --example speed --
tiny 128 64 256 STEPS`: LoRA training tokens/s of the same tiny Llama (vocabulary 512, hidden 64,
MLP 128, 2 layers, 4 heads, 2 key/value heads, tied embeddings), LoRA r=16 alpha=32 on
q/k/v/o, AdamW, gradient clipping at 1, one sequence of 256 tokens whose second half is trained.
Written with plain torch (no transformers/peft) so the two run the same arithmetic.

Usage: bench/train_tiny_torch.py [STEPS] [THREADS]     (needs torch)
"""

import math
import sys
import time

import torch
import torch.nn.functional as F

VOCAB, HIDDEN, INTER, LAYERS, HEADS, KV_HEADS = 512, 64, 128, 2, 4, 2
HEAD_DIM = HIDDEN // HEADS
RANK, ALPHA, LEN = 16, 32.0, 256


class LoraLinear(torch.nn.Module):
    def __init__(self, in_dim, out_dim, lora):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(out_dim, in_dim) * 0.05, requires_grad=False)
        self.lora = lora
        if lora:
            self.a = torch.nn.Parameter(torch.empty(RANK, in_dim).uniform_(-1 / math.sqrt(in_dim), 1 / math.sqrt(in_dim)))
            self.b = torch.nn.Parameter(torch.zeros(out_dim, RANK))

    def forward(self, x):
        y = x @ self.weight.t()
        if self.lora:
            y = y + (x @ self.a.t() @ self.b.t()) * (ALPHA / RANK)
        return y


def rms_norm(x, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


def rotate(x, cos, sin):
    x1, x2 = x[..., : HEAD_DIM // 2], x[..., HEAD_DIM // 2 :]
    return x * cos + torch.cat([-x2, x1], -1) * sin


class Layer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.q = LoraLinear(HIDDEN, HEADS * HEAD_DIM, True)
        self.k = LoraLinear(HIDDEN, KV_HEADS * HEAD_DIM, True)
        self.v = LoraLinear(HIDDEN, KV_HEADS * HEAD_DIM, True)
        self.o = LoraLinear(HEADS * HEAD_DIM, HIDDEN, True)
        self.gate = LoraLinear(HIDDEN, INTER, False)
        self.up = LoraLinear(HIDDEN, INTER, False)
        self.down = LoraLinear(INTER, HIDDEN, False)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        h = rms_norm(x)
        q = self.q(h).view(b, t, HEADS, HEAD_DIM).transpose(1, 2)
        k = self.k(h).view(b, t, KV_HEADS, HEAD_DIM).transpose(1, 2)
        v = self.v(h).view(b, t, KV_HEADS, HEAD_DIM).transpose(1, 2)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        k = k.repeat_interleave(HEADS // KV_HEADS, 1)
        v = v.repeat_interleave(HEADS // KV_HEADS, 1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(HEAD_DIM) + mask
        out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, HIDDEN)
        x = x + self.o(out)
        h = rms_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    if len(sys.argv) > 2:
        torch.set_num_threads(int(sys.argv[2]))
    torch.manual_seed(0)
    embed = torch.randn(VOCAB, HIDDEN) * 0.05
    layers = torch.nn.ModuleList([Layer() for _ in range(LAYERS)])
    params = [p for p in layers.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-4, weight_decay=0.0)
    ids = torch.tensor([[(i * 31 + 7) % VOCAB for i in range(LEN)]])
    labels = ids.clone()
    labels[:, : LEN // 2] = -100
    inv = 1.0 / (10000 ** (torch.arange(0, HEAD_DIM, 2).float() / HEAD_DIM))
    freqs = torch.outer(torch.arange(LEN).float(), inv)
    freqs = torch.cat([freqs, freqs], -1)
    cos, sin = freqs.cos(), freqs.sin()
    mask = torch.full((LEN, LEN), float("-inf")).triu(1)
    rates = []
    for step in range(steps):
        start = time.perf_counter()
        x = embed[ids]
        for layer in layers:
            x = layer(x, cos, sin, mask)
        logits = rms_norm(x) @ embed.t()
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, VOCAB), labels[:, 1:].reshape(-1), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        seconds = time.perf_counter() - start
        if step > 0:
            rates.append(LEN / seconds)
        print(f"step {step + 1}: loss {loss.item():.4f}, {LEN / seconds:.1f} tokens/s")
    print(f"mean after the first step: {sum(rates) / max(len(rates), 1):.1f} tokens/s "
          f"({torch.get_num_threads()} threads, torch {torch.__version__})")


if __name__ == "__main__":
    main()
