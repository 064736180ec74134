/// \file
/// netgrow/ops/dropout.hpp: dropout on any device: y = x * scale where the mask keeps an element, 0
/// elsewhere (core/dropout_mask.hpp: the mask is a function of coordinates, the same on every device).
/// The same op is the backward pass (dx = dy * scale where kept). Back ends: backend/cpu/dropout.hpp,
/// backend/cuda/dropout.hpp.
#pragma once

#include "netgrow/backend/cpu/dropout.hpp"
#include "netgrow/core/dropout_mask.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow::ops {

/// y = x * scale where `mask` keeps the element, 0 where it drops it; x and y of the same shape, rank >= 1
/// (core/dropout_mask.hpp says how the shape maps to coordinates). y may alias x. ShapeError when the
/// shapes differ.
template <class T, WritableAs<T> Out, class D = device_of<Out>>
void dropout(const DropoutMask& mask, T scale, In<T, D> x, Out&& out) {
  const TensorView<T, D> y = out;
  require<ShapeError>(x.shape() == y.shape() && x.rank() >= 1, "dropout: input ", x.shape(), " into ", y.shape());
  if (x.numel() == 0) return;
  const Index rows = x.dim(0), last = x.rank() == 1 ? 1 : x.dim(x.rank() - 1);
  backend::DropoutOps<D>::template dropout<T>(mask, scale, rows, x.numel() / (rows * last), last, x, y);
}

}  // namespace netgrow::ops
