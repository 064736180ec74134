#!/usr/bin/env bash
# Runs the CPU peer comparisons (training steps, GradMax growth) against every PyTorch found: Debian's python3-torch (/usr/bin/python3)
# and a PyPI install (the interpreter in $TORCH_PYTHON, or python3 on PATH when it has torch).
# Usage: bench/compare/run_cpu.sh [threads]   (builds the release benchmarks first)
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-2}
cmake --preset release >/dev/null
cmake --build --preset release --target bench_train_step bench_growth bench_conv bench_transformer >/dev/null
binary=build/release/bench/bench_train_step
lscpu | sed -n 's/^Model name: *//p' | head -1 | sed 's/^/cpu: /'
date -u +"date: %Y-%m-%d %H:%M UTC"
ran=0
seen=" "
for py in /usr/bin/python3 "${TORCH_PYTHON:-}" "$(command -v python3)"; do
  [ -n "$py" ] && [ -x "$py" ] || continue
  real=$(readlink -f "$py")
  case "$seen" in *" $real "*) continue ;; esac
  seen="$seen$real "
  "$py" -c "import torch" 2>/dev/null || continue
  echo
  "$py" bench/compare/train_step_torch.py --netgrow "$binary" --threads "$threads"
  echo
  "$py" bench/compare/growth_torch.py --netgrow build/release/bench/bench_growth --threads "$threads"
  echo
  "$py" bench/compare/conv_torch.py --netgrow build/release/bench/bench_conv --threads "$threads"
  echo
  "$py" bench/compare/transformer_torch.py --netgrow build/release/bench/bench_transformer --threads "$threads"
  ran=1
done
[ "$ran" = 1 ] || { echo "no PyTorch found: apt-get install python3-torch, or set TORCH_PYTHON" >&2; exit 1; }
