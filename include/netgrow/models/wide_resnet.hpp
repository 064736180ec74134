/// \file
/// netgrow/models/wide_resnet.hpp: Wide-ResNet-d-k for CIFAR-style inputs (pre-activation basic
/// blocks), as in the GradMax reference:
///
/// ~~~{.unparsed}
///   Conv3x3(in -> 16)  Stack[n](WideBlock 16 k)  Stack[n](WideBlock 32 k, stride 2)
///   Stack[n](WideBlock 64 k, stride 2)  BatchNorm  Relu  GlobalAvgPool  Dense(64 k -> classes)
/// ~~~
///
/// with n = (depth - 4) / 6 blocks per group (4 for WRN-28). Only the inner width of each block grows
/// (the reference's choice): it starts at block_width x the group width (0.25 in the reference, so
/// WRN-28-1 grows 4/8/16 -> 16/32/64) and its target is block_width 1. Sites are named
/// "group<g>.block<b>" in network order (12 for WRN-28). InnerNorm puts a BatchNorm between the two
/// convolutions of each block (WideBlockBN).
#pragma once

#include <string>
#include <type_traits>

#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/batch_norm.hpp"
#include "netgrow/layers/conv2d.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/global_avg_pool.hpp"
#include "netgrow/blocks/wide_block.hpp"
#include "netgrow/models/growth_site.hpp"
#include "netgrow/blocks/stack.hpp"

namespace netgrow::models {

/// WideResNet's settings.
struct WideResNetConfig {
  int depth = 28;                 ///< 6 n + 4: n blocks per group
  double width_multiplier = 1.0;  ///< k: the residual-stream widths are 16 k, 32 k, 64 k
  double block_width = 1.0;       ///< inner width of each block as a fraction of its group's width
  Index in_channels = 3;          ///< input image channels
  Index classes = 10;             ///< outputs of the classifier
};

/// Wide-ResNet for scalar S on device D (see the file comment); InnerNorm puts a BatchNorm inside each
/// block.
template <class S, class D, bool InnerNorm = false>
class WideResNet {
 public:
  using Block = WideBlockKind<InnerNorm>;  ///< the block kind (WideBlock or WideBlockBN)
  /// The network type: stem, three stacks of blocks, head.
  using Net = Sequential<S, D, Conv2d, Stack<Block>, Stack<Block>, Stack<Block>, BatchNorm, Relu, GlobalAvgPool, Dense>;

  /// Builds the network, drawing from `rng`; throws for a depth that is not 6 n + 4 (n >= 1) or
  /// non-positive multipliers.
  WideResNet(const WideResNetConfig& c, Rng& rng) : net_(make(c, rng)) {}

  Net& net() { return net_; }  ///< the network

  /// Calls f(site) for every block's inner width ("group<g>.block<b>"), in network order.
  template <class F>
  void for_each_site(F&& f) {
    visit_group<1>(f);
    visit_group<2>(f);
    visit_group<3>(f);
  }

 private:
  using BlockLayer = WideBlockLayer<InnerNorm, S, D>;

  template <std::size_t G, class F>
  void visit_group(F& f) {
    auto& stack = net_.template layer<G>();
    for (std::size_t b = 0; b < stack.size(); ++b) {
      auto site = pair_site<BlockLayer::producer_index, BlockLayer::consumer_index>(
          stack.block(b).branch(), "group" + std::to_string(G) + ".block" + std::to_string(b));
      f(site);
    }
  }

  static Net make(const WideResNetConfig& c, Rng& rng) {
    require(c.depth >= 10 && (c.depth - 4) % 6 == 0, "WideResNet: depth must be 6 n + 4 (10, 16, 22, 28, 40, ...), got ",
            c.depth);
    require(c.width_multiplier > 0 && c.block_width > 0, "WideResNet: width multipliers must be positive");
    const int n = (c.depth - 4) / 6;
    auto group = [&](Index in, Index width, Index stride) {
      Stack<Block> s;
      const Index inner = scaled_width(width, c.block_width);
      for (int b = 0; b < n; ++b)
        s.blocks.push_back(Block{.in = b == 0 ? in : width, .inner = inner, .out = width, .stride = b == 0 ? stride : 1});
      return s;
    };
    const Index w1 = scaled_width(16, c.width_multiplier), w2 = scaled_width(32, c.width_multiplier),
                w3 = scaled_width(64, c.width_multiplier);
    return Net(rng,
               Conv2d{.in = c.in_channels, .out = 16, .kernel = 3, .stride = 1, .padding = 1, .bias = false,
                      .init = WeightInit::he_normal},
               group(16, w1, 1), group(w1, w2, 2), group(w2, w3, 2), BatchNorm{.channels = w3}, Relu{},
               GlobalAvgPool{}, Dense{.in = w3, .out = c.classes});
  }
  Net net_;
};

}  // namespace netgrow::models
