#!/usr/bin/env bash
# Builds netgrow's tests (Release; the benchmarks and experiment examples are the release preset's, which CI
# also builds) and runs every test: unit tests, gradient checks, training runs, compile-fail tests, the
# consumer projects, the short examples, and the CUDA tests (skipped without a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
cmake --workflow --preset test
