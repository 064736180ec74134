// kernels/layout.cuh: rearranging a tensor seen as (outer, d, inner) along its middle axis, for width
// growth (reading a layer's neurons as rows, writing new neurons' weights back). Block copies
// (concat, slice, assign_slice, in-place append) need no kernel: they are pitched cudaMemcpy2DAsync
// calls in include/netgrow/backend/cuda/layout.hpp.
//
// Versions:
//   axis_to_rows_v1_gather    rows (d, outer, inner)[j, o, i] = src (outer, d, inner)[o, j, i]; one
//                             thread per output element, coalesced writes (a plain transpose when
//                             inner == 1; growth-time, not a hot path)
//   rows_to_axis_v1_gather    the inverse: dst (outer, d, inner)[o, j, i] = rows[j, o, i]; one thread
//                             per output element, coalesced writes
//
// CPU reference: include/netgrow/backend/cpu/layout.hpp (axis_to_rows, rows_to_axis).
#pragma once

#include <cuda_runtime.h>

#include "netgrow/core/config.hpp"
#include "netgrow/kernels/launch.cuh"

namespace netgrow::kernels {

namespace layout_detail {

template <class T>
__global__ void axis_to_rows_v1_gather(const T* src, Index outer, Index d, Index inner, T* rows) {
  const Index plane = outer * inner;
  const Index n = d * plane;
  for (Index idx = blockIdx.x * Index{blockDim.x} + threadIdx.x; idx < n; idx += Index{gridDim.x} * blockDim.x) {
    const Index j = idx / plane;
    const Index rest = idx - j * plane;
    const Index o = rest / inner, i = rest - o * inner;
    rows[idx] = src[(o * d + j) * inner + i];
  }
}

template <class T>
__global__ void rows_to_axis_v1_gather(const T* rows, Index outer, Index d, Index inner, T* dst) {
  const Index plane = outer * inner;
  const Index n = d * plane;
  for (Index idx = blockIdx.x * Index{blockDim.x} + threadIdx.x; idx < n; idx += Index{gridDim.x} * blockDim.x) {
    const Index o = idx / (d * inner);
    const Index rest = idx - o * d * inner;
    const Index j = rest / inner, i = rest - j * inner;
    dst[idx] = rows[j * plane + o * inner + i];
  }
}

}  // namespace layout_detail

// rows (d, outer * inner) = src (outer, d, inner) with the middle axis moved to the front. src and
// rows must not overlap.
template <class T>
void axis_to_rows(const T* src, Index outer, Index d, Index inner, T* rows, cudaStream_t stream) {
  const Index n = outer * d * inner;
  if (n <= 0) return;
  layout_detail::axis_to_rows_v1_gather<T>
      <<<detail::grid_blocks(n), detail::threads_per_block, 0, stream>>>(src, outer, d, inner, rows);
  NETGROW_CHECK_LAUNCH("axis_to_rows_v1_gather");
}

// dst (outer, d, inner) = rows (d, outer * inner) with the front axis moved back to the middle.
// rows and dst must not overlap.
template <class T>
void rows_to_axis(const T* rows, Index outer, Index d, Index inner, T* dst, cudaStream_t stream) {
  const Index n = outer * d * inner;
  if (n <= 0) return;
  layout_detail::rows_to_axis_v1_gather<T>
      <<<detail::grid_blocks(n), detail::threads_per_block, 0, stream>>>(rows, outer, d, inner, dst);
  NETGROW_CHECK_LAUNCH("rows_to_axis_v1_gather");
}

}  // namespace netgrow::kernels
