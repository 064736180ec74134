// Tests blocks/wide_block.hpp: shapes, identity and projection skips, gradient checks (with and
// without the inner BatchNorm, training and evaluation mode), inner-width growth keeps the function.
#include <doctest/doctest.h>

#include "netgrow/grow.hpp"
#include "netgrow/blocks/wide_block.hpp"
#include "support/gradcheck.hpp"
#include "support/growth.hpp"

using namespace netgrow;

TEST_CASE("WideBlock: output shapes, identity skip when shapes match, projection otherwise") {
  Rng rng(1);
  WideBlockLayer<false, float, Cpu> same(WideBlock{.in = 8, .inner = 3, .out = 8}, rng);
  CHECK_FALSE(same.has_projection());
  CHECK(same.output_shape(Shape{2, 8, 7, 5}) == Shape{2, 8, 7, 5});
  WideBlockLayer<false, float, Cpu> down(WideBlock{.in = 8, .inner = 3, .out = 16, .stride = 2}, rng);
  CHECK(down.has_projection());
  CHECK(down.output_shape(Shape{2, 8, 7, 5}) == Shape{2, 16, 4, 3});
  WideBlockLayer<false, float, Cpu> wider(WideBlock{.in = 8, .inner = 3, .out = 12}, rng);  // the reference cannot
  CHECK(wider.has_projection());
  CHECK_THROWS_AS(same.output_shape(Shape{2, 7, 5, 5}), ShapeError);
  CHECK(down.describe() == "WideBlock(8 -> 3 -> 16, stride 2)");
  CHECK(down.kind().inner == 3);
}

TEST_CASE("WideBlock with an identity skip computes x + branch(relu(bn(x)))") {
  Rng rng(2);
  WideBlockLayer<false, double, Cpu> block(WideBlock{.in = 3, .inner = 2, .out = 3}, rng);
  Tensor<double> x = test::random_tensor(Shape{2, 3, 4, 5}, rng);
  Tensor<double> y(block.output_shape(x.shape()));
  block.forward(x, y, Mode::train);
  // Zeroing the branch's last conv leaves the identity.
  block.branch().layer<2>().weight().value.fill_zero();
  block.forward(x, y, Mode::train);
  CHECK(test::max_abs_diff(x, y) == 0.0);
}

TEST_CASE("WideBlock passes the gradient check: identity skip, projection, inner BatchNorm, evaluation mode") {
  {
    Rng rng(3);
    WideBlockLayer<false, double, Cpu> block(WideBlock{.in = 3, .inner = 2, .out = 3}, rng);
    test::check_layer_gradients(block, Shape{2, 3, 5, 4}, 11);
  }
  {
    Rng rng(4);
    WideBlockLayer<false, double, Cpu> block(WideBlock{.in = 2, .inner = 3, .out = 4, .stride = 2}, rng);
    test::check_layer_gradients(block, Shape{3, 2, 5, 6}, 12);
  }
  {
    Rng rng(5);
    WideBlockLayer<true, double, Cpu> block(WideBlockBN{.in = 3, .inner = 2, .out = 5, .stride = 2}, rng);
    test::check_layer_gradients(block, Shape{2, 3, 6, 5}, 13);
    test::check_layer_gradients(block, Shape{2, 3, 6, 5}, 14, Mode::eval);
  }
}

TEST_CASE("growing a block's inner width keeps its function in training and evaluation mode") {
  Rng rng(6);
  WideBlockLayer<true, double, Cpu> block(WideBlockBN{.in = 3, .inner = 2, .out = 4, .stride = 2}, rng);
  Tensor<double> x = test::random_tensor(Shape{3, 3, 6, 6}, rng);
  Tensor<double> before_train(block.output_shape(x.shape())), before_eval(before_train.shape());
  block.forward(x, before_train, Mode::train);
  block.forward(x, before_eval, Mode::eval);
  grow::grow_width<0, 3>(block.branch(), 3, grow::Random{}, rng);
  CHECK(block.inner_channels() == 5);
  Tensor<double> after(before_train.shape());
  block.forward(x, after, Mode::eval);  // before the training-mode pass moves the running statistics
  CHECK(test::max_abs_diff(before_eval, after) < 1e-12);
  block.forward(x, after, Mode::train);
  CHECK(test::max_abs_diff(before_train, after) < 1e-12);
}
