/// \file
/// netgrow/network/flops.hpp: floating-point operation counts of a network, for reporting the training
/// cost of growing networks (the GradMax paper's "training FLOPs relative to Baseline-Big").
///
/// Every layer declares its own count (forward_flops(in), layers/layer.hpp): 2 per multiply-add of one
/// forward pass of the given input shape; element-wise layers, pooling and normalisation count 0 (they
/// are a few percent of a convolutional network's cost). A training step costs about 3x that (the
/// backward pass computes input and weight gradients, two products of the forward's size).
#pragma once

#include "netgrow/core/shape.hpp"

namespace netgrow {

/// Forward FLOPs of one layer for input shape `in` (the layer's own count).
template <class L>
double layer_forward_flops(const L& layer, const Shape& in) {
  return layer.forward_flops(in);
}

/// Forward FLOPs of the whole network `net` (anything with for_each_layer) for input shape `input`, each
/// layer's count times factor(layer) (prune/flops.hpp weights layers by their density).
template <class Net, class Factor>
double forward_flops(const Net& net, Shape input, Factor&& factor) {
  double flops = 0;
  Shape shape = input;
  net.for_each_layer([&](auto, const auto& layer) {
    flops += factor(layer) * layer.forward_flops(shape);
    shape = layer.output_shape(shape);
  });
  return flops;
}

/// Forward FLOPs of the whole network `net` (anything with for_each_layer) for input shape `input`.
template <class Net>
double forward_flops(const Net& net, Shape input) {
  return forward_flops(net, input, [](const auto&) { return 1.0; });
}

/// About 3 forward passes: forward, input gradients, weight gradients.
template <class Net>
double training_step_flops(const Net& net, Shape input) {
  return 3.0 * forward_flops(net, input);
}

}  // namespace netgrow
