/// \file
/// netgrow/backend/cuda/loss.hpp: the CUDA back end of ops/loss.hpp (sums in double; gradients in the
/// logits' precision). Each call waits for its scalar result (the loss goes back to the host).
///
/// nvcc only (launches kernels).
#pragma once

#include <concepts>
#include <cstdint>

#include "netgrow/backend/cpu/loss.hpp"
#include "netgrow/backend/cuda/blas.hpp"
#include "netgrow/backend/cuda/transfer.hpp"
#include "netgrow/kernels/loss.cuh"

namespace netgrow::backend {

/// Losses on the GPU.
template <>
struct LossOps<Cuda> {
  template <class T>
  static double mse_sum(ConstView<T, Cuda> pred, ConstView<T, Cuda> target, TensorView<T, Cuda> grad) {
    const Index n = pred.numel();
    auto& ctx = cuda::context();
    double* scratch = ctx.workspace_for<double>(kernels::mse_workspace(n) + 1);
    const T scale = T(2.0 / static_cast<double>(n));
    kernels::mse<T>(pred.data(), target.data(), n, grad.empty() ? nullptr : grad.data(), scale, scratch + 1, scratch,
                    ctx.stream());
    return cuda_detail::read_back(scratch);
  }

  template <class T>
  static double bce_with_logits_sum(ConstView<T, Cuda> logits, ConstView<T, Cuda> targets, TensorView<T, Cuda> grad,
                                    T scale) {
    const Index n = logits.numel();
    auto& ctx = cuda::context();
    double* scratch = ctx.workspace_for<double>(kernels::bce_workspace(n) + 1);
    kernels::bce_with_logits<T>(logits.data(), targets.data(), n, grad.empty() ? nullptr : grad.data(), scale,
                                scratch + 1, scratch, ctx.stream());
    return cuda_detail::read_back(scratch);
  }

  /// Queues the softmax cross-entropy without waiting: *totals (device memory) receives the loss sum,
  /// the correct count and the first invalid sample; `scratch` (device memory) holds
  /// kernels::softmax_cross_entropy_workspace_bytes(N) bytes. CUDA-graph safe (backend/cuda/graph.hpp).
  template <class T>
  static void softmax_cross_entropy_queued(ConstView<T, Cuda> logits, ConstView<std::int32_t, Cuda> labels,
                                           TensorView<T, Cuda> grad, kernels::CrossEntropyTotals* totals,
                                           void* scratch) {
    kernels::softmax_cross_entropy<T>(logits.data(), labels.data(), logits.dim(0), logits.dim(1),
                                      grad.empty() ? nullptr : grad.data(), scratch, totals, cuda::context().stream());
  }

  /// Labels on the device or on the host (copied over first).
  template <class T, class LabelDevice>
  static CrossEntropySums softmax_cross_entropy(ConstView<T, Cuda> logits, ConstView<std::int32_t, LabelDevice> labels,
                                                TensorView<T, Cuda> grad) {
    if constexpr (!std::same_as<LabelDevice, Cuda>) {
      const Tensor<std::int32_t, Cuda> device_labels = netgrow::to<Cuda>(labels);
      return softmax_cross_entropy<T, Cuda>(logits, device_labels.cview(), grad);
    } else {
      // Workspace: the totals first (16-byte aligned), then the per-sample scratch.
      const std::size_t totals_bytes = (sizeof(kernels::CrossEntropyTotals) + 15) / 16 * 16;
      auto* base = static_cast<unsigned char*>(
          cuda::context().workspace(totals_bytes + kernels::softmax_cross_entropy_workspace_bytes(logits.dim(0))));
      auto* totals = reinterpret_cast<kernels::CrossEntropyTotals*>(base);
      softmax_cross_entropy_queued<T>(logits, labels, grad, totals, base + totals_bytes);
      const kernels::CrossEntropyTotals t = cuda_detail::read_back(totals);
      CrossEntropySums r;
      r.loss_sum = t.loss_sum;
      r.correct = static_cast<Index>(t.correct);
      if (t.first_invalid >= 0) {
        r.first_invalid = static_cast<Index>(t.first_invalid);
        r.invalid_label = cuda_detail::read_back(labels.data() + t.first_invalid);
      }
      return r;
    }
  }
};

}  // namespace netgrow::backend
