// netgrow/layers/activation.hpp: the layer that applies an activation function element-wise
// (the functions and their traits are in activation_functions.hpp).
#pragma once

#include <string>

#include "netgrow/backend/cpu/elementwise.hpp"
#include "netgrow/layers/activation_functions.hpp"
#include "netgrow/layers/layer.hpp"
#if defined(__CUDACC__)
#include "netgrow/backend/cuda/ops.hpp"  // the Cuda overloads of the ops:: calls below
#endif

namespace netgrow {

// Applies Act element-wise; any input rank; no parameters.
template <class Act, class S, class D>
class ActivationLayer {
  static_assert(Activation<Act>, "ActivationLayer: Act must satisfy netgrow::Activation (f, df and traits)");

 public:
  using scalar_type = S;
  using device_type = D;
  using kind_type = Act;

  ActivationLayer(const Act& act, Rng&) : act_(act) {}

  Shape output_shape(const Shape& in) const { return in; }

  void forward(ConstView<S, D> in, TensorView<S, D> out, Mode) { ops::activation_forward(act_, in, out); }

  void backward(ConstView<S, D> in, ConstView<S, D> out, ConstView<S, D> grad_out, TensorView<S, D> grad_in,
                bool) {
    if (grad_in.empty()) return;
    ops::activation_backward(act_, in, out, grad_out, grad_in);
  }

  template <class F>
  void visit_parameters(F&&) {}

  // Identity growth between a grown pair: element-wise, so nothing to do.
  void grow_channels(Index) {}

  const Act& kind() const { return act_; }
  const Act& activation() const { return act_; }
  std::string describe() const { return std::string(Act::name); }

 private:
  Act act_;
};

static_assert(Layer<ActivationLayer<Relu1, float, Cpu>>);
static_assert(LayerKind<Relu1> && LayerKind<Relu> && LayerKind<LeakyRelu> && LayerKind<Tanh> &&
              LayerKind<Identity> && LayerKind<Gelu> && LayerKind<CenteredLogistic>);

}  // namespace netgrow
