#!/usr/bin/env bash
# What including netgrow costs a user: CPU seconds and peak memory of g++ parsing each module header
# (-fsyntax-only), and of compiling the tour and each example at -O2, next to <Eigen/Dense> measured in
# the same run with the same flags (those a user gets from netgrow::netgrow: C++20, Eigen, OpenMP).
#
#   bash bench/include_cost.sh [--repeat N] [--skip-examples]
#
# Prints a Markdown table (BENCHMARKS.md, "Include cost"). Each row is the fastest of N runs (default 1).
# Run it on an idle machine: the numbers are CPU seconds, but two compiles side by side still slow each other.
set -euo pipefail
cd "$(dirname "$0")/.."

repeat=1
examples=1
while [ $# -gt 0 ]; do
  case "$1" in
    --repeat) repeat="$2"; shift 2 ;;
    --skip-examples) examples=0; shift ;;
    *) echo "usage: $0 [--repeat N] [--skip-examples]" >&2; exit 2 ;;
  esac
done

cxx=${CXX:-g++}
eigen=$(pkg-config --cflags eigen3 2>/dev/null || echo "-isystem /usr/include/eigen3")
flags=(-std=c++20 -fopenmp -Iinclude -Iexamples $eigen)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# measure NAME MODE FILE: fastest CPU seconds (user + sys) and its peak resident MB over `repeat` runs.
measure() {
  local mode=$1 file=$2 best="" mem=""
  local args=("${flags[@]}")
  if [ "$mode" = parse ]; then args+=(-fsyntax-only); else args+=(-O2 -c -o "$scratch/out.o"); fi
  for _ in $(seq "$repeat"); do
    /usr/bin/time -f "%U %S %M" -o "$scratch/time" "$cxx" "${args[@]}" "$file" >/dev/null 2>"$scratch/err" || {
      echo "include_cost: $cxx failed on $file:" >&2; cat "$scratch/err" >&2; exit 1; }
    read -r user sys kb <"$scratch/time"
    local s
    s=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$s
      mem=$((kb / 1024))
    fi
  done
  echo "$best $mem"
}

header_source() {  # a translation unit that includes one header
  local src="$scratch/$(echo "$1" | tr '/<>.' '____').cpp"
  echo "#include <$1>" >"$src"
  echo "$src"
}

echo "compiler: $($cxx --version | head -n 1); flags: ${flags[*]}; $(nproc) cores; $(date -u +%Y-%m-%d)"
echo
echo "| what | parse s | parse MB | parse vs Eigen/Dense | -O2 compile s |"
echo "|---|---|---|---|---|"
read -r eigen_s eigen_mb < <(measure parse "$(header_source Eigen/Dense)")
read -r eigen_o2 _ < <(measure o2 "$(header_source Eigen/Dense)")
echo "| \`<Eigen/Dense>\` | $eigen_s | $eigen_mb | 1.00 | $eigen_o2 |"

row() {  # row LABEL FILE [o2]
  local label=$1 file=$2 o2=${3:-}
  read -r s mb < <(measure parse "$file")
  local ratio
  ratio=$(awk -v a="$s" -v b="$eigen_s" 'BEGIN { printf "%.2f", a / b }')
  local c="-"
  if [ -n "$o2" ]; then read -r c _ < <(measure o2 "$file"); fi
  echo "| $label | $s | $mb | $ratio | $c |"
}

for module in core ops layers network blocks grow io models data train optim netgrow; do
  header=netgrow/$module.hpp
  [ -f "include/$header" ] || continue
  row "\`<$header>\`" "$(header_source "$header")"
done
if [ "$examples" = 1 ]; then
  for example in examples/*/main.cpp; do
    case "$example" in examples/consumer/*) continue ;; esac
    row "\`$example\`" "$example" o2
  done
fi
