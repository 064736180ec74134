// kernels/conv_layout.cuh: the layout moves around a batched im2col + GEMM convolution. The GEMM
// W (out, C k k) x cols (C k k, N Ho Wo) yields channel-major (out, N, M) (M = Ho Wo); tensors are
// sample-major (N, out, M). This family converts between the two and sums per channel.
//
// Versions:
//   channel_major_v1_thread_per_element
//                         (C, N, M) -> (N, C, M) adding an optional per-channel bias, and its adjoint
//                         (N, C, M) -> (C, N, M); one thread per element (grid-stride), reads and writes
//                         coalesced along M.
//   channel_sums_v1_block_per_channel
//                         out[c] (+)= the sum of the channel's N M values of a (N, C, M) tensor: one block
//                         per channel, a strided loop in double and a fixed tree (launch.cuh's
//                         block_sum): deterministic (the convolution's bias gradient).
//
// CPU reference: the per-image loops of include/netgrow/backend/cpu/conv2d.hpp.
#pragma once

#include <cuda_runtime.h>

#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"
#include "netgrow/kernels/launch.cuh"

namespace netgrow::kernels {

namespace conv_layout_detail {

inline constexpr int reduce_block = 256;

template <class T>
__global__ void sample_major_v1_from_channel_major(const T* src, const T* bias, Index batch, Index channels,
                                                   Index spatial, T* dst) {
  const Index total = batch * channels * spatial;
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < total; i += Index{gridDim.x} * blockDim.x) {
    const Index m = i % spatial, nc = i / spatial, c = nc % channels, n = nc / channels;
    const T v = src[(c * batch + n) * spatial + m];
    dst[i] = bias ? v + bias[c] : v;
  }
}

template <class T>
__global__ void channel_major_v1_from_sample_major(const T* src, Index batch, Index channels, Index spatial, T* dst) {
  const Index total = batch * channels * spatial;
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < total; i += Index{gridDim.x} * blockDim.x) {
    const Index m = i % spatial, cn = i / spatial, n = cn % batch, c = cn / batch;
    dst[i] = src[(n * channels + c) * spatial + m];
  }
}

template <class T>
__global__ void channel_sums_v1_block_per_channel(const T* x, Index batch, Index channels, Index spatial,
                                                  bool accumulate, T* out) {
  __shared__ double shared[reduce_block];
  const Index c = blockIdx.x, count = batch * spatial;
  double s = 0.0;
  for (Index j = threadIdx.x; j < count; j += reduce_block) {
    const Index n = j / spatial, m = j - n * spatial;
    s += static_cast<double>(x[(n * channels + c) * spatial + m]);
  }
  s = detail::block_sum<reduce_block>(s, shared);
  if (threadIdx.x == 0) out[c] = static_cast<T>(s + (accumulate ? static_cast<double>(out[c]) : 0.0));
}

inline void check_extent(Index batch, Index channels, Index spatial, const char* who) {
  require(batch >= 0 && channels >= 0 && spatial >= 0, who, ": invalid extent (N ", batch, ", C ", channels, ", M ",
          spatial, ")");
}

}  // namespace conv_layout_detail

// dst (N, C, M) = src (C, N, M) permuted, plus bias[c] when bias is not null; assigned. src and dst
// must not overlap. Asynchronous on `stream`.
template <class T>
void sample_major_from_channel_major(const T* src, const T* bias, Index batch, Index channels, Index spatial, T* dst,
                                     cudaStream_t stream) {
  conv_layout_detail::check_extent(batch, channels, spatial, "kernels::sample_major_from_channel_major");
  const Index total = batch * channels * spatial;
  if (total == 0) return;
  conv_layout_detail::sample_major_v1_from_channel_major<T>
      <<<detail::grid_blocks(total), detail::threads_per_block, 0, stream>>>(src, bias, batch, channels, spatial, dst);
  NETGROW_CHECK_LAUNCH("sample_major_v1_from_channel_major");
}

// dst (C, N, M) = src (N, C, M) permuted (the adjoint of the above without bias); assigned.
template <class T>
void channel_major_from_sample_major(const T* src, Index batch, Index channels, Index spatial, T* dst,
                                     cudaStream_t stream) {
  conv_layout_detail::check_extent(batch, channels, spatial, "kernels::channel_major_from_sample_major");
  const Index total = batch * channels * spatial;
  if (total == 0) return;
  conv_layout_detail::channel_major_v1_from_sample_major<T>
      <<<detail::grid_blocks(total), detail::threads_per_block, 0, stream>>>(src, batch, channels, spatial, dst);
  NETGROW_CHECK_LAUNCH("channel_major_v1_from_sample_major");
}

// out (C) = the sum over n and m of x (N, C, M), accumulated in double: assigned, or added to when
// `accumulate`.
template <class T>
void channel_sums(const T* x, Index batch, Index channels, Index spatial, bool accumulate, T* out,
                  cudaStream_t stream) {
  conv_layout_detail::check_extent(batch, channels, spatial, "kernels::channel_sums");
  if (channels == 0) return;
  require(channels <= 2147483647, "kernels::channel_sums: ", channels, " channels exceed the grid limit");
  conv_layout_detail::channel_sums_v1_block_per_channel<T>
      <<<static_cast<unsigned>(channels), conv_layout_detail::reduce_block, 0, stream>>>(x, batch, channels, spatial,
                                                                                        accumulate, out);
  NETGROW_CHECK_LAUNCH("channel_sums_v1_block_per_channel");
}

}  // namespace netgrow::kernels
