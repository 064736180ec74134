// examples/custom_layer/channel_scale.hpp: a layer kind defined outside netgrow, which the library never
// names: a learnable scale per channel, y[n, c, ...] = s[c] x[n, c, ...], s starting at 1.
//
// Everything netgrow needs to know about it is declared here, next to the definition
// (netgrow/layers/layer.hpp lists the members): its configuration fields (checkpoints record it), its
// FLOPs, and how a new channel passes through it when it sits between a grown pair (identity growth:
// new channels get s = 1, so a new channel's values pass unchanged). With that it trains in a
// Sequential, sits between a GradMax pair, grows by identity with the network's function kept, counts
// its FLOPs and round-trips through a checkpoint. tests/examples/test_custom_layer.cpp checks all of it.
#pragma once

#include <netgrow/core/fields.hpp>
#include <netgrow/layers/channel_route.hpp>
#include <netgrow/layers/layer.hpp>
#include <netgrow/layers/parameter_growth.hpp>

#include <concepts>
#include <string>
#include <string_view>
#include <tuple>

namespace example {

using netgrow::ConstView;
using netgrow::Index;
using netgrow::Shape;
using netgrow::TensorView;

template <class S, class D>
class ChannelScaleLayer;

/// Layer kind: ChannelScale{.channels = 16}.
struct ChannelScale {
  static constexpr std::string_view name = "ChannelScale";  ///< the kind's name (checkpoints, messages)
  Index channels = 0;                                        ///< C

  /// The configuration fields: growth changes `channels` (and the parameter's shape shows it).
  static constexpr auto fields() {
    return std::tuple{netgrow::field("channels", &ChannelScale::channels, netgrow::FieldRole::width)};
  }

  template <class S, class D>
  using layer_type = ChannelScaleLayer<S, D>;
};

/// y = s[c] x per channel c of an (N, C) or (N, C, H, W) input; the parameter "scale" (C) starts at 1.
/// Written for the CPU (plain loops).
template <class S, class D>
class ChannelScaleLayer {
  static_assert(std::same_as<D, netgrow::Cpu>, "example::ChannelScale is written for Cpu networks");

 public:
  using scalar_type = S;
  using device_type = D;
  using kind_type = ChannelScale;

  ChannelScaleLayer(const ChannelScale& kind, netgrow::Rng&) : scale_(Shape{kind.channels}) {
    netgrow::require(kind.channels > 0, "ChannelScale: channels must be positive, got ", kind.channels);
    scale_.value.fill(S(1));
    scale_.weight_decay = false;
  }

  Index channels() const { return scale_.value.numel(); }
  netgrow::Parameter<S, D>& scale() { return scale_; }

  Shape output_shape(const Shape& in) const {
    netgrow::require<netgrow::ShapeError>((in.rank() == 2 || in.rank() == 4) && in[1] == channels(), describe(),
                                          " expects (N, ", channels(), ") or (N, ", channels(), ", H, W), got ", in);
    return in;
  }

  void forward(ConstView<S, D> x, TensorView<S, D> y, netgrow::Mode) {
    const Index inner = positions(x.shape()), c = channels();
    for (Index i = 0; i < x.numel(); ++i) y[i] = scale_.value[(i / inner) % c] * x[i];
  }

  /// ds[c] = sum of dy x over the batch and positions (assigned or added); dx = s dy (when asked for).
  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    const Index inner = positions(x.shape()), c = channels();
    if (!accumulate) scale_.grad.fill_zero();
    for (Index i = 0; i < x.numel(); ++i) {
      const Index ch = (i / inner) % c;
      scale_.grad[ch] += dy[i] * x[i];
      if (!dx.empty()) dx[i] = scale_.value[ch] * dy[i];
    }
  }

  template <class F>
  void visit_parameters(F&& f) {
    f(std::string_view("scale"), scale_);
  }

  /// One multiply per element.
  double forward_flops(const Shape& in) const { return static_cast<double>(in.numel()); }

  /// Width growth between a grown pair: new channels get s = 1 (identity growth), so a new channel's
  /// values pass unchanged (nothing to add to its route), and on its own a new channel meets a fresh
  /// ChannelScale. Its output keeps the input's layout.
  ///@{
  static constexpr bool keeps_layout = true;
  void grow_channels(Index k) {
    netgrow::Tensor<S, D> ones(Shape{k});
    ones.fill(S(1));
    netgrow::grow::append_to_parameter(scale_, 0, ones.cview());
  }
  void route_new_channel(netgrow::ChannelRoute&) const {}
  ChannelScaleLayer new_channels_layer(Index k) const {
    netgrow::Rng unused(0);
    return ChannelScaleLayer(ChannelScale{.channels = k}, unused);
  }
  ///@}

  ChannelScale kind() const { return ChannelScale{.channels = channels()}; }
  std::string describe() const { return "ChannelScale(" + std::to_string(channels()) + ")"; }

 private:
  static Index positions(const Shape& s) { return s.rank() == 4 ? s[2] * s[3] : 1; }

  netgrow::Parameter<S, D> scale_;
};

static_assert(netgrow::Layer<ChannelScaleLayer<float, netgrow::Cpu>> && netgrow::LayerKind<ChannelScale>);

}  // namespace example
