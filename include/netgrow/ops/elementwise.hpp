/// \file
/// netgrow/ops/elementwise.hpp: element-wise maps on any device (activations and their derivatives),
/// generic over the activation functor (layers/activation_functions.hpp: the same functors run on the
/// CPU and in CUDA kernels). Back ends: backend/cpu/elementwise.hpp, backend/cuda/elementwise.hpp.
#pragma once

#include <type_traits>

#include "netgrow/backend/cpu/elementwise.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow::ops {

namespace detail {
// T, or the element type of Out when T is void (not given).
template <class T, class Out>
using given_or_element_t = std::conditional_t<std::is_void_v<T>, typename std::remove_cvref_t<Out>::value_type, T>;
}  // namespace detail

/// y = act(x), element-wise. x and y may alias. The scalar type comes from y, or is given:
/// activation_forward<Act, S>(act, x, y).
template <class Act, class Given = void, class Out, class T = detail::given_or_element_t<Given, Out>,
          class D = device_of<Out>>
  requires WritableAs<Out, T>
void activation_forward(const Act& act, In<T, D> x, Out&& out) {
  const TensorView<T, D> y = out;
  require<ShapeError>(x.numel() == y.numel(), "activation_forward: ", x.shape(), " into ", y.shape());
  if (x.numel() > 0) backend::ElementwiseOps<D>::activation_forward(act, x, y);
}

/// dx = dy * act'(x) with y = act(x) from the forward pass, element-wise. dx may alias dy.
template <class Act, class Given = void, class Out, class T = detail::given_or_element_t<Given, Out>,
          class D = device_of<Out>>
  requires WritableAs<Out, T>
void activation_backward(const Act& act, In<T, D> x, In<T, D> y, In<T, D> dy, Out&& out) {
  const TensorView<T, D> dx = out;
  const Index n = x.numel();
  require<ShapeError>(y.numel() == n && dy.numel() == n && dx.numel() == n, "activation_backward: shapes ",
                      x.shape(), ", ", y.shape(), ", ", dy.shape(), ", ", dx.shape(), " differ");
  if (n > 0) backend::ElementwiseOps<D>::activation_backward(act, x, y, dy, dx);
}

}  // namespace netgrow::ops
