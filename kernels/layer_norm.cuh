// kernels/layer_norm.cuh: layer normalisation of x (N, D), per row over its D features: forward with
// the row statistics, and the backward pass (input gradient, gamma and beta gradients).
//
// Versions:
//   layer_norm_v1_block_per_row
//                        forward and input gradient: one block of 128 threads per row (rows beyond
//                        the grid handled by a block-stride loop); each thread adds its strided share
//                        of the row in double, then a fixed tree (launch.cuh's block_sum) gives the
//                        row sum: the mean first, then the squared deviations (two passes, no
//                        cancellation), then the element-wise pass. The backward pass reduces
//                        sum(gamma dy) and sum(gamma dy xhat) the same way before writing dx.
//                        Parameter gradients: one thread per (feature, chunk of 256 rows) adds its
//                        chunk in row order (coalesced across features), then one thread per feature
//                        adds the chunk sums in chunk order. Any N and D (D = 1, D not a multiple of
//                        the warp size): every access is bounds-checked. No floating-point atomics,
//                        and the reduction order depends on the sizes only, so results are
//                        bit-identical from run to run.
//
// Optional gains w (D; masked growth's soft mask) weight the statistics and scale the output; without
// them each kernel computes exactly as with none (a factor of 1.0 rounds nothing).
//
// Arithmetic follows the CPU reference (include/netgrow/backend/cpu/layer_norm.hpp): statistics,
// xhat = (x - mean) inv_std and y = gamma xhat + beta in double, rounded once to T; the mean and
// inv_std of each row are returned in double for the backward pass.
#pragma once

#include <cuda_runtime.h>

#include <cmath>

#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"
#include "netgrow/kernels/launch.cuh"

namespace netgrow::kernels {

// x as (rows, features).
struct LayerNormExtent {
  Index rows = 0, features = 0;
};

namespace layer_norm_detail {

inline constexpr int row_block = 128;      // threads per row
inline constexpr int feature_block = 256;  // features per parameter-gradient block
inline constexpr Index rows_per_chunk = 256;
inline constexpr Index max_row_blocks = 65535;

struct SumPair {
  double a, b;
};
__device__ inline SumPair operator+(SumPair x, SumPair y) {
  return {x.a + y.a, x.b + y.b};
}

inline Index row_chunks(const LayerNormExtent& e) {
  return e.rows > 0 ? (e.rows + rows_per_chunk - 1) / rows_per_chunk : 1;
}

inline unsigned row_grid(Index rows) {
  return static_cast<unsigned>(rows < max_row_blocks ? rows : max_row_blocks);
}

// Sum of `value` over the block, in every thread (block_sum's result broadcast through shared memory).
template <class Acc>
__device__ Acc row_total(Acc value, Acc* shared, Acc* result) {
  const Acc total = detail::block_sum<row_block>(value, shared);
  if (threadIdx.x == 0) *result = total;
  __syncthreads();
  const Acc out = *result;
  __syncthreads();  // *result may be overwritten by the next call
  return out;
}

// Sum of the gains (D, null: all 1) over the block, in every thread.
template <class T>
__device__ double gain_total(const T* gains, Index d, double* shared, double* result) {
  if (gains == nullptr) return static_cast<double>(d);
  double s = 0.0;
  for (Index j = threadIdx.x; j < d; j += row_block) s += static_cast<double>(gains[j]);
  return row_total(s, shared, result);
}

// Gains w (null: 1; a factor of 1 changes no rounding): mu = sum(w x) / sum(w), var likewise,
// y = w (gamma xhat + beta).
template <class T>
__global__ void layer_norm_v1_forward(const T* x, LayerNormExtent e, const T* gamma, const T* beta, const T* gains,
                                      double eps, double* mean, double* inv_std, T* y) {
  __shared__ double shared[row_block];
  __shared__ double result;
  const Index d = e.features;
  const double count = gain_total(gains, d, shared, &result);
  for (Index row = blockIdx.x; row < e.rows; row += gridDim.x) {
    const T* p = x + row * d;
    T* q = y + row * d;
    double s = 0.0;
    for (Index j = threadIdx.x; j < d; j += row_block)
      s += (gains ? static_cast<double>(gains[j]) : 1.0) * static_cast<double>(p[j]);
    const double mu = row_total(s, shared, &result) / count;
    double sq = 0.0;
    for (Index j = threadIdx.x; j < d; j += row_block) {
      const double dev = static_cast<double>(p[j]) - mu;
      sq += (gains ? static_cast<double>(gains[j]) : 1.0) * dev * dev;
    }
    const double inv = 1.0 / sqrt(row_total(sq, shared, &result) / count + eps);
    if (threadIdx.x == 0) {
      mean[row] = mu;
      inv_std[row] = inv;
    }
    for (Index j = threadIdx.x; j < d; j += row_block) {
      const double xhat = (static_cast<double>(p[j]) - mu) * inv;
      q[j] = static_cast<T>((gains ? static_cast<double>(gains[j]) : 1.0) *
                            (static_cast<double>(gamma[j]) * xhat + static_cast<double>(beta[j])));
    }
  }
}

// dx = inv_std (g - mean(g) - xhat mean(g xhat)) with g = gamma dy, per row. With gains w:
// h = gamma w dy, dx = inv_std (h - w / sum(w) (sum(h) + xhat sum(h xhat))).
template <class T>
__global__ void layer_norm_v1_input_grad(const T* x, const T* dy, LayerNormExtent e, const T* gamma, const T* gains,
                                         const double* mean, const double* inv_std, T* dx) {
  __shared__ SumPair shared[row_block];
  __shared__ SumPair result;
  __shared__ double gain_shared[row_block];
  __shared__ double gain_result;
  const Index d = e.features;
  const double count = gain_total(gains, d, gain_shared, &gain_result);
  for (Index row = blockIdx.x; row < e.rows; row += gridDim.x) {
    const T* p = x + row * d;
    const T* q = dy + row * d;
    T* r = dx + row * d;
    const double mu = mean[row], inv = inv_std[row];
    SumPair s{0.0, 0.0};
    for (Index j = threadIdx.x; j < d; j += row_block) {
      const double g = gains ? static_cast<double>(gamma[j]) * static_cast<double>(gains[j]) * static_cast<double>(q[j])
                             : static_cast<double>(gamma[j]) * static_cast<double>(q[j]);
      s = s + SumPair{g, g * ((static_cast<double>(p[j]) - mu) * inv)};
    }
    const SumPair t = row_total(s, shared, &result);
    if (gains == nullptr) {
      const double mean_g = t.a / count, mean_g_xhat = t.b / count;
      for (Index j = threadIdx.x; j < d; j += row_block) {
        const double g = static_cast<double>(gamma[j]) * static_cast<double>(q[j]);
        const double xhat = (static_cast<double>(p[j]) - mu) * inv;
        r[j] = static_cast<T>(inv * (g - mean_g - xhat * mean_g_xhat));
      }
    } else {
      for (Index j = threadIdx.x; j < d; j += row_block) {
        const double w = static_cast<double>(gains[j]);
        const double h = static_cast<double>(gamma[j]) * w * static_cast<double>(q[j]);
        const double xhat = (static_cast<double>(p[j]) - mu) * inv;
        r[j] = static_cast<T>(inv * (h - w / count * (t.a + xhat * t.b)));
      }
    }
  }
}

// partials[c * D + j] = (sum dy, sum dy xhat) of feature j over the rows of chunk c. Grid: (feature
// blocks, chunks).
// With gains w, w dy takes dy's place.
template <class T>
__global__ void layer_norm_v1_parameter_chunks(const T* x, const T* dy, LayerNormExtent e, const T* gains,
                                               const double* mean, const double* inv_std, SumPair* partials) {
  const Index j = blockIdx.x * Index{blockDim.x} + threadIdx.x;
  const Index c = blockIdx.y;
  if (j >= e.features) return;
  const Index begin = c * rows_per_chunk;
  const Index end = begin + rows_per_chunk < e.rows ? begin + rows_per_chunk : e.rows;
  const double w = gains ? static_cast<double>(gains[j]) : 1.0;
  SumPair s{0.0, 0.0};
  for (Index i = begin; i < end; ++i) {
    const double g = w * static_cast<double>(dy[i * e.features + j]);
    s = s + SumPair{g, g * ((static_cast<double>(x[i * e.features + j]) - mean[i]) * inv_std[i])};
  }
  partials[c * e.features + j] = s;
}

template <class T>
__global__ void layer_norm_v1_parameter_finish(const SumPair* partials, Index chunks, Index features, bool accumulate,
                                               T* dgamma, T* dbeta) {
  const Index j = blockIdx.x * Index{blockDim.x} + threadIdx.x;
  if (j >= features) return;
  SumPair s{0.0, 0.0};
  for (Index c = 0; c < chunks; ++c) s = s + partials[c * features + j];
  dgamma[j] = static_cast<T>(s.b + (accumulate ? static_cast<double>(dgamma[j]) : 0.0));
  dbeta[j] = static_cast<T>(s.a + (accumulate ? static_cast<double>(dbeta[j]) : 0.0));
}

inline void check_extent(const LayerNormExtent& e, const char* who) {
  require(e.rows >= 0 && e.features >= 1, who, ": invalid extent (N ", e.rows, ", D ", e.features, ")");
  require(row_chunks(e) <= 65535, who, ": ", e.rows, " rows exceed the grid limits");
}

inline unsigned feature_blocks(Index features) {
  return static_cast<unsigned>((features + feature_block - 1) / feature_block);
}

}  // namespace layer_norm_detail

// Doubles of scratch layer_norm_backward needs for extent e.
inline Index layer_norm_workspace(const LayerNormExtent& e) {
  return 2 * e.features * layer_norm_detail::row_chunks(e);
}

// Forward: y (N D) assigned; mean and inv_std (N, double) receive each row's mean and
// 1 / sqrt(biased variance + eps). With gains (D; null: none) the weighted statistics of
// include/netgrow/ops/layer_norm.hpp (sum of the gains > 0). Asynchronous on `stream`.
template <class T>
void layer_norm_forward(const T* x, LayerNormExtent e, const T* gamma, const T* beta, double eps, double* mean,
                        double* inv_std, T* y, cudaStream_t stream, const T* gains = nullptr) {
  using namespace layer_norm_detail;
  check_extent(e, "kernels::layer_norm_forward");
  if (e.rows == 0) return;
  layer_norm_v1_forward<T><<<row_grid(e.rows), row_block, 0, stream>>>(x, e, gamma, beta, gains, eps, mean, inv_std, y);
  NETGROW_CHECK_LAUNCH("layer_norm_v1_forward");
}

// Backward with the row statistics of the forward (mean, inv_std). dgamma = sum dy xhat and
// dbeta = sum dy (D) are assigned, or added to when `accumulate`; dx (N D) is assigned unless null.
// `workspace` holds layer_norm_workspace(e) doubles. With the forward pass's gains (null: none), the
// weighted backward pass of include/netgrow/ops/layer_norm.hpp. Asynchronous on `stream`.
template <class T>
void layer_norm_backward(const T* x, const T* dy, LayerNormExtent e, const T* gamma, const double* mean,
                         const double* inv_std, T* dgamma, T* dbeta, bool accumulate, T* dx, double* workspace,
                         cudaStream_t stream, const T* gains = nullptr) {
  using namespace layer_norm_detail;
  check_extent(e, "kernels::layer_norm_backward");
  const Index chunks = row_chunks(e);
  auto* partials = reinterpret_cast<SumPair*>(workspace);
  if (e.rows > 0) {
    layer_norm_v1_parameter_chunks<T>
        <<<dim3(feature_blocks(e.features), static_cast<unsigned>(chunks)), feature_block, 0, stream>>>(
            x, dy, e, gains, mean, inv_std, partials);
    NETGROW_CHECK_LAUNCH("layer_norm_v1_parameter_chunks");
  }
  layer_norm_v1_parameter_finish<T><<<feature_blocks(e.features), feature_block, 0, stream>>>(
      partials, e.rows > 0 ? chunks : 0, e.features, accumulate, dgamma, dbeta);
  NETGROW_CHECK_LAUNCH("layer_norm_v1_parameter_finish");
  if (dx == nullptr || e.rows == 0) return;
  layer_norm_v1_input_grad<T><<<row_grid(e.rows), row_block, 0, stream>>>(x, dy, e, gamma, gains, mean, inv_std, dx);
  NETGROW_CHECK_LAUNCH("layer_norm_v1_input_grad");
}

}  // namespace netgrow::kernels
