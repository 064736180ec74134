// bench/cuda/event_timer.hpp: GPU timing for the CUDA benchmarks, with CUDA events on one stream, and
// the benchmarks' shared main().
#pragma once

#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <cstdio>

#include "netgrow/core/cuda_check.hpp"

namespace netgrow::bench {

// Seconds per call of `run` over `calls` back-to-back launches on `stream`.
template <class Run>
double seconds_per_call(Run&& run, int calls, cudaStream_t stream) {
  cudaEvent_t start = nullptr, stop = nullptr;
  NETGROW_CUDA_CHECK(cudaEventCreate(&start));
  NETGROW_CUDA_CHECK(cudaEventCreate(&stop));
  NETGROW_CUDA_CHECK(cudaEventRecord(start, stream));
  for (int i = 0; i < calls; ++i) run();
  NETGROW_CUDA_CHECK(cudaEventRecord(stop, stream));
  NETGROW_CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  NETGROW_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  NETGROW_CUDA_CHECK(cudaEventDestroy(start));
  NETGROW_CUDA_CHECK(cudaEventDestroy(stop));
  return static_cast<double>(ms) * 1e-3 / calls;
}

// Times `run` inside Google Benchmark's loop (manual time): one warm-up call, then calls per iteration
// chosen once (1 to 1000) so that an iteration takes about `iteration_seconds`. Returns seconds per call
// over all iterations.
template <class Run>
double time_manual(benchmark::State& state, Run&& run, cudaStream_t stream, double iteration_seconds = 1e-3) {
  run();
  const double once = seconds_per_call(run, 3, stream);
  const double wanted = iteration_seconds / (once > 1e-9 ? once : 1e-9);
  const int calls = static_cast<int>(wanted < 1 ? 1 : wanted > 1000 ? 1000 : wanted);
  double total = 0;
  long long count = 0;
  for (auto _ : state) {
    const double per = seconds_per_call(run, calls, stream);
    state.SetIterationTime(per * calls);
    total += per * calls;
    count += calls;
  }
  state.counters["calls"] = calls;
  return total / static_cast<double>(count > 0 ? count : 1);
}

// A benchmark program's main(): prints a skip message and succeeds when no GPU is visible; otherwise
// names the device, calls register_benchmarks() and runs what Google Benchmark's arguments select.
template <class Register>
int run_gpu_benchmarks(const char* program, int argc, char** argv, Register&& register_benchmarks) {
  if (netgrow::cuda::device_count() == 0) {
    std::printf("SKIPPED: no CUDA device is visible on this machine; %s needs a GPU.\n", program);
    return 0;
  }
  std::printf("%s on %s\n", program, netgrow::cuda::device_description(0).c_str());
  register_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace netgrow::bench
