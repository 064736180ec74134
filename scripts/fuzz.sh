#!/usr/bin/env bash
# Builds netgrow's fuzz targets (preset "fuzz": clang, libFuzzer, ASan, UBSan) and runs each for a
# bounded time; fails when a target finds a crash, a sanitizer report, a leak or a timeout.
# Usage: scripts/fuzz.sh [seconds per target (default 60)] [target names (default: every target)]
# Seeds are read from fuzz/corpus/NAME/ (never written); inputs a run discovers are kept in
# BUILD/corpus/NAME/ for the next run, findings go to BUILD/artifacts/NAME/ (BUILD: build/fuzz, or
# $NETGROW_FUZZ_BUILD_DIR). Reproduce a finding with: BUILD/fuzz/NAME_fuzzer FILE
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift $(( $# > 0 ? 1 : 0 ))
build=${NETGROW_FUZZ_BUILD_DIR:-build/fuzz}

scripts/install_deps.sh clang libclang-rt-dev  # clang and its libFuzzer runtime
cmake --preset fuzz -B "$build" >/dev/null

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then  # every fuzz target the build defines
  mapfile -t targets < <(cmake --build "$build" --target help | grep -oE '[A-Za-z0-9_]+_fuzzer' | sed 's/_fuzzer$//' | sort -u)
fi
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no fuzz targets defined in $build" >&2; exit 1; }

# The targets run side by side, one per core (NETGROW_FUZZ_JOBS to change; libFuzzer is single-threaded),
# each for the full time given; their reports are printed in order once all have finished. A target starts
# as soon as it is built, one at a time while the build still runs (the checkpoint target compiles for
# about two minutes; the others are fuzzed meanwhile).
side_by_side=${NETGROW_FUZZ_JOBS:-$(nproc)}
start_target() {
  local name=$1
  local exe="$build/fuzz/${name}_fuzzer"
  local corpus="$build/corpus/$name" artifacts="$build/artifacts/$name"
  mkdir -p "$corpus" "$artifacts"
  rm -f "$build/$name.status"
  local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1
              -artifact_prefix="$artifacts/")
  [ -f "fuzz/$name.dict" ] && args+=(-dict="fuzz/$name.dict")
  local seeds=()
  [ -d "fuzz/corpus/$name" ] && seeds+=("fuzz/corpus/$name")
  echo "fuzz: $name for ${seconds} s (seeds: ${seeds[*]:-none})"
  { status=0; "$exe" "${args[@]}" "$corpus" "${seeds[@]}" > "$build/$name.log" 2>&1 || status=$?
    echo "$status" > "$build/$name.status"; } &
}

cmake --build "$build" -j 2 > "$build/build.log" 2>&1 &
build_pid=$!
started=" "
while kill -0 "$build_pid" 2>/dev/null; do  # while it builds: each built target (the build tool says so), one beside it
  for name in "${targets[@]}"; do
    [[ "$started" == *" $name "* ]] && continue
    grep -qE "Built target ${name}_fuzzer\$" "$build/build.log" || continue
    [ "$(jobs -rp | wc -l)" -lt "$side_by_side" ] || continue
    start_target "$name"
    started+="$name "
  done
  sleep 1
done
build_status=0
wait "$build_pid" || build_status=$?
cat "$build/build.log"
if [ "$build_status" != 0 ]; then
  echo "fuzz: the build failed ($build_status)" >&2
  wait
  exit 1
fi
for name in "${targets[@]}"; do  # the rest, one per core
  [[ "$started" == *" $name "* ]] && continue
  [ -x "$build/fuzz/${name}_fuzzer" ] || { echo "fuzz: no target '$name' ($build/fuzz/${name}_fuzzer)" >&2; wait; exit 1; }
  while [ "$(jobs -rp | wc -l)" -ge "$side_by_side" ]; do wait -n || true; done
  start_target "$name"
  started+="$name "
done
wait

failed=()
for name in "${targets[@]}"; do
  if [ "$(cat "$build/$name.status" 2>/dev/null)" = 0 ]; then
    echo "fuzz: $name:"
    grep -E "^stat::(number_of_executed_units|peak_rss_mb)|Done [0-9]+ runs" "$build/$name.log" | sed 's/^/  /' || true
  else
    echo "fuzz: $name FAILED; the last lines of $build/$name.log:" >&2
    tail -n 40 "$build/$name.log" >&2
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]} (inputs in $build/artifacts/)" >&2
  exit 1
fi
echo "fuzz: ${targets[*]}: no findings in ${seconds} s each"
