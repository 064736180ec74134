// kernels/reduce.cuh: deterministic reductions: column sums of a row-major matrix (bias gradients),
// sums of a per-element map over an array (squared norm, non-finite count, MSE), and per-index norms
// along one axis of a tensor (growth's norm rules).
//
// Versions:
//   sum_rows_v1_two_pass      pass 1: one thread per (column, chunk of 256 rows) sums its chunk in
//                             row order (coalesced across columns); pass 2: one thread per column adds
//                             the chunk sums in chunk order. A single pass when rows <= 256.
//   map_sum_v1_two_pass       pass 1: a grid-stride loop per thread, then a fixed tree per block into
//                             one partial per block; pass 2: one block adds the partials with the same
//                             tree. The grid size depends on n only.
//   axis_square_sums_v1_block_per_index
//                             one block per index j along the axis, a strided loop over the (outer,
//                             inner) elements of that index and a fixed tree; sums in double.
//
// No floating-point atomics anywhere: results are bit-identical from run to run (see launch.cuh).
// CPU reference: the Cpu back end of ops/blas.hpp (sum_rows, squared_norm, all_finite),
// cpu/loss.hpp (mse), cpu/layout.hpp (axis_norms).
#pragma once

#include <cuda_runtime.h>

#include "netgrow/core/config.hpp"
#include "netgrow/kernels/launch.cuh"

namespace netgrow::kernels {

namespace reduce_detail {

inline constexpr Index rows_per_chunk = 256;
inline constexpr int reduce_block = 256;
inline constexpr Index map_sum_per_thread = 8;  // elements per thread before the grid cap applies

// partial[c * cols + j] = sum of x[r, j] over rows r of chunk c (or out[j] directly when there is one
// chunk: out[j] = beta * out[j] + sum, with beta == 0 never reading out).
template <class T>
__global__ void sum_rows_v1_chunk(const T* x, Index rows, Index cols, T* partial, T beta, bool single_chunk) {
  const Index j = blockIdx.x * Index{blockDim.x} + threadIdx.x;
  const Index c = blockIdx.y;
  if (j >= cols) return;
  const Index begin = c * rows_per_chunk;
  const Index end = begin + rows_per_chunk < rows ? begin + rows_per_chunk : rows;
  T s = T(0);
  for (Index r = begin; r < end; ++r) s += x[r * cols + j];
  if (single_chunk) partial[j] = beta == T(0) ? s : beta * partial[j] + s;
  else partial[c * cols + j] = s;
}

template <class T>
__global__ void sum_rows_v1_combine(const T* partial, Index chunks, Index cols, T beta, T* out) {
  const Index j = blockIdx.x * Index{blockDim.x} + threadIdx.x;
  if (j >= cols) return;
  T s = T(0);
  for (Index c = 0; c < chunks; ++c) s += partial[c * cols + j];
  out[j] = beta == T(0) ? s : beta * out[j] + s;
}

template <class Acc, class Map>
__global__ void map_sum_v1_partials(Index n, Map map, Acc* partials) {
  __shared__ Acc shared[reduce_block];
  Acc s = Acc(0);
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < n; i += Index{gridDim.x} * blockDim.x)
    s = s + map(i);
  s = detail::block_sum<reduce_block>(s, shared);
  if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

template <class Acc>
__global__ void map_sum_v1_combine(const Acc* partials, Index count, Acc* out) {
  __shared__ Acc shared[reduce_block];
  Acc s = Acc(0);
  for (Index i = threadIdx.x; i < count; i += blockDim.x) s = s + partials[i];
  s = detail::block_sum<reduce_block>(s, shared);
  if (threadIdx.x == 0) *out = s;
}

template <class T>
__global__ void axis_square_sums_v1_block_per_index(const T* src, Index outer, Index d, Index inner, double* sums) {
  __shared__ double shared[reduce_block];
  const Index j = blockIdx.x;
  const Index count = outer * inner;
  double s = 0;
  for (Index t = threadIdx.x; t < count; t += blockDim.x) {
    const Index o = t / inner, i = t - o * inner;
    const double v = static_cast<double>(src[(o * d + j) * inner + i]);
    s += v * v;
  }
  s = detail::block_sum<reduce_block>(s, shared);
  if (threadIdx.x == 0) sums[j] = s;
}

}  // namespace reduce_detail

// Element count of the scratch sum_rows needs for a (rows, cols) input (0: none).
inline Index sum_rows_workspace(Index rows, Index cols) {
  const Index chunks = (rows + reduce_detail::rows_per_chunk - 1) / reduce_detail::rows_per_chunk;
  return chunks > 1 ? chunks * cols : 0;
}

// out (cols) = beta * out + column sums of x (rows, cols), row-major and contiguous. beta == 0 never
// reads out. `workspace` holds sum_rows_workspace(rows, cols) elements (may be null when that is 0).
template <class T>
void sum_rows(const T* x, Index rows, Index cols, T beta, T* out, T* workspace, cudaStream_t stream) {
  if (cols <= 0) return;
  const int block = 128;
  const unsigned column_blocks = static_cast<unsigned>((cols + block - 1) / block);
  const Index chunks = (rows + reduce_detail::rows_per_chunk - 1) / reduce_detail::rows_per_chunk;
  if (chunks <= 1) {  // also rows == 0: out = beta * out
    reduce_detail::sum_rows_v1_chunk<T><<<dim3(column_blocks, 1), block, 0, stream>>>(x, rows, cols, out, beta, true);
    NETGROW_CHECK_LAUNCH("sum_rows_v1_chunk");
    return;
  }
  require(chunks <= 65535, "kernels::sum_rows: ", rows, " rows exceed the grid limit (", 65535 * reduce_detail::rows_per_chunk,
          ")");
  reduce_detail::sum_rows_v1_chunk<T>
      <<<dim3(column_blocks, static_cast<unsigned>(chunks)), block, 0, stream>>>(x, rows, cols, workspace, beta, false);
  NETGROW_CHECK_LAUNCH("sum_rows_v1_chunk");
  reduce_detail::sum_rows_v1_combine<T><<<column_blocks, block, 0, stream>>>(workspace, chunks, cols, beta, out);
  NETGROW_CHECK_LAUNCH("sum_rows_v1_combine");
}

// Number of partial sums map_sum needs in its scratch for n elements.
inline Index map_sum_workspace(Index n) {
  return detail::grid_blocks(n, reduce_detail::map_sum_per_thread, reduce_detail::reduce_block);
}

// *out (device) = sum over i < n of map(i), an Acc, in a fixed order. `map` is a trivially copyable
// functor with `__device__ Acc operator()(Index) const` (it may also write, e.g. a gradient).
// `partials` holds map_sum_workspace(n) elements.
template <class Acc, class Map>
void map_sum(Index n, const Map& map, Acc* partials, Acc* out, cudaStream_t stream) {
  const unsigned blocks = detail::grid_blocks(n, reduce_detail::map_sum_per_thread, reduce_detail::reduce_block);
  reduce_detail::map_sum_v1_partials<Acc, Map><<<blocks, reduce_detail::reduce_block, 0, stream>>>(n, map, partials);
  NETGROW_CHECK_LAUNCH("map_sum_v1_partials");
  reduce_detail::map_sum_v1_combine<Acc><<<1, reduce_detail::reduce_block, 0, stream>>>(partials, Index{blocks}, out);
  NETGROW_CHECK_LAUNCH("map_sum_v1_combine");
}

// Maps for map_sum.
template <class T>
struct SquareInDouble {  // x[i]^2 in double
  const T* x;
  __device__ double operator()(Index i) const {
    const double v = static_cast<double>(x[i]);
    return v * v;
  }
};
template <class T>
struct IsNonFinite {  // 1 when x[i] is NaN or infinite
  const T* x;
  __device__ unsigned long long operator()(Index i) const { return isfinite(x[i]) ? 0ull : 1ull; }
};

// sums[j] (device, d doubles) = sum of squares of the elements of src (outer, d, inner) with index j
// along the middle axis.
template <class T>
void axis_square_sums(const T* src, Index outer, Index d, Index inner, double* sums, cudaStream_t stream) {
  if (d <= 0) return;
  require(d <= 2147483647, "kernels::axis_square_sums: ", d, " indices exceed the grid limit");
  reduce_detail::axis_square_sums_v1_block_per_index<T>
      <<<static_cast<unsigned>(d), reduce_detail::reduce_block, 0, stream>>>(src, outer, d, inner, sums);
  NETGROW_CHECK_LAUNCH("axis_square_sums_v1_block_per_index");
}

}  // namespace netgrow::kernels
