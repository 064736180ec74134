#!/usr/bin/env bash
# Runs netgrow's CUDA checks on a machine with an NVIDIA GPU, in this order: every CUDA test executable,
# the GPU benchmarks, the GPU growth example (examples/gpu_fashion, where Fashion-MNIST is present), the
# same test executables under compute-sanitizer (memcheck and racecheck), and the NCCL / CUDA-tensor MPI
# test. Logs are written as each step ends, so a run cut off by its time limit
# still leaves what it finished.
#
#   scripts/gpu_check.sh BUILD_DIR [OUT_DIR]
#
# BUILD_DIR is a build configured with NETGROW_CUDA=ON (e.g. cmake --preset cuda). Logs go to OUT_DIR
# (default gpu-check/); the script prints a one-line summary per step and exits non-zero when a test
# fails or the sanitizer reports anything. GPU_CHECK_BENCH_ARGS adds arguments to every benchmark
# (e.g. --benchmark_filter=... --benchmark_min_time=0.1s); GPU_CHECK_SANITIZE=0 skips the sanitizer;
# GPU_CHECK_STEP_TIMEOUT (seconds) bounds every step; GPU_CHECK_RACECHECK_ARGS_<test> adds arguments
# to the racecheck run of one test executable (a doctest -tc= filter for the slow ones: racecheck
# makes every shared-memory access a check). memcheck runs with --report-api-errors no: the tests
# provoke failing calls on purpose (out of memory) and netgrow turns every failing call into an
# exception the tests see.
set -uo pipefail
build=${1:?usage: scripts/gpu_check.sh BUILD_DIR [OUT_DIR]}
out=${2:-gpu-check}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$out/gpu.txt"

status=0
step() {  # step NAME LOG COMMAND...
  local name=$1 log=$2
  shift 2
  local start=$SECONDS limit=()
  [ "${GPU_CHECK_STEP_TIMEOUT:-0}" -gt 0 ] && limit=(timeout "$GPU_CHECK_STEP_TIMEOUT")
  if "${limit[@]}" "$@" >"$log" 2>&1; then
    echo "PASS  $name ($((SECONDS - start)) s)"
  else
    echo "FAIL  $name ($((SECONDS - start)) s): see $log"
    tail -n 20 "$log"
    status=1
  fi
}

# racecheck makes every shared-memory access a check: the GEMM and SVD executables run their small
# "sanitizer sweep" cases (every kernel version, tile, transpose, layout and SVD path once) and the
# im2col/col2im and argument cases under it, not the large-size cases (doctest's ? matches the space).
: "${GPU_CHECK_RACECHECK_ARGS_test_cuda_gemm=-tc=*sanitizer?sweep*,*im2col*,*col2im*,*invalid*}"
: "${GPU_CHECK_RACECHECK_ARGS_test_cuda_svd=-tc=*sanitizer?sweep*,*rejects*}"

tests=$(find "$build/tests/cuda" -type f -executable -name 'test_cuda*' | sort)
[ -n "$tests" ] || { echo "no CUDA test executables under $build/tests/cuda"; exit 1; }
for t in $tests; do
  name=$(basename "$t")
  step "$name" "$out/$name.log" "$t"
done
# The benchmarks before the sanitizers: on a short GPU loan the numbers arrive even when the slow
# sanitizer runs are cut off.
for b in $(find "$build/bench/cuda" -maxdepth 1 -type f -executable -name 'bench_*' 2>/dev/null | sort); do
  name=$(basename "$b")
  # shellcheck disable=SC2086
  step "$name" "$out/$name.txt" "$b" --benchmark_counters_tabular=true ${GPU_CHECK_BENCH_ARGS:-}
done
# The GPU growth example on real data, where Fashion-MNIST is on the machine ($NETGROW_FASHION_MNIST, else
# Debian's dataset-fashion-mnist path): GradMax growth on the device with every step a graph replay.
if [ -x "$build/examples/gpu_fashion" ]; then
  fashion=${NETGROW_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
  if ls "$fashion"/train-images-idx3-ubyte* >/dev/null 2>&1; then
    step "gpu_fashion (growth on the GPU, graph replays)" "$out/gpu_fashion.log" "$build/examples/gpu_fashion" --data "$fashion"
  else
    echo "SKIP  gpu_fashion (no Fashion-MNIST under $fashion; set NETGROW_FASHION_MNIST)"
  fi
fi
if [ "${GPU_CHECK_SANITIZE:-1}" = 0 ]; then
  echo "SKIP  compute-sanitizer (GPU_CHECK_SANITIZE=0)"
elif command -v compute-sanitizer >/dev/null; then
  for t in $tests; do
    name=$(basename "$t")
    args_var="GPU_CHECK_RACECHECK_ARGS_${name}"
    # shellcheck disable=SC2206
    extra=(${!args_var:-})
    step "$name under memcheck" "$out/$name.memcheck.log" \
      compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 9 "$t"
    step "$name under racecheck" "$out/$name.racecheck.log" \
      compute-sanitizer --tool racecheck --error-exitcode 9 "$t" "${extra[@]}"
  done
else
  echo "SKIP  compute-sanitizer is not installed"
fi
# The device communicators (tests/dist/nccl_check.cu): NCCL on one rank, CUDA tensors through MPI's host
# staging on one and two ranks sharing the GPU. Needs Open MPI on the GPU machine.
if [ -x "$build/tests/dist/test_dist_nccl" ] && command -v mpirun >/dev/null; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  step "test_dist_nccl (1 rank)" "$out/test_dist_nccl.np1.log" mpirun --oversubscribe -np 1 "$build/tests/dist/test_dist_nccl"
  step "test_dist_nccl (2 ranks, one GPU)" "$out/test_dist_nccl.np2.log" mpirun --oversubscribe -np 2 "$build/tests/dist/test_dist_nccl"
else
  echo "SKIP  test_dist_nccl (not built, or no mpirun on this machine)"
fi
exit $status
