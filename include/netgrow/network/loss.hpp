/// \file
/// netgrow/network/loss.hpp: losses. Each returns the loss of a batch and writes its gradient with
/// respect to the network output into a caller-owned tensor, ready for Sequential::backward().
#pragma once

#include <cstdint>

#include "netgrow/core/tensor.hpp"

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

/// Binary cross-entropy on logits, mean over all elements (PyTorch's BCEWithLogitsLoss): a GAN's
/// discriminator loss. logits and targets (values in [0, 1]) of one shape; grad = (sigmoid(z) - t) / numel.
struct BceWithLogits {
  /// The loss; writes its gradient into grad (same shape as logits).
  template <class Logits, class Targets, class Grad>
  double operator()(const Logits& logits, const Targets& targets, Grad&& grad) const {
    const auto z = const_view(logits);
    using S = typename decltype(z)::value_type;
    return ops::bce_with_logits<S>(z, const_view(targets), mutable_view(grad));
  }
  /// The loss alone, without a gradient.
  template <class Logits, class Targets>
  double value(const Logits& logits, const Targets& targets) const {
    const auto z = const_view(logits);
    using S = typename decltype(z)::value_type;
    return ops::bce_with_logits<S>(z, const_view(targets), TensorView<S, typename decltype(z)::device_type>());
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

/// Next-token cross-entropy of a sequence model: logits (N, T, V) against targets (N, T) in [0, V), the
/// mean over all N T positions (so a position counts the same whatever the batch shape). bits() is that
/// loss in bits per token (per character for a character model): loss / ln 2.
struct SequenceCrossEntropy {
  /// The loss, the correct next-token predictions and their count, and the loss in bits.
  struct Result : ops::CrossEntropyResult {
    double bits() const { return loss / 0.69314718055994530942; }  ///< loss / ln 2
  };
  /// logits (N, T, V); targets (N, T) of std::int32_t; grad (N, T, V): (softmax - onehot) / (N T).
  template <class Logits, class Targets, class Grad>
  Result operator()(const Logits& logits, const Targets& targets, Grad&& grad) const {
    const auto z = const_view(logits);
    using S = typename decltype(z)::value_type;
    const auto y = const_view(targets);
    const auto g = mutable_view(grad);
    require<ShapeError>(z.rank() == 3, "SequenceCrossEntropy: logits must be (N, T, V), got ", z.shape());
    require<ShapeError>(y.shape() == Shape{z.dim(0), z.dim(1)}, "SequenceCrossEntropy: targets ", y.shape(),
                        " for logits ", z.shape());
    const Index rows = z.dim(0) * z.dim(1), v = z.dim(2);
    require<ShapeError>(g.empty() || g.shape() == z.shape(), "SequenceCrossEntropy: gradient ", g.shape(),
                        " for logits ", z.shape());
    return Result{ops::softmax_cross_entropy<S>(z.reshape(Shape{rows, v}), y.reshape(Shape{rows}),
                                                g.empty() ? g : g.reshape(Shape{rows, v}))};
  }
  /// The loss alone, without a gradient.
  template <class Logits, class Targets>
  Result value(const Logits& logits, const Targets& targets) const {
    const auto z = const_view(logits);
    using S = typename decltype(z)::value_type;
    return (*this)(logits, targets, TensorView<S, typename decltype(z)::device_type>());
  }
};

}  // namespace netgrow
