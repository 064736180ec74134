/// \file
/// netgrow/layers/max_pool2d.hpp: 2-D max pooling over k x k windows (stride s, padding p with -inf).
///
/// Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo), Ho = (H + 2 p - k) / s + 1. The backward pass sends each
/// output's gradient to the position that won its window; ties go to the first position in row-major
/// window order (so a window of equal values, such as a grown channel's zeros, routes to its first
/// in-bounds element). Channel-wise, so it grows by identity between a grown pair.
/// The math is the op facade's ops::max_pool2d_* (backend/cpu/pool.hpp; backend/cuda/pool.hpp for Cuda).
#pragma once

#include <string>
#include <tuple>

#include "netgrow/ops/pool.hpp"
#include "netgrow/core/fields.hpp"
#include "netgrow/layers/channel_route.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow {

template <class S, class D>
class MaxPool2dLayer;

/// Layer kind: MaxPool2d{.kernel = 2, .stride = 2} (the defaults).
struct MaxPool2d {
  static constexpr std::string_view name = "MaxPool2d";  ///< the kind's name (checkpoint configs, messages)
  Index kernel = 2;                                      ///< square window side k
  Index stride = 2;                                      ///< stride s, both directions
  Index padding = 0;                                     ///< padding p with -inf, at most k / 2

  /// The configuration fields (core/fields.hpp); growth changes none.
  static constexpr auto fields() {
    return std::tuple{field("kernel", &MaxPool2d::kernel), field("stride", &MaxPool2d::stride), field("padding", &MaxPool2d::padding)};
  }

  /// The layer this kind names: MaxPool2dLayer<S, D>.
  template <class S, class D>
  using layer_type = MaxPool2dLayer<S, D>;
};

/// The MaxPool2d layer for scalar S on device D: x (N, C, H, W) -> y (N, C, Ho, Wo), no parameters (see the
/// file comment).
template <class S, class D>
class MaxPool2dLayer {
 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = MaxPool2d;
  ///@}

  /// Checks the window (kernel, stride >= 1, 0 <= padding <= kernel / 2); `rng` is not used.
  MaxPool2dLayer(const MaxPool2d& kind, Rng&) : kind_(kind) {
    require(kind.kernel >= 1 && kind.stride >= 1 && kind.padding >= 0 && 2 * kind.padding <= kind.kernel,
            "MaxPool2d: kernel ", kind.kernel, ", stride ", kind.stride, ", padding ", kind.padding,
            " are invalid (padding may be at most half the kernel)");
  }

  /// The window over one (H, W) map of an input (N, C, H, W).
  ops::ConvGeometry geometry(const Shape& in) const {
    return ops::ConvGeometry{1, in[2], in[3], kind_.kernel, kind_.stride, kind_.padding};
  }

  /// (N, C, Ho, Wo) for an input (N, C, H, W); throws ShapeError for any other rank or a window larger
  /// than the padded input.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 4, "MaxPool2d expects input (N, C, H, W), got ", in);
    const auto g = geometry(in);
    g.check("MaxPool2d");
    return Shape{in[0], in[1], g.out_height(), g.out_width()};
  }

  /// y = the maximum of each window; remembers each output's winning position for backward().
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode) {
    argmax_.resize(y.shape());
    ops::max_pool2d_forward<S>(x, geometry(x.shape()), y, argmax_.view());
  }

  /// dx = each dy routed to its window's winning position (assigned; skipped when dx is empty); throws
  /// StateError without a forward() on an input of this shape.
  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool) {
    if (dx.empty()) return;
    require<StateError>(argmax_.shape() == dy.shape() && output_shape(x.shape()) == dy.shape(),
                        "MaxPool2d::backward: run forward first (on an input of this shape)");
    ops::max_pool2d_backward<S>(dy, argmax_.cview(), geometry(x.shape()), dx);
  }

  /// Comparisons, no products: 0 FLOPs (layers/layer.hpp counts multiply-adds only).
  double forward_flops(const Shape&) const { return 0.0; }

  /// Identity growth between a grown pair: channel-wise, so nothing to do; a new channel's (tied, zero)
  /// windows route to their first element, the tie rule.
  ///@{
  static constexpr bool keeps_layout = true;
  void grow_channels(Index) {}
  void route_new_channel(ChannelRoute& route) const { route.pool(kind_.kernel, kind_.stride, kind_.padding, true); }
  ///@}

  /// No parameters: f is never called.
  template <class F>
  void visit_parameters(F&&) {}

  /// The configuration.
  MaxPool2d kind() const { return kind_; }
  /// E.g. "MaxPool2d(2x2, stride 2)".
  std::string describe() const {
    return "MaxPool2d(" + std::to_string(kind_.kernel) + "x" + std::to_string(kind_.kernel) + ", stride " +
           std::to_string(kind_.stride) + ")";
  }

 private:
  MaxPool2d kind_;
  Tensor<ops::PoolIndex, D> argmax_;  // (N, C, Ho, Wo): winning input position within its (H, W) map
};

static_assert(Layer<MaxPool2dLayer<float, Cpu>> && LayerKind<MaxPool2d>);

}  // namespace netgrow
