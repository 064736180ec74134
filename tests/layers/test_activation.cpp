// Tests layers/activation.hpp: the element-wise activation layer (gradient check for every
// activation, any rank, no parameters).
#include <doctest/doctest.h>

#include "netgrow/layers/activation.hpp"
#include "support/gradcheck.hpp"

using namespace netgrow;

TEST_CASE_TEMPLATE("every activation layer passes the gradient check at odd sizes", A, Relu1, Relu, LeakyRelu, Tanh,
                   Identity, Gelu, CenteredLogistic) {
  Rng rng(3);
  ActivationLayer<A, double, Cpu> layer(A{}, rng);
  test::check_layer_gradients(layer, Shape{3, 7}, 11);
  test::check_layer_gradients(layer, Shape{2, 3, 5, 5}, 12);  // rank 4 works element-wise
  CHECK(parameter_count(layer) == 0);
  CHECK(layer.describe() == A::name);
}

TEST_CASE("an activation layer keeps the input shape and skips an empty input gradient") {
  Rng rng(0);
  ActivationLayer<Relu1, float, Cpu> layer(Relu1{}, rng);
  CHECK(layer.output_shape(Shape{4, 2, 3}) == Shape{4, 2, 3});
  const auto x = Tensor<float>::from({2, 2}, {-1.f, 0.f, 2.f, -3.f});
  Tensor<float> y({2, 2});
  layer.forward(x, y, Mode::train);
  CHECK(y.to_vector() == std::vector<float>{0.f, 0.f, 2.f, 0.f});
  layer.backward(x, y, y, TensorView<float>(), false);  // no throw, nothing to write
}

TEST_CASE("a LeakyRelu layer keeps its run-time slope as its kind") {
  Rng rng(0);
  ActivationLayer<LeakyRelu, double, Cpu> layer(LeakyRelu{.slope = 0.3}, rng);
  CHECK(layer.kind().slope == doctest::Approx(0.3));
}
