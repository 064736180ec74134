#!/usr/bin/env python3
"""The GPU-performance table from one run of bench/compare/run_gpu.sh: netgrow's Google Benchmark JSON files
(gemm.json, svd.json, train.json) and PyTorch's torch.json in DIR. Prints Markdown (and writes DIR/table.md):
each row's best peer, netgrow's best form, the ratio peer / netgrow (> 1: netgrow is faster), the issue's
target and whether it is met. Times in ms (medians)."""
import json
import os
import sys


def load_gbench(path):
    """{benchmark name: ms} from a Google Benchmark JSON file (skipped/errored runs left out)."""
    if not os.path.exists(path):
        return {}
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
    out = {}
    for b in json.load(open(path))["benchmarks"]:
        if b.get("error_occurred") or b.get("run_type") == "aggregate":
            continue
        # The benchmarks time several calls per iteration: their counters give the time per call.
        name = b["name"].replace("/manual_time", "")
        if "us_per_gemm" in b:
            out[name] = b["us_per_gemm"] * 1e-3
        elif "us_per_call" in b:
            out[name] = b["us_per_call"] * 1e-3
        elif "ms_per_step" in b:
            out[name] = b["ms_per_step"]
        elif "ms_per_growth" in b:
            out[name] = b["ms_per_growth"]
        else:
            out[name] = b["real_time"] * scale[b["time_unit"]]
    return out


def pick(times, prefix):
    """(name, ms) of the fastest entry whose name starts with prefix, or (None, None)."""
    hits = [(ms, name) for name, ms in times.items() if name.startswith(prefix)]
    if not hits:
        return None, None
    ms, name = min(hits)
    return name, ms


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "."
    ng = {}
    for f in ("gemm.json", "svd.json", "train.json"):
        ng.update(load_gbench(os.path.join(d, f)))
    torch = json.load(open(os.path.join(d, "torch.json"))) if os.path.exists(os.path.join(d, "torch.json")) else {}
    rows = []  # (work, peer label, peer ms, netgrow label, netgrow ms, target text, target check)

    def fmt(ms):
        return "—" if ms is None else (f"{ms:.4f}" if ms < 0.1 else f"{ms:.3f}" if ms < 10 else f"{ms:.1f}")

    def add(work, peers, mine, target_text, check):
        peers = [(label, ms) for label, ms in peers if ms is not None]
        best_peer = min(peers, key=lambda p: p[1]) if peers else (None, None)
        mine = [(label, ms) for label, ms in mine if ms is not None]
        best = min(mine, key=lambda p: p[1]) if mine else (None, None)
        peer_text = ", ".join(f"{label} {fmt(ms)}" for label, ms in peers) or "—"
        mine_text = ", ".join(f"{label} {fmt(ms)}" for label, ms in mine) or "—"
        ratio = best_peer[1] / best[1] if best[1] and best_peer[1] else None
        met = "—" if best[1] is None else ("yes" if check(best[1], dict(peers)) else "no")
        rows.append((work, peer_text, mine_text, "—" if ratio is None else f"{ratio:.2f}", target_text, met))

    for shape, label, factor in (("square_4096", "SGEMM 4096³", 0.9), ("conv_16x131072x144", "GEMM 16×131072×144", 1.0),
                                 ("conv_32x32768x288", "GEMM 32×32768×288", 1.0),
                                 ("conv_64x8192x576", "GEMM 64×8192×576", 1.0),
                                 ("conv_1024x128x784", "GEMM 1024×128×784", 1.0)):
        cublas = ng.get(f"gemm/{shape}/cublas")
        native = pick(ng, f"gemm/{shape}/v")
        auto = ng.get(f"gemm/{shape}/automatic")
        add(label, [("cuBLAS", cublas), ("torch.mm", torch.get(f"gemm/{shape}"))],
            [("native automatic", auto), (f"best: {(native[0] or '?').split('/')[-1]}", native[1])],
            f"native ≥ {factor} × cuBLAS", lambda ms, p, c=cublas, f=factor: c is not None and c / ms >= f)
    for n in (576, 1152):
        for k in (8, 64):
            add(f"top-{k} SVD {n}×{n}",
                [("gesvdj", pick(ng, f"gesvdj/{n}x{n}/k:{k}")[1]), ("torch gesvdj", torch.get(f"svd/{n}x{n}/gesvdj")),
                 ("svd_lowrank", torch.get(f"svd/{n}x{n}/k:{k}/lowrank"))],
                [("topk cuBLAS GEMM", pick(ng, f"topk/{n}x{n}/k:{k}/gemm:cublas")[1]),
                 ("topk native GEMM", pick(ng, f"topk/{n}x{n}/k:{k}/gemm:native")[1])],
                "≤ 0.5 ms", lambda ms, p: ms <= 0.5)
    add("SVD 10×20", [("gesvdj", pick(ng, "gesvdj/10x20")[1]), ("svd_lowrank", torch.get("svd/10x20/lowrank"))],
        [("Jacobi, 1 matrix", pick(ng, "jacobi/10x20/batch:1/")[1])], "≤ 0.03 ms", lambda ms, p: ms <= 0.03)
    targets = {"mlp_784_1024_1024_10": ("MLP 784-1024-1024-10, batch 128", 0.15),
               "wrn_28_1": ("WRN-28-1 (no inner BN), batch 128", 4.0),
               "wrn_28_1_bn": ("WRN-28-1 with BN, batch 128", 5.3),
               "vgg11_maxpool": ("VGG-11 with max-pool, batch 128", 4.3)}
    for model, (label, target) in targets.items():
        add(f"train step, {label}",
            [("eager", torch.get(f"train/{model}/eager")), ("CUDA graph", torch.get(f"train/{model}/graph"))],
            [("cuBLAS GEMM", ng.get(f"train/{model}/gemm:cublas")), ("native GEMM", ng.get(f"train/{model}/gemm:native")),
             ("implicit-GEMM conv", ng.get(f"train/{model}/conv:implicit")),
             ("graph, cuBLAS", ng.get(f"train/{model}/graph:cublas")),
             ("graph, native", ng.get(f"train/{model}/graph:native")),
             ("graph, implicit conv", ng.get(f"train/{model}/graph:implicit"))],
            f"≤ {target} ms", lambda ms, p, t=target: ms <= t)
    mlp_step = min([v for v in (ng.get(f"train/mlp_784_1024_1024_10/{row}")
                                for row in ("gemm:cublas", "gemm:native", "graph:cublas", "graph:native"))
                    if v is not None], default=None)
    add("GradMax growth, dense 1024, 64 neurons, batch 512",
        [("full SVD", torch.get("grow/gradmax_dense_1024/gesvdj")), ("svd_lowrank", torch.get("grow/gradmax_dense_1024/lowrank"))],
        [("cuBLAS GEMM", ng.get("grow/gradmax_dense_1024/k:64/batch:512/gemm:cublas")),
         ("native GEMM", ng.get("grow/gradmax_dense_1024/k:64/batch:512/gemm:native"))],
        "≤ 1 ms and < one training step", lambda ms, p: ms <= 1.0 and (mlp_step is None or ms < mlp_step))

    head = ["work", "peer (ms)", "netgrow (ms)", "best peer / best netgrow", "target", "met"]
    lines = [f"Peer: PyTorch {torch.get('_torch', '?')} on {torch.get('_device', '?')}", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(d, "table.md"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
