/// \file
/// netgrow/ops/layer_norm.hpp: layer normalisation on any device, and the contract every device's
/// layer normalisation shares.
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
/// With gains g (D), masked growth's soft mask (layers/fade_mask.hpp; empty: none), the statistics are
/// weighted, mu = sum(g x) / sum(g) and var = sum(g (x - mu)^2) / sum(g), and y = g (gamma xhat + beta):
/// a feature of gain 0 changes nothing in the others and outputs 0. sum(g) > 0 (the caller checks).
/// Every sum has a fixed order, so results do not depend on the thread count. Back ends:
/// backend/cpu/layer_norm.hpp, backend/cuda/layer_norm.hpp.
#pragma once

#include <initializer_list>
#include <type_traits>

#include "netgrow/backend/cpu/layer_norm.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow::ops {

namespace detail {

/// Checks x (rank 2), the output (x's shape; may be empty when `out_optional`), the per-feature vectors
/// and the per-row statistics of a layer-norm op named `who`; returns x as (N, D).
inline backend::LayerNormExtent check_layer_norm_shapes(const Shape& x, const Shape& out, bool out_optional,
                                                        std::initializer_list<const Shape*> per_feature,
                                                        std::initializer_list<const Shape*> per_row, const char* who) {
  require<ShapeError>(x.rank() == 2 && x[1] >= 1, who, ": expects (N, D) with D >= 1, got ", x);
  const backend::LayerNormExtent e{x[0], x[1]};
  for (const Shape* v : per_feature)
    require<ShapeError>(v->rank() == 1 && v->numel() == e.features, who, ": a per-feature vector ", *v, " for ",
                        e.features, " features");
  for (const Shape* v : per_row)
    require<ShapeError>(v->rank() == 1 && v->numel() == e.rows, who, ": a per-row statistic ", *v, " for ", e.rows,
                        " rows");
  require<ShapeError>((out_optional && out.numel() == 0) || out == x, who, ": output ", out, " for input ", x);
  return e;
}

/// Checks that the gains of a layer-norm op are empty or one per feature.
inline void check_layer_norm_gains(const Shape& gains, const backend::LayerNormExtent& e, const char* who) {
  require<ShapeError>(gains.numel() == 0 || (gains.rank() == 1 && gains.numel() == e.features), who, ": gains ",
                      gains, " for ", e.features, " features");
}

}  // namespace detail

/// Forward: y (N, D) assigned; mean and inv_std (N, double) receive each row's mean and
/// 1 / sqrt(biased variance + eps). eps > 0.
/// With gains (D), the weighted form of the file comment.
template <class T, class D>
void layer_norm_forward(In<T, D> x, In<T, D> gamma, In<T, D> beta, double eps, std::type_identity_t<TensorView<double, D>> mean,
                        std::type_identity_t<TensorView<double, D>> inv_std, TensorView<T, D> y, In<T, D> gains = {}) {
  const auto e = detail::check_layer_norm_shapes(x.shape(), y.shape(), false, {&gamma.shape(), &beta.shape()},
                                                 {&mean.shape(), &inv_std.shape()}, "layer_norm_forward");
  detail::check_layer_norm_gains(gains.shape(), e, "layer_norm_forward");
  if (e.rows > 0) backend::LayerNormOps<D>::template forward<T>(x, e, gamma, beta, eps, mean, inv_std, y, gains);
}

/// Backward with the row statistics of the forward pass. dgamma = sum over rows of dy xhat and
/// dbeta = sum over rows of dy (D; in double, rows in order) are assigned, or added to when
/// `accumulate`. dx (N, D) is assigned (skipped when empty): with g = gamma dy,
/// ~~~{.unparsed}
///   dx = inv_std (g - mean(g) - xhat mean(g xhat))      (means over the row's D features)
/// ~~~
/// With gains w (the forward pass's), gy = w dy takes dy's place in dgamma and dbeta, and with
/// h = gamma gy, dx = inv_std (h - w / sum(w) (sum(h) + xhat sum(h xhat))).
template <class T, class D>
void layer_norm_backward(In<T, D> x, In<T, D> dy, In<T, D> gamma, std::type_identity_t<ConstView<double, D>> mean,
                         std::type_identity_t<ConstView<double, D>> inv_std, TensorView<T, D> dgamma, TensorView<T, D> dbeta,
                         bool accumulate, TensorView<T, D> dx, In<T, D> gains = {}) {
  const auto e =
      detail::check_layer_norm_shapes(x.shape(), dx.shape(), true, {&gamma.shape(), &dgamma.shape(), &dbeta.shape()},
                                      {&mean.shape(), &inv_std.shape()}, "layer_norm_backward");
  require_same_shape(x.shape(), dy.shape(), "layer_norm_backward (dy)");
  detail::check_layer_norm_gains(gains.shape(), e, "layer_norm_backward");
  backend::LayerNormOps<D>::template backward<T>(x, dy, e, gamma, mean, inv_std, dgamma, dbeta, accumulate, dx, gains);
}

}  // namespace netgrow::ops
