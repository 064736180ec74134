/// \file
/// netgrow/backend/cuda/embedding.hpp: the CUDA back end of ops/embedding.hpp, over
/// kernels/embedding.cuh. The id check waits for its one-value result (the position of a bad id goes
/// back to the host); the gather and scatter are queued on the calling thread's stream.
///
/// nvcc only (launches kernels).
#pragma once

#include "netgrow/backend/cpu/embedding.hpp"
#include "netgrow/backend/cuda/blas.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/kernels/embedding.cuh"

namespace netgrow::backend {

/// Table lookups on the GPU.
template <>
struct EmbeddingOps<Cuda> {
  template <class T>
  static InvalidId first_invalid(ConstView<T, Cuda> ids, Index vocabulary) {
    if (ids.numel() == 0) return {};
    auto& ctx = cuda::context();
    long long* position = ctx.workspace_for<long long>(1);
    kernels::embedding_check<T>(ids.data(), ids.numel(), vocabulary, position, ctx.stream());
    const long long found = cuda_detail::read_back(position);
    if (found < 0) return {};
    return {static_cast<Index>(found), static_cast<double>(cuda_detail::read_back(ids.data() + found))};
  }

  template <class T>
  static void forward(ConstView<T, Cuda> ids, ConstView<T, Cuda> table, TensorView<T, Cuda> y) {
    kernels::embedding_forward<T>(ids.data(), ids.numel(), table.data(), table.dim(1), y.data(), cuda::context().stream());
  }

  template <class T>
  static void backward(ConstView<T, Cuda> ids, ConstView<T, Cuda> dy, TensorView<T, Cuda> dtable, bool accumulate) {
    kernels::embedding_backward<T>(ids.data(), ids.numel(), dy.data(), dtable.dim(0), dtable.dim(1), accumulate,
                                   dtable.data(), cuda::context().stream());
  }
};

}  // namespace netgrow::backend
