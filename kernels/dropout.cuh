// kernels/dropout.cuh: dropout, y = x * scale where the mask keeps an element, 0 elsewhere; the mask is a
// function of each element's coordinates (include/netgrow/core/dropout_mask.hpp), so the kernel drops
// exactly the elements the CPU drops.
//
// Versions:
//   dropout_v1_grid_stride  one element per thread per iteration of a grid-stride loop; each element
//                           hashes its row key and then its own (5 SplitMix64 finalisers, no memory
//                           beyond x and y: the op is bound by its 8 bytes per float element)
//
// CPU reference: include/netgrow/backend/cpu/dropout.hpp.
#pragma once

#include <cuda_runtime.h>

#include "netgrow/core/config.hpp"
#include "netgrow/core/dropout_mask.hpp"
#include "netgrow/kernels/launch.cuh"

namespace netgrow::kernels {

namespace dropout_detail {

template <class T>
__global__ void dropout_v1_grid_stride(DropoutMask mask, T scale, Index middle, Index last, Index n, const T* x, T* y) {
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < n; i += Index{gridDim.x} * blockDim.x) {
    const Index r = i / last, j = i - r * last;
    const std::uint64_t key = mask.row_key(r / middle, r % middle);
    y[i] = mask.keep(key, j) ? x[i] * scale : T(0);
  }
}

}  // namespace dropout_detail

// y (rows, middle, last) = x * scale where `mask` keeps the element, else 0; y may alias x.
template <class T>
void dropout(const DropoutMask& mask, T scale, Index rows, Index middle, Index last, const T* x, T* y,
             cudaStream_t stream) {
  const Index n = rows * middle * last;
  if (n <= 0) return;
  dropout_detail::dropout_v1_grid_stride<T>
      <<<detail::grid_blocks(n), detail::threads_per_block, 0, stream>>>(mask, scale, middle, last, n, x, y);
  NETGROW_CHECK_LAUNCH("dropout_v1_grid_stride");
}

}  // namespace netgrow::kernels
