/// \file
/// netgrow/backend/cuda/loss.hpp: loss values and their gradients on Cuda views, with the contracts and
/// messages of backend/cpu/loss.hpp (sums in double; gradients in the logits' precision). Each call
/// waits for its scalar result (the loss goes back to the host).
///
/// nvcc only (launches kernels).
#pragma once

#include <cstdint>

#include "netgrow/backend/cpu/loss.hpp"
#include "netgrow/backend/cuda/blas.hpp"
#include "netgrow/backend/cuda/transfer.hpp"
#include "netgrow/kernels/loss.cuh"

namespace netgrow::ops {

/// Returns mean((pred - target)^2) over all elements; writes grad = 2 (pred - target) / numel unless
/// grad is empty.
template <class T>
double mse(CudaIn<T> pred, CudaIn<T> target, TensorView<T, Cuda> grad) {
  require<ShapeError>(pred.shape() == target.shape(), "MseLoss: prediction ", pred.shape(), " vs target ",
                      target.shape());
  require<ShapeError>(grad.empty() || grad.shape() == pred.shape(), "MseLoss: gradient ", grad.shape(),
                      " for prediction ", pred.shape());
  const Index n = pred.numel();
  require(n > 0, "MseLoss: empty prediction");
  auto& ctx = cuda::context();
  double* scratch = ctx.workspace_for<double>(kernels::mse_workspace(n) + 1);
  const T scale = T(2.0 / static_cast<double>(n));
  kernels::mse<T>(pred.data(), target.data(), n, grad.empty() ? nullptr : grad.data(), scale, scratch + 1, scratch,
                  ctx.stream());
  return cuda_detail::read_back(scratch) / static_cast<double>(n);
}

/// Softmax cross-entropy of logits (N, C) against integer labels (N) in [0, C) on the device, mean over
/// the batch; writes grad = (softmax - onehot) / N unless grad is empty. A label outside [0, C) throws
/// ArgumentError naming the first such sample (grad is then unspecified).
template <class T>
CrossEntropyResult softmax_cross_entropy(CudaIn<T> logits, ConstView<std::int32_t, Cuda> labels,
                                         TensorView<T, Cuda> grad) {
  require<ShapeError>(logits.rank() == 2, "SoftmaxCrossEntropy: logits must be (N, classes), got ", logits.shape());
  const Index n = logits.dim(0), c = logits.dim(1);
  require<ShapeError>(labels.numel() == n, "SoftmaxCrossEntropy: ", labels.numel(), " labels for ", n, " samples");
  require<ShapeError>(grad.empty() || grad.shape() == logits.shape(), "SoftmaxCrossEntropy: gradient ",
                      grad.shape(), " for logits ", logits.shape());
  require(n > 0 && c > 0, "SoftmaxCrossEntropy: empty logits ", logits.shape());
  auto& ctx = cuda::context();
  // Workspace: the totals first (8-byte aligned), then the per-sample scratch.
  const std::size_t totals_bytes = (sizeof(kernels::CrossEntropyTotals) + 15) / 16 * 16;
  auto* base = static_cast<unsigned char*>(ctx.workspace(totals_bytes + kernels::softmax_cross_entropy_workspace_bytes(n)));
  auto* totals = reinterpret_cast<kernels::CrossEntropyTotals*>(base);
  kernels::softmax_cross_entropy<T>(logits.data(), labels.data(), n, c, grad.empty() ? nullptr : grad.data(),
                                    base + totals_bytes, totals, ctx.stream());
  const kernels::CrossEntropyTotals t = cuda_detail::read_back(totals);
  if (t.first_invalid >= 0) {
    const std::int32_t label = cuda_detail::read_back(labels.data() + t.first_invalid);
    require(false, "SoftmaxCrossEntropy: label ", label, " of sample ", t.first_invalid, " outside [0, ", c, ")");
  }
  CrossEntropyResult r;
  r.count = n;
  r.correct = static_cast<Index>(t.correct);
  r.loss = t.loss_sum / static_cast<double>(n);
  return r;
}

/// The same with the labels on the host (they are copied to the device first).
template <class T>
CrossEntropyResult softmax_cross_entropy(CudaIn<T> logits, ConstView<std::int32_t, Cpu> labels,
                                         TensorView<T, Cuda> grad) {
  const Tensor<std::int32_t, Cuda> device_labels = netgrow::to<Cuda>(labels);
  return softmax_cross_entropy<T>(logits, device_labels.cview(), grad);
}

}  // namespace netgrow::ops
