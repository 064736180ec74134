/// \file
/// netgrow/ops/pool.hpp: pooling on any device (max, average and global average), and the contract
/// every device's pooling shares.
///
/// ~~~{.unparsed}
///   x, dx (N, C, H, W); y, dy (N, C, Ho, Wo) (global average: (N, C)); g = the k x k window with
///   stride and padding over one (H, W) map (g.channels is not used), Ho = (H + 2 p - k) / s + 1.
/// ~~~
///
/// Max pooling pads with -inf and records for every output the winning position iy W + ix within its
/// (H, W) map (`argmax`, int32): the first position in row-major window order among equal values, and a
/// NaN wins over numbers. Its backward sends each output's gradient there. Average pooling divides by
/// k * k (PyTorch's count_include_pad = true). Back ends: backend/cpu/pool.hpp, backend/cuda/pool.hpp
/// (gathers, no atomics: deterministic).
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "netgrow/backend/cpu/pool.hpp"
#include "netgrow/core/conv_geometry.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow::ops {

/// Type of max pooling's recorded winner positions (iy W + ix within one map).
using PoolIndex = std::int32_t;

namespace detail {

/// Checks x (N, C, H, W) and y (N, C, Ho, Wo) against a pooling window g.
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

/// Checks a map tensor (N, C, H, W) against its per-map means (N, C).
inline void check_global_pool_shapes(const Shape& maps, const Shape& means, const char* who) {
  require<ShapeError>(maps.rank() == 4 && maps[2] * maps[3] >= 1 && means == Shape{maps[0], maps[1]}, who,
                      ": expects maps (N, C, H, W) and means (N, C), got ", maps, " and ", means);
}

}  // namespace detail

/// y (N, C, Ho, Wo) = the maximum of each window; argmax (N, C, Ho, Wo) = where it was. Both assigned.
template <class T, class D>
void max_pool2d_forward(In<T, D> x, const ConvGeometry& g, TensorView<T, D> y, std::type_identity_t<TensorView<PoolIndex, D>> argmax) {
  detail::check_pool_shapes(x.shape(), g, y.shape(), "max_pool2d_forward");
  require_same_shape(argmax.shape(), y.shape(), "max_pool2d_forward (argmax)");
  if (y.numel() > 0) backend::PoolOps<D>::template max_forward<T>(x, g, y, argmax);
}

/// dx (N, C, H, W) is assigned: zero except at each output's recorded winner, which receives the sum
/// of the dy of the outputs it won (in output order). argmax comes from max_pool2d_forward with the
/// same window g over inputs of dx's shape.
template <class T, class D>
void max_pool2d_backward(In<T, D> dy, std::type_identity_t<ConstView<PoolIndex, D>> argmax, const ConvGeometry& g, TensorView<T, D> dx) {
  detail::check_pool_shapes(dx.shape(), g, dy.shape(), "max_pool2d_backward");
  require_same_shape(argmax.shape(), dy.shape(), "max_pool2d_backward (argmax)");
  if (dx.numel() > 0) backend::PoolOps<D>::template max_backward<T>(dy, argmax, g, dx);
}

/// y (N, C, Ho, Wo) = the sum of each window's in-bounds elements divided by k * k; assigned.
template <class T, class D>
void avg_pool2d_forward(In<T, D> x, const ConvGeometry& g, TensorView<T, D> y) {
  detail::check_pool_shapes(x.shape(), g, y.shape(), "avg_pool2d_forward");
  if (y.numel() > 0) backend::PoolOps<D>::template avg_forward<T>(x, g, y);
}

/// dx (N, C, H, W) = the adjoint of avg_pool2d_forward applied to dy; assigned.
template <class T, class D>
void avg_pool2d_backward(In<T, D> dy, const ConvGeometry& g, TensorView<T, D> dx) {
  detail::check_pool_shapes(dx.shape(), g, dy.shape(), "avg_pool2d_backward");
  if (dx.numel() > 0) backend::PoolOps<D>::template avg_backward<T>(dy, g, dx);
}

/// y (N, C) = the mean of each (H, W) map of x (N, C, H, W); assigned.
template <class T, class D>
void global_avg_pool_forward(In<T, D> x, TensorView<T, D> y) {
  detail::check_global_pool_shapes(x.shape(), y.shape(), "global_avg_pool_forward");
  if (y.numel() > 0) backend::PoolOps<D>::template global_avg_forward<T>(x, y);
}

/// dx (N, C, H, W) = dy (N, C) / (H W) spread over each map; assigned.
template <class T, class D>
void global_avg_pool_backward(In<T, D> dy, TensorView<T, D> dx) {
  detail::check_global_pool_shapes(dx.shape(), dy.shape(), "global_avg_pool_backward");
  if (dx.numel() > 0) backend::PoolOps<D>::template global_avg_backward<T>(dy, dx);
}

}  // namespace netgrow::ops
