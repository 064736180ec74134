/// \file
/// netgrow/layers/global_avg_pool.hpp: the mean of each channel over its spatial positions.
///
/// Shapes: x (N, C, H, W) -> y (N, C). Channel-wise, so it grows by identity between a grown pair, and a
/// convolution before it feeds a Dense layer one input per channel. The math is the op facade's
/// ops::global_avg_pool_* (backend/cpu/pool.hpp; backend/cuda/pool.hpp for Cuda).
#pragma once

#include <string>

#include "netgrow/ops/pool.hpp"
#include "netgrow/layers/channel_route.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow {

template <class S, class D>
class GlobalAvgPoolLayer;

/// Layer kind: GlobalAvgPool{} (no settings).
struct GlobalAvgPool {
  static constexpr std::string_view name = "GlobalAvgPool";  ///< the kind's name (checkpoint configs, messages)
  /// The layer this kind names: GlobalAvgPoolLayer<S, D>.
  template <class S, class D>
  using layer_type = GlobalAvgPoolLayer<S, D>;
};

/// The GlobalAvgPool layer for scalar S on device D: x (N, C, H, W) -> y (N, C), no parameters.
template <class S, class D>
class GlobalAvgPoolLayer {
 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = GlobalAvgPool;
  ///@}

  /// No parameters; nothing to draw.
  GlobalAvgPoolLayer(const GlobalAvgPool&, Rng&) {}

  /// (N, C) for an input (N, C, H, W); throws ShapeError for any other rank.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 4, "GlobalAvgPool expects input (N, C, H, W), got ", in);
    return Shape{in[0], in[1]};
  }

  /// y[n, c] = the mean of x[n, c] over H, W.
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode) { ops::global_avg_pool_forward<S>(x, y); }

  /// dx[n, c, h, w] = dy[n, c] / (H W) (assigned; skipped when dx is empty).
  void backward(ConstView<S, D>, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool) {
    if (!dx.empty()) ops::global_avg_pool_backward<S>(dy, dx);
  }

  /// Averages have no products: 0 FLOPs (layers/layer.hpp counts multiply-adds only).
  double forward_flops(const Shape&) const { return 0.0; }

  /// Identity growth between a grown pair: channel-wise, so nothing to do; each channel's map reaches the
  /// consumer as its mean.
  ///@{
  void grow_channels(Index) {}
  void route_new_channel(ChannelRoute& route) const { route.global_average(); }
  ///@}

  /// No parameters: f is never called.
  template <class F>
  void visit_parameters(F&&) {}

  GlobalAvgPool kind() const { return {}; }                 ///< the (empty) configuration
  std::string describe() const { return "GlobalAvgPool"; }  ///< "GlobalAvgPool"
};

static_assert(Layer<GlobalAvgPoolLayer<float, Cpu>> && LayerKind<GlobalAvgPool>);

}  // namespace netgrow
