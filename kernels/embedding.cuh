// kernels/embedding.cuh: table lookups by id (token embeddings): the id check, the gather and the
// gradient scattered back by id.
//
// Versions:
//   embedding_v1_scan   the check: one block of 256 threads strides over the P ids and keeps the smallest
//                       position of a bad id (not a whole number in [0, V)), reduced by a fixed tree.
//                       Gather: one thread per output element (grid-stride), y[i, c] = table[id_i, c].
//                       Gradient: one thread per table element (v, c), which walks the P positions in
//                       order and adds dy[i, c] where id_i == v: deterministic without atomics, O(V P d)
//                       work, right for character vocabularies (V = 65); a sorted-ids version is the
//                       step for word vocabularies.
//
// Ids are stored in the scalar type T (a network's input is one tensor type), like the CPU reference
// (include/netgrow/backend/cpu/embedding.hpp), whose sums run in the same position order.
#pragma once

#include <cuda_runtime.h>

#include <cmath>

#include "netgrow/core/config.hpp"
#include "netgrow/kernels/launch.cuh"

namespace netgrow::kernels {

namespace embedding_detail {

inline constexpr int scan_block = 256;

template <class T>
__global__ void embedding_v1_scan(const T* ids, Index count, Index vocabulary, long long* first_invalid) {
  __shared__ long long shared[scan_block];
  long long first = count;
  for (Index i = threadIdx.x; i < count; i += scan_block) {
    const T id = ids[i];
    const bool ok = id >= T(0) && id < static_cast<T>(vocabulary) && floor(id) == id;
    if (!ok && i < first) first = i;
  }
  const int t = static_cast<int>(threadIdx.x);
  shared[t] = first;
  __syncthreads();
  for (int stride = scan_block / 2; stride > 0; stride /= 2) {
    if (t < stride && shared[t + stride] < shared[t]) shared[t] = shared[t + stride];
    __syncthreads();
  }
  if (t == 0) *first_invalid = shared[0] < count ? shared[0] : -1;
}

template <class T>
__global__ void embedding_v1_gather(const T* ids, Index count, const T* table, Index d, T* y) {
  const Index total = count * d;
  for (Index e = blockIdx.x * Index{blockDim.x} + threadIdx.x; e < total; e += Index{gridDim.x} * blockDim.x) {
    const Index i = e / d, c = e % d;
    y[e] = table[static_cast<Index>(ids[i]) * d + c];
  }
}

template <class T>
__global__ void embedding_v1_scatter(const T* ids, Index count, const T* dy, Index vocabulary, Index d, bool accumulate,
                                     T* dtable) {
  const Index total = vocabulary * d;
  for (Index e = blockIdx.x * Index{blockDim.x} + threadIdx.x; e < total; e += Index{gridDim.x} * blockDim.x) {
    const Index v = e / d, c = e % d;
    const T id = static_cast<T>(v);
    T acc = accumulate ? dtable[e] : T(0);
    for (Index i = 0; i < count; ++i)
      if (ids[i] == id) acc += dy[i * d + c];
    dtable[e] = acc;
  }
}

}  // namespace embedding_detail

/// Writes to *first_invalid (device) the first position whose id is not a whole number in [0, vocabulary),
/// or -1.
template <class T>
void embedding_check(const T* ids, Index count, Index vocabulary, long long* first_invalid, cudaStream_t stream) {
  embedding_detail::embedding_v1_scan<T><<<1, embedding_detail::scan_block, 0, stream>>>(ids, count, vocabulary,
                                                                                           first_invalid);
  NETGROW_CHECK_LAUNCH("embedding_v1_scan");
}

/// y (count, d) = table[ids] (ids checked).
template <class T>
void embedding_forward(const T* ids, Index count, const T* table, Index d, T* y, cudaStream_t stream) {
  if (count == 0) return;
  embedding_detail::embedding_v1_gather<T><<<detail::grid_blocks(count * d), detail::threads_per_block, 0, stream>>>(
      ids, count, table, d, y);
  NETGROW_CHECK_LAUNCH("embedding_v1_gather");
}

/// dtable (vocabulary, d) (+)= dy (count, d) scattered by id (ids checked).
template <class T>
void embedding_backward(const T* ids, Index count, const T* dy, Index vocabulary, Index d, bool accumulate, T* dtable,
                        cudaStream_t stream) {
  embedding_detail::embedding_v1_scatter<T>
      <<<detail::grid_blocks(vocabulary * d), detail::threads_per_block, 0, stream>>>(ids, count, dy, vocabulary, d,
                                                                                       accumulate, dtable);
  NETGROW_CHECK_LAUNCH("embedding_v1_scatter");
}

}  // namespace netgrow::kernels
