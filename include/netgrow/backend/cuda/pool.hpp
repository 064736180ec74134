/// \file
/// netgrow/backend/cuda/pool.hpp: the op facade's pooling (max, average, global average) on Cuda
/// views, over kernels/pool.cuh. Same contract as backend/cpu/pool.hpp: the same shapes and
/// ShapeErrors, max pooling's int32 winner positions with the first-index tie rule, averages that
/// divide by k k. The backward passes gather (no atomics), so they are deterministic. Work is queued on
/// the calling thread's stream.
///
/// nvcc only (launches kernels).
#pragma once

#include "netgrow/backend/cpu/pool.hpp"
#include "netgrow/backend/cuda/blas.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/kernels/pool.cuh"

namespace netgrow::ops {

/// y (N, C, Ho, Wo) = the maximum of each window; argmax (N, C, Ho, Wo) = where it was. Both assigned.
template <class T>
void max_pool2d_forward(CudaIn<T> x, const ConvGeometry& g, TensorView<T, Cuda> y,
                        TensorView<PoolIndex, Cuda> argmax) {
  detail::check_pool_shapes(x.shape(), g, y.shape(), "max_pool2d_forward");
  require_same_shape(argmax.shape(), y.shape(), "max_pool2d_forward (argmax)");
  kernels::max_pool2d_forward<T>(x.data(), x.dim(0) * x.dim(1), g, y.data(), argmax.data(), cuda::context().stream());
}

/// dx (N, C, H, W) assigned: each element gets the sum of dy over the outputs it won. argmax comes from
/// max_pool2d_forward with the same window g over inputs of dx's shape.
template <class T>
void max_pool2d_backward(CudaIn<T> dy, ConstView<PoolIndex, Cuda> argmax, const ConvGeometry& g,
                         TensorView<T, Cuda> dx) {
  detail::check_pool_shapes(dx.shape(), g, dy.shape(), "max_pool2d_backward");
  require_same_shape(argmax.shape(), dy.shape(), "max_pool2d_backward (argmax)");
  kernels::max_pool2d_backward<T>(dy.data(), argmax.data(), dx.dim(0) * dx.dim(1), g, dx.data(),
                                  cuda::context().stream());
}

/// y (N, C, Ho, Wo) = the sum of each window's in-bounds elements divided by k k; assigned.
template <class T>
void avg_pool2d_forward(CudaIn<T> x, const ConvGeometry& g, TensorView<T, Cuda> y) {
  detail::check_pool_shapes(x.shape(), g, y.shape(), "avg_pool2d_forward");
  kernels::avg_pool2d_forward<T>(x.data(), x.dim(0) * x.dim(1), g, y.data(), cuda::context().stream());
}

/// dx (N, C, H, W) = the adjoint of avg_pool2d_forward applied to dy; assigned.
template <class T>
void avg_pool2d_backward(CudaIn<T> dy, const ConvGeometry& g, TensorView<T, Cuda> dx) {
  detail::check_pool_shapes(dx.shape(), g, dy.shape(), "avg_pool2d_backward");
  kernels::avg_pool2d_backward<T>(dy.data(), dx.dim(0) * dx.dim(1), g, dx.data(), cuda::context().stream());
}

/// y (N, C) = the mean of each (H, W) map of x (N, C, H, W); assigned.
template <class T>
void global_avg_pool_forward(CudaIn<T> x, TensorView<T, Cuda> y) {
  detail::check_global_pool_shapes(x.shape(), y.shape(), "global_avg_pool_forward");
  kernels::global_avg_pool_forward<T>(x.data(), x.dim(0) * x.dim(1), x.dim(2) * x.dim(3), y.data(),
                                      cuda::context().stream());
}

/// dx (N, C, H, W) = dy (N, C) / (H W) spread over each map; assigned.
template <class T>
void global_avg_pool_backward(CudaIn<T> dy, TensorView<T, Cuda> dx) {
  detail::check_global_pool_shapes(dx.shape(), dy.shape(), "global_avg_pool_backward");
  kernels::global_avg_pool_backward<T>(dy.data(), dx.dim(0) * dx.dim(1), dx.dim(2) * dx.dim(3), dx.data(),
                                       cuda::context().stream());
}

}  // namespace netgrow::ops
