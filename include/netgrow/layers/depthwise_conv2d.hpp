// netgrow/layers/depthwise_conv2d.hpp: depthwise 2-D convolution (one k x k filter per channel,
// depth multiplier 1), as in MobileNet.
//
// Shapes: x (N, C, H, W), W (C, 1, k, k) (PyTorch's layout for groups = C), b (C),
// y (N, C, Ho, Wo) with y[n, c] = W[c] * x[n, c] + b[c] (cross-correlation, stride s, zero padding p).
// Between a grown pair of pointwise convolutions it grows by identity: a new channel gets the filter
// with centre tap 1 and bias 0 (an identity map for odd k, stride 1 and padding k / 2; since the new
// channel's input is zero, any geometry keeps the network's function).
#pragma once

#include <span>
#include <string>

#include "netgrow/backend/cpu/conv.hpp"
#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/core/init.hpp"
#include "netgrow/grow/parameter_growth.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow {

template <class S, class D>
class DepthwiseConv2dLayer;

struct DepthwiseConv2d {
  static constexpr std::string_view name = "DepthwiseConv2d";
  Index channels = 0;
  Index kernel = 3;
  Index stride = 1;
  Index padding = 1;
  bool bias = true;
  WeightInit init = WeightInit::he_normal;

  template <class S, class D>
  using layer_type = DepthwiseConv2dLayer<S, D>;
};

template <class S, class D>
class DepthwiseConv2dLayer {
 public:
  using scalar_type = S;
  using device_type = D;
  using kind_type = DepthwiseConv2d;

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
    init_weights(weight_.value.view(), init_, kernel_ * kernel_, kernel_ * kernel_, rng);
  }

  Index channels() const { return weight_.value.dim(0); }
  bool has_bias() const { return has_bias_; }
  Parameter<S, D>& weight() { return weight_; }  // (C, 1, k, k)
  const Parameter<S, D>& weight() const { return weight_; }
  Parameter<S, D>& bias() {
    require<StateError>(has_bias_, "DepthwiseConv2d::bias: this layer was built with bias = false");
    return bias_;
  }

  ops::ConvGeometry geometry(const Shape& in) const {
    return ops::ConvGeometry{1, in[2], in[3], kernel_, stride_, padding_};
  }

  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 4, "DepthwiseConv2d expects input (N, C, H, W), got ", in);
    require<ShapeError>(in[1] == channels(), describe(), " expects ", channels(), " channels, got input ", in);
    const auto g = geometry(in);
    g.check("DepthwiseConv2d");
    return Shape{in[0], channels(), g.out_height(), g.out_width()};
  }

  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode) {
    const auto g = geometry(x.shape());
    const Index c = channels(), hw = g.height * g.width, ohw = g.positions(), kk = kernel_ * kernel_;
    ops::parallel_for(x.dim(0) * c, [&](Index nc, int) {
      const Index ch = nc % c;
      const S* w = weight_.value.data() + ch * kk;
      const S* in = x.data() + nc * hw;
      S* out = y.data() + nc * ohw;
      std::fill_n(out, ohw, has_bias_ ? bias_.value[ch] : S(0));
      for_each_tap(g, [&](Index o, Index i, Index tap) { out[o] += w[tap] * in[i]; });
    });
  }

  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    const auto g = geometry(x.shape());
    const Index n = x.dim(0), c = channels(), hw = g.height * g.width, ohw = g.positions(), kk = kernel_ * kernel_;
    if (!accumulate) {
      weight_.grad.fill_zero();
      if (has_bias_) bias_.grad.fill_zero();
    }
    // Parallel over channels: each channel's filter gradient sums over the batch.
    ops::parallel_for(c, [&](Index ch, int) {
      const S* w = weight_.value.data() + ch * kk;
      S* dw = weight_.grad.data() + ch * kk;
      S db = 0;
      for (Index i = 0; i < n; ++i) {
        const S* in = x.data() + (i * c + ch) * hw;
        const S* go = dy.data() + (i * c + ch) * ohw;
        for (Index o = 0; o < ohw; ++o) db += go[o];
        for_each_tap(g, [&](Index o, Index idx, Index tap) { dw[tap] += go[o] * in[idx]; });
        if (!dx.empty()) {
          S* gi = dx.data() + (i * c + ch) * hw;
          std::fill_n(gi, hw, S(0));
          for_each_tap(g, [&](Index o, Index idx, Index tap) { gi[idx] += go[o] * w[tap]; });
        }
      }
      if (has_bias_) bias_.grad[ch] += db;
    });
  }

  // Identity growth: k new channels with centre tap 1 and bias 0.
  void grow_channels(Index k)
    requires std::same_as<D, Cpu>
  {
    Tensor<S, D> filters(Shape{k, 1, kernel_, kernel_});
    for (Index i = 0; i < k; ++i) filters.at(i, 0, kernel_ / 2, kernel_ / 2) = S(1);
    grow::append_to_parameter(weight_, 0, filters.cview());
    if (has_bias_) grow::append_to_parameter(bias_, 0, Tensor<S, D>(Shape{k}).cview());
  }

  // Growth by copying: one new channel per entry of `sources`, with that channel's filter and bias.
  void grow_channels_from(std::span<const Index> sources)
    requires std::same_as<D, Cpu>
  {
    const Index k = static_cast<Index>(sources.size()), kk = kernel_ * kernel_;
    Tensor<S, D> filters(Shape{k, 1, kernel_, kernel_}), biases(Shape{k});
    for (Index i = 0; i < k; ++i) {
      const Index s = sources[static_cast<std::size_t>(i)];
      require(s >= 0 && s < channels(), "DepthwiseConv2d::grow_channels_from: channel ", s, " does not exist");
      std::copy_n(weight_.value.data() + s * kk, kk, filters.data() + i * kk);
      if (has_bias_) biases[i] = bias_.value[s];
    }
    grow::append_to_parameter(weight_, 0, filters.cview());
    if (has_bias_) grow::append_to_parameter(bias_, 0, biases.cview());
  }

  template <class F>
  void visit_parameters(F&& f) {
    f(std::string_view("weight"), weight_);
    if (has_bias_) f(std::string_view("bias"), bias_);
  }

  DepthwiseConv2d kind() const { return {channels(), kernel_, stride_, padding_, has_bias_, init_}; }
  std::string describe() const {
    return "DepthwiseConv2d(" + std::to_string(channels()) + ", " + std::to_string(kernel_) + "x" +
           std::to_string(kernel_) + ", stride " + std::to_string(stride_) + ", padding " + std::to_string(padding_) +
           ")";
  }

 private:
  // Calls f(output index, input index, tap index) for every in-bounds tap of one channel.
  template <class F>
  void for_each_tap(const ops::ConvGeometry& g, F&& f) const {
    const Index ho = g.out_height(), wo = g.out_width();
    for (Index oy = 0; oy < ho; ++oy)
      for (Index i = 0; i < kernel_; ++i) {
        const Index iy = oy * stride_ - padding_ + i;
        if (iy < 0 || iy >= g.height) continue;
        for (Index ox = 0; ox < wo; ++ox)
          for (Index j = 0; j < kernel_; ++j) {
            const Index ix = ox * stride_ - padding_ + j;
            if (ix < 0 || ix >= g.width) continue;
            f(oy * wo + ox, iy * g.width + ix, i * kernel_ + j);
          }
      }
  }

  Parameter<S, D> weight_;
  Parameter<S, D> bias_;
  Index kernel_, stride_, padding_;
  bool has_bias_;
  WeightInit init_;
};

static_assert(Layer<DepthwiseConv2dLayer<float, Cpu>> && LayerKind<DepthwiseConv2d>);

}  // namespace netgrow
