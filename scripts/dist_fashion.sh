#!/usr/bin/env bash
# Data-parallel growth on Fashion-MNIST under MPI: builds examples/dist_fashion (Release) and runs it with
# RANKS ranks (default 2), passing the remaining arguments on, e.g.
#   bash scripts/dist_fashion.sh                 # 2 ranks, GradMax growth of the small CNN
#   RANKS=1 bash scripts/dist_fashion.sh --threads 2
# Installs the Debian packages it needs (Open MPI among them). As root, Open MPI must be told it may run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
cmake --preset release >/dev/null
cmake --build build/release --target dist_fashion -j "$(nproc)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
exec mpirun --oversubscribe --bind-to none -np "${RANKS:-2}" build/release/examples/dist_fashion "$@"
