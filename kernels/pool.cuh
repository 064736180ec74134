// kernels/pool.cuh: 2-D pooling over k x k windows (stride s, padding p) of (N, C, H, W) tensors:
// max pooling, average pooling (divides by k k, PyTorch's count_include_pad = true) and global
// average pooling, forward and backward.
//
// Versions:
//   pool_v1_thread_per_output   forward: one thread per output (grid-stride), the window walked in
//                               row-major order (max: -inf padding, the first maximum wins ties, a NaN
//                               wins over numbers; the winner's position iy W + ix within its map is
//                               recorded as int32).
//   pool_v1_gather_backward     backward: one thread per *input* element gathers from the outputs whose
//                               windows contain it, in output order (max: those that recorded it as
//                               their winner). No atomics: deterministic, and the additions happen in
//                               the CPU reference's order.
//   global_avg_v1_warp_per_map  one warp per (n, c) map: a strided loop and a fixed shuffle tree, sums in
//                               double; the backward is element-wise.
//
// CPU reference: include/netgrow/backend/cpu/pool.hpp.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "netgrow/core/conv_geometry.hpp"
#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"
#include "netgrow/kernels/launch.cuh"

namespace netgrow::kernels {

namespace pool_detail {

// The window geometry in kernel arguments (ConvGeometry's numbers; maps = N C).
struct Window {
  Index maps, height, width, out_height, out_width, kernel, stride, padding;
};

inline Window window_of(Index maps, const ConvGeometry& g) {
  return {maps, g.height, g.width, g.out_height(), g.out_width(), g.kernel, g.stride, g.padding};
}

// Outputs along one axis whose window contains input coordinate `at`: [first, last] (empty when
// first > last).
__device__ inline void covering_outputs(Index at, Index kernel, Index stride, Index padding, Index outputs,
                                        Index& first, Index& last) {
  const Index low = at + padding - kernel + 1;  // o s - p + k - 1 >= at
  first = low <= 0 ? 0 : (low + stride - 1) / stride;
  last = (at + padding) / stride;  // o s - p <= at
  if (last > outputs - 1) last = outputs - 1;
}

template <class T>
__device__ inline T negative_infinity() {
  return -static_cast<T>(INFINITY);
}

template <class T>
__global__ void max_pool_v1_thread_per_output(const T* x, Window w, T* y, std::int32_t* argmax) {
  const Index ohw = w.out_height * w.out_width, total = w.maps * ohw;
  for (Index o = blockIdx.x * Index{blockDim.x} + threadIdx.x; o < total; o += Index{gridDim.x} * blockDim.x) {
    const Index m = o / ohw, rest = o - m * ohw, oy = rest / w.out_width, ox = rest - oy * w.out_width;
    const T* in = x + m * w.height * w.width;
    T best = negative_infinity<T>();
    Index where = -1;
    for (Index i = 0; i < w.kernel; ++i) {
      const Index iy = oy * w.stride - w.padding + i;
      if (iy < 0 || iy >= w.height) continue;
      for (Index j = 0; j < w.kernel; ++j) {
        const Index ix = ox * w.stride - w.padding + j;
        if (ix < 0 || ix >= w.width) continue;
        const T v = in[iy * w.width + ix];
        if (where < 0 || v > best || (v != v && best == best)) {
          best = v;
          where = iy * w.width + ix;
        }
      }
    }
    y[o] = best;
    argmax[o] = static_cast<std::int32_t>(where);
  }
}

template <class T>
__global__ void max_pool_v1_gather_backward(const T* dy, const std::int32_t* argmax, Window w, T* dx) {
  const Index hw = w.height * w.width, ohw = w.out_height * w.out_width, total = w.maps * hw;
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < total; i += Index{gridDim.x} * blockDim.x) {
    const Index m = i / hw, pos = i - m * hw, iy = pos / w.width, ix = pos - iy * w.width;
    Index oy0, oy1, ox0, ox1;
    covering_outputs(iy, w.kernel, w.stride, w.padding, w.out_height, oy0, oy1);
    covering_outputs(ix, w.kernel, w.stride, w.padding, w.out_width, ox0, ox1);
    T acc = T(0);
    for (Index oy = oy0; oy <= oy1; ++oy)
      for (Index ox = ox0; ox <= ox1; ++ox) {
        const Index o = m * ohw + oy * w.out_width + ox;
        if (argmax[o] == pos) acc += dy[o];
      }
    dx[i] = acc;
  }
}

template <class T>
__global__ void avg_pool_v1_thread_per_output(const T* x, Window w, T scale, T* y) {
  const Index ohw = w.out_height * w.out_width, total = w.maps * ohw;
  for (Index o = blockIdx.x * Index{blockDim.x} + threadIdx.x; o < total; o += Index{gridDim.x} * blockDim.x) {
    const Index m = o / ohw, rest = o - m * ohw, oy = rest / w.out_width, ox = rest - oy * w.out_width;
    const T* in = x + m * w.height * w.width;
    T sum = T(0);
    for (Index i = 0; i < w.kernel; ++i) {
      const Index iy = oy * w.stride - w.padding + i;
      if (iy < 0 || iy >= w.height) continue;
      for (Index j = 0; j < w.kernel; ++j) {
        const Index ix = ox * w.stride - w.padding + j;
        if (ix >= 0 && ix < w.width) sum += in[iy * w.width + ix];
      }
    }
    y[o] = sum * scale;
  }
}

template <class T>
__global__ void avg_pool_v1_gather_backward(const T* dy, Window w, T scale, T* dx) {
  const Index hw = w.height * w.width, ohw = w.out_height * w.out_width, total = w.maps * hw;
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < total; i += Index{gridDim.x} * blockDim.x) {
    const Index m = i / hw, pos = i - m * hw, iy = pos / w.width, ix = pos - iy * w.width;
    Index oy0, oy1, ox0, ox1;
    covering_outputs(iy, w.kernel, w.stride, w.padding, w.out_height, oy0, oy1);
    covering_outputs(ix, w.kernel, w.stride, w.padding, w.out_width, ox0, ox1);
    T acc = T(0);
    for (Index oy = oy0; oy <= oy1; ++oy)
      for (Index ox = ox0; ox <= ox1; ++ox) acc += scale * dy[m * ohw + oy * w.out_width + ox];
    dx[i] = acc;
  }
}

inline constexpr int warp = 32;
inline constexpr int maps_per_block = 8;  // warps per block of the global-average kernel

template <class T>
__global__ void global_avg_v1_warp_per_map(const T* x, Index maps, Index hw, T* y) {
  const Index m = blockIdx.x * Index{maps_per_block} + threadIdx.x / warp;
  const int lane = static_cast<int>(threadIdx.x % warp);
  if (m >= maps) return;  // whole warps leave together: the shuffles below see full warps
  const T* in = x + m * hw;
  double s = 0.0;
  for (Index i = lane; i < hw; i += warp) s += static_cast<double>(in[i]);
  for (int offset = warp / 2; offset > 0; offset /= 2) s += __shfl_down_sync(0xffffffffu, s, offset);
  if (lane == 0) y[m] = static_cast<T>(s / static_cast<double>(hw));
}

template <class T>
__global__ void global_avg_v1_backward(const T* dy, Index maps, Index hw, T* dx) {
  const Index total = maps * hw;
  const T n = static_cast<T>(hw);
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < total; i += Index{gridDim.x} * blockDim.x)
    dx[i] = dy[i / hw] / n;
}

inline void check_window(Index maps, const ConvGeometry& g, const char* who) {
  g.check(who);
  require(maps >= 0, who, ": negative map count ", maps);
  require(g.height * g.width <= 2147483647, who, ": ", g.height, "x", g.width, " maps exceed int32 positions");
}

}  // namespace pool_detail

// y (maps, Ho, Wo) = max over each k x k window of x (maps, H, W) (maps = N C); argmax (maps, Ho, Wo)
// = the winner's position iy W + ix within its map. Both assigned. g: the window over one map
// (g.channels is not used). Asynchronous on `stream`.
template <class T>
void max_pool2d_forward(const T* x, Index maps, const ConvGeometry& g, T* y, std::int32_t* argmax,
                        cudaStream_t stream) {
  pool_detail::check_window(maps, g, "kernels::max_pool2d_forward");
  const auto w = pool_detail::window_of(maps, g);
  const Index total = maps * g.positions();
  if (total == 0) return;
  pool_detail::max_pool_v1_thread_per_output<T>
      <<<detail::grid_blocks(total), detail::threads_per_block, 0, stream>>>(x, w, y, argmax);
  NETGROW_CHECK_LAUNCH("max_pool_v1_thread_per_output");
}

// dx (maps, H, W) is assigned: each input element receives the sum of dy over the outputs that
// recorded it as their winner (zero elsewhere).
template <class T>
void max_pool2d_backward(const T* dy, const std::int32_t* argmax, Index maps, const ConvGeometry& g, T* dx,
                         cudaStream_t stream) {
  pool_detail::check_window(maps, g, "kernels::max_pool2d_backward");
  const auto w = pool_detail::window_of(maps, g);
  const Index total = maps * g.height * g.width;
  if (total == 0) return;
  pool_detail::max_pool_v1_gather_backward<T>
      <<<detail::grid_blocks(total), detail::threads_per_block, 0, stream>>>(dy, argmax, w, dx);
  NETGROW_CHECK_LAUNCH("max_pool_v1_gather_backward");
}

// y (maps, Ho, Wo) = the sum of each window's in-bounds elements / (k k); assigned.
template <class T>
void avg_pool2d_forward(const T* x, Index maps, const ConvGeometry& g, T* y, cudaStream_t stream) {
  pool_detail::check_window(maps, g, "kernels::avg_pool2d_forward");
  const auto w = pool_detail::window_of(maps, g);
  const Index total = maps * g.positions();
  if (total == 0) return;
  const T scale = T(1) / static_cast<T>(g.kernel * g.kernel);
  pool_detail::avg_pool_v1_thread_per_output<T>
      <<<detail::grid_blocks(total), detail::threads_per_block, 0, stream>>>(x, w, scale, y);
  NETGROW_CHECK_LAUNCH("avg_pool_v1_thread_per_output");
}

// dx (maps, H, W) = the adjoint of avg_pool2d_forward applied to dy; assigned.
template <class T>
void avg_pool2d_backward(const T* dy, Index maps, const ConvGeometry& g, T* dx, cudaStream_t stream) {
  pool_detail::check_window(maps, g, "kernels::avg_pool2d_backward");
  const auto w = pool_detail::window_of(maps, g);
  const Index total = maps * g.height * g.width;
  if (total == 0) return;
  const T scale = T(1) / static_cast<T>(g.kernel * g.kernel);
  pool_detail::avg_pool_v1_gather_backward<T>
      <<<detail::grid_blocks(total), detail::threads_per_block, 0, stream>>>(dy, w, scale, dx);
  NETGROW_CHECK_LAUNCH("avg_pool_v1_gather_backward");
}

// y (maps) = the mean of each map of x (maps, hw); assigned. hw >= 1.
template <class T>
void global_avg_pool_forward(const T* x, Index maps, Index hw, T* y, cudaStream_t stream) {
  require(maps >= 0 && hw >= 1, "kernels::global_avg_pool_forward: invalid extent (maps ", maps, ", hw ", hw, ")");
  if (maps == 0) return;
  const Index blocks = (maps + pool_detail::maps_per_block - 1) / pool_detail::maps_per_block;
  require(blocks <= 2147483647, "kernels::global_avg_pool_forward: ", maps, " maps exceed the grid limit");
  pool_detail::global_avg_v1_warp_per_map<T>
      <<<static_cast<unsigned>(blocks), pool_detail::maps_per_block * pool_detail::warp, 0, stream>>>(x, maps, hw, y);
  NETGROW_CHECK_LAUNCH("global_avg_v1_warp_per_map");
}

// dx (maps, hw) = dy (maps) / hw spread over each map; assigned.
template <class T>
void global_avg_pool_backward(const T* dy, Index maps, Index hw, T* dx, cudaStream_t stream) {
  require(maps >= 0 && hw >= 1, "kernels::global_avg_pool_backward: invalid extent (maps ", maps, ", hw ", hw, ")");
  const Index total = maps * hw;
  if (total == 0) return;
  pool_detail::global_avg_v1_backward<T>
      <<<detail::grid_blocks(total), detail::threads_per_block, 0, stream>>>(dy, maps, hw, dx);
  NETGROW_CHECK_LAUNCH("global_avg_v1_backward");
}

}  // namespace netgrow::kernels
