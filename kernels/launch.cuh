// kernels/launch.cuh: launch geometry and the deterministic block reduction shared by the element-wise,
// reduction, loss, optimizer and layout families. Not a kernel family itself (no versions).
//
// Determinism: every reduction in netgrow's kernels combines values in an order fixed by the problem
// size alone (grid sizes below depend on n, never on the device), with no floating-point atomics, so
// a result is bit-identical from run to run and across GPUs of one architecture.
#pragma once

#include <cuda_runtime.h>

#include "netgrow/core/cuda_check.hpp"
#include "netgrow/core/config.hpp"

namespace netgrow::kernels::detail {

// Threads per block of the one-dimensional grid-stride kernels.
inline constexpr int threads_per_block = 256;

// Most blocks a grid-stride launch uses (enough to fill an H100 several times over).
inline constexpr Index max_grid_blocks = 4096;

// Blocks for n elements at `per_thread` elements per thread, capped at max_grid_blocks (>= 1).
inline unsigned grid_blocks(Index n, Index per_thread = 1, int block = threads_per_block) {
  const Index per_block = static_cast<Index>(block) * per_thread;
  Index blocks = (n + per_block - 1) / per_block;
  if (blocks < 1) blocks = 1;
  if (blocks > max_grid_blocks) blocks = max_grid_blocks;
  return static_cast<unsigned>(blocks);
}

// Checks the launch just made (bad configuration, missing kernel image for this GPU).
inline void check_launch(const char* kernel, const char* file, int line) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) ::netgrow::detail::throw_cuda_error(status, kernel, file, line);
}

// Sum of `value` over the threads of a block of `Block` threads (a power of two), in a fixed tree
// order. `shared` holds Block elements; the result is valid in thread 0. Every thread must call it.
template <int Block, class Acc>
__device__ Acc block_sum(Acc value, Acc* shared) {
  static_assert((Block & (Block - 1)) == 0, "block_sum: Block must be a power of two");
  const int t = static_cast<int>(threadIdx.x);
  shared[t] = value;
  __syncthreads();
  for (int stride = Block / 2; stride > 0; stride /= 2) {
    if (t < stride) shared[t] = shared[t] + shared[t + stride];
    __syncthreads();
  }
  const Acc total = shared[0];
  __syncthreads();  // shared may be reused by the caller right after
  return total;
}

}  // namespace netgrow::kernels::detail

// Checks the kernel launch just made: NETGROW_CHECK_LAUNCH("fill_v1_grid_stride").
#define NETGROW_CHECK_LAUNCH(kernel_name) ::netgrow::kernels::detail::check_launch(kernel_name, __FILE__, __LINE__)
