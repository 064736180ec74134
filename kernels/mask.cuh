// kernels/mask.cuh: sparsity masks: x *= mask element-wise (mask entries 0 or 1); soft masks: x (r, c) *=
// row_gains[i] col_gains[j] (masked growth's gains).
//
// Versions:
//   apply_mask_v1_grid_stride          one element per thread per iteration of a grid-stride loop
//   scale_rows_columns_v1_grid_stride  likewise; a null gain pointer stands for ones
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

template <class T>
__global__ void scale_rows_columns_v1_grid_stride(Index rows, Index cols, const T* row_gains, const T* col_gains, T* x) {
  const Index n = rows * cols;
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < n; i += Index{gridDim.x} * blockDim.x) {
    const T a = row_gains ? row_gains[i / cols] : T(1);
    x[i] *= col_gains ? a * col_gains[i % cols] : a;
  }
}

}  // namespace mask_detail

// x (n) = 0 where mask (n) is 0 (a NaN or infinity there becomes 0 too, unlike a product).
template <class T>
void apply_mask(Index n, const T* mask, T* x, cudaStream_t stream) {
  if (n <= 0) return;
  mask_detail::apply_mask_v1_grid_stride<T><<<detail::grid_blocks(n), detail::threads_per_block, 0, stream>>>(n, mask, x);
  NETGROW_CHECK_LAUNCH("apply_mask_v1_grid_stride");
}

// x (rows, cols) *= row_gains[i] col_gains[j], the product rounded to T first (as the CPU); null gains
// are ones.
template <class T>
void scale_rows_columns(Index rows, Index cols, const T* row_gains, const T* col_gains, T* x, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  mask_detail::scale_rows_columns_v1_grid_stride<T>
      <<<detail::grid_blocks(rows * cols), detail::threads_per_block, 0, stream>>>(rows, cols, row_gains, col_gains, x);
  NETGROW_CHECK_LAUNCH("scale_rows_columns_v1_grid_stride");
}

}  // namespace netgrow::kernels
