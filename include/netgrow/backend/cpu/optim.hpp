/// \file
/// netgrow/backend/cpu/optim.hpp: the CPU back end of ops/optim.hpp (element-wise update loops, masked
/// entries set to 0 with their state,
/// OpenMP-parallel above ops::parallel_threshold elements), and the hyper-parameter structs every
/// device's updates take.
#pragma once

#include <cmath>

#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::backend {

/// The settings of one sgd_update call (ops::SgdHyper).
struct SgdHyper {
  double lr = 0.01;           ///< learning rate (before lr_scale)
  double momentum = 0.0;      ///< momentum factor (0: no velocity buffer)
  bool nesterov = false;      ///< Nesterov momentum
  double weight_decay = 0.0;  ///< L2 factor: wd * w is added to the gradient
  /// Not null: the base learning rate is read from this memory (on the update's device) when the update
  /// runs, and lr is ignored; the rate is then staged[0] * lr_factor (optim/staged.hpp).
  const double* staged = nullptr;
  double lr_factor = 1.0;  ///< with staged: the parameter's lr_multiplier
};

/// The settings of one adam_update call (ops::AdamHyper).
struct AdamHyper {
  double lr = 1e-3;               ///< learning rate (before lr_scale)
  double beta1 = 0.9;             ///< first-moment decay
  double beta2 = 0.999;           ///< second-moment decay
  double eps = 1e-8;              ///< added to sqrt(v hat)
  double weight_decay = 0.0;      ///< L2 factor (added to g, or decoupled)
  bool decoupled = false;         ///< AdamW: decay the weights directly instead of adding wd * w to g
  double bias_correction1 = 1.0;  ///< 1 - beta1^t
  double bias_correction2 = 1.0;  ///< 1 - beta2^t
  /// Not null: the step's changing constants are read from this memory (on the update's device) when
  /// the update runs, {base lr, 1 / (1 - beta1^t), 1 / sqrt(1 - beta2^t)}, and lr, bias_correction1 and
  /// bias_correction2 are ignored; the rate is then staged[0] * lr_factor (optim/staged.hpp).
  const double* staged = nullptr;
  double lr_factor = 1.0;  ///< with staged: the parameter's lr_multiplier
};

/// The optimizer updates of ops/optim.hpp on device D (specialised per device).
template <class D>
struct OptimOps;

/// Optimizer updates on the CPU.
template <>
struct OptimOps<Cpu> {
  template <class T>
  static void sgd_update(TensorView<T, Cpu> w, ConstView<T, Cpu> g, TensorView<T, Cpu> velocity,
                         ConstView<T, Cpu> lr_scale, ConstView<T, Cpu> mask, const SgdHyper& h) {
    const Index n = w.numel();
    T* wp = w.data();
    const T* gp = g.data();
    T* vp = velocity.empty() ? nullptr : velocity.data();
    const T* sp = lr_scale.empty() ? nullptr : lr_scale.data();
    const T* mp = mask.empty() ? nullptr : mask.data();
    const T lr = h.staged ? T(h.staged[0] * h.lr_factor) : T(h.lr), mu = T(h.momentum), wd = T(h.weight_decay);
    const bool nesterov = h.nesterov;
    NETGROW_PARALLEL_FOR_IF(n > ops::parallel_threshold)
    for (Index i = 0; i < n; ++i) {
      if (mp && mp[i] == T(0)) {  // pruned: stays 0 with its state
        wp[i] = T(0);
        if (vp) vp[i] = T(0);
        continue;
      }
      T d = gp[i] + wd * wp[i];
      if (vp) {
        const T v = mu * vp[i] + d;
        vp[i] = v;
        d = nesterov ? d + mu * v : v;
      }
      wp[i] -= (sp ? lr * sp[i] : lr) * d;
    }
  }

  template <class T>
  static void adam_update(TensorView<T, Cpu> w, ConstView<T, Cpu> g, TensorView<T, Cpu> m, TensorView<T, Cpu> v,
                          ConstView<T, Cpu> lr_scale, ConstView<T, Cpu> mask, const AdamHyper& h) {
    const Index n = w.numel();
    T* wp = w.data();
    const T* gp = g.data();
    T* mp = m.data();
    T* vp = v.data();
    const T* sp = lr_scale.empty() ? nullptr : lr_scale.data();
    const T* kp = mask.empty() ? nullptr : mask.data();
    const T b1 = T(h.beta1), b2 = T(h.beta2), eps = T(h.eps), wd = T(h.weight_decay);
    const T lr = h.staged ? T(h.staged[0] * h.lr_factor) : T(h.lr);
    const T c1 = h.staged ? T(h.staged[1]) : T(1.0 / h.bias_correction1);
    const T c2 = h.staged ? T(h.staged[2]) : T(1.0 / std::sqrt(h.bias_correction2));
    const bool decoupled = h.decoupled;
    NETGROW_PARALLEL_FOR_IF(n > ops::parallel_threshold)
    for (Index i = 0; i < n; ++i) {
      if (kp && kp[i] == T(0)) {  // pruned: stays 0 with its moments
        wp[i] = mp[i] = vp[i] = T(0);
        continue;
      }
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
};

}  // namespace netgrow::backend
