#!/usr/bin/env bash
# Builds netgrow (Release) and runs every test: unit tests, gradient checks, training runs,
# compile-fail tests, the consumer projects, and the CUDA tests (skipped without a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
cmake --workflow --preset test
