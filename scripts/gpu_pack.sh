#!/usr/bin/env bash
# Packs what scripts/gpu_check.sh runs into one archive small enough to carry to a lent GPU machine (the
# device tool carries at most 64 MiB; the executables alone are about 80 MB, about a fifth of that
# compressed): the CUDA test executables, the GPU benchmarks, the GPU example and the NCCL test from
# BUILD_DIR under build/, the shared libraries they load that a GPU image may lack (everything ldd
# resolves outside glibc, the compiler's runtime and the CUDA toolkit: Google Benchmark, OpenMP, Open MPI)
# under lib/, and with --data Fashion-MNIST under fashion-mnist/ (for examples/gpu_fashion).
#
#   scripts/gpu_pack.sh BUILD_DIR [ARCHIVE] [--data]      (ARCHIVE default: build/gpu-pack.tar.xz)
#
# BUILD_DIR must be configured for any x86-64 CPU (-DNETGROW_NATIVE=OFF: -march=native code from this
# machine may not run on the GPU machine's CPU) with the CUDA tests on, e.g.
#   cmake --preset release -B build/gpu -DNETGROW_NATIVE=OFF && cmake --build build/gpu -j2
# On the GPU machine (the archive carried as an ignored path):
#   mkdir -p /tmp/pack && tar -xJf build/gpu-pack.tar.xz -C /tmp/pack
#   LD_LIBRARY_PATH=/tmp/pack/lib NETGROW_FASHION_MNIST=/tmp/pack/fashion-mnist scripts/gpu_check.sh /tmp/pack/build "$OUT"
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: scripts/gpu_pack.sh BUILD_DIR [ARCHIVE] [--data]}
archive=build/gpu-pack.tar.xz
data=0
shift
for arg in "$@"; do
  case "$arg" in
    --data) data=1 ;;
    *) archive=$arg ;;
  esac
done

cache="$build/CMakeCache.txt"
[ -f "$cache" ] || { echo "gpu_pack: $build is not a CMake build folder" >&2; exit 2; }
if grep -q '^NETGROW_NATIVE:BOOL=ON' "$cache"; then
  echo "gpu_pack: $build is built with -march=native (NETGROW_NATIVE=ON); reconfigure with -DNETGROW_NATIVE=OFF" >&2
  exit 2
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/build" "$stage/lib"
binaries=$( (find "$build/tests/cuda" -type f -executable -name 'test_cuda*'
             find "$build/bench/cuda" -maxdepth 1 -type f -executable -name 'bench_*'
             ls "$build/examples/gpu_fashion" "$build/tests/dist/test_dist_nccl" ) 2>/dev/null | sort)
[ -n "$binaries" ] || { echo "gpu_pack: no CUDA test executables under $build (NETGROW_CUDA_TESTS=ON?)" >&2; exit 2; }
for b in $binaries; do
  rel=${b#"$build"/}
  mkdir -p "$stage/build/$(dirname "$rel")"
  cp "$b" "$stage/build/$rel"
  strip --strip-unneeded "$stage/build/$rel" 2>/dev/null || true
done

# Shared libraries the executables load, less those every machine (glibc, the compiler's runtime) or the
# GPU image (the CUDA toolkit's libraries and the driver) provides.
skip='^(linux-vdso|ld-linux|libc\.|libm\.|libdl\.|librt\.|libpthread\.|libgcc_s\.|libstdc\+\+\.|libcuda\.|libcudart|libcublas|libcublasLt|libcusolver|libcusparse|libnvJitLink|libnccl)'
for b in $binaries; do
  ldd "$b" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }'
done | sort -u | while read -r name path; do
  if [[ ! "$name" =~ $skip ]]; then cp -L "$path" "$stage/lib/$name"; fi
done

if [ "$data" = 1 ]; then
  fashion=${NETGROW_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
  ls "$fashion"/train-images-idx3-ubyte* >/dev/null 2>&1 || { echo "gpu_pack: no Fashion-MNIST under $fashion" >&2; exit 2; }
  mkdir -p "$stage/fashion-mnist"
  cp "$fashion"/*-ubyte* "$stage/fashion-mnist/"
fi

mkdir -p "$(dirname "$archive")"
tar -C "$stage" -cf - . | xz -T2 -6 >"$archive"
echo "gpu_pack: $(echo "$binaries" | wc -l) executables, $(ls "$stage/lib" | wc -l) libraries ($(ls "$stage/lib" | tr '\n' ' '))$([ "$data" = 1 ] && echo ", Fashion-MNIST") -> $archive ($(du -m "$archive" | cut -f1) MiB)"
