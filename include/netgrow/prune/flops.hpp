/// \file
/// netgrow/prune/flops.hpp: FLOP counts of a sparse network, for comparing sparse training with dense
/// training at equal cost: every weight layer's forward count (network/flops.hpp) times its weight's
/// density. These are the FLOPs a sparse kernel would need; netgrow's kernels are dense, so the
/// wall-clock time of a masked step is that of the dense one (BENCHMARKS.md measures the mask's cost).
#pragma once

#include "netgrow/core/shape.hpp"
#include "netgrow/network/flops.hpp"
#include "netgrow/prune/mask.hpp"

namespace netgrow::prune {

/// Forward FLOPs of `net` on input shape `input`, each layer with a weight() counted at its density.
template <class Net>
double sparse_forward_flops(const Net& net, Shape input) {
  return forward_flops(net, input, [](const auto& layer) {
    if constexpr (requires { layer.weight(); }) return density(layer.weight());
    else return 1.0;
  });
}

/// About 3 sparse forward passes (forward, input gradients, weight gradients).
template <class Net>
double sparse_training_step_flops(const Net& net, Shape input) {
  return 3.0 * sparse_forward_flops(net, input);
}

}  // namespace netgrow::prune
