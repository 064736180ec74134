/// \file
/// netgrow/backend/cuda/batch_norm.hpp: the op facade's batch normalisation on Cuda views, over
/// kernels/batch_norm.cuh. Same contract as backend/cpu/batch_norm.hpp (shapes, statistics in double,
/// PyTorch's running-statistics update, what is assigned and what accumulated). Work is queued on the
/// calling thread's stream; the per-channel partial sums live in cuda::context().workspace().
///
/// nvcc only (launches kernels).
#pragma once

#include "netgrow/backend/cpu/batch_norm.hpp"
#include "netgrow/backend/cuda/blas.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/backend/cuda/memory.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/kernels/batch_norm.cuh"

namespace netgrow::ops {

namespace cuda_detail {
inline kernels::BatchNormExtent batch_norm_extent(const detail::NormExtent& e) {
  return {e.batch, e.channels, e.spatial};
}
}  // namespace cuda_detail

/// Training-mode forward: y assigned; mean and inv_std (C, double) receive the batch statistics;
/// running_mean and running_var are updated in place. Needs N M > 1.
template <class T>
void batch_norm_forward_train(CudaIn<T> x, CudaIn<T> gamma, CudaIn<T> beta, double momentum, double eps,
                              TensorView<T, Cuda> running_mean, TensorView<T, Cuda> running_var,
                              TensorView<double, Cuda> mean, TensorView<double, Cuda> inv_std, TensorView<T, Cuda> y) {
  const auto e = detail::check_norm_shapes(
      x.shape(), y.shape(), false,
      {&gamma.shape(), &beta.shape(), &running_mean.shape(), &running_var.shape(), &mean.shape(), &inv_std.shape()},
      "batch_norm_forward_train");
  detail::require_values_per_channel(e, x.shape());
  const auto extent = cuda_detail::batch_norm_extent(e);
  auto& ctx = cuda::context();
  double* scratch = ctx.workspace_for<double>(kernels::batch_norm_workspace(extent));
  kernels::batch_norm_forward_train<T>(x.data(), extent, gamma.data(), beta.data(), momentum, eps, running_mean.data(),
                                       running_var.data(), mean.data(), inv_std.data(), y.data(), scratch,
                                       ctx.stream());
}

/// Evaluation-mode forward with the running statistics: y assigned; mean and inv_std receive the
/// statistics used.
template <class T>
void batch_norm_forward_eval(CudaIn<T> x, CudaIn<T> gamma, CudaIn<T> beta, CudaIn<T> running_mean,
                             CudaIn<T> running_var, double eps, TensorView<double, Cuda> mean,
                             TensorView<double, Cuda> inv_std, TensorView<T, Cuda> y) {
  const auto e = detail::check_norm_shapes(
      x.shape(), y.shape(), false,
      {&gamma.shape(), &beta.shape(), &running_mean.shape(), &running_var.shape(), &mean.shape(), &inv_std.shape()},
      "batch_norm_forward_eval");
  const auto extent = cuda_detail::batch_norm_extent(e);
  auto& ctx = cuda::context();
  double* scratch = ctx.workspace_for<double>(kernels::batch_norm_workspace(extent));
  kernels::batch_norm_forward_eval<T>(x.data(), extent, gamma.data(), beta.data(), running_mean.data(),
                                      running_var.data(), eps, mean.data(), inv_std.data(), y.data(), scratch,
                                      ctx.stream());
}

/// Backward: dgamma and dbeta assigned, or added to when `accumulate`; dx assigned (skipped when empty),
/// with the batch-statistics terms when `statistics` is NormStatistics::batch.
template <class T>
void batch_norm_backward(CudaIn<T> x, CudaIn<T> dy, CudaIn<T> gamma, ConstView<double, Cuda> mean,
                         ConstView<double, Cuda> inv_std, NormStatistics statistics, TensorView<T, Cuda> dgamma,
                         TensorView<T, Cuda> dbeta, bool accumulate, TensorView<T, Cuda> dx) {
  const auto e = detail::check_norm_shapes(
      x.shape(), dx.shape(), true, {&gamma.shape(), &mean.shape(), &inv_std.shape(), &dgamma.shape(), &dbeta.shape()},
      "batch_norm_backward");
  require_same_shape(x.shape(), dy.shape(), "batch_norm_backward (dy)");
  const auto extent = cuda_detail::batch_norm_extent(e);
  auto& ctx = cuda::context();
  double* scratch = ctx.workspace_for<double>(kernels::batch_norm_workspace(extent));
  kernels::batch_norm_backward<T>(x.data(), dy.data(), extent, gamma.data(), mean.data(), inv_std.data(),
                                  statistics == NormStatistics::batch, dgamma.data(), dbeta.data(), accumulate,
                                  dx.empty() ? nullptr : dx.data(), scratch, ctx.stream());
}

}  // namespace netgrow::ops
