#!/usr/bin/env bash
# Builds netgrow's tests (Release; the benchmarks and experiment examples are the release preset's, which CI
# also builds) and runs every test: unit tests, gradient checks, training runs, compile-fail tests, the
# consumer projects, the short examples, and the CUDA tests (skipped without a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
# The safetensors interop test (tests/io/check_safetensors.py) reads netgrow's files with the reference
# implementation: numpy and safetensors from PyPI, installed when python3 is there and they are missing
# (the test says it is skipped, and why, when they cannot be).
if command -v python3 >/dev/null && ! python3 -c "import numpy, safetensors" 2>/dev/null; then
  python3 -m pip install --quiet numpy safetensors 2>/dev/null ||
    python3 -m pip install --quiet --break-system-packages numpy safetensors 2>/dev/null ||
    echo "netgrow: could not pip-install numpy and safetensors; test_io_python will be skipped"
fi
cmake --workflow --preset test
