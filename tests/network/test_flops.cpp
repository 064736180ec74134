// Tests network/flops.hpp: multiply-add counts of Dense, Conv2d and depthwise layers, and of
// composite layers (Stack, residual blocks) as the sum of their parts.
#include <doctest/doctest.h>

#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/conv2d.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/depthwise_conv2d.hpp"
#include "netgrow/layers/flatten.hpp"
#include "netgrow/blocks/wide_block.hpp"
#include "netgrow/network/flops.hpp"
#include "netgrow/blocks/stack.hpp"

using namespace netgrow;

TEST_CASE("forward FLOPs count 2 per multiply-add; a training step is three forward passes") {
  Rng rng(1);
  auto net = make_sequential<float, Cpu>(rng, Conv2d{.in = 3, .out = 4, .kernel = 3, .stride = 2, .padding = 1}, Relu1{},
                                         DepthwiseConv2d{.channels = 4}, Flatten{}, Dense{.in = 4 * 4 * 4, .out = 5});
  const double conv = 2.0 * (2 * 4 * 4 * 4) * (3 * 9);  // outputs (N 4 4 4) x fan-in 27
  const double dw = 2.0 * (2 * 4 * 4 * 4) * 9;
  const double dense = 2.0 * 2 * 64 * 5;
  CHECK(forward_flops(net, Shape{2, 3, 8, 8}) == conv + dw + dense);
  CHECK(training_step_flops(net, Shape{2, 3, 8, 8}) == 3 * (conv + dw + dense));
}

TEST_CASE("Stack and WideBlock FLOPs are the sums of their convolutions") {
  Rng rng(2);
  auto net = make_sequential<float, Cpu>(
      rng, Stack<WideBlock>{{WideBlock{.in = 2, .inner = 3, .out = 4, .stride = 2}, WideBlock{.in = 4, .inner = 3, .out = 4}}});
  // Block 0 on (1, 2, 6, 6): conv1 (1, 3, 3, 3) fan-in 18, conv2 (1, 4, 3, 3) fan-in 27, projection (1, 4, 3, 3) fan-in 2.
  const double b0 = 2.0 * (27 * 18 + 36 * 27 + 36 * 2);
  // Block 1 on (1, 4, 3, 3): conv1 (1, 3, 3, 3) fan-in 36, conv2 (1, 4, 3, 3) fan-in 27, identity skip.
  const double b1 = 2.0 * (27 * 36 + 36 * 27);
  CHECK(forward_flops(net, Shape{1, 2, 6, 6}) == b0 + b1);
}
