// Tests layers/depthwise_conv2d.hpp: per-channel convolution against plain loops, gradient checks,
// identity growth.
#include <doctest/doctest.h>

#include "netgrow/layers/depthwise_conv2d.hpp"
#include "support/conv_reference.hpp"
#include "support/gradcheck.hpp"

using namespace netgrow;

TEST_CASE("DepthwiseConv2d convolves each channel with its own filter") {
  Rng rng(1);
  for (Index s : {1, 2}) {
    DepthwiseConv2dLayer<double, Cpu> dw(DepthwiseConv2d{.channels = 3, .kernel = 3, .stride = s, .padding = 1}, rng);
    fill_normal(dw.bias().value.view(), 0.0, 1.0, rng);
    Tensor<double> x = test::random_tensor(Shape{2, 3, 6, 5}, rng);
    Tensor<double> y(dw.output_shape(x.shape()));
    dw.forward(x, y, Mode::train);
    for (Index c = 0; c < 3; ++c) {
      // channel c alone through a 1-channel direct convolution
      Tensor<double> xc({2, 1, 6, 5}), wc({1, 1, 3, 3});
      for (Index n = 0; n < 2; ++n)
        for (Index i = 0; i < 30; ++i) xc[n * 30 + i] = x[(n * 3 + c) * 30 + i];
      for (Index i = 0; i < 9; ++i) wc[i] = dw.weight().value[c * 9 + i];
      const auto b = Tensor<double>::from({1}, {dw.bias().value[c]});
      const Tensor<double> yc = test::direct_conv(xc, wc, b, s, 1);
      const Index ohw = y.dim(2) * y.dim(3);
      for (Index n = 0; n < 2; ++n)
        for (Index i = 0; i < ohw; ++i) CHECK(y[(n * 3 + c) * ohw + i] == doctest::Approx(yc[n * ohw + i]));
    }
  }
}

TEST_CASE("DepthwiseConv2d passes the gradient check") {
  Rng rng(2);
  for (Index s : {1, 2})
    for (Index p : {0, 1}) {
      DepthwiseConv2dLayer<double, Cpu> dw(DepthwiseConv2d{.channels = 4, .kernel = 3, .stride = s, .padding = p}, rng);
      test::check_layer_gradients(dw, Shape{2, 4, 6, 7}, 3 + s + p);
    }
}

TEST_CASE("identity growth: new channels pass their input through unchanged") {
  Rng rng(3);
  DepthwiseConv2dLayer<double, Cpu> dw(DepthwiseConv2d{.channels = 2}, rng);
  dw.grow_channels(2);
  CHECK(dw.channels() == 4);
  Tensor<double> x = test::random_tensor(Shape{2, 4, 5, 5}, rng);
  Tensor<double> y(dw.output_shape(x.shape()));
  dw.forward(x, y, Mode::eval);
  for (Index n = 0; n < 2; ++n)
    for (Index c = 2; c < 4; ++c)
      for (Index i = 0; i < 25; ++i) CHECK(y[(n * 4 + c) * 25 + i] == doctest::Approx(x[(n * 4 + c) * 25 + i]));
}
