/// \file
/// netgrow/backend/cuda/elementwise.hpp: the CUDA back end of ops/elementwise.hpp: the functors of
/// layers/activation_functions.hpp run in the kernels as they are.
///
/// nvcc only (launches kernels).
#pragma once

#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/kernels/elementwise.cuh"

namespace netgrow::backend {

/// The element-wise ops of ops/elementwise.hpp on device D (specialised per device).
template <class D>
struct ElementwiseOps;

/// Element-wise maps on the GPU.
template <>
struct ElementwiseOps<Cuda> {
  template <class Act, class T>
  static void activation_forward(const Act& act, ConstView<T, Cuda> x, TensorView<T, Cuda> y) {
    kernels::activation_forward<Act, T>(act, x.data(), y.data(), x.numel(), cuda::context().stream());
  }

  template <class Act, class T>
  static void activation_backward(const Act& act, ConstView<T, Cuda> x, ConstView<T, Cuda> y, ConstView<T, Cuda> dy,
                                  TensorView<T, Cuda> dx) {
    kernels::activation_backward<Act, T>(act, x.data(), y.data(), dy.data(), dx.data(), x.numel(),
                                         cuda::context().stream());
  }
};

}  // namespace netgrow::backend
