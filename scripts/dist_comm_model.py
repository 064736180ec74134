#!/usr/bin/env python3
"""The communication of data-parallel training and growth, on paper (BENCHMARKS.md, "Data parallelism").

For each model: the bytes dist::GradientAverager all-reduces per step (every trainable parameter's
gradient, fp32 as netgrow trains, and bf16 for comparison), the bytes a growth all-reduces (GradMax's M
per grown site: fan_out x fan_in; Random, LEMON, MSG and G_stack draw from a shared seed and send
nothing but the 8-byte consistency hash per rank), and the time of those all-reduces at NVLink and
InfiniBand bandwidths, next to a step's compute time.

All-reduce model (bandwidth term of a ring; latency ignored, it is microseconds per message):
    flat ring over R ranks, slowest link bw:   t = 2 (R - 1) / R * B / bw
    hierarchical (G GPUs per node on NVLink, one NIC per GPU): reduce-scatter and all-gather inside the
    node over NVLink, all-reduce of B / G between nodes over each GPU's NIC:
        t = 2 (G - 1) / G * B / nvlink + 2 (nodes - 1) / nodes * (B / G) / ib
Bandwidths (per GPU, one direction): NVLink 4 (H100 SXM) 450 GB/s; InfiniBand NDR 400 Gb/s = 50 GB/s.

    python3 scripts/dist_comm_model.py
"""

NVLINK = 450e9  # bytes/s per GPU and direction, H100 SXM NVLink 4
IB = 50e9       # bytes/s per NIC, InfiniBand NDR 400 Gb/s


def small_cnn(c1, c2, fc, classes=10, image=28):
    side = (image - 4) // 2
    params = (9 * c1 + c1) + (c1 * 9 * c2 + c2) + (c2 * side * side * fc + fc) + (fc * classes + classes)
    # GradMax's M per site (fan_out, fan_in): conv1 -> conv2: (c2 9, 1 9); conv2 -> Flatten -> fc1:
    # (fc side^2, c1 9); fc1 -> fc2: (classes, c2 side^2)... fan_in of fc1's producer is fc1's input.
    m = (c2 * 9) * 9 + (fc * side * side) * (c1 * 9) + classes * (c2 * side * side)
    return params, m


def transformer(d, layers, vocab, context, mlp_ratio=4):
    per_block = 4 * d * d + 4 * d + 2 * mlp_ratio * d * d + (mlp_ratio + 1) * d + 4 * d  # attention, MLP, two LNs
    params = vocab * d + context * d + layers * per_block + 2 * d + d * vocab + vocab
    m = layers * d * d  # GradMax on every block's MLP site: M (d, d) (the consumer's d outputs, the producer's d inputs)
    return params, m


def ring(b, ranks, bw):
    return 2 * (ranks - 1) / ranks * b / bw


def hierarchical(b, nodes, gpus_per_node):
    return ring(b, gpus_per_node, NVLINK) + (ring(b / gpus_per_node, nodes, IB) if nodes > 1 else 0.0)


def ms(t):
    return f"{t * 1e3:.3g}"


def main():
    cnn_seed, _ = small_cnn(8, 16, 32)
    cnn_params, cnn_m = small_cnn(16, 32, 64)
    gpt_params, gpt_m = transformer(128, 4, 65, 128)
    big_params, big_m = transformer(2048, 18, 50257, 2048)
    # Step compute of the 1B transformer on paper: 6 N FLOPs per token, 16384 tokens per GPU (global batch 512 x 2048 on 64
    # GPUs), at 40 % of the H100's 989 TFLOP/s dense bf16.
    big_step = 6 * big_params * 16384 / (0.4 * 989e12)
    rows = [
        ("small CNN 16-32-64, 8 GPUs (1 node)", cnn_params, cnn_m, 1, 8, None),
        ("char GPT d128 L4 (examples/char_gpt), 8 GPUs", gpt_params, gpt_m, 1, 8, None),
        ("1B transformer d2048 L18, 64 GPUs (8 nodes x 8)", big_params, big_m, 8, 8, big_step),
    ]
    print(f"small CNN seed 8-16-32: {cnn_seed} parameters; target 16-32-64: {cnn_params}")
    print("| model | parameters | bytes per step (fp32 / bf16) | GradMax bytes per growth | step all-reduce, NVLink ring (ms) "
          "| step all-reduce, 64-GPU flat IB ring / hierarchical (ms) | growth all-reduce (ms) | step compute (ms) | share of a step |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, params, m, nodes, gpn, step in rows:
        b32, b16, bm = 4 * params, 2 * params, 4 * m
        ranks = nodes * gpn
        nv = ring(b32, max(gpn, 2), NVLINK)
        flat = ring(b32, ranks, IB) if nodes > 1 else float("nan")
        hier = hierarchical(b32, nodes, gpn) if nodes > 1 else nv
        grow_t = hierarchical(bm, nodes, gpn) if nodes > 1 else ring(bm, max(gpn, 2), NVLINK)
        share = f"{hier / step * 100:.1f} % (fp32, hierarchical)" if step else "n/a"
        flat_s = "n/a (one node)" if nodes == 1 else f"{ms(flat)} / {ms(hier)}"
        print(f"| {name} | {params / 1e6:,.2f} M | {b32 / 2**20:,.2f} MiB / {b16 / 2**20:,.2f} MiB | {bm / 2**20:,.2f} MiB "
              f"| {ms(nv)} | {flat_s} | {ms(grow_t)} | {ms(step) if step else 'n/a'} | {share} |")


if __name__ == "__main__":
    main()
