// Tests blocks/stack.hpp: a Stack computes the same as the flat network of its blocks, passes the
// gradient check, names its parameters, inserts blocks, and reports shape errors by block.
#include <doctest/doctest.h>

#include "netgrow/layers/dense.hpp"
#include "netgrow/blocks/wide_block.hpp"
#include "netgrow/network/sequential.hpp"
#include "netgrow/blocks/stack.hpp"
#include "support/gradcheck.hpp"
#include "support/growth.hpp"

using namespace netgrow;

TEST_CASE("a Stack of Dense blocks equals the flat Sequential with the same weights") {
  Rng rng(1), same(1);
  auto flat = make_sequential<double, Cpu>(rng, Dense{4, 5}, Dense{5, 5}, Dense{5, 3});
  auto stacked = make_sequential<double, Cpu>(same, Stack<Dense>{{Dense{4, 5}, Dense{5, 5}, Dense{5, 3}}});
  Tensor<double> x = test::random_tensor(Shape{3, 4}, rng);
  Tensor<double> a, b;
  a.copy_from(flat.forward(x));
  b.copy_from(stacked.forward(x));
  CHECK(test::max_abs_diff(a, b) < 1e-15);
  Tensor<double> g = test::random_tensor(Shape{3, 3}, rng);
  flat.backward(g, {.input_grad = true});
  stacked.backward(g, {.input_grad = true});
  CHECK(test::max_abs_diff(flat.input_grad(), stacked.input_grad()) < 1e-15);
  CHECK(test::max_abs_diff(flat.layer<1>().weight().grad, stacked.layer<0>().block(1).weight().grad) < 1e-15);
  std::vector<std::string> names;
  stacked.visit_parameters([&](const std::string& name, Parameter<double, Cpu>&) { names.push_back(name); });
  CHECK(names == std::vector<std::string>{"0.0.weight", "0.0.bias", "0.1.weight", "0.1.bias", "0.2.weight", "0.2.bias"});
}

TEST_CASE("Stack passes the gradient check, with Dense and with residual blocks") {
  Rng rng(2);
  StackLayer<Dense, double, Cpu> dense(Stack<Dense>{{Dense{3, 4}, Dense{4, 2}}}, rng);
  test::check_layer_gradients(dense, Shape{3, 3});
  StackLayer<WideBlock, double, Cpu> blocks(
      Stack<WideBlock>{{WideBlock{.in = 2, .inner = 2, .out = 3, .stride = 2}, WideBlock{.in = 3, .inner = 2, .out = 3}}},
      rng);
  test::check_layer_gradients(blocks, Shape{2, 2, 5, 5}, 3);
}

TEST_CASE("Stack inserts blocks, describes itself and names the block that does not fit") {
  Rng rng(3);
  StackLayer<Dense, float, Cpu> s(Stack<Dense>{{Dense{3, 3}}}, rng);
  s.insert(1, DenseLayer<float, Cpu>(Dense{3, 3}, rng));
  CHECK(s.size() == 2);
  CHECK(s.kind().blocks.size() == 2);
  CHECK(s.describe() == "Stack[2](Dense(3 -> 3), Dense(3 -> 3))");
  CHECK_THROWS_WITH_AS(s.output_shape(Shape{2, 4}), doctest::Contains("block 0"), ShapeError);
  CHECK_THROWS_AS(s.insert(5, DenseLayer<float, Cpu>(Dense{3, 3}, rng)), Error);
  CHECK_THROWS_AS((StackLayer<Dense, float, Cpu>(Stack<Dense>{}, rng)), Error);
}
