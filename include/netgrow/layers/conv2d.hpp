// netgrow/layers/conv2d.hpp: 2-D convolution through im2col + GEMM (col2im for the input gradient).
//
// Shapes: x (N, C_in, H, W), W (C_out, C_in, k, k) as in PyTorch, b (C_out), y (N, C_out, Ho, Wo) with
// Ho = (H + 2 p - k) / s + 1. Square kernel, stride and zero padding. Samples are processed in
// parallel (OpenMP), each with a (C_in k k, Ho Wo) column buffer: y_n = W cols_n + b.
// Width growth: output channels are W's axis 0 (a new channel's incoming weights: a (C_in, k, k)
// filter), input channels its axis 1 (a new channel's outgoing weights: a (C_out, k, k) slice).
#pragma once

#include <string>
#include <vector>

#include "netgrow/backend/cpu/blas.hpp"
#include "netgrow/backend/cpu/conv.hpp"
#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/core/init.hpp"
#include "netgrow/grow/parameter_growth.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow {

template <class S, class D>
class Conv2dLayer;

// Layer kind: Conv2d{.in = 16, .out = 32, .kernel = 3, .stride = 1, .padding = 1}.
struct Conv2d {
  static constexpr std::string_view name = "Conv2d";
  Index in = 0;
  Index out = 0;
  Index kernel = 3;
  Index stride = 1;
  Index padding = 1;
  bool bias = true;
  WeightInit init = WeightInit::he_normal;

  template <class S, class D>
  using layer_type = Conv2dLayer<S, D>;
};

template <class S, class D>
class Conv2dLayer {
 public:
  using scalar_type = S;
  using device_type = D;
  using kind_type = Conv2d;
  static constexpr int output_axis = 0;
  static constexpr int input_axis = 1;

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

  void reset_parameters(Rng& rng)
    requires std::same_as<D, Cpu>
  {
    const Index k2 = kernel_ * kernel_;
    init_weights(weight_.value.view(), init_, in_channels() * k2, out_channels() * k2, rng);
    if (has_bias_) {
      if (init_ == WeightInit::torch_default) {
        const double a = 1.0 / std::sqrt(static_cast<double>(in_channels() * k2));
        fill_uniform(bias_.value.view(), -a, a, rng);
      } else {
        bias_.value.fill_zero();
      }
    }
  }

  Index in_channels() const { return weight_.value.dim(1); }
  Index out_channels() const { return weight_.value.dim(0); }
  Index kernel() const { return kernel_; }
  Index stride() const { return stride_; }
  Index padding() const { return padding_; }
  bool has_bias() const { return has_bias_; }

  Parameter<S, D>& weight() { return weight_; }  // (out, in, k, k)
  const Parameter<S, D>& weight() const { return weight_; }
  Parameter<S, D>& bias() {
    require<StateError>(has_bias_, "Conv2d::bias: this layer was built with bias = false");
    return bias_;
  }
  const Parameter<S, D>& bias() const {
    require<StateError>(has_bias_, "Conv2d::bias: this layer was built with bias = false");
    return bias_;
  }

  // The geometry of one sample of input shape (N, C, H, W).
  ops::ConvGeometry geometry(const Shape& in) const {
    return ops::ConvGeometry{in[1], in[2], in[3], kernel_, stride_, padding_};
  }

  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 4, "Conv2d expects input (N, C, H, W), got ", in);
    require<ShapeError>(in[1] == in_channels(), describe(), " expects ", in_channels(), " input channels, got input ",
                        in);
    const auto g = geometry(in);
    g.check("Conv2d");
    return Shape{in[0], out_channels(), g.out_height(), g.out_width()};
  }

  // y_n (out, Ho Wo) = W (out, C k k) cols_n + b
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode) {
    const auto g = geometry(x.shape());
    const Index n = x.dim(0), in_size = x.shape().inner_numel(), out_size = y.shape().inner_numel();
    prepare_scratch(g);
    const auto w = weight_matrix();
    ops::parallel_for(n, [&](Index i, int t) {
      S* cols = scratch_[static_cast<std::size_t>(t)].cols.data();
      ops::im2col(x.data() + i * in_size, g, cols);
      Eigen::Map<RowMajorMatrix<S>> yi(y.data() + i * out_size, out_channels(), g.positions());
      yi.noalias() = w * Eigen::Map<const RowMajorMatrix<S>>(cols, g.patch_size(), g.positions());
      if (has_bias_) yi.colwise() += vector(bias_.value.cview());
    });
  }

  // dW = sum_n dy_n cols_n^T; db = sum over n and positions of dy; dx_n = col2im(W^T dy_n).
  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    const auto g = geometry(x.shape());
    const Index n = x.dim(0), in_size = x.shape().inner_numel(), out_size = dy.shape().inner_numel();
    prepare_scratch(g);
    const auto w = weight_matrix();
    for (auto& s : scratch_) matrix(s.dw).setZero();
    ops::parallel_for(n, [&](Index i, int t) {
      Scratch& s = scratch_[static_cast<std::size_t>(t)];
      ops::im2col(x.data() + i * in_size, g, s.cols.data());
      const Eigen::Map<const RowMajorMatrix<S>> cols(s.cols.data(), g.patch_size(), g.positions());
      const Eigen::Map<const RowMajorMatrix<S>> dyi(dy.data() + i * out_size, out_channels(), g.positions());
      matrix(s.dw).noalias() += dyi * cols.transpose();
      if (!dx.empty()) {
        Eigen::Map<RowMajorMatrix<S>> dcols(s.cols.data(), g.patch_size(), g.positions());
        dcols.noalias() = w.transpose() * dyi;
        S* dxi = dx.data() + i * in_size;
        std::fill_n(dxi, in_size, S(0));
        ops::col2im(s.cols.data(), g, dxi);
      }
    });
    auto dw = Eigen::Map<RowMajorMatrix<S>>(weight_.grad.data(), out_channels(), g.patch_size());
    if (!accumulate) dw.setZero();
    for (auto& s : scratch_) dw += matrix(s.dw);
    if (has_bias_) {
      const auto per_channel = Eigen::Map<const RowMajorMatrix<S>>(dy.data(), n * out_channels(), g.positions())
                                   .rowwise()
                                   .sum()
                                   .eval();  // (N out)
      auto db = vector(bias_.grad.view());
      if (!accumulate) db.setZero();
      for (Index i = 0; i < n; ++i) db += per_channel.segment(i * out_channels(), out_channels());
    }
  }

  // Appends k output channels: incoming (k, C_in k k) filters and bias (k) (empty: zero bias).
  void grow_outputs(ConstView<S, D> incoming, ConstView<S, D> bias)
    requires std::same_as<D, Cpu>
  {
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

  // Appends k input channels: outgoing (k, C_out k k), one row per new channel holding its
  // (C_out, k, k) slice of W.
  void grow_inputs(ConstView<S, D> outgoing)
    requires std::same_as<D, Cpu>
  {
    const Index fan = out_channels() * kernel_ * kernel_;
    require<ShapeError>(outgoing.rank() == 2 && outgoing.dim(1) == fan, describe(),
                        "::grow_inputs: outgoing weights must be (k, ", fan, "), got ", outgoing.shape());
    const Index k = outgoing.dim(0);
    Tensor<S, D> block(Shape{out_channels(), k, kernel_, kernel_});
    ops::rows_to_axis<S>(outgoing, 1, block.view());
    grow::append_to_parameter(weight_, 1, block.cview());
  }

  template <class F>
  void visit_parameters(F&& f) {
    f(std::string_view("weight"), weight_);
    if (has_bias_) f(std::string_view("bias"), bias_);
  }

  Conv2d kind() const {
    return Conv2d{in_channels(), out_channels(), kernel_, stride_, padding_, has_bias_, init_};
  }

  std::string describe() const {
    return "Conv2d(" + std::to_string(in_channels()) + " -> " + std::to_string(out_channels()) + ", " +
           std::to_string(kernel_) + "x" + std::to_string(kernel_) + ", stride " + std::to_string(stride_) +
           ", padding " + std::to_string(padding_) + (has_bias_ ? ")" : ", no bias)");
  }

 private:
  struct Scratch {
    Tensor<S, Cpu> cols;  // (C k k, Ho Wo)
    Tensor<S, Cpu> dw;    // (out, C k k) partial weight gradient of this thread's samples
  };

  Eigen::Map<const RowMajorMatrix<S>> weight_matrix() const {
    return {weight_.value.data(), out_channels(), in_channels() * kernel_ * kernel_};
  }

  void prepare_scratch(const ops::ConvGeometry& g) {
    scratch_.resize(static_cast<std::size_t>(ops::max_threads()));
    for (auto& s : scratch_) {
      s.cols.resize(Shape{g.patch_size(), g.positions()});
      s.dw.resize(Shape{out_channels(), g.patch_size()});
    }
  }

  Parameter<S, D> weight_;
  Parameter<S, D> bias_;
  Index kernel_, stride_, padding_;
  bool has_bias_;
  WeightInit init_;
  std::vector<Scratch> scratch_;
};

static_assert(Layer<Conv2dLayer<float, Cpu>> && LayerKind<Conv2d>);

}  // namespace netgrow
