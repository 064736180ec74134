/// \file
/// netgrow/backend/cuda/attention.hpp: the CUDA back end of ops/attention.hpp, over
/// kernels/attention.cuh. Work is queued on the calling thread's stream; the backward pass's score
/// gradients (N, h, T, T) live in cuda::context().workspace().
///
/// nvcc only (launches kernels).
#pragma once

#include "netgrow/backend/cpu/attention.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/kernels/attention.cuh"

namespace netgrow::backend {

/// Multi-head attention on the GPU.
template <>
struct AttentionOps<Cuda> {
  template <class T>
  static void forward(ConstView<T, Cuda> q, ConstView<T, Cuda> k, ConstView<T, Cuda> v, Index heads, bool causal,
                      TensorView<T, Cuda> probs, TensorView<T, Cuda> out) {
    kernels::attention_forward<T>(q.data(), k.data(), v.data(), extent(q, heads), causal, probs.data(), out.data(),
                                  cuda::context().stream());
  }

  template <class T>
  static void backward(ConstView<T, Cuda> q, ConstView<T, Cuda> k, ConstView<T, Cuda> v, ConstView<T, Cuda> probs,
                       ConstView<T, Cuda> dout, Index heads, TensorView<T, Cuda> dq, TensorView<T, Cuda> dk,
                       TensorView<T, Cuda> dv) {
    const kernels::AttentionExtent e = extent(q, heads);
    auto& ctx = cuda::context();
    T* scratch = ctx.workspace_for<T>(kernels::attention_workspace(e));
    kernels::attention_backward<T>(q.data(), k.data(), v.data(), probs.data(), dout.data(), e, dq.data(), dk.data(),
                                   dv.data(), scratch, ctx.stream());
  }

 private:
  template <class T>
  static kernels::AttentionExtent extent(ConstView<T, Cuda> q, Index heads) {
    return {q.dim(0), q.dim(1), heads, q.dim(2) / heads};
  }
};

}  // namespace netgrow::backend
