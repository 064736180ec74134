/// \file
/// netgrow/backend/cpu/pool.hpp: the op facade's pooling on the CPU (max, average and global average),
/// and the contract every device's pooling shares.
///
/// ~~~{.unparsed}
///   x, dx (N, C, H, W); y, dy (N, C, Ho, Wo) (global average: (N, C)); g = the k x k window with
///   stride and padding over one (H, W) map (g.channels is not used), Ho = (H + 2 p - k) / s + 1.
/// ~~~
///
/// Max pooling pads with -inf and records for every output the winning position iy W + ix within its
/// (H, W) map (`argmax`, int32): the first position in row-major window order among equal values, and a
/// NaN wins over numbers. Its backward sends each output's gradient there. Average pooling divides by
/// k * k (PyTorch's count_include_pad = true). Maps are processed in parallel (ops::parallel_for).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

#include "netgrow/backend/cpu/blas.hpp"
#include "netgrow/backend/cpu/conv.hpp"
#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/core/eigen.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::ops {

/// Type of max pooling's recorded winner positions (iy W + ix within one map).
using PoolIndex = std::int32_t;

namespace detail {

// Checks x (N, C, H, W) and y (N, C, Ho, Wo) against a pooling window g.
inline void check_pool_shapes(const Shape& x, const ConvGeometry& g, const Shape& y, const char* who) {
  require<ShapeError>(x.rank() == 4 && y.rank() == 4, who, ": expects (N, C, H, W) input and output, got ", x,
                      " and ", y);
  g.check(who);
  require<ShapeError>(x[2] == g.height && x[3] == g.width, who, ": input ", x, " does not match the geometry's ",
                      g.height, "x", g.width, " maps");
  require<ShapeError>(y == Shape{x[0], x[1], g.out_height(), g.out_width()}, who, ": output ", y, " should be (",
                      x[0], ", ", x[1], ", ", g.out_height(), ", ", g.out_width(), ")");
  require<ShapeError>(g.height * g.width <= std::numeric_limits<PoolIndex>::max(), who, ": ", g.height, "x", g.width,
                      " maps are too large for int32 positions");
}

// Checks a map tensor (N, C, H, W) against its per-map means (N, C).
inline void check_global_pool_shapes(const Shape& maps, const Shape& means, const char* who) {
  require<ShapeError>(maps.rank() == 4 && maps[2] * maps[3] >= 1 && means == Shape{maps[0], maps[1]}, who,
                      ": expects maps (N, C, H, W) and means (N, C), got ", maps, " and ", means);
}

// Calls f(output index, input index) for every in-bounds element of every window of one map, windows
// in row-major order, elements within a window in row-major order.
template <class F>
void for_each_window_element(const ConvGeometry& g, F&& f) {
  for (Index oy = 0; oy < g.out_height(); ++oy)
    for (Index ox = 0; ox < g.out_width(); ++ox)
      for (Index i = 0; i < g.kernel; ++i) {
        const Index iy = oy * g.stride - g.padding + i;
        if (iy < 0 || iy >= g.height) continue;
        for (Index j = 0; j < g.kernel; ++j) {
          const Index ix = ox * g.stride - g.padding + j;
          if (ix >= 0 && ix < g.width) f(oy * g.out_width() + ox, iy * g.width + ix);
        }
      }
}

}  // namespace detail

/// y (N, C, Ho, Wo) = the maximum of each window; argmax (N, C, Ho, Wo) = where it was. Both assigned.
template <class T>
void max_pool2d_forward(In<T> x, const ConvGeometry& g, TensorView<T, Cpu> y, TensorView<PoolIndex, Cpu> argmax) {
  detail::check_pool_shapes(x.shape(), g, y.shape(), "max_pool2d_forward");
  require_same_shape(argmax.shape(), y.shape(), "max_pool2d_forward (argmax)");
  const Index maps = x.dim(0) * x.dim(1), hw = g.height * g.width, ohw = g.positions();
  if (g.kernel == 2 && g.stride == 2 && g.padding == 0) {  // the common case, without bounds checks
    ops::parallel_for(maps, [&](Index m, int) {
      const T* in = x.data() + m * hw;
      T* out = y.data() + m * ohw;
      PoolIndex* arg = argmax.data() + m * ohw;
      for (Index oy = 0; oy < g.out_height(); ++oy)
        for (Index ox = 0; ox < g.out_width(); ++ox) {
          const Index base = 2 * oy * g.width + 2 * ox;
          Index where = base;
          for (Index cand : {base + 1, base + g.width, base + g.width + 1})
            if (in[cand] > in[where] || (in[cand] != in[cand] && in[where] == in[where])) where = cand;
          out[oy * g.out_width() + ox] = in[where];
          arg[oy * g.out_width() + ox] = static_cast<PoolIndex>(where);
        }
    });
    return;
  }
  ops::parallel_for(maps, [&](Index m, int) {
    const T* in = x.data() + m * hw;
    for (Index oy = 0; oy < g.out_height(); ++oy)
      for (Index ox = 0; ox < g.out_width(); ++ox) {
        T best = -std::numeric_limits<T>::infinity();
        Index where = -1;
        for (Index i = 0; i < g.kernel; ++i) {
          const Index iy = oy * g.stride - g.padding + i;
          if (iy < 0 || iy >= g.height) continue;
          for (Index j = 0; j < g.kernel; ++j) {
            const Index ix = ox * g.stride - g.padding + j;
            if (ix < 0 || ix >= g.width) continue;
            const T v = in[iy * g.width + ix];
            if (where < 0 || v > best || (v != v && best == best)) best = v, where = iy * g.width + ix;
          }
        }
        const Index o = oy * g.out_width() + ox;
        y.data()[m * ohw + o] = best;
        argmax.data()[m * ohw + o] = static_cast<PoolIndex>(where);
      }
  });
}

/// dx (N, C, H, W) is assigned: zero except at each output's recorded winner, which receives the sum
/// of the dy of the outputs it won (in output order). argmax comes from max_pool2d_forward with the
/// same window g over inputs of dx's shape.
template <class T>
void max_pool2d_backward(In<T> dy, ConstView<PoolIndex, Cpu> argmax, const ConvGeometry& g, TensorView<T, Cpu> dx) {
  detail::check_pool_shapes(dx.shape(), g, dy.shape(), "max_pool2d_backward");
  require_same_shape(argmax.shape(), dy.shape(), "max_pool2d_backward (argmax)");
  const Index maps = dx.dim(0) * dx.dim(1), hw = dx.dim(2) * dx.dim(3), ohw = dy.dim(2) * dy.dim(3);
  ops::parallel_for(maps, [&](Index m, int) {
    T* gi = dx.data() + m * hw;
    std::fill_n(gi, hw, T(0));
    for (Index o = 0; o < ohw; ++o) gi[argmax[m * ohw + o]] += dy.data()[m * ohw + o];
  });
}

/// y (N, C, Ho, Wo) = the sum of each window's in-bounds elements divided by k * k; assigned.
template <class T>
void avg_pool2d_forward(In<T> x, const ConvGeometry& g, TensorView<T, Cpu> y) {
  detail::check_pool_shapes(x.shape(), g, y.shape(), "avg_pool2d_forward");
  const Index maps = x.dim(0) * x.dim(1), hw = g.height * g.width, ohw = g.positions();
  const T scale = T(1) / static_cast<T>(g.kernel * g.kernel);
  ops::parallel_for(maps, [&](Index m, int) {
    const T* in = x.data() + m * hw;
    T* out = y.data() + m * ohw;
    std::fill_n(out, ohw, T(0));
    detail::for_each_window_element(g, [&](Index o, Index i) { out[o] += in[i]; });
    for (Index o = 0; o < ohw; ++o) out[o] *= scale;
  });
}

/// dx (N, C, H, W) = the adjoint of avg_pool2d_forward applied to dy; assigned.
template <class T>
void avg_pool2d_backward(In<T> dy, const ConvGeometry& g, TensorView<T, Cpu> dx) {
  detail::check_pool_shapes(dx.shape(), g, dy.shape(), "avg_pool2d_backward");
  const Index maps = dx.dim(0) * dx.dim(1), hw = g.height * g.width, ohw = g.positions();
  const T scale = T(1) / static_cast<T>(g.kernel * g.kernel);
  ops::parallel_for(maps, [&](Index m, int) {
    const T* go = dy.data() + m * ohw;
    T* gi = dx.data() + m * hw;
    std::fill_n(gi, hw, T(0));
    detail::for_each_window_element(g, [&](Index o, Index i) { gi[i] += scale * go[o]; });
  });
}

/// y (N, C) = the mean of each (H, W) map of x (N, C, H, W); assigned.
template <class T>
void global_avg_pool_forward(In<T> x, TensorView<T, Cpu> y) {
  detail::check_global_pool_shapes(x.shape(), y.shape(), "global_avg_pool_forward");
  const Index hw = x.dim(2) * x.dim(3);
  const auto maps = Eigen::Map<const RowMajorMatrix<T>>(x.data(), x.dim(0) * x.dim(1), hw);
  vector(y) = maps.rowwise().mean();
}

/// dx (N, C, H, W) = dy (N, C) / (H W) spread over each map; assigned.
template <class T>
void global_avg_pool_backward(In<T> dy, TensorView<T, Cpu> dx) {
  detail::check_global_pool_shapes(dx.shape(), dy.shape(), "global_avg_pool_backward");
  const Index hw = dx.dim(2) * dx.dim(3);
  auto maps = Eigen::Map<RowMajorMatrix<T>>(dx.data(), dx.dim(0) * dx.dim(1), hw);
  maps = (vector(dy) / static_cast<T>(hw)).replicate(1, hw);
}

}  // namespace netgrow::ops
