// Tests ops/loss.hpp on the Cpu back end: ops::mse and ops::softmax_cross_entropy values and gradients against hand
// computations, numerical stability, accuracy counting and argument/shape errors.
#include <doctest/doctest.h>

#include "netgrow/ops/loss.hpp"

#include <cmath>
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <vector>

using namespace netgrow;

namespace {

using Labels = Tensor<std::int32_t>;

Labels labels_of(std::initializer_list<std::int32_t> values) {
  return Labels::from(Shape{static_cast<Index>(values.size())}, values);
}

}  // namespace

TEST_CASE("mse returns the mean squared error and writes its gradient") {
  // d = pred - target = (1, 0, -2, 0.5); squares sum to 5.25 over 4 elements.
  Tensor<double> pred = Tensor<double>::from({2, 2}, {1, 2, 3, 4});
  Tensor<double> target = Tensor<double>::from({2, 2}, {0, 2, 5, 3.5});
  Tensor<double> grad({2, 2});
  grad.fill(99.0);
  CHECK(ops::mse<double>(pred, target, grad) == doctest::Approx(1.3125).epsilon(1e-15));
  // grad = 2 d / 4
  CHECK(grad.to_vector() == std::vector<double>{0.5, 0.0, -1.0, 0.25});
}

TEST_CASE("mse of a perfect prediction is zero with a zero gradient") {
  Tensor<double> pred = Tensor<double>::from({3}, {-1, 0.5, 7});
  Tensor<double> grad({3});
  grad.fill(1.0);
  CHECK(ops::mse<double>(pred, pred, grad) == 0.0);
  CHECK(grad.to_vector() == std::vector<double>{0, 0, 0});
}

TEST_CASE("mse with an empty gradient view writes nothing") {
  Tensor<double> pred = Tensor<double>::from({1, 3}, {1, 2, 3});
  Tensor<double> target = Tensor<double>::from({1, 3}, {2, 2, 2});
  CHECK(ops::mse<double>(pred, target, TensorView<double>()) == doctest::Approx(2.0 / 3.0));

  // An empty view that still points at memory: that memory must stay untouched.
  std::vector<double> sentinel(3, 42.0);
  CHECK(ops::mse<double>(pred, target, TensorView<double>(sentinel.data(), Shape{0})) == doctest::Approx(2.0 / 3.0));
  CHECK(sentinel == std::vector<double>(3, 42.0));
}

TEST_CASE("mse in float sums in double and returns the same value") {
  Tensor<float> pred = Tensor<float>::from({4}, {1.5f, -2.0f, 0.25f, 3.0f});
  Tensor<float> target = Tensor<float>::from({4}, {1.0f, -1.0f, 0.25f, 1.0f});
  Tensor<float> grad({4});
  // d = (0.5, -1, 0, 2): squares 0.25 + 1 + 0 + 4 = 5.25, mean 1.3125
  CHECK(ops::mse<float>(pred, target, grad) == doctest::Approx(1.3125).epsilon(1e-12));
  CHECK(grad.to_vector() == std::vector<float>{0.25f, -0.5f, 0.0f, 1.0f});
}

TEST_CASE("mse rejects mismatched shapes and an empty prediction") {
  Tensor<double> pred({2, 3});
  Tensor<double> target({3, 2});
  Tensor<double> grad({2, 3});
  CHECK_THROWS_WITH_AS(ops::mse<double>(pred, target, grad), doctest::Contains("(2, 3) vs target (3, 2)"), ShapeError);
  Tensor<double> bad_grad({6});
  CHECK_THROWS_WITH_AS(ops::mse<double>(pred, pred, bad_grad), doctest::Contains("gradient (6)"), ShapeError);
  Tensor<double> empty({0, 3});
  CHECK_THROWS_AS(ops::mse<double>(empty, empty, TensorView<double>()), ArgumentError);
}

TEST_CASE("softmax_cross_entropy matches a hand computation of value, gradient and accuracy") {
  // Row 0: logits (1, 2, 3), label 2: loss log(1 + e^-1 + e^-2), predicted correctly.
  // Row 1: logits (0, 0, 0), label 1: loss log 3; a three-way tie predicts class 0, so wrong.
  Tensor<double> logits = Tensor<double>::from({2, 3}, {1, 2, 3, 0, 0, 0});
  Labels labels = labels_of({2, 1});
  Tensor<double> grad({2, 3});
  const ops::CrossEntropyResult r = ops::softmax_cross_entropy<double>(logits, labels, grad);

  const double loss0 = std::log(1.0 + std::exp(-1.0) + std::exp(-2.0));
  const double loss1 = std::log(3.0);
  CHECK(r.loss == doctest::Approx((loss0 + loss1) / 2).epsilon(1e-14));
  CHECK(r.count == 2);
  CHECK(r.correct == 1);
  CHECK(r.accuracy() == 0.5);

  const double s = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  const std::vector<double> want = {std::exp(1.0) / s / 2, std::exp(2.0) / s / 2, (std::exp(3.0) / s - 1) / 2,
                                    1.0 / 6, (1.0 / 3 - 1) / 2, 1.0 / 6};
  for (Index i = 0; i < grad.numel(); ++i) {
    INFO("gradient element ", i);
    CHECK(grad[i] == doctest::Approx(want[i]).epsilon(1e-14));
  }
}

TEST_CASE("softmax_cross_entropy gradient rows sum to zero and match central differences") {
  const Index n = 3, c = 5;
  Tensor<double> logits({n, c});
  for (Index i = 0; i < logits.numel(); ++i) logits[i] = std::sin(2.3 * static_cast<double>(i)) * 3.0;
  Labels labels = labels_of({4, 0, 2});
  Tensor<double> grad({n, c});
  ops::softmax_cross_entropy<double>(logits, labels, grad);
  for (Index i = 0; i < n; ++i) {
    double row = 0;
    for (Index j = 0; j < c; ++j) row += grad.at(i, j);
    INFO("row ", i);
    CHECK(std::abs(row) < 1e-15);
  }
  const double eps = 1e-6;
  double worst = 0;
  for (Index i = 0; i < logits.numel(); ++i) {
    const double saved = logits[i];
    logits[i] = saved + eps;
    const double up = ops::softmax_cross_entropy<double>(logits, labels, TensorView<double>()).loss;
    logits[i] = saved - eps;
    const double down = ops::softmax_cross_entropy<double>(logits, labels, TensorView<double>()).loss;
    logits[i] = saved;
    worst = std::max(worst, std::abs((up - down) / (2 * eps) - grad[i]));
  }
  CHECK(worst < 1e-8);
}

TEST_CASE("softmax_cross_entropy stays finite and exact for logits like 1000 and -1000") {
  Tensor<double> logits = Tensor<double>::from({3, 2}, {1000, -1000, 1000, -1000, -1000, -1000});
  Labels labels = labels_of({0, 1, 1});
  Tensor<double> grad({3, 2});
  const auto r = ops::softmax_cross_entropy<double>(logits, labels, grad);
  // Losses: 0 (certain and right), 2000 (certain and wrong), log 2 (a tie).
  CHECK(std::isfinite(r.loss));
  CHECK(r.loss == doctest::Approx((0.0 + 2000.0 + std::log(2.0)) / 3).epsilon(1e-14));
  CHECK(ops::all_finite<double>(grad));
  CHECK(grad.at(0, 0) == doctest::Approx(0.0));
  CHECK(grad.at(0, 1) == doctest::Approx(0.0));
  CHECK(grad.at(1, 0) == doctest::Approx(1.0 / 3));
  CHECK(grad.at(1, 1) == doctest::Approx(-1.0 / 3));
  CHECK(grad.at(2, 0) == doctest::Approx(0.5 / 3));
  CHECK(grad.at(2, 1) == doctest::Approx(-0.5 / 3));
  // Row 2 is a tie resolved to class 0: only row 0 counts as correct.
  CHECK(r.correct == 1);

  // The same in float.
  Tensor<float> logits_f = Tensor<float>::from({2, 3}, {1000.0f, -1000.0f, 0.0f, -1000.0f, -1000.0f, -1000.0f});
  Labels labels_f = labels_of({1, 2});
  Tensor<float> grad_f({2, 3});
  const auto rf = ops::softmax_cross_entropy<float>(logits_f, labels_f, grad_f);
  CHECK(rf.loss == doctest::Approx((2000.0 + std::log(3.0)) / 2).epsilon(1e-7));
  CHECK(ops::all_finite<float>(grad_f));
  CHECK(grad_f.at(0, 0) == doctest::Approx(0.5));
  CHECK(grad_f.at(0, 1) == doctest::Approx(-0.5));
  CHECK(grad_f.at(1, 2) == doctest::Approx((1.0 / 3 - 1) / 2));
}

TEST_CASE("softmax_cross_entropy counts ties for the first maximal class") {
  // Maxima: row 0 (3, 3, 1) -> class 0; row 1 (1, 3, 3) -> class 1; row 2 (2, 2, 2) -> class 0.
  Tensor<double> logits = Tensor<double>::from({3, 3}, {3, 3, 1, 1, 3, 3, 2, 2, 2});
  CHECK(ops::softmax_cross_entropy<double>(logits, labels_of({0, 1, 0}), TensorView<double>()).correct == 3);
  CHECK(ops::softmax_cross_entropy<double>(logits, labels_of({1, 2, 2}), TensorView<double>()).correct == 0);
  const auto r = ops::softmax_cross_entropy<double>(logits, labels_of({0, 2, 0}), TensorView<double>());
  CHECK(r.correct == 2);
  CHECK(r.count == 3);
  CHECK(r.accuracy() == doctest::Approx(2.0 / 3));
}

TEST_CASE("softmax_cross_entropy with an empty gradient view writes nothing") {
  Tensor<double> logits = Tensor<double>::from({1, 2}, {0, 0});
  std::vector<double> sentinel(2, 7.0);
  const auto r = ops::softmax_cross_entropy<double>(logits, labels_of({1}), TensorView<double>(sentinel.data(), Shape{0}));
  CHECK(r.loss == doctest::Approx(std::log(2.0)));
  CHECK(sentinel == std::vector<double>(2, 7.0));
}

TEST_CASE("an empty CrossEntropyResult has accuracy zero") {
  ops::CrossEntropyResult r;
  CHECK(r.accuracy() == 0.0);
}

TEST_CASE("softmax_cross_entropy rejects labels out of range, naming the sample") {
  Tensor<double> logits({3, 4});
  CHECK_THROWS_WITH_AS(ops::softmax_cross_entropy<double>(logits, labels_of({0, 4, 1}), TensorView<double>()),
                       doctest::Contains("label 4 of sample 1"), ArgumentError);
  CHECK_THROWS_WITH_AS(ops::softmax_cross_entropy<double>(logits, labels_of({0, 1, -1}), TensorView<double>()),
                       doctest::Contains("label -1 of sample 2"), ArgumentError);
  CHECK_THROWS_WITH_AS(ops::softmax_cross_entropy<double>(logits, labels_of({0, 1, -1}), TensorView<double>()),
                       doctest::Contains("[0, 4)"), ArgumentError);
}

TEST_CASE("softmax_cross_entropy rejects mismatched shapes and empty logits") {
  Tensor<double> logits({3, 4});
  Tensor<double> grad({3, 4});
  Tensor<double> flat({12});
  CHECK_THROWS_WITH_AS(ops::softmax_cross_entropy<double>(flat, labels_of({0, 1, 2}), grad), doctest::Contains("(12)"),
                       ShapeError);
  CHECK_THROWS_WITH_AS(ops::softmax_cross_entropy<double>(logits, labels_of({0, 1}), grad),
                       doctest::Contains("2 labels for 3 samples"), ShapeError);
  Tensor<double> bad_grad({4, 3});
  CHECK_THROWS_WITH_AS(ops::softmax_cross_entropy<double>(logits, labels_of({0, 1, 2}), bad_grad),
                       doctest::Contains("gradient (4, 3)"), ShapeError);
  Tensor<double> empty({0, 4});
  CHECK_THROWS_AS(ops::softmax_cross_entropy<double>(empty, Labels({0}), TensorView<double>()), ArgumentError);
  Tensor<double> no_classes({2, 0});
  CHECK_THROWS_AS(ops::softmax_cross_entropy<double>(no_classes, labels_of({0, 0}), TensorView<double>()),
                  ArgumentError);
}
