/// \file
/// netgrow/ops/batch_norm.hpp: batch normalisation on any device, and the contract every device's
/// batch normalisation shares.
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
/// Back ends: backend/cpu/batch_norm.hpp (channels in parallel), backend/cuda/batch_norm.hpp.
#pragma once

#include <initializer_list>
#include <type_traits>

#include "netgrow/backend/cpu/batch_norm.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow::ops {

/// Which statistics a batch normalisation used: the batch's own (training) or the running ones
/// (evaluation). The backward pass differs: batch statistics depend on x.
enum class NormStatistics { batch, running };

namespace detail {

/// Checks x, the output (same shape as x; `out` may be empty when `out_optional`) and the per-channel
/// vectors of a batch-norm op named `who`; returns x as (N, C, M).
inline backend::NormExtent check_norm_shapes(const Shape& x, const Shape& out, bool out_optional,
                                             std::initializer_list<const Shape*> per_channel, const char* who) {
  require<ShapeError>(x.rank() == 2 || x.rank() == 4, who, ": expects (N, C) or (N, C, H, W), got ", x);
  const backend::NormExtent e{x[0], x[1], x.rank() == 4 ? x[2] * x[3] : Index{1}};
  for (const Shape* v : per_channel)
    require<ShapeError>(v->numel() == e.channels, who, ": a per-channel vector ", *v, " for ", e.channels,
                        " channels");
  require<ShapeError>((out_optional && out.numel() == 0) || out == x, who, ": output ", out, " for input ", x);
  return e;
}

}  // namespace detail

/// Training-mode forward: y assigned; mean and inv_std (double, (C)) receive the batch statistics;
/// running_mean and running_var are updated in place. Needs N M > 1.
template <class T, class D>
void batch_norm_forward_train(In<T, D> x, In<T, D> gamma, In<T, D> beta, double momentum, double eps,
                              TensorView<T, D> running_mean, TensorView<T, D> running_var,
                              std::type_identity_t<TensorView<double, D>> mean, std::type_identity_t<TensorView<double, D>> inv_std, TensorView<T, D> y) {
  const auto e = detail::check_norm_shapes(
      x.shape(), y.shape(), false,
      {&gamma.shape(), &beta.shape(), &running_mean.shape(), &running_var.shape(), &mean.shape(), &inv_std.shape()},
      "batch_norm_forward_train");
  require<ShapeError>(e.batch * e.spatial > 1,
                      "BatchNorm in training mode needs more than one value per channel, got input ", x.shape());
  if (x.numel() > 0)
    backend::BatchNormOps<D>::template forward_train<T>(x, e, gamma, beta, momentum, eps, running_mean, running_var,
                                                        mean, inv_std, y);
}

/// Evaluation-mode forward with the running statistics: y assigned; mean and inv_std receive the
/// statistics used (running mean, 1 / sqrt(running var + eps)).
template <class T, class D>
void batch_norm_forward_eval(In<T, D> x, In<T, D> gamma, In<T, D> beta, In<T, D> running_mean, In<T, D> running_var,
                             double eps, std::type_identity_t<TensorView<double, D>> mean, std::type_identity_t<TensorView<double, D>> inv_std, TensorView<T, D> y) {
  const auto e = detail::check_norm_shapes(
      x.shape(), y.shape(), false,
      {&gamma.shape(), &beta.shape(), &running_mean.shape(), &running_var.shape(), &mean.shape(), &inv_std.shape()},
      "batch_norm_forward_eval");
  if (e.channels > 0)
    backend::BatchNormOps<D>::template forward_eval<T>(x, e, gamma, beta, running_mean, running_var, eps, mean,
                                                       inv_std, y);
}

/// Backward: dgamma = sum dy xhat and dbeta = sum dy (xhat = (x - mean) inv_std, sums in double over
/// N, H, W) are assigned, or added to when `accumulate`. dx is assigned (skipped when empty):
/// ~~~{.unparsed}
///   batch statistics:   dx = gamma inv_std (dy - sum dy / count - xhat sum(dy xhat) / count)
///   running statistics: dx = gamma inv_std dy
/// ~~~
template <class T, class D>
void batch_norm_backward(In<T, D> x, In<T, D> dy, In<T, D> gamma, std::type_identity_t<ConstView<double, D>> mean,
                         std::type_identity_t<ConstView<double, D>> inv_std, NormStatistics statistics, TensorView<T, D> dgamma,
                         TensorView<T, D> dbeta, bool accumulate, TensorView<T, D> dx) {
  const auto e = detail::check_norm_shapes(
      x.shape(), dx.shape(), true, {&gamma.shape(), &mean.shape(), &inv_std.shape(), &dgamma.shape(), &dbeta.shape()},
      "batch_norm_backward");
  require_same_shape(x.shape(), dy.shape(), "batch_norm_backward (dy)");
  if (e.channels > 0)
    backend::BatchNormOps<D>::template backward<T>(x, dy, e, gamma, mean, inv_std,
                                                   statistics == NormStatistics::batch, dgamma, dbeta, accumulate, dx);
}

}  // namespace netgrow::ops
