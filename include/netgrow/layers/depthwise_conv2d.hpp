/// \file
/// netgrow/layers/depthwise_conv2d.hpp: depthwise 2-D convolution (one k x k filter per channel,
/// depth multiplier 1), as in MobileNet.
///
/// Shapes: x (N, C, H, W), W (C, 1, k, k) (PyTorch's layout for groups = C), b (C),
/// y (N, C, Ho, Wo) with y[n, c] = W[c] * x[n, c] + b[c] (cross-correlation, stride s, zero padding p).
/// Between a grown pair of pointwise convolutions it grows by identity: a new channel gets the filter
/// with centre tap 1 and bias 0 (an identity map for odd k, stride 1 and padding k / 2; since the new
/// channel's input is zero, any geometry keeps the network's function).
/// The math is the op facade's ops::depthwise_conv2d_forward / _backward (backend/cpu/depthwise.hpp;
/// backend/cuda/depthwise.hpp for Cuda).
#pragma once

#include <span>
#include <string>
#include <tuple>

#include "netgrow/ops/depthwise.hpp"
#include "netgrow/core/init.hpp"
#include "netgrow/layers/parameter_growth.hpp"
#include "netgrow/core/fields.hpp"
#include "netgrow/layers/channel_route.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow {

template <class S, class D>
class DepthwiseConv2dLayer;

/// Layer kind: DepthwiseConv2d{.channels = 32, .kernel = 3, .stride = 1, .padding = 1}. The bias starts at
/// zero.
struct DepthwiseConv2d {
  static constexpr std::string_view name = "DepthwiseConv2d";  ///< the kind's name (checkpoint configs, messages)
  Index channels = 0;                                          ///< channels C (in = out)
  Index kernel = 3;                                            ///< square kernel side k
  Index stride = 1;                                            ///< stride s, both directions
  Index padding = 1;                                           ///< zero padding p, every side
  bool bias = true;                                            ///< false: no bias vector
  WeightInit init = WeightInit::he_normal;                     ///< how W is drawn (fan-in = fan-out = k k)

  /// The configuration fields (core/fields.hpp): growth changes channels.
  static constexpr auto fields() {
    return std::tuple{field("channels", &DepthwiseConv2d::channels, FieldRole::width),
                      field("kernel", &DepthwiseConv2d::kernel), field("stride", &DepthwiseConv2d::stride),
                      field("padding", &DepthwiseConv2d::padding), field("bias", &DepthwiseConv2d::bias),
                      field("init", &DepthwiseConv2d::init)};
  }

  /// The layer this kind names: DepthwiseConv2dLayer<S, D>.
  template <class S, class D>
  using layer_type = DepthwiseConv2dLayer<S, D>;
};

/// The DepthwiseConv2d layer for scalar S on device D: y (N, C, Ho, Wo) with y[n, c] = W[c] * x[n, c] + b[c],
/// W (C, 1, k, k), b (C) (see the file comment).
template <class S, class D>
class DepthwiseConv2dLayer {
 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = DepthwiseConv2d;
  ///@}

  /// Builds W (C, 1, k, k), drawn from `rng`, and a zero bias b (C); throws for non-positive channels
  /// or an invalid kernel, stride or padding.
  DepthwiseConv2dLayer(const DepthwiseConv2d& kind, Rng& rng)
      : kernel_(kind.kernel), stride_(kind.stride), padding_(kind.padding), has_bias_(kind.bias), init_(kind.init) {
    require(kind.channels > 0, "DepthwiseConv2d: channels must be positive, got ", kind.channels);
    require(kind.kernel >= 1 && kind.stride >= 1 && kind.padding >= 0, "DepthwiseConv2d: kernel ", kind.kernel,
            ", stride ", kind.stride, ", padding ", kind.padding, " are invalid");
    weight_ = Parameter<S, D>(Shape{kind.channels, 1, kind.kernel, kind.kernel});
    if (has_bias_) {
      bias_ = Parameter<S, D>(Shape{kind.channels});
      bias_.weight_decay = false;
    }
    // The bias stays zero.
    draw_on_host(weight_, bias_, [&](TensorView<S, Cpu> w, TensorView<S, Cpu>) {
      init_weights(w, init_, kernel_ * kernel_, kernel_ * kernel_, rng);
    });
  }

  Index channels() const { return weight_.value.dim(0); }  ///< current C
  bool has_bias() const { return has_bias_; }              ///< built with bias = true
  /// The filters W (C, 1, k, k).
  ///@{
  Parameter<S, D>& weight() { return weight_; }
  const Parameter<S, D>& weight() const { return weight_; }
  ///@}
  /// The bias b (C); throws StateError for a layer built with bias = false.
  Parameter<S, D>& bias() {
    require<StateError>(has_bias_, "DepthwiseConv2d::bias: this layer was built with bias = false");
    return bias_;
  }

  /// The window over one (H, W) map of an input (N, C, H, W) (its `channels` is 1, unused).
  ops::ConvGeometry geometry(const Shape& in) const {
    return ops::ConvGeometry{1, in[2], in[3], kernel_, stride_, padding_};
  }

  /// (N, C, Ho, Wo) for an input (N, C, H, W); throws ShapeError for any other input shape or a kernel
  /// larger than the padded input.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 4, "DepthwiseConv2d expects input (N, C, H, W), got ", in);
    require<ShapeError>(in[1] == channels(), describe(), " expects ", channels(), " channels, got input ", in);
    const auto g = geometry(in);
    g.check("DepthwiseConv2d");
    return Shape{in[0], channels(), g.out_height(), g.out_width()};
  }

  /// y = depthwise(x, W) + b, through ops::depthwise_conv2d_forward.
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode) {
    ops::depthwise_conv2d_forward<S>(x, weight_.value.cview(), has_bias_ ? bias_.value.cview() : ConstView<S, D>{},
                                     geometry(x.shape()), y);
  }

  /// dW (C, 1, k, k) and db (C) from dy, assigned or accumulated; dx = the adjoint convolution of dy
  /// (skipped when dx is empty), through ops::depthwise_conv2d_backward.
  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    ops::depthwise_conv2d_backward<S>(x, dy, weight_.value.cview(), geometry(x.shape()), weight_.grad.view(),
                                      has_bias_ ? bias_.grad.view() : TensorView<S, D>{}, accumulate, dx);
  }

  /// Identity growth: k new channels with centre tap 1 and bias 0.
  void grow_channels(Index k) {
    Tensor<S, Cpu> filters(Shape{k, 1, kernel_, kernel_});
    for (Index i = 0; i < k; ++i) filters.at(i, 0, kernel_ / 2, kernel_ / 2) = S(1);
    grow::append_to_parameter(weight_, 0, grow::host_to<D>(std::move(filters)).cview());
    if (has_bias_) grow::append_to_parameter(bias_, 0, Tensor<S, D>(Shape{k}).cview());
  }

  /// 2 k^2 FLOPs per output element.
  double forward_flops(const Shape& in) const {
    return 2.0 * static_cast<double>(output_shape(in).numel()) * static_cast<double>(kernel_ * kernel_);
  }

  /// Width growth between a grown pair (layers/layer.hpp): identity filters pass a new channel's values
  /// through unchanged when the layer keeps positions (stride 1, odd kernel, padding kernel / 2).
  ///@{
  static constexpr bool keeps_layout = true;
  void route_new_channel(ChannelRoute&) const {
    require(stride_ == 1 && kernel_ % 2 == 1 && padding_ == kernel_ / 2,
            "GradMax data: a depthwise convolution between a pair must keep positions (stride 1, odd kernel, "
            "padding kernel / 2) so that its identity-grown channels pass values through; got ", describe());
  }
  ///@}

  /// Growth by copying: one new channel per entry of `sources`, with that channel's filter and bias. Any
  /// device (gathered on the host). Throws, the layer unchanged, for a source that is not a channel.
  void grow_channels_from(std::span<const Index> sources) {
    const Index k = static_cast<Index>(sources.size()), kk = kernel_ * kernel_;
    for (const Index s : sources)
      require(s >= 0 && s < channels(), "DepthwiseConv2d::grow_channels_from: channel ", s, " does not exist");
    Tensor<S, Cpu> w_staging, b_staging;
    const ConstView<S, Cpu> w = host_view(weight_.value, w_staging);
    const ConstView<S, Cpu> b = has_bias_ ? host_view(bias_.value, b_staging) : ConstView<S, Cpu>();
    Tensor<S, Cpu> filters(Shape{k, 1, kernel_, kernel_}), biases(Shape{k});
    for (Index i = 0; i < k; ++i) {
      const Index s = sources[static_cast<std::size_t>(i)];
      std::copy_n(w.data() + s * kk, kk, filters.data() + i * kk);
      if (has_bias_) biases[i] = b.data()[s];
    }
    grow::append_to_parameter(weight_, 0, grow::host_to<D>(std::move(filters)).cview());
    if (has_bias_) grow::append_to_parameter(bias_, 0, grow::host_to<D>(std::move(biases)).cview());
  }

  /// Calls f("weight", W) and then, with a bias, f("bias", b).
  template <class F>
  void visit_parameters(F&& f) {
    f(std::string_view("weight"), weight_);
    if (has_bias_) f(std::string_view("bias"), bias_);
  }

  /// The current configuration (channels after growth).
  DepthwiseConv2d kind() const { return {channels(), kernel_, stride_, padding_, has_bias_, init_}; }
  /// E.g. "DepthwiseConv2d(32, 3x3, stride 1, padding 1)".
  std::string describe() const {
    return "DepthwiseConv2d(" + std::to_string(channels()) + ", " + std::to_string(kernel_) + "x" +
           std::to_string(kernel_) + ", stride " + std::to_string(stride_) + ", padding " + std::to_string(padding_) +
           ")";
  }

 private:
  Parameter<S, D> weight_;
  Parameter<S, D> bias_;
  Index kernel_, stride_, padding_;
  bool has_bias_;
  WeightInit init_;
};

static_assert(Layer<DepthwiseConv2dLayer<float, Cpu>> && LayerKind<DepthwiseConv2d>);

}  // namespace netgrow
