// Tests network/loss.hpp: MseLoss and SoftmaxCrossEntropy against hand computations and central
// differences, through the generic tensor/view interface.
#include <doctest/doctest.h>

#include <cmath>

#include "netgrow/network/loss.hpp"
#include "support/gradcheck.hpp"

using namespace netgrow;

TEST_CASE("MseLoss is the mean of squared errors over all elements") {
  const auto pred = Tensor<double>::from({2, 2}, {1, 2, 3, 4});
  const auto target = Tensor<double>::from({2, 2}, {1, 0, 0, 4});
  Tensor<double> grad({2, 2});
  const double loss = MseLoss{}(pred, target, grad);
  CHECK(loss == doctest::Approx((4.0 + 9.0) / 4));
  CHECK(grad.to_vector() == std::vector<double>{0, 1, 1.5, 0});  // 2 (p - t) / 4
  CHECK(MseLoss{}.value(pred, target) == doctest::Approx(loss));
}

TEST_CASE("MseLoss gradient matches central differences") {
  Rng rng(1);
  Tensor<double> pred = test::random_tensor(Shape{3, 5}, rng);
  Tensor<double> target = test::random_tensor(Shape{3, 5}, rng);
  Tensor<double> grad({3, 5});
  MseLoss{}(pred, target, grad);
  CHECK(test::max_gradient_error([&] { return MseLoss{}.value(pred, target); }, pred.view(), grad) <
        test::gradcheck_tolerance);
}

TEST_CASE("SoftmaxCrossEntropy gradient matches central differences and accuracy counts arg-max hits") {
  Rng rng(2);
  Tensor<double> logits = test::random_tensor(Shape{4, 7}, rng, 3.0);
  const auto labels = Tensor<std::int32_t>::from({4}, {0, 6, 3, 3});
  Tensor<double> grad({4, 7});
  const auto r = SoftmaxCrossEntropy{}(logits, labels, grad);
  CHECK(test::max_gradient_error([&] { return SoftmaxCrossEntropy{}.value(logits, labels).loss; }, logits.view(),
                                 grad) < test::gradcheck_tolerance);
  Index correct = 0;
  for (Index i = 0; i < 4; ++i) {
    Index arg = 0;
    for (Index j = 1; j < 7; ++j)
      if (logits.at(i, j) > logits.at(i, arg)) arg = j;
    correct += arg == labels[i];
  }
  CHECK(r.correct == correct);
  CHECK(r.count == 4);
}

TEST_CASE("SoftmaxCrossEntropy equals -log softmax of the label, even for huge logits") {
  const auto logits = Tensor<float>::from({2, 3}, {1000.f, 0.f, -1000.f, 2.f, 1.f, 0.f});
  const auto labels = Tensor<std::int32_t>::from({2}, {0, 2});
  const auto r = SoftmaxCrossEntropy{}.value(logits, labels);
  const double second = -std::log(std::exp(0.0) / (std::exp(2.0) + std::exp(1.0) + 1.0));
  CHECK(std::isfinite(r.loss));
  CHECK(r.loss == doctest::Approx((0.0 + second) / 2));
  CHECK(r.accuracy() == doctest::Approx(0.5));
}

TEST_CASE("losses reject mismatched shapes and labels out of range") {
  Tensor<float> a({2, 3}), b({3, 2}), g({2, 3});
  CHECK_THROWS_AS(MseLoss{}(a, b, g), ShapeError);
  const auto bad = Tensor<std::int32_t>::from({2}, {0, 3});
  CHECK_THROWS_WITH_AS(SoftmaxCrossEntropy{}(a, bad, g), doctest::Contains("label 3 of sample 1"), ArgumentError);
  const auto short_labels = Tensor<std::int32_t>::from({1}, {0});
  CHECK_THROWS_AS(SoftmaxCrossEntropy{}(a, short_labels, g), ShapeError);
}

TEST_CASE("SequenceCrossEntropy is the mean over every position, in nats and bits, with its gradient") {
  Rng rng(41);
  Tensor<double> logits({2, 3, 4});
  fill_normal(logits.view(), 0.0, 1.0, rng);
  Tensor<std::int32_t> targets = Tensor<std::int32_t>::from({2, 3}, {0, 3, 1, 2, 2, 0});
  Tensor<double> grad(logits.shape()), flat_grad({6, 4});
  const auto r = SequenceCrossEntropy{}(logits, targets, grad);
  const auto flat = SoftmaxCrossEntropy{}(logits.cview().reshape(Shape{6, 4}), targets.cview().reshape(Shape{6}),
                                          flat_grad.view());
  CHECK(r.loss == flat.loss);
  CHECK(r.count == 6);
  CHECK(r.bits() == doctest::Approx(r.loss / std::log(2.0)).epsilon(1e-15));
  for (Index i = 0; i < grad.numel(); ++i) CHECK(grad[i] == flat_grad[i]);
  CHECK(SequenceCrossEntropy{}.value(logits, targets).loss == r.loss);
  CHECK_THROWS_AS(SequenceCrossEntropy{}(logits, Tensor<std::int32_t>({2, 2}), grad), ShapeError);
  CHECK_THROWS_AS(SequenceCrossEntropy{}(logits.cview().reshape(Shape{6, 4}), targets, grad), ShapeError);
}

TEST_CASE("BceWithLogits is the mean binary cross-entropy of sigmoid(z), finite for huge logits, with its gradient") {
  const auto logits = Tensor<double>::from({2, 2}, {0.0, 2.0, -3.0, 800.0});
  const auto targets = Tensor<double>::from({2, 2}, {1.0, 0.0, 0.25, 1.0});
  Tensor<double> grad({2, 2});
  const double loss = BceWithLogits{}(logits, targets, grad);
  const auto sigmoid = [](double z) { return 1 / (1 + std::exp(-z)); };
  const auto bce = [&](double z, double t) { return -(t * std::log(sigmoid(z)) + (1 - t) * std::log(1 - sigmoid(z))); };
  const double expected = (bce(0, 1) + bce(2, 0) + bce(-3, 0.25) + 0.0) / 4;  // z = 800, t = 1: loss 0
  CHECK(loss == doctest::Approx(expected).epsilon(1e-12));
  CHECK(grad[0] == doctest::Approx((0.5 - 1) / 4));
  CHECK(grad[3] == doctest::Approx(0.0));
  CHECK(std::isfinite(BceWithLogits{}.value(Tensor<double>::from({1}, {-800.0}), Tensor<double>::from({1}, {1.0}))));
  CHECK(BceWithLogits{}.value(Tensor<double>::from({1}, {-800.0}), Tensor<double>::from({1}, {1.0})) ==
        doctest::Approx(800.0));

  Rng rng(5);
  Tensor<double> z = test::random_tensor(Shape{5, 1}, rng, 3.0);
  Tensor<double> t({5, 1});
  for (Index i = 0; i < 5; ++i) t[i] = rng.uniform();
  Tensor<double> g({5, 1});
  BceWithLogits{}(z, t, g);
  CHECK(test::max_gradient_error([&] { return BceWithLogits{}.value(z, t); }, z.view(), g) < test::gradcheck_tolerance);
  CHECK_THROWS_AS(BceWithLogits{}.value(z, Tensor<double>({4, 1})), ShapeError);
}
