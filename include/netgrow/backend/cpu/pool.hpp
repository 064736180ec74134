/// \file
/// netgrow/backend/cpu/pool.hpp: the CPU back end of ops/pool.hpp (shapes arrive checked); maps are
/// processed in parallel (ops::parallel_for).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/core/conv_geometry.hpp"
#include "netgrow/core/eigen.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::backend {

namespace detail {

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

/// The pooling ops of ops/pool.hpp on device D (specialised per device).
template <class D>
struct PoolOps;

/// Pooling on the CPU.
template <>
struct PoolOps<Cpu> {
  using PoolIndex = std::int32_t;  ///< max pooling's winner positions

  /// y (N, C, Ho, Wo) = the maximum of each window; argmax (N, C, Ho, Wo) = where it was. Both assigned.
  template <class T>
  static void max_forward(ConstView<T, Cpu> x, const ConvGeometry& g, TensorView<T, Cpu> y,
                          TensorView<PoolIndex, Cpu> argmax) {
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
  static void max_backward(ConstView<T, Cpu> dy, ConstView<PoolIndex, Cpu> argmax, const ConvGeometry&,
                           TensorView<T, Cpu> dx) {
    const Index maps = dx.dim(0) * dx.dim(1), hw = dx.dim(2) * dx.dim(3), ohw = dy.dim(2) * dy.dim(3);
    ops::parallel_for(maps, [&](Index m, int) {
      T* gi = dx.data() + m * hw;
      std::fill_n(gi, hw, T(0));
      for (Index o = 0; o < ohw; ++o) gi[argmax[m * ohw + o]] += dy.data()[m * ohw + o];
    });
  }

  /// y (N, C, Ho, Wo) = the sum of each window's in-bounds elements divided by k * k; assigned.
  template <class T>
  static void avg_forward(ConstView<T, Cpu> x, const ConvGeometry& g, TensorView<T, Cpu> y) {
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
  static void avg_backward(ConstView<T, Cpu> dy, const ConvGeometry& g, TensorView<T, Cpu> dx) {
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
  static void global_avg_forward(ConstView<T, Cpu> x, TensorView<T, Cpu> y) {
    const Index hw = x.dim(2) * x.dim(3);
    const auto maps = Eigen::Map<const RowMajorMatrix<T>>(x.data(), x.dim(0) * x.dim(1), hw);
    vector(y) = maps.rowwise().mean();
  }

  /// dx (N, C, H, W) = dy (N, C) / (H W) spread over each map; assigned.
  template <class T>
  static void global_avg_backward(ConstView<T, Cpu> dy, TensorView<T, Cpu> dx) {
    const Index hw = dx.dim(2) * dx.dim(3);
    auto maps = Eigen::Map<RowMajorMatrix<T>>(dx.data(), dx.dim(0) * dx.dim(1), hw);
    maps = (vector(dy) / static_cast<T>(hw)).replicate(1, hw);
  }
};

}  // namespace netgrow::backend
