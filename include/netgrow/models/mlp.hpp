/// \file
/// netgrow/models/mlp.hpp: a two-hidden-layer perceptron, Dense -> Relu1 -> Dense -> Relu1 -> Dense,
/// whose hidden widths grow (sites "fc1" and "fc2").
#pragma once

#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/models/growth_site.hpp"
#include "netgrow/network/sequential.hpp"

namespace netgrow::models {

/// Mlp's widths.
struct MlpConfig {
  Index in = 784;                 ///< input features
  Index hidden1 = 1024;           ///< at width multiplier 1
  Index hidden2 = 1024;           ///< at width multiplier 1
  Index out = 10;                 ///< output features (classes)
  double width_multiplier = 1.0;  ///< the seed network uses e.g. 0.25
};

/// The MLP for scalar S on device D (see the file comment).
template <class S, class D>
class Mlp {
 public:
  using Net = Sequential<S, D, Dense, Relu1, Dense, Relu1, Dense>;  ///< the network type

  /// Builds the network with hidden widths scaled_width(hidden, width_multiplier), drawing from `rng`.
  Mlp(const MlpConfig& c, Rng& rng) : net_(make(c, rng)) {}

  Net& net() { return net_; }  ///< the network

  /// Calls f(site) for "fc1" (layers 0 -> 2) and "fc2" (layers 2 -> 4).
  template <class F>
  void for_each_site(F&& f) {
    auto fc1 = pair_site<0, 2>(net_, "fc1");
    f(fc1);
    auto fc2 = pair_site<2, 4>(net_, "fc2");
    f(fc2);
  }

 private:
  static Net make(const MlpConfig& c, Rng& rng) {
    const Index h1 = scaled_width(c.hidden1, c.width_multiplier), h2 = scaled_width(c.hidden2, c.width_multiplier);
    return Net(rng, Dense{.in = c.in, .out = h1}, Relu1{}, Dense{.in = h1, .out = h2}, Relu1{},
               Dense{.in = h2, .out = c.out});
  }
  Net net_;
};

}  // namespace netgrow::models
