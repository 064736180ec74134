// kernels/mask.cuh: sparsity masks: x *= mask element-wise (mask entries 0 or 1).
//
// Versions:
//   apply_mask_v1_grid_stride   one element per thread per iteration of a grid-stride loop
//
// CPU reference: include/netgrow/backend/cpu/mask.hpp.
#pragma once

#include <cuda_runtime.h>

#include "netgrow/core/config.hpp"
#include "netgrow/kernels/launch.cuh"

namespace netgrow::kernels {

namespace mask_detail {

template <class T>
__global__ void apply_mask_v1_grid_stride(Index n, const T* mask, T* x) {
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < n; i += Index{gridDim.x} * blockDim.x)
    if (mask[i] == T(0)) x[i] = T(0);
}

}  // namespace mask_detail

// x (n) = 0 where mask (n) is 0 (a NaN or infinity there becomes 0 too, unlike a product).
template <class T>
void apply_mask(Index n, const T* mask, T* x, cudaStream_t stream) {
  if (n <= 0) return;
  mask_detail::apply_mask_v1_grid_stride<T><<<detail::grid_blocks(n), detail::threads_per_block, 0, stream>>>(n, mask, x);
  NETGROW_CHECK_LAUNCH("apply_mask_v1_grid_stride");
}

}  // namespace netgrow::kernels
