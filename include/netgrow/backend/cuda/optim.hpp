/// \file
/// netgrow/backend/cuda/optim.hpp: the CUDA back end of ops/optim.hpp, element-wise in the parameter's
/// precision (the formulas are stated at optim/sgd.hpp and optim/adam.hpp).
///
/// nvcc only (launches kernels).
#pragma once

#include <cmath>

#include "netgrow/backend/cpu/optim.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/kernels/optim.cuh"

namespace netgrow::backend {

/// Optimizer updates on the GPU.
template <>
struct OptimOps<Cuda> {
  template <class T>
  static void sgd_update(TensorView<T, Cuda> w, ConstView<T, Cuda> g, TensorView<T, Cuda> velocity,
                         ConstView<T, Cuda> lr_scale, ConstView<T, Cuda> mask, const SgdHyper& h) {
    const kernels::SgdConstants<T> k{T(h.lr), T(h.momentum), T(h.weight_decay), h.nesterov, h.staged, h.lr_factor};
    kernels::sgd_update<T>(w.numel(), w.data(), g.data(), velocity.empty() ? nullptr : velocity.data(),
                           lr_scale.empty() ? nullptr : lr_scale.data(), mask.empty() ? nullptr : mask.data(), k,
                           cuda::context().stream());
  }

  template <class T>
  static void adam_update(TensorView<T, Cuda> w, ConstView<T, Cuda> g, TensorView<T, Cuda> m, TensorView<T, Cuda> v,
                          ConstView<T, Cuda> lr_scale, ConstView<T, Cuda> mask, const AdamHyper& h) {
    const kernels::AdamConstants<T> k{T(h.lr),
                                      T(h.beta1),
                                      T(h.beta2),
                                      T(h.eps),
                                      T(h.weight_decay),
                                      T(1.0 / h.bias_correction1),
                                      T(1.0 / std::sqrt(h.bias_correction2)),
                                      h.decoupled,
                                      h.staged,
                                      h.lr_factor};
    kernels::adam_update<T>(w.numel(), w.data(), g.data(), m.data(), v.data(),
                            lr_scale.empty() ? nullptr : lr_scale.data(), mask.empty() ? nullptr : mask.data(), k,
                            cuda::context().stream());
  }
};

}  // namespace netgrow::backend
