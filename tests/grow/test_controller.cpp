// Tests grow/controller.hpp and models::PairSite::measure: the GradMax trigger gives the neurons to the
// site whose singular values dominate its existing neurons' gradients, caps and budgets are never
// exceeded (constructed and random cases), NORTH's effective-rank rule, the JSON log, and that the
// measured numbers are what GradMax growth then does (its singular values, and the new neurons'
// gradient norms sigma_j x new_gradient_per_sigma).
#include <doctest/doctest.h>

#include <cmath>

#include "netgrow/grow/controller.hpp"
#include "netgrow/io/growth_history.hpp"
#include "netgrow/models/mlp.hpp"
#include "netgrow/models/small_cnn.hpp"
#include "support/growth.hpp"

using namespace netgrow;
using grow::SiteMeasure;

namespace {

SiteMeasure site(std::string name, Index width, std::vector<double> sigma, double existing, double cost = 10) {
  SiteMeasure m;
  m.name = std::move(name);
  m.width = width;
  m.gradient_singular_values = std::move(sigma);
  m.existing_gradient_norm = existing;
  m.parameters_per_neuron = cost;
  m.flops_per_neuron = 2 * cost;
  return m;
}

}  // namespace

TEST_CASE("GradMaxTrigger: a neuron per singular value whose new gradient beats the existing neurons'") {
  grow::GradMaxTrigger trigger({.check_every = 50, .start = 100}, 1.0);
  CHECK_FALSE(trigger.due(50));
  CHECK(trigger.due(100));
  CHECK_FALSE(trigger.due(120));
  const auto d = trigger.decide(100, {site("a", 4, {10, 0.1}, 1.0), site("b", 4, {0.5, 0.4}, 1.0)}, {});
  REQUIRE(d.size() == 2);
  CHECK(d[0].k == 1);
  CHECK(d[0].wanted == 1);
  CHECK(d[1].k == 0);
  // The factor a new neuron's gradient carries per unit of sigma counts.
  SiteMeasure scaled = site("b", 4, {0.5, 0.4}, 1.0);
  scaled.new_gradient_per_sigma = 3.0;
  CHECK(trigger.decide(150, {scaled}, {})[0].k == 2);
  CHECK(trigger.log().decisions().size() == 3);
  CHECK(trigger.log().total_neurons() == 3);
  const nlohmann::json log = io::to_json(trigger.log());
  REQUIRE(log.size() == 3);
  CHECK(log[0]["step"] == 100);
  CHECK(log[0]["site"] == "a");
  CHECK(log[0]["k"] == 1);
  CHECK(log[0]["singular_values"][0] == 10.0);
  CHECK_THROWS_AS(grow::GradMaxTrigger({.check_every = 0}), Error);
  CHECK_THROWS_AS(grow::GradMaxTrigger({}, -1.0), Error);
}

TEST_CASE("GradMaxTrigger: under a budget the dominant site gets the neurons first") {
  grow::GradMaxTrigger trigger({}, 1.0);
  const std::vector<SiteMeasure> sites{site("weak", 8, {2, 1.5}, 1.0), site("strong", 8, {5, 4, 3}, 1.0)};
  // Room for three neurons of 10 parameters.
  const auto d = trigger.decide(0, sites, {.parameters = 1000, .max_parameters = 1030});
  CHECK(d[0].k == 0);
  CHECK(d[1].k == 3);
  CHECK(d[0].wanted == 2);
  // FLOPs budget: room for four neurons of 20 FLOPs -> the strong site's three, then the weak site's best.
  grow::GradMaxTrigger by_flops({}, 1.0);
  const auto f = by_flops.decide(0, sites, {.flops = 100, .max_flops = 180});
  CHECK(f[1].k == 3);
  CHECK(f[0].k == 1);
  // Caps per growth and per site width.
  grow::GradMaxTrigger capped({.max_neurons_per_growth = 2, .max_width = {9, 100}}, 1.0);
  const auto c = capped.decide(0, sites, {});
  CHECK(c[0].k == 1);  // width 8 -> at most 9
  CHECK(c[1].k == 2);
}

TEST_CASE("Controllers never exceed the parameter or FLOP budget (random cases)") {
  Rng rng(3);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<SiteMeasure> sites;
    const int n = 1 + static_cast<int>(rng.next_u64() % 4);
    for (int i = 0; i < n; ++i) {
      std::vector<double> sigma;
      for (int j = 0; j < 6; ++j) sigma.push_back(rng.uniform(0, 3));
      std::sort(sigma.rbegin(), sigma.rend());
      std::vector<double> act;
      for (int j = 0; j < 12; ++j) act.push_back(rng.uniform(0, 0.2));
      SiteMeasure m = site("s" + std::to_string(i), 12, sigma, rng.uniform(0.1, 2), rng.uniform(1, 50));
      m.flops_per_neuron = rng.uniform(1, 100);
      m.activation_singular_values = act;
      sites.push_back(m);
    }
    const grow::GrowthBudget totals{.parameters = 500, .flops = 700, .max_parameters = rng.uniform(500, 700),
                                    .max_flops = rng.uniform(700, 1000)};
    grow::GradMaxTrigger gm({}, rng.uniform(0.2, 2));
    grow::EffectiveRankTrigger er({}, 0.05, 0.5);
    for (const auto& decisions : {gm.decide(0, sites, totals), er.decide(0, sites, totals)}) {
      double parameters = totals.parameters, flops = totals.flops;
      for (const auto& d : decisions) {
        CHECK(d.k <= d.wanted);
        parameters += static_cast<double>(d.k) * sites[d.site].parameters_per_neuron;
        flops += static_cast<double>(d.k) * sites[d.site].flops_per_neuron;
      }
      CHECK(parameters <= *totals.max_parameters);
      CHECK(flops <= *totals.max_flops);
    }
  }
}

TEST_CASE("EffectiveRankTrigger: NORTH's k = floor(width (phi - gamma phi_0))") {
  grow::EffectiveRankTrigger trigger({}, 0.1, 1.0);
  SiteMeasure m = site("fc1", 10, {}, 1.0);
  m.activation_singular_values = {1, 0.5, 0.3, 0.2, 0.05, 0.01, 0, 0, 0, 0};  // 4 above epsilon
  CHECK(trigger.effective_rank_fraction(m) == doctest::Approx(0.4));
  CHECK(trigger.decide(0, {m}, {})[0].k == 0);  // the first check sets phi_0 = 0.4
  REQUIRE(trigger.initial_fractions().size() == 1);
  m.activation_singular_values = {1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.05, 0, 0};  // 7 above epsilon
  const auto d = trigger.decide(100, {m}, {});
  CHECK(d[0].wanted == 3);  // floor(10 (0.7 - 0.4))
  CHECK(d[0].k == 3);
  CHECK(d[0].reference == doctest::Approx(4.0));
  CHECK_THROWS_AS(trigger.decide(200, {m, m}, {}), Error);  // the sites changed
}

TEST_CASE("PairSite::measure gives what GradMax growth then does") {
  Rng rng(11);
  models::Mlp<double, Cpu> mlp({.in = 12, .hidden1 = 6, .hidden2 = 5, .out = 4}, rng);
  auto& net = mlp.net();
  const Tensor<double> x = test::random_tensor(Shape{30, 12}, rng);
  Tensor<std::int32_t> labels(Shape{30});
  for (Index i = 0; i < 30; ++i) labels[i] = static_cast<std::int32_t>(i % 4);
  Tensor<double> grad;
  auto refresh = [&] {
    const auto logits = net.forward(x, Mode::train);
    grad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, labels, grad);
    net.backward(grad);
  };
  std::vector<SiteMeasure> measures;
  mlp.for_each_site([&](auto& s) { measures.push_back(s.measure(3, refresh)); });
  REQUIRE(measures.size() == 2);
  const SiteMeasure& m = measures[0];
  CHECK(m.name == "fc1");
  CHECK(m.width == 6);
  CHECK(m.parameters_per_neuron == doctest::Approx(12 + 1 + 5));
  CHECK(m.flops_per_neuron == doctest::Approx(2 * 12 + 2 * 5));
  REQUIRE(m.gradient_singular_values.size() == 3);
  CHECK(m.activation_singular_values.size() == 6);
  CHECK(std::is_sorted(m.activation_singular_values.rbegin(), m.activation_singular_values.rend()));
  CHECK(m.existing_gradient_norm > 0);
  // Existing neurons' mean incoming-gradient norm, by hand.
  refresh();
  const auto& g = net.layer<0>().weight().grad;
  double mean = 0;
  for (Index j = 0; j < 6; ++j) mean += test::rows_norm(g, j, 1) / 6;
  CHECK(m.existing_gradient_norm == doctest::Approx(mean).epsilon(1e-12));
  // Grow fc1 by 3 with GradMax (default norm rule): same singular values, and new neuron j's incoming
  // gradient norm is sigma_j x new_gradient_per_sigma.
  refresh();
  const auto report = grow::grow_width<0, 2>(net, 3, grow::GradMax{}, rng, grow::data_from_last_backward<0, 2>(net));
  REQUIRE(report.singular_values.size() == 3);
  for (int j = 0; j < 3; ++j) CHECK(report.singular_values[j] == doctest::Approx(m.gradient_singular_values[j]));
  refresh();
  for (Index j = 0; j < 3; ++j)
    CHECK(test::rows_norm(net.layer<0>().weight().grad, 6 + j, 1) ==
          doctest::Approx(m.gradient_singular_values[static_cast<std::size_t>(j)] * m.new_gradient_per_sigma)
              .epsilon(1e-9));
}

TEST_CASE("A controller-driven run grows where GradMax says, within its budget, on a CNN with BatchNorm") {
  Rng rng(5);
  models::SmallCnn<double, Cpu, true> cnn({.width_multiplier = 0.25}, rng);
  auto& net = cnn.net();
  const Tensor<double> x = test::random_tensor(Shape{6, 1, 28, 28}, rng);
  Tensor<std::int32_t> labels(Shape{6});
  for (Index i = 0; i < 6; ++i) labels[i] = static_cast<std::int32_t>(i % 10);
  Tensor<double> grad;
  auto refresh = [&] {
    const auto logits = net.forward(x, Mode::train);
    grad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, labels, grad);
    net.backward(grad);
  };
  const double start = static_cast<double>(net.parameter_count());
  grow::GradMaxTrigger trigger({.check_every = 1, .max_neurons_per_growth = 4}, 0.5);
  for (std::int64_t step = 0; step < 3; ++step) {
    std::vector<SiteMeasure> measures;
    cnn.for_each_site([&](auto& s) { measures.push_back(s.measure(8, refresh)); });
    const grow::GrowthBudget totals{.parameters = static_cast<double>(net.parameter_count()),
                                    .max_parameters = start * 1.5};
    const auto decisions = trigger.decide(step, measures, totals);
    std::size_t i = 0;
    cnn.for_each_site([&](auto& s) {
      const Index k = decisions[i++].k;
      if (k > 0) s.grow(k, grow::Random{}, rng);
    });
    CHECK(static_cast<double>(net.parameter_count()) <= start * 1.5);
  }
  CHECK(trigger.log().total_neurons() > 0);
  CHECK(io::to_json(trigger.log()).size() == trigger.log().decisions().size());
}
