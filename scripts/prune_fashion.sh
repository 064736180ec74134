#!/usr/bin/env bash
# Issue 21, deliverable 5: the small CNN on Fashion-MNIST pruned at initialisation to 90, 95 and 98 %
# sparsity (Random, Magnitude, SNIP, GraSP, SynFlow, NTK-SAP) against dense training, then a dense network
# at 0.3 of the widths (about the FLOPs of a 10 % sparse one), Random-ERK, SET, RigL,
# grow-then-prune and prune-then-grow at 90 %, 3 seeds each, one epoch (468 steps) per run at
# learning rate 0.02 (dense training of this network diverges on some seeds at 0.05).
# About 30 minutes on 2 cores. Writes out/prune/{init,sparse}_summary.json. Extra flags go to both runs.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release --target prune_fashion
mkdir -p out/prune
pf=build/release/examples/prune_fashion
$pf --epochs 1 --seeds 3 --lr 0.02 --densities 0.1,0.05,0.02 --methods Dense,Random,Magnitude,SNIP,GraSP,SynFlow,NTK-SAP \
  --out out/prune/init "$@"
echo
$pf --epochs 1 --seeds 3 --lr 0.02 --densities 0.1 --methods Dense-0.3,Random-ERK,SET,RigL,Grow-Prune,Prune-Grow --out out/prune/sparse "$@"
