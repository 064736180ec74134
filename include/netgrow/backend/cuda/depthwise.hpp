/// \file
/// netgrow/backend/cuda/depthwise.hpp: the CUDA back end of ops/depthwise.hpp, over
/// kernels/depthwise.cuh. The filter and bias gradients are reduced in double in a fixed order and the
/// input gradient gathers, so results are deterministic. Work is queued on the calling thread's stream.
///
/// nvcc only (launches kernels).
#pragma once

#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/core/conv_geometry.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/kernels/depthwise.cuh"

namespace netgrow::backend {

/// The depthwise convolution ops of ops/depthwise.hpp on device D (specialised per device).
template <class D>
struct DepthwiseOps;

/// Depthwise convolution on the GPU.
template <>
struct DepthwiseOps<Cuda> {
  template <class T>
  static void forward(ConstView<T, Cuda> x, ConstView<T, Cuda> w, ConstView<T, Cuda> b, const ConvGeometry& g,
                      TensorView<T, Cuda> y) {
    kernels::depthwise_conv2d_forward<T>(x.data(), x.dim(0), x.dim(1), g, w.data(), b.empty() ? nullptr : b.data(),
                                         y.data(), cuda::context().stream());
  }

  template <class T>
  static void backward(ConstView<T, Cuda> x, ConstView<T, Cuda> dy, ConstView<T, Cuda> w, const ConvGeometry& g,
                       TensorView<T, Cuda> dw, TensorView<T, Cuda> db, bool accumulate, TensorView<T, Cuda> dx) {
    cudaStream_t stream = cuda::context().stream();
    kernels::depthwise_conv2d_weight_grad<T>(x.data(), dy.data(), x.dim(0), x.dim(1), g, dw.data(),
                                             db.empty() ? nullptr : db.data(), accumulate, stream);
    if (!dx.empty())
      kernels::depthwise_conv2d_input_grad<T>(dy.data(), x.dim(0), x.dim(1), g, w.data(), dx.data(), stream);
  }
};

}  // namespace netgrow::backend
