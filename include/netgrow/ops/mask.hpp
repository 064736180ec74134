/// \file
/// netgrow/ops/mask.hpp: sparsity masks on any device (Parameter::mask, prune/mask.hpp). Back ends:
/// backend/cpu/mask.hpp, backend/cuda/mask.hpp.
#pragma once

#include "netgrow/backend/cpu/mask.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow::ops {

/// x = 0 where mask (entries 0 or 1, x's shape) is 0; elsewhere x is unchanged. ShapeError for a mask
/// of another shape.
template <class T, WritableAs<T> Out, class D = device_of<Out>>
void apply_mask(In<T, D> mask, Out&& out) {
  const TensorView<T, D> x = out;
  require<ShapeError>(mask.shape() == x.shape(), "apply_mask: mask ", mask.shape(), " for a tensor of shape ", x.shape());
  if (x.numel() > 0) backend::MaskOps<D>::template apply_mask<T>(mask, x);
}

}  // namespace netgrow::ops
