#!/usr/bin/env bash
# Runs netgrow's GPU benchmarks and their PyTorch peers in one go on a machine with an NVIDIA GPU and
# prints the ratio table (bench/compare/gpu_table.py).
#
#   bench/compare/run_gpu.sh BUILD_DIR [OUT_DIR] [SECONDS]
#
# BUILD_DIR: a build with NETGROW_CUDA=ON and benchmarks (bench/cuda/bench_gemm, bench_svd,
# bench_gpu_train_step); OUT_DIR (default gpu-bench/) receives the JSON files and table.md; SECONDS is
# the minimum timing per row (default 0.5). PYTHON names the interpreter that has torch (default python3).
set -euo pipefail
build=${1:?usage: bench/compare/run_gpu.sh BUILD_DIR [OUT_DIR] [SECONDS]}
out=${2:-gpu-bench}
seconds=${3:-0.5}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$out/gpu.txt"
bench() {  # bench NAME JSON [ARGS...]
  local name=$1 json=$2
  shift 2
  "$build/bench/cuda/$name" --benchmark_min_time="${seconds}" --benchmark_out="$out/$json" \
    --benchmark_out_format=json --benchmark_counters_tabular=true "$@"
}
bench bench_gemm gemm.json --benchmark_filter='^gemm/(square|conv)'
bench bench_svd svd.json
bench bench_gpu_train_step train.json
"${PYTHON:-python3}" "$here/gpu_torch.py" --out "$out/torch.json" --seconds "$seconds" > "$out/torch.log"
"${PYTHON:-python3}" "$here/gpu_table.py" "$out"
