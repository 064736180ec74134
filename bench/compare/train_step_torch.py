#!/usr/bin/env python3
"""Side-by-side CPU training-step timings: PyTorch vs netgrow, measured in one run.

Times the same networks as bench/cpu/bench_train_step.cpp (same shapes, losses and optimizers) in
PyTorch with the given thread count, then runs the netgrow benchmark binary with the same thread
count, alternating the two in rounds, and prints per-row medians and the ratio PyTorch time / netgrow time (> 1: netgrow is faster).

    python3 bench/compare/train_step_torch.py --netgrow build/release/bench/bench_train_step --threads 2

Only the peer (PyTorch) is Python; netgrow itself never depends on it.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn


def mlp_784_1024_1024_10():
    model = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(128, 784)
    y = torch.randint(0, 10, (128,))
    loss_fn = nn.CrossEntropyLoss()
    return model, opt, x, y, loss_fn


def teacher_student_100_50_10():
    teacher = nn.Sequential(nn.Linear(100, 50, bias=False), nn.ReLU(), nn.Linear(50, 10, bias=False))
    with torch.no_grad():
        for p in teacher.parameters():
            p.uniform_(-1, 1)
        x = torch.randn(1000, 100)
        y = teacher(x)
    model = nn.Sequential(nn.Linear(100, 50, bias=False), nn.ReLU(), nn.Linear(50, 10, bias=False))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return model, opt, x, y, nn.MSELoss()


ROWS = {"mlp_784_1024_1024_10": mlp_784_1024_1024_10, "teacher_student_100_50_10": teacher_student_100_50_10}


def make_torch_step(build):
    model, opt, x, y, loss_fn = build()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(20):
        step()
    return step


def time_torch(step, seconds):
    """Median time of one step in ms, over blocks of steps lasting about 50 ms each."""
    per_block = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(per_block):
            step()
        if time.perf_counter() - t0 > 0.05:
            break
        per_block *= 2
    samples = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(samples) < 5:
        t0 = time.perf_counter()
        for _ in range(per_block):
            step()
        samples.append((time.perf_counter() - t0) / per_block)
    return statistics.median(samples) * 1e3


def time_netgrow(binary, threads, row, seconds):
    """Median time of one step in ms from the netgrow Google Benchmark binary."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([binary, "--benchmark_format=json", f"--benchmark_min_time={seconds}",
                          f"--benchmark_filter=^{row}"],
                         env=env, check=True, capture_output=True, text=True).stdout
    b = json.loads(out)["benchmarks"][0]
    scale = {"ms": 1.0, "us": 1e-3, "ns": 1e-6, "s": 1e3}[b["time_unit"]]
    return b["real_time"] * scale


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--netgrow", required=True, help="path to the bench_train_step binary")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=1.0, help="timing time per row, per round and side")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of netgrow and PyTorch")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    peer = f"PyTorch {torch.__version__} ({os.path.dirname(torch.__file__)})"
    print(f"peer: {peer}, {args.threads} threads; netgrow: {args.netgrow}, OMP_NUM_THREADS={args.threads}")
    # Machines drift (frequency, neighbours): alternate the two in rounds and compare medians.
    steps = {name: make_torch_step(build) for name, build in ROWS.items()}
    torch_ms = {name: [] for name in ROWS}
    netgrow_ms = {name: [] for name in ROWS}
    for _ in range(args.rounds):
        for name in ROWS:
            netgrow_ms[name].append(time_netgrow(args.netgrow, args.threads, name, args.seconds))
            torch_ms[name].append(time_torch(steps[name], args.seconds))
    print(f"{'row':<28} {'PyTorch ms':>11} {'netgrow ms':>11} {'PyTorch/netgrow':>16}")
    for name in ROWS:
        t, n = statistics.median(torch_ms[name]), statistics.median(netgrow_ms[name])
        print(f"{name:<28} {t:>11.3f} {n:>11.3f} {t / n:>16.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
