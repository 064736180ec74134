/// \file
/// netgrow/backend/cuda/optim.hpp: optimizer update rules on Cuda views, element-wise in the
/// parameter's precision, with the contracts of backend/cpu/optim.hpp (the formulas are stated at
/// optim/sgd.hpp and optim/adam.hpp): optional momentum buffer, optional per-element lr_scale.
///
/// nvcc only (launches kernels).
#pragma once

#include <cmath>

#include "netgrow/backend/cpu/optim.hpp"
#include "netgrow/backend/cuda/blas.hpp"
#include "netgrow/kernels/optim.cuh"

namespace netgrow::ops {

namespace detail {
template <class T>
void check_update_shapes(const char* what, const Shape& w, const Shape& g, TensorView<T, Cuda> s1,
                         ConstView<T, Cuda> lr_scale) {
  require<ShapeError>(g == w, what, ": gradient ", g, " for parameter ", w);
  require<ShapeError>(s1.empty() || s1.shape() == w, what, ": optimizer state ", s1.shape(), " for parameter ", w);
  require<ShapeError>(lr_scale.empty() || lr_scale.shape() == w, what, ": lr_scale ", lr_scale.shape(),
                      " for parameter ", w);
}
}  // namespace detail

/// SGD with optional momentum buffer `velocity` (empty when momentum == 0) and optional per-element
/// learning-rate factors `lr_scale` (empty = all ones).
template <class T>
void sgd_update(TensorView<T, Cuda> w, CudaIn<T> g, TensorView<T, Cuda> velocity, CudaIn<T> lr_scale,
                const SgdHyper& h) {
  detail::check_update_shapes<T>("sgd_update", w.shape(), g.shape(), velocity, lr_scale);
  require(h.momentum == 0 || !velocity.empty() || w.numel() == 0,
          "sgd_update: momentum ", h.momentum, " needs a velocity buffer of the parameter's shape");
  const kernels::SgdConstants<T> k{T(h.lr), T(h.momentum), T(h.weight_decay), h.nesterov};
  kernels::sgd_update<T>(w.numel(), w.data(), g.data(), velocity.empty() ? nullptr : velocity.data(),
                         lr_scale.empty() ? nullptr : lr_scale.data(), k, cuda::context().stream());
}

/// Adam / AdamW with moments m, v and optional per-element learning-rate factors.
template <class T>
void adam_update(TensorView<T, Cuda> w, CudaIn<T> g, TensorView<T, Cuda> m, TensorView<T, Cuda> v,
                 CudaIn<T> lr_scale, const AdamHyper& h) {
  detail::check_update_shapes<T>("adam_update", w.shape(), g.shape(), m, lr_scale);
  require<ShapeError>(m.shape() == w.shape() && v.shape() == w.shape(), "adam_update: optimizer state ",
                      m.shape(), " and ", v.shape(), " for parameter ", w.shape());
  const kernels::AdamConstants<T> k{T(h.lr),
                                    T(h.beta1),
                                    T(h.beta2),
                                    T(h.eps),
                                    T(h.weight_decay),
                                    T(1.0 / h.bias_correction1),
                                    T(1.0 / std::sqrt(h.bias_correction2)),
                                    h.decoupled};
  kernels::adam_update<T>(w.numel(), w.data(), g.data(), m.data(), v.data(),
                          lr_scale.empty() ? nullptr : lr_scale.data(), k, cuda::context().stream());
}

}  // namespace netgrow::ops
