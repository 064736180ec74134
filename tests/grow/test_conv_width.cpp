// Tests grow/width.hpp on convolutional pairs: every growth keeps the network's output in training and
// evaluation mode, through BatchNorm, depthwise convolutions, pooling, Flatten and GlobalAvgPool, and
// the in-between layers grow by identity with their optimizer state.
#include <doctest/doctest.h>

#include "support/conv_growth.hpp"
#include "support/growth.hpp"

using namespace netgrow;
using namespace netgrow::test;

namespace {

template <std::size_t P, std::size_t C, class Net, class Init>
void check_conv_preserved(ConvCase<Net>& c, const Init& init, Index k) {
  Sgd sgd(0.01, {.momentum = 0.9});
  for (int i = 0; i < 3; ++i) {  // move weights, BatchNorm statistics and momentum away from their start
    c.refresh();
    sgd.step(c.net);
  }
  // Training-mode outputs do not depend on BatchNorm's running statistics; evaluation-mode outputs are
  // compared with no training-mode pass (which moves the statistics) in between.
  const Tensor<double> train_before = c.output(Mode::train);
  c.refresh();
  auto data = grow::data_from_last_backward<P, C>(c.net);
  data.with_recompute([&] { c.refresh(); });
  const Tensor<double> eval_before = c.output(Mode::eval);
  grow::grow_width<P, C>(c.net, k, init, c.rng, data);
  CHECK(max_abs_diff(eval_before, c.output(Mode::eval)) < 1e-10);
  CHECK(max_abs_diff(train_before, c.output(Mode::train)) < 1e-10);
  CHECK_FALSE(c.net.find_non_finite().has_value());
  c.refresh();
  sgd.step(c.net);  // the grown state trains
  CHECK_FALSE(c.net.find_non_finite().has_value());
}

}  // namespace

TEST_CASE_TEMPLATE("Conv -> BatchNorm -> Relu1 -> Conv keeps its output for every initializer", Init, grow::Random,
                   grow::RandomOutgoingZero, grow::Split, grow::GradMax, grow::GradMaxOpt) {
  using Net = Sequential<double, Cpu, Conv2d, BatchNorm, Relu1, Conv2d>;
  ConvCase<Net> c(1, Shape{3, 2, 6, 6}, Conv2d{.in = 2, .out = 3, .padding = 1}, BatchNorm{.channels = 3}, Relu1{},
                  Conv2d{.in = 3, .out = 4, .padding = 1});
  check_conv_preserved<0, 3>(c, Init{}, 2);
  CHECK(c.net.layer<1>().channels() == 5);
  CHECK(c.net.layer<1>().gamma().state.size() == 1);  // momentum grew with it
  CHECK(c.net.layer<1>().gamma().state[0].numel() == 5);
}

TEST_CASE("MobileNet-style pointwise -> BatchNorm -> depthwise -> pointwise keeps its output") {
  using Net = Sequential<double, Cpu, Conv2d, BatchNorm, Relu1, DepthwiseConv2d, Relu1, Conv2d>;
  ConvCase<Net> c(2, Shape{2, 3, 6, 6}, Conv2d{.in = 3, .out = 4, .kernel = 1, .padding = 0}, BatchNorm{.channels = 4},
                  Relu1{}, DepthwiseConv2d{.channels = 4}, Relu1{}, Conv2d{.in = 4, .out = 5, .kernel = 1, .padding = 0});
  check_conv_preserved<0, 5>(c, grow::GradMax{}, 3);
  CHECK(c.net.layer<3>().channels() == 7);
}

TEST_CASE("Conv -> pooling -> Flatten -> Dense: the Dense layer gains k H W inputs") {
  using Net = Sequential<double, Cpu, Conv2d, Relu1, MaxPool2d, Flatten, Dense>;
  ConvCase<Net> c(3, Shape{2, 2, 6, 6}, Conv2d{.in = 2, .out = 3, .padding = 1}, Relu1{}, MaxPool2d{}, Flatten{},
                  Dense{.in = 27, .out = 4});
  check_conv_preserved<0, 4>(c, grow::GradMax{}, 2);
  CHECK(c.net.layer<4>().in_features() == 45);
  ConvCase<Net> d(4, Shape{2, 2, 6, 6}, Conv2d{.in = 2, .out = 3, .padding = 1}, Relu1{}, MaxPool2d{}, Flatten{},
                  Dense{.in = 27, .out = 4});
  check_conv_preserved<0, 4>(d, grow::FireflyOpt{.epsilon = 0, .steps = 3}, 1);
  ConvCase<Net> e(5, Shape{2, 2, 6, 6}, Conv2d{.in = 2, .out = 3, .padding = 1}, Relu1{}, MaxPool2d{}, Flatten{},
                  Dense{.in = 27, .out = 4});
  check_conv_preserved<0, 4>(e, grow::Split{}, 4);
}

TEST_CASE("Conv -> GlobalAvgPool -> Dense grows one Dense input per channel") {
  using Net = Sequential<double, Cpu, Conv2d, Relu1, GlobalAvgPool, Dense>;
  ConvCase<Net> c(6, Shape{2, 2, 5, 5}, Conv2d{.in = 2, .out = 3, .padding = 1}, Relu1{}, GlobalAvgPool{},
                  Dense{.in = 3, .out = 4});
  check_conv_preserved<0, 3>(c, grow::GradMax{}, 2);
  CHECK(c.net.layer<3>().in_features() == 5);
}

TEST_CASE("GradMax through BatchNorm predicts the new filters' gradient exactly") {
  using Net = Sequential<double, Cpu, Conv2d, BatchNorm, Relu1, Conv2d>;
  ConvCase<Net> c(7, Shape{3, 2, 6, 6}, Conv2d{.in = 2, .out = 3, .padding = 1}, BatchNorm{.channels = 3}, Relu1{},
                  Conv2d{.in = 3, .out = 4, .padding = 1});
  c.refresh();
  auto data = grow::data_from_last_backward<0, 3>(c.net);
  const double scale = data.gradient_scale();
  const auto report = grow::grow_width<0, 3>(c.net, 2, grow::GradMax{.norm = grow::NormRule::fixed(1.0)}, c.rng, data);
  c.refresh();
  const double expected = scale * std::hypot(report.singular_values[0], report.singular_values[1]);
  CHECK(rows_norm(c.net.layer<0>().weight().grad.cview().reshape(Shape{5, 18}), 3, 2) ==
        doctest::Approx(expected).epsilon(1e-8));
}

TEST_CASE("PairDataOptions::rows keeps the per-position rows; M formed from them is the same") {
  using Net = Sequential<double, Cpu, Conv2d, BatchNorm, Relu1, Conv2d>;
  ConvCase<Net> c(5, Shape{2, 2, 7, 6}, Conv2d{.in = 2, .out = 3, .stride = 2, .padding = 1}, BatchNorm{.channels = 3},
                  Relu1{}, Conv2d{.in = 3, .out = 4, .padding = 0});
  c.refresh();
  const auto m = grow::data_from_last_backward<0, 3>(c.net);
  const auto rows = grow::data_from_last_backward<0, 3>(c.net, {.rows = true});
  REQUIRE(rows.has_batch());
  CHECK(rows.inputs().shape() == Shape{2 * 4 * 3, 2 * 9});   // N Y1 rows, C0 k k
  CHECK(rows.output_grads().shape() == Shape{2 * 4 * 3, 4 * 9});  // N Y1 rows, C2 k k
  CHECK(rows.gradient_scale() == m.gradient_scale());
  CHECK(max_abs_diff(rows.matrix(), m.matrix()) < 1e-12 * std::max(1.0, std::sqrt(ops::squared_norm<double>(m.matrix()))));
}

TEST_CASE("InverseGradMaxOpt grows conv pairs through BatchNorm: function kept, new outgoing gradient raised") {
  auto grow_inverse = [](int steps, double& new_gradient) {
    using Net = Sequential<double, Cpu, Conv2d, BatchNorm, Relu1, Conv2d>;
    ConvCase<Net> c(6, Shape{3, 2, 6, 5}, Conv2d{.in = 2, .out = 3, .padding = 1}, BatchNorm{.channels = 3}, Relu1{},
                    Conv2d{.in = 3, .out = 4, .padding = 1});
    const Tensor<double> before = c.output(Mode::train);
    c.refresh();
    auto data = grow::data_from_last_backward<0, 3>(c.net, {.rows = true});
    Rng rng(7);
    grow::grow_width<0, 3>(
        c.net, 2, grow::InverseGradMaxOpt{.norm = grow::NormRule::fixed(1.0), .steps = steps, .learning_rate = 0.05},
        rng, data);
    CHECK(max_abs_diff(before, c.output(Mode::train)) < 1e-12);
    c.refresh();
    // Gradient of the new channels' outgoing weights: W2[:, 3:5, :, :].
    const auto& g = c.net.layer<3>().weight().grad;
    double s = 0;
    for (Index o = 0; o < 4; ++o)
      for (Index i = 3; i < 5; ++i)
        for (Index t = 0; t < 9; ++t) s += g[(o * 5 + i) * 9 + t] * g[(o * 5 + i) * 9 + t];
    new_gradient = std::sqrt(s);
  };
  double start = 0, optimised = 0;
  grow_inverse(0, start);
  grow_inverse(100, optimised);
  INFO("random start ", start, ", optimised ", optimised);
  CHECK(start > 0);
  CHECK(optimised > 1.1 * start);
}
