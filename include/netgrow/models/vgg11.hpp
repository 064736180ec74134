/// \file
/// netgrow/models/vgg11.hpp: VGG-11 as the GradMax reference builds it for CIFAR (the Firefly paper's
/// variant): no max-pooling and no fully connected layers.
///
/// ~~~{.unparsed}
///   8 x [Conv3x3(w_i, stride s_i) Relu1 [BatchNorm]]  Conv3x3(classes, stride 2)  Flatten
/// ~~~
///
/// widths w = base x (1, 2, 4, 4, 8, 8, 8, 8) with base = int(64 x width_multiplier); stride 2 on the
/// first convolution of every group after the first (convs 2, 3, 5, 7), so 32x32 inputs go
/// 32, 16, 8, 8, 4, 4, 2, 2 -> 1 and the classifier's output is (N, classes). Sites are the 8
/// consecutive convolution pairs "conv<i>" (the classifier only gains inputs). The reference's
/// VGG runs use no BatchNorm (BatchNorms = false).
#pragma once

#include <array>
#include <type_traits>

#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/batch_norm.hpp"
#include "netgrow/layers/conv2d.hpp"
#include "netgrow/layers/flatten.hpp"
#include "netgrow/models/growth_site.hpp"
#include "netgrow/models/sequential_builder.hpp"

namespace netgrow::models {

/// Vgg11's settings.
struct Vgg11Config {
  double width_multiplier = 1.0;  ///< scales the base width 64 (the seed uses e.g. 0.25)
  Index in_channels = 3;          ///< input image channels
  Index classes = 10;             ///< outputs of the classifier
};

/// VGG-11 for scalar S on device D (see the file comment); BatchNorms adds a BatchNorm after each
/// convolution group's activation.
template <class S, class D, bool BatchNorms = false>
class Vgg11 {
  using ConvGroup = std::conditional_t<BatchNorms, kind_list<Conv2d, Relu1, BatchNorm>, kind_list<Conv2d, Relu1>>;
  static constexpr std::size_t g = BatchNorms ? 3 : 2;

 public:
  /// The network type: 8 convolution groups, the classifier convolution and Flatten.
  using Net = sequential_from_t<S, D, concat_t<repeat_t<8, ConvGroup>, kind_list<Conv2d, Flatten>>>;
  static constexpr std::array<Index, 8> multipliers{1, 2, 4, 4, 8, 8, 8, 8};  ///< widths in units of base
  static constexpr std::array<Index, 8> strides{1, 2, 2, 1, 2, 1, 2, 1};      ///< stride of each convolution

  /// Builds the network at the configured width multiplier, drawing from `rng`.
  Vgg11(const Vgg11Config& c, Rng& rng) : net_(make(c, rng)) {}

  Net& net() { return net_; }  ///< the network

  /// Calls f(site) for "conv1", ..., "conv8", in network order.
  template <class F>
  void for_each_site(F&& f) {
    [&]<std::size_t... Is>(std::index_sequence<Is...>) {
      (visit<Is>(f), ...);
    }(std::make_index_sequence<8>{});
  }

 private:
  template <std::size_t I, class F>
  void visit(F& f) {
    auto site = pair_site<I * g, (I + 1) * g>(net_, "conv" + std::to_string(I + 1));
    f(site);
  }
  static auto group(Index in, Index out, Index stride) {
    const Conv2d conv{.in = in, .out = out, .kernel = 3, .stride = stride, .padding = 1, .bias = false,
                      .init = WeightInit::he_normal};
    if constexpr (BatchNorms)
      return std::tuple(conv, Relu1{}, BatchNorm{.channels = out});
    else
      return std::tuple(conv, Relu1{});
  }
  static Net make(const Vgg11Config& c, Rng& rng) {
    const Index base = scaled_width(64, c.width_multiplier);
    std::array<Index, 9> w{};
    w[0] = c.in_channels;
    for (std::size_t i = 0; i < 8; ++i) w[i + 1] = base * multipliers[i];
    auto groups = [&]<std::size_t... Is>(std::index_sequence<Is...>) {
      return std::tuple_cat(group(w[Is], w[Is + 1], strides[Is])...);
    }(std::make_index_sequence<8>{});
    return build_sequential<Net>(
        rng, std::tuple_cat(groups, std::tuple(Conv2d{.in = w[8], .out = c.classes, .kernel = 3, .stride = 2,
                                                      .padding = 1, .bias = true, .init = WeightInit::he_normal},
                                               Flatten{})));
  }
  Net net_;
};

}  // namespace netgrow::models
