/// \file
/// netgrow/backend/cuda/queued_loss.hpp: softmax cross-entropy whose sums stay on the device until
/// asked for. queue() launches the kernels and returns at once (so a training step can run ahead of the
/// host, or be recorded in a cuda::StepGraph, backend/cuda/graph.hpp); result() waits for them and reads
/// the loss back, as SoftmaxCrossEntropy (network/loss.hpp) returns it (ops::CrossEntropyResult).
///
/// ~~~
///   cuda::QueuedCrossEntropy loss;
///   loss.queue(logits, labels, grad);     // logits (N, C) or (N, T, V); labels (N) or (N, T); grad like logits
///   ...
///   const auto r = loss.result();         // ops::CrossEntropyResult: mean loss, correct count, count
/// ~~~
///
/// Shapes are checked when queued (ShapeError); a label outside [0, C) is found on the device and
/// reported by result() (ArgumentError naming the first such sample). result() describes the last
/// queue() whose work has run: after a StepGraph replay, the replayed step.
///
/// nvcc only (launches kernels).
#pragma once

#include <cstdint>

#include "netgrow/backend/cuda/loss.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::cuda {

/// See the file comment. Not copyable (its device buffer is written by queued work).
class QueuedCrossEntropy {
 public:
  QueuedCrossEntropy() = default;
  QueuedCrossEntropy(const QueuedCrossEntropy&) = delete;
  QueuedCrossEntropy& operator=(const QueuedCrossEntropy&) = delete;

  /// Queues the loss of logits against labels and, unless grad is empty, its gradient
  /// (softmax - onehot) / rows into grad. Rows: N, or N T for a sequence.
  template <class T>
  void queue(ConstView<T, Cuda> logits, ConstView<std::int32_t, Cuda> labels, TensorView<T, Cuda> grad) {
    require<ShapeError>(logits.rank() == 2 || logits.rank() == 3,
                        "QueuedCrossEntropy: logits must be (N, C) or (N, T, V), got ", logits.shape());
    const Index classes = logits.dim(logits.rank() - 1);
    const Index rows = logits.numel() / (classes > 0 ? classes : 1);
    require(rows > 0 && classes > 0, "QueuedCrossEntropy: empty logits ", logits.shape());
    require<ShapeError>(labels.numel() == rows && labels.rank() == logits.rank() - 1 &&
                            labels.dim(0) == logits.dim(0),
                        "QueuedCrossEntropy: labels ", labels.shape(), " for logits ", logits.shape());
    require<ShapeError>(grad.empty() || grad.shape() == logits.shape(), "QueuedCrossEntropy: gradient ",
                        grad.shape(), " for logits ", logits.shape());
    const Shape flat{rows, classes};
    const std::size_t scratch_bytes = kernels::softmax_cross_entropy_workspace_bytes(rows);
    const Index words = static_cast<Index>((sizeof(kernels::CrossEntropyTotals) + scratch_bytes + 7) / 8);
    if (buffer_.numel() < words) buffer_ = Tensor<double, Cuda>::uninitialized(Shape{words});
    auto* totals = reinterpret_cast<kernels::CrossEntropyTotals*>(buffer_.data());
    backend::LossOps<Cuda>::softmax_cross_entropy_queued<T>(logits.reshape(flat), labels.reshape(Shape{rows}),
                                                            grad.empty() ? grad : grad.reshape(flat), totals,
                                                            totals + 1);
    rows_ = rows;
    classes_ = classes;
  }
  /// queue() for Tensors and mutable views.
  template <class Logits, class Labels, class Grad>
  void queue(const Logits& logits, const Labels& labels, Grad&& grad) {
    const auto z = const_view(logits);
    using S = typename decltype(z)::value_type;
    queue<S>(z, ConstView<std::int32_t, Cuda>(const_view(labels)), TensorView<S, Cuda>(mutable_view(grad)));
  }

  /// Waits for the queued work and returns the mean loss, the correct count and the row count.
  /// Throws StateError before the first queue(), ArgumentError for a label outside [0, C).
  backend::CrossEntropyResult result() const {
    require<StateError>(rows_ > 0, "QueuedCrossEntropy::result: nothing was queued");
    const auto t = backend::cuda_detail::read_back(reinterpret_cast<const kernels::CrossEntropyTotals*>(buffer_.data()));
    require(t.first_invalid < 0, "QueuedCrossEntropy: the label of sample ", t.first_invalid, " is outside [0, ",
            classes_, ")");
    backend::CrossEntropyResult r;
    r.count = rows_;
    r.correct = static_cast<Index>(t.correct);
    r.loss = t.loss_sum / static_cast<double>(rows_);
    return r;
  }

 private:
  Tensor<double, Cuda> buffer_;  // the totals, then the kernels' scratch (8-byte words)
  Index rows_ = 0, classes_ = 0;
};

}  // namespace netgrow::cuda
