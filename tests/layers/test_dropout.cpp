// Tests layers/dropout.hpp and ops/dropout.hpp: the gradient check (mask held), evaluation mode and p = 0
// as the identity, the drop rate and scale, one new mask per training-mode forward, masks keyed by
// coordinates (unchanged by wider features, channels or context; a row offset reproduces a slice of a
// larger batch), bad settings, and width growth through a Dropout keeping the network's output in
// training mode.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "netgrow/grow/random.hpp"
#include "netgrow/grow/width.hpp"
#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/conv2d.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/dropout.hpp"
#include "netgrow/network/sequential.hpp"
#include "support/gradcheck.hpp"
#include "support/growth.hpp"

using namespace netgrow;

namespace {

// The layer's output on x in training mode (the next mask).
template <class S>
Tensor<S> train_forward(DropoutLayer<S, Cpu>& layer, const Tensor<S>& x) {
  Tensor<S> y(x.shape());
  layer.forward(x.cview(), y.view(), Mode::train);
  return y;
}

Tensor<float> ones(Shape shape) {
  Tensor<float> t(shape);
  t.fill(1.0f);
  return t;
}

// Whether element i of the output kept its input (y = x * scale) or was dropped (0), for x = 1.
bool kept(const Tensor<float>& y, Index i) {
  return y[i] != 0.0f;
}

}  // namespace

TEST_CASE("Dropout passes the gradient check in training mode with its mask held, and in evaluation mode") {
  for (const double p : {0.0, 0.3, 0.75}) {
    Rng rng(4);
    DropoutLayer<double, Cpu> layer(Dropout{.p = p}, rng);
    layer.hold_mask(true);
    test::check_layer_gradients(layer, Shape{3, 7}, 11);
    test::check_layer_gradients(layer, Shape{2, 3, 5, 5}, 12);  // (N, C, H, W)
    test::check_layer_gradients(layer, Shape{2, 6, 4}, 13);     // (N, T, d)
    test::check_layer_gradients(layer, Shape{3, 7}, 14, Mode::eval);
    CHECK(parameter_count(layer) == 0);
  }
}

TEST_CASE(
    "Dropout is the identity in evaluation mode and for p = 0; in training mode it drops about p and scales "
    "the rest by 1 / (1 - p)") {
  Rng rng(1);
  const Tensor<float> x = ones(Shape{200, 1001});  // odd sizes, above the parallel threshold
  DropoutLayer<float, Cpu> layer(Dropout{.p = 0.3}, rng);
  Tensor<float> y(x.shape());
  layer.forward(x.cview(), y.view(), Mode::eval);
  CHECK(y.to_vector() == x.to_vector());
  CHECK(layer.kind().draws == 0);  // evaluation draws no mask

  y = train_forward(layer, x);
  Index dropped = 0, scaled = 0;
  const float scale = static_cast<float>(1.0 / 0.7);
  for (Index i = 0; i < y.numel(); ++i) {
    dropped += y[i] == 0.0f;
    scaled += y[i] == scale;
  }
  CHECK(dropped + scaled == y.numel());
  const double rate = static_cast<double>(dropped) / static_cast<double>(y.numel());
  CHECK(std::abs(rate - 0.3) < 0.005);  // 200,200 draws: 5 standard deviations are 0.0051
  CHECK(layer.kind().draws == 1);

  // Backward applies the same mask and scale; an empty grad_in is skipped.
  Tensor<float> dx(x.shape());
  layer.backward(x.cview(), y.cview(), x.cview(), dx.view(), false);
  CHECK(dx.to_vector() == y.to_vector());
  layer.backward(x.cview(), y.cview(), x.cview(), TensorView<float>(), false);

  DropoutLayer<float, Cpu> none(Dropout{.p = 0.0}, rng);
  CHECK(train_forward(none, x).to_vector() == x.to_vector());
  CHECK(none.describe() == "Dropout(p = 0)");
}

TEST_CASE("each training-mode forward draws the next mask; the same stream and count give the same mask") {
  Rng rng(2);
  DropoutLayer<float, Cpu> layer(Dropout{.p = 0.5}, rng);
  CHECK(layer.kind().seed > 0);  // drawn from the Rng
  const Tensor<float> x = ones(Shape{8, 64});
  const Tensor<float> first = train_forward(layer, x), second = train_forward(layer, x);
  CHECK(first.to_vector() != second.to_vector());
  CHECK(layer.kind().draws == 2);

  Dropout restarted = layer.kind();  // the same stream from its second mask on
  restarted.draws = 1;
  DropoutLayer<float, Cpu> twin(restarted, rng);
  CHECK(train_forward(twin, x).to_vector() == second.to_vector());

  Dropout other = restarted;
  other.seed += 1;
  DropoutLayer<float, Cpu> stranger(other, rng);
  CHECK(train_forward(stranger, x).to_vector() != second.to_vector());

  layer.hold_mask(true);  // the held mask is the current one (the second), drawn again by nobody
  CHECK(train_forward(layer, x).to_vector() == second.to_vector());
  CHECK(train_forward(layer, x).to_vector() == second.to_vector());
  CHECK(layer.kind().draws == 2);
  layer.hold_mask(false);
  CHECK(train_forward(layer, x).to_vector() != second.to_vector());
  CHECK(layer.kind().draws == 3);
}

TEST_CASE("a mask is keyed by coordinates: wider features, channels or contexts keep the old elements' decisions") {
  const Dropout kind{.p = 0.5, .seed = 77, .draws = 5};
  Rng rng(0);
  auto mask_of = [&](Shape shape) {
    DropoutLayer<float, Cpu> layer(kind, rng);
    return train_forward(layer, ones(shape));
  };
  Index compared = 0, differ = 0;
  auto compare = [&](const Tensor<float>& a, Index i, const Tensor<float>& b, Index k) {
    ++compared;
    differ += kept(a, i) != kept(b, k);
  };
  SUBCASE("(N, F): more features") {
    const auto a = mask_of(Shape{4, 6}), b = mask_of(Shape{4, 9});
    for (Index n = 0; n < 4; ++n)
      for (Index j = 0; j < 6; ++j) compare(a, n * 6 + j, b, n * 9 + j);
  }
  SUBCASE("(N, C, H, W): more channels") {
    const auto a = mask_of(Shape{2, 3, 4, 5}), b = mask_of(Shape{2, 5, 4, 5});
    for (Index n = 0; n < 2; ++n)
      for (Index i = 0; i < 3 * 20; ++i) compare(a, n * 60 + i, b, n * 100 + i);
  }
  SUBCASE("(N, T, d): a longer context and a wider model") {
    const auto a = mask_of(Shape{2, 5, 4}), b = mask_of(Shape{2, 8, 6});
    for (Index n = 0; n < 2; ++n)
      for (Index t = 0; t < 5; ++t)
        for (Index j = 0; j < 4; ++j) compare(a, (n * 5 + t) * 4 + j, b, (n * 8 + t) * 6 + j);
  }
  SUBCASE("a row offset gives the rows of a larger batch (data parallelism)") {
    const auto whole = mask_of(Shape{6, 10});
    DropoutLayer<float, Cpu> second_rank(kind, rng);
    second_rank.set_row_offset(3);
    const auto part = train_forward(second_rank, ones(Shape{3, 10}));
    for (Index i = 0; i < 30; ++i) compare(part, i, whole, 30 + i);
    CHECK_THROWS_AS(second_rank.set_row_offset(-1), ArgumentError);
  }
  CHECK(compared >= 24);
  CHECK(differ == 0);
}

TEST_CASE("Dropout refuses p outside [0, 1), a negative stream or counter, and a rank-0 input") {
  using FloatDropout = DropoutLayer<float, Cpu>;
  Rng rng(0);
  for (const double p : {1.0, -0.1, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    CAPTURE(p);
    CHECK_THROWS_AS(FloatDropout(Dropout{.p = p}, rng), ArgumentError);
  }
  CHECK_THROWS_AS(FloatDropout(Dropout{.p = 0.1, .seed = -1}, rng), ArgumentError);
  CHECK_THROWS_AS(FloatDropout(Dropout{.p = 0.1, .draws = -2}, rng), ArgumentError);
  DropoutLayer<float, Cpu> layer(Dropout{}, rng);
  CHECK_THROWS_AS(layer.output_shape(Shape{}), ShapeError);
  CHECK(layer.output_shape(Shape{3, 2, 5}) == Shape{3, 2, 5});
}

// To rounding, as every width growth: the wider products sum in another order. Without the coordinate keys a
// wider hidden layer would move every later row's mask and change the output by O(1).
TEST_CASE("width growth through a Dropout keeps the output in training mode (mask held) and evaluation mode") {
  SUBCASE("Dense -> Relu1 -> Dropout -> Dense") {
    Rng rng(3);
    auto net = make_sequential<double, Cpu>(rng, Dense{.in = 5, .out = 4}, Relu1{}, Dropout{.p = 0.4},
                                            Dense{.in = 4, .out = 3});
    const Tensor<double> x = test::random_tensor(Shape{9, 5}, rng);
    net.layer<2>().hold_mask(true);
    Tensor<double> train_before, eval_before;
    train_before.copy_from(net.forward(x));
    eval_before.copy_from(net.forward(x, Mode::eval));
    grow::grow_width<0, 3>(net, 3, grow::Random{}, rng);
    CHECK(test::max_abs_diff(net.forward(x), train_before) < 1e-12);
    CHECK(test::max_abs_diff(net.forward(x, Mode::eval), eval_before) < 1e-12);
    CHECK(net.layer<0>().kind().out == 7);
  }
  SUBCASE("Conv2d -> Relu1 -> Dropout -> Conv2d") {
    Rng rng(4);
    auto net = make_sequential<double, Cpu>(rng, Conv2d{.in = 2, .out = 3, .kernel = 3, .padding = 1}, Relu1{},
                                            Dropout{.p = 0.5}, Conv2d{.in = 3, .out = 2, .kernel = 3, .padding = 1});
    const Tensor<double> x = test::random_tensor(Shape{2, 2, 5, 5}, rng);
    net.layer<2>().hold_mask(true);
    Tensor<double> before;
    before.copy_from(net.forward(x));
    grow::grow_width<0, 3>(net, 2, grow::Random{}, rng);
    CHECK(test::max_abs_diff(net.forward(x), before) < 1e-12);
  }
}
