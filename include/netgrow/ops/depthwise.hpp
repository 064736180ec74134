/// \file
/// netgrow/ops/depthwise.hpp: depthwise 2-D convolution (one k x k filter per channel, depth
/// multiplier 1) on any device, and the contract every device's version shares.
///
/// ~~~{.unparsed}
///   x, dx (N, C, H, W); w, dw (C, 1, k, k); b, db (C) or empty (no bias); y, dy (N, C, Ho, Wo);
///   y[n, c] = w[c] * x[n, c] + b[c] (cross-correlation); g = the window over one (H, W) map
///   (g.channels is not used).
/// ~~~
/// Back ends: backend/cpu/depthwise.hpp (direct loops), backend/cuda/depthwise.hpp.
#pragma once

#include "netgrow/backend/cpu/depthwise.hpp"
#include "netgrow/core/conv_geometry.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow::ops {

namespace detail {

/// Checks x (N, C, H, W), w (C, 1, k, k), bias and y (N, C, Ho, Wo) against a window g.
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

}  // namespace detail

/// y = depthwise(x, w) + b; assigned.
template <class T, class D>
void depthwise_conv2d_forward(In<T, D> x, In<T, D> w, In<T, D> b, const ConvGeometry& g, TensorView<T, D> y) {
  detail::check_depthwise_shapes(x.shape(), w.shape(), b.numel(), g, y.shape(), "depthwise_conv2d_forward");
  if (y.numel() > 0) backend::DepthwiseOps<D>::template forward<T>(x, w, b, g, y);
}

/// dw (C, 1, k, k) and db (C; empty: no bias) are assigned, or added to when `accumulate`; dx is
/// assigned (skipped when empty).
template <class T, class D>
void depthwise_conv2d_backward(In<T, D> x, In<T, D> dy, In<T, D> w, const ConvGeometry& g, TensorView<T, D> dw,
                               TensorView<T, D> db, bool accumulate, TensorView<T, D> dx) {
  detail::check_depthwise_shapes(x.shape(), w.shape(), db.numel(), g, dy.shape(), "depthwise_conv2d_backward");
  require_same_shape(dw.shape(), w.shape(), "depthwise_conv2d_backward (dw)");
  require<ShapeError>(dx.empty() || dx.shape() == x.shape(), "depthwise_conv2d_backward: dx ", dx.shape(),
                      " for input ", x.shape());
  backend::DepthwiseOps<D>::template backward<T>(x, dy, w, g, dw, db, accumulate, dx);
}

}  // namespace netgrow::ops
