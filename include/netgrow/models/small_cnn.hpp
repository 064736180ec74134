/// \file
/// netgrow/models/small_cnn.hpp: the small VGG-style CNN for 28x28 inputs (Fashion-MNIST):
///
/// ~~~{.unparsed}
///   Conv3x3(1 -> c1) [BN] Relu1  Conv3x3(c1 -> c2) [BN] Relu1  MaxPool2  Flatten  Dense(c2 12 12 -> fc)
///   Relu1  Dense(fc -> classes)
/// ~~~
///
/// at width multiplier 1: c1 32, c2 64, fc 128 (the "conv32-conv64-pool-fc128-fc10" network of the
/// benchmarks). Convolutions are unpadded (28 -> 26 -> 24 -> pool 12). Sites: "conv1" (conv1 -> conv2),
/// "conv2" (conv2 -> fc1 through the pool and Flatten: fc1 gains 144 inputs per channel), "fc1".
/// With BatchNorms = true a BatchNorm follows each convolution (GradMax then needs the exact BatchNorm
/// Jacobian, the default of grow::data_from_last_backward, or the reference's approximation).
#pragma once

#include <type_traits>

#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/batch_norm.hpp"
#include "netgrow/layers/conv2d.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/flatten.hpp"
#include "netgrow/layers/max_pool2d.hpp"
#include "netgrow/models/growth_site.hpp"
#include "netgrow/models/sequential_builder.hpp"

namespace netgrow::models {

/// SmallCnn's settings.
struct SmallCnnConfig {
  Index in_channels = 1;  ///< input image channels
  Index image = 28;       ///< square input side
  /// The two convolutions' and the hidden Dense layer's widths at width multiplier 1.
  ///@{
  Index c1 = 32, c2 = 64, fc = 128;
  ///@}
  Index classes = 10;             ///< outputs of the classifier
  double width_multiplier = 1.0;  ///< scales c1, c2 and fc (the seed uses e.g. 0.25)
};

/// The small CNN for scalar S on device D (see the file comment); BatchNorms adds a BatchNorm after each
/// convolution.
template <class S, class D, bool BatchNorms = false>
class SmallCnn {
  using ConvGroup = std::conditional_t<BatchNorms, kind_list<Conv2d, BatchNorm, Relu1>, kind_list<Conv2d, Relu1>>;
  static constexpr std::size_t g = BatchNorms ? 3 : 2;  // layers per convolution group

 public:
  /// The network type.
  using Net = sequential_from_t<S, D, concat_t<ConvGroup, ConvGroup, kind_list<MaxPool2d, Flatten, Dense, Relu1, Dense>>>;
  /// Layer indices of the two convolutions and the two Dense layers.
  ///@{
  static constexpr std::size_t conv1 = 0, conv2 = g, fc1 = 2 * g + 2, fc2 = 2 * g + 4;
  ///@}

  /// Builds the network at the configured width multiplier, drawing from `rng`; throws for an image
  /// side that is odd or below 6.
  SmallCnn(const SmallCnnConfig& c, Rng& rng) : net_(make(c, rng)) {}

  Net& net() { return net_; }  ///< the network

  /// Calls f(site) for "conv1", "conv2" and "fc1", in network order.
  template <class F>
  void for_each_site(F&& f) {
    auto a = pair_site<conv1, conv2>(net_, "conv1");
    f(a);
    auto b = pair_site<conv2, fc1>(net_, "conv2");
    f(b);
    auto c = pair_site<fc1, fc2>(net_, "fc1");
    f(c);
  }

 private:
  static auto group(Index in, Index out) {
    const Conv2d conv{.in = in, .out = out, .kernel = 3, .stride = 1, .padding = 0};
    if constexpr (BatchNorms)
      return std::tuple(conv, BatchNorm{.channels = out}, Relu1{});
    else
      return std::tuple(conv, Relu1{});
  }
  static Net make(const SmallCnnConfig& c, Rng& rng) {
    require(c.image >= 6 && (c.image - 4) % 2 == 0, "SmallCnn: image side ", c.image, " must be even and >= 6");
    const Index c1 = scaled_width(c.c1, c.width_multiplier), c2 = scaled_width(c.c2, c.width_multiplier);
    const Index fc = scaled_width(c.fc, c.width_multiplier), side = (c.image - 4) / 2;
    return build_sequential<Net>(
        rng, std::tuple_cat(group(c.in_channels, c1), group(c1, c2),
                            std::tuple(MaxPool2d{}, Flatten{}, Dense{.in = c2 * side * side, .out = fc}, Relu1{},
                                       Dense{.in = fc, .out = c.classes})));
  }
  Net net_;
};

}  // namespace netgrow::models
