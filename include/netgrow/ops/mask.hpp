/// \file
/// netgrow/ops/mask.hpp: masks on any device: sparsity masks (Parameter::mask, prune/mask.hpp) and the
/// soft masks of masked growth (per-row and per-column gains, layers/fade_mask.hpp). Back ends:
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

/// x (r, c) *= row_gains[i] col_gains[j] (the product rounded to T first): x = diag(row_gains) x
/// diag(col_gains). An empty gain vector stands for ones. ShapeError unless x has rank 2 and each given
/// vector has r (c) entries.
template <class T, WritableAs<T> Out, class D = device_of<Out>>
void scale_rows_columns(In<T, D> row_gains, In<T, D> col_gains, Out&& out) {
  const TensorView<T, D> x = out;
  require<ShapeError>(x.rank() == 2, "scale_rows_columns: expects a matrix, got ", x.shape());
  require<ShapeError>(row_gains.empty() || (row_gains.rank() == 1 && row_gains.numel() == x.dim(0)),
                      "scale_rows_columns: row gains ", row_gains.shape(), " for ", x.dim(0), " rows");
  require<ShapeError>(col_gains.empty() || (col_gains.rank() == 1 && col_gains.numel() == x.dim(1)),
                      "scale_rows_columns: column gains ", col_gains.shape(), " for ", x.dim(1), " columns");
  if (x.numel() > 0 && !(row_gains.empty() && col_gains.empty()))
    backend::MaskOps<D>::template scale_rows_columns<T>(row_gains, col_gains, x);
}

}  // namespace netgrow::ops
