/// \file
/// netgrow/backend/cpu/loss.hpp: loss values and their gradients on Cpu tensors. Sums are taken in
/// double so the loss of a large batch in float keeps its precision.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "netgrow/backend/cpu/blas.hpp"

namespace netgrow::ops {

/// Returns mean((pred - target)^2) over all elements; writes grad = 2 (pred - target) / numel unless
/// grad is empty.
template <class T>
double mse(In<T> pred, In<T> target, TensorView<T, Cpu> grad) {
  require<ShapeError>(pred.shape() == target.shape(), "MseLoss: prediction ", pred.shape(), " vs target ",
                      target.shape());
  require<ShapeError>(grad.empty() || grad.shape() == pred.shape(), "MseLoss: gradient ", grad.shape(),
                      " for prediction ", pred.shape());
  const Index n = pred.numel();
  require(n > 0, "MseLoss: empty prediction");
  const T* p = pred.data();
  const T* t = target.data();
  double sum = 0;
  for (Index i = 0; i < n; ++i) {
    const double d = static_cast<double>(p[i]) - static_cast<double>(t[i]);
    sum += d * d;
  }
  if (!grad.empty()) {
    const T scale = T(2.0 / static_cast<double>(n));
    T* g = grad.data();
    for (Index i = 0; i < n; ++i) g[i] = scale * (p[i] - t[i]);
  }
  return sum / static_cast<double>(n);
}

/// The value and the arg-max hits of a softmax cross-entropy over one batch.
struct CrossEntropyResult {
  double loss = 0;    ///< mean over the batch
  Index correct = 0;  ///< samples whose arg-max logit is the label
  Index count = 0;    ///< batch size
  /// correct / count (0 for an empty batch).
  double accuracy() const { return count ? static_cast<double>(correct) / static_cast<double>(count) : 0.0; }
};

/// Softmax cross-entropy of logits (N, C) against integer labels (N) in [0, C), mean over the batch,
/// computed with the log-sum-exp shift; writes grad = (softmax - onehot) / N unless grad is empty.
template <class T>
CrossEntropyResult softmax_cross_entropy(In<T> logits, ConstView<std::int32_t, Cpu> labels, TensorView<T, Cpu> grad) {
  require<ShapeError>(logits.rank() == 2, "SoftmaxCrossEntropy: logits must be (N, classes), got ", logits.shape());
  const Index n = logits.dim(0), c = logits.dim(1);
  require<ShapeError>(labels.numel() == n, "SoftmaxCrossEntropy: ", labels.numel(), " labels for ", n, " samples");
  require<ShapeError>(grad.empty() || grad.shape() == logits.shape(), "SoftmaxCrossEntropy: gradient ",
                      grad.shape(), " for logits ", logits.shape());
  require(n > 0 && c > 0, "SoftmaxCrossEntropy: empty logits ", logits.shape());
  CrossEntropyResult r;
  r.count = n;
  double total = 0;
  for (Index i = 0; i < n; ++i) {
    const std::int32_t label = labels[i];
    require(label >= 0 && label < c, "SoftmaxCrossEntropy: label ", label, " of sample ", i, " outside [0, ", c, ")");
    const T* z = logits.data() + i * c;
    Index arg = 0;
    T zmax = z[0];
    for (Index j = 1; j < c; ++j)
      if (z[j] > zmax) zmax = z[j], arg = j;
    double sum = 0;
    for (Index j = 0; j < c; ++j) sum += std::exp(static_cast<double>(z[j] - zmax));
    total += std::log(sum) - static_cast<double>(z[label] - zmax);
    r.correct += arg == label;
    if (!grad.empty()) {
      T* g = grad.data() + i * c;
      const double inv = 1.0 / (sum * static_cast<double>(n));
      for (Index j = 0; j < c; ++j) g[j] = static_cast<T>(std::exp(static_cast<double>(z[j] - zmax)) * inv);
      g[label] -= T(1.0 / static_cast<double>(n));
    }
  }
  r.loss = total / static_cast<double>(n);
  return r;
}

}  // namespace netgrow::ops
