// netgrow/grow/parameter_growth.hpp: growing one parameter along an axis, with everything attached
// to it: the gradient and every optimizer-state tensor are extended with zeros (old entries kept,
// as the GradMax reference pads its optimizer slots), per-element learning-rate factors with a
// given factor. Layers call this from their growth methods; users rarely need it directly.
#pragma once

#include <vector>

#include "netgrow/backend/cpu/layout.hpp"
#include "netgrow/layers/parameter.hpp"

namespace netgrow::grow {

namespace detail {

// t joined with `extra` along axis, as a new tensor.
template <class S>
Tensor<S, Cpu> joined_along(const Tensor<S, Cpu>& t, int axis, ConstView<S, Cpu> extra) {
  Tensor<S, Cpu> joined = Tensor<S, Cpu>::uninitialized(ops::grown_shape(t.shape(), axis, extra.dim(axis)));
  ops::concat<S>(t.cview(), extra, axis, joined.view());
  return joined;
}

}  // namespace detail

// Appends `values` to p.value along `axis` (values has p's shape except along axis). p.grad and each
// tensor in p.state grow with zeros; p.lr_scale, when present, grows with `lr_scale_of_new`.
// All-or-nothing: the grown tensors are built first, so on an exception p is unchanged.
template <class S>
void append_to_parameter(Parameter<S, Cpu>& p, int axis, ConstView<S, Cpu> values, S lr_scale_of_new = S(1)) {
  const Shape extra = values.shape();
  const Tensor<S, Cpu> zeros(extra);
  Tensor<S, Cpu> value = detail::joined_along(p.value, axis, values);
  Tensor<S, Cpu> grad = p.grad.empty() ? Tensor<S, Cpu>(value.shape()) : detail::joined_along(p.grad, axis, zeros.cview());
  std::vector<Tensor<S, Cpu>> state;
  for (const auto& s : p.state) state.push_back(detail::joined_along(s, axis, zeros.cview()));
  Tensor<S, Cpu> lr_scale;
  if (!p.lr_scale.empty()) {
    Tensor<S, Cpu> scale(extra);
    scale.fill(lr_scale_of_new);
    lr_scale = detail::joined_along(p.lr_scale, axis, scale.cview());
  }
  p.value = std::move(value);
  p.grad = std::move(grad);
  p.state = std::move(state);
  p.lr_scale = std::move(lr_scale);
}

}  // namespace netgrow::grow
