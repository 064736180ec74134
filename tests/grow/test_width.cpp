// Tests grow/width.hpp: growing a pair keeps the network's function and loss for every initializer,
// grows gradients and optimizer state with zeros while keeping the old entries, and grows several
// pairs (one chosen at run time, or all at once).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "netgrow/optim/adam.hpp"
#include "support/growth.hpp"

using namespace netgrow;
using namespace netgrow::test;

namespace {

using Mlp = Sequential<double, Cpu, Dense, Relu1, Dense>;
using Deep = Sequential<double, Cpu, Dense, Relu1, Identity, Dense, Tanh, Dense>;

GrowthFixture<Mlp> mlp(std::uint64_t seed, bool bias = true) {
  return GrowthFixture<Mlp>(seed, Dense{.in = 20, .out = 5, .bias = bias}, Relu1{}, Dense{.in = 5, .out = 10, .bias = bias});
}

// Grows k neurons with `init` and checks that outputs and loss did not change.
template <class Fixture, std::size_t P, std::size_t C, class Init>
void check_preserved(Fixture& f, const Init& init, Index k) {
  f.train(5);
  const Tensor<double> before = f.output();
  const double loss_before = f.refresh();
  grow::GrowthData<double> data = grow::data_from_last_backward<P, C>(f.net);
  data.with_recompute(f.refresher());
  const auto report = grow::grow_width<P, C>(f.net, k, init, f.rng, data);
  CHECK(report.new_width == report.old_width + k);
  const Tensor<double> after = f.output();
  CHECK(max_abs_diff(before, after) < 1e-12);
  CHECK(f.refresh() == doctest::Approx(loss_before).epsilon(1e-12));
}

}  // namespace

TEST_CASE_TEMPLATE("growth with every initializer keeps the network's output and loss", Init, grow::Random,
                   grow::RandomOutgoingZero, grow::RandomAllZero, grow::Split, grow::GradMax, grow::GradMaxOpt,
                   grow::InverseGradMaxOpt) {
  for (bool bias : {true, false}) {
    if (std::is_same_v<Init, grow::RandomAllZero> && !bias) continue;  // needs a bias (tested elsewhere)
    auto f = mlp(bias ? 1 : 2, bias);
    check_preserved<GrowthFixture<Mlp>, 0, 2>(f, Init{}, 3);
  }
}

TEST_CASE("FireflyOpt with epsilon 0 keeps the output (and equals Random)") {
  auto f = mlp(3);
  check_preserved<GrowthFixture<Mlp>, 0, 2>(f, grow::FireflyOpt{.epsilon = 0, .steps = 5}, 2);
}

TEST_CASE("both pairs of a deeper network grow with the function kept, through two layers in between") {
  auto f = GrowthFixture<Deep>(4, Dense{.in = 20, .out = 6}, Relu1{}, Identity{}, Dense{.in = 6, .out = 7}, Tanh{},
                               Dense{.in = 7, .out = 10});
  check_preserved<GrowthFixture<Deep>, 0, 3>(f, grow::GradMax{}, 4);
  check_preserved<GrowthFixture<Deep>, 3, 5>(f, grow::GradMax{}, 2);
  CHECK(f.net.layer<0>().out_features() == 10);
  CHECK(f.net.layer<3>().in_features() == 10);
  CHECK(f.net.layer<3>().out_features() == 9);
  CHECK(f.net.layer<5>().in_features() == 9);
}

TEST_CASE("growth keeps old optimizer state and gradients and pads new entries with zeros") {
  auto f = mlp(5);
  f.refresh();
  Adam adam(1e-2);
  for (int i = 0; i < 3; ++i) {
    f.refresh();
    adam.step(f.net);
  }
  auto& w0 = f.net.layer<0>().weight();
  auto& b0 = f.net.layer<0>().bias();
  auto& w2 = f.net.layer<2>().weight();
  const Tensor<double> m0 = w0.state[0].clone(), v2 = w2.state[1].clone(), mb = b0.state[0].clone();
  const Tensor<double> g2 = w2.grad.clone();
  const Tensor<double> w2_old = w2.value.clone();
  grow::grow_width<0, 2>(f.net, 2, grow::Random{}, f.rng);

  REQUIRE(w0.value.shape() == Shape{7, 20});
  REQUIRE(w2.value.shape() == Shape{10, 7});
  for (auto* p : {&w0, &b0, &w2}) {
    CHECK(p->grad.shape() == p->value.shape());
    REQUIRE(p->state.size() == 2);
    for (auto& s : p->state) CHECK(s.shape() == p->value.shape());
  }
  for (Index r = 0; r < 7; ++r)
    for (Index c = 0; c < 20; ++c) CHECK(w0.state[0].at(r, c) == (r < 5 ? m0.at(r, c) : 0.0));
  for (Index r = 0; r < 7; ++r) CHECK(b0.state[0].at(r) == (r < 5 ? mb.at(r) : 0.0));
  for (Index r = 0; r < 10; ++r)
    for (Index c = 0; c < 7; ++c) {
      CHECK(w2.state[1].at(r, c) == (c < 5 ? v2.at(r, c) : 0.0));
      CHECK(w2.grad.at(r, c) == (c < 5 ? g2.at(r, c) : 0.0));
      if (c < 5) CHECK(w2.value.at(r, c) == w2_old.at(r, c));
    }
  // Training continues with the grown state.
  f.refresh();
  adam.step(f.net);
  CHECK_FALSE(f.net.find_non_finite().has_value());
}

TEST_CASE("right after GradMax or Random growth the new outgoing weights have zero gradient") {
  for (int method = 0; method < 2; ++method) {
    auto f = mlp(6);
    f.train(5);
    f.refresh();
    auto data = grow::data_from_last_backward<0, 2>(f.net);
    if (method == 0) grow::grow_width<0, 2>(f.net, 3, grow::GradMax{}, f.rng, data);
    else grow::grow_width<0, 2>(f.net, 3, grow::Random{}, f.rng, data);
    f.refresh();
    INFO("method ", method == 0 ? "GradMax" : "Random");
    CHECK(cols_norm(f.net.layer<2>().weight().grad, 5, 3) == 0.0);
    CHECK(rows_norm(f.net.layer<0>().weight().grad, 5, 3) > 1e-6);
  }
}

TEST_CASE("with outgoing weights zero it is the other way round: only the new outgoing weights move first") {
  auto f = mlp(7);
  f.train(5);
  grow::grow_width<0, 2>(f.net, 3, grow::RandomOutgoingZero{}, f.rng);
  f.refresh();
  CHECK(rows_norm(f.net.layer<0>().weight().grad, 5, 3) == 0.0);
  CHECK(cols_norm(f.net.layer<2>().weight().grad, 5, 3) > 1e-6);
}

TEST_CASE("growing zero neurons changes nothing; bad requests throw") {
  auto f = mlp(8);
  const auto report = grow::grow_width<0, 2>(f.net, 0, grow::Random{}, f.rng);
  CHECK(report.new_width == 5);
  CHECK(f.net.layer<0>().out_features() == 5);
  CHECK_THROWS_AS((grow::grow_width<0, 2>(f.net, -1, grow::Random{}, f.rng)), ArgumentError);
  // GradMax without data says what it needs.
  CHECK_THROWS_WITH_AS((grow::grow_width<0, 2>(f.net, 1, grow::GradMax{}, f.rng)), doctest::Contains("GrowthData"),
                       ArgumentError);
  // A pair whose widths disagree (the consumer was resized by hand) is refused.
  grow::append_to_parameter(f.net.layer<2>().weight(), 1, Tensor<double>(Shape{10, 1}).cview());
  CHECK_THROWS_WITH_AS((grow::grow_width<0, 2>(f.net, 1, grow::Random{}, f.rng)), doctest::Contains("consumes 6"),
                       ShapeError);
}

TEST_CASE("grow_pair grows the pair chosen at run time and refreshes the grow batch for data-driven methods") {
  auto f = GrowthFixture<Deep>(9, Dense{.in = 20, .out = 6}, Relu1{}, Identity{}, Dense{.in = 6, .out = 7}, Tanh{},
                               Dense{.in = 7, .out = 10});
  using Pairs = grow::PairList<grow::Pair<0, 3>, grow::Pair<3, 5>>;
  f.train(3);
  const Tensor<double> before = f.output();
  const Index refreshes = f.refreshes;
  grow::RoundRobin rr(Pairs::size);
  for (int i = 0; i < 3; ++i) grow::grow_pair(f.net, Pairs{}, rr.next(), 2, grow::GradMax{}, f.rng, f.refresher());
  CHECK(f.refreshes == refreshes + 3);
  CHECK(f.net.layer<0>().out_features() == 10);  // grown twice (round-robin 0, 1, 0)
  CHECK(f.net.layer<3>().out_features() == 9);
  CHECK(max_abs_diff(before, f.output()) < 1e-12);
  CHECK_THROWS_AS(grow::grow_pair(f.net, Pairs{}, 2, 1, grow::Random{}, f.rng), ArgumentError);
  CHECK_THROWS_WITH_AS(grow::grow_pair(f.net, Pairs{}, 0, 1, grow::GradMax{}, f.rng), doctest::Contains("refresh"),
                       ArgumentError);
}

TEST_CASE("grow_all_at_once grows every pair in order and reports each growth") {
  auto f = GrowthFixture<Deep>(10, Dense{.in = 20, .out = 6}, Relu1{}, Identity{}, Dense{.in = 6, .out = 7}, Tanh{},
                               Dense{.in = 7, .out = 10});
  using Pairs = grow::PairList<grow::Pair<0, 3>, grow::Pair<3, 5>>;
  const Tensor<double> before = f.output();
  const std::vector<Index> ks = {3, 1};
  const auto reports = grow::grow_all_at_once(f.net, Pairs{}, ks, grow::GradMax{}, f.rng, f.refresher());
  REQUIRE(reports.size() == 2);
  CHECK(reports[0].producer == 0);
  CHECK(reports[0].new_width == 9);
  CHECK(reports[1].producer == 3);
  CHECK(reports[1].new_width == 8);
  CHECK_FALSE(reports[0].singular_values.empty());
  CHECK(max_abs_diff(before, f.output()) < 1e-12);
}

TEST_CASE("a grown network keeps training: the loss goes on falling") {
  auto f = mlp(11, false);
  f.train(20);
  const double at_growth = f.refresh();
  auto data = grow::data_from_last_backward<0, 2>(f.net);
  grow::grow_width<0, 2>(f.net, 5, grow::GradMax{}, f.rng, data);
  f.train(50);
  CHECK(f.refresh() < at_growth);
}

TEST_CASE_TEMPLATE("growth on non-finite weights or data throws NumericError naming the pair, the network untouched",
                   Init, grow::GradMax, grow::Random, grow::Split) {
  GrowthFixture<DenseActDense<Relu1>> f(21, Dense{.in = 20, .out = 5}, Relu1{}, Dense{.in = 5, .out = 10});
  f.train(2);
  // NaN in a weight (as after a NaN loss): refused whatever the initializer.
  auto& w = f.net.layer<2>().weight().value;
  const double saved = w[3];
  w[3] = std::numeric_limits<double>::quiet_NaN();
  f.refresh();
  const auto snapshot = [&] {
    std::vector<std::vector<double>> values;
    f.net.visit_parameters([&](const std::string&, Parameter<double, Cpu>& p) { values.push_back(p.value.to_vector()); });
    return values;
  };
  const auto before = snapshot();
  const auto data = grow::data_from_last_backward<0, 2>(f.net);
  CHECK_THROWS_WITH_AS((grow::grow_width<0, 2>(f.net, 2, Init{}, f.rng, data)), doctest::Contains("grow_width<0, 2>"),
                       NumericError);
  const auto after = snapshot();
  REQUIRE(after.size() == before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    REQUIRE(after[i].size() == before[i].size());
    for (std::size_t j = 0; j < after[i].size(); ++j)
      CHECK((after[i][j] == before[i][j] || (std::isnan(after[i][j]) && std::isnan(before[i][j]))));
  }
  CHECK(f.net.layer<0>().out_features() == 5);
  w[3] = saved;
}

TEST_CASE("GradMax on a grow batch with an infinite gradient throws NumericError before any change") {
  GrowthFixture<DenseActDense<Relu1>> f(22, Dense{.in = 20, .out = 5}, Relu1{}, Dense{.in = 5, .out = 10});
  f.refresh();
  Tensor<double> h, dz;
  h.copy_from(f.net.output<0>());
  dz.copy_from(f.net.output_grad<2>());
  dz[0] = std::numeric_limits<double>::infinity();
  const auto data = grow::GrowthData<double>::from_batch(h.cview(), dz.cview());
  CHECK_FALSE(data.all_finite());
  CHECK_THROWS_AS((grow::grow_width<0, 2>(f.net, 2, grow::GradMax{}, f.rng, data)), NumericError);
  CHECK(f.net.layer<0>().out_features() == 5);
}
