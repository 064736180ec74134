/// \file
/// netgrow/backend/cuda/pool.hpp: the CUDA back end of ops/pool.hpp, over kernels/pool.cuh. The
/// backward passes gather (no atomics), so they are deterministic. Work is queued on the calling
/// thread's stream.
///
/// nvcc only (launches kernels).
#pragma once

#include <cstdint>

#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/core/conv_geometry.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/kernels/pool.cuh"

namespace netgrow::backend {

/// The pooling ops of ops/pool.hpp on device D (specialised per device).
template <class D>
struct PoolOps;

/// Pooling on the GPU.
template <>
struct PoolOps<Cuda> {
  using PoolIndex = std::int32_t;  ///< max pooling's winner positions

  template <class T>
  static void max_forward(ConstView<T, Cuda> x, const ConvGeometry& g, TensorView<T, Cuda> y,
                          TensorView<PoolIndex, Cuda> argmax) {
    kernels::max_pool2d_forward<T>(x.data(), x.dim(0) * x.dim(1), g, y.data(), argmax.data(), cuda::context().stream());
  }

  template <class T>
  static void max_backward(ConstView<T, Cuda> dy, ConstView<PoolIndex, Cuda> argmax, const ConvGeometry& g,
                           TensorView<T, Cuda> dx) {
    kernels::max_pool2d_backward<T>(dy.data(), argmax.data(), dx.dim(0) * dx.dim(1), g, dx.data(),
                                    cuda::context().stream());
  }

  template <class T>
  static void avg_forward(ConstView<T, Cuda> x, const ConvGeometry& g, TensorView<T, Cuda> y) {
    kernels::avg_pool2d_forward<T>(x.data(), x.dim(0) * x.dim(1), g, y.data(), cuda::context().stream());
  }

  template <class T>
  static void avg_backward(ConstView<T, Cuda> dy, const ConvGeometry& g, TensorView<T, Cuda> dx) {
    kernels::avg_pool2d_backward<T>(dy.data(), dx.dim(0) * dx.dim(1), g, dx.data(), cuda::context().stream());
  }

  template <class T>
  static void global_avg_forward(ConstView<T, Cuda> x, TensorView<T, Cuda> y) {
    kernels::global_avg_pool_forward<T>(x.data(), x.dim(0) * x.dim(1), x.dim(2) * x.dim(3), y.data(),
                                        cuda::context().stream());
  }

  template <class T>
  static void global_avg_backward(ConstView<T, Cuda> dy, TensorView<T, Cuda> dx) {
    kernels::global_avg_pool_backward<T>(dy.data(), dx.dim(0) * dx.dim(1), dx.dim(2) * dx.dim(3), dx.data(),
                                         cuda::context().stream());
  }
};

}  // namespace netgrow::backend
