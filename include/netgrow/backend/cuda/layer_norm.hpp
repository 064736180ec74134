/// \file
/// netgrow/backend/cuda/layer_norm.hpp: the op facade's layer normalisation on Cuda views, over
/// kernels/layer_norm.cuh. Same contract as backend/cpu/layer_norm.hpp (shapes, row statistics in
/// double, what is assigned and what accumulated). Work is queued on the calling thread's stream; the
/// parameter gradients' partial sums live in cuda::context().workspace().
///
/// nvcc only (launches kernels).
#pragma once

#include "netgrow/backend/cpu/layer_norm.hpp"
#include "netgrow/backend/cuda/blas.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/backend/cuda/memory.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/kernels/layer_norm.cuh"

namespace netgrow::ops {

/// Forward: y (N, D) assigned; mean and inv_std (N, double) receive each row's mean and
/// 1 / sqrt(biased variance + eps).
template <class T>
void layer_norm_forward(CudaIn<T> x, CudaIn<T> gamma, CudaIn<T> beta, double eps, TensorView<double, Cuda> mean,
                        TensorView<double, Cuda> inv_std, TensorView<T, Cuda> y) {
  const auto e = detail::check_layer_norm_shapes(x.shape(), y.shape(), false, {&gamma.shape(), &beta.shape()},
                                                 {&mean.shape(), &inv_std.shape()}, "layer_norm_forward");
  kernels::layer_norm_forward<T>(x.data(), {e.rows, e.features}, gamma.data(), beta.data(), eps, mean.data(),
                                 inv_std.data(), y.data(), cuda::context().stream());
}

/// Backward: dgamma and dbeta (D) assigned, or added to when `accumulate`; dx (N, D) assigned
/// (skipped when empty).
template <class T>
void layer_norm_backward(CudaIn<T> x, CudaIn<T> dy, CudaIn<T> gamma, ConstView<double, Cuda> mean,
                         ConstView<double, Cuda> inv_std, TensorView<T, Cuda> dgamma, TensorView<T, Cuda> dbeta,
                         bool accumulate, TensorView<T, Cuda> dx) {
  const auto e =
      detail::check_layer_norm_shapes(x.shape(), dx.shape(), true, {&gamma.shape(), &dgamma.shape(), &dbeta.shape()},
                                      {&mean.shape(), &inv_std.shape()}, "layer_norm_backward");
  require_same_shape(x.shape(), dy.shape(), "layer_norm_backward (dy)");
  const kernels::LayerNormExtent extent{e.rows, e.features};
  auto& ctx = cuda::context();
  double* scratch = ctx.workspace_for<double>(kernels::layer_norm_workspace(extent));
  kernels::layer_norm_backward<T>(x.data(), dy.data(), extent, gamma.data(), mean.data(), inv_std.data(), dgamma.data(),
                                  dbeta.data(), accumulate, dx.empty() ? nullptr : dx.data(), scratch, ctx.stream());
}

}  // namespace netgrow::ops
