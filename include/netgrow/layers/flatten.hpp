/// \file
/// netgrow/layers/flatten.hpp: (N, d1, d2, ...) -> (N, d1 * d2 * ...). No parameters; row-major
/// storage makes it a plain copy (the element order does not change).
/// Between a grown convolution and a Dense layer it grows by identity: each of the producer's channels
/// becomes channel_multiplier() = d2 * d3 ... consecutive inputs of the Dense layer (its last input's
/// spatial size), and new channels append their blocks at the end.
#pragma once

#include <string>

#include "netgrow/ops/blas.hpp"
#include "netgrow/layers/channel_route.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow {

template <class S, class D>
class FlattenLayer;

/// Layer kind: Flatten{} (no settings).
struct Flatten {
  static constexpr std::string_view name = "Flatten";  ///< the kind's name (checkpoint configs, messages)
  /// The layer this kind names: FlattenLayer<S, D>.
  template <class S, class D>
  using layer_type = FlattenLayer<S, D>;
};

/// The Flatten layer for scalar S on device D: (N, d1, d2, ...) -> (N, d1 * d2 * ...), no parameters.
template <class S, class D>
class FlattenLayer {
 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = Flatten;
  ///@}

  /// No parameters; nothing to draw.
  FlattenLayer(const Flatten&, Rng&) {}

  /// (N, d1 * d2 * ...) for an input (N, d1, d2, ...); (N, 1) for a rank-1 input.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() >= 1, "Flatten expects an input with a batch dimension, got ", in);
    return Shape{in[0], in.rank() == 1 ? Index{1} : in.inner_numel()};
  }

  /// out = in, a plain copy; records channel_multiplier() for growth.
  void forward(ConstView<S, D> in, TensorView<S, D> out, Mode) {
    multiplier_ = in.rank() >= 2 ? in.shape().inner_numel() / in.dim(1) : 1;
    ops::copy<S>(in, out);
  }

  /// grad_in = grad_out, a plain copy (skipped when grad_in is empty).
  void backward(ConstView<S, D>, ConstView<S, D>, ConstView<S, D> grad_out, TensorView<S, D> grad_in, bool) {
    if (!grad_in.empty()) ops::copy<S>(grad_out, grad_in);
  }

  /// No parameters: f is never called.
  template <class F>
  void visit_parameters(F&&) {}

  /// A copy has no products: 0 FLOPs.
  double forward_flops(const Shape&) const { return 0.0; }

  /// Identity growth between a grown pair: new channels' blocks append at the end, nothing to store;
  /// each channel's map becomes consecutive inputs of the consumer.
  ///@{
  void grow_channels(Index) {}
  void route_new_channel(ChannelRoute& route) const { route.flatten(); }
  ///@}
  /// Outputs per input channel (H W for an (N, C, H, W) input), from the last forward().
  Index channel_multiplier() const {
    require<StateError>(multiplier_ > 0, "Flatten: growth through Flatten needs one forward() first, to know the "
                                         "spatial size of its input");
    return multiplier_;
  }

  Flatten kind() const { return {}; }                 ///< the (empty) configuration
  std::string describe() const { return "Flatten"; }  ///< "Flatten"

 private:
  Index multiplier_ = 0;
};

static_assert(Layer<FlattenLayer<float, Cpu>> && LayerKind<Flatten>);

}  // namespace netgrow
