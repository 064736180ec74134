/// \file
/// netgrow/grow/split.hpp: Net2Net's function-preserving widening (Chen, Goodfellow & Shlens 2016).
///
/// Each new neuron copies an existing one: same incoming weights and bias, and the outgoing weights of
/// the original are shared among its copies: a neuron duplicated c - 1 times has its outgoing weights
/// divided by c, for the original and every copy. That keeps the network's function exactly, for any
/// activation. Neurons to copy are drawn without replacement (a random permutation of the existing
/// ones, restarted when k exceeds the width). `noise` adds N(0, (noise * ||w|| / sqrt(fan_in))^2)
/// to each copied incoming weight w to break the symmetry between copies (function kept only
/// approximately then). Layers between the pair copy the duplicated channels too (BatchNorm's gamma,
/// beta and statistics, a depthwise filter), so the function is kept through them as well. This
/// changes the existing neurons' outgoing weights; their optimizer state is kept as it is.
#pragma once

#include <cmath>
#include <numeric>
#include <vector>

#include "netgrow/grow/initializer.hpp"

namespace netgrow::grow {

/// Net2Net's split: new neurons copy randomly chosen existing ones, sharing their outgoing weights
/// (see the file comment). Written for the Cpu; device networks run it through the host
/// (grow/initializer.hpp, host_staged_growth).
struct Split {
  /// Initializer traits (grow/initializer.hpp): needs f(0) = 0, needs f'(0) != 0, reads GrowthData, copies
  /// existing neurons.
  ///@{
  static constexpr bool needs_zero_at_zero = false;
  static constexpr bool needs_nonzero_slope = false;
  static constexpr bool needs_data = false;
  static constexpr bool copies_neurons = true;
  ///@}

  double noise = 0.0;  ///< noise on copied incoming weights, relative to their norm (0: exact copies)

  /// k copies of existing neurons of `pair` (duplicate_of and existing_outgoing_scale set); throws for
  /// a negative or non-finite noise.
  template <class S>
  NewNeurons<S> initialize(const PairView<S>& pair, Index k, const GrowthData<S>&, Rng& rng) const {
    require(noise >= 0 && std::isfinite(noise), "Split: noise must be finite and non-negative, got ", noise);
    const Index width = pair.width();
    std::vector<Index> source(static_cast<std::size_t>(k));
    std::vector<Index> order(static_cast<std::size_t>(width));
    for (Index i = 0; i < k; ++i) {
      if (i % width == 0) {  // a fresh random permutation of the existing neurons
        std::iota(order.begin(), order.end(), Index{0});
        for (std::size_t j = order.size() - 1; j > 0; --j)
          std::swap(order[j], order[static_cast<std::size_t>(rng.uniform_int(j + 1))]);
      }
      source[static_cast<std::size_t>(i)] = order[static_cast<std::size_t>(i % width)];
    }
    std::vector<Index> copies(static_cast<std::size_t>(width), 1);
    for (Index s : source) ++copies[static_cast<std::size_t>(s)];

    NewNeurons<S> n;
    n.incoming = Tensor<S, Cpu>(Shape{k, pair.fan_in()});
    n.outgoing = Tensor<S, Cpu>(Shape{k, pair.fan_out()});
    if (!pair.bias.empty()) n.bias = Tensor<S, Cpu>(Shape{k});
    const auto in = matrix(pair.incoming);
    const Tensor<S, Cpu> outgoing = pair.outgoing();
    const auto out = matrix(outgoing);
    auto new_in = matrix(n.incoming);
    auto new_out = matrix(n.outgoing);
    for (Index i = 0; i < k; ++i) {
      const Index s = source[static_cast<std::size_t>(i)];
      new_in.row(i) = in.row(s);
      if (noise > 0) {
        const double sd = noise * static_cast<double>(in.row(s).norm()) / std::sqrt(static_cast<double>(pair.fan_in()));
        for (Index j = 0; j < pair.fan_in(); ++j) new_in(i, j) += static_cast<S>(sd * rng.normal());
      }
      new_out.row(i) = out.row(s) / static_cast<S>(copies[static_cast<std::size_t>(s)]);
      if (!pair.bias.empty()) n.bias[i] = pair.bias[s];
    }
    n.duplicate_of = source;
    n.existing_outgoing_scale = Tensor<S, Cpu>(Shape{width});
    for (Index j = 0; j < width; ++j)
      n.existing_outgoing_scale[j] = S(1) / static_cast<S>(copies[static_cast<std::size_t>(j)]);
    return n;
  }
};

}  // namespace netgrow::grow
