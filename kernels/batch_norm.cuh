// kernels/batch_norm.cuh: batch normalisation per channel of x seen as (N, C, M) (M = H W, or 1 for
// (N, C) inputs): training-mode forward with batch statistics and the running-statistics update,
// evaluation-mode forward, and the backward pass of both.
//
// Versions:
//   batch_norm_v1_chunked_channel_sums
//                        every per-channel sum (x; (x - mean)^2; dy and dy xhat together) runs in two
//                        stages: one block per (channel, chunk of 8192 of the channel's N M values)
//                        adds its chunk in double with a strided loop and a fixed tree (launch.cuh's
//                        block_sum); then one thread per channel adds the chunk sums in chunk order and
//                        finishes the channel (mean; variance, running update, scale and shift; or the
//                        parameter gradients). The element-wise passes (normalise, input gradient) are
//                        grid-stride loops. Chunking depends on the sizes only and nothing uses
//                        floating-point atomics, so results are bit-identical from run to run.
//
// Arithmetic follows the CPU reference (include/netgrow/backend/cpu/batch_norm.hpp): statistics and
// the input gradient in double; y = scale x + shift with scale = T(gamma inv_std) and
// shift = T(beta - gamma inv_std mean); the running variance takes the unbiased batch variance
// (PyTorch's semantics). The mean and inv_std the forward used are returned in double for backward.
#pragma once

#include <cuda_runtime.h>

#include <cmath>

#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"
#include "netgrow/kernels/launch.cuh"

namespace netgrow::kernels {

// x as (batch, channels, spatial): a (N, C) input has spatial 1, a (N, C, H, W) input H W.
struct BatchNormExtent {
  Index batch = 0, channels = 0, spatial = 1;
  __host__ __device__ Index per_channel() const { return batch * spatial; }
};

namespace batch_norm_detail {

inline constexpr int block = 256;
inline constexpr Index chunk = 8192;  // values of one channel per first-stage block

// Two sums carried through one reduction (backward needs sum dy and sum dy xhat).
struct SumPair {
  double a, b;
};
__device__ inline SumPair operator+(SumPair x, SumPair y) { return {x.a + y.a, x.b + y.b}; }

inline Index chunks_per_channel(const BatchNormExtent& e) {
  const Index n = e.per_channel();
  return n > 0 ? (n + chunk - 1) / chunk : 1;
}

// Maps of one value of channel c at flat position i of x: x, (x - mean[c])^2, (dy, dy xhat).
template <class T>
struct ValueMap {
  const T* x;
  __device__ SumPair operator()(Index i, Index) const { return {static_cast<double>(x[i]), 0.0}; }
};
template <class T>
struct SquaredDeviationMap {
  const T* x;
  const double* mean;
  __device__ SumPair operator()(Index i, Index c) const {
    const double d = static_cast<double>(x[i]) - mean[c];
    return {d * d, 0.0};
  }
};
template <class T>
struct GradientMap {
  const T* x;
  const T* dy;
  const double* mean;
  const double* inv_std;
  __device__ SumPair operator()(Index i, Index c) const {
    const double g = static_cast<double>(dy[i]);
    return {g, g * (static_cast<double>(x[i]) - mean[c]) * inv_std[c]};
  }
};

// partials[c * chunks + k] = sum of map over chunk k of channel c. Grid: (channels, chunks).
template <class Map>
__global__ void batch_norm_v1_chunk_sums(Map map, BatchNormExtent e, Index chunks, SumPair* partials) {
  __shared__ SumPair shared[block];
  const Index c = blockIdx.x, k = blockIdx.y;
  const Index begin = k * chunk;
  const Index end = begin + chunk < e.per_channel() ? begin + chunk : e.per_channel();
  SumPair s{0.0, 0.0};
  for (Index j = begin + threadIdx.x; j < end; j += block) {
    const Index n = j / e.spatial, m = j - n * e.spatial;
    s = s + map((n * e.channels + c) * e.spatial + m, c);
  }
  s = detail::block_sum<block>(s, shared);
  if (threadIdx.x == 0) partials[c * chunks + k] = s;
}

__device__ inline SumPair channel_total(const SumPair* partials, Index chunks, Index c) {
  SumPair s{0.0, 0.0};
  for (Index k = 0; k < chunks; ++k) s = s + partials[c * chunks + k];
  return s;
}

static __global__ void batch_norm_v1_finish_mean(const SumPair* partials, Index chunks, BatchNormExtent e, double* mean) {
  const Index c = blockIdx.x * Index{blockDim.x} + threadIdx.x;
  if (c >= e.channels) return;
  mean[c] = channel_total(partials, chunks, c).a / static_cast<double>(e.per_channel());
}

// Variance, running update, inv_std, scale and shift of each channel (training mode).
template <class T>
__global__ void batch_norm_v1_finish_train(const SumPair* partials, Index chunks, BatchNormExtent e, const T* gamma,
                                           const T* beta, double momentum, double eps, T* running_mean,
                                           T* running_var, const double* mean, double* inv_std, double* scale,
                                           double* shift) {
  const Index c = blockIdx.x * Index{blockDim.x} + threadIdx.x;
  if (c >= e.channels) return;
  const double count = static_cast<double>(e.per_channel());
  const double var = channel_total(partials, chunks, c).a / count;
  const double mu = mean[c];
  running_mean[c] = static_cast<T>((1 - momentum) * static_cast<double>(running_mean[c]) + momentum * mu);
  running_var[c] =
      static_cast<T>((1 - momentum) * static_cast<double>(running_var[c]) + momentum * var * count / (count - 1));
  const double inv = 1.0 / sqrt(var + eps);
  inv_std[c] = inv;
  scale[c] = static_cast<double>(gamma[c]) * inv;
  shift[c] = static_cast<double>(beta[c]) - static_cast<double>(gamma[c]) * inv * mu;
}

// mean, inv_std, scale and shift from the running statistics (evaluation mode).
template <class T>
__global__ void batch_norm_v1_finish_eval(Index channels, const T* gamma, const T* beta, const T* running_mean,
                                          const T* running_var, double eps, double* mean, double* inv_std,
                                          double* scale, double* shift) {
  const Index c = blockIdx.x * Index{blockDim.x} + threadIdx.x;
  if (c >= channels) return;
  const double mu = running_mean[c];
  const double inv = 1.0 / sqrt(static_cast<double>(running_var[c]) + eps);
  mean[c] = mu;
  inv_std[c] = inv;
  scale[c] = static_cast<double>(gamma[c]) * inv;
  shift[c] = static_cast<double>(beta[c]) - static_cast<double>(gamma[c]) * inv * mu;
}

// y = T(scale[c]) x + T(shift[c]) over all N C M elements.
template <class T>
__global__ void batch_norm_v1_normalize(const T* x, BatchNormExtent e, const double* scale, const double* shift,
                                        T* y) {
  const Index total = e.batch * e.channels * e.spatial;
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < total; i += Index{gridDim.x} * blockDim.x) {
    const Index c = (i / e.spatial) % e.channels;
    const T a = static_cast<T>(scale[c]), b = static_cast<T>(shift[c]);
    y[i] = a * x[i] + b;
  }
}

// Parameter gradients of each channel; totals[c] keeps (sum dy, sum dy xhat) for the input gradient.
template <class T>
__global__ void batch_norm_v1_finish_backward(const SumPair* partials, Index chunks, Index channels, bool accumulate,
                                              T* dgamma, T* dbeta, SumPair* totals) {
  const Index c = blockIdx.x * Index{blockDim.x} + threadIdx.x;
  if (c >= channels) return;
  const SumPair s = channel_total(partials, chunks, c);
  totals[c] = s;
  dgamma[c] = static_cast<T>(s.b + (accumulate ? static_cast<double>(dgamma[c]) : 0.0));
  dbeta[c] = static_cast<T>(s.a + (accumulate ? static_cast<double>(dbeta[c]) : 0.0));
}

// dx = gamma inv_std (dy - sum dy / count - xhat sum(dy xhat) / count) with batch statistics,
// dx = gamma inv_std dy with running statistics.
template <class T>
__global__ void batch_norm_v1_input_grad(const T* x, const T* dy, const T* gamma, const double* mean,
                                         const double* inv_std, const SumPair* totals, BatchNormExtent e,
                                         bool batch_statistics, T* dx) {
  const Index total = e.batch * e.channels * e.spatial;
  const double count = static_cast<double>(e.per_channel());
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < total; i += Index{gridDim.x} * blockDim.x) {
    const Index c = (i / e.spatial) % e.channels;
    const double inv = inv_std[c];
    const double gi = static_cast<double>(gamma[c]) * inv;
    const double g = static_cast<double>(dy[i]);
    if (batch_statistics) {
      const double xhat = (static_cast<double>(x[i]) - mean[c]) * inv;
      dx[i] = static_cast<T>(gi * (g - totals[c].a / count - xhat * totals[c].b / count));
    } else {
      dx[i] = static_cast<T>(gi * g);
    }
  }
}

inline void check_extent(const BatchNormExtent& e, const char* who) {
  require(e.batch >= 0 && e.channels >= 0 && e.spatial >= 1, who, ": invalid extent (N ", e.batch, ", C ",
          e.channels, ", M ", e.spatial, ")");
  require(e.channels <= 2147483647 && chunks_per_channel(e) <= 65535, who, ": ", e.channels, " channels of ",
          e.per_channel(), " values exceed the grid limits");
}

template <class Map>
void chunk_sums(const Map& map, const BatchNormExtent& e, SumPair* partials, cudaStream_t stream) {
  const Index chunks = chunks_per_channel(e);
  batch_norm_v1_chunk_sums<Map><<<dim3(static_cast<unsigned>(e.channels), static_cast<unsigned>(chunks)), block, 0,
                                  stream>>>(map, e, chunks, partials);
  NETGROW_CHECK_LAUNCH("batch_norm_v1_chunk_sums");
}

inline unsigned channel_blocks(Index channels) { return static_cast<unsigned>((channels + block - 1) / block); }

}  // namespace batch_norm_detail

// Doubles of scratch the batch-norm launchers need for extent e.
inline Index batch_norm_workspace(const BatchNormExtent& e) {
  return 2 * e.channels * batch_norm_detail::chunks_per_channel(e) + 2 * e.channels;
}

// Training-mode forward. y (N C M) is assigned; mean and inv_std (C, double) receive the batch mean and
// 1 / sqrt(biased variance + eps); running_mean and running_var (C) are updated in place:
// running = (1 - momentum) running + momentum batch, the variance unbiased. Needs N M > 1.
// `workspace` holds batch_norm_workspace(e) doubles. Asynchronous on `stream`.
template <class T>
void batch_norm_forward_train(const T* x, BatchNormExtent e, const T* gamma, const T* beta, double momentum,
                              double eps, T* running_mean, T* running_var, double* mean, double* inv_std, T* y,
                              double* workspace, cudaStream_t stream) {
  using namespace batch_norm_detail;
  check_extent(e, "kernels::batch_norm_forward_train");
  require(e.per_channel() > 1, "kernels::batch_norm_forward_train: needs more than one value per channel, got ",
          e.per_channel());
  if (e.channels == 0) return;
  const Index chunks = chunks_per_channel(e);
  auto* partials = reinterpret_cast<SumPair*>(workspace);
  double* scale = workspace + 2 * e.channels * chunks;
  double* shift = scale + e.channels;
  chunk_sums(ValueMap<T>{x}, e, partials, stream);
  batch_norm_v1_finish_mean<<<channel_blocks(e.channels), block, 0, stream>>>(partials, chunks, e, mean);
  NETGROW_CHECK_LAUNCH("batch_norm_v1_finish_mean");
  chunk_sums(SquaredDeviationMap<T>{x, mean}, e, partials, stream);
  batch_norm_v1_finish_train<T><<<channel_blocks(e.channels), block, 0, stream>>>(
      partials, chunks, e, gamma, beta, momentum, eps, running_mean, running_var, mean, inv_std, scale, shift);
  NETGROW_CHECK_LAUNCH("batch_norm_v1_finish_train");
  const Index total = e.batch * e.channels * e.spatial;
  if (total == 0) return;
  batch_norm_v1_normalize<T><<<detail::grid_blocks(total), detail::threads_per_block, 0, stream>>>(x, e, scale, shift,
                                                                                                   y);
  NETGROW_CHECK_LAUNCH("batch_norm_v1_normalize");
}

// Evaluation-mode forward with the running statistics: y assigned; mean and inv_std (C, double)
// receive the running mean and 1 / sqrt(running var + eps). `workspace` as above.
template <class T>
void batch_norm_forward_eval(const T* x, BatchNormExtent e, const T* gamma, const T* beta, const T* running_mean,
                             const T* running_var, double eps, double* mean, double* inv_std, T* y, double* workspace,
                             cudaStream_t stream) {
  using namespace batch_norm_detail;
  check_extent(e, "kernels::batch_norm_forward_eval");
  if (e.channels == 0) return;
  double* scale = workspace + 2 * e.channels * chunks_per_channel(e);
  double* shift = scale + e.channels;
  batch_norm_v1_finish_eval<T><<<channel_blocks(e.channels), block, 0, stream>>>(
      e.channels, gamma, beta, running_mean, running_var, eps, mean, inv_std, scale, shift);
  NETGROW_CHECK_LAUNCH("batch_norm_v1_finish_eval");
  const Index total = e.batch * e.channels * e.spatial;
  if (total == 0) return;
  batch_norm_v1_normalize<T><<<detail::grid_blocks(total), detail::threads_per_block, 0, stream>>>(x, e, scale, shift,
                                                                                                   y);
  NETGROW_CHECK_LAUNCH("batch_norm_v1_normalize");
}

// Backward with the statistics the forward used (mean, inv_std). dgamma = sum dy xhat and
// dbeta = sum dy (C) are assigned, or added to when `accumulate`. dx (N C M) is assigned unless null:
// with batch_statistics (training mode) it includes the terms through the batch mean and variance.
// `workspace` holds batch_norm_workspace(e) doubles.
template <class T>
void batch_norm_backward(const T* x, const T* dy, BatchNormExtent e, const T* gamma, const double* mean,
                         const double* inv_std, bool batch_statistics, T* dgamma, T* dbeta, bool accumulate, T* dx,
                         double* workspace, cudaStream_t stream) {
  using namespace batch_norm_detail;
  check_extent(e, "kernels::batch_norm_backward");
  if (e.channels == 0) return;
  const Index chunks = chunks_per_channel(e);
  auto* partials = reinterpret_cast<SumPair*>(workspace);
  auto* totals = reinterpret_cast<SumPair*>(workspace + 2 * e.channels * chunks);
  chunk_sums(GradientMap<T>{x, dy, mean, inv_std}, e, partials, stream);
  batch_norm_v1_finish_backward<T><<<channel_blocks(e.channels), block, 0, stream>>>(partials, chunks, e.channels,
                                                                                     accumulate, dgamma, dbeta, totals);
  NETGROW_CHECK_LAUNCH("batch_norm_v1_finish_backward");
  const Index total = e.batch * e.channels * e.spatial;
  if (dx == nullptr || total == 0) return;
  batch_norm_v1_input_grad<T><<<detail::grid_blocks(total), detail::threads_per_block, 0, stream>>>(
      x, dy, gamma, mean, inv_std, totals, e, batch_statistics, dx);
  NETGROW_CHECK_LAUNCH("batch_norm_v1_input_grad");
}

}  // namespace netgrow::kernels
