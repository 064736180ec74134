/// \file
/// netgrow/backend/cpu/elementwise.hpp: element-wise maps on Cpu tensors (activations and their
/// derivatives), generic over the activation functor.
#pragma once

#include "netgrow/backend/cpu/blas.hpp"

namespace netgrow::ops {

/// y = act(x), element-wise. x and y may alias.
template <class Act, class T>
void activation_forward(const Act& act, In<T> x, TensorView<T, Cpu> y) {
  require<ShapeError>(x.numel() == y.numel(), "activation_forward: ", x.shape(), " into ", y.shape());
  const T* xp = x.data();
  T* yp = y.data();
  const Index n = x.numel();
  NETGROW_PARALLEL_FOR_IF(n > parallel_threshold)
  for (Index i = 0; i < n; ++i) yp[i] = act.f(xp[i]);
}

/// dx = dy * act'(x) with y = act(x) from the forward pass, element-wise. dx may alias dy.
template <class Act, class T>
void activation_backward(const Act& act, In<T> x, In<T> y, In<T> dy, TensorView<T, Cpu> dx) {
  const Index n = x.numel();
  require<ShapeError>(y.numel() == n && dy.numel() == n && dx.numel() == n, "activation_backward: shapes ",
                      x.shape(), ", ", y.shape(), ", ", dy.shape(), ", ", dx.shape(), " differ");
  const T *xp = x.data(), *yp = y.data(), *dyp = dy.data();
  T* dxp = dx.data();
  NETGROW_PARALLEL_FOR_IF(n > parallel_threshold)
  for (Index i = 0; i < n; ++i) dxp[i] = dyp[i] * act.df(xp[i], yp[i]);
}

}  // namespace netgrow::ops
