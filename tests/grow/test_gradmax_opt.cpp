// Tests grow/gradmax_opt.hpp: GradMaxOpt climbs GradMax's objective from a random start towards the
// closed form, under the norm rule; InverseGradMaxOpt keeps the function for any activation and
// increases the gradient of the new outgoing weights.
#include <doctest/doctest.h>

#include "support/growth.hpp"

using namespace netgrow;
using namespace netgrow::test;

namespace {

using Mlp = Sequential<double, Cpu, Dense, Relu1, Dense>;

// ||O M||_F for the outgoing rows O of the newest k neurons of the consumer (10, width).
double objective(const Tensor<double>& m, ConstView<double, Cpu> w2, Index begin, Index k) {
  Eigen::MatrixXd o = matrix(w2).middleCols(begin, k).transpose();
  return (o * matrix(m)).norm();
}

}  // namespace

TEST_CASE("GradMaxOpt increases ||O M|| from its random start and approaches the closed form") {
  GrowthFixture<Mlp> f(1, Dense{.in = 20, .out = 5}, Relu1{}, Dense{.in = 5, .out = 10});
  f.train(10);
  f.refresh();
  auto data = grow::data_from_last_backward<0, 2>(f.net);
  const Tensor<double> m = data.matrix().clone();
  const auto norm = grow::NormRule::fixed(1.0);

  auto grown_objective = [&](const auto& init) {
    GrowthFixture<Mlp> g(1, Dense{.in = 20, .out = 5}, Relu1{}, Dense{.in = 5, .out = 10});
    g.train(10);
    g.refresh();
    auto d = grow::data_from_last_backward<0, 2>(g.net);
    Rng rng(5);
    grow::grow_width<0, 2>(g.net, 2, init, rng, d);
    return objective(m, g.net.layer<2>().weight().value, 5, 2);
  };
  const double start = grown_objective(grow::GradMaxOpt{.norm = norm, .steps = 0});
  const double few = grown_objective(grow::GradMaxOpt{.norm = norm, .steps = 100});
  const double many = grown_objective(
      grow::GradMaxOpt{.norm = norm, .steps = 300, .learning_rate = 1.0, .orthonormal = true, .ascent = grow::Ascent::gradient});
  const double closed = grown_objective(grow::GradMax{.norm = norm});
  INFO("start ", start, ", 100 steps ", few, ", 300 orthonormal gradient steps ", many, ", GradMax ", closed);
  CHECK(few > start);
  CHECK(many > few);
  CHECK(many <= closed * (1 + 1e-9));
  CHECK(many > 0.99 * closed);
}

TEST_CASE("without the orthonormal projection, long runs line the new neurons up on the top direction") {
  GrowthFixture<Mlp> f(1, Dense{.in = 20, .out = 5}, Relu1{}, Dense{.in = 5, .out = 10});
  f.train(10);
  f.refresh();
  auto data = grow::data_from_last_backward<0, 2>(f.net);
  const Tensor<double> m = data.matrix().clone();
  const double closed = [&] {
    Eigen::JacobiSVD<Eigen::MatrixXd> svd(matrix(m));
    return std::hypot(svd.singularValues()(0), svd.singularValues()(1));
  }();
  grow::grow_width<0, 2>(f.net, 2,
                         grow::GradMaxOpt{.norm = grow::NormRule::fixed(1.0), .steps = 3000, .learning_rate = 1.0,
                                          .ascent = grow::Ascent::gradient},
                         f.rng, data);
  const auto w2 = matrix(f.net.layer<2>().weight().value);
  const double cosine = std::abs(w2.col(5).dot(w2.col(6)));  // unit columns
  INFO("||O M|| ", objective(m, f.net.layer<2>().weight().value, 5, 2), " vs GradMax's ", closed,
       "; cosine between the two new neurons ", cosine);
  CHECK(objective(m, f.net.layer<2>().weight().value, 5, 2) > closed);
  CHECK(cosine > 0.9);
}

TEST_CASE("GradMaxOpt keeps each new neuron's outgoing norm at the rule's magnitude and incoming at zero") {
  GrowthFixture<Mlp> f(2, Dense{.in = 20, .out = 5}, Relu1{}, Dense{.in = 5, .out = 10});
  f.train(5);
  f.refresh();
  auto data = grow::data_from_last_backward<0, 2>(f.net);
  grow::grow_width<0, 2>(f.net, 3, grow::GradMaxOpt{.norm = grow::NormRule::fixed(0.8), .steps = 20}, f.rng, data);
  for (Index c = 5; c < 8; ++c) CHECK(cols_norm(f.net.template layer<2>().weight().value, c, 1) == doctest::Approx(0.8));
  CHECK(rows_norm(f.net.template layer<0>().weight().value, 5, 3) == 0.0);
  CHECK_THROWS_AS((grow::grow_width<0, 2>(f.net, 1, grow::GradMaxOpt{.steps = -1}, f.rng, data)), ArgumentError);
}

TEST_CASE_TEMPLATE("InverseGradMaxOpt keeps the function for any activation", Act, Relu1, Tanh, Gelu, Relu) {
  using Net = Sequential<double, Cpu, Dense, Act, Dense>;
  GrowthFixture<Net> f(3, Dense{.in = 20, .out = 5}, Act{}, Dense{.in = 5, .out = 10});
  f.train(5);
  const Tensor<double> before = f.output();
  f.refresh();
  auto data = grow::data_from_last_backward<0, 2>(f.net);
  grow::grow_width<0, 2>(f.net, 3, grow::InverseGradMaxOpt{.steps = 10}, f.rng, data);
  CHECK(max_abs_diff(before, f.output()) < 1e-12);
  CHECK(cols_norm(f.net.template layer<2>().weight().value, 5, 3) == 0.0);
}

TEST_CASE("InverseGradMaxOpt raises the gradient of the new outgoing weights above its random start") {
  auto new_outgoing_gradient = [](int steps) {
    using Net = Sequential<double, Cpu, Dense, Tanh, Dense>;
    GrowthFixture<Net> f(4, Dense{.in = 20, .out = 5}, Tanh{}, Dense{.in = 5, .out = 10});
    f.train(10);
    f.refresh();
    auto data = grow::data_from_last_backward<0, 2>(f.net);
    Rng rng(6);
    grow::grow_width<0, 2>(
        f.net, 2, grow::InverseGradMaxOpt{.norm = grow::NormRule::fixed(1.0), .steps = steps, .learning_rate = 0.02},
        rng, data);
    for (Index r = 5; r < 7; ++r) CHECK(rows_norm(f.net.template layer<0>().weight().value, r, 1) == doctest::Approx(1.0));
    f.refresh();
    return cols_norm(f.net.template layer<2>().weight().grad, 5, 2);
  };
  const double start = new_outgoing_gradient(0);
  const double optimised = new_outgoing_gradient(200);
  INFO("random start ", start, ", optimised ", optimised);
  CHECK(optimised > 1.2 * start);
}
