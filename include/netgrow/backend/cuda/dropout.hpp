/// \file
/// netgrow/backend/cuda/dropout.hpp: the CUDA back end of ops/dropout.hpp, over kernels/dropout.cuh.
///
/// nvcc only (launches kernels).
#pragma once

#include "netgrow/backend/cpu/dropout.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/kernels/dropout.cuh"

namespace netgrow::backend {

/// Dropout on the GPU.
template <>
struct DropoutOps<Cuda> {
  template <class T>
  static void dropout(const DropoutMask& mask, T scale, Index rows, Index middle, Index last, ConstView<T, Cuda> x,
                      TensorView<T, Cuda> y) {
    kernels::dropout<T>(mask, scale, rows, middle, last, x.data(), y.data(), cuda::context().stream());
  }
};

}  // namespace netgrow::backend
