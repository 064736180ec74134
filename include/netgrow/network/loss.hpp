/// \file
/// netgrow/network/loss.hpp: losses. Each returns the loss of a batch and writes its gradient with
/// respect to the network output into a caller-owned tensor, ready for Sequential::backward().
#pragma once

#include <cstdint>

#include "netgrow/ops/loss.hpp"

namespace netgrow {

/// Mean squared error over all N x F elements (PyTorch's MSELoss, Keras' MeanSquaredError): the
/// GradMax paper's teacher-student loss. grad = 2 (pred - target) / (N F).
struct MseLoss {
  /// pred, target: Tensor or view of shape (N, F); grad: Tensor or mutable view of the same shape.
  template <class Pred, class Target, class Grad>
  double operator()(const Pred& pred, const Target& target, Grad&& grad) const {
    const auto p = const_view(pred);
    using S = typename decltype(p)::value_type;
    return ops::mse<S>(p, const_view(target), mutable_view(grad));
  }
  /// The loss alone, without a gradient.
  template <class Pred, class Target>
  double value(const Pred& pred, const Target& target) const {
    const auto p = const_view(pred);
    using S = typename decltype(p)::value_type;
    return ops::mse<S>(p, const_view(target), TensorView<S, typename decltype(p)::device_type>());
  }
};

/// Softmax cross-entropy with integer labels, mean over the batch; also counts correct predictions.
struct SoftmaxCrossEntropy {
  /// logits (N, C); labels (N) of std::int32_t in [0, C); grad (N, C).
  template <class Logits, class Labels, class Grad>
  ops::CrossEntropyResult operator()(const Logits& logits, const Labels& labels, Grad&& grad) const {
    const auto z = const_view(logits);
    using S = typename decltype(z)::value_type;
    return ops::softmax_cross_entropy<S>(z, const_view(labels), mutable_view(grad));
  }
  /// The loss and the correct count alone, without a gradient.
  template <class Logits, class Labels>
  ops::CrossEntropyResult value(const Logits& logits, const Labels& labels) const {
    const auto z = const_view(logits);
    using S = typename decltype(z)::value_type;
    return ops::softmax_cross_entropy<S>(z, const_view(labels), TensorView<S, typename decltype(z)::device_type>());
  }
};

}  // namespace netgrow
