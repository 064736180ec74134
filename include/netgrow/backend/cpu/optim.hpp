/// \file
/// netgrow/backend/cpu/optim.hpp: optimizer update rules on Cpu tensors, element-wise, in the
/// parameter's precision. The formulas are stated at optim/sgd.hpp and optim/adam.hpp.
#pragma once

#include <cmath>

#include "netgrow/backend/cpu/blas.hpp"

namespace netgrow::ops {

/// The settings of one sgd_update call.
struct SgdHyper {
  double lr = 0.01;           ///< learning rate (before lr_scale)
  double momentum = 0.0;      ///< momentum factor (0: no velocity buffer)
  bool nesterov = false;      ///< Nesterov momentum
  double weight_decay = 0.0;  ///< L2 factor: wd * w is added to the gradient
};

/// The settings of one adam_update call.
struct AdamHyper {
  double lr = 1e-3;               ///< learning rate (before lr_scale)
  double beta1 = 0.9;             ///< first-moment decay
  double beta2 = 0.999;           ///< second-moment decay
  double eps = 1e-8;              ///< added to sqrt(v hat)
  double weight_decay = 0.0;      ///< L2 factor (added to g, or decoupled)
  bool decoupled = false;         ///< AdamW: decay the weights directly instead of adding wd * w to g
  double bias_correction1 = 1.0;  ///< 1 - beta1^t
  double bias_correction2 = 1.0;  ///< 1 - beta2^t
};

namespace detail {
template <class T>
void check_update_shapes(const char* what, const Shape& w, const Shape& g, TensorView<T, Cpu> s1,
                         ConstView<T, Cpu> lr_scale) {
  require<ShapeError>(g == w, what, ": gradient ", g, " for parameter ", w);
  require<ShapeError>(s1.empty() || s1.shape() == w, what, ": optimizer state ", s1.shape(), " for parameter ", w);
  require<ShapeError>(lr_scale.empty() || lr_scale.shape() == w, what, ": lr_scale ", lr_scale.shape(),
                      " for parameter ", w);
}
}  // namespace detail

/// SGD with optional momentum buffer `velocity` (empty when momentum == 0) and optional per-element
/// learning-rate factors `lr_scale` (empty = all ones).
template <class T>
void sgd_update(TensorView<T, Cpu> w, In<T> g, TensorView<T, Cpu> velocity, In<T> lr_scale, const SgdHyper& h) {
  detail::check_update_shapes<T>("sgd_update", w.shape(), g.shape(), velocity, lr_scale);
  require(h.momentum == 0 || !velocity.empty() || w.numel() == 0,
          "sgd_update: momentum ", h.momentum, " needs a velocity buffer of the parameter's shape");
  const Index n = w.numel();
  T* wp = w.data();
  const T* gp = g.data();
  T* vp = velocity.empty() ? nullptr : velocity.data();
  const T* sp = lr_scale.empty() ? nullptr : lr_scale.data();
  const T lr = T(h.lr), mu = T(h.momentum), wd = T(h.weight_decay);
  const bool nesterov = h.nesterov;
  NETGROW_PARALLEL_FOR_IF(n > parallel_threshold)
  for (Index i = 0; i < n; ++i) {
    T d = gp[i] + wd * wp[i];
    if (vp) {
      const T v = mu * vp[i] + d;
      vp[i] = v;
      d = nesterov ? d + mu * v : v;
    }
    wp[i] -= (sp ? lr * sp[i] : lr) * d;
  }
}

/// Adam / AdamW with moments m, v and optional per-element learning-rate factors.
template <class T>
void adam_update(TensorView<T, Cpu> w, In<T> g, TensorView<T, Cpu> m, TensorView<T, Cpu> v, In<T> lr_scale,
                 const AdamHyper& h) {
  detail::check_update_shapes<T>("adam_update", w.shape(), g.shape(), m, lr_scale);
  require<ShapeError>(m.shape() == w.shape() && v.shape() == w.shape(), "adam_update: optimizer state ",
                      m.shape(), " and ", v.shape(), " for parameter ", w.shape());
  const Index n = w.numel();
  T* wp = w.data();
  const T* gp = g.data();
  T* mp = m.data();
  T* vp = v.data();
  const T* sp = lr_scale.empty() ? nullptr : lr_scale.data();
  const T lr = T(h.lr), b1 = T(h.beta1), b2 = T(h.beta2), eps = T(h.eps), wd = T(h.weight_decay);
  const T c1 = T(1.0 / h.bias_correction1), c2 = T(1.0 / std::sqrt(h.bias_correction2));
  const bool decoupled = h.decoupled;
  NETGROW_PARALLEL_FOR_IF(n > parallel_threshold)
  for (Index i = 0; i < n; ++i) {
    const T rate = sp ? lr * sp[i] : lr;
    T gi = gp[i];
    if (decoupled) wp[i] -= rate * wd * wp[i];
    else gi += wd * wp[i];
    const T mi = b1 * mp[i] + (T(1) - b1) * gi;
    const T vi = b2 * vp[i] + (T(1) - b2) * gi * gi;
    mp[i] = mi;
    vp[i] = vi;
    wp[i] -= rate * (mi * c1) / (std::sqrt(vi) * c2 + eps);
  }
}

}  // namespace netgrow::ops
