// netgrow/network/flops.hpp: floating-point operation counts of a network, for reporting the training
// cost of growing networks (the GradMax paper's "training FLOPs relative to Baseline-Big").
//
// forward_flops counts 2 per multiply-add in Dense, Conv2d and DepthwiseConv2d layers for one forward
// pass of the given input shape (element-wise layers, pooling and normalisation are ignored: they are
// a few percent of a convolutional network's cost). A training step costs about 3x that (the
// backward pass computes input and weight gradients, two products of the forward's size).
#pragma once

#include <cstdint>

#include "netgrow/layers/conv2d.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/depthwise_conv2d.hpp"

namespace netgrow {

template <class Net>
double forward_flops(const Net& net, Shape input) {
  double flops = 0;
  Shape shape = input;
  net.for_each_layer([&](auto, const auto& layer) {
    using L = std::remove_cvref_t<decltype(layer)>;
    const Shape out = layer.output_shape(shape);
    if constexpr (std::same_as<typename L::kind_type, Dense>) {
      flops += 2.0 * static_cast<double>(out[0]) * static_cast<double>(layer.in_features() * layer.out_features());
    } else if constexpr (std::same_as<typename L::kind_type, Conv2d>) {
      flops += 2.0 * static_cast<double>(out.numel()) * static_cast<double>(layer.in_channels() * layer.kernel() * layer.kernel());
    } else if constexpr (std::same_as<typename L::kind_type, DepthwiseConv2d>) {
      const auto k = layer.kind().kernel;
      flops += 2.0 * static_cast<double>(out.numel()) * static_cast<double>(k * k);
    }
    shape = out;
  });
  return flops;
}

// About 3 forward passes: forward, input gradients, weight gradients.
template <class Net>
double training_step_flops(const Net& net, Shape input) {
  return 3.0 * forward_flops(net, input);
}

}  // namespace netgrow
