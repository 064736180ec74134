/// \file
/// netgrow/ops/loss.hpp: loss values and their gradients on any device. Sums are taken in double, so
/// the loss of a large batch in float keeps its precision; gradients are in the prediction's precision.
/// The loss comes back to the host (on a device each call waits for it). Back ends:
/// backend/cpu/loss.hpp, backend/cuda/loss.hpp.
#pragma once

#include <cstdint>

#include "netgrow/backend/cpu/loss.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow::ops {

/// Returns mean((pred - target)^2) over all elements; writes grad = 2 (pred - target) / numel unless
/// grad is empty.
template <class T, WritableAs<T> Out, class D = device_of<Out>>
double mse(In<T, D> pred, In<T, D> target, Out&& grad_out) {
  const TensorView<T, D> grad = grad_out;
  require<ShapeError>(pred.shape() == target.shape(), "MseLoss: prediction ", pred.shape(), " vs target ",
                      target.shape());
  require<ShapeError>(grad.empty() || grad.shape() == pred.shape(), "MseLoss: gradient ", grad.shape(),
                      " for prediction ", pred.shape());
  require(pred.numel() > 0, "MseLoss: empty prediction");
  return backend::LossOps<D>::template mse_sum<T>(pred, target, grad) / static_cast<double>(pred.numel());
}

/// Returns the mean binary cross-entropy of sigmoid(logits) against targets in [0, 1] (same shape, any
/// rank), computed without overflow as max(z, 0) - z t + log(1 + exp(-|z|)); writes
/// grad = (sigmoid(z) - t) / numel unless grad is empty (PyTorch's BCEWithLogitsLoss, mean reduction).
template <class T, WritableAs<T> Out, class D = device_of<Out>>
double bce_with_logits(In<T, D> logits, In<T, D> targets, Out&& grad_out) {
  const TensorView<T, D> grad = grad_out;
  require<ShapeError>(logits.shape() == targets.shape(), "BceWithLogits: logits ", logits.shape(), " vs targets ",
                      targets.shape());
  require<ShapeError>(grad.empty() || grad.shape() == logits.shape(), "BceWithLogits: gradient ", grad.shape(),
                      " for logits ", logits.shape());
  require(logits.numel() > 0, "BceWithLogits: empty logits");
  const double n = static_cast<double>(logits.numel());
  return backend::LossOps<D>::template bce_with_logits_sum<T>(logits, targets, grad, static_cast<T>(1.0 / n)) / n;
}

/// The value and the arg-max hits of a softmax cross-entropy over one batch (backend/cpu/loss.hpp).
using CrossEntropyResult = backend::CrossEntropyResult;

/// Softmax cross-entropy of logits (N, C) against integer labels (N) in [0, C), mean over the batch,
/// computed with the log-sum-exp shift; writes grad = (softmax - onehot) / N unless grad is empty.
/// The labels may live on the host for device logits (they are copied over). A label outside [0, C)
/// throws ArgumentError naming the first such sample (grad is then unspecified).
template <class T, ReadableAs<std::int32_t> Labels, WritableAs<T> Out, class D = device_of<Out>>
CrossEntropyResult softmax_cross_entropy(In<T, D> logits, const Labels& label_values, Out&& grad_out) {
  const ConstView<std::int32_t, device_of<Labels>> labels = label_values;
  const TensorView<T, D> grad = grad_out;
  require<ShapeError>(logits.rank() == 2, "SoftmaxCrossEntropy: logits must be (N, classes), got ", logits.shape());
  const Index n = logits.dim(0), c = logits.dim(1);
  require<ShapeError>(labels.numel() == n, "SoftmaxCrossEntropy: ", labels.numel(), " labels for ", n, " samples");
  require<ShapeError>(grad.empty() || grad.shape() == logits.shape(), "SoftmaxCrossEntropy: gradient ",
                      grad.shape(), " for logits ", logits.shape());
  require(n > 0 && c > 0, "SoftmaxCrossEntropy: empty logits ", logits.shape());
  const backend::CrossEntropySums s = backend::LossOps<D>::template softmax_cross_entropy<T>(logits, labels, grad);
  if (s.first_invalid >= 0)
    require(false, "SoftmaxCrossEntropy: label ", s.invalid_label, " of sample ", s.first_invalid, " outside [0, ", c,
            ")");
  CrossEntropyResult r;
  r.count = n;
  r.correct = s.correct;
  r.loss = s.loss_sum / static_cast<double>(n);
  return r;
}

}  // namespace netgrow::ops
