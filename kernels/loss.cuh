// kernels/loss.cuh: losses and their gradients: softmax cross-entropy with integer labels (value,
// correct-prediction count and gradient in one pass over the logits) and mean squared error.
//
// Versions:
//   softmax_cross_entropy_v1_warp_per_row
//                     one warp per sample: arg-max (first index on ties, as the CPU scan), the
//                     log-sum-exp in double with a fixed shuffle tree, the gradient row; then one
//                     block adds the per-sample losses in a fixed order (no atomics: deterministic).
//   mse_v1_map_sum    reduce.cuh's two-pass map_sum with a map that also writes the gradient.
//   bce_with_logits   the same map_sum, for the binary cross-entropy of sigmoid(logits).
//
// CPU reference: include/netgrow/backend/cpu/loss.hpp (the same formulas; sums in double).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "netgrow/core/config.hpp"
#include "netgrow/kernels/launch.cuh"
#include "netgrow/kernels/reduce.cuh"

namespace netgrow::kernels {

// What softmax_cross_entropy leaves in device memory for the host to read.
struct CrossEntropyTotals {
  double loss_sum;             // sum over samples of -log softmax(z)[label]
  long long correct;           // samples whose arg-max logit is the label
  long long first_invalid;     // smallest sample index with a label outside [0, C), or -1
};

namespace loss_detail {

inline constexpr int warps_per_block = 8;
inline constexpr int combine_block = 256;

template <class T>
__global__ void softmax_cross_entropy_v1_warp_per_row(const T* logits, const std::int32_t* labels, Index n, Index c,
                                                      T* grad, double* row_loss, int* row_status) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const Index row = blockIdx.x * Index{warps_per_block} + threadIdx.x / 32;
  if (row >= n) return;  // the whole warp leaves together
  const T* z = logits + row * c;

  // Arg-max, first index on ties; index c marks "no element yet".
  T best = T(0);
  Index best_index = c;
  for (Index j = lane; j < c; j += 32)
    if (best_index == c || z[j] > best) best = z[j], best_index = j;
  for (int offset = 16; offset > 0; offset /= 2) {
    const T other = __shfl_down_sync(0xffffffffu, best, offset);
    const Index other_index = __shfl_down_sync(0xffffffffu, best_index, offset);
    if (other_index < c &&
        (best_index == c || other > best || (other == best && other_index < best_index)))
      best = other, best_index = other_index;
  }
  const T zmax = __shfl_sync(0xffffffffu, best, 0);
  const Index arg = __shfl_sync(0xffffffffu, best_index, 0);

  double sum = 0;
  for (Index j = lane; j < c; j += 32) sum += exp(static_cast<double>(z[j] - zmax));
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_down_sync(0xffffffffu, sum, offset);
  sum = __shfl_sync(0xffffffffu, sum, 0);

  const std::int32_t label = labels[row];
  const bool valid = label >= 0 && label < c;
  if (lane == 0) {
    row_status[row] = valid ? (arg == label ? 1 : 0) : -1;
    row_loss[row] = valid ? log(sum) - static_cast<double>(z[label] - zmax) : 0.0;
  }
  if (!grad || !valid) return;
  T* g = grad + row * c;
  const double inv = 1.0 / (sum * static_cast<double>(n));
  const T one_over_n = static_cast<T>(1.0 / static_cast<double>(n));
  for (Index j = lane; j < c; j += 32) {
    T gj = static_cast<T>(exp(static_cast<double>(z[j] - zmax)) * inv);
    if (j == label) gj -= one_over_n;
    g[j] = gj;
  }
}

// A template (on its block size) so that it is not defined once per translation unit.
template <int Block>
__global__ void softmax_cross_entropy_v1_combine(const double* row_loss, const int* row_status, Index n,
                                                 CrossEntropyTotals* totals) {
  __shared__ double loss_shared[Block];
  __shared__ long long count_shared[Block];
  double loss = 0;
  long long correct = 0;
  long long first_invalid = n;
  for (Index i = threadIdx.x; i < n; i += blockDim.x) {
    loss += row_loss[i];
    correct += row_status[i] == 1;
    if (row_status[i] < 0 && i < first_invalid) first_invalid = i;
  }
  loss = detail::block_sum<Block>(loss, loss_shared);
  correct = detail::block_sum<Block>(correct, count_shared);
  // Minimum of first_invalid over the block (same fixed tree as block_sum).
  const int t = static_cast<int>(threadIdx.x);
  count_shared[t] = first_invalid;
  __syncthreads();
  for (int stride = Block / 2; stride > 0; stride /= 2) {
    if (t < stride && count_shared[t + stride] < count_shared[t]) count_shared[t] = count_shared[t + stride];
    __syncthreads();
  }
  if (t == 0) {
    totals->loss_sum = loss;
    totals->correct = correct;
    totals->first_invalid = count_shared[0] < n ? count_shared[0] : -1;
  }
}

template <class T>
struct MseMap {  // (p[i] - t[i])^2 in double; writes g[i] = scale (p[i] - t[i]) when g is set
  const T* p;
  const T* t;
  T* g;
  T scale;
  __device__ double operator()(Index i) const {
    if (g) g[i] = scale * (p[i] - t[i]);
    const double d = static_cast<double>(p[i]) - static_cast<double>(t[i]);
    return d * d;
  }
};

template <class T>
struct BceMap {  // max(z, 0) - z t + log1p(exp(-|z|)) in double; writes g[i] = scale (sigmoid(z) - t) when g is set
  const T* z;
  const T* t;
  T* g;
  T scale;
  __device__ double operator()(Index i) const {
    const double zi = static_cast<double>(z[i]), ti = static_cast<double>(t[i]);
    const double e = exp(-fabs(zi));
    if (g) g[i] = scale * static_cast<T>((zi >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e)) - ti);
    return fmax(zi, 0.0) - zi * ti + log1p(e);
  }
};

}  // namespace loss_detail

// Scratch softmax_cross_entropy needs for n samples, in bytes (per-sample losses and statuses).
inline std::size_t softmax_cross_entropy_workspace_bytes(Index n) {
  return static_cast<std::size_t>(n) * (sizeof(double) + sizeof(int)) + sizeof(double);
}

// Softmax cross-entropy of logits (n, c) row-major against labels (n) (device arrays): *totals (device)
// receives the loss sum, the correct count and the first invalid label's sample; grad (n, c), unless
// null, receives (softmax - onehot) / n for every sample with a valid label. n >= 1, c >= 1.
template <class T>
void softmax_cross_entropy(const T* logits, const std::int32_t* labels, Index n, Index c, T* grad, void* workspace,
                           CrossEntropyTotals* totals, cudaStream_t stream) {
  auto* row_loss = static_cast<double*>(workspace);
  auto* row_status = reinterpret_cast<int*>(row_loss + n);
  const Index blocks = (n + loss_detail::warps_per_block - 1) / loss_detail::warps_per_block;
  require(blocks <= 2147483647, "kernels::softmax_cross_entropy: batch of ", n, " exceeds the grid limit");
  loss_detail::softmax_cross_entropy_v1_warp_per_row<T>
      <<<static_cast<unsigned>(blocks), 32 * loss_detail::warps_per_block, 0, stream>>>(logits, labels, n, c, grad,
                                                                                         row_loss, row_status);
  NETGROW_CHECK_LAUNCH("softmax_cross_entropy_v1_warp_per_row");
  loss_detail::softmax_cross_entropy_v1_combine<loss_detail::combine_block>
      <<<1, loss_detail::combine_block, 0, stream>>>(row_loss, row_status, n, totals);
  NETGROW_CHECK_LAUNCH("softmax_cross_entropy_v1_combine");
}

// Scratch mse needs for n elements, in doubles.
inline Index mse_workspace(Index n) { return map_sum_workspace(n); }

// *sum (device) = sum of (pred[i] - target[i])^2 in double; grad[i] = scale (pred[i] - target[i]) unless
// grad is null. `partials` holds mse_workspace(n) doubles.
template <class T>
void mse(const T* pred, const T* target, Index n, T* grad, T scale, double* partials, double* sum,
         cudaStream_t stream) {
  map_sum<double>(n, loss_detail::MseMap<T>{pred, target, grad, scale}, partials, sum, stream);
}

// Scratch bce_with_logits needs for n elements, in doubles.
inline Index bce_workspace(Index n) { return map_sum_workspace(n); }

// *sum (device) = sum of the binary cross-entropies of sigmoid(logits[i]) against targets[i] in double;
// grad[i] = scale (sigmoid(logits[i]) - targets[i]) unless grad is null. `partials`: bce_workspace(n).
template <class T>
void bce_with_logits(const T* logits, const T* targets, Index n, T* grad, T scale, double* partials, double* sum,
                     cudaStream_t stream) {
  map_sum<double>(n, loss_detail::BceMap<T>{logits, targets, grad, scale}, partials, sum, stream);
}

}  // namespace netgrow::kernels
