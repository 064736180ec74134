/// \file
/// netgrow/layers/avg_pool2d.hpp: 2-D average pooling over k x k windows (stride s, zero padding p;
/// the average always divides by k * k, PyTorch's count_include_pad = true).
///
/// Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo). Channel-wise and linear, so it grows by identity between
/// a grown pair. The math is the op facade's ops::avg_pool2d_* (backend/cpu/pool.hpp; backend/cuda/pool.hpp
/// for Cuda).
#pragma once

#include <string>
#include <tuple>

#include "netgrow/ops/pool.hpp"
#include "netgrow/core/fields.hpp"
#include "netgrow/layers/channel_route.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow {

template <class S, class D>
class AvgPool2dLayer;

/// Layer kind: AvgPool2d{.kernel = 2, .stride = 2} (the defaults).
struct AvgPool2d {
  static constexpr std::string_view name = "AvgPool2d";  ///< the kind's name (checkpoint configs, messages)
  Index kernel = 2;                                      ///< square window side k
  Index stride = 2;                                      ///< stride s, both directions
  Index padding = 0;                                     ///< zero padding p, at most k / 2

  /// The configuration fields (core/fields.hpp); growth changes none.
  static constexpr auto fields() {
    return std::tuple{field("kernel", &AvgPool2d::kernel), field("stride", &AvgPool2d::stride), field("padding", &AvgPool2d::padding)};
  }

  /// The layer this kind names: AvgPool2dLayer<S, D>.
  template <class S, class D>
  using layer_type = AvgPool2dLayer<S, D>;
};

/// The AvgPool2d layer for scalar S on device D: x (N, C, H, W) -> y (N, C, Ho, Wo), no parameters (see the
/// file comment).
template <class S, class D>
class AvgPool2dLayer {
 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = AvgPool2d;
  ///@}

  /// Checks the window (kernel, stride >= 1, 0 <= padding <= kernel / 2); `rng` is not used.
  AvgPool2dLayer(const AvgPool2d& kind, Rng&) : kind_(kind) {
    require(kind.kernel >= 1 && kind.stride >= 1 && kind.padding >= 0 && 2 * kind.padding <= kind.kernel,
            "AvgPool2d: kernel ", kind.kernel, ", stride ", kind.stride, ", padding ", kind.padding,
            " are invalid (padding may be at most half the kernel)");
  }

  /// The window over one (H, W) map of an input (N, C, H, W).
  ops::ConvGeometry geometry(const Shape& in) const {
    return ops::ConvGeometry{1, in[2], in[3], kind_.kernel, kind_.stride, kind_.padding};
  }

  /// (N, C, Ho, Wo) for an input (N, C, H, W); throws ShapeError for any other rank or a window larger
  /// than the padded input.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 4, "AvgPool2d expects input (N, C, H, W), got ", in);
    const auto g = geometry(in);
    g.check("AvgPool2d");
    return Shape{in[0], in[1], g.out_height(), g.out_width()};
  }

  /// y = the mean of each window (padding counts as zeros, divisor k * k).
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode) {
    ops::avg_pool2d_forward<S>(x, geometry(x.shape()), y);
  }

  /// dx = each dy / (k * k) spread over its window (assigned; skipped when dx is empty).
  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool) {
    if (dx.empty()) return;
    ops::avg_pool2d_backward<S>(dy, geometry(x.shape()), dx);
  }

  /// Window sums, no products: 0 FLOPs (layers/layer.hpp counts multiply-adds only).
  double forward_flops(const Shape&) const { return 0.0; }

  /// Identity growth between a grown pair: channel-wise, so nothing to do; a new channel's windows are
  /// averaged.
  ///@{
  static constexpr bool keeps_layout = true;
  void grow_channels(Index) {}
  void route_new_channel(ChannelRoute& route) const { route.pool(kind_.kernel, kind_.stride, kind_.padding, false); }
  ///@}

  /// No parameters: f is never called.
  template <class F>
  void visit_parameters(F&&) {}

  /// The configuration.
  AvgPool2d kind() const { return kind_; }
  /// E.g. "AvgPool2d(2x2, stride 2)".
  std::string describe() const {
    return "AvgPool2d(" + std::to_string(kind_.kernel) + "x" + std::to_string(kind_.kernel) + ", stride " +
           std::to_string(kind_.stride) + ")";
  }

 private:
  AvgPool2d kind_;
};

static_assert(Layer<AvgPool2dLayer<float, Cpu>> && LayerKind<AvgPool2d>);

}  // namespace netgrow
