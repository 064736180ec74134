// kernels/elementwise.cuh: element-wise maps on device arrays: fill, scale, axpy, bias broadcast, and
// activation functions with their derivatives (the same functors the CPU layers use).
//
// Versions (one per map; every one is bandwidth-bound):
//   v1_grid_stride   one element per thread per iteration of a grid-stride loop, scalar loads. The
//                    arrays come from views at arbitrary element offsets (slices after growth), so
//                    vector loads would need run-time alignment checks for a small gain here.
//
// CPU reference: include/netgrow/backend/cpu/{blas,elementwise}.hpp. Launchers take element counts
// (any n >= 0; n == 0 launches nothing) and a stream; they check the launch.
#pragma once

#include <cuda_runtime.h>

#include "netgrow/core/config.hpp"
#include "netgrow/kernels/launch.cuh"

namespace netgrow::kernels {

namespace elementwise_detail {

template <class T>
__global__ void fill_v1_grid_stride(T* x, Index n, T value) {
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < n; i += Index{gridDim.x} * blockDim.x)
    x[i] = value;
}

template <class T>
__global__ void scale_v1_grid_stride(T* x, Index n, T alpha) {
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < n; i += Index{gridDim.x} * blockDim.x)
    x[i] *= alpha;
}

template <class T>
__global__ void axpy_v1_grid_stride(Index n, T alpha, const T* x, T* y) {
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < n; i += Index{gridDim.x} * blockDim.x)
    y[i] += alpha * x[i];
}

// y (rows, cols) += b (cols) on every row.
template <class T>
__global__ void add_row_vector_v1_grid_stride(T* y, Index rows, Index cols, const T* b) {
  const Index n = rows * cols;
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < n; i += Index{gridDim.x} * blockDim.x)
    y[i] += b[i % cols];
}

template <class Act, class T>
__global__ void activation_forward_v1_grid_stride(Act act, const T* x, T* y, Index n) {
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < n; i += Index{gridDim.x} * blockDim.x)
    y[i] = act.f(x[i]);
}

template <class Act, class T>
__global__ void activation_backward_v1_grid_stride(Act act, const T* x, const T* y, const T* dy, T* dx, Index n) {
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < n; i += Index{gridDim.x} * blockDim.x)
    dx[i] = dy[i] * act.df(x[i], y[i]);
}

}  // namespace elementwise_detail

// x[i] = value for i < n.
template <class T>
void fill(T* x, Index n, T value, cudaStream_t stream) {
  if (n <= 0) return;
  elementwise_detail::fill_v1_grid_stride<T>
      <<<detail::grid_blocks(n), detail::threads_per_block, 0, stream>>>(x, n, value);
  NETGROW_CHECK_LAUNCH("fill_v1_grid_stride");
}

// x[i] *= alpha for i < n.
template <class T>
void scale(T* x, Index n, T alpha, cudaStream_t stream) {
  if (n <= 0) return;
  elementwise_detail::scale_v1_grid_stride<T>
      <<<detail::grid_blocks(n), detail::threads_per_block, 0, stream>>>(x, n, alpha);
  NETGROW_CHECK_LAUNCH("scale_v1_grid_stride");
}

// y[i] += alpha * x[i] for i < n (x and y must not partially overlap).
template <class T>
void axpy(Index n, T alpha, const T* x, T* y, cudaStream_t stream) {
  if (n <= 0) return;
  elementwise_detail::axpy_v1_grid_stride<T>
      <<<detail::grid_blocks(n), detail::threads_per_block, 0, stream>>>(n, alpha, x, y);
  NETGROW_CHECK_LAUNCH("axpy_v1_grid_stride");
}

// y (rows, cols), row-major and contiguous, += b (cols) broadcast over the rows.
template <class T>
void add_row_vector(T* y, Index rows, Index cols, const T* b, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  elementwise_detail::add_row_vector_v1_grid_stride<T>
      <<<detail::grid_blocks(rows * cols), detail::threads_per_block, 0, stream>>>(y, rows, cols, b);
  NETGROW_CHECK_LAUNCH("add_row_vector_v1_grid_stride");
}

// y[i] = act.f(x[i]) for i < n; x and y may be the same array.
template <class Act, class T>
void activation_forward(const Act& act, const T* x, T* y, Index n, cudaStream_t stream) {
  if (n <= 0) return;
  elementwise_detail::activation_forward_v1_grid_stride<Act, T>
      <<<detail::grid_blocks(n), detail::threads_per_block, 0, stream>>>(act, x, y, n);
  NETGROW_CHECK_LAUNCH("activation_forward_v1_grid_stride");
}

// dx[i] = dy[i] * act.df(x[i], y[i]) for i < n; dx may be the same array as dy.
template <class Act, class T>
void activation_backward(const Act& act, const T* x, const T* y, const T* dy, T* dx, Index n, cudaStream_t stream) {
  if (n <= 0) return;
  elementwise_detail::activation_backward_v1_grid_stride<Act, T>
      <<<detail::grid_blocks(n), detail::threads_per_block, 0, stream>>>(act, x, y, dy, dx, n);
  NETGROW_CHECK_LAUNCH("activation_backward_v1_grid_stride");
}

}  // namespace netgrow::kernels
