#!/usr/bin/env python3
"""Side-by-side GradMax growth cost on the CPU: PyTorch vs netgrow, measured in one run.

Network 784-1024-1024-10 with ReLU, batch 512, growing 64 neurons in the first hidden layer (pair:
layer 0 -> layer 2). Rows, as in bench/cpu/bench_growth.cpp:
  gradmax_marginal          stored h (512, 784) and dL/dz2 (512, 1024) -> top-64 left singular vectors
                            of M = dz^T h (PyTorch: M by one matmul, then torch.svd_lowrank, niter 2)
  gradmax_standalone        forward + loss + gradient w.r.t. z2 on a separate batch, then as above
  train_step_512            one SGD-with-momentum training step at batch 512
Also prints PyTorch's full SVD of M (torch.linalg.svd) for reference. Netgrow and PyTorch alternate
in rounds; the table shows medians and the ratio PyTorch time / netgrow time (> 1: netgrow faster).

    python3 bench/compare/growth_torch.py --netgrow build/release/bench/bench_growth --threads 2
"""
import argparse
import os
import statistics

import torch
import torch.nn as nn

from train_step_torch import time_netgrow, time_torch


def build():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))
    x = torch.randn(512, 784)
    y = torch.randint(0, 10, (512,))
    return model, x, y


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--netgrow", required=True, help="path to the bench_growth binary")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model, x, y = build()
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def aux_gradient():
        h0 = x
        z2 = model[2](model[1](model[0](h0)))
        z2.retain_grad()
        loss = loss_fn(model[4](model[3](z2)), y)
        (dz,) = torch.autograd.grad(loss, z2)
        return h0, dz

    h0, dz = aux_gradient()

    def marginal():
        m = dz.t() @ h0
        u, s, v = torch.svd_lowrank(m, q=64 + 10, niter=2)
        return u[:, :64]

    def standalone():
        h, d = aux_gradient()
        m = d.t() @ h
        return torch.svd_lowrank(m, q=64 + 10, niter=2)[0][:, :64]

    def full_svd():
        return torch.linalg.svd(dz.t() @ h0, full_matrices=False)[0][:, :64]

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    rows = {"gradmax_marginal": marginal, "gradmax_standalone": standalone, "train_step_512": train_step}
    print(f"peer: PyTorch {torch.__version__} ({os.path.dirname(torch.__file__)}), {args.threads} threads; "
          f"netgrow: {args.netgrow}, OMP_NUM_THREADS={args.threads}")
    torch_ms = {name: [] for name in rows}
    netgrow_ms = {name: [] for name in rows}
    for _ in range(args.rounds):
        for name, fn in rows.items():
            netgrow_ms[name].append(time_netgrow(args.netgrow, args.threads, name, args.seconds))
            torch_ms[name].append(time_torch(fn, args.seconds))
    print(f"{'row':<22} {'PyTorch ms':>11} {'netgrow ms':>11} {'PyTorch/netgrow':>16}")
    for name in rows:
        t, n = statistics.median(torch_ms[name]), statistics.median(netgrow_ms[name])
        print(f"{name:<22} {t:>11.3f} {n:>11.3f} {t / n:>16.2f}")
    print(f"(PyTorch full SVD of M, torch.linalg.svd: {time_torch(full_svd, args.seconds):.1f} ms)")


if __name__ == "__main__":
    main()
