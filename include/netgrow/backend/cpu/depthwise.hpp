/// \file
/// netgrow/backend/cpu/depthwise.hpp: the op facade's depthwise 2-D convolution (one k x k filter per
/// channel, depth multiplier 1) on the CPU, and the contract every device's version shares.
///
/// ~~~{.unparsed}
///   x, dx (N, C, H, W); w, dw (C, 1, k, k); b, db (C) or empty (no bias); y, dy (N, C, Ho, Wo);
///   y[n, c] = w[c] * x[n, c] + b[c] (cross-correlation); g = the window over one (H, W) map
///   (g.channels is not used).
/// ~~~
///
/// CPU algorithm: direct loops over every in-bounds tap, (sample, channel) maps in parallel forward
/// and channels in parallel backward (each channel's filter gradient sums over the batch).
#pragma once

#include <algorithm>

#include "netgrow/backend/cpu/blas.hpp"
#include "netgrow/backend/cpu/conv.hpp"
#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::ops {

namespace detail {

// Checks x (N, C, H, W), w (C, 1, k, k), bias and y (N, C, Ho, Wo) against a window g.
inline void check_depthwise_shapes(const Shape& x, const Shape& w, Index bias_numel, const ConvGeometry& g,
                                   const Shape& y, const char* who) {
  require<ShapeError>(x.rank() == 4 && w.rank() == 4 && y.rank() == 4, who,
                      ": x, w and y must be rank 4 (N, C, H, W), (C, 1, k, k), (N, C, Ho, Wo), got ", x, ", ", w,
                      ", ", y);
  g.check(who);
  require<ShapeError>(x[2] == g.height && x[3] == g.width, who, ": input ", x, " does not match the geometry's ",
                      g.height, "x", g.width, " maps");
  require<ShapeError>(w == Shape{x[1], 1, g.kernel, g.kernel}, who, ": weights ", w, " should be (", x[1], ", 1, ",
                      g.kernel, ", ", g.kernel, ")");
  require<ShapeError>(y == Shape{x[0], x[1], g.out_height(), g.out_width()}, who, ": output ", y, " should be (",
                      x[0], ", ", x[1], ", ", g.out_height(), ", ", g.out_width(), ")");
  require<ShapeError>(bias_numel == 0 || bias_numel == x[1], who, ": bias of ", bias_numel, " entries for ", x[1],
                      " channels");
}

// Calls f(output index, input index, tap index) for every in-bounds tap of one map.
template <class F>
void for_each_depthwise_tap(const ConvGeometry& g, F&& f) {
  const Index ho = g.out_height(), wo = g.out_width(), k = g.kernel, s = g.stride, p = g.padding;
  for (Index oy = 0; oy < ho; ++oy)
    for (Index i = 0; i < k; ++i) {
      const Index iy = oy * s - p + i;
      if (iy < 0 || iy >= g.height) continue;
      for (Index ox = 0; ox < wo; ++ox)
        for (Index j = 0; j < k; ++j) {
          const Index ix = ox * s - p + j;
          if (ix < 0 || ix >= g.width) continue;
          f(oy * wo + ox, iy * g.width + ix, i * k + j);
        }
    }
}

}  // namespace detail

/// y = depthwise(x, w) + b; assigned.
template <class T>
void depthwise_conv2d_forward(In<T> x, In<T> w, In<T> b, const ConvGeometry& g, TensorView<T, Cpu> y) {
  detail::check_depthwise_shapes(x.shape(), w.shape(), b.numel(), g, y.shape(), "depthwise_conv2d_forward");
  const Index c = x.dim(1), hw = g.height * g.width, ohw = g.positions(), kk = g.kernel * g.kernel;
  const bool has_bias = !b.empty();
  ops::parallel_for(x.dim(0) * c, [&](Index nc, int) {
    const Index ch = nc % c;
    const T* filter = w.data() + ch * kk;
    const T* in = x.data() + nc * hw;
    T* out = y.data() + nc * ohw;
    std::fill_n(out, ohw, has_bias ? b[ch] : T(0));
    detail::for_each_depthwise_tap(g, [&](Index o, Index i, Index tap) { out[o] += filter[tap] * in[i]; });
  });
}

/// dw (C, 1, k, k) and db (C; empty: no bias) are assigned, or added to when `accumulate`; dx is
/// assigned (skipped when empty).
template <class T>
void depthwise_conv2d_backward(In<T> x, In<T> dy, In<T> w, const ConvGeometry& g, TensorView<T, Cpu> dw,
                               TensorView<T, Cpu> db, bool accumulate, TensorView<T, Cpu> dx) {
  detail::check_depthwise_shapes(x.shape(), w.shape(), db.numel(), g, dy.shape(), "depthwise_conv2d_backward");
  require_same_shape(dw.shape(), w.shape(), "depthwise_conv2d_backward (dw)");
  require<ShapeError>(dx.empty() || dx.shape() == x.shape(), "depthwise_conv2d_backward: dx ", dx.shape(),
                      " for input ", x.shape());
  const Index n = x.dim(0), c = x.dim(1), hw = g.height * g.width, ohw = g.positions(), kk = g.kernel * g.kernel;
  if (!accumulate) {
    std::fill_n(dw.data(), dw.numel(), T(0));
    std::fill_n(db.data(), db.numel(), T(0));
  }
  ops::parallel_for(c, [&](Index ch, int) {
    const T* filter = w.data() + ch * kk;
    T* filter_grad = dw.data() + ch * kk;
    T bias_grad = 0;
    for (Index i = 0; i < n; ++i) {
      const T* in = x.data() + (i * c + ch) * hw;
      const T* go = dy.data() + (i * c + ch) * ohw;
      for (Index o = 0; o < ohw; ++o) bias_grad += go[o];
      detail::for_each_depthwise_tap(g, [&](Index o, Index idx, Index tap) { filter_grad[tap] += go[o] * in[idx]; });
      if (!dx.empty()) {
        T* gi = dx.data() + (i * c + ch) * hw;
        std::fill_n(gi, hw, T(0));
        detail::for_each_depthwise_tap(g, [&](Index o, Index idx, Index tap) { gi[idx] += go[o] * filter[tap]; });
      }
    }
    if (!db.empty()) db[ch] += bias_grad;
  });
}

}  // namespace netgrow::ops
