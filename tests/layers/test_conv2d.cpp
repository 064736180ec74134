// Tests layers/conv2d.hpp: forward against a direct convolution, gradient checks for every geometry the
// models use (strides 1 and 2, paddings 0 and 1, kernels 1 and 3), growth hooks, and shape errors.
#include <doctest/doctest.h>

#include "netgrow/layers/conv2d.hpp"
#include "support/conv_reference.hpp"
#include "support/gradcheck.hpp"

using namespace netgrow;

TEST_CASE("Conv2d equals a direct convolution at odd sizes, strides and paddings") {
  Rng rng(1);
  for (Index k : {1, 3, 5})
    for (Index s : {1, 2})
      for (Index p : {0, 1, 2}) {
        if (2 * p >= k + 2) continue;
        Conv2dLayer<double, Cpu> conv(Conv2d{.in = 3, .out = 4, .kernel = k, .stride = s, .padding = p}, rng);
        fill_normal(conv.bias().value.view(), 0.0, 1.0, rng);
        Tensor<double> x = test::random_tensor(Shape{2, 3, 7, 9}, rng);
        Tensor<double> y(conv.output_shape(x.shape()));
        conv.forward(x, y, Mode::train);
        const Tensor<double> expected = test::direct_conv(x, conv.weight().value, conv.bias().value, s, p);
        INFO("k ", k, " s ", s, " p ", p);
        REQUIRE(y.shape() == expected.shape());
        double worst = 0;
        for (Index i = 0; i < y.numel(); ++i) worst = std::max(worst, std::abs(y[i] - expected[i]));
        CHECK(worst < 1e-12);
      }
}

TEST_CASE("Conv2d passes the gradient check (input, weight, bias) at every geometry") {
  Rng rng(2);
  for (Index k : {1, 3})
    for (Index s : {1, 2})
      for (Index p : {0, 1}) {
        for (bool bias : {true, false}) {
          Conv2dLayer<double, Cpu> conv(Conv2d{.in = 3, .out = 5, .kernel = k, .stride = s, .padding = p, .bias = bias},
                                        rng);
          test::check_layer_gradients(conv, Shape{2, 3, 7, 6}, 10 * k + s + p);
        }
      }
}

TEST_CASE("Conv2d grows output channels (new filters) and input channels (new slices)") {
  Rng rng(3);
  Conv2dLayer<double, Cpu> conv(Conv2d{.in = 2, .out = 3, .kernel = 3}, rng);
  const Tensor<double> w = conv.weight().value.clone();
  Tensor<double> incoming({2, 18});
  fill_normal(incoming.view(), 0.0, 1.0, rng);
  conv.grow_outputs(incoming, Tensor<double>::from({2}, {0.5, -0.5}));
  CHECK(conv.weight().shape() == Shape{5, 2, 3, 3});
  CHECK(conv.out_channels() == 5);
  CHECK(conv.weight().value.at(3, 1, 2, 0) == incoming.at(0, 9 + 6));
  CHECK(conv.bias().value[4] == -0.5);
  CHECK(conv.weight().value.at(1, 0, 1, 1) == w.at(1, 0, 1, 1));

  Tensor<double> outgoing({1, 5 * 9});  // one new input channel: its (5, 3, 3) slice
  for (Index i = 0; i < outgoing.numel(); ++i) outgoing[i] = static_cast<double>(i);
  conv.grow_inputs(outgoing);
  CHECK(conv.weight().shape() == Shape{5, 3, 3, 3});
  CHECK(conv.in_channels() == 3);
  CHECK(conv.weight().value.at(4, 2, 1, 2) == static_cast<double>(4 * 9 + 1 * 3 + 2));
  CHECK(conv.kind().in == 3);
  CHECK_THROWS_AS(conv.grow_inputs(Tensor<double>({1, 7})), ShapeError);
  CHECK_THROWS_AS(conv.grow_outputs(Tensor<double>({1, 7}), ConstView<double>()), ShapeError);
}

TEST_CASE("Conv2d rejects inputs of the wrong rank, channel count or size") {
  Rng rng(4);
  Conv2dLayer<float, Cpu> conv(Conv2d{.in = 3, .out = 4, .kernel = 5, .padding = 0}, rng);
  CHECK_THROWS_WITH_AS(conv.output_shape(Shape{2, 3, 8}), doctest::Contains("(N, C, H, W)"), ShapeError);
  CHECK_THROWS_WITH_AS(conv.output_shape(Shape{2, 4, 8, 8}), doctest::Contains("expects 3 input channels"),
                       ShapeError);
  CHECK_THROWS_AS(conv.output_shape(Shape{2, 3, 3, 3}), ShapeError);
  CHECK(conv.output_shape(Shape{2, 3, 9, 8}) == Shape{2, 4, 5, 4});
  using FloatConv = Conv2dLayer<float, Cpu>;
  CHECK_THROWS_AS(FloatConv(Conv2d{.in = 3, .out = 4, .stride = 0}, rng), ArgumentError);
}
