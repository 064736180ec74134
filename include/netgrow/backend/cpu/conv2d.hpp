/// \file
/// netgrow/backend/cpu/conv2d.hpp: the CPU back end of ops/conv2d.hpp (shapes arrive checked).
///
/// Algorithm: images in parallel (ops::parallel_for), each thread with its own slice of the
/// workspace: im2col of one image into cols (C k k, Ho Wo), then y_n (out, Ho Wo) = w (out, C k k)
/// cols + b with Eigen; backward forms dW per thread (summed at the end in thread order, so results are
/// reproducible for a given thread count) and dx_n = col2im(w^T dy_n).
#pragma once

#include <algorithm>

#include "netgrow/backend/cpu/conv.hpp"
#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/core/eigen.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::backend {

namespace detail {

// Rounds a per-thread workspace slice up to 64 bytes, so threads never share a cache line.
template <class T>
constexpr Index padded_slice(Index n) {
  constexpr Index per_line = static_cast<Index>(64 / sizeof(T)) > 0 ? static_cast<Index>(64 / sizeof(T)) : 1;
  return (n + per_line - 1) / per_line * per_line;
}

}  // namespace detail

/// The convolution ops of ops/conv2d.hpp on device D (specialised per device).
template <class D>
struct Conv2dOps;

/// 2-D convolution on the CPU.
template <>
struct Conv2dOps<Cpu> {
  template <class T>
  static void forward(ConstView<T, Cpu> x, ConstView<T, Cpu> w, ConstView<T, Cpu> b, const ConvGeometry& g,
                      TensorView<T, Cpu> y, Tensor<T, Cpu>& workspace) {
    const Index n = x.dim(0), out = w.dim(0), in_size = x.shape().inner_numel(), out_size = y.shape().inner_numel();
    const Index slice = detail::padded_slice<T>(g.patch_size() * g.positions());
    workspace.resize(Shape{ops::max_threads() * slice});
    const Eigen::Map<const RowMajorMatrix<T>> weights(w.data(), out, g.patch_size());
    T* const scratch = workspace.data();
    const bool has_bias = !b.empty();
    ops::parallel_for(n, [&](Index i, int t) {
      T* cols = scratch + t * slice;  // (C k k, Ho Wo)
      ops::im2col(x.data() + i * in_size, g, cols);
      Eigen::Map<RowMajorMatrix<T>> yi(y.data() + i * out_size, out, g.positions());
      yi.noalias() = weights * Eigen::Map<const RowMajorMatrix<T>>(cols, g.patch_size(), g.positions());
      if (has_bias) yi.colwise() += vector(b);
    });
  }

  // The Cpu path keeps per-thread columns only: nothing to reuse, so cols_hold_x is ignored.
  template <class T>
  static void backward(ConstView<T, Cpu> x, ConstView<T, Cpu> dy, ConstView<T, Cpu> w, const ConvGeometry& g,
                       TensorView<T, Cpu> dw, TensorView<T, Cpu> db, bool accumulate, TensorView<T, Cpu> dx,
                       Tensor<T, Cpu>& workspace, bool /*cols_hold_x*/) {
    const Index n = x.dim(0), out = w.dim(0), in_size = x.shape().inner_numel(), out_size = dy.shape().inner_numel();
    const Index cols_slice = detail::padded_slice<T>(g.patch_size() * g.positions());
    const Index dw_slice = detail::padded_slice<T>(out * g.patch_size());
    const int threads = ops::max_threads();
    workspace.resize(Shape{threads * (cols_slice + dw_slice)});
    T* const scratch = workspace.data();
    const auto thread_cols = [&](int t) { return scratch + t * (cols_slice + dw_slice); };
    const auto thread_dw = [&](int t) {
      return Eigen::Map<RowMajorMatrix<T>>(thread_cols(t) + cols_slice, out, g.patch_size());
    };
    const Eigen::Map<const RowMajorMatrix<T>> weights(w.data(), out, g.patch_size());
    for (int t = 0; t < threads; ++t) thread_dw(t).setZero();
    const bool weight_grad = !dw.empty();  // else x is not read: the adjoint alone
    ops::parallel_for(n, [&](Index i, int t) {
      T* cols_data = thread_cols(t);
      const Eigen::Map<const RowMajorMatrix<T>> dyi(dy.data() + i * out_size, out, g.positions());
      if (weight_grad) {
        ops::im2col(x.data() + i * in_size, g, cols_data);
        const Eigen::Map<const RowMajorMatrix<T>> cols(cols_data, g.patch_size(), g.positions());
        thread_dw(t).noalias() += dyi * cols.transpose();
      }
      if (!dx.empty()) {
        Eigen::Map<RowMajorMatrix<T>> dcols(cols_data, g.patch_size(), g.positions());
        dcols.noalias() = weights.transpose() * dyi;
        T* dxi = dx.data() + i * in_size;
        std::fill_n(dxi, in_size, T(0));
        ops::col2im(cols_data, g, dxi);
      }
    });
    if (weight_grad) {
      auto dw_total = Eigen::Map<RowMajorMatrix<T>>(dw.data(), out, g.patch_size());
      if (!accumulate) dw_total.setZero();
      for (int t = 0; t < threads; ++t) dw_total += thread_dw(t);
    }
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
};

}  // namespace netgrow::backend
