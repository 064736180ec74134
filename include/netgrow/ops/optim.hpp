/// \file
/// netgrow/ops/optim.hpp: optimizer update rules on any device, element-wise in the parameter's
/// precision: SGD (momentum, Nesterov, weight decay) and Adam / AdamW, with optional per-element
/// learning-rate factors. The formulas are stated at optim/sgd.hpp and optim/adam.hpp. Back ends:
/// backend/cpu/optim.hpp, backend/cuda/optim.hpp.
#pragma once

#include "netgrow/backend/cpu/optim.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow::ops {

/// The settings of one sgd_update call.
using SgdHyper = backend::SgdHyper;
/// The settings of one adam_update call.
using AdamHyper = backend::AdamHyper;

namespace detail {

template <class T, class D>
void check_update_shapes(const char* what, const Shape& w, const Shape& g, const Shape& state, ConstView<T, D> lr_scale,
                         ConstView<T, D> mask) {
  require<ShapeError>(g == w, what, ": gradient ", g, " for parameter ", w);
  require<ShapeError>(mask.empty() || mask.shape() == w, what, ": mask ", mask.shape(), " for parameter ", w);
  require<ShapeError>(state.numel() == 0 || state == w, what, ": optimizer state ", state, " for parameter ", w);
  require<ShapeError>(lr_scale.empty() || lr_scale.shape() == w, what, ": lr_scale ", lr_scale.shape(),
                      " for parameter ", w);
}

}  // namespace detail

/// SGD with optional momentum buffer `velocity` (empty when momentum == 0), optional per-element
/// learning-rate factors `lr_scale` (empty = all ones) and an optional sparsity mask (empty = dense;
/// where it is 0 the weight and its velocity are set to 0 and the gradient is ignored).
template <class T, WritableAs<T> W, WritableAs<T> V, class D = device_of<W>>
void sgd_update(W&& weights, In<T, D> g, V&& velocity_buffer, In<T, D> lr_scale, const SgdHyper& h,
                In<T, D> mask = {}) {
  const TensorView<T, D> w = weights, velocity = velocity_buffer;
  detail::check_update_shapes<T, D>("sgd_update", w.shape(), g.shape(), velocity.shape(), lr_scale, mask);
  require(h.momentum == 0 || !velocity.empty() || w.numel() == 0,
          "sgd_update: momentum ", h.momentum, " needs a velocity buffer of the parameter's shape");
  if (w.numel() > 0) backend::OptimOps<D>::template sgd_update<T>(w, g, velocity, lr_scale, mask, h);
}

/// Adam / AdamW with moments m, v, optional per-element learning-rate factors and an optional sparsity
/// mask (as sgd_update's: masked weights and moments set to 0).
template <class T, WritableAs<T> W, WritableAs<T> M, WritableAs<T> V, class D = device_of<W>>
void adam_update(W&& weights, In<T, D> g, M&& first_moment, V&& second_moment, In<T, D> lr_scale, const AdamHyper& h,
                 In<T, D> mask = {}) {
  const TensorView<T, D> w = weights, m = first_moment, v = second_moment;
  detail::check_update_shapes<T, D>("adam_update", w.shape(), g.shape(), m.shape(), lr_scale, mask);
  require<ShapeError>(m.shape() == w.shape() && v.shape() == w.shape(), "adam_update: optimizer state ",
                      m.shape(), " and ", v.shape(), " for parameter ", w.shape());
  if (w.numel() > 0) backend::OptimOps<D>::template adam_update<T>(w, g, m, v, lr_scale, mask, h);
}

}  // namespace netgrow::ops
