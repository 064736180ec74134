// Tests optim/adam.hpp: the first Adam steps by hand (bias correction included), L2 vs decoupled
// (AdamW) weight decay, AdamW's defaults, state reset when switching optimizers, option checks, and
// optim/staged.hpp against Adam::step.
#include <doctest/doctest.h>

#include "netgrow/optim/adam.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "netgrow/layers/dense.hpp"
#include "netgrow/network/sequential.hpp"
#include "netgrow/optim/lr_schedule.hpp"
#include "netgrow/optim/sgd.hpp"
#include "netgrow/optim/staged.hpp"
#include "support/parameters.hpp"

using namespace netgrow;
using namespace netgrow::test;

namespace {

// Two steps with lr 0.1 from w = (1, -2): gradients (0.5, -1), then (0.25, 0.5).
template <class Opt>
Param two_steps(Opt& opt, bool weight_decay = true) {
  OneParameter net{make_param({1, -2})};
  net.p.weight_decay = weight_decay;
  set_grad(net.p, {0.5, -1});
  opt.step(net);
  set_grad(net.p, {0.25, 0.5});
  opt.step(net);
  return std::move(net.p);
}

}  // namespace

TEST_CASE("Adam's first two steps match a hand computation with bias correction") {
  Adam adam(0.1);
  OneParameter net{make_param({1, -2})};

  // t = 1: m = 0.1 g, v = 0.001 g^2, so the corrected step is lr g / (|g| + eps).
  set_grad(net.p, {0.5, -1});
  adam.step(net);
  CHECK(adam.steps() == 1);
  CHECK(net.p.state_owner == "adam");
  REQUIRE(net.p.state.size() == 2);
  check_values(net.p.state[0], {0.05, -0.1});
  check_values(net.p.state[1], {0.00025, 0.001});
  check_values(net.p.value, {1 - 0.1 * 0.5 / (0.5 + 1e-8), -2 + 0.1 / (1 + 1e-8)});

  // t = 2: m = (0.07, -0.04), v = (0.00031225, 0.001249); bias corrections 0.19 and 0.001999:
  // w -= 0.1 (m / 0.19) / (sqrt(v / 0.001999) + 1e-8).
  set_grad(net.p, {0.25, 0.5});
  adam.step(net);
  CHECK(adam.steps() == 2);
  check_values(net.p.state[0], {0.07, -0.04});
  check_values(net.p.state[1], {0.00031225, 0.001249});
  check_values(net.p.value, {0.8067820404774624, -1.873366297370903});
}

TEST_CASE("Adam::update takes the update number for the bias correction") {
  const Adam adam(0.1);
  Param p = make_param({1, -2});
  set_grad(p, {0.5, -1});
  // Fresh moments at t = 2 (as for neurons added by growth): bias corrections 0.19 and 0.001999.
  adam.update(p, 0.1, 2);
  check_values(p.value, {0.9255863197475123, -1.925586318695407});

  // step() uses steps() + 1.
  Adam later(0.1);
  later.set_steps(1);
  OneParameter net{make_param({1, -2})};
  set_grad(net.p, {0.5, -1});
  later.step(net);
  check_values(net.p.value, {0.9255863197475123, -1.925586318695407});

  CHECK_THROWS_WITH_AS(adam.update(p, 0.1, 0), doctest::Contains("update number must be >= 1"), ArgumentError);
}

TEST_CASE("Adam's L2 weight decay and AdamW's decoupled decay give their different documented results") {
  Adam l2(0.1, {.weight_decay = 0.1});
  AdamW decoupled(0.1, {.weight_decay = 0.1});
  const Param a = two_steps(l2);
  const Param b = two_steps(decoupled);

  // L2: g += 0.1 w enters the moments; after step 1, m = 0.1 (0.6, -1.2).
  check_values(a.value, {0.8050097658613199, -1.8537472646427609});
  // AdamW: w *= 1 - lr 0.1 before each update; the moments see the raw gradient.
  check_values(b.value, {0.7878820404574624, -1.8345662973609032});
  check_values(b.state[0], {0.07, -0.04});
  CHECK(a.value[0] != doctest::Approx(b.value[0]));

  // Adam with decoupled_weight_decay set is AdamW.
  Adam also_decoupled(0.1, {.weight_decay = 0.1, .decoupled_weight_decay = true});
  check_values(two_steps(also_decoupled).value, {0.7878820404574624, -1.8345662973609032});
}

TEST_CASE("Adam and AdamW apply no weight decay to parameters that opt out") {
  Adam l2(0.1, {.weight_decay = 0.1});
  AdamW decoupled(0.1, {.weight_decay = 0.1});
  check_values(two_steps(l2, false).value, {0.8067820404774624, -1.873366297370903});
  check_values(two_steps(decoupled, false).value, {0.8067820404774624, -1.873366297370903});
}

TEST_CASE("AdamW defaults to decoupled weight decay 0.01") {
  AdamW adamw(0.1);
  CHECK(adamw.options().weight_decay == 0.01);
  CHECK(adamw.options().decoupled_weight_decay);
  CHECK(adamw.options().beta1 == 0.9);
  CHECK(adamw.options().beta2 == 0.999);
  CHECK(adamw.options().eps == 1e-8);

  OneParameter net{make_param({1, -2})};
  set_grad(net.p, {0.5, -1});
  adamw.step(net);
  // w (1 - 0.1 * 0.01), then the sign step of size 0.1.
  check_values(net.p.value, {0.999 - 0.1 * 0.5 / (0.5 + 1e-8), -1.998 + 0.1 / (1 + 1e-8)});

  // AdamW's options have no decoupling switch, and setting another field keeps the 0.01 default.
  const AdamW other_beta(0.1, {.beta1 = 0.8});
  CHECK(other_beta.options().decoupled_weight_decay);
  CHECK(other_beta.options().weight_decay == 0.01);
  CHECK(other_beta.options().beta1 == 0.8);

  // Plain Adam has no weight decay by default.
  const Adam adam(0.1);
  CHECK(adam.options().weight_decay == 0.0);
  CHECK_FALSE(adam.options().decoupled_weight_decay);
}

TEST_CASE("Adam applies lr_multiplier and lr_scale and skips frozen parameters") {
  const Adam adam(0.1);
  Param p = make_param({1, -2, 3});
  set_grad(p, {0.5, -1, 2});
  p.lr_multiplier = 0.5;
  p.lr_scale = Tensor<double>::from({3}, {1, 2, 0});
  adam.update(p, 0.1, 1);
  check_values(p.value, {1 - 0.05 * 0.5 / (0.5 + 1e-8), -2 + 0.1 * 1 / (1 + 1e-8), 3});
  // The moments do not depend on the learning rate.
  check_values(p.state[0], {0.05, -0.1, 0.2});

  Param frozen = make_param({1, -2});
  set_grad(frozen, {0.5, -1});
  frozen.trainable = false;
  adam.update(frozen, 0.1, 1);
  check_values(frozen.value, {1, -2});
  CHECK(frozen.state.empty());
  CHECK(frozen.state_owner.empty());
}

TEST_CASE("switching a parameter from Sgd to Adam and back resets its optimizer state") {
  Param p = make_param({1, -2});
  set_grad(p, {0.5, -1});
  const Sgd sgd(0.1, {.momentum = 0.9});
  sgd.update(p, 0.1);
  sgd.update(p, 0.1);
  CHECK(p.state_owner == "sgd");
  REQUIRE(p.state.size() == 1);
  check_values(p.state[0], {0.95, -1.9});  // v = 0.9 g + g
  check_values(p.value, {0.855, -1.71});   // w - 0.1 (g + 1.9 g)

  // Adam starts with zero moments, as on a fresh parameter.
  const Adam adam(0.1);
  adam.update(p, 0.1, 1);
  CHECK(p.state_owner == "adam");
  REQUIRE(p.state.size() == 2);
  check_values(p.state[0], {0.05, -0.1});
  check_values(p.state[1], {0.00025, 0.001});
  check_values(p.value, {0.855 - 0.1 * 0.5 / (0.5 + 1e-8), -1.71 + 0.1 / (1 + 1e-8)});

  // Back to Sgd: a fresh velocity of g.
  sgd.update(p, 0.1);
  CHECK(p.state_owner == "sgd");
  REQUIRE(p.state.size() == 1);
  check_values(p.state[0], {0.5, -1});
}

TEST_CASE("Adam::step updates every parameter of a Sequential; zero gradients leave weights alone") {
  Rng rng(11);
  auto net = make_sequential<double, Cpu>(rng, Dense{3, 2});
  std::vector<Tensor<double>> before;
  net.visit_parameters([&](const std::string&, Param& p) {
    before.push_back(p.value.clone());
    for (Index i = 0; i < p.grad.numel(); ++i) p.grad[i] = i % 2 == 0 ? 0.0 : (i % 3 == 0 ? 2.0 : -0.5);
  });
  Adam adam(CosineLr{.base = 0.01, .total_steps = 10});
  adam.step(net);
  CHECK(adam.steps() == 1);
  std::size_t k = 0;
  net.visit_parameters([&](const std::string& name, Param& p) {
    INFO("parameter ", name);
    CHECK(p.state_owner == "adam");
    for (Index i = 0; i < p.numel(); ++i) {
      const double g = p.grad[i];
      const double step = g == 0.0 ? 0.0 : 0.01 * g / (std::abs(g) + 1e-8);
      CHECK(p.value[i] == doctest::Approx(before[k][i] - step).epsilon(1e-12));
    }
    ++k;
  });
  CHECK(k == 2);
}

TEST_CASE("Adam rejects invalid options") {
  CHECK_THROWS_WITH_AS(Adam(0.1, {.beta1 = 1.0}), doctest::Contains("beta1 must be in [0, 1)"), ArgumentError);
  CHECK_THROWS_AS(Adam(0.1, {.beta1 = -0.1}), ArgumentError);
  CHECK_THROWS_WITH_AS(Adam(0.1, {.beta2 = 1.0}), doctest::Contains("beta2"), ArgumentError);
  CHECK_THROWS_AS(Adam(0.1, {.beta2 = -0.5}), ArgumentError);
  CHECK_THROWS_WITH_AS(Adam(0.1, {.eps = 0.0}), doctest::Contains("eps must be positive"), ArgumentError);
  CHECK_THROWS_WITH_AS(Adam(0.1, {.weight_decay = -0.01}), doctest::Contains("weight_decay"), ArgumentError);
  CHECK_THROWS_AS(AdamW(0.1, {.weight_decay = -0.01}), ArgumentError);
  CHECK_THROWS_AS(Adam(-1.0), ArgumentError);
  CHECK_NOTHROW(Adam(0.1, {.beta1 = 0.0, .beta2 = 0.0}));
}

TEST_CASE("Adam::update rejects a gradient or state that does not fit the parameter") {
  const Adam adam(0.1);
  Param p = make_param({1, -2});
  p.grad = Tensor<double>({3});
  CHECK_THROWS_WITH_AS(adam.update(p, 0.1, 1, "2.weight"), doctest::Contains("parameter 2.weight"), StateError);

  set_grad(p, {1, 1});
  adam.update(p, 0.1, 1);
  p.value = Tensor<double>({3});
  p.grad = Tensor<double>({3});
  CHECK_THROWS_WITH_AS(adam.update(p, 0.1, 2, "2.weight"), doctest::Contains("has shape (2)"), StateError);
}

TEST_CASE("StagedAdam (constants staged in memory, read when the update runs) equals Adam::step bit for bit") {
  // Float parameters, AdamW, a schedule, lr_multiplier and lr_scale: every constant that changes per step
  // or per parameter takes its path.
  Rng rng(12);
  auto plain = make_sequential<float, Cpu>(rng, Dense{5, 4}, Dense{4, 3});
  Rng same(12);
  auto staged_net = make_sequential<float, Cpu>(same, Dense{5, 4}, Dense{4, 3});
  for (auto* net : {&plain, &staged_net}) {
    net->layer<0>().weight().lr_multiplier = 0.5;
    net->layer<1>().weight().lr_scale = Tensor<float>(Shape{3, 4});
    for (Index i = 0; i < 12; ++i) net->layer<1>().weight().lr_scale[i] = 0.25f * static_cast<float>(i % 4 + 1);
  }
  const AdamWOptions o{.beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.05};
  AdamW adam(WarmupLr{.warmup_steps = 3, .after = CosineLr{.base = 0.02, .total_steps = 8}}, o);
  AdamW other(WarmupLr{.warmup_steps = 3, .after = CosineLr{.base = 0.02, .total_steps = 8}}, o);
  StagedAdam<Cpu> staged(other);
  CHECK_THROWS_AS(staged.step(staged_net), StateError);  // nothing staged yet
  for (int step = 0; step < 6; ++step) {
    auto set_grads = [&](auto& net) {
      Rng g(100 + static_cast<std::uint64_t>(step));
      net.visit_parameters([&](const std::string&, auto& p) {
        for (Index i = 0; i < p.grad.numel(); ++i) p.grad[i] = static_cast<float>(g.normal());
      });
    };
    set_grads(plain);
    set_grads(staged_net);
    adam.step(plain);
    staged.stage();
    CHECK(other.steps() == step + 1);  // counted at stage()
    const std::array<double, 3> c = other.step_constants(
        WarmupLr{.warmup_steps = 3, .after = CosineLr{.base = 0.02, .total_steps = 8}}(step), step + 1);
    CHECK(staged.constants()[0] == c[0]);
    staged.step(staged_net);
  }
  check_identical_parameters(plain, staged_net);
  CHECK(adam.steps() == other.steps());
}
