#!/usr/bin/env python3
"""Side-by-side CPU convolution timings: PyTorch vs netgrow, measured in one run.

Rows, as in bench/cpu/bench_conv.cpp:
  fashion_cnn_step   conv32-conv64-pool-fc128-fc10 (3x3 convolutions, no padding) at batch 128:
                     forward, cross-entropy, backward, SGD with momentum 0.9
Netgrow and PyTorch alternate in rounds; prints medians and PyTorch time / netgrow time.

    python3 bench/compare/conv_torch.py --netgrow build/release/bench/bench_conv --threads 2
"""
import argparse
import os
import statistics

import torch
import torch.nn as nn

from train_step_torch import time_netgrow, time_torch


def fashion_cnn_step():
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(128, 1, 28, 28)
    y = torch.randint(0, 10, (128,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(5):
        step()
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--netgrow", required=True, help="path to the bench_conv binary")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = {"fashion_cnn_step": fashion_cnn_step()}
    print(f"peer: PyTorch {torch.__version__} ({os.path.dirname(torch.__file__)}), {args.threads} threads; "
          f"netgrow: {args.netgrow}, OMP_NUM_THREADS={args.threads}")
    torch_ms = {name: [] for name in rows}
    netgrow_ms = {name: [] for name in rows}
    for _ in range(args.rounds):
        for name, step in rows.items():
            netgrow_ms[name].append(time_netgrow(args.netgrow, args.threads, name, args.seconds))
            torch_ms[name].append(time_torch(step, args.seconds))
    print(f"{'row':<22} {'PyTorch ms':>11} {'netgrow ms':>11} {'PyTorch/netgrow':>16}")
    for name in rows:
        t, n = statistics.median(torch_ms[name]), statistics.median(netgrow_ms[name])
        print(f"{name:<22} {t:>11.3f} {n:>11.3f} {t / n:>16.2f}")


if __name__ == "__main__":
    main()
