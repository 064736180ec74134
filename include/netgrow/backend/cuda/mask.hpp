/// \file
/// netgrow/backend/cuda/mask.hpp: the CUDA back end of ops/mask.hpp.
///
/// nvcc only (launches kernels).
#pragma once

#include "netgrow/backend/cpu/mask.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/kernels/mask.cuh"

namespace netgrow::backend {

/// Mask ops on the GPU.
template <>
struct MaskOps<Cuda> {
  template <class T>
  static void apply_mask(ConstView<T, Cuda> mask, TensorView<T, Cuda> x) {
    kernels::apply_mask<T>(x.numel(), mask.data(), x.data(), cuda::context().stream());
  }

  template <class T>
  static void scale_rows_columns(ConstView<T, Cuda> row_gains, ConstView<T, Cuda> col_gains, TensorView<T, Cuda> x) {
    kernels::scale_rows_columns<T>(x.dim(0), x.dim(1), row_gains.empty() ? nullptr : row_gains.data(),
                                   col_gains.empty() ? nullptr : col_gains.data(), x.data(), cuda::context().stream());
  }
};

}  // namespace netgrow::backend
