/// \file
/// netgrow/models/mobilenet_v1.hpp: MobileNet-v1 with a width multiplier, as the GradMax reference
/// builds it:
///
/// ~~~{.unparsed}
///   Conv3x3(in -> 32 wm, stride 2) BatchNorm Relu1
///   13 x [DepthwiseConv3x3 Relu1 [BatchNorm] Conv1x1(-> p_i, stride s_i) Relu1 BatchNorm]
///   GlobalAvgPool Dense(1024 -> classes)
/// ~~~
///
/// pointwise widths p = int(64 wm) x (1, 2, 2, 4, 4, 8, 8, 8, 8, 8, 8, 16) and a last one fixed at 1024
/// (the reference does not grow it); stride 2 on pointwise convolutions 2, 4, 6 and 12 (the reference
/// puts strides on the pointwise, not the depthwise, convolutions). Sites: "conv0" (conv0 -> pw1 through
/// BN, the depthwise conv and its activation) and "pw<i>" (pw_i -> pw_{i+1}) for i = 1..12: 13 sites,
/// each with a depthwise convolution between the pair (grown by identity: centre tap 1).
/// DwNorm puts a BatchNorm after each depthwise convolution's activation.
#pragma once

#include <array>
#include <type_traits>

#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/batch_norm.hpp"
#include "netgrow/layers/conv2d.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/depthwise_conv2d.hpp"
#include "netgrow/layers/global_avg_pool.hpp"
#include "netgrow/models/growth_site.hpp"
#include "netgrow/models/sequential_builder.hpp"

namespace netgrow::models {

/// MobileNetV1's settings.
struct MobileNetV1Config {
  double width_multiplier = 1.0;  ///< wm: scales the stem and pointwise widths (the seed uses e.g. 0.25)
  Index in_channels = 3;          ///< input image channels
  Index classes = 1000;           ///< outputs of the classifier
  Index last_width = 1024;        ///< the last pointwise convolution, not grown
};

/// MobileNet-v1 for scalar S on device D (see the file comment); DwNorm adds a BatchNorm after each
/// depthwise convolution's activation.
template <class S, class D, bool DwNorm = false>
class MobileNetV1 {
  using DwGroup = std::conditional_t<DwNorm, kind_list<DepthwiseConv2d, Relu1, BatchNorm>, kind_list<DepthwiseConv2d, Relu1>>;
  using Block = concat_t<DwGroup, kind_list<Conv2d, Relu1, BatchNorm>>;
  static constexpr std::size_t block_size = DwNorm ? 6 : 5;
  static constexpr std::size_t stem_size = 3;
  static constexpr std::size_t pw_offset = DwNorm ? 3 : 2;  // position of the pointwise conv in a block

 public:
  /// The network type: stem, 13 blocks, classifier.
  using Net = sequential_from_t<S, D, concat_t<kind_list<Conv2d, BatchNorm, Relu1>, repeat_t<13, Block>,
                                               kind_list<GlobalAvgPool, Dense>>>;
  /// Widths of pointwise convolutions 1..12 in units of int(64 wm).
  static constexpr std::array<Index, 12> multipliers{1, 2, 2, 4, 4, 8, 8, 8, 8, 8, 8, 16};
  /// Strides of pointwise convolutions 1..13.
  static constexpr std::array<Index, 13> strides{1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1};

  /// Layer index of pointwise convolution i (1-based, as in "pw<i>"); pointwise(0) is the stem conv.
  static constexpr std::size_t pointwise(std::size_t i) {
    return i == 0 ? 0 : stem_size + (i - 1) * block_size + pw_offset;
  }

  /// Builds the network at the configured width multiplier, drawing from `rng`.
  MobileNetV1(const MobileNetV1Config& c, Rng& rng) : net_(make(c, rng)) {}

  Net& net() { return net_; }  ///< the network

  /// Calls f(site) for "conv0", "pw1", ..., "pw12", in network order.
  template <class F>
  void for_each_site(F&& f) {
    [&]<std::size_t... Is>(std::index_sequence<Is...>) {
      (visit<Is>(f), ...);
    }(std::make_index_sequence<13>{});
  }

 private:
  template <std::size_t I, class F>
  void visit(F& f) {
    auto site = pair_site<pointwise(I), pointwise(I + 1)>(net_, I == 0 ? std::string("conv0") : "pw" + std::to_string(I));
    f(site);
  }
  static auto block(Index in, Index out, Index stride) {
    const DepthwiseConv2d dw{.channels = in, .kernel = 3, .stride = 1, .padding = 1, .bias = false};
    const Conv2d pw{.in = in, .out = out, .kernel = 1, .stride = stride, .padding = 0, .bias = false,
                    .init = WeightInit::he_normal};
    if constexpr (DwNorm)
      return std::tuple(dw, Relu1{}, BatchNorm{.channels = in}, pw, Relu1{}, BatchNorm{.channels = out});
    else
      return std::tuple(dw, Relu1{}, pw, Relu1{}, BatchNorm{.channels = out});
  }
  static Net make(const MobileNetV1Config& c, Rng& rng) {
    const Index base = scaled_width(64, c.width_multiplier);
    std::array<Index, 14> w{};
    w[0] = scaled_width(32, c.width_multiplier);
    for (std::size_t i = 0; i < 12; ++i) w[i + 1] = base * multipliers[i];
    w[13] = c.last_width;
    auto blocks = [&]<std::size_t... Is>(std::index_sequence<Is...>) {
      return std::tuple_cat(block(w[Is], w[Is + 1], strides[Is])...);
    }(std::make_index_sequence<13>{});
    const Conv2d stem{.in = c.in_channels, .out = w[0], .kernel = 3, .stride = 2, .padding = 1, .bias = false,
                      .init = WeightInit::he_normal};
    return build_sequential<Net>(rng, std::tuple_cat(std::tuple(stem, BatchNorm{.channels = w[0]}, Relu1{}), blocks,
                                                      std::tuple(GlobalAvgPool{}, Dense{.in = w[13], .out = c.classes})));
  }
  Net net_;
};

}  // namespace netgrow::models
