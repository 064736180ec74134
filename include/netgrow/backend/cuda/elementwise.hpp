/// \file
/// netgrow/backend/cuda/elementwise.hpp: element-wise maps on Cuda views (activations and their
/// derivatives), generic over the activation functor: the functors of layers/activation_functions.hpp
/// run in the kernels as they are. Same contracts as backend/cpu/elementwise.hpp.
///
/// nvcc only (launches kernels).
#pragma once

#include "netgrow/backend/cpu/elementwise.hpp"
#include "netgrow/backend/cuda/blas.hpp"
#include "netgrow/kernels/elementwise.cuh"

namespace netgrow::ops {

/// y = act(x), element-wise. x and y may alias.
template <class Act, class T>
void activation_forward(const Act& act, CudaIn<T> x, TensorView<T, Cuda> y) {
  require<ShapeError>(x.numel() == y.numel(), "activation_forward: ", x.shape(), " into ", y.shape());
  kernels::activation_forward<Act, T>(act, x.data(), y.data(), x.numel(), cuda::context().stream());
}

/// dx = dy * act'(x) with y = act(x) from the forward pass, element-wise. dx may alias dy.
template <class Act, class T>
void activation_backward(const Act& act, CudaIn<T> x, CudaIn<T> y, CudaIn<T> dy, TensorView<T, Cuda> dx) {
  const Index n = x.numel();
  require<ShapeError>(y.numel() == n && dy.numel() == n && dx.numel() == n, "activation_backward: shapes ",
                      x.shape(), ", ", y.shape(), ", ", dy.shape(), ", ", dx.shape(), " differ");
  kernels::activation_backward<Act, T>(act, x.data(), y.data(), dy.data(), dx.data(), n, cuda::context().stream());
}

}  // namespace netgrow::ops
