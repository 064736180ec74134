// Tests layers/batch_norm.hpp: normalisation in training mode, running statistics, evaluation mode,
// gradient checks in both modes for dense and convolutional inputs, identity growth.
#include <doctest/doctest.h>

#include "netgrow/layers/batch_norm.hpp"
#include "support/gradcheck.hpp"

using namespace netgrow;

TEST_CASE("training mode normalises each channel over the batch (and positions), then scales and shifts") {
  Rng rng(1);
  BatchNormLayer<double, Cpu> bn(BatchNorm{.channels = 3}, rng);
  bn.gamma().value = Tensor<double>::from({3}, {1.0, 2.0, 0.5});
  bn.beta().value = Tensor<double>::from({3}, {0.0, 1.0, -1.0});
  Tensor<double> x = test::random_tensor(Shape{4, 3, 2, 5}, rng, 3.0);
  Tensor<double> y(x.shape());
  bn.forward(x, y, Mode::train);
  for (Index c = 0; c < 3; ++c) {
    double sum = 0, sq = 0;
    for (Index n = 0; n < 4; ++n)
      for (Index i = 0; i < 10; ++i) sum += y[(n * 3 + c) * 10 + i];
    const double mean = sum / 40;
    for (Index n = 0; n < 4; ++n)
      for (Index i = 0; i < 10; ++i) sq += (y[(n * 3 + c) * 10 + i] - mean) * (y[(n * 3 + c) * 10 + i] - mean);
    CHECK(mean == doctest::Approx(bn.beta().value[c]));
    CHECK(std::sqrt(sq / 40) == doctest::Approx(bn.gamma().value[c]).epsilon(1e-4));  // eps 1e-5 shrinks it
  }
}

TEST_CASE("running statistics follow PyTorch's rule and drive evaluation mode") {
  Rng rng(2);
  BatchNormLayer<double, Cpu> bn(BatchNorm{.channels = 1, .momentum = 0.1}, rng);
  const auto x = Tensor<double>::from({4, 1}, {1, 2, 3, 6});  // mean 3, biased var 3.5, unbiased 14/3
  Tensor<double> y({4, 1});
  bn.forward(x, y, Mode::train);
  CHECK(bn.running_mean().value[0] == doctest::Approx(0.9 * 0 + 0.1 * 3));
  CHECK(bn.running_var().value[0] == doctest::Approx(0.9 * 1 + 0.1 * 14.0 / 3.0));
  bn.forward(x, y, Mode::eval);
  CHECK(bn.running_mean().value[0] == doctest::Approx(0.3));  // evaluation leaves them alone
  CHECK(y[0] == doctest::Approx((1 - 0.3) / std::sqrt(0.9 + 0.1 * 14.0 / 3.0 + 1e-5)));
}

TEST_CASE("BatchNorm passes the gradient check in training and evaluation mode, dense and conv") {
  Rng rng(3);
  BatchNormLayer<double, Cpu> bn(BatchNorm{.channels = 3}, rng);
  fill_normal(bn.gamma().value.view(), 1.0, 0.3, rng);
  fill_normal(bn.beta().value.view(), 0.0, 0.3, rng);
  fill_uniform(bn.running_var().value.view(), 0.5, 2.0, rng);
  test::check_layer_gradients(bn, Shape{5, 3}, 11, Mode::train);
  test::check_layer_gradients(bn, Shape{2, 3, 3, 4}, 12, Mode::train);
  test::check_layer_gradients(bn, Shape{5, 3}, 13, Mode::eval);
  test::check_layer_gradients(bn, Shape{2, 3, 3, 4}, 14, Mode::eval);
}

TEST_CASE("identity growth: gamma 1, beta 0, mean 0, variance 1; zero input channels give zero output") {
  Rng rng(4);
  BatchNormLayer<double, Cpu> bn(BatchNorm{.channels = 2, .momentum = 0.25}, rng);
  Tensor<double> x = test::random_tensor(Shape{3, 2, 2, 2}, rng);
  Tensor<double> y(x.shape());
  bn.forward(x, y, Mode::train);
  bn.grow_channels(2);
  CHECK(bn.channels() == 4);
  CHECK(bn.gamma().value[3] == 1.0);
  CHECK(bn.beta().value[3] == 0.0);
  CHECK(bn.running_mean().value[2] == 0.0);
  CHECK(bn.running_var().value[2] == 1.0);
  CHECK(bn.momentum() == 0.25);
  // Two zero channels appended to the input: zero output in both modes.
  Tensor<double> wide({3, 4, 2, 2});
  for (Index n = 0; n < 3; ++n)
    for (Index i = 0; i < 8; ++i) wide[n * 16 + i] = x[n * 8 + i];
  Tensor<double> out(wide.shape());
  for (Mode mode : {Mode::train, Mode::eval}) {
    bn.forward(wide, out, mode);
    for (Index n = 0; n < 3; ++n)
      for (Index i = 8; i < 16; ++i) CHECK(out[n * 16 + i] == 0.0);
  }
}

TEST_CASE("BatchNorm rejects bad settings and inputs") {
  Rng rng(5);
  using Bn = BatchNormLayer<float, Cpu>;
  CHECK_THROWS_AS(Bn(BatchNorm{.channels = 0}, rng), ArgumentError);
  CHECK_THROWS_AS(Bn(BatchNorm{.channels = 2, .momentum = 1.5}, rng), ArgumentError);
  Bn bn(BatchNorm{.channels = 2}, rng);
  CHECK_THROWS_WITH_AS(bn.output_shape(Shape{4, 3}), doctest::Contains("expects 2 channels"), ShapeError);
  CHECK_THROWS_AS(bn.output_shape(Shape{4, 2, 3}), ShapeError);
  Tensor<float> one({1, 2}), out({1, 2});
  CHECK_THROWS_WITH_AS(bn.forward(one, out, Mode::train), doctest::Contains("more than one value"), ShapeError);
  bn.forward(one, out, Mode::eval);  // fine in evaluation mode
}
