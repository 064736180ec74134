/// \file
/// netgrow/layers/parameter_growth.hpp: growing one parameter along an axis, with everything attached
/// to it: the gradient and every optimizer-state tensor are extended with zeros (old entries kept,
/// as the GradMax reference pads its optimizer slots), per-element learning-rate factors with a
/// given factor. Layers call this from their growth methods; users rarely need it directly.
/// Works on every device: on Cuda the appends run on the device (backend/cuda/layout.hpp).
#pragma once

#include <concepts>
#include <vector>

#include "netgrow/core/rng.hpp"
#include "netgrow/ops/blas.hpp"
#include "netgrow/ops/layout.hpp"
#include "netgrow/ops/mask.hpp"
#include "netgrow/layers/parameter.hpp"

namespace netgrow {

/// In a list of growth sources (NewNeurons::duplicate_of, a layer's grow_channels_from): the new neuron is
/// the mean of the existing ones rather than a copy of one (LEMON's average expansion, for LayerNorm
/// between a pair).
inline constexpr Index average_source = -1;

}  // namespace netgrow

namespace netgrow::grow {

namespace detail {

// Capacity to reserve when a tensor must grow to `needed` elements: half as much again, so that the
// next growths of a schedule find room (no allocation, no page faults) and only move elements.
inline Index growth_capacity(Index current_capacity, Index needed) {
  return needed <= current_capacity ? current_capacity : needed + needed / 2;
}

}  // namespace detail

/// A tensor built on the host, on device D: moved on the Cpu, copied over otherwise (the copy is found
/// by argument lookup in backend/cuda/transfer.hpp). For the few values growth builds on the host:
/// identity channels, new neurons drawn from the Rng exactly as on the Cpu.
template <class D, class S>
Tensor<S, D> host_to(Tensor<S, Cpu> host) {
  if constexpr (std::same_as<D, Cpu>) {
    return host;
  } else {
    Tensor<S, D> t(host.shape());
    copy(host.cview(), t.view());
    return t;
  }
}

/// dst = src between tensors of the same shape (ShapeError otherwise) on any two devices: ops::copy on
/// the Cpu, the transfers of backend/cuda/transfer.hpp (found by argument lookup) otherwise.
template <class S, class From, class To>
void copy_between(ConstView<S, From> src, TensorView<S, To> dst) {
  if constexpr (std::same_as<From, Cpu> && std::same_as<To, Cpu>) ops::copy<S>(src, dst);
  else copy(src, dst);
}

/// The mask entries a growth appends to a masked parameter (Parameter::mask_growth): all 1, or each 1 with
/// probability the mask's current density, drawn from Rng(p.mask_seed + the mask's size) (the same on every
/// rank of a data-parallel run). Shape `extra`.
template <class S, class D>
Tensor<S, D> new_mask_entries(const Parameter<S, D>& p, const Shape& extra) {
  Tensor<S, Cpu> m(extra);
  if (p.mask_growth == MaskGrowth::dense || p.mask.numel() == 0) {
    std::fill_n(m.data(), m.numel(), S(1));
  } else {
    const double density = ops::squared_norm<S>(p.mask) / static_cast<double>(p.mask.numel());  // entries 0 or 1
    Rng rng(p.mask_seed + static_cast<std::uint64_t>(p.mask.numel()));
    for (Index i = 0; i < m.numel(); ++i) m.data()[i] = rng.uniform() < density ? S(1) : S(0);
  }
  return host_to<D>(std::move(m));
}

/// Appends `values` to p.value along `axis` (values has p's shape except along axis). p.grad and each
/// tensor in p.state grow with zeros; p.lr_scale, when present, grows with `lr_scale_of_new`; p.mask,
/// when present, grows by p.mask_growth (new_mask_entries), and new values where it is 0 are 0.
/// Growth happens in place within spare capacity (1.5x the new size is reserved when it runs out;
/// Tensor::shrink_to_fit releases it). All-or-nothing: shapes are checked and capacity is reserved
/// for every tensor before any of them changes.
template <class S, class D>
void append_to_parameter(Parameter<S, D>& p, int axis, ConstView<S, std::type_identity_t<D>> values,
                         S lr_scale_of_new = S(1)) {
  const Shape extra = values.shape();
  const Shape grown = ops::grown_shape(p.value.shape(), axis, extra[axis]);
  require<ShapeError>(ops::detail::same_except(p.value.shape(), extra, axis < 0 ? axis + extra.rank() : axis),
                      "append_to_parameter: ", extra, " onto a parameter of shape ", p.value.shape(), " along axis ",
                      axis);
  auto reserve = [&](Tensor<S, D>& t) { t.reserve(detail::growth_capacity(t.capacity(), grown.numel())); };
  reserve(p.value);
  if (!p.grad.empty()) reserve(p.grad);
  for (auto& s : p.state) reserve(s);
  if (!p.lr_scale.empty()) reserve(p.lr_scale);
  if (!p.mask.empty()) reserve(p.mask);
  Tensor<S, D> scale, new_mask, masked_values;
  if (!p.lr_scale.empty()) {
    scale = Tensor<S, D>(extra);
    ops::fill<S>(scale.view(), lr_scale_of_new);
  }
  if (!p.mask.empty()) {
    new_mask = new_mask_entries(p, extra);
    if (p.mask_growth != MaskGrowth::dense) {
      masked_values = Tensor<S, D>(extra);
      ops::copy<S>(values, masked_values.view());
      ops::apply_mask<S>(new_mask.cview(), masked_values.view());
      values = masked_values.cview();
    }
  }
  // From here on nothing can fail.
  ops::append_in_place<S>(p.value, axis, extra, values.data());
  if (p.grad.empty()) p.grad = Tensor<S, D>(grown);
  else ops::append_in_place<S>(p.grad, axis, extra, nullptr);
  for (auto& s : p.state) ops::append_in_place<S>(s, axis, extra, nullptr);
  if (!p.lr_scale.empty()) ops::append_in_place<S>(p.lr_scale, axis, extra, scale.data());
  if (!p.mask.empty()) ops::append_in_place<S>(p.mask, axis, extra, new_mask.data());
}

/// Reserves room for `numel` elements in the parameter's value, gradient, optimizer state and
/// learning-rate factors, so that growth up to that size never allocates.
template <class S, class D>
void reserve_parameter(Parameter<S, D>& p, Index numel) {
  p.value.reserve(numel);
  p.grad.reserve(numel);
  for (auto& s : p.state) s.reserve(numel);
  if (!p.lr_scale.empty()) p.lr_scale.reserve(numel);
  if (!p.mask.empty()) p.mask.reserve(numel);
}

}  // namespace netgrow::grow
