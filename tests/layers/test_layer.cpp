// Tests layers/layer.hpp: the Layer and LayerKind concepts accept netgrow's layers and reject types
// that miss part of the contract.
#include <doctest/doctest.h>

#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/flatten.hpp"

using namespace netgrow;

namespace {

// Has everything but backward.
template <class S, class D>
struct NoBackwardLayer;
struct NoBackward {
  template <class S, class D>
  using layer_type = NoBackwardLayer<S, D>;
};
template <class S, class D>
struct NoBackwardLayer {
  using scalar_type = S;
  using device_type = D;
  using kind_type = NoBackward;
  NoBackwardLayer(const NoBackward&, Rng&) {}
  Shape output_shape(const Shape& s) const { return s; }
  void forward(ConstView<S, D>, TensorView<S, D>, Mode) {}
  template <class F>
  void visit_parameters(F&&) {}
  NoBackward kind() const { return {}; }
  std::string describe() const { return "NoBackward"; }
};

}  // namespace

TEST_CASE("netgrow's layers satisfy Layer for float and double, and their kinds satisfy LayerKind") {
  static_assert(Layer<DenseLayer<double, Cpu>>);
  static_assert(Layer<ActivationLayer<Tanh, double, Cpu>>);
  static_assert(Layer<FlattenLayer<double, Cpu>>);
  static_assert(LayerKind<Dense> && LayerKind<Flatten> && LayerKind<Relu1>);
  static_assert(std::is_same_v<layer_t<Dense, double, Cpu>, DenseLayer<double, Cpu>>);
  static_assert(std::is_same_v<layer_t<Gelu, float, Cpu>, ActivationLayer<Gelu, float, Cpu>>);
  CHECK(true);
}

TEST_CASE("types missing part of the contract are not layers") {
  static_assert(!Layer<NoBackwardLayer<float, Cpu>>);
  static_assert(!LayerKind<NoBackward>);
  static_assert(!LayerKind<int>);
  static_assert(!LayerKind<DenseLayer<float, Cpu>>);  // an implementation is not a kind
  CHECK(true);
}

TEST_CASE("parameter_count sums every parameter of a layer") {
  Rng rng(0);
  DenseLayer<float, Cpu> layer(Dense{.in = 10, .out = 4}, rng);
  CHECK(parameter_count(layer) == 44);
}
