/// \file
/// netgrow/layers/conv2d.hpp: 2-D convolution through im2col + GEMM (col2im for the input gradient).
///
/// Shapes: x (N, C_in, H, W), W (C_out, C_in, k, k) as in PyTorch, b (C_out), y (N, C_out, Ho, Wo) with
/// Ho = (H + 2 p - k) / s + 1. Square kernel, stride and zero padding. The math is the op facade's
/// ops::conv2d_forward / conv2d_backward (backend/cpu/conv2d.hpp; backend/cuda/conv2d.hpp for Cuda).
/// Width growth: output channels are W's axis 0 (a new channel's incoming weights: a (C_in, k, k)
/// filter), input channels its axis 1 (a new channel's outgoing weights: a (C_out, k, k) slice).
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>

#include "netgrow/ops/blas.hpp"
#include "netgrow/ops/conv2d.hpp"
#include "netgrow/ops/layout.hpp"
#include "netgrow/core/init.hpp"
#include "netgrow/layers/parameter_growth.hpp"
#include "netgrow/core/fields.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow {

template <class S, class D>
class Conv2dLayer;

/// Layer kind: Conv2d{.in = 16, .out = 32, .kernel = 3, .stride = 1, .padding = 1}.
struct Conv2d {
  static constexpr std::string_view name = "Conv2d";  ///< the kind's name (checkpoint configs, messages)
  Index in = 0;                                       ///< input channels C_in
  Index out = 0;                                      ///< output channels C_out
  Index kernel = 3;                                   ///< square kernel side k
  Index stride = 1;                                   ///< stride s, both directions
  Index padding = 1;                                  ///< zero padding p, every side
  bool bias = true;                                   ///< false: no bias vector
  WeightInit init = WeightInit::he_normal;            ///< how W (and b with torch_default) is drawn

  /// The configuration fields (core/fields.hpp): growth changes in and out.
  static constexpr auto fields() {
    return std::tuple{field("in", &Conv2d::in, FieldRole::width),  field("out", &Conv2d::out, FieldRole::width),
                      field("kernel", &Conv2d::kernel),            field("stride", &Conv2d::stride),
                      field("padding", &Conv2d::padding),          field("bias", &Conv2d::bias),
                      field("init", &Conv2d::init)};
  }

  /// The kind of a layer that maps `width` channels to `width` keeping the spatial size (depth growth
  /// inserts it as an identity layer): stride 1, this kernel (3 when even) with 'same' padding, this
  /// one's bias and init.
  Conv2d shape_keeping(Index width) const {
    const Index k = kernel % 2 == 1 ? kernel : 3;
    return Conv2d{.in = width, .out = width, .kernel = k, .stride = 1, .padding = k / 2, .bias = bias, .init = init};
  }

  /// The layer this kind names: Conv2dLayer<S, D>.
  template <class S, class D>
  using layer_type = Conv2dLayer<S, D>;
};

/// The Conv2d layer for scalar S on device D: y (N, C_out, Ho, Wo) = conv(x (N, C_in, H, W), W) + b, with
/// W (C_out, C_in, k, k) and b (C_out) (see the file comment).
template <class S, class D>
class Conv2dLayer {
 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = Conv2d;
  ///@}
  /// Width growth (see grow/width.hpp): output channels are W's axis 0, input channels its axis 1.
  ///@{
  static constexpr int output_axis = 0;
  static constexpr int input_axis = 1;
  ///@}

  /// Builds W (out, in, k, k) and b (out) and draws them from `rng` (see reset_parameters()); throws
  /// for non-positive channels or an invalid kernel, stride or padding.
  Conv2dLayer(const Conv2d& kind, Rng& rng)
      : kernel_(kind.kernel), stride_(kind.stride), padding_(kind.padding), has_bias_(kind.bias), init_(kind.init) {
    require(kind.in > 0 && kind.out > 0, "Conv2d: channels must be positive, got in=", kind.in, " out=", kind.out);
    require(kind.kernel >= 1 && kind.stride >= 1 && kind.padding >= 0, "Conv2d: kernel ", kind.kernel, ", stride ",
            kind.stride, ", padding ", kind.padding, " are invalid");
    weight_ = Parameter<S, D>(Shape{kind.out, kind.in, kind.kernel, kind.kernel});
    if (has_bias_) {
      bias_ = Parameter<S, D>(Shape{kind.out});
      bias_.weight_decay = false;
    }
    reset_parameters(rng);
  }

  /// Re-draws W (and b for torch_default) from the layer's WeightInit. On a device the values are drawn
  /// on the host, exactly as a Cpu layer draws them from the same rng, and then copied over.
  void reset_parameters(Rng& rng) {
    draw_on_host(weight_, bias_, [&](TensorView<S, Cpu> w, TensorView<S, Cpu> b) { draw_parameters(w, b, rng); });
  }

  Index in_channels() const { return weight_.value.dim(1); }   ///< current C_in
  Index out_channels() const { return weight_.value.dim(0); }  ///< current C_out
  Index kernel() const { return kernel_; }                     ///< kernel side k
  Index stride() const { return stride_; }                     ///< stride s
  Index padding() const { return padding_; }                   ///< zero padding p
  bool has_bias() const { return has_bias_; }                  ///< built with bias = true

  /// The filters W (out, in, k, k).
  ///@{
  Parameter<S, D>& weight() { return weight_; }
  const Parameter<S, D>& weight() const { return weight_; }
  ///@}
  /// The bias b (out); throws StateError for a layer built with bias = false.
  ///@{
  Parameter<S, D>& bias() {
    require<StateError>(has_bias_, "Conv2d::bias: this layer was built with bias = false");
    return bias_;
  }
  const Parameter<S, D>& bias() const {
    require<StateError>(has_bias_, "Conv2d::bias: this layer was built with bias = false");
    return bias_;
  }
  ///@}

  /// The geometry of one sample of input shape (N, C, H, W).
  ops::ConvGeometry geometry(const Shape& in) const {
    return ops::ConvGeometry{in[1], in[2], in[3], kernel_, stride_, padding_};
  }

  /// (N, out, Ho, Wo) for an input (N, in, H, W); throws ShapeError for any other input shape or a
  /// kernel larger than the padded input.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 4, "Conv2d expects input (N, C, H, W), got ", in);
    require<ShapeError>(in[1] == in_channels(), describe(), " expects ", in_channels(), " input channels, got input ",
                        in);
    const auto g = geometry(in);
    g.check("Conv2d");
    return Shape{in[0], out_channels(), g.out_height(), g.out_width()};
  }

  /// y (N, out, Ho, Wo) = conv(x, W) + b, through ops::conv2d_forward.
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode) {
    ops::conv2d_forward<S>(x, weight_.value.cview(), bias_value(), geometry(x.shape()), y, workspace_);
    cols_input_ = x.data();  // the device path leaves im2col(x) in the workspace for backward
    cols_input_shape_ = x.shape();
  }

  /// dW = sum_n dy_n cols_n^T; db = sum over n and positions of dy; dx_n = col2im(W^T dy_n).
  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    const bool cols_hold_x = cols_input_ != nullptr && cols_input_ == x.data() && cols_input_shape_ == x.shape();
    cols_input_ = nullptr;  // backward overwrites the columns with their gradient
    ops::conv2d_backward<S>(x, dy, weight_.value.cview(), geometry(x.shape()), weight_.grad.view(),
                            has_bias_ ? bias_.grad.view() : TensorView<S, D>{}, accumulate, dx, workspace_,
                            cols_hold_x);
  }

  /// Appends k output channels: incoming (k, C_in k k) filters and bias (k) (empty: zero bias).
  void grow_outputs(ConstView<S, D> incoming, ConstView<S, D> bias) {
    const Index fan = in_channels() * kernel_ * kernel_;
    require<ShapeError>(incoming.rank() == 2 && incoming.dim(1) == fan, describe(),
                        "::grow_outputs: incoming weights must be (k, ", fan, "), got ", incoming.shape());
    const Index k = incoming.dim(0);
    require<ShapeError>(bias.empty() || bias.numel() == k, "Conv2d::grow_outputs: bias of ", bias.numel(),
                        " entries for ", k, " new channels");
    require(bias.empty() || has_bias_, "Conv2d::grow_outputs: bias values given for a layer without bias");
    grow::append_to_parameter(weight_, 0, incoming.reshape(Shape{k, in_channels(), kernel_, kernel_}));
    if (has_bias_) {
      Tensor<S, D> b(Shape{k});
      if (!bias.empty()) ops::copy<S>(bias, b.view());
      grow::append_to_parameter(bias_, 0, b.cview());
    }
  }

  /// Appends k input channels: outgoing (k, C_out k k), one row per new channel holding its
  /// (C_out, k, k) slice of W.
  void grow_inputs(ConstView<S, D> outgoing) {
    const Index fan = out_channels() * kernel_ * kernel_;
    require<ShapeError>(outgoing.rank() == 2 && outgoing.dim(1) == fan, describe(),
                        "::grow_inputs: outgoing weights must be (k, ", fan, "), got ", outgoing.shape());
    const Index k = outgoing.dim(0);
    Tensor<S, D> block(Shape{out_channels(), k, kernel_, kernel_});
    ops::rows_to_axis<S>(outgoing, 1, block.view());
    grow::append_to_parameter(weight_, 1, block.cview());
  }

  /// Calls f("weight", W) and then, with a bias, f("bias", b).
  /// 2 C_in k^2 FLOPs per output element.
  double forward_flops(const Shape& in) const {
    return 2.0 * static_cast<double>(output_shape(in).numel()) * static_cast<double>(in_channels() * kernel_ * kernel_);
  }

  /// Depth growth (grow/depth.hpp): makes this layer the identity map, centre tap 1 from each channel
  /// to itself and bias 0; ShapeError unless it maps C channels to C with stride 1, an odd kernel and
  /// padding kernel / 2.
  void set_identity() {
    require<ShapeError>(in_channels() == out_channels() && stride_ == 1 && kernel_ % 2 == 1 && padding_ == kernel_ / 2,
                        "identity layer: ", describe(), " must map C channels to C with stride 1, an odd kernel and "
                        "padding kernel / 2");
    Tensor<S, Cpu> w(weight_.value.shape());
    for (Index c = 0; c < out_channels(); ++c) w.at(c, c, kernel_ / 2, kernel_ / 2) = S(1);
    weight_.value = grow::host_to<D>(std::move(w));
    if (has_bias_) bias_.value.fill_zero();
  }

  template <class F>
  void visit_parameters(F&& f) {
    f(std::string_view("weight"), weight_);
    if (has_bias_) f(std::string_view("bias"), bias_);
  }

  /// The current configuration (channels after growth).
  Conv2d kind() const {
    return Conv2d{in_channels(), out_channels(), kernel_, stride_, padding_, has_bias_, init_};
  }

  /// E.g. "Conv2d(16 -> 32, 3x3, stride 1, padding 1)" (", no bias)" without bias).
  std::string describe() const {
    return "Conv2d(" + std::to_string(in_channels()) + " -> " + std::to_string(out_channels()) + ", " +
           std::to_string(kernel_) + "x" + std::to_string(kernel_) + ", stride " + std::to_string(stride_) +
           ", padding " + std::to_string(padding_) + (has_bias_ ? ")" : ", no bias)");
  }

 private:
  ConstView<S, D> bias_value() const { return has_bias_ ? bias_.value.cview() : ConstView<S, D>{}; }

  void draw_parameters(TensorView<S, Cpu> w, TensorView<S, Cpu> b, Rng& rng) const {
    const Index k2 = kernel_ * kernel_;
    init_weights(w, init_, in_channels() * k2, out_channels() * k2, rng);
    if (has_bias_) {
      if (init_ == WeightInit::torch_default) {
        const double a = 1.0 / std::sqrt(static_cast<double>(in_channels() * k2));
        fill_uniform(b, -a, a, rng);
      } else {
        std::fill_n(b.data(), b.numel(), S(0));
      }
    }
  }

  Parameter<S, D> weight_;
  Parameter<S, D> bias_;
  Index kernel_, stride_, padding_;
  bool has_bias_;
  WeightInit init_;
  // Scratch of ops::conv2d_*, kept so steps do not allocate: Cpu, a column buffer (C k k, Ho Wo) and a
  // weight-gradient buffer per thread; Cuda, the batch's columns and GEMM output ((C k k + out) N Ho Wo).
  Tensor<S, D> workspace_;
  // The input whose columns forward left in workspace_ (nullptr: none), so backward can skip its im2col.
  const S* cols_input_ = nullptr;
  Shape cols_input_shape_;
};

static_assert(Layer<Conv2dLayer<float, Cpu>> && LayerKind<Conv2d>);

}  // namespace netgrow
