/// \file
/// netgrow/backend/cuda/layer_norm.hpp: the CUDA back end of ops/layer_norm.hpp, over
/// kernels/layer_norm.cuh. Work is queued on the calling thread's stream; the parameter gradients'
/// partial sums live in cuda::context().workspace().
///
/// nvcc only (launches kernels).
#pragma once

#include "netgrow/backend/cpu/layer_norm.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/kernels/layer_norm.cuh"

namespace netgrow::backend {

/// Layer normalisation on the GPU.
template <>
struct LayerNormOps<Cuda> {
  template <class T>
  static void forward(ConstView<T, Cuda> x, const LayerNormExtent& e, ConstView<T, Cuda> gamma,
                      ConstView<T, Cuda> beta, double eps, TensorView<double, Cuda> mean,
                      TensorView<double, Cuda> inv_std, TensorView<T, Cuda> y, ConstView<T, Cuda> gains) {
    kernels::layer_norm_forward<T>(x.data(), {e.rows, e.features}, gamma.data(), beta.data(), eps, mean.data(),
                                   inv_std.data(), y.data(), cuda::context().stream(),
                                   gains.empty() ? nullptr : gains.data());
  }

  template <class T>
  static void backward(ConstView<T, Cuda> x, ConstView<T, Cuda> dy, const LayerNormExtent& e,
                       ConstView<T, Cuda> gamma, ConstView<double, Cuda> mean, ConstView<double, Cuda> inv_std,
                       TensorView<T, Cuda> dgamma, TensorView<T, Cuda> dbeta, bool accumulate, TensorView<T, Cuda> dx,
                       ConstView<T, Cuda> gains) {
    const kernels::LayerNormExtent extent{e.rows, e.features};
    auto& ctx = cuda::context();
    double* scratch = ctx.workspace_for<double>(kernels::layer_norm_workspace(extent));
    kernels::layer_norm_backward<T>(x.data(), dy.data(), extent, gamma.data(), mean.data(), inv_std.data(),
                                    dgamma.data(), dbeta.data(), accumulate, dx.empty() ? nullptr : dx.data(), scratch,
                                    ctx.stream(), gains.empty() ? nullptr : gains.data());
  }
};

}  // namespace netgrow::backend
