/// \file
/// netgrow/ops/conv2d.hpp: 2-D convolution on any device, and the shape contract every device's
/// convolution shares.
///
/// ~~~{.unparsed}
///   x, dx (N, C, H, W), w, dw (out, C, k, k), b, db (out) or empty (no bias), y, dy (N, out, Ho, Wo);
///   g = the geometry of one sample (C, H, W, k, stride, padding), core/conv_geometry.hpp.
/// ~~~
/// `workspace` is scratch the op resizes as it needs (its contents are unspecified between calls;
/// keep it to avoid allocating every step). Back ends: backend/cpu/conv2d.hpp (per-image im2col and
/// Eigen GEMMs, images in parallel), backend/cuda/conv2d.hpp (the batch's columns, one GEMM).
#pragma once

#include "netgrow/backend/cpu/conv2d.hpp"
#include "netgrow/core/conv_geometry.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow::ops {

namespace detail {

/// Checks x, w, bias, y (and g) against each other for a convolution named `who`.
inline void check_conv2d_shapes(const Shape& x, const Shape& w, Index bias_numel, const ConvGeometry& g,
                                const Shape& y, const char* who) {
  require<ShapeError>(x.rank() == 4 && w.rank() == 4 && y.rank() == 4, who,
                      ": x, w and y must be rank 4 (N, C, H, W), (out, C, k, k), (N, out, Ho, Wo), got ", x, ", ",
                      w, ", ", y);
  g.check(who);
  require<ShapeError>(x[1] == g.channels && x[2] == g.height && x[3] == g.width, who, ": input ", x,
                      " does not match the geometry (C, H, W) = (", g.channels, ", ", g.height, ", ", g.width, ")");
  require<ShapeError>(w[1] == g.channels && w[2] == g.kernel && w[3] == g.kernel, who, ": weights ", w,
                      " do not fit ", g.channels, " input channels and a ", g.kernel, "x", g.kernel, " kernel");
  require<ShapeError>(y == Shape{x[0], w[0], g.out_height(), g.out_width()}, who, ": output ", y, " should be (",
                      x[0], ", ", w[0], ", ", g.out_height(), ", ", g.out_width(), ")");
  require<ShapeError>(bias_numel == 0 || bias_numel == w[0], who, ": bias of ", bias_numel, " entries for ", w[0],
                      " output channels");
}

}  // namespace detail

/// y = conv(x, w) + b; y is assigned.
template <class T, class D>
void conv2d_forward(In<T, D> x, In<T, D> w, In<T, D> b, const ConvGeometry& g, TensorView<T, D> y,
                    Tensor<T, D>& workspace) {
  detail::check_conv2d_shapes(x.shape(), w.shape(), b.numel(), g, y.shape(), "conv2d_forward");
  if (y.numel() == 0) return;
  backend::Conv2dOps<D>::template forward<T>(x, w, b, g, y, workspace);
}

/// dw = sum_n dy_n cols_n^T and db = the sum of dy over N, Ho, Wo are assigned, or added to when
/// `accumulate`; db may be empty (no bias). dx = col2im(w^T dy_n) per image is assigned (skipped when
/// dx is empty). dw may be empty too: then x's values are not read (only its shape), and the op is the
/// convolution's adjoint alone (a transposed convolution's forward pass). `cols_hold_x`: the caller
/// vouches that `workspace` still holds the columns conv2d_forward made of this x with this geometry (a
/// back end may then skip its im2col).
template <class T, class D>
void conv2d_backward(In<T, D> x, In<T, D> dy, In<T, D> w, const ConvGeometry& g, TensorView<T, D> dw,
                     TensorView<T, D> db, bool accumulate, TensorView<T, D> dx, Tensor<T, D>& workspace,
                     bool cols_hold_x = false) {
  detail::check_conv2d_shapes(x.shape(), w.shape(), db.numel(), g, dy.shape(), "conv2d_backward");
  if (!dw.empty()) require_same_shape(dw.shape(), w.shape(), "conv2d_backward (dw)");
  require<ShapeError>(dx.empty() || dx.shape() == x.shape(), "conv2d_backward: dx ", dx.shape(), " for input ",
                      x.shape());
  backend::Conv2dOps<D>::template backward<T>(x, dy, w, g, dw, db, accumulate, dx, workspace, cols_hold_x);
}

}  // namespace netgrow::ops
