/// \file
/// netgrow/backend/cuda/depthwise.hpp: the op facade's depthwise 2-D convolution on Cuda views, over
/// kernels/depthwise.cuh. Same contract as backend/cpu/depthwise.hpp (shapes and ShapeErrors, what is
/// assigned and what accumulated). The filter and bias gradients are reduced in double in a fixed
/// order and the input gradient gathers, so results are deterministic. Work is queued on the calling
/// thread's stream.
///
/// nvcc only (launches kernels).
#pragma once

#include "netgrow/backend/cpu/depthwise.hpp"
#include "netgrow/backend/cuda/blas.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/kernels/depthwise.cuh"

namespace netgrow::ops {

/// y = depthwise(x, w) + b (b empty: no bias); assigned.
template <class T>
void depthwise_conv2d_forward(CudaIn<T> x, CudaIn<T> w, CudaIn<T> b, const ConvGeometry& g, TensorView<T, Cuda> y) {
  detail::check_depthwise_shapes(x.shape(), w.shape(), b.numel(), g, y.shape(), "depthwise_conv2d_forward");
  kernels::depthwise_conv2d_forward<T>(x.data(), x.dim(0), x.dim(1), g, w.data(), b.empty() ? nullptr : b.data(),
                                       y.data(), cuda::context().stream());
}

/// dw (C, 1, k, k) and db (C; empty: no bias) are assigned, or added to when `accumulate`; dx is
/// assigned (skipped when empty).
template <class T>
void depthwise_conv2d_backward(CudaIn<T> x, CudaIn<T> dy, CudaIn<T> w, const ConvGeometry& g, TensorView<T, Cuda> dw,
                               TensorView<T, Cuda> db, bool accumulate, TensorView<T, Cuda> dx) {
  detail::check_depthwise_shapes(x.shape(), w.shape(), db.numel(), g, dy.shape(), "depthwise_conv2d_backward");
  require_same_shape(dw.shape(), w.shape(), "depthwise_conv2d_backward (dw)");
  require<ShapeError>(dx.empty() || dx.shape() == x.shape(), "depthwise_conv2d_backward: dx ", dx.shape(),
                      " for input ", x.shape());
  cudaStream_t stream = cuda::context().stream();
  kernels::depthwise_conv2d_weight_grad<T>(x.data(), dy.data(), x.dim(0), x.dim(1), g, dw.data(),
                                           db.empty() ? nullptr : db.data(), accumulate, stream);
  if (!dx.empty()) kernels::depthwise_conv2d_input_grad<T>(dy.data(), x.dim(0), x.dim(1), g, w.data(), dx.data(), stream);
}

}  // namespace netgrow::ops
