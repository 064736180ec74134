/// \file
/// netgrow/layers/conv_transpose2d.hpp: the transposed 2-D convolution (a GAN generator's upsampling
/// layer): the adjoint of a Conv2d, as PyTorch's nn.ConvTranspose2d.
///
/// Shapes: x (N, C_in, H, W), W (C_in, C_out, k, k) as in PyTorch, b (C_out),
/// y (N, C_out, Ho, Wo) with Ho = (H - 1) s - 2 p + k + output_padding (and Wo alike), output_padding < s.
///
/// y = conv^T(x) + b, where conv is the Conv2d over y's grid (C_out, Ho, Wo) with weights W read as
/// (out = C_in, in = C_out, k, k) (the same memory) whose output grid is x's. So every pass is an op of
/// ops/conv2d.hpp (any device): forward = conv2d_backward's input gradient alone (dw empty),
/// dx = conv2d_forward(dy, W), dW = conv2d_backward's weight gradient with dy as the input and x as
/// the output gradient. The bias is added and summed as rows of (N, C_out Ho Wo) (ops/blas.hpp).
/// Not a width-growth site (no grow hooks); masks (prune/) apply to W as to any parameter.
#pragma once

#include <string>
#include <tuple>

#include "netgrow/core/fields.hpp"
#include "netgrow/core/init.hpp"
#include "netgrow/layers/layer.hpp"
#include "netgrow/ops/blas.hpp"
#include "netgrow/ops/conv2d.hpp"

namespace netgrow {

template <class S, class D>
class ConvTranspose2dLayer;

/// Layer kind: ConvTranspose2d{.in = 64, .out = 32, .kernel = 4, .stride = 2, .padding = 1} doubles
/// H and W (PyTorch's DCGAN upsampling).
struct ConvTranspose2d {
  static constexpr std::string_view name = "ConvTranspose2d";  ///< the kind's name (checkpoints, messages)
  Index in = 0;                             ///< input channels C_in
  Index out = 0;                            ///< output channels C_out
  Index kernel = 4;                         ///< square kernel side k
  Index stride = 2;                         ///< stride s
  Index padding = 1;                        ///< p: removed from every side of the full output
  Index output_padding = 0;                 ///< extra rows/columns at the bottom/right (< stride)
  bool bias = true;                         ///< false: no bias vector
  WeightInit init = WeightInit::he_normal;  ///< how W is drawn (fan_in C_in k^2 / s^2, fan_out C_out k^2)

  /// The configuration fields (core/fields.hpp).
  static constexpr auto fields() {
    return std::tuple{field("in", &ConvTranspose2d::in),
                      field("out", &ConvTranspose2d::out),
                      field("kernel", &ConvTranspose2d::kernel),
                      field("stride", &ConvTranspose2d::stride),
                      field("padding", &ConvTranspose2d::padding),
                      field("output_padding", &ConvTranspose2d::output_padding),
                      field("bias", &ConvTranspose2d::bias),
                      field("init", &ConvTranspose2d::init)};
  }

  /// The layer this kind names: ConvTranspose2dLayer<S, D>.
  template <class S, class D>
  using layer_type = ConvTranspose2dLayer<S, D>;
};

/// The ConvTranspose2d layer for scalar S on device D (see the file comment).
template <class S, class D>
class ConvTranspose2dLayer {
 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = ConvTranspose2d;
  ///@}

  /// Builds W (in, out, k, k) and b (out) and draws W from `rng` (b starts at zero); throws for
  /// non-positive channels, an invalid kernel, stride or padding, or output_padding >= stride.
  ConvTranspose2dLayer(const ConvTranspose2d& kind, Rng& rng) : kind_(kind) {
    require(kind.in > 0 && kind.out > 0, "ConvTranspose2d: channels must be positive, got in=", kind.in,
            " out=", kind.out);
    require(kind.kernel >= 1 && kind.stride >= 1 && kind.padding >= 0 && kind.output_padding >= 0 &&
                kind.output_padding < kind.stride,
            "ConvTranspose2d: kernel ", kind.kernel, ", stride ", kind.stride, ", padding ", kind.padding,
            ", output_padding ", kind.output_padding, " are invalid (output_padding must be below the stride)");
    weight_ = Parameter<S, D>(Shape{kind.in, kind.out, kind.kernel, kind.kernel});
    if (kind.bias) {
      bias_ = Parameter<S, D>(Shape{kind.out});
      bias_.weight_decay = false;
    }
    reset_parameters(rng);
  }

  /// Re-draws W from the layer's WeightInit and zeroes b (drawn on the host, then copied to D).
  void reset_parameters(Rng& rng) {
    draw_on_host(weight_, bias_, [&](TensorView<S, Cpu> w, TensorView<S, Cpu> b) {
      const Index k2 = kind_.kernel * kind_.kernel, s2 = kind_.stride * kind_.stride;
      init_weights(w, kind_.init, std::max<Index>(1, kind_.in * k2 / s2), kind_.out * k2, rng);
      if (kind_.bias) std::fill_n(b.data(), b.numel(), S(0));
    });
  }

  Index in_channels() const { return kind_.in; }    ///< C_in
  Index out_channels() const { return kind_.out; }  ///< C_out
  bool has_bias() const { return kind_.bias; }      ///< built with bias = true

  /// The weights W (in, out, k, k).
  ///@{
  Parameter<S, D>& weight() { return weight_; }
  const Parameter<S, D>& weight() const { return weight_; }
  ///@}
  /// The bias b (out); throws StateError for a layer built with bias = false.
  Parameter<S, D>& bias() {
    require<StateError>(kind_.bias, "ConvTranspose2d::bias: this layer was built with bias = false");
    return bias_;
  }

  /// (N, out, Ho, Wo) for an input (N, in, H, W); throws ShapeError for any other input shape.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 4, "ConvTranspose2d expects input (N, C, H, W), got ", in);
    require<ShapeError>(in[1] == kind_.in, describe(), " expects ", kind_.in, " input channels, got input ", in);
    const Index ho = output_side(in[2]), wo = output_side(in[3]);
    require<ShapeError>(in[2] >= 1 && in[3] >= 1 && ho >= 1 && wo >= 1, describe(), ": input ", in,
                        " gives an empty output");
    return Shape{in[0], kind_.out, ho, wo};
  }

  /// y = conv^T(x) + b (see the file comment).
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode) {
    const ops::ConvGeometry g = output_geometry(y.shape());
    // conv2d_backward reads only the shape of its input when dw is empty: y stands in for it.
    ops::conv2d_backward<S>(y, x, weight_.value.cview(), g, TensorView<S, D>{}, TensorView<S, D>{}, false, y,
                            workspace_);
    if (kind_.bias) {
      expand_bias(y.shape());
      ops::add_row_vector<S>(y.reshape(Shape{y.dim(0), y.shape().inner_numel()}), expanded_bias_.cview());
    }
  }

  /// dx = conv(dy, W); dW = the convolution's weight gradient with dy as input and x as output
  /// gradient; db = the sum of dy over N, Ho, Wo. Parameter gradients are assigned, or added to when
  /// `accumulate`; dx is skipped when empty.
  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    const ops::ConvGeometry g = output_geometry(dy.shape());
    ops::conv2d_backward<S>(dy, x, weight_.value.cview(), g, weight_.grad.view(), TensorView<S, D>{}, accumulate,
                            TensorView<S, D>{}, workspace_);
    if (!dx.empty()) ops::conv2d_forward<S>(dy, weight_.value.cview(), ConstView<S, D>{}, g, dx, workspace_);
    if (kind_.bias) {  // db (out) = (sum over N of dy (out, Ho Wo)) x ones (Ho Wo)
      const Index positions = dy.dim(2) * dy.dim(3);
      channel_sums_.resize(Shape{kind_.out * positions});
      ops::sum_rows<S>(dy.reshape(Shape{dy.dim(0), dy.shape().inner_numel()}), S(0), channel_sums_.view());
      ensure_ones(positions);
      ops::gemm<S>(ops::Trans::no, ops::Trans::no, S(1), channel_sums_.cview().reshape(Shape{kind_.out, positions}),
                   ones_.cview().reshape(Shape{positions, 1}), accumulate ? S(1) : S(0),
                   bias_.grad.view().reshape(Shape{kind_.out, 1}));
    }
  }

  /// 2 C_in k^2 FLOPs per input element and output channel (the adjoint of a Conv2d of the same cost).
  double forward_flops(const Shape& in) const {
    return 2.0 * static_cast<double>(in.numel()) * static_cast<double>(kind_.out * kind_.kernel * kind_.kernel);
  }

  /// Calls f("weight", W) and then, with a bias, f("bias", b).
  template <class F>
  void visit_parameters(F&& f) {
    f(std::string_view("weight"), weight_);
    if (kind_.bias) f(std::string_view("bias"), bias_);
  }

  ConvTranspose2d kind() const { return kind_; }  ///< the configuration

  /// E.g. "ConvTranspose2d(64 -> 32, 4x4, stride 2, padding 1)".
  std::string describe() const {
    return "ConvTranspose2d(" + std::to_string(kind_.in) + " -> " + std::to_string(kind_.out) + ", " +
           std::to_string(kind_.kernel) + "x" + std::to_string(kind_.kernel) + ", stride " +
           std::to_string(kind_.stride) + ", padding " + std::to_string(kind_.padding) +
           (kind_.output_padding > 0 ? ", output_padding " + std::to_string(kind_.output_padding) : "") +
           (kind_.bias ? ")" : ", no bias)");
  }

 private:
  Index output_side(Index side) const {
    return (side - 1) * kind_.stride - 2 * kind_.padding + kind_.kernel + kind_.output_padding;
  }
  // The convolution over y's grid whose output grid is x's.
  ops::ConvGeometry output_geometry(const Shape& y) const {
    return ops::ConvGeometry{kind_.out, y[2], y[3], kind_.kernel, kind_.stride, kind_.padding};
  }
  void ensure_ones(Index n) {
    if (ones_.numel() == n) return;
    ones_.resize(Shape{n});
    ops::fill<S>(ones_.view(), S(1));
  }
  // b repeated over the positions: (out Ho Wo), rebuilt when the grid or b may have changed.
  void expand_bias(const Shape& y) {
    const Index positions = y[2] * y[3];
    expanded_bias_.resize(Shape{kind_.out * positions});
    ensure_ones(positions);
    ops::gemm<S>(ops::Trans::no, ops::Trans::no, S(1), bias_.value.cview().reshape(Shape{kind_.out, 1}),
                 ones_.cview().reshape(Shape{1, positions}), S(0),
                 expanded_bias_.view().reshape(Shape{kind_.out, positions}));
  }

  ConvTranspose2d kind_;
  Parameter<S, D> weight_;
  Parameter<S, D> bias_;
  Tensor<S, D> workspace_, expanded_bias_, channel_sums_, ones_;
};

static_assert(Layer<ConvTranspose2dLayer<float, Cpu>> && LayerKind<ConvTranspose2d>);

}  // namespace netgrow
