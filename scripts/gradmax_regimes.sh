#!/usr/bin/env bash
# Issue 20, deliverable 4: where does GradMax separate from Random on the data available? Runs the
# fashion_mnist example in regimes chosen to favour it (narrow seeds, more growths, little data, short
# budgets, the MLP) with several seeds; each run prints, besides its table, the paired differences
# against Random (same seed network, same batches): final test accuracy and the mean training loss over
# the growth phase. Writes out/regimes/<name>_{summary.json,curves.csv}. About 40 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release --target fashion_mnist
mkdir -p out/regimes
fm=build/release/examples/fashion_mnist
common=(--plots off --progress off)
run() {
  local name=$1; shift
  echo "=== $name: $*"
  "$fm" "${common[@]}" --out "out/regimes/$name" "$@" | sed -n '/^method/,$p'
  echo
}
mlp_methods=Baseline-Small,Baseline-Big,Random,GradMax,GradMax-Sign,GradMax-Pairs
# The MLP 784-1024-1024-10 from 16 hidden units: 4 growths in the first half of 1 epoch, 10 seeds.
run mlp_narrow --model mlp --seed-fraction 0.015625 --epochs 1 --growths 4 --seeds 10 --methods "$mlp_methods"
# The same with 16 growths (64 neurons per site each time).
run mlp_many --model mlp --seed-fraction 0.015625 --epochs 1 --growths 16 --seeds 10 --methods "$mlp_methods"
# Little data: 3000 training images, 10 epochs, 4 growths.
run mlp_little_data --model mlp --seed-fraction 0.015625 --epochs 10 --growths 4 --train-limit 3000 --seeds 10 \
  --methods "$mlp_methods"
# The small CNN from a sixteenth of its widths (2/4/8), 8 growths in 1 epoch, 5 seeds.
run cnn_narrow --model small --seed-fraction 0.0625 --epochs 1 --growths 8 --seeds 5 --methods Random,GradMax
# Confirmation of the one regime that separated (mlp_many) on 20 fresh seeds.
run mlp_many_confirm --model mlp --seed-fraction 0.015625 --epochs 1 --growths 16 --seeds 20 --first-seed 10 \
  --methods Random,GradMax,GradMax-Pairs
# The narrow CNN at a lower learning rate (GradMax diverged on 2 of 5 seeds at 0.05).
run cnn_narrow_lr02 --model small --seed-fraction 0.0625 --epochs 1 --growths 8 --seeds 5 --lr 0.02 --methods Random,GradMax
