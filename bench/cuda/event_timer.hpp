// bench/cuda/event_timer.hpp: GPU timing for the CUDA benchmarks, with CUDA events on one stream.
#pragma once

#include <cuda_runtime.h>

#include "netgrow/backend/cuda/check.hpp"

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

}  // namespace netgrow::bench
