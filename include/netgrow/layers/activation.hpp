/// \file
/// netgrow/layers/activation.hpp: the layer that applies an activation function element-wise
/// (the functions and their traits are in activation_functions.hpp).
#pragma once

#include <string>

#include "netgrow/ops/elementwise.hpp"
#include "netgrow/layers/activation_functions.hpp"
#include "netgrow/layers/channel_route.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow {

/// Applies Act element-wise; any input rank; no parameters.
template <class Act, class S, class D>
class ActivationLayer {
  static_assert(Activation<Act>, "ActivationLayer: Act must satisfy netgrow::Activation (f, df and traits)");

 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = Act;
  ///@}

  /// Builds the layer from its activation kind; no parameters, so `rng` is not used.
  ActivationLayer(const Act& act, Rng&) : act_(act) {}

  /// The input shape: the activation is element-wise.
  Shape output_shape(const Shape& in) const { return in; }

  /// out = f(in), element-wise (any shape; out may alias in).
  void forward(ConstView<S, D> in, TensorView<S, D> out, Mode) { ops::activation_forward<Act, S>(act_, in, out); }

  /// grad_in = grad_out * f'(in), element-wise (skipped when grad_in is empty); no parameter gradients.
  void backward(ConstView<S, D> in, ConstView<S, D> out, ConstView<S, D> grad_out, TensorView<S, D> grad_in,
                bool) {
    if (grad_in.empty()) return;
    ops::activation_backward<Act, S>(act_, in, out, grad_out, grad_in);
  }

  /// No parameters: f is never called.
  template <class F>
  void visit_parameters(F&&) {}

  /// Element-wise maps have no products: 0 FLOPs (layers/layer.hpp counts multiply-adds only).
  double forward_flops(const Shape&) const { return 0.0; }

  /// Width growth between a grown pair (layers/layer.hpp): element-wise, so identity growth has nothing to
  /// do, new channels see the activation as it is, and its slope at zero is applied by the initializers.
  ///@{
  static constexpr bool keeps_layout = true;
  void grow_channels(Index) {}
  void route_new_channel(ChannelRoute&) const {}
  ActivationLayer new_channels_layer(Index) const { return *this; }
  ///@}

  /// The activation kind (its settings, e.g. LeakyRelu's slope).
  ///@{
  const Act& kind() const { return act_; }
  const Act& activation() const { return act_; }
  ///@}
  /// The activation's name, e.g. "Relu1".
  std::string describe() const { return std::string(Act::name); }

 private:
  Act act_;
};

static_assert(Layer<ActivationLayer<Relu1, float, Cpu>>);
static_assert(LayerKind<Relu1> && LayerKind<Relu> && LayerKind<LeakyRelu> && LayerKind<Tanh> &&
              LayerKind<Identity> && LayerKind<Gelu> && LayerKind<CenteredLogistic>);

}  // namespace netgrow
