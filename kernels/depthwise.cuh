// kernels/depthwise.cuh: depthwise 2-D convolution (one k x k filter per channel, depth multiplier 1,
// cross-correlation, stride s, zero padding p) of x (N, C, H, W) with w (C, 1, k, k) and bias b (C):
// forward, input gradient, filter and bias gradients.
//
// Versions:
//   depthwise_v1_direct        forward: one thread per output (grid-stride) walking its window in
//                              row-major order, starting from the bias.
//   depthwise_v1_gather_input_grad
//                              input gradient: one thread per input element gathers dy w over the
//                              outputs whose windows contain it, in output order (the CPU reference's
//                              order); no atomics.
//   depthwise_v1_block_per_tap filter and bias gradients: one block per (channel, tap) (tap k k is the
//                              bias), a strided loop over the N Ho Wo outputs in double and a fixed tree
//                              (launch.cuh's block_sum): deterministic.
//
// CPU reference: include/netgrow/backend/cpu/depthwise.hpp.
#pragma once

#include <cuda_runtime.h>

#include "netgrow/core/conv_geometry.hpp"
#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"
#include "netgrow/kernels/launch.cuh"

namespace netgrow::kernels {

namespace depthwise_detail {

inline constexpr int reduce_block = 256;

// The convolution in kernel arguments.
struct Extent {
  Index batch, channels, height, width, out_height, out_width, kernel, stride, padding;
};

inline Extent extent_of(Index batch, Index channels, const ConvGeometry& g) {
  return {batch, channels, g.height, g.width, g.out_height(), g.out_width(), g.kernel, g.stride, g.padding};
}

template <class T>
__global__ void depthwise_v1_direct(const T* x, const T* w, const T* bias, Extent e, T* y) {
  const Index ohw = e.out_height * e.out_width, total = e.batch * e.channels * ohw, kk = e.kernel * e.kernel;
  for (Index o = blockIdx.x * Index{blockDim.x} + threadIdx.x; o < total; o += Index{gridDim.x} * blockDim.x) {
    const Index map = o / ohw, rest = o - map * ohw, oy = rest / e.out_width, ox = rest - oy * e.out_width;
    const Index c = map % e.channels;
    const T* in = x + map * e.height * e.width;
    const T* filter = w + c * kk;
    T acc = bias ? bias[c] : T(0);
    for (Index i = 0; i < e.kernel; ++i) {
      const Index iy = oy * e.stride - e.padding + i;
      if (iy < 0 || iy >= e.height) continue;
      for (Index j = 0; j < e.kernel; ++j) {
        const Index ix = ox * e.stride - e.padding + j;
        if (ix >= 0 && ix < e.width) acc += filter[i * e.kernel + j] * in[iy * e.width + ix];
      }
    }
    y[o] = acc;
  }
}

// Outputs along one axis whose window contains input coordinate `at`: [first, last].
__device__ inline void covering_outputs(Index at, Index kernel, Index stride, Index padding, Index outputs,
                                        Index& first, Index& last) {
  const Index low = at + padding - kernel + 1;
  first = low <= 0 ? 0 : (low + stride - 1) / stride;
  last = (at + padding) / stride;
  if (last > outputs - 1) last = outputs - 1;
}

template <class T>
__global__ void depthwise_v1_gather_input_grad(const T* dy, const T* w, Extent e, T* dx) {
  const Index hw = e.height * e.width, ohw = e.out_height * e.out_width, total = e.batch * e.channels * hw;
  const Index kk = e.kernel * e.kernel;
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < total; i += Index{gridDim.x} * blockDim.x) {
    const Index map = i / hw, pos = i - map * hw, iy = pos / e.width, ix = pos - iy * e.width;
    const T* filter = w + (map % e.channels) * kk;
    const T* go = dy + map * ohw;
    Index oy0, oy1, ox0, ox1;
    covering_outputs(iy, e.kernel, e.stride, e.padding, e.out_height, oy0, oy1);
    covering_outputs(ix, e.kernel, e.stride, e.padding, e.out_width, ox0, ox1);
    T acc = T(0);
    for (Index oy = oy0; oy <= oy1; ++oy) {
      const Index tap_row = (iy - oy * e.stride + e.padding) * e.kernel;
      for (Index ox = ox0; ox <= ox1; ++ox)
        acc += go[oy * e.out_width + ox] * filter[tap_row + ix - ox * e.stride + e.padding];
    }
    dx[i] = acc;
  }
}

// Block (c, tap): tap < k k sums dy x over the tap's in-bounds pairs, tap == k k sums dy (the bias).
template <class T>
__global__ void depthwise_v1_block_per_tap(const T* x, const T* dy, Extent e, bool accumulate, T* dw, T* db) {
  __shared__ double shared[reduce_block];
  const Index c = blockIdx.x, tap = blockIdx.y, kk = e.kernel * e.kernel;
  const Index ohw = e.out_height * e.out_width, hw = e.height * e.width, count = e.batch * ohw;
  const bool is_bias = tap == kk;
  const Index ti = is_bias ? 0 : tap / e.kernel, tj = is_bias ? 0 : tap - ti * e.kernel;
  double s = 0.0;
  for (Index q = threadIdx.x; q < count; q += reduce_block) {
    const Index n = q / ohw, o = q - n * ohw, oy = o / e.out_width, ox = o - oy * e.out_width;
    const Index map = n * e.channels + c;
    const double g = static_cast<double>(dy[map * ohw + o]);
    if (is_bias) {
      s += g;
      continue;
    }
    const Index iy = oy * e.stride - e.padding + ti, ix = ox * e.stride - e.padding + tj;
    if (iy >= 0 && iy < e.height && ix >= 0 && ix < e.width)
      s += g * static_cast<double>(x[map * hw + iy * e.width + ix]);
  }
  s = detail::block_sum<reduce_block>(s, shared);
  if (threadIdx.x != 0) return;
  T* out = is_bias ? db + c : dw + c * kk + tap;
  *out = static_cast<T>(s + (accumulate ? static_cast<double>(*out) : 0.0));
}

inline void check_extent(Index batch, Index channels, const ConvGeometry& g, const char* who) {
  g.check(who);
  require(batch >= 0 && channels >= 0, who, ": invalid batch ", batch, " or channel count ", channels);
  require(channels <= 2147483647 && g.kernel * g.kernel < 65535, who, ": ", channels, " channels with a ", g.kernel,
          "x", g.kernel, " kernel exceed the grid limits");
}

}  // namespace depthwise_detail

// y (N, C, Ho, Wo) = depthwise(x (N, C, H, W), w (C, 1, k, k)) + bias (C; null: none); assigned.
// g: the window over one (H, W) map (g.channels is not used). Asynchronous on `stream`.
template <class T>
void depthwise_conv2d_forward(const T* x, Index batch, Index channels, const ConvGeometry& g, const T* w,
                              const T* bias, T* y, cudaStream_t stream) {
  depthwise_detail::check_extent(batch, channels, g, "kernels::depthwise_conv2d_forward");
  const Index total = batch * channels * g.positions();
  if (total == 0) return;
  depthwise_detail::depthwise_v1_direct<T><<<detail::grid_blocks(total), detail::threads_per_block, 0, stream>>>(
      x, w, bias, depthwise_detail::extent_of(batch, channels, g), y);
  NETGROW_CHECK_LAUNCH("depthwise_v1_direct");
}

// dx (N, C, H, W) = the input gradient of the depthwise convolution for dy (N, C, Ho, Wo); assigned.
template <class T>
void depthwise_conv2d_input_grad(const T* dy, Index batch, Index channels, const ConvGeometry& g, const T* w,
                                 T* dx, cudaStream_t stream) {
  depthwise_detail::check_extent(batch, channels, g, "kernels::depthwise_conv2d_input_grad");
  const Index total = batch * channels * g.height * g.width;
  if (total == 0) return;
  depthwise_detail::depthwise_v1_gather_input_grad<T>
      <<<detail::grid_blocks(total), detail::threads_per_block, 0, stream>>>(
          dy, w, depthwise_detail::extent_of(batch, channels, g), dx);
  NETGROW_CHECK_LAUNCH("depthwise_v1_gather_input_grad");
}

// dw (C, 1, k, k) = sum over n, Ho, Wo of dy x through each tap, and db (C; null: none) = the sum of dy
// per channel, accumulated in double: assigned, or added to when `accumulate`.
template <class T>
void depthwise_conv2d_weight_grad(const T* x, const T* dy, Index batch, Index channels, const ConvGeometry& g,
                                  T* dw, T* db, bool accumulate, cudaStream_t stream) {
  depthwise_detail::check_extent(batch, channels, g, "kernels::depthwise_conv2d_weight_grad");
  if (channels == 0) return;
  const Index taps = g.kernel * g.kernel + (db ? 1 : 0);
  depthwise_detail::depthwise_v1_block_per_tap<T>
      <<<dim3(static_cast<unsigned>(channels), static_cast<unsigned>(taps)), depthwise_detail::reduce_block, 0,
         stream>>>(x, dy, depthwise_detail::extent_of(batch, channels, g), accumulate, dw, db);
  NETGROW_CHECK_LAUNCH("depthwise_v1_block_per_tap");
}

}  // namespace netgrow::kernels
