// Tests network/sequential.hpp: composition, forward/backward through all layers (gradient check of a
// whole network, inputs included), stored outputs and gradients, parameter visitation and naming,
// and the errors a wrongly used network gives.
#include <doctest/doctest.h>

#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/flatten.hpp"
#include "netgrow/network/sequential.hpp"
#include "support/gradcheck.hpp"

using namespace netgrow;

namespace {

using Mlp = Sequential<double, Cpu, Flatten, Dense, Tanh, Dense, Relu1, Dense>;

Mlp make_mlp(Rng& rng) {
  return Mlp(rng, Flatten{}, Dense{.in = 6, .out = 5}, Tanh{}, Dense{.in = 5, .out = 7}, Relu1{},
             Dense{.in = 7, .out = 3});
}

}  // namespace

TEST_CASE("make_sequential deduces the layer list and layer<I> gives each layer") {
  Rng rng(0);
  auto net = make_sequential<float, Cpu>(rng, Dense{.in = 4, .out = 3}, Relu1{}, Dense{.in = 3, .out = 2});
  static_assert(std::is_same_v<decltype(net), Sequential<float, Cpu, Dense, Relu1, Dense>>);
  static_assert(decltype(net)::size == 3);
  CHECK(net.layer<0>().out_features() == 3);
  CHECK(net.layer<2>().in_features() == 3);
  CHECK(net.describe() == "0: Dense(4 -> 3)\n1: Relu1\n2: Dense(3 -> 2)\n");
  CHECK(net.parameter_count() == 4 * 3 + 3 + 3 * 2 + 2);
  CHECK(net.output_shape(Shape{9, 4}) == Shape{9, 2});
}

TEST_CASE("forward equals applying the layers one by one") {
  Rng rng(1);
  Mlp net = make_mlp(rng);
  Tensor<double> x = test::random_tensor(Shape{4, 2, 3}, rng);
  const auto y = net.forward(x);
  REQUIRE(y.shape() == Shape{4, 3});

  Tensor<double> a({4, 6}), b({4, 5}), c({4, 5}), d({4, 7}), e({4, 7}), f({4, 3});
  net.layer<0>().forward(x, a, Mode::train);
  net.layer<1>().forward(a, b, Mode::train);
  net.layer<2>().forward(b, c, Mode::train);
  net.layer<3>().forward(c, d, Mode::train);
  net.layer<4>().forward(d, e, Mode::train);
  net.layer<5>().forward(e, f, Mode::train);
  for (Index i = 0; i < f.numel(); ++i) CHECK(y[i] == f[i]);
  for (Index i = 0; i < d.numel(); ++i) CHECK(net.output<3>()[i] == d[i]);
}

TEST_CASE("a whole network passes the gradient check for its input and every parameter") {
  Rng rng(2);
  Mlp net = make_mlp(rng);
  Tensor<double> x = test::random_tensor(Shape{3, 2, 3}, rng);
  Tensor<double> r = test::random_tensor(Shape{3, 3}, rng);
  auto loss = [&] { return test::dot(net.forward(x), r); };

  loss();
  net.backward(r, {.input_grad = true});
  Tensor<double> dx;
  dx.copy_from(net.input_grad());
  std::vector<Tensor<double>> grads;
  net.visit_parameters([&](const std::string&, Parameter<double, Cpu>& p) { grads.push_back(p.grad.clone()); });

  CHECK(test::max_gradient_error(loss, x.view(), dx) < test::gradcheck_tolerance);
  std::size_t k = 0;
  net.visit_parameters([&](const std::string& name, Parameter<double, Cpu>& p) {
    INFO("parameter ", name);
    CHECK(test::max_gradient_error(loss, p.value.view(), grads[k++]) < test::gradcheck_tolerance);
  });
}

TEST_CASE("output_grad<I> holds dLoss/d(output of layer I) and the last one is the gradient passed in") {
  Rng rng(3);
  auto net = make_sequential<double, Cpu>(rng, Dense{.in = 3, .out = 4, .bias = false}, Identity{},
                                          Dense{.in = 4, .out = 2, .bias = false});
  Tensor<double> x = test::random_tensor(Shape{5, 3}, rng);
  Tensor<double> g = test::random_tensor(Shape{5, 2}, rng);
  net.forward(x);
  net.backward(g);
  CHECK(net.output_grad<2>().data() == g.data());
  // Through an identity activation, dL/dh1 = g W2 for both layer 0 and layer 1 outputs.
  const auto& w2 = net.layer<2>().weight().value;
  for (Index n = 0; n < 5; ++n)
    for (Index j = 0; j < 4; ++j) {
      double expected = 0;
      for (Index o = 0; o < 2; ++o) expected += g.at(n, o) * w2.at(o, j);
      CHECK(net.output_grad<1>().at(n, j) == doctest::Approx(expected));
      CHECK(net.output_grad<0>().at(n, j) == doctest::Approx(expected));
    }
}

TEST_CASE("backward skips layers before the first parameterised layer unless the input gradient is asked for") {
  Rng rng(4);
  Mlp net = make_mlp(rng);
  Tensor<double> x = test::random_tensor(Shape{2, 6}, rng);
  Tensor<double> r = test::random_tensor(Shape{2, 3}, rng);
  net.forward(x);
  net.backward(r);
  CHECK(net.input_grad().empty());
  net.backward(r, {.input_grad = true});
  CHECK(net.input_grad().shape() == Shape{2, 6});
}

TEST_CASE("backward with accumulate adds to the parameter gradients; zero_grad clears them") {
  Rng rng(5);
  Mlp net = make_mlp(rng);
  Tensor<double> x = test::random_tensor(Shape{2, 6}, rng);
  Tensor<double> r = test::random_tensor(Shape{2, 3}, rng);
  net.forward(x);
  net.backward(r);
  const Tensor<double> once = net.layer<1>().weight().grad.clone();
  net.backward(r, {.accumulate = true});
  for (Index i = 0; i < once.numel(); ++i) CHECK(net.layer<1>().weight().grad[i] == doctest::Approx(2 * once[i]));
  net.zero_grad();
  for (double g : net.layer<1>().weight().grad.span()) CHECK(g == 0.0);
}

TEST_CASE("parameters are visited in layer order with PyTorch-style names") {
  Rng rng(6);
  Mlp net = make_mlp(rng);
  std::vector<std::string> names;
  net.visit_parameters([&](const std::string& n, Parameter<double, Cpu>&) { names.push_back(n); });
  CHECK(names == std::vector<std::string>{"1.weight", "1.bias", "3.weight", "3.bias", "5.weight", "5.bias"});
}

TEST_CASE("shape errors name the layer that does not fit") {
  Rng rng(7);
  auto net = make_sequential<float, Cpu>(rng, Dense{.in = 4, .out = 3}, Relu1{}, Dense{.in = 5, .out = 2});
  Tensor<float> x({2, 4});
  CHECK_THROWS_WITH_AS(net.forward(x), doctest::Contains("layer 2 (Dense(5 -> 2))"), ShapeError);
  CHECK_THROWS_WITH_AS(net.output_shape(Shape{2, 7}), doctest::Contains("layer 0"), ShapeError);
}

TEST_CASE("backward before forward, or with a gradient of the wrong shape, throws") {
  Rng rng(8);
  auto net = make_sequential<float, Cpu>(rng, Dense{.in = 4, .out = 3});
  Tensor<float> g({2, 3});
  CHECK_THROWS_AS(net.backward(g), StateError);
  Tensor<float> x({2, 4});
  net.forward(x);
  Tensor<float> wrong({2, 4});
  CHECK_THROWS_WITH_AS(net.backward(wrong), doctest::Contains("(2, 4)"), ShapeError);
}

TEST_CASE("find_non_finite names the first parameter or output holding NaN or infinity") {
  Rng rng(9);
  auto net = make_sequential<float, Cpu>(rng, Dense{.in = 2, .out = 2}, Relu1{}, Dense{.in = 2, .out = 1});
  Tensor<float> x({3, 2});
  net.forward(x);
  CHECK_FALSE(net.find_non_finite().has_value());
  net.layer<2>().weight().value[1] = std::numeric_limits<float>::quiet_NaN();
  net.forward(x);
  const auto found = net.find_non_finite();
  REQUIRE(found.has_value());
  CHECK(found->find("layer 2") != std::string::npos);
}
