// examples/common/evaluate.hpp: test loss and accuracy of a classifier on Fashion-MNIST-shaped images,
// shared by the examples that train on them.
#pragma once

#include <algorithm>

#include "netgrow/data/fashion_mnist.hpp"
#include "netgrow/layers/layer.hpp"
#include "netgrow/network/loss.hpp"

namespace examples {

// Mean softmax cross-entropy and correct count of `net` on `data` in evaluation mode, 500 images at a
// time. features > 0 feeds each image as one row of that many features (an MLP on the flattened pixels).
template <class Net>
netgrow::ops::CrossEntropyResult evaluate(Net& net, const netgrow::LabeledImages& data, netgrow::Index features = 0) {
  using namespace netgrow;
  ops::CrossEntropyResult total;
  double loss_sum = 0;
  Tensor<float> x;
  Tensor<std::int32_t> y;
  for (Index begin = 0; begin < data.size(); begin += 500) {
    const Index count = std::min<Index>(500, data.size() - begin);
    x.copy_from(data.images.cview().rows(begin, count));
    if (features > 0) x.reshape_within_capacity(Shape{count, features});
    y.copy_from(data.labels.cview().rows(begin, count));
    const auto r = SoftmaxCrossEntropy{}.value(net.forward(x, Mode::eval), y);
    loss_sum += r.loss * static_cast<double>(count);
    total.correct += r.correct;
    total.count += count;
  }
  total.loss = loss_sum / static_cast<double>(total.count);
  return total;
}

}  // namespace examples
