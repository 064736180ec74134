// Tests layers/dense.hpp: forward against a hand computation, gradient checks at odd widths (with and
// without bias, batch >= 2), initialisation, parameter access and shape errors.
#include <doctest/doctest.h>

#include "netgrow/layers/dense.hpp"
#include "support/gradcheck.hpp"

using namespace netgrow;

TEST_CASE("Dense computes x W^T + b with W stored (out, in)") {
  Rng rng(0);
  DenseLayer<double, Cpu> layer(Dense{.in = 3, .out = 2}, rng);
  layer.weight().value = Tensor<double>::from({2, 3}, {1, 2, 3, 4, 5, 6});
  layer.bias().value = Tensor<double>::from({2}, {0.5, -1});
  const auto x = Tensor<double>::from({2, 3}, {1, 0, -1, 2, 1, 0});
  Tensor<double> y(layer.output_shape(x.shape()));
  layer.forward(x, y, Mode::train);
  CHECK(y.to_vector() == std::vector<double>{1 - 3 + 0.5, 4 - 6 - 1, 2 + 2 + 0.5, 8 + 5 - 1});
}

TEST_CASE("Dense passes the gradient check at odd widths, with and without bias") {
  Rng rng(1);
  for (bool bias : {true, false}) {
    DenseLayer<double, Cpu> layer(Dense{.in = 7, .out = 5, .bias = bias}, rng);
    test::check_layer_gradients(layer, Shape{3, 7}, bias ? 21 : 22);
  }
  DenseLayer<double, Cpu> wide(Dense{.in = 1, .out = 9}, rng);
  test::check_layer_gradients(wide, Shape{2, 1}, 23);
}

TEST_CASE("Dense parameters are named weight and bias, and bias is not weight-decayed") {
  Rng rng(2);
  DenseLayer<float, Cpu> layer(Dense{.in = 4, .out = 3}, rng);
  std::vector<std::string> names;
  layer.visit_parameters([&](std::string_view n, Parameter<float, Cpu>& p) {
    names.emplace_back(n);
    CHECK(p.grad.shape() == p.value.shape());
  });
  CHECK(names == std::vector<std::string>{"weight", "bias"});
  CHECK(layer.weight().shape() == Shape{3, 4});
  CHECK(layer.weight().weight_decay);
  CHECK_FALSE(layer.bias().weight_decay);
  CHECK(parameter_count(layer) == 15);

  DenseLayer<float, Cpu> no_bias(Dense{.in = 4, .out = 3, .bias = false}, rng);
  CHECK(parameter_count(no_bias) == 12);
  CHECK_THROWS_AS(no_bias.bias(), StateError);
  CHECK(no_bias.describe() == "Dense(4 -> 3, no bias)");
}

TEST_CASE("Dense initialisation follows its WeightInit and the seed") {
  Rng a(5), b(5);
  DenseLayer<float, Cpu> la(Dense{.in = 50, .out = 40}, a);
  DenseLayer<float, Cpu> lb(Dense{.in = 50, .out = 40}, b);
  CHECK(la.weight().value.to_vector() == lb.weight().value.to_vector());
  const double bound = std::sqrt(6.0 / 90.0);
  for (float w : la.weight().value.span()) CHECK(std::abs(w) <= bound);
  for (float v : la.bias().value.span()) CHECK(v == 0.0f);

  Rng c(6);
  DenseLayer<float, Cpu> torch_like(Dense{.in = 16, .out = 8, .init = WeightInit::torch_default}, c);
  bool some_nonzero_bias = false;
  for (float v : torch_like.bias().value.span()) {
    CHECK(std::abs(v) <= 0.25f);
    some_nonzero_bias |= v != 0.0f;
  }
  CHECK(some_nonzero_bias);
}

TEST_CASE("Dense reports its current widths as its kind") {
  Rng rng(0);
  DenseLayer<float, Cpu> layer(Dense{.in = 6, .out = 2, .bias = false, .init = WeightInit::he_normal}, rng);
  const Dense k = layer.kind();
  CHECK(k.in == 6);
  CHECK(k.out == 2);
  CHECK_FALSE(k.bias);
  CHECK(k.init == WeightInit::he_normal);
}

TEST_CASE("Dense rejects bad widths and inputs with clear messages") {
  Rng rng(0);
  using FloatDense = DenseLayer<float, Cpu>;
  CHECK_THROWS_WITH_AS(FloatDense(Dense{.in = 0, .out = 3}, rng), doctest::Contains("in=0"), ArgumentError);
  DenseLayer<float, Cpu> layer(Dense{.in = 4, .out = 3}, rng);
  CHECK_THROWS_WITH_AS(layer.output_shape(Shape{8, 5}), doctest::Contains("expects 4 input features"), ShapeError);
  CHECK_THROWS_WITH_AS(layer.output_shape(Shape{8, 1, 2, 2}), doctest::Contains("Flatten"), ShapeError);
}
