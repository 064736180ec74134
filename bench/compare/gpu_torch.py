#!/usr/bin/env python3
"""PyTorch peers of netgrow's GPU benchmarks (bench/cuda/): the same shapes, models, losses and optimizer.

Rows (FP32 everywhere, TF32 off for matmul and cuDNN):
  gemm/<shape>                       torch.mm on row-major A (m, k), B (k, n)
  svd/<n>x<n>/k:<k>/<method>         gesvdj: torch.linalg.svd(driver='gesvdj') full SVD, top k kept;
                                     lowrank: torch.svd_lowrank(q=k+10, niter=2) (netgrow's oversampling
                                     and power iterations)
  svd/10x20/<method>                 one 10 x 20 matrix
  train/<model>/<eager|graph>        forward, cross-entropy, backward, SGD(lr 0.01, momentum 0.9) on a
                                     fixed batch; eager, and the whole step captured in one CUDA graph and
                                     replayed (PyTorch's fastest form measured in the issue)
  grow/gradmax_dense_1024/<method>   MLP 784-1024-1024-1024-10, batch 512: forward and backward, then M =
                                     dz^T h / N between the middle 1024-wide pair and its top 64 left
                                     singular vectors (full gesvdj SVD or svd_lowrank)
Timing: CUDA events around back-to-back calls (about 20 ms per sample), median over samples.
Writes JSON {row: ms} to --out and prints it.
"""
import argparse
import json
import statistics
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


def block_ms(fn, calls):
    """Milliseconds of `calls` back-to-back calls of fn, by CUDA events."""
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(calls):
        fn()
    stop.record()
    stop.synchronize()
    return start.elapsed_time(stop)


def time_ms(fn, seconds):
    """Median milliseconds per call of fn, over blocks of calls lasting ~20 ms."""
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    calls = 1
    while block_ms(fn, calls) <= 20 and calls <= 1 << 16:
        calls *= 2
    samples, total = [], 0.0
    while total < seconds * 1e3 or len(samples) < 5:
        ms = block_ms(fn, calls)
        total += ms
        samples.append(ms / calls)
    return statistics.median(samples)


GEMM_SHAPES = {  # name: (m, n, k), as in bench/cuda/bench_gemm.cu
    "square_4096": (4096, 4096, 4096),
    "conv_16x131072x144": (16, 131072, 144),
    "conv_32x32768x288": (32, 32768, 288),
    "conv_64x8192x576": (64, 8192, 576),
    "conv_1024x128x784": (1024, 128, 784),
}


class WideBlock(nn.Module):
    """netgrow's WideBlock (layers/wide_block.hpp): pre-activation, optional inner BatchNorm."""

    def __init__(self, cin, cout, stride, inner_norm):
        super().__init__()
        self.bn = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.inner = nn.BatchNorm2d(cout) if inner_norm else nn.Identity()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.project = nn.Conv2d(cin, cout, 1, stride, 0, bias=False) if (cin != cout or stride != 1) else None

    def forward(self, x):
        a = F.relu(self.bn(x))
        y = self.conv2(self.inner(F.relu(self.conv1(a))))
        return y + (self.project(a) if self.project is not None else x)


def wrn_28_1(inner_norm):
    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False)]
    cin = 16
    for width, stride in ((16, 1), (32, 2), (64, 2)):
        for b in range(4):
            layers.append(WideBlock(cin, width, stride if b == 0 else 1, inner_norm))
            cin = width
    layers += [nn.BatchNorm2d(64), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def vgg11_maxpool():
    layers, cin = [], 3
    for v in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, v, 3, 1, 1), nn.ReLU()]
            cin = v
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, 10))


def mlp():
    return nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))


MODELS = {  # name: (builder, input shape without the batch)
    "mlp_784_1024_1024_10": (mlp, (784,)),
    "wrn_28_1": (lambda: wrn_28_1(False), (3, 32, 32)),
    "wrn_28_1_bn": (lambda: wrn_28_1(True), (3, 32, 32)),
    "vgg11_maxpool": (vgg11_maxpool, (3, 32, 32)),
}


def train_rows(seconds, results):
    for name, (build, shape) in MODELS.items():
        torch.manual_seed(0)
        model = build().cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = torch.randn(128, *shape, device="cuda")
        y = torch.randint(0, 10, (128,), device="cuda")

        def step():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        def eager():
            step().item()  # the loss read back, as netgrow's step does

        results[f"train/{name}/eager"] = time_ms(eager, seconds)
        # The whole step in one CUDA graph (warm up on a side stream first, as PyTorch documents).
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                step()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        opt.zero_grad(set_to_none=True)
        with torch.cuda.graph(graph):
            static_loss = step()
        results[f"train/{name}/graph"] = time_ms(graph.replay, seconds)
        del graph, static_loss


def gemm_rows(seconds, results):
    for name, (m, n, k) in GEMM_SHAPES.items():
        a = torch.rand(m, k, device="cuda") * 2 - 1
        b = torch.rand(k, n, device="cuda") * 2 - 1
        c = torch.empty(m, n, device="cuda")
        results[f"gemm/{name}"] = time_ms(lambda: torch.mm(a, b, out=c), seconds)


def svd_rows(seconds, results):
    torch.manual_seed(1)
    for n in (576, 1152):
        a = torch.randn(n, n, device="cuda")
        results[f"svd/{n}x{n}/gesvdj"] = time_ms(lambda: torch.linalg.svd(a, full_matrices=False, driver="gesvdj"),
                                                seconds)
        for k in (8, 64):
            results[f"svd/{n}x{n}/k:{k}/lowrank"] = time_ms(lambda: torch.svd_lowrank(a, q=k + 10, niter=2), seconds)
    small = torch.randn(10, 20, device="cuda")
    results["svd/10x20/gesvdj"] = time_ms(lambda: torch.linalg.svd(small, full_matrices=False, driver="gesvdj"),
                                          seconds)
    results["svd/10x20/lowrank"] = time_ms(lambda: torch.svd_lowrank(small, q=10, niter=2), seconds)


def grow_rows(seconds, results):
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 1024),
                          nn.ReLU(), nn.Linear(1024, 10)).cuda()
    x = torch.randn(512, 784, device="cuda")
    y = torch.randint(0, 10, (512,), device="cuda")

    def aux_matrix():
        h_in = model[:2](x)  # the producer's input (N, 1024)
        z = model[4](F.relu(model[2](h_in)))  # the consumer's pre-activation (N, 1024)
        z.retain_grad()
        loss = F.cross_entropy(model[5:](z), y)
        loss.backward()
        return z.grad.t() @ h_in.detach()  # M (1024, 1024): z.grad carries the mean's 1/N

    def full():
        return torch.linalg.svd(aux_matrix(), full_matrices=False, driver="gesvdj")[0][:, :64]

    def lowrank():
        return torch.svd_lowrank(aux_matrix(), q=64 + 10, niter=2)[0]

    results["grow/gradmax_dense_1024/gesvdj"] = time_ms(full, seconds)
    results["grow/gradmax_dense_1024/lowrank"] = time_ms(lowrank, seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="JSON file for {row: ms}")
    parser.add_argument("--seconds", type=float, default=1.0, help="timing per row")
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    results = {"_device": torch.cuda.get_device_name(0), "_torch": torch.__version__}
    for rows in (gemm_rows, svd_rows, train_rows, grow_rows):
        rows(args.seconds, results)
        print(json.dumps(results, indent=1), flush=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
