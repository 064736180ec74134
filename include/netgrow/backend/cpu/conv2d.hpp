/// \file
/// netgrow/backend/cpu/conv2d.hpp: the op facade's 2-D convolution on the CPU, and the shape contract
/// every device's convolution shares.
///
/// ~~~{.unparsed}
///   x (N, C, H, W), w (out, C, k, k), b (out) or empty (no bias), y (N, out, Ho, Wo);
///   g = the geometry of one sample (C, H, W, k, stride, padding), see backend/cpu/conv.hpp.
/// ~~~
///
/// CPU algorithm: images in parallel (ops::parallel_for), each thread with its own slice of the
/// workspace: im2col of one image into cols (C k k, Ho Wo), then y_n (out, Ho Wo) = w (out, C k k)
/// cols + b with Eigen; backward forms dW per thread (summed at the end in thread order, so results are
/// reproducible for a given thread count) and dx_n = col2im(w^T dy_n).
#pragma once

#include <algorithm>

#include "netgrow/backend/cpu/blas.hpp"
#include "netgrow/backend/cpu/conv.hpp"
#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/core/eigen.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::ops {

namespace detail {

// Checks x, w, bias, y (and g) against each other for a convolution named `who`.
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

// Rounds a per-thread workspace slice up to 64 bytes, so threads never share a cache line.
template <class T>
constexpr Index padded_slice(Index n) {
  constexpr Index per_line = static_cast<Index>(64 / sizeof(T)) > 0 ? static_cast<Index>(64 / sizeof(T)) : 1;
  return (n + per_line - 1) / per_line * per_line;
}

}  // namespace detail

/// y = conv(x, w) + b; y is assigned. `workspace` is scratch the op resizes as it needs (its contents
/// are unspecified between calls; keep it to avoid allocating every step).
template <class T>
void conv2d_forward(In<T> x, In<T> w, In<T> b, const ConvGeometry& g, TensorView<T, Cpu> y,
                    Tensor<T, Cpu>& workspace) {
  detail::check_conv2d_shapes(x.shape(), w.shape(), b.numel(), g, y.shape(), "conv2d_forward");
  const Index n = x.dim(0), out = w.dim(0), in_size = x.shape().inner_numel(), out_size = y.shape().inner_numel();
  const Index slice = detail::padded_slice<T>(g.patch_size() * g.positions());
  workspace.resize(Shape{max_threads() * slice});
  const Eigen::Map<const RowMajorMatrix<T>> weights(w.data(), out, g.patch_size());
  T* const scratch = workspace.data();
  const bool has_bias = !b.empty();
  ops::parallel_for(n, [&](Index i, int t) {
    T* cols = scratch + t * slice;  // (C k k, Ho Wo)
    im2col(x.data() + i * in_size, g, cols);
    Eigen::Map<RowMajorMatrix<T>> yi(y.data() + i * out_size, out, g.positions());
    yi.noalias() = weights * Eigen::Map<const RowMajorMatrix<T>>(cols, g.patch_size(), g.positions());
    if (has_bias) yi.colwise() += vector(b);
  });
}

/// dw = sum_n dy_n cols_n^T and db = the sum of dy over N, Ho, Wo are assigned, or added to when
/// `accumulate`; db may be empty (no bias). dx = col2im(w^T dy_n) per image is assigned (skipped when
/// dx is empty).
template <class T>
void conv2d_backward(In<T> x, In<T> dy, In<T> w, const ConvGeometry& g, TensorView<T, Cpu> dw,
                     TensorView<T, Cpu> db, bool accumulate, TensorView<T, Cpu> dx, Tensor<T, Cpu>& workspace,
                     bool /*cols_hold_x: the Cpu path keeps per-thread columns only, nothing to reuse*/ = false) {
  detail::check_conv2d_shapes(x.shape(), w.shape(), db.numel(), g, dy.shape(), "conv2d_backward");
  require_same_shape(dw.shape(), w.shape(), "conv2d_backward (dw)");
  require<ShapeError>(dx.empty() || dx.shape() == x.shape(), "conv2d_backward: dx ", dx.shape(), " for input ",
                      x.shape());
  const Index n = x.dim(0), out = w.dim(0), in_size = x.shape().inner_numel(), out_size = dy.shape().inner_numel();
  const Index cols_slice = detail::padded_slice<T>(g.patch_size() * g.positions());
  const Index dw_slice = detail::padded_slice<T>(out * g.patch_size());
  const int threads = max_threads();
  workspace.resize(Shape{threads * (cols_slice + dw_slice)});
  T* const scratch = workspace.data();
  const auto thread_cols = [&](int t) { return scratch + t * (cols_slice + dw_slice); };
  const auto thread_dw = [&](int t) {
    return Eigen::Map<RowMajorMatrix<T>>(thread_cols(t) + cols_slice, out, g.patch_size());
  };
  const Eigen::Map<const RowMajorMatrix<T>> weights(w.data(), out, g.patch_size());
  for (int t = 0; t < threads; ++t) thread_dw(t).setZero();
  ops::parallel_for(n, [&](Index i, int t) {
    T* cols_data = thread_cols(t);
    im2col(x.data() + i * in_size, g, cols_data);
    const Eigen::Map<const RowMajorMatrix<T>> cols(cols_data, g.patch_size(), g.positions());
    const Eigen::Map<const RowMajorMatrix<T>> dyi(dy.data() + i * out_size, out, g.positions());
    thread_dw(t).noalias() += dyi * cols.transpose();
    if (!dx.empty()) {
      Eigen::Map<RowMajorMatrix<T>> dcols(cols_data, g.patch_size(), g.positions());
      dcols.noalias() = weights.transpose() * dyi;
      T* dxi = dx.data() + i * in_size;
      std::fill_n(dxi, in_size, T(0));
      col2im(cols_data, g, dxi);
    }
  });
  auto dw_total = Eigen::Map<RowMajorMatrix<T>>(dw.data(), out, g.patch_size());
  if (!accumulate) dw_total.setZero();
  for (int t = 0; t < threads; ++t) dw_total += thread_dw(t);
  if (!db.empty()) {
    const auto per_channel = Eigen::Map<const RowMajorMatrix<T>>(dy.data(), n * out, g.positions())
                                 .rowwise()
                                 .sum()
                                 .eval();  // (N out)
    auto bias_grad = vector(db);
    if (!accumulate) bias_grad.setZero();
    for (Index i = 0; i < n; ++i) bias_grad += per_channel.segment(i * out, out);
  }
}

}  // namespace netgrow::ops
