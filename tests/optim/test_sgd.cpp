// Tests optim/sgd.hpp: hand-computed SGD, momentum and Nesterov updates, weight decay and its opt-out,
// learning-rate factors, frozen parameters, step() on a Sequential, option validation, and StagedSgd
// (optim/staged.hpp) against step().
#include <doctest/doctest.h>

#include "netgrow/optim/sgd.hpp"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "netgrow/layers/dense.hpp"
#include "netgrow/network/sequential.hpp"
#include "netgrow/optim/lr_schedule.hpp"
#include "netgrow/optim/staged.hpp"
#include "support/parameters.hpp"

using namespace netgrow;
using namespace netgrow::test;

TEST_CASE("Sgd without momentum subtracts lr times the gradient and keeps no state") {
  Sgd sgd(0.1);
  Param p = make_param({1, -2, 0.5});
  set_grad(p, {0.5, 1, -4});
  sgd.update(p, 0.1);
  check_values(p.value, {0.95, -2.1, 0.9});
  CHECK(p.state.empty());
  CHECK(p.state_owner == "sgd");
  // The gradient is read, not consumed.
  check_values(p.grad, {0.5, 1, -4});
  sgd.update(p, 0.2);
  check_values(p.value, {0.85, -2.3, 1.7});
}

TEST_CASE("Sgd with momentum matches the recurrence v = mu v + g, w -= lr v over three steps") {
  Sgd sgd(0.1, {.momentum = 0.9});
  Param p = make_param({1, -2});
  const std::vector<std::vector<double>> grads = {{0.5, 1}, {-0.5, 2}, {1, 0}};

  // The recurrence, written out independently.
  std::vector<double> w = {1, -2}, v = {0, 0};
  for (const auto& g : grads) {
    p.grad = Tensor<double>::from({2}, {g[0], g[1]});
    sgd.update(p, 0.1);
    for (std::size_t i = 0; i < 2; ++i) {
      v[i] = 0.9 * v[i] + g[i];
      w[i] -= 0.1 * v[i];
    }
    REQUIRE(p.state.size() == 1);
    check_values(p.state[0], v);
    check_values(p.value, w);
  }
  // The same numbers by hand: v = (0.955, 2.61), w = (0.8595, -2.651).
  check_values(p.state[0], {0.955, 2.61});
  check_values(p.value, {0.8595, -2.651});
  CHECK(p.state_owner == "sgd");
}

TEST_CASE("Sgd with Nesterov momentum steps along g + momentum * v") {
  Sgd sgd(0.1, {.momentum = 0.9, .nesterov = true});
  Param p = make_param({1, -2});
  set_grad(p, {0.5, 1});
  sgd.update(p, 0.1);
  check_values(p.state[0], {0.5, 1});
  check_values(p.value, {0.905, -2.19});
  set_grad(p, {-0.5, 2});
  sgd.update(p, 0.1);
  check_values(p.state[0], {-0.05, 2.9});
  check_values(p.value, {0.9595, -2.651});
}

TEST_CASE("Sgd weight decay adds weight_decay * w unless the parameter opts out") {
  Sgd sgd(0.1, {.weight_decay = 0.1});
  Param decayed = make_param({1, -2});
  set_grad(decayed, {0.5, 1});
  sgd.update(decayed, 0.1);
  // d = (0.6, 0.8)
  check_values(decayed.value, {0.94, -2.08});

  Param exempt = make_param({1, -2});
  exempt.weight_decay = false;
  set_grad(exempt, {0.5, 1});
  sgd.update(exempt, 0.1);
  check_values(exempt.value, {0.95, -2.1});

  // With momentum the decay enters the velocity.
  Sgd heavy(0.1, {.momentum = 0.5, .weight_decay = 0.1});
  Param q = make_param({1, -2});
  set_grad(q, {0.5, 1});
  heavy.update(q, 0.1);
  check_values(q.state[0], {0.6, 0.8});
  heavy.update(q, 0.1);
  // d = (0.5 + 0.094, 1 - 0.208); v = 0.5 (0.6, 0.8) + d
  check_values(q.state[0], {0.894, 1.192});
  check_values(q.value, {0.94 - 0.0894, -2.08 - 0.1192});
}

TEST_CASE("Sgd applies lr_multiplier and lr_scale on top of the learning rate") {
  Sgd sgd(1.0);
  Param p = make_param({1, -2, 3});
  set_grad(p, {1, 1, 1});
  p.lr_multiplier = 0.5;
  sgd.update(p, 0.1);
  check_values(p.value, {0.95, -2.05, 2.95});

  p.lr_scale = Tensor<double>::from({3}, {1, 2, 0});
  sgd.update(p, 0.1);
  check_values(p.value, {0.9, -2.15, 2.95});
}

TEST_CASE("Sgd skips parameters that are not trainable") {
  Sgd sgd(0.1, {.momentum = 0.9});
  Param p = make_param({1, -2});
  set_grad(p, {0.5, 1});
  p.trainable = false;
  sgd.update(p, 0.1);
  check_values(p.value, {1, -2});
  CHECK(p.state.empty());
  CHECK(p.state_owner.empty());
}

TEST_CASE("Sgd::update rejects a gradient or state that does not fit the parameter") {
  Sgd sgd(0.1, {.momentum = 0.9});
  Param p = make_param({1, -2});
  p.grad = Tensor<double>({3});
  CHECK_THROWS_WITH_AS(sgd.update(p, 0.1, "0.bias"), doctest::Contains("parameter 0.bias"), StateError);
  check_values(p.value, {1, -2});

  set_grad(p, {1, 1});
  sgd.update(p, 0.1);
  p.value = Tensor<double>({3});
  p.grad = Tensor<double>({3});
  CHECK_THROWS_AS(sgd.update(p, 0.1, "0.bias"), StateError);
}

TEST_CASE("Sgd::step updates every parameter of a Sequential and advances the schedule") {
  Rng rng(7);
  auto net = make_sequential<double, Cpu>(rng, Dense{3, 2});
  std::vector<Tensor<double>> before;
  double fill = 0.25;
  net.visit_parameters([&](const std::string&, Param& p) {
    before.push_back(p.value.clone());
    for (Index i = 0; i < p.grad.numel(); ++i) p.grad[i] = fill * static_cast<double>(i + 1);
    fill = -0.5;
  });
  REQUIRE(before.size() == 2);  // weight (2, 3) and bias (2)

  Sgd sgd(StepLr{.base = 0.1, .milestones = {1}, .gamma = 0.5});
  CHECK(sgd.learning_rate() == 0.1);
  sgd.step(net);
  CHECK(sgd.steps() == 1);
  CHECK(sgd.learning_rate() == 0.05);

  std::size_t k = 0;
  net.visit_parameters([&](const std::string& name, Param& p) {
    INFO("parameter ", name);
    for (Index i = 0; i < p.numel(); ++i) CHECK(p.value[i] == doctest::Approx(before[k][i] - 0.1 * p.grad[i]));
    before[k] = p.value.clone();
    ++k;
  });

  // The second step uses the scheduled rate of step 1.
  sgd.step(net);
  CHECK(sgd.steps() == 2);
  k = 0;
  net.visit_parameters([&](const std::string& name, Param& p) {
    INFO("parameter ", name);
    for (Index i = 0; i < p.numel(); ++i) CHECK(p.value[i] == doctest::Approx(before[k][i] - 0.05 * p.grad[i]));
    ++k;
  });
}

TEST_CASE("Sgd::step on a Sequential exempts the Dense bias from weight decay") {
  Rng rng(3);
  auto net = make_sequential<double, Cpu>(rng, Dense{2, 2});
  net.layer<0>().bias().value.fill(1.0);
  const Tensor<double> weight = net.layer<0>().weight().value.clone();
  net.zero_grad();
  Sgd sgd(0.1, {.weight_decay = 0.5});
  sgd.step(net);
  for (Index i = 0; i < weight.numel(); ++i)
    CHECK(net.layer<0>().weight().value[i] == doctest::Approx(weight[i] * (1 - 0.05)));
  check_values(net.layer<0>().bias().value, {1, 1});
}

TEST_CASE("Sgd::step uses the schedule and steps() counts updates") {
  OneParameter net{make_param({1})};
  set_grad(net.p, {1});
  Sgd sgd([](std::int64_t t) { return 0.1 * static_cast<double>(t + 1); });
  sgd.step(net);  // lr 0.1
  sgd.step(net);  // lr 0.2
  sgd.step(net);  // lr 0.3
  CHECK(sgd.steps() == 3);
  check_values(net.p.value, {0.4});
  sgd.set_steps(0);
  sgd.step(net);
  check_values(net.p.value, {0.3});
}

TEST_CASE("Sgd rejects invalid options") {
  CHECK_THROWS_WITH_AS(Sgd(0.1, {.momentum = -0.1}), doctest::Contains("momentum must be in [0, 1)"), ArgumentError);
  CHECK_THROWS_AS(Sgd(0.1, {.momentum = 1.0}), ArgumentError);
  CHECK_THROWS_WITH_AS(Sgd(0.1, {.nesterov = true}), doctest::Contains("Nesterov"), ArgumentError);
  CHECK_THROWS_WITH_AS(Sgd(0.1, {.weight_decay = -1e-4}), doctest::Contains("weight_decay"), ArgumentError);
  CHECK_THROWS_AS(Sgd(-0.1), ArgumentError);
  CHECK_NOTHROW(Sgd(0.0, {.momentum = 0.0, .nesterov = false, .weight_decay = 0.0}));

  const Sgd sgd(0.1, {.momentum = 0.5, .nesterov = true, .weight_decay = 0.01});
  CHECK(sgd.options().momentum == 0.5);
  CHECK(sgd.options().nesterov);
  CHECK(sgd.options().weight_decay == 0.01);
}

TEST_CASE("StagedSgd (the rate staged in memory, read when the update runs) equals Sgd::step bit for bit") {
  Rng rng(13);
  auto plain = make_sequential<float, Cpu>(rng, Dense{6, 4}, Dense{4, 2});
  Rng same(13);
  auto staged_net = make_sequential<float, Cpu>(same, Dense{6, 4}, Dense{4, 2});
  for (auto* net : {&plain, &staged_net}) net->layer<1>().weight().lr_multiplier = 3.0;
  const SgdOptions o{.momentum = 0.9, .nesterov = true, .weight_decay = 0.01};
  const StepLr schedule{.base = 0.05, .milestones = {2, 4}, .gamma = 0.3};
  Sgd sgd(schedule, o);
  Sgd other(schedule, o);
  StagedSgd<Cpu> staged(other);
  CHECK(StagedSgd<Cpu>::constant_count == 1);
  for (int step = 0; step < 6; ++step) {
    for (auto* net : {&plain, &staged_net}) {
      Rng g(200 + static_cast<std::uint64_t>(step));
      net->visit_parameters([&](const std::string&, auto& p) {
        for (Index i = 0; i < p.grad.numel(); ++i) p.grad[i] = static_cast<float>(g.normal());
      });
    }
    sgd.step(plain);
    staged.stage();
    CHECK(staged.constants()[0] == schedule(step));  // this update's rate
    staged.step(staged_net);
  }
  check_identical_parameters(plain, staged_net);
  CHECK(other.steps() == 6);
}
