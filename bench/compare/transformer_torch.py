#!/usr/bin/env python3
"""Side-by-side CPU transformer training steps: PyTorch vs netgrow, measured in one run, and the cost of
each netgrow transformer growth operation against one training step.

The models are those of bench/cpu/bench_transformer.cpp, written here in plain PyTorch (same shapes,
pre-LN blocks, exact GELU, Adam, float32):
  char_gpt_big_step  d 128, 4 blocks, 4 heads x 32, MLP 512, causal attention, context 128, vocabulary 65,
                     batch 32 (attention by F.scaled_dot_product_attention, PyTorch's fastest CPU path)
  vit_big_step       d 64, 4 blocks, 4 heads x 16, MLP 256, 7 x 7 patches of 28 x 28 images with a class
                     token, batch 64
  char_gpt_dropout_step  the same with residual dropout 0.1 on both branches of every block
  dropout_forward    F.dropout(p = 0.1, training) on (32, 128, 128) floats, the big char model's stream
The two sides alternate in rounds; the script prints per-row medians and PyTorch time / netgrow time
(> 1: netgrow is faster), then netgrow's growth rows in ms and in char_gpt_big_step steps.

    python3 bench/compare/transformer_torch.py --netgrow build/release/bench/bench_transformer --threads 2

Only the peer (PyTorch) is Python; netgrow itself never depends on it.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from train_step_torch import time_netgrow, time_torch


class Block(nn.Module):
    def __init__(self, d, heads, head_dim, mlp, causal, dropout=0.0):
        super().__init__()
        self.heads, self.head_dim, self.causal = heads, head_dim, causal
        self.drop = nn.Dropout(dropout)  # residual dropout on both branches (netgrow's TransformerBlock::dropout)
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q, self.k, self.v = (nn.Linear(d, heads * head_dim) for _ in range(3))
        self.o = nn.Linear(heads * head_dim, d)
        self.fc1, self.fc2 = nn.Linear(d, mlp), nn.Linear(mlp, d)

    def forward(self, x):
        n, t, _ = x.shape
        a = self.ln1(x)
        split = lambda z: z.view(n, t, self.heads, self.head_dim).transpose(1, 2)
        h = F.scaled_dot_product_attention(split(self.q(a)), split(self.k(a)), split(self.v(a)), is_causal=self.causal)
        x = x + self.drop(self.o(h.transpose(1, 2).reshape(n, t, self.heads * self.head_dim)))
        return x + self.drop(self.fc2(F.gelu(self.fc1(self.ln2(x)))))


class CharGpt(nn.Module):
    def __init__(self, vocab=65, context=128, d=128, layers=4, heads=4, head_dim=32, dropout=0.0):
        super().__init__()
        self.embed, self.pos = nn.Embedding(vocab, d), nn.Parameter(torch.randn(context, d) * 0.02)
        self.blocks = nn.Sequential(*[Block(d, heads, head_dim, 4 * d, True, dropout) for _ in range(layers)])
        self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, vocab)

    def forward(self, ids):
        return self.head(self.ln(self.blocks(self.embed(ids) + self.pos[: ids.shape[1]])))


class Vit(nn.Module):
    def __init__(self, d=64, layers=4, heads=4, head_dim=16, patch=7, classes=10):
        super().__init__()
        self.patch = nn.Conv2d(1, d, patch, stride=patch)
        self.cls, self.pos = nn.Parameter(torch.zeros(1, 1, d)), nn.Parameter(torch.randn(17, d) * 0.02)
        self.blocks = nn.Sequential(*[Block(d, heads, head_dim, 4 * d, False) for _ in range(layers)])
        self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, classes)

    def forward(self, images):
        p = self.patch(images).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(p.shape[0], -1, -1), p], 1) + self.pos
        return self.head(self.ln(self.blocks(x))[:, 0])


def char_gpt_big_step(dropout=0.0):
    model = CharGpt(dropout=dropout)
    ids = torch.randint(0, 65, (32, 128))
    return model, ids, lambda out: F.cross_entropy(out.reshape(-1, 65), ids.reshape(-1))


def vit_big_step():
    model = Vit()
    x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
    return model, x, lambda out: F.cross_entropy(out, y)


def dropout_forward():
    x = torch.randn(32, 128, 128)

    def step():
        with torch.no_grad():
            F.dropout(x, 0.1, training=True)

    return step


STEPS = {"char_gpt_big_step": char_gpt_big_step, "char_gpt_dropout_step": lambda: char_gpt_big_step(0.1),
         "vit_big_step": vit_big_step}
OPS = {"dropout_forward": dropout_forward}  # single ops, timed as they are
GROWTH = ["grow_width_lemon", "grow_width_msg", "grow_mlp_lemon", "grow_mlp_gradmax", "grow_heads_copy",
          "grow_heads_gradmax", "grow_depth_lemon"]


def make_step(build):
    model, x, loss_of = build()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss_of(model(x)).backward()
        opt.step()

    for _ in range(5):
        step()
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--netgrow", required=True, help="path to the bench_transformer binary")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=1.0, help="timing time per row, per round and side")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of netgrow and PyTorch")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"peer: PyTorch {torch.__version__} ({os.path.dirname(torch.__file__)}), {args.threads} threads; "
          f"netgrow: {args.netgrow}, OMP_NUM_THREADS={args.threads}")
    steps = {name: make_step(build) for name, build in STEPS.items()}
    steps.update({name: build() for name, build in OPS.items()})
    torch_ms = {name: [] for name in steps}
    netgrow_ms = {name: [] for name in steps}
    for _ in range(args.rounds):
        for name in steps:
            netgrow_ms[name].append(time_netgrow(args.netgrow, args.threads, name, args.seconds))
            torch_ms[name].append(time_torch(steps[name], args.seconds))
    print(f"{'row':<22} {'PyTorch ms':>11} {'netgrow ms':>11} {'PyTorch/netgrow':>16}")
    for name in steps:
        t, n = statistics.median(torch_ms[name]), statistics.median(netgrow_ms[name])
        print(f"{name:<22} {t:>11.3f} {n:>11.3f} {t / n:>16.2f}")
    step_ms = statistics.median(netgrow_ms["char_gpt_big_step"])
    print(f"\n{'netgrow growth (small char model)':<36} {'ms':>9} {'big steps':>10}")
    for name in GROWTH:
        ms = time_netgrow(args.netgrow, args.threads, name + "/", args.seconds / 2)
        print(f"{name:<36} {ms:>9.2f} {ms / step_ms:>10.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
