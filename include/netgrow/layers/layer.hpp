/// \file
/// netgrow/layers/layer.hpp: what a layer is. The Layer concept, layer kinds, forward modes.
///
/// A *layer kind* is a small configuration struct (Dense{.in = 784, .out = 1024}, Relu1{}, Flatten{})
/// that names the layer in a network's type list and carries its run-time settings. It binds to its
/// implementation for a scalar type and device through `Kind::layer_type<Scalar, Device>`:
///
/// ~~~
///   Sequential<float, Cpu, Dense, Relu1, Dense>   // kinds in the type, widths at run time
/// ~~~
///
/// A *layer* (the implementation) satisfies the Layer concept below:
///
/// ~~~{.unparsed}
///   Layer(const Kind& kind, Rng& rng)               builds and initialises its parameters
///   Shape output_shape(const Shape& in) const       throws ShapeError when `in` does not fit
///   void forward(in, out, Mode)                     out is pre-sized to output_shape(in.shape());
///                                                   assigns out
///   void backward(in, out, grad_out, grad_in, acc)  in/out are the tensors of the last forward();
///                                                   assigns grad_in (skipped when grad_in is empty);
///                                                   assigns parameter gradients, or adds to them
///                                                   when acc is true
///   void visit_parameters(f)                        calls f(std::string_view name, Parameter&) for
///                                                   each parameter, in a fixed order
///   Kind kind() const                               the current configuration (widths after growth)
///   std::string describe() const                    e.g. "Dense(784 -> 1024)"
/// ~~~
#pragma once

#include <concepts>
#include <string>
#include <string_view>

#include "netgrow/core/device.hpp"
#include "netgrow/core/rng.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/layers/parameter.hpp"

namespace netgrow {

/// Training mode uses batch statistics and stores what backward needs; evaluation mode uses running
/// statistics (BatchNorm) and may skip the bookkeeping.
enum class Mode { train, eval };

/// The implementation of layer kind K for scalar S on device D.
template <class K, class S, class D>
using layer_t = typename K::template layer_type<S, D>;

namespace detail {

// Stand-in visitor used to state the visit_parameters requirement.
template <class S, class D>
struct ParameterProbe {
  void operator()(std::string_view, Parameter<S, D>&) const {}
};

template <class L, class S, class D>
concept LayerOperations = requires(L& l, const L& cl, const Shape& shape, ConstView<S, D> in, TensorView<S, D> out,
                                   Mode mode, bool accumulate, ParameterProbe<S, D> probe) {
  { cl.output_shape(shape) } -> std::same_as<Shape>;
  l.forward(in, out, mode);
  l.backward(in, in, in, out, accumulate);
  l.visit_parameters(probe);
  cl.kind();
  { cl.describe() } -> std::convertible_to<std::string>;
};

}  // namespace detail

/// A layer implementation: scalar_type, device_type and kind_type, built from (const Kind&, Rng&), with
/// the operations listed in the file comment.
template <class L>
concept Layer = requires {
  typename L::scalar_type;
  typename L::device_type;
  typename L::kind_type;
} && Device<typename L::device_type> &&
                detail::LayerOperations<L, typename L::scalar_type, typename L::device_type> &&
                std::constructible_from<L, const typename L::kind_type&, Rng&>;

/// A layer kind: names a Layer for every scalar type, checked here for float on the CPU.
template <class K>
concept LayerKind = requires { typename K::template layer_type<float, Cpu>; } && Layer<layer_t<K, float, Cpu>> &&
                    std::same_as<typename layer_t<K, float, Cpu>::kind_type, K>;

/// Number of trainable scalars of a layer.
template <class L>
Index parameter_count(L& layer) {
  Index n = 0;
  layer.visit_parameters([&](std::string_view, auto& p) { n += p.numel(); });
  return n;
}

}  // namespace netgrow
