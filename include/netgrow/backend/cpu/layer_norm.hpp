/// \file
/// netgrow/backend/cpu/layer_norm.hpp: the op facade's layer normalisation on the CPU, and the
/// contract every device's layer normalisation shares.
///
/// ~~~{.unparsed}
///   x, y, dy, dx                 (N, D), normalised per row over its D features
///   gamma, beta, dgamma, dbeta   (D) in the scalar type
///   mean, inv_std                (N) in double: the row statistics of the forward pass, kept for backward
/// ~~~
///
/// Per row: mean mu and biased variance var (PyTorch's LayerNorm), accumulated in double, mean first,
/// then the squared deviations; inv_std = 1 / sqrt(var + eps); xhat = (x - mu) inv_std and
/// y = gamma xhat + beta, evaluated in double and rounded once to the scalar type. (The (x - mu) form,
/// not a scale-and-shift: a feature equal to its row's mean gives exactly beta.) There are no running
/// statistics: training and evaluation compute the same thing.
/// Rows (forward, input gradient) and features (parameter gradients, summed over rows in row order)
/// are processed in parallel (ops::parallel_for); every sum has a fixed order, so results do not
/// depend on the thread count.
#pragma once

#include <cmath>
#include <initializer_list>

#include "netgrow/backend/cpu/blas.hpp"
#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::ops {

namespace detail {

// (N, D) of a layer-norm input.
struct LayerNormExtent {
  Index rows, features;
};

// Checks x (rank 2), the output (x's shape; may be empty when `out_optional`), the per-feature vectors
// and the per-row statistics of a layer-norm op named `who`; returns x as (N, D).
inline LayerNormExtent check_layer_norm_shapes(const Shape& x, const Shape& out, bool out_optional,
                                               std::initializer_list<const Shape*> per_feature,
                                               std::initializer_list<const Shape*> per_row, const char* who) {
  require<ShapeError>(x.rank() == 2 && x[1] >= 1, who, ": expects (N, D) with D >= 1, got ", x);
  const LayerNormExtent e{x[0], x[1]};
  for (const Shape* v : per_feature)
    require<ShapeError>(v->rank() == 1 && v->numel() == e.features, who, ": a per-feature vector ", *v, " for ",
                        e.features, " features");
  for (const Shape* v : per_row)
    require<ShapeError>(v->rank() == 1 && v->numel() == e.rows, who, ": a per-row statistic ", *v, " for ", e.rows,
                        " rows");
  require<ShapeError>((out_optional && out.numel() == 0) || out == x, who, ": output ", out, " for input ", x);
  return e;
}

}  // namespace detail

/// Forward: y (N, D) assigned; mean and inv_std (N, double) receive each row's mean and
/// 1 / sqrt(biased variance + eps). eps > 0.
template <class T>
void layer_norm_forward(In<T> x, In<T> gamma, In<T> beta, double eps, TensorView<double, Cpu> mean,
                        TensorView<double, Cpu> inv_std, TensorView<T, Cpu> y) {
  const auto e = detail::check_layer_norm_shapes(x.shape(), y.shape(), false, {&gamma.shape(), &beta.shape()},
                                                 {&mean.shape(), &inv_std.shape()}, "layer_norm_forward");
  const Index d = e.features;
  const double count = static_cast<double>(d);
  ops::parallel_for(e.rows, [&](Index i, int) {
    const T* p = x.data() + i * d;
    T* q = y.data() + i * d;
    double sum = 0, sq = 0;
    for (Index j = 0; j < d; ++j) sum += p[j];
    const double mu = sum / count;
    for (Index j = 0; j < d; ++j) sq += (p[j] - mu) * (p[j] - mu);
    const double inv = 1.0 / std::sqrt(sq / count + eps);
    mean[i] = mu;
    inv_std[i] = inv;
    for (Index j = 0; j < d; ++j) {
      const double xhat = (p[j] - mu) * inv;
      q[j] = static_cast<T>(static_cast<double>(gamma[j]) * xhat + static_cast<double>(beta[j]));
    }
  });
}

/// Backward with the row statistics of the forward pass. dgamma = sum over rows of dy xhat and
/// dbeta = sum over rows of dy (D; in double, rows in order) are assigned, or added to when
/// `accumulate`. dx (N, D) is assigned (skipped when empty): with g = gamma dy,
/// ~~~{.unparsed}
///   dx = inv_std (g - mean(g) - xhat mean(g xhat))      (means over the row's D features)
/// ~~~
template <class T>
void layer_norm_backward(In<T> x, In<T> dy, In<T> gamma, ConstView<double, Cpu> mean, ConstView<double, Cpu> inv_std,
                         TensorView<T, Cpu> dgamma, TensorView<T, Cpu> dbeta, bool accumulate, TensorView<T, Cpu> dx) {
  const auto e =
      detail::check_layer_norm_shapes(x.shape(), dx.shape(), true, {&gamma.shape(), &dgamma.shape(), &dbeta.shape()},
                                      {&mean.shape(), &inv_std.shape()}, "layer_norm_backward");
  require_same_shape(x.shape(), dy.shape(), "layer_norm_backward (dy)");
  const Index n = e.rows, d = e.features;
  ops::parallel_for(d, [&](Index j, int) {
    double sum_dy = 0, sum_dy_xhat = 0;
    for (Index i = 0; i < n; ++i) {
      const double g = dy[i * d + j];
      sum_dy += g;
      sum_dy_xhat += g * ((x[i * d + j] - mean[i]) * inv_std[i]);
    }
    dgamma[j] = static_cast<T>(sum_dy_xhat + (accumulate ? static_cast<double>(dgamma[j]) : 0.0));
    dbeta[j] = static_cast<T>(sum_dy + (accumulate ? static_cast<double>(dbeta[j]) : 0.0));
  });
  if (dx.empty()) return;
  const double count = static_cast<double>(d);
  ops::parallel_for(n, [&](Index i, int) {
    const T* p = x.data() + i * d;
    const T* q = dy.data() + i * d;
    T* r = dx.data() + i * d;
    const double mu = mean[i], inv = inv_std[i];
    double sum_g = 0, sum_g_xhat = 0;
    for (Index j = 0; j < d; ++j) {
      const double g = static_cast<double>(gamma[j]) * q[j];
      sum_g += g;
      sum_g_xhat += g * ((p[j] - mu) * inv);
    }
    const double mean_g = sum_g / count, mean_g_xhat = sum_g_xhat / count;
    for (Index j = 0; j < d; ++j) {
      const double g = static_cast<double>(gamma[j]) * q[j];
      const double xhat = (p[j] - mu) * inv;
      r[j] = static_cast<T>(inv * (g - mean_g - xhat * mean_g_xhat));
    }
  });
}

}  // namespace netgrow::ops
