// Tests ops/optim.hpp on the Cpu back end: ops::sgd_update and ops::adam_update element-wise against hand-computed
// values over several steps, with and without lr_scale, and their shape checks.
#include <doctest/doctest.h>

#include "netgrow/ops/optim.hpp"

#include <cmath>
#include <initializer_list>
#include <vector>

using namespace netgrow;

namespace {

void check_values(const Tensor<double>& t, const std::vector<double>& want, double eps = 1e-12) {
  REQUIRE(t.numel() == static_cast<Index>(want.size()));
  for (Index i = 0; i < t.numel(); ++i) {
    INFO("element ", i);
    CHECK(t[i] == doctest::Approx(want[static_cast<std::size_t>(i)]).epsilon(eps));
  }
}

Tensor<double> vec(std::initializer_list<double> values) {
  return Tensor<double>::from(Shape{static_cast<Index>(values.size())}, values);
}

// Adam hyper-parameters for update t: lr 0.1, PyTorch defaults otherwise, bias corrections 1 - beta^t.
ops::AdamHyper adam_hyper(int t, double weight_decay = 0.0, bool decoupled = false) {
  ops::AdamHyper h;
  h.lr = 0.1;
  h.weight_decay = weight_decay;
  h.decoupled = decoupled;
  h.bias_correction1 = 1.0 - std::pow(0.9, t);
  h.bias_correction2 = 1.0 - std::pow(0.999, t);
  return h;
}

}  // namespace

TEST_CASE("sgd_update without momentum subtracts lr times the gradient") {
  Tensor<double> w = vec({1, -2, 0.5});
  Tensor<double> g = vec({0.5, 1, -4});
  ops::SgdHyper h;
  h.lr = 0.1;
  ops::sgd_update<double>(w, g, TensorView<double>(), ConstView<double>(), h);
  check_values(w, {0.95, -2.1, 0.9});
  ops::sgd_update<double>(w, g, TensorView<double>(), ConstView<double>(), h);
  check_values(w, {0.9, -2.2, 1.3});
}

TEST_CASE("sgd_update with weight decay adds weight_decay * w to the gradient") {
  Tensor<double> w = vec({1, -2});
  Tensor<double> g = vec({0.5, 1});
  ops::SgdHyper h;
  h.lr = 0.1;
  h.weight_decay = 0.1;
  // d = (0.5 + 0.1, 1 - 0.2) = (0.6, 0.8)
  ops::sgd_update<double>(w, g, TensorView<double>(), ConstView<double>(), h);
  check_values(w, {0.94, -2.08});
  // d = (0.5 + 0.094, 1 - 0.208) = (0.594, 0.792)
  ops::sgd_update<double>(w, g, TensorView<double>(), ConstView<double>(), h);
  check_values(w, {0.8806, -2.1592});
}

TEST_CASE("sgd_update with momentum keeps the velocity over three steps") {
  Tensor<double> w = vec({1, -2});
  Tensor<double> v({2});
  ops::SgdHyper h;
  h.lr = 0.1;
  h.momentum = 0.9;
  // v = g
  ops::sgd_update<double>(w, vec({0.5, 1}), v, ConstView<double>(), h);
  check_values(v, {0.5, 1});
  check_values(w, {0.95, -2.1});
  // v = 0.9 (0.5, 1) + (-0.5, 2) = (-0.05, 2.9)
  ops::sgd_update<double>(w, vec({-0.5, 2}), v, ConstView<double>(), h);
  check_values(v, {-0.05, 2.9});
  check_values(w, {0.955, -2.39});
  // v = 0.9 (-0.05, 2.9) + (1, 0) = (0.955, 2.61)
  ops::sgd_update<double>(w, vec({1, 0}), v, ConstView<double>(), h);
  check_values(v, {0.955, 2.61});
  check_values(w, {0.8595, -2.651});
}

TEST_CASE("sgd_update with Nesterov momentum steps along g + momentum * v") {
  Tensor<double> w = vec({1, -2});
  Tensor<double> v({2});
  ops::SgdHyper h;
  h.lr = 0.1;
  h.momentum = 0.9;
  h.nesterov = true;
  // v = (0.5, 1); d = (0.5 + 0.45, 1 + 0.9)
  ops::sgd_update<double>(w, vec({0.5, 1}), v, ConstView<double>(), h);
  check_values(v, {0.5, 1});
  check_values(w, {0.905, -2.19});
  // v = (-0.05, 2.9); d = (-0.5 - 0.045, 2 + 2.61)
  ops::sgd_update<double>(w, vec({-0.5, 2}), v, ConstView<double>(), h);
  check_values(v, {-0.05, 2.9});
  check_values(w, {0.9595, -2.651});
}

TEST_CASE("sgd_update with lr_scale scales each element's learning rate") {
  Tensor<double> w = vec({1, -2, 3});
  Tensor<double> v({3});
  Tensor<double> scale = vec({1, 0.5, 0});
  ops::SgdHyper h;
  h.lr = 0.1;
  ops::sgd_update<double>(w, vec({0.5, 1, 1}), TensorView<double>(), scale, h);
  check_values(w, {0.95, -2.05, 3});

  h.momentum = 0.5;
  ops::sgd_update<double>(w, vec({1, 1, 1}), v, scale, h);
  check_values(v, {1, 1, 1});
  check_values(w, {0.85, -2.1, 3});
  // v = 0.5 + 1
  ops::sgd_update<double>(w, vec({1, 1, 1}), v, scale, h);
  check_values(v, {1.5, 1.5, 1.5});
  check_values(w, {0.7, -2.175, 3});
}

TEST_CASE("sgd_update works in float") {
  Tensor<float> w = Tensor<float>::from({2}, {1.0f, -2.0f});
  Tensor<float> g = Tensor<float>::from({2}, {0.5f, 1.0f});
  ops::SgdHyper h;
  h.lr = 0.5;
  ops::sgd_update<float>(w, g, TensorView<float>(), ConstView<float>(), h);
  CHECK(w.to_vector() == std::vector<float>{0.75f, -2.5f});
}

TEST_CASE("adam_update matches two hand-computed steps including bias correction") {
  Tensor<double> w = vec({1, -2});
  Tensor<double> m({2});
  Tensor<double> v({2});
  // t = 1: m = 0.1 g, v = 0.001 g^2; the corrected step is lr g / (|g| + eps).
  ops::adam_update<double>(w, vec({0.5, -1}), m, v, ConstView<double>(), adam_hyper(1));
  check_values(m, {0.05, -0.1});
  check_values(v, {0.00025, 0.001});
  check_values(w, {1 - 0.1 * 0.5 / (0.5 + 1e-8), -2 + 0.1 / (1 + 1e-8)});
  // t = 2, g = (0.25, 0.5): m = (0.07, -0.04), v = (0.00031225, 0.001249),
  // w -= 0.1 (m / 0.19) / (sqrt(v / 0.001999) + 1e-8)
  ops::adam_update<double>(w, vec({0.25, 0.5}), m, v, ConstView<double>(), adam_hyper(2));
  check_values(m, {0.07, -0.04});
  check_values(v, {0.00031225, 0.001249});
  check_values(w, {0.8067820404774624, -1.873366297370903});
}

TEST_CASE("adam_update with lr_scale scales each element's step") {
  Tensor<double> w = vec({1, -2});
  Tensor<double> m({2});
  Tensor<double> v({2});
  Tensor<double> scale = vec({1, 0.5});
  ops::adam_update<double>(w, vec({0.5, -1}), m, v, scale, adam_hyper(1));
  check_values(w, {0.900000002, -1.9500000005});
  ops::adam_update<double>(w, vec({0.25, 0.5}), m, v, scale, adam_hyper(2));
  // The moments do not depend on the learning rate.
  check_values(m, {0.07, -0.04});
  check_values(w, {0.8067820404774624, -1.9366831486854517});
}

TEST_CASE("adam_update applies L2 weight decay through the gradient and AdamW decay to the weights") {
  SUBCASE("L2: g += 0.1 w before the moments") {
    Tensor<double> w = vec({1, -2});
    Tensor<double> m({2});
    Tensor<double> v({2});
    ops::adam_update<double>(w, vec({0.5, -1}), m, v, ConstView<double>(), adam_hyper(1, 0.1));
    // g = (0.6, -1.2)
    check_values(m, {0.06, -0.12});
    check_values(v, {0.00036, 0.00144});
    ops::adam_update<double>(w, vec({0.25, 0.5}), m, v, ConstView<double>(), adam_hyper(2, 0.1));
    check_values(w, {0.8050097658613199, -1.8537472646427609});
  }
  SUBCASE("decoupled: w -= lr * 0.1 * w, moments from the raw gradient") {
    Tensor<double> w = vec({1, -2});
    Tensor<double> m({2});
    Tensor<double> v({2});
    ops::adam_update<double>(w, vec({0.5, -1}), m, v, ConstView<double>(), adam_hyper(1, 0.1, true));
    check_values(m, {0.05, -0.1});
    check_values(w, {0.890000002, -1.880000001});
    ops::adam_update<double>(w, vec({0.25, 0.5}), m, v, ConstView<double>(), adam_hyper(2, 0.1, true));
    check_values(m, {0.07, -0.04});
    check_values(w, {0.7878820404574624, -1.8345662973609032});
  }
}

TEST_CASE("adam_update works in float") {
  Tensor<float> w = Tensor<float>::from({2}, {1.0f, -2.0f});
  Tensor<float> m({2});
  Tensor<float> v({2});
  Tensor<float> g = Tensor<float>::from({2}, {0.5f, -1.0f});
  ops::adam_update<float>(w, g, m, v, ConstView<float>(), adam_hyper(1));
  CHECK(w[0] == doctest::Approx(0.9).epsilon(1e-6));
  CHECK(w[1] == doctest::Approx(-1.9).epsilon(1e-6));
}

TEST_CASE("optimizer updates reject state, gradient and lr_scale of the wrong shape") {
  Tensor<double> w({2, 3});
  Tensor<double> g({2, 3});
  Tensor<double> s({2, 3});
  Tensor<double> s2({2, 3});
  Tensor<double> wrong({3, 2});
  const ops::SgdHyper sh;
  const ops::AdamHyper ah;

  CHECK_THROWS_WITH_AS(ops::sgd_update<double>(w, wrong, s, ConstView<double>(), sh),
                       doctest::Contains("gradient (3, 2) for parameter (2, 3)"), ShapeError);
  CHECK_THROWS_WITH_AS(ops::sgd_update<double>(w, g, wrong, ConstView<double>(), sh),
                       doctest::Contains("optimizer state (3, 2)"), ShapeError);
  CHECK_THROWS_WITH_AS(ops::sgd_update<double>(w, g, s, wrong, sh), doctest::Contains("lr_scale (3, 2)"), ShapeError);

  CHECK_THROWS_WITH_AS(ops::adam_update<double>(w, wrong, s, s2, ConstView<double>(), ah),
                       doctest::Contains("adam_update: gradient (3, 2)"), ShapeError);
  CHECK_THROWS_AS(ops::adam_update<double>(w, g, wrong, s2, ConstView<double>(), ah), ShapeError);
  CHECK_THROWS_WITH_AS(ops::adam_update<double>(w, g, s, wrong, ConstView<double>(), ah),
                       doctest::Contains("(3, 2) for parameter (2, 3)"), ShapeError);
  CHECK_THROWS_AS(ops::adam_update<double>(w, g, s, s2, wrong, ah), ShapeError);

  // Nothing was written by the failed calls.
  CHECK(ops::squared_norm<double>(w) == 0.0);
  CHECK(ops::squared_norm<double>(s) == 0.0);
}

TEST_CASE("updates reject missing optimizer state instead of reading through a null pointer") {
  auto w = Tensor<double>::from({2}, {1, 2});
  auto g = Tensor<double>::from({2}, {0.5, 0.5});
  Tensor<double> v({2});
  CHECK_THROWS_AS(ops::adam_update<double>(w.view(), g.cview(), TensorView<double>(), v.view(),
                                           ConstView<double>(), ops::AdamHyper{}),
                  ShapeError);
  ops::SgdHyper momentum;
  momentum.momentum = 0.9;
  CHECK_THROWS_WITH_AS(ops::sgd_update<double>(w.view(), g.cview(), TensorView<double>(), ConstView<double>(), momentum),
                       doctest::Contains("velocity"), ArgumentError);
}
