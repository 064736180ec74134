// kernels/attention.cuh: multi-head scaled dot-product attention, forward (probabilities and output)
// and backward (query, key and value gradients), for q, k, v and the output of shape (N, T, h dh), the
// heads side by side in the last axis, and probabilities (N, h, T, T).
//
// Versions:
//   attention_v1_rows    correctness first, no tiling: one block of 128 threads per (sample, head, query
//                        row) for the scores and the softmax (each thread its strided share of the keys,
//                        scores kept in the probabilities' row; the row maximum and the sum of
//                        exponentials by fixed block trees, the sum in double), one block of 64 threads
//                        per (sample, head, row) for the products with V, dQ and dK, each thread its
//                        strided share of the head dimension with a sequential loop over the T keys or
//                        queries. The backward pass writes dS = scale P (dP - rowsum(P dP)) to a
//                        workspace (N, h, T, T) first. Causal rows stop at their own position (the masked
//                        probabilities are written as 0). Any N, T, h and dh; no atomics, the summation
//                        order depends on the sizes only: bit-identical from run to run. O(T^2 dh) work per
//                        head like the CPU path, without its GEMMs: a cuBLAS batched-GEMM version is
//                        the next step once it can be timed on a GPU.
//
// Arithmetic follows the CPU reference (include/netgrow/backend/cpu/attention.hpp): scores scaled by
// 1 / sqrt(dh), a numerically stable softmax (maximum subtracted), products accumulated in T except the
// softmax and row-dot sums (double).
#pragma once

#include <cuda_runtime.h>

#include <cmath>

#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"
#include "netgrow/kernels/launch.cuh"

namespace netgrow::kernels {

// q (N, T, h dh) and the probabilities (N, h, T, T).
struct AttentionExtent {
  Index n = 0, t = 0, heads = 0, head_dim = 0;
  NETGROW_HOST_DEVICE Index width() const { return heads * head_dim; }
};

namespace attention_detail {

inline constexpr int row_block = 128;  // threads per (sample, head, row) for the T-long rows
inline constexpr int dim_block = 64;   // threads per (sample, head, row) for the dh-long rows

// Block maximum, valid in every thread (shared holds row_block entries).
template <class T>
__device__ T block_max(T value, T* shared) {
  const int t = static_cast<int>(threadIdx.x);
  shared[t] = value;
  __syncthreads();
  for (int stride = row_block / 2; stride > 0; stride /= 2) {
    if (t < stride && shared[t + stride] > shared[t]) shared[t] = shared[t + stride];
    __syncthreads();
  }
  const T top = shared[0];
  __syncthreads();
  return top;
}

// Offsets of row r of head j of sample i in the (N, T, h dh) tensors and in the (N, h, T, T) ones.
__device__ inline Index token_offset(const AttentionExtent& e, Index i, Index j, Index r) {
  return (i * e.t + r) * e.width() + j * e.head_dim;
}
__device__ inline Index prob_offset(const AttentionExtent& e, Index i, Index j, Index r) {
  return ((i * e.heads + j) * e.t + r) * e.t;
}

// probs[i, j, r, :] = softmax(scale q_r k^T) over the visible keys. Block b = (i h + j) T + r.
template <class T>
__global__ void attention_v1_softmax(const T* q, const T* k, AttentionExtent e, bool causal, T scale, T* probs) {
  __shared__ T shared_max[row_block];
  __shared__ double shared_sum[row_block];
  const Index rows = e.n * e.heads * e.t;
  for (Index b = blockIdx.x; b < rows; b += gridDim.x) {
    const Index r = b % e.t, j = (b / e.t) % e.heads, i = b / (e.t * e.heads);
    const Index keys = causal ? r + 1 : e.t;
    const T* qr = q + token_offset(e, i, j, r);
    T* p = probs + prob_offset(e, i, j, r);
    T top = -INFINITY;
    for (Index c = threadIdx.x; c < keys; c += row_block) {
      const T* kc = k + token_offset(e, i, j, c);
      T s = 0;
      for (Index d = 0; d < e.head_dim; ++d) s += qr[d] * kc[d];
      s *= scale;
      p[c] = s;
      top = s > top ? s : top;
    }
    top = block_max(top, shared_max);
    double sum = 0;
    for (Index c = threadIdx.x; c < keys; c += row_block) {
      const T x = static_cast<T>(exp(static_cast<double>(p[c] - top)));
      p[c] = x;
      sum += static_cast<double>(x);
    }
    sum = detail::block_sum<row_block>(sum, shared_sum);
    for (Index c = threadIdx.x; c < e.t; c += row_block)
      p[c] = c < keys ? static_cast<T>(static_cast<double>(p[c]) / sum) : T(0);
  }
}

// out[i, r, j, :] = sum_c P[r, c] v[i, c, j, :]. Block b = (i h + j) T + r.
template <class T>
__global__ void attention_v1_apply(const T* probs, const T* v, AttentionExtent e, bool causal, T* out) {
  const Index rows = e.n * e.heads * e.t;
  for (Index b = blockIdx.x; b < rows; b += gridDim.x) {
    const Index r = b % e.t, j = (b / e.t) % e.heads, i = b / (e.t * e.heads);
    const Index keys = causal ? r + 1 : e.t;
    const T* p = probs + prob_offset(e, i, j, r);
    for (Index d = threadIdx.x; d < e.head_dim; d += dim_block) {
      T acc = 0;
      for (Index c = 0; c < keys; ++c) acc += p[c] * v[token_offset(e, i, j, c) + d];
      out[token_offset(e, i, j, r) + d] = acc;
    }
  }
}

// dv[i, c, j, :] = sum_r P[r, c] dout[i, r, j, :]. Block b = (i h + j) T + c.
template <class T>
__global__ void attention_v1_value_grad(const T* probs, const T* dout, AttentionExtent e, T* dv) {
  const Index rows = e.n * e.heads * e.t;
  for (Index b = blockIdx.x; b < rows; b += gridDim.x) {
    const Index c = b % e.t, j = (b / e.t) % e.heads, i = b / (e.t * e.heads);
    const T* p = probs + prob_offset(e, i, j, 0) + c;  // column c, stride T
    for (Index d = threadIdx.x; d < e.head_dim; d += dim_block) {
      T acc = 0;
      for (Index r = 0; r < e.t; ++r) acc += p[r * e.t] * dout[token_offset(e, i, j, r) + d];
      dv[token_offset(e, i, j, c) + d] = acc;
    }
  }
}

// ds[i, j, r, :] = scale P_r (dP_r - sum_c P_rc dP_rc), dP_rc = dout_r . v_c. Block b = (i h + j) T + r.
template <class T>
__global__ void attention_v1_score_grad(const T* probs, const T* dout, const T* v, AttentionExtent e, T scale, T* ds) {
  __shared__ double shared_sum[row_block];
  const Index rows = e.n * e.heads * e.t;
  for (Index b = blockIdx.x; b < rows; b += gridDim.x) {
    const Index r = b % e.t, j = (b / e.t) % e.heads, i = b / (e.t * e.heads);
    const T* p = probs + prob_offset(e, i, j, r);
    const T* g = dout + token_offset(e, i, j, r);
    T* s = ds + prob_offset(e, i, j, r);
    double dot = 0;
    for (Index c = threadIdx.x; c < e.t; c += row_block) {
      const T* vc = v + token_offset(e, i, j, c);
      T dp = 0;
      for (Index d = 0; d < e.head_dim; ++d) dp += g[d] * vc[d];
      s[c] = dp;
      dot += static_cast<double>(p[c]) * static_cast<double>(dp);
    }
    dot = detail::block_sum<row_block>(dot, shared_sum);
    for (Index c = threadIdx.x; c < e.t; c += row_block) s[c] = scale * p[c] * (s[c] - static_cast<T>(dot));
  }
}

// dq[i, r, j, :] = sum_c dS[r, c] k[i, c, j, :]. Block b = (i h + j) T + r.
template <class T>
__global__ void attention_v1_query_grad(const T* ds, const T* k, AttentionExtent e, T* dq) {
  const Index rows = e.n * e.heads * e.t;
  for (Index b = blockIdx.x; b < rows; b += gridDim.x) {
    const Index r = b % e.t, j = (b / e.t) % e.heads, i = b / (e.t * e.heads);
    const T* s = ds + prob_offset(e, i, j, r);
    for (Index d = threadIdx.x; d < e.head_dim; d += dim_block) {
      T acc = 0;
      for (Index c = 0; c < e.t; ++c) acc += s[c] * k[token_offset(e, i, j, c) + d];
      dq[token_offset(e, i, j, r) + d] = acc;
    }
  }
}

// dk[i, c, j, :] = sum_r dS[r, c] q[i, r, j, :]. Block b = (i h + j) T + c.
template <class T>
__global__ void attention_v1_key_grad(const T* ds, const T* q, AttentionExtent e, T* dk) {
  const Index rows = e.n * e.heads * e.t;
  for (Index b = blockIdx.x; b < rows; b += gridDim.x) {
    const Index c = b % e.t, j = (b / e.t) % e.heads, i = b / (e.t * e.heads);
    const T* s = ds + prob_offset(e, i, j, 0) + c;
    for (Index d = threadIdx.x; d < e.head_dim; d += dim_block) {
      T acc = 0;
      for (Index r = 0; r < e.t; ++r) acc += s[r * e.t] * q[token_offset(e, i, j, r) + d];
      dk[token_offset(e, i, j, c) + d] = acc;
    }
  }
}

inline unsigned row_grid(const AttentionExtent& e) {
  const Index rows = e.n * e.heads * e.t;
  return static_cast<unsigned>(rows < 65535 ? (rows > 0 ? rows : 1) : 65535);
}

inline void check_extent(const AttentionExtent& e, const char* who) {
  require<ShapeError>(e.n >= 0 && e.t >= 0 && e.heads >= 1 && e.head_dim >= 1, who, ": bad extent (N ", e.n, ", T ",
                      e.t, ", h ", e.heads, ", dh ", e.head_dim, ")");
}

}  // namespace attention_detail

/// Elements of the workspace attention_backward needs: N h T T (dS).
inline Index attention_workspace(const AttentionExtent& e) { return e.n * e.heads * e.t * e.t; }

/// probs (N, h, T, T) and out (N, T, h dh) from q, k, v (N, T, h dh); causal masks keys after the query.
template <class T>
void attention_forward(const T* q, const T* k, const T* v, const AttentionExtent& e, bool causal, T* probs, T* out,
                       cudaStream_t stream) {
  using namespace attention_detail;
  check_extent(e, "kernels::attention_forward");
  if (e.n == 0 || e.t == 0) return;
  const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(e.head_dim)));
  attention_v1_softmax<T><<<row_grid(e), row_block, 0, stream>>>(q, k, e, causal, scale, probs);
  NETGROW_CHECK_LAUNCH("attention_v1_softmax");
  attention_v1_apply<T><<<row_grid(e), dim_block, 0, stream>>>(probs, v, e, causal, out);
  NETGROW_CHECK_LAUNCH("attention_v1_apply");
}

/// dq, dk, dv (N, T, h dh) assigned from the forward's probs and dout (N, T, h dh); `workspace` holds
/// attention_workspace(e) elements of T.
template <class T>
void attention_backward(const T* q, const T* k, const T* v, const T* probs, const T* dout, const AttentionExtent& e,
                        T* dq, T* dk, T* dv, T* workspace, cudaStream_t stream) {
  using namespace attention_detail;
  check_extent(e, "kernels::attention_backward");
  if (e.n == 0 || e.t == 0) return;
  const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(e.head_dim)));
  attention_v1_value_grad<T><<<row_grid(e), dim_block, 0, stream>>>(probs, dout, e, dv);
  NETGROW_CHECK_LAUNCH("attention_v1_value_grad");
  attention_v1_score_grad<T><<<row_grid(e), row_block, 0, stream>>>(probs, dout, v, e, scale, workspace);
  NETGROW_CHECK_LAUNCH("attention_v1_score_grad");
  attention_v1_query_grad<T><<<row_grid(e), dim_block, 0, stream>>>(workspace, k, e, dq);
  NETGROW_CHECK_LAUNCH("attention_v1_query_grad");
  attention_v1_key_grad<T><<<row_grid(e), dim_block, 0, stream>>>(workspace, q, e, dk);
  NETGROW_CHECK_LAUNCH("attention_v1_key_grad");
}

}  // namespace netgrow::kernels
