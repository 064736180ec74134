/// \file
/// netgrow/blocks/wide_block.hpp: the pre-activation residual basic block of Wide-ResNet, as the
/// GradMax reference builds it.
///
/// ~~~{.unparsed}
///   a = Relu(BatchNorm(x))                                   pre-activation
///   y = Conv3x3(inner -> out) . Relu1 . [BatchNorm] . Conv3x3(in -> inner, stride s) (a)  + skip
///   skip = x                          when in == out and s == 1
///        = Conv1x1(in -> out, stride s)(a)   otherwise (projection of the pre-activated input)
/// ~~~
///
/// Shapes: x (N, in, H, W) -> y (N, out, ceil(H / s), ceil(W / s)). Convolutions have no bias and
/// He-normal weights, like the reference. The inner activation is Relu1 (slope 1 at 0) because the
/// inner width is what grows: new channels start at pre-activation 0, and GradMax needs f'(0) != 0.
/// (The reference needs width multiplier 1 because it never projects when only the channel count
/// changes; here any in/out pair works.)
///
/// Growth: the inner width is the pair (0, consumer_index) of branch(), a Sequential — grow it with
/// grow::grow_width<0, WideBlockLayer::consumer_index>(block.branch(), ...), and compute GradMax data
/// with grow::data_from_last_backward on branch() after a forward/backward of the whole network.
#pragma once

#include <optional>
#include <string>

#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/batch_norm.hpp"
#include "netgrow/layers/conv2d.hpp"
#include "netgrow/network/flops.hpp"
#include "netgrow/network/sequential.hpp"

namespace netgrow {

template <bool InnerNorm, class S, class D>
class WideBlockLayer;

/// Layer kind. WideBlock has no normalisation between the two convolutions (the reference's default,
/// normalization_type 'none'); WideBlockBN puts a BatchNorm there.
template <bool InnerNorm>
struct WideBlockKind {
  /// The kind's name (checkpoint configs, messages).
  static constexpr std::string_view name = InnerNorm ? "WideBlockBN" : "WideBlock";
  Index in = 0;              ///< input channels
  Index inner = 0;           ///< inner width (the output of the first convolution; what grows)
  Index out = 0;             ///< output channels
  Index stride = 1;          ///< stride of the first convolution (and of the projection)
  double bn_momentum = 0.1;  ///< PyTorch convention (the reference's Keras momentum 0.9)
  double bn_eps = 1e-5;      ///< the BatchNorms' eps

  /// The configuration fields (core/fields.hpp): growth changes in, inner and out.
  static constexpr auto fields() {
    return std::tuple{field("in", &WideBlockKind::in, FieldRole::width),
                      field("inner", &WideBlockKind::inner, FieldRole::width),
                      field("out", &WideBlockKind::out, FieldRole::width), field("stride", &WideBlockKind::stride),
                      field("bn_momentum", &WideBlockKind::bn_momentum), field("bn_eps", &WideBlockKind::bn_eps)};
  }

  /// The layer this kind names: WideBlockLayer<InnerNorm, S, D>.
  /// The kind of a block that maps `width` channels to `width` with an identity skip (depth growth):
  /// stride 1, this block's inner width and BatchNorm settings.
  WideBlockKind shape_keeping(Index width) const {
    WideBlockKind k = *this;
    k.in = k.out = width;
    k.stride = 1;
    return k;
  }

  template <class S, class D>
  using layer_type = WideBlockLayer<InnerNorm, S, D>;
};
using WideBlock = WideBlockKind<false>;   ///< no normalisation between the convolutions
using WideBlockBN = WideBlockKind<true>;  ///< a BatchNorm between the convolutions

namespace detail {
template <bool InnerNorm, class S, class D>
struct WideBranch {
  using type = Sequential<S, D, Conv2d, Relu1, Conv2d>;
};
template <class S, class D>
struct WideBranch<true, S, D> {
  using type = Sequential<S, D, Conv2d, BatchNorm, Relu1, Conv2d>;
};
}  // namespace detail

/// The Wide-ResNet block for scalar S on device D: x (N, in, H, W) -> y (N, out, ceil(H / s), ceil(W / s))
/// (see the file comment); its parts are Sequentials, so their layers are reachable for growth.
template <bool InnerNorm, class S, class D>
class WideBlockLayer {
 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = WideBlockKind<InnerNorm>;
  ///@}
  using PreActivation = Sequential<S, D, BatchNorm, Relu>;            ///< a = Relu(BatchNorm(x))
  using Branch = typename detail::WideBranch<InnerNorm, S, D>::type;  ///< Conv2d, [BatchNorm,] Relu1, Conv2d
  static constexpr std::size_t producer_index = 0;                    ///< the grown pair inside branch()
  static constexpr std::size_t consumer_index = InnerNorm ? 3 : 2;    ///< the pair's consumer inside branch()

  /// Builds the pre-activation, the branch and, when in != out or stride != 1, the 1x1 projection, drawing
  /// the convolutions from `rng` in that order.
  WideBlockLayer(const kind_type& kind, Rng& rng)
      : pre_(make_pre(kind, rng)), branch_(make_branch(kind, rng)), stride_(kind.stride) {
    require(kind.stride >= 1, describe_kind(kind), ": stride must be >= 1");
    if (kind.in != kind.out || kind.stride != 1)
      shortcut_.emplace(Conv2d{.in = kind.in, .out = kind.out, .kernel = 1, .stride = kind.stride, .padding = 0,
                               .bias = false, .init = WeightInit::he_normal},
                        rng);
  }

  /// Input channels.
  Index in_channels() const { return pre_.template layer<0>().channels(); }
  /// The current inner width.
  Index inner_channels() const { return branch_.template layer<0>().out_channels(); }
  /// Output channels.
  Index out_channels() const { return branch_.template layer<consumer_index>().out_channels(); }
  Index stride() const { return stride_; }                       ///< stride s
  bool has_projection() const { return shortcut_.has_value(); }  ///< the skip is a 1x1 convolution

  PreActivation& pre_activation() { return pre_; }  ///< BatchNorm, Relu applied to x
  /// The residual branch; the grown pair is (producer_index, consumer_index).
  ///@{
  Branch& branch() { return branch_; }
  const Branch& branch() const { return branch_; }
  ///@}
  /// The 1x1 projection of the skip; throws StateError for a block with an identity skip.
  Conv2dLayer<S, D>& projection() {
    require<StateError>(shortcut_.has_value(), "WideBlock::projection: this block has an identity skip");
    return *shortcut_;
  }

  /// (N, out, Ho, Wo) for an input (N, in, H, W); throws ShapeError for any other input shape.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 4 && in[1] == in_channels(), describe(), " expects (N, ", in_channels(),
                        ", H, W), got ", in);
    return branch_.output_shape(pre_.output_shape(in));
  }

  /// y = branch(a) + skip, a = pre_activation(x); skip = x or projection(a).
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode mode) {
    const ConstView<S, D> a = pre_.forward(x, mode);
    const ConstView<S, D> h = branch_.forward(a, mode);
    if (shortcut_) {
      shortcut_->forward(a, y, mode);
    } else {
      ops::copy<S>(x, y);
    }
    ops::axpy<S>(S(1), h, y);
  }

  /// Back-propagates dy through the branch, the skip and the pre-activation: parameter gradients
  /// assigned or accumulated, dx assigned (skipped when empty). Needs the forward() of this x.
  void backward(ConstView<S, D> x, ConstView<S, D> y, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    branch_.backward(dy, {.accumulate = accumulate, .input_grad = true});
    const ConstView<S, D> a = pre_.template output<1>();
    ConstView<S, D> da = branch_.input_grad();
    if (shortcut_) {
      skip_grad_.resize(a.shape());
      shortcut_->backward(a, y, dy, skip_grad_.view(), accumulate);
      ops::axpy<S>(S(1), da, skip_grad_.view());
      da = skip_grad_.cview();
    }
    pre_.backward(da, {.accumulate = accumulate, .input_grad = !dx.empty()});
    if (dx.empty()) return;
    ops::copy<S>(pre_.input_grad(), dx);
    if (!shortcut_) ops::axpy<S>(S(1), dy, dx);
    (void)x;
  }

  /// Names: "pre.0.weight" (BatchNorm), "branch.0.weight" (first conv), "branch.<c>.weight" (second
  /// conv), "shortcut.weight" (projection, when present).
  /// The branch's FLOPs, and the projection's when the skip projects (the pre-activation has no products).
  double forward_flops(const Shape& in) const {
    double flops = netgrow::forward_flops(branch_, pre_.output_shape(in));
    if (shortcut_) flops += shortcut_->forward_flops(pre_.output_shape(in));
    return flops;
  }

  template <class F>
  void visit_parameters(F&& f) {
    pre_.visit_parameters([&](const std::string& name, Parameter<S, D>& p) { f(std::string_view("pre." + name), p); });
    branch_.visit_parameters(
        [&](const std::string& name, Parameter<S, D>& p) { f(std::string_view("branch." + name), p); });
    if (shortcut_) shortcut_->visit_parameters([&](std::string_view name, Parameter<S, D>& p) {
      f(std::string_view("shortcut." + std::string(name)), p);
    });
  }

  /// The current configuration (inner width after growth).
  kind_type kind() const {
    const auto& bn = pre_.template layer<0>();
    return kind_type{in_channels(), inner_channels(), out_channels(), stride_, bn.momentum(), bn.eps()};
  }

  /// E.g. "WideBlock(16 -> 32 -> 32, stride 2)".
  std::string describe() const { return describe_kind(kind()); }

 private:
  static std::string describe_kind(const kind_type& k) {
    return std::string(kind_type::name) + "(" + std::to_string(k.in) + " -> " + std::to_string(k.inner) + " -> " +
           std::to_string(k.out) + (k.stride != 1 ? ", stride " + std::to_string(k.stride) : "") + ")";
  }
  static PreActivation make_pre(const kind_type& k, Rng& rng) {
    return PreActivation(rng, BatchNorm{.channels = k.in, .momentum = k.bn_momentum, .eps = k.bn_eps}, Relu{});
  }
  static Branch make_branch(const kind_type& k, Rng& rng) {
    const Conv2d first{.in = k.in, .out = k.inner, .kernel = 3, .stride = k.stride, .padding = 1, .bias = false,
                       .init = WeightInit::he_normal};
    const Conv2d second{.in = k.inner, .out = k.out, .kernel = 3, .stride = 1, .padding = 1, .bias = false,
                        .init = WeightInit::he_normal};
    if constexpr (InnerNorm)
      return Branch(rng, first, BatchNorm{.channels = k.inner, .momentum = k.bn_momentum, .eps = k.bn_eps}, Relu1{},
                    second);
    else
      return Branch(rng, first, Relu1{}, second);
  }

  PreActivation pre_;
  Branch branch_;
  std::optional<Conv2dLayer<S, D>> shortcut_;
  Index stride_;
  Tensor<S, D> skip_grad_;  // dLoss/da through both paths when the skip projects
};

static_assert(Layer<WideBlockLayer<false, float, Cpu>> && LayerKind<WideBlock> && LayerKind<WideBlockBN>);

}  // namespace netgrow
