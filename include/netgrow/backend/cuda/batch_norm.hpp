/// \file
/// netgrow/backend/cuda/batch_norm.hpp: the CUDA back end of ops/batch_norm.hpp, over
/// kernels/batch_norm.cuh. Work is queued on the calling thread's stream; the per-channel partial sums
/// live in cuda::context().workspace().
///
/// nvcc only (launches kernels).
#pragma once

#include "netgrow/backend/cpu/batch_norm.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/kernels/batch_norm.cuh"

namespace netgrow::backend {

/// Batch normalisation on the GPU.
template <>
struct BatchNormOps<Cuda> {
  template <class T>
  static void forward_train(ConstView<T, Cuda> x, const NormExtent& e, ConstView<T, Cuda> gamma,
                            ConstView<T, Cuda> beta, double momentum, double eps, TensorView<T, Cuda> running_mean,
                            TensorView<T, Cuda> running_var, TensorView<double, Cuda> mean,
                            TensorView<double, Cuda> inv_std, TensorView<T, Cuda> y) {
    const kernels::BatchNormExtent extent{e.batch, e.channels, e.spatial};
    auto& ctx = cuda::context();
    double* scratch = ctx.workspace_for<double>(kernels::batch_norm_workspace(extent));
    kernels::batch_norm_forward_train<T>(x.data(), extent, gamma.data(), beta.data(), momentum, eps,
                                         running_mean.data(), running_var.data(), mean.data(), inv_std.data(),
                                         y.data(), scratch, ctx.stream());
  }

  template <class T>
  static void forward_eval(ConstView<T, Cuda> x, const NormExtent& e, ConstView<T, Cuda> gamma,
                           ConstView<T, Cuda> beta, ConstView<T, Cuda> running_mean, ConstView<T, Cuda> running_var,
                           double eps, TensorView<double, Cuda> mean, TensorView<double, Cuda> inv_std,
                           TensorView<T, Cuda> y) {
    const kernels::BatchNormExtent extent{e.batch, e.channels, e.spatial};
    auto& ctx = cuda::context();
    double* scratch = ctx.workspace_for<double>(kernels::batch_norm_workspace(extent));
    kernels::batch_norm_forward_eval<T>(x.data(), extent, gamma.data(), beta.data(), running_mean.data(),
                                        running_var.data(), eps, mean.data(), inv_std.data(), y.data(), scratch,
                                        ctx.stream());
  }

  template <class T>
  static void backward(ConstView<T, Cuda> x, ConstView<T, Cuda> dy, const NormExtent& e, ConstView<T, Cuda> gamma,
                       ConstView<double, Cuda> mean, ConstView<double, Cuda> inv_std, bool batch_statistics,
                       TensorView<T, Cuda> dgamma, TensorView<T, Cuda> dbeta, bool accumulate, TensorView<T, Cuda> dx) {
    const kernels::BatchNormExtent extent{e.batch, e.channels, e.spatial};
    auto& ctx = cuda::context();
    double* scratch = ctx.workspace_for<double>(kernels::batch_norm_workspace(extent));
    kernels::batch_norm_backward<T>(x.data(), dy.data(), extent, gamma.data(), mean.data(), inv_std.data(),
                                    batch_statistics, dgamma.data(), dbeta.data(), accumulate,
                                    dx.empty() ? nullptr : dx.data(), scratch, ctx.stream());
  }
};

}  // namespace netgrow::backend
