// bench/cuda/bench_gemm.cu: the GEMM kernel family (kernels/gemm.cuh) against cuBLAS, side by side.
//
//   gemm/<shape>/cublas                 cublasSgemm through the row-major trick C^T = op(B)^T op(A)^T,
//                                       default math mode (no TF32)
//   gemm/<shape>/<version>              kernels::gemm with each GemmVersion (v1, v2, v3, v4, automatic)
//   gemm_tile/<shape>/<version>/<tile>  v2 and v3 with each fixed tile, v4 with 64x64 and 32x32 (its k-split
//                                       count still chosen by the cost model): data for tuning the automatic
//                                       choice (skip them with --benchmark_filter=^gemm/)
// Shapes (m x n x k, transposes): square 4096^3; the conv training shapes 16x131072x144, 32x32768x288,
// 64x8192x576, 1024x128x784; the MLP 784-1024-1024-10 at batch 128, each layer's three GEMMs
// y = x W^T (A, B^T), dW = dy^T x (A^T, B), dx = dy W (A, B).
//
// Timing: CUDA events around `calls` back-to-back launches on one stream (calls chosen so one iteration
// takes about a millisecond); the benchmark's time is that of one iteration. Counters:
//   us_per_gemm  microseconds per GEMM
//   TFLOP/s      2 m n k per GEMM over the event time
//   x_cublas     cuBLAS time per GEMM / this time per GEMM, measured in the same process (> 1: faster)
// Before timing, every benchmark checks its C against cuBLAS's: max |C - C_cublas| <= 1e-5 k (inputs
// uniform in [-1, 1]); a mismatch is reported as an error and nothing is timed.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <netgrow/kernels/gemm.cuh>

#include "event_timer.hpp"
#include "netgrow/core/cuda_check.hpp"
#include "netgrow/core/cuda_library_check.hpp"

namespace {

namespace kernels = netgrow::kernels;
using netgrow::Index;

struct Shape {
  const char* name;
  bool trans_a, trans_b;
  Index m, n, k;
};

const Shape shapes[] = {
    {"square_4096", false, false, 4096, 4096, 4096},          {"conv_16x131072x144", false, false, 16, 131072, 144},
    {"conv_32x32768x288", false, false, 32, 32768, 288},      {"conv_64x8192x576", false, false, 64, 8192, 576},
    {"conv_1024x128x784", false, false, 1024, 128, 784},      {"mlp1_fwd_128x1024x784", false, true, 128, 1024, 784},
    {"mlp1_dW_1024x784x128", true, false, 1024, 784, 128},    {"mlp1_dx_128x784x1024", false, false, 128, 784, 1024},
    {"mlp2_fwd_128x1024x1024", false, true, 128, 1024, 1024}, {"mlp2_dW_1024x1024x128", true, false, 1024, 1024, 128},
    {"mlp2_dx_128x1024x1024", false, false, 128, 1024, 1024}, {"mlp3_fwd_128x10x1024", false, true, 128, 10, 1024},
    {"mlp3_dW_10x1024x128", true, false, 10, 1024, 128},      {"mlp3_dx_128x1024x10", false, false, 128, 1024, 10},
};

// One stream and one cuBLAS handle for the whole run.
struct Gpu {
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  Gpu() {
    NETGROW_CUDA_CHECK(cudaStreamCreate(&stream));
    NETGROW_CUBLAS_CHECK(cublasCreate(&cublas));
    NETGROW_CUBLAS_CHECK(cublasSetStream(cublas, stream));
    NETGROW_CUBLAS_CHECK(cublasSetMathMode(cublas, CUBLAS_DEFAULT_MATH));  // no TF32
  }
  ~Gpu() {
    (void)cublasDestroy(cublas);
    (void)cudaStreamDestroy(stream);
  }
};

Gpu& gpu() {
  static Gpu instance;
  return instance;
}

struct DeviceFree {
  void operator()(float* p) const { (void)cudaFree(p); }
};
using DeviceArray = std::unique_ptr<float, DeviceFree>;

DeviceArray device_array(Index count) {
  float* p = nullptr;
  NETGROW_CUDA_CHECK(cudaMalloc(&p, sizeof(float) * static_cast<std::size_t>(std::max<Index>(count, 1))));
  return DeviceArray(p);
}

// The operands of one shape, stored tight (row stride = stored width), uniform in [-1, 1].
struct Operands {
  const Shape& shape;
  Index lda, ldb, ldc;
  DeviceArray a, b, c;
  explicit Operands(const Shape& s)
      : shape(s),
        lda(s.trans_a ? s.m : s.k),
        ldb(s.trans_b ? s.k : s.n),
        ldc(s.n),
        a(device_array(s.m * s.k)),
        b(device_array(s.k * s.n)),
        c(device_array(s.m * s.n)) {
    fill(a.get(), s.m * s.k, 1);
    fill(b.get(), s.k * s.n, 2);
    NETGROW_CUDA_CHECK(cudaMemset(c.get(), 0, sizeof(float) * static_cast<std::size_t>(s.m * s.n)));
  }
  static void fill(float* device, Index count, std::uint64_t seed) {
    std::vector<float> host(static_cast<std::size_t>(count));
    std::uint64_t state = seed * 0x9E3779B97F4A7C15ull;
    for (float& x : host) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      x = static_cast<float>(static_cast<double>(state >> 11) * 0x1.0p-52 - 1.0);
    }
    NETGROW_CUDA_CHECK(cudaMemcpy(device, host.data(), sizeof(float) * host.size(), cudaMemcpyHostToDevice));
  }
  std::vector<float> c_on_host() const {
    std::vector<float> host(static_cast<std::size_t>(shape.m * shape.n));
    NETGROW_CUDA_CHECK(cudaStreamSynchronize(gpu().stream));
    NETGROW_CUDA_CHECK(cudaMemcpy(host.data(), c.get(), sizeof(float) * host.size(), cudaMemcpyDeviceToHost));
    return host;
  }
};

// C = op(A) op(B) by cuBLAS: column-major cuBLAS computes C^T (n, m) = op(B)^T (n, k) op(A)^T (k, m),
// and a row-major (r, c) matrix with row stride ld is the column-major (c, r) matrix with leading dim ld.
void cublas_gemm(Operands& x) {
  const float alpha = 1.0f, beta = 0.0f;
  const Shape& s = x.shape;
  NETGROW_CUBLAS_CHECK(cublasSgemm(gpu().cublas, s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(s.n), static_cast<int>(s.m),
                                   static_cast<int>(s.k), &alpha, x.b.get(), static_cast<int>(x.ldb), x.a.get(),
                                   static_cast<int>(x.lda), &beta, x.c.get(), static_cast<int>(x.ldc)));
}

void native_gemm(Operands& x, kernels::GemmVersion version, kernels::GemmTile tile) {
  const Shape& s = x.shape;
  kernels::gemm_with_tile<float>(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0f, x.a.get(), x.lda, x.b.get(), x.ldb, 0.0f,
                                 x.c.get(), x.ldc, gpu().stream, version, tile);
}

// Calls per timed iteration: about a millisecond of GPU work, at least 1, at most 1000.
template <class Run>
int calls_per_iteration(Run&& run) {
  run();  // warm-up (first-launch costs, occupancy queries)
  const double once = netgrow::bench::seconds_per_call(run, 3, gpu().stream);
  return static_cast<int>(std::clamp(1e-3 / std::max(once, 1e-9), 1.0, 1000.0));
}

// cuBLAS seconds per GEMM for a shape, measured once per process.
double cublas_seconds(const Shape& s, Operands& x) {
  static std::map<std::string, double> measured;
  const auto found = measured.find(s.name);
  if (found != measured.end()) return found->second;
  const auto run = [&] { cublas_gemm(x); };
  const int calls = calls_per_iteration(run);
  double best = 1e30;
  for (int i = 0; i < 5; ++i) best = std::min(best, netgrow::bench::seconds_per_call(run, calls, gpu().stream));
  measured[s.name] = best;
  return best;
}

// "" when the native C matches cuBLAS's, else what differs.
std::string compare_with_cublas(Operands& x, kernels::GemmVersion version, kernels::GemmTile tile) {
  NETGROW_CUDA_CHECK(cudaMemset(x.c.get(), 0xFF, sizeof(float) * static_cast<std::size_t>(x.shape.m * x.shape.n)));
  native_gemm(x, version, tile);
  const std::vector<float> native = x.c_on_host();
  cublas_gemm(x);
  const std::vector<float> reference = x.c_on_host();
  double worst = 0;
  for (std::size_t e = 0; e < native.size(); ++e) {
    const double d = std::abs(static_cast<double>(native[e]) - static_cast<double>(reference[e]));
    if (!(d <= worst)) worst = std::isnan(d) ? INFINITY : d;
  }
  const double tolerance = 1e-5 * static_cast<double>(std::max<Index>(x.shape.k, 1));
  if (worst <= tolerance) return "";
  std::ostringstream out;
  out << "differs from cuBLAS: max |C - C_cublas| = " << worst << " > " << tolerance;
  return out.str();
}

// Times `run` (calls per iteration chosen once) and sets the counters.
template <class Run>
void time_gemm(benchmark::State& state, const Shape& s, double cublas_per_call, Run&& run) {
  const int calls = calls_per_iteration(run);
  double total_seconds = 0;
  std::int64_t total_calls = 0;
  for (auto _ : state) {
    const double per_call = netgrow::bench::seconds_per_call(run, calls, gpu().stream);
    state.SetIterationTime(per_call * calls);
    total_seconds += per_call * calls;
    total_calls += calls;
  }
  const double flops = 2.0 * static_cast<double>(s.m) * static_cast<double>(s.n) * static_cast<double>(s.k);
  const double per_call = total_seconds / static_cast<double>(std::max<std::int64_t>(total_calls, 1));
  state.counters["us_per_gemm"] = per_call * 1e6;
  state.counters["TFLOP/s"] = flops / per_call * 1e-12;
  state.counters["x_cublas"] = cublas_per_call / per_call;
  state.counters["calls"] = calls;
}

void bench_cublas(benchmark::State& state, const Shape& s) {
  Operands x(s);
  const double cublas_per_call = cublas_seconds(s, x);
  time_gemm(state, s, cublas_per_call, [&] { cublas_gemm(x); });
}

void bench_native(benchmark::State& state, const Shape& s, kernels::GemmVersion version, kernels::GemmTile tile) {
  Operands x(s);
  const std::string failure = compare_with_cublas(x, version, tile);
  if (!failure.empty()) {
    state.SkipWithError(failure.c_str());
    for (auto _ : state) {
    }
    return;
  }
  const double cublas_per_call = cublas_seconds(s, x);
  time_gemm(state, s, cublas_per_call, [&] { native_gemm(x, version, tile); });
}

constexpr kernels::GemmVersion versions[] = {kernels::GemmVersion::v1_smem_tiled,
                                             kernels::GemmVersion::v2_register_blocked,
                                             kernels::GemmVersion::v3_double_buffered,
                                             kernels::GemmVersion::v4_split_k_cluster, kernels::GemmVersion::automatic};

void register_benchmarks() {
  for (const Shape& s : shapes) {
    const std::string base = std::string("gemm/") + s.name + "/";
    benchmark::RegisterBenchmark((base + "cublas").c_str(), [&s](benchmark::State& st) { bench_cublas(st, s); })
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
    for (kernels::GemmVersion v : versions)
      benchmark::RegisterBenchmark(
          (base + kernels::gemm_version_name(v)).c_str(),
          [&s, v](benchmark::State& st) { bench_native(st, s, v, kernels::GemmTile::automatic); })
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
  }
  for (const Shape& s : shapes)
    for (kernels::GemmVersion v : {kernels::GemmVersion::v2_register_blocked, kernels::GemmVersion::v3_double_buffered,
                                   kernels::GemmVersion::v4_split_k_cluster})
      for (kernels::GemmTile tile : kernels::gemm_fixed_tiles) {
        if (v == kernels::GemmVersion::v4_split_k_cluster && tile != kernels::GemmTile::t64x64 &&
            tile != kernels::GemmTile::t32x32)
          continue;  // v4 runs 64x64 for the others
        const std::string name = std::string("gemm_tile/") + s.name + "/" + kernels::gemm_version_name(v) + "/" +
                                 kernels::gemm_tile_name(tile);
        benchmark::RegisterBenchmark(name.c_str(),
                                     [&s, v, tile](benchmark::State& st) { bench_native(st, s, v, tile); })
            ->UseManualTime()
            ->Unit(benchmark::kMicrosecond);
      }
}

}  // namespace

int main(int argc, char** argv) {
  return netgrow::bench::run_gpu_benchmarks("bench_gemm", argc, argv, register_benchmarks);
}
