// netgrow/grow/parameter_growth.hpp: growing one parameter along an axis, with everything attached
// to it: the gradient and every optimizer-state tensor are extended with zeros (old entries kept,
// as the GradMax reference pads its optimizer slots), per-element learning-rate factors with a
// given factor. Layers call this from their growth methods; users rarely need it directly.
#pragma once

#include "netgrow/backend/cpu/layout.hpp"
#include "netgrow/layers/parameter.hpp"

namespace netgrow::grow {

namespace detail {

// t = t joined with `extra` along axis.
template <class S>
void append_along(Tensor<S, Cpu>& t, int axis, ConstView<S, Cpu> extra) {
  Tensor<S, Cpu> joined = Tensor<S, Cpu>::uninitialized(ops::grown_shape(t.shape(), axis, extra.dim(axis)));
  ops::concat<S>(t.cview(), extra, axis, joined.view());
  t = std::move(joined);
}

// t = t joined with zeros of `extra_shape` along axis.
template <class S>
void append_zeros_along(Tensor<S, Cpu>& t, int axis, const Shape& extra_shape) {
  const Tensor<S, Cpu> zeros(extra_shape);
  append_along(t, axis, zeros.cview());
}

}  // namespace detail

// Appends `values` to p.value along `axis` (values has p's shape except along axis). p.grad and each
// tensor in p.state grow with zeros; p.lr_scale, when present, grows with `lr_scale_of_new`.
template <class S>
void append_to_parameter(Parameter<S, Cpu>& p, int axis, ConstView<S, Cpu> values, S lr_scale_of_new = S(1)) {
  const Shape extra = values.shape();
  detail::append_along(p.value, axis, values);
  if (p.grad.shape() != p.value.shape()) detail::append_zeros_along(p.grad, axis, extra);
  for (auto& s : p.state) detail::append_zeros_along(s, axis, extra);
  if (!p.lr_scale.empty()) {
    Tensor<S, Cpu> scale(extra);
    scale.fill(lr_scale_of_new);
    detail::append_along(p.lr_scale, axis, scale.cview());
  }
}

}  // namespace netgrow::grow
