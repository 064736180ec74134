/// \file
/// netgrow/backend/cpu/elementwise.hpp: the CPU back end of ops/elementwise.hpp (activations applied
/// element by element, OpenMP-parallel above ops::parallel_threshold elements).
#pragma once

#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::backend {

/// The element-wise ops of ops/elementwise.hpp on device D (specialised per device).
template <class D>
struct ElementwiseOps;

/// Element-wise maps on the CPU.
template <>
struct ElementwiseOps<Cpu> {
  template <class Act, class T>
  static void activation_forward(const Act& act, ConstView<T, Cpu> x, TensorView<T, Cpu> y) {
    const T* xp = x.data();
    T* yp = y.data();
    const Index n = x.numel();
    NETGROW_PARALLEL_FOR_IF(n > ops::parallel_threshold)
    for (Index i = 0; i < n; ++i) yp[i] = act.f(xp[i]);
  }

  template <class Act, class T>
  static void activation_backward(const Act& act, ConstView<T, Cpu> x, ConstView<T, Cpu> y, ConstView<T, Cpu> dy,
                                  TensorView<T, Cpu> dx) {
    const Index n = x.numel();
    const T *xp = x.data(), *yp = y.data(), *dyp = dy.data();
    T* dxp = dx.data();
    NETGROW_PARALLEL_FOR_IF(n > ops::parallel_threshold)
    for (Index i = 0; i < n; ++i) dxp[i] = dyp[i] * act.df(xp[i], yp[i]);
  }
};

}  // namespace netgrow::backend
