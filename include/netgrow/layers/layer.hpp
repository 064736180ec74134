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
///   double forward_flops(const Shape& in) const     2 x the multiply-adds of one forward pass on `in`
///                                                   (0 for layers without products: element-wise,
///                                                   normalisation, pooling); network/flops.hpp sums them
///   Kind kind() const                               the current configuration (widths after growth)
///   std::string describe() const                    e.g. "Dense(784 -> 1024)"
/// ~~~
///
/// Everything else the library needs to know about a kind is declared next to it, never listed
/// elsewhere (examples/custom_layer defines a kind outside the library this way):
/// ~~~{.unparsed}
///   Kind::name, Kind::fields()          the kind's name and configuration fields (core/fields.hpp);
///                                       checkpoints record the kind from them (io/kind_config.hpp)
///   grow_outputs / grow_inputs, weight(), output_axis / input_axis
///                                       a weight layer that can be the producer / consumer of a width
///                                       growth (grow/traits.hpp)
///   grow_channels(k)                    sits between a grown pair and grows k channels by identity,
///                                       keeping its function on the old ones
///   route_new_channel(ChannelRoute&)    how a new channel passes through it (layers/channel_route.hpp;
///                                       GradMax's data reads it)
///   new_channels_layer(k)               the layer as it acts on k new channels alone (initializers that
///                                       evaluate new neurons on the batch: FireflyOpt, InverseGradMaxOpt)
///   rescale_input(c)                    absorbs a factor c on its input when right after a consumer
///                                       (variance transfer's consumer rescale; BatchNorm)
///   grow_channels_from(sources)         grows by copying channels (Net2Net split, LEMON)
///   set_identity(), Kind::shape_keeping(width)
///                                       can be inserted as an identity layer (depth growth)
///   static constexpr bool keeps_layout  its output has its input's rank and channel count, so depth
///                                       growth may look through it for a width
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
  { cl.forward_flops(shape) } -> std::convertible_to<double>;
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
