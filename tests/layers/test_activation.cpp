// Tests layers/activation.hpp: the element-wise activation layer (gradient check for every
// activation, any rank, no parameters).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

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

TEST_CASE("a float Gelu layer (the vectorised array path) is as accurate as float's scalar erfc, far into both "
          "tails") {
  Rng rng(5);
  ActivationLayer<Gelu, float, Cpu> layer(Gelu{}, rng);
  const Index n = 20001;  // odd, several chunks of the back end's blocks
  Tensor<float> x(Shape{n}), y(Shape{n}), dy(Shape{n}), dx(Shape{n});
  for (Index i = 0; i < n; ++i) x[i] = -12.0f + 24.0f * static_cast<float>(i) / static_cast<float>(n - 1), dy[i] = 1.0f;
  layer.forward(x.cview(), y.view(), Mode::train);
  layer.backward(x.cview(), y.cview(), dy.cview(), dx.view(), false);
  // Errors against the exact double Gelu: relative for f, relative with a floor of 1e-3 for f' (it
  // crosses 0 near x = -0.75); float's scalar f and df (std::erfc in float) are the yardstick.
  const Gelu g;
  double array_f = 0, scalar_f = 0, array_df = 0, scalar_df = 0;
  for (Index i = 0; i < n; ++i) {
    const double xi = x[i], f = g.f(xi), df = g.df(xi, f);
    const double fs = std::max(std::abs(f), 1e-30), dfs = std::max(std::abs(df), 1e-3);
    array_f = std::max(array_f, std::abs(y[i] - f) / fs);
    scalar_f = std::max(scalar_f, std::abs(g.f(x[i]) - f) / fs);
    array_df = std::max(array_df, std::abs(dx[i] - df) / dfs);
    scalar_df = std::max(scalar_df, std::abs(g.df(x[i], 0.0f) - df) / dfs);
  }
  CHECK(array_f < 3e-5);
  CHECK(array_df < 1e-4);
  CHECK(array_f < 3 * scalar_f);
  CHECK(array_df < 3 * scalar_df);
}
