/// \file
/// netgrow/network/flops.hpp: floating-point operation counts of a network, for reporting the training
/// cost of growing networks (the GradMax paper's "training FLOPs relative to Baseline-Big").
///
/// forward_flops counts 2 per multiply-add in Dense, Conv2d and DepthwiseConv2d layers for one forward
/// pass of the given input shape (element-wise layers, pooling and normalisation are ignored: they are
/// a few percent of a convolutional network's cost). A training step costs about 3x that (the
/// backward pass computes input and weight gradients, two products of the forward's size).
#pragma once

#include <cstdint>

#include "netgrow/layers/conv2d.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/depthwise_conv2d.hpp"

namespace netgrow {

template <class Net>
double forward_flops(const Net& net, Shape input);

/// Forward FLOPs of one layer for input shape `in`; composite layers (Stack, residual blocks) add up
/// their parts.
template <class L>
double layer_forward_flops(const L& layer, const Shape& in) {
  const Shape out = layer.output_shape(in);
  if constexpr (std::same_as<typename L::kind_type, Dense>) {
    return 2.0 * static_cast<double>(out[0]) * static_cast<double>(layer.in_features() * layer.out_features());
  } else if constexpr (std::same_as<typename L::kind_type, Conv2d>) {
    return 2.0 * static_cast<double>(out.numel()) * static_cast<double>(layer.in_channels() * layer.kernel() * layer.kernel());
  } else if constexpr (std::same_as<typename L::kind_type, DepthwiseConv2d>) {
    const auto k = layer.kind().kernel;
    return 2.0 * static_cast<double>(out.numel()) * static_cast<double>(k * k);
  } else if constexpr (requires { layer.size(); layer.block(0); }) {  // Stack
    double flops = 0;
    Shape shape = in;
    for (std::size_t i = 0; i < layer.size(); ++i) {
      flops += layer_forward_flops(layer.block(i), shape);
      shape = layer.block(i).output_shape(shape);
    }
    return flops;
  } else if constexpr (requires { layer.branch(); layer.has_projection(); }) {  // residual block
    double flops = forward_flops(layer.branch(), in);  // the pre-activation has no products
    if (layer.has_projection())
      flops += 2.0 * static_cast<double>(out.numel()) * static_cast<double>(layer.in_channels());
    return flops;
  } else {
    return 0.0;  // element-wise, pooling, normalisation
  }
}

/// Forward FLOPs of the whole network `net` (anything with for_each_layer) for input shape `input`.
template <class Net>
double forward_flops(const Net& net, Shape input) {
  double flops = 0;
  Shape shape = input;
  net.for_each_layer([&](auto, const auto& layer) {
    flops += layer_forward_flops(layer, shape);
    shape = layer.output_shape(shape);
  });
  return flops;
}

/// About 3 forward passes: forward, input gradients, weight gradients.
template <class Net>
double training_step_flops(const Net& net, Shape input) {
  return 3.0 * forward_flops(net, input);
}

}  // namespace netgrow
