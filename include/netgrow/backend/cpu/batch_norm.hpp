/// \file
/// netgrow/backend/cpu/batch_norm.hpp: the op facade's batch normalisation on the CPU, and the
/// contract every device's batch normalisation shares.
///
/// ~~~{.unparsed}
///   x, y, dy, dx  (N, C) or (N, C, H, W), normalised per channel over N (and H, W): seen as (N, C, M)
///   gamma, beta, running_mean, running_var, dgamma, dbeta  (C) in the scalar type
///   mean, inv_std  (C) in double: the statistics the forward pass used, kept for the backward pass
/// ~~~
///
/// Training mode normalises with the batch mean and biased variance (accumulated in double, mean first,
/// then the squared deviations) and moves the running statistics as PyTorch does:
///     running = (1 - momentum) running + momentum batch     (variance: the unbiased batch variance).
/// Evaluation mode normalises with the running statistics. y = scale x + shift with
/// scale = gamma inv_std and shift = beta - gamma inv_std mean, both rounded to the scalar type.
/// Channels are processed in parallel (ops::parallel_for).
#pragma once

#include <cmath>
#include <initializer_list>

#include "netgrow/backend/cpu/blas.hpp"
#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::ops {

/// Which statistics a batch normalisation used: the batch's own (training) or the running ones
/// (evaluation). The backward pass differs: batch statistics depend on x.
enum class NormStatistics { batch, running };

namespace detail {

// (N, C, M) of a (N, C) or (N, C, H, W) batch-norm input.
struct NormExtent {
  Index batch, channels, spatial;
  double count() const { return static_cast<double>(batch * spatial); }
};

// Checks x, the output (same shape as x; `out` may be empty when `out_optional`) and the per-channel
// vectors of a batch-norm op named `who`; returns x as (N, C, M).
inline NormExtent check_norm_shapes(const Shape& x, const Shape& out, bool out_optional,
                                    std::initializer_list<const Shape*> per_channel, const char* who) {
  require<ShapeError>(x.rank() == 2 || x.rank() == 4, who, ": expects (N, C) or (N, C, H, W), got ", x);
  const NormExtent e{x[0], x[1], x.rank() == 4 ? x[2] * x[3] : Index{1}};
  for (const Shape* v : per_channel)
    require<ShapeError>(v->numel() == e.channels, who, ": a per-channel vector ", *v, " for ", e.channels,
                        " channels");
  require<ShapeError>((out_optional && out.numel() == 0) || out == x, who, ": output ", out, " for input ", x);
  return e;
}

inline void require_values_per_channel(const NormExtent& e, const Shape& x) {
  require<ShapeError>(e.batch * e.spatial > 1,
                      "BatchNorm in training mode needs more than one value per channel, got input ", x);
}

}  // namespace detail

/// Training-mode forward: y assigned; mean and inv_std (double, (C)) receive the batch statistics;
/// running_mean and running_var are updated in place. Needs N M > 1.
template <class T>
void batch_norm_forward_train(In<T> x, In<T> gamma, In<T> beta, double momentum, double eps,
                              TensorView<T, Cpu> running_mean, TensorView<T, Cpu> running_var,
                              TensorView<double, Cpu> mean, TensorView<double, Cpu> inv_std, TensorView<T, Cpu> y) {
  const auto e = detail::check_norm_shapes(
      x.shape(), y.shape(), false,
      {&gamma.shape(), &beta.shape(), &running_mean.shape(), &running_var.shape(), &mean.shape(), &inv_std.shape()},
      "batch_norm_forward_train");
  detail::require_values_per_channel(e, x.shape());
  const Index c = e.channels, m = e.spatial, n = e.batch;
  const double count = e.count();
  ops::parallel_for(c, [&](Index ch, int) {
    double sum = 0, sq = 0;
    for (Index i = 0; i < n; ++i) {
      const T* p = x.data() + (i * c + ch) * m;
      for (Index j = 0; j < m; ++j) sum += p[j];
    }
    const double mu = sum / count;
    for (Index i = 0; i < n; ++i) {
      const T* p = x.data() + (i * c + ch) * m;
      for (Index j = 0; j < m; ++j) sq += (p[j] - mu) * (p[j] - mu);
    }
    const double var = sq / count;
    running_mean[ch] = static_cast<T>((1 - momentum) * running_mean[ch] + momentum * mu);
    running_var[ch] = static_cast<T>((1 - momentum) * running_var[ch] + momentum * var * count / (count - 1));
    const double inv = 1.0 / std::sqrt(var + eps);
    mean[ch] = mu;
    inv_std[ch] = inv;
    const T scale = static_cast<T>(gamma[ch] * inv);
    const T shift = static_cast<T>(beta[ch] - gamma[ch] * inv * mu);
    for (Index i = 0; i < n; ++i) {
      const T* p = x.data() + (i * c + ch) * m;
      T* q = y.data() + (i * c + ch) * m;
      for (Index j = 0; j < m; ++j) q[j] = scale * p[j] + shift;
    }
  });
}

/// Evaluation-mode forward with the running statistics: y assigned; mean and inv_std receive the
/// statistics used (running mean, 1 / sqrt(running var + eps)).
template <class T>
void batch_norm_forward_eval(In<T> x, In<T> gamma, In<T> beta, In<T> running_mean, In<T> running_var, double eps,
                             TensorView<double, Cpu> mean, TensorView<double, Cpu> inv_std, TensorView<T, Cpu> y) {
  const auto e = detail::check_norm_shapes(
      x.shape(), y.shape(), false,
      {&gamma.shape(), &beta.shape(), &running_mean.shape(), &running_var.shape(), &mean.shape(), &inv_std.shape()},
      "batch_norm_forward_eval");
  const Index c = e.channels, m = e.spatial, n = e.batch;
  ops::parallel_for(c, [&](Index ch, int) {
    const double mu = running_mean[ch], var = running_var[ch];
    const double inv = 1.0 / std::sqrt(var + eps);
    mean[ch] = mu;
    inv_std[ch] = inv;
    const T scale = static_cast<T>(gamma[ch] * inv);
    const T shift = static_cast<T>(beta[ch] - gamma[ch] * inv * mu);
    for (Index i = 0; i < n; ++i) {
      const T* p = x.data() + (i * c + ch) * m;
      T* q = y.data() + (i * c + ch) * m;
      for (Index j = 0; j < m; ++j) q[j] = scale * p[j] + shift;
    }
  });
}

/// Backward: dgamma = sum dy xhat and dbeta = sum dy (xhat = (x - mean) inv_std, sums in double over
/// N, H, W) are assigned, or added to when `accumulate`. dx is assigned (skipped when empty):
/// ~~~{.unparsed}
///   batch statistics:   dx = gamma inv_std (dy - sum dy / count - xhat sum(dy xhat) / count)
///   running statistics: dx = gamma inv_std dy
/// ~~~
template <class T>
void batch_norm_backward(In<T> x, In<T> dy, In<T> gamma, ConstView<double, Cpu> mean, ConstView<double, Cpu> inv_std,
                         NormStatistics statistics, TensorView<T, Cpu> dgamma, TensorView<T, Cpu> dbeta,
                         bool accumulate, TensorView<T, Cpu> dx) {
  const auto e = detail::check_norm_shapes(
      x.shape(), dx.shape(), true, {&gamma.shape(), &mean.shape(), &inv_std.shape(), &dgamma.shape(), &dbeta.shape()},
      "batch_norm_backward");
  require_same_shape(x.shape(), dy.shape(), "batch_norm_backward (dy)");
  const Index c = e.channels, m = e.spatial, n = e.batch;
  const double count = e.count();
  ops::parallel_for(c, [&](Index ch, int) {
    const double mu = mean[ch], inv = inv_std[ch];
    double sum_dy = 0, sum_dy_xhat = 0;
    for (Index i = 0; i < n; ++i) {
      const T* p = x.data() + (i * c + ch) * m;
      const T* g = dy.data() + (i * c + ch) * m;
      for (Index j = 0; j < m; ++j) {
        sum_dy += g[j];
        sum_dy_xhat += g[j] * (p[j] - mu) * inv;
      }
    }
    dgamma[ch] = static_cast<T>(sum_dy_xhat + (accumulate ? dgamma[ch] : T(0)));
    dbeta[ch] = static_cast<T>(sum_dy + (accumulate ? dbeta[ch] : T(0)));
    if (dx.empty()) return;
    const double gi = gamma[ch] * inv;
    for (Index i = 0; i < n; ++i) {
      const T* p = x.data() + (i * c + ch) * m;
      const T* g = dy.data() + (i * c + ch) * m;
      T* q = dx.data() + (i * c + ch) * m;
      if (statistics == NormStatistics::batch) {
        for (Index j = 0; j < m; ++j) {
          const double xhat = (p[j] - mu) * inv;
          q[j] = static_cast<T>(gi * (g[j] - sum_dy / count - xhat * sum_dy_xhat / count));
        }
      } else {
        for (Index j = 0; j < m; ++j) q[j] = static_cast<T>(gi * g[j]);
      }
    }
  });
}

}  // namespace netgrow::ops
