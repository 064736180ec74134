/// \file
/// netgrow/prune/flops.hpp: FLOP counts of a sparse network, for comparing sparse training with dense
/// training at equal cost: every weight layer's forward count (network/flops.hpp) times its weight's
/// density. These are the FLOPs a sparse kernel would need; netgrow's kernels are dense, so the
/// wall-clock time of a masked step is that of the dense one (BENCHMARKS.md measures the mask's cost).
#pragma once

#include "netgrow/core/shape.hpp"
#include "netgrow/prune/mask.hpp"

namespace netgrow::prune {

/// Forward FLOPs of `net` on input shape `input`, each layer with a weight() counted at its density.
template <class Net>
double sparse_forward_flops(Net& net, Shape input) {
  double flops = 0;
  Shape shape = input;
  net.for_each_layer([&](auto, auto& layer) {
    double d = 1.0;
    if constexpr (requires { layer.weight(); }) d = density(layer.weight());
    flops += d * layer.forward_flops(shape);
    shape = layer.output_shape(shape);
  });
  return flops;
}

/// About 3 sparse forward passes (forward, input gradients, weight gradients).
template <class Net>
double sparse_training_step_flops(Net& net, Shape input) {
  return 3.0 * sparse_forward_flops(net, input);
}

}  // namespace netgrow::prune
