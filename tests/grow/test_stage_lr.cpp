// Tests grow/stage_lr.hpp: the variance-transfer paper's per-stage learning rates: the rule on a
// constructed example (norms by hand, lr_scale per element, the SGD update it gives), stages as the
// larger of row and column tags, tags through width and depth growth, the parameter scope, the clamp,
// and the errors for networks used out of order. (Checkpoints and resume: tests/io.)
#include <doctest/doctest.h>

#include <cmath>

#include "support/growth.hpp"

using namespace netgrow;
using namespace netgrow::test;

namespace {

using StageNet = Sequential<double, Cpu, Dense, Relu1, Dense>;

StageNet constant_net(Index in, Index hidden, Index out, double value) {
  Rng rng(0);
  StageNet net(rng, Dense{.in = in, .out = hidden, .bias = false}, Relu1{}, Dense{.in = hidden, .out = out, .bias = false});
  net.visit_parameters([&](std::string_view, auto& p) { ops::fill<double>(p.value.view(), value); });
  return net;
}

// Overwrites row r (layer 0) and column c (layer 2) of the grown neurons with given values.
void set_new_neuron(StageNet& net, Index neuron, double incoming, double outgoing) {
  auto& w0 = net.layer<0>().weight().value;
  auto& w2 = net.layer<2>().weight().value;
  for (Index j = 0; j < w0.dim(1); ++j) w0.at(neuron, j) = incoming;
  for (Index i = 0; i < w2.dim(0); ++i) w2.at(i, neuron) = outgoing;
}

}  // namespace

TEST_CASE("the rule on a constructed example: lr_t / lr_0 = ||W_dt|| / ||W_0||, per element, in the update") {
  StageNet net = constant_net(3, 2, 1, 1.0);  // W_0: 6 + 2 ones, ||W_0||^2 = 8
  grow::StageLearningRates stages;
  stages.start(net);
  CHECK(stages.last().factors == std::vector<double>{1.0});
  CHECK(net.layer<0>().weight().lr_scale.empty());  // all factors 1: no per-element factors
  Rng rng(1);
  grow::grow_width<0, 2>(net, 1, grow::RandomOutgoingZero{}, rng);
  set_new_neuron(net, 2, 2.0, 4.0);  // W_d1: a row of three 2s and one 4: ||W_d1||^2 = 12 + 16 = 28
  CHECK(stages.begin_stage(net) == 1);
  REQUIRE(stages.last().norms.size() == 2);
  CHECK(stages.last().norms[0] == doctest::Approx(std::sqrt(8.0)));
  CHECK(stages.last().norms[1] == doctest::Approx(std::sqrt(28.0)));
  const double f = std::sqrt(28.0 / 8.0);
  CHECK(stages.last().factors[1] == doctest::Approx(f));
  const auto& s0 = net.layer<0>().weight().lr_scale;
  REQUIRE(s0.shape() == Shape{3, 3});
  for (Index j = 0; j < 3; ++j) {
    CHECK(s0.at(0, j) == 1.0);
    CHECK(s0.at(1, j) == 1.0);
    CHECK(s0.at(2, j) == doctest::Approx(f));
  }
  const auto& s2 = net.layer<2>().weight().lr_scale;
  CHECK(s2.at(0, 0) == 1.0);
  CHECK(s2.at(0, 2) == doctest::Approx(f));
  // One SGD step: w -= lr * lr_scale * g.
  Tensor<double> x({4, 3}), target({4, 1}), grad;
  ops::fill<double>(x.view(), 0.5);
  const auto pred = net.forward(x);
  grad.resize(pred.shape());
  MseLoss{}(pred, target, grad);
  net.backward(grad);
  const Tensor<double> w = net.layer<0>().weight().value.clone();
  const Tensor<double> g = net.layer<0>().weight().grad.clone();
  Sgd(0.1).step(net);
  for (Index i = 0; i < 9; ++i) CHECK(net.layer<0>().weight().value[i] == doctest::Approx(w[i] - 0.1 * s0[i] * g[i]));
}

TEST_CASE("an element's stage is the larger of its row's and its column's; tags follow growth and recompute") {
  using Deep = Sequential<double, Cpu, Dense, Relu1, Dense, Relu1, Dense>;
  Rng rng(2);
  Deep net(rng, Dense{.in = 4, .out = 3}, Relu1{}, Dense{.in = 3, .out = 3}, Relu1{}, Dense{.in = 3, .out = 2});
  grow::StageLearningRates stages;
  stages.start(net);
  grow::grow_width<0, 2>(net, 2, grow::VarianceTransfer{}, rng);  // layer 2 gains columns 3, 4
  stages.begin_stage(net);
  grow::grow_width<2, 4>(net, 2, grow::VarianceTransfer{}, rng);  // layer 2 gains rows 3, 4
  CHECK(stages.begin_stage(net) == 2);
  const auto& p = net.layer<2>().weight();
  CHECK(p.stage_tags[0] == std::vector<std::int32_t>{0, 0, 0, 2, 2});
  CHECK(p.stage_tags[1] == std::vector<std::int32_t>{0, 0, 0, 1, 1});
  CHECK(grow::detail::element_stage(p, 0 * 5 + 4) == 1);  // an old row, a stage-1 column
  CHECK(grow::detail::element_stage(p, 4 * 5 + 0) == 2);  // a stage-2 row, an old column
  CHECK(grow::detail::element_stage(p, 4 * 5 + 4) == 2);
  CHECK(net.layer<2>().bias().stage_tags[0] == std::vector<std::int32_t>{0, 0, 0, 2, 2});
  const auto factors = stages.last().factors;
  REQUIRE(factors.size() == 3);
  CHECK(p.lr_scale.at(0, 4) == doctest::Approx(factors[1]));
  CHECK(p.lr_scale.at(4, 0) == doctest::Approx(factors[2]));
  CHECK(net.layer<2>().bias().lr_scale[4] == doctest::Approx(factors[2]));  // biases follow their stage
  // Training moves the norms; update() follows them.
  const double norm0 = stages.last().norms[0];
  ops::scale<double>(net.layer<4>().weight().value.view(), 3.0);
  const auto& again = stages.update(net);
  CHECK(again.norms[0] > norm0);
  CHECK(again.factors[2] != doctest::Approx(factors[2]));
}

TEST_CASE("a block inserted by depth growth is entirely the new stage") {
  using Net2 = Sequential<double, Cpu, Dense, Stack<Dense>, Dense>;
  Rng rng(3);
  Net2 net(rng, Dense{.in = 4, .out = 3}, Stack<Dense>{{Dense{.in = 3, .out = 3}}}, Dense{.in = 3, .out = 2});
  grow::StageLearningRates stages;
  stages.start(net);
  grow::grow_depth(net.layer<1>(), 1, grow::DepthIdentity{}, rng);
  stages.begin_stage(net);
  const auto& w = net.layer<1>().block(1).weight();
  CHECK(w.stage_tags[0] == std::vector<std::int32_t>{1, 1, 1});
  CHECK(w.stage_tags[1] == std::vector<std::int32_t>{1, 1, 1});
  CHECK(net.layer<1>().block(0).weight().stage_tags[0] == std::vector<std::int32_t>{0, 0, 0});
  // The identity block's norm is sqrt(3): its factor is sqrt(3) / ||W_0||.
  CHECK(stages.last().norms[1] == doctest::Approx(std::sqrt(3.0)));
}

TEST_CASE("parameter scope: each tensor's own stage norms; the clamp; zero norms keep factor 1") {
  StageNet net = constant_net(3, 2, 1, 1.0);
  grow::StageLearningRates stages({.scope = grow::StageScope::parameter, .max_factor = 1.5});
  stages.start(net);
  Rng rng(4);
  grow::grow_width<0, 2>(net, 1, grow::RandomOutgoingZero{}, rng);
  set_new_neuron(net, 2, 2.0, 0.0);  // layer 0: ||W_d1|| / ||W_0|| = sqrt(12 / 6) = 1.41; layer 2: zero norm
  stages.begin_stage(net);
  CHECK(stages.last().factors.empty());  // parameter scope has no network-wide report
  CHECK(net.layer<0>().weight().lr_scale.at(2, 0) == doctest::Approx(std::sqrt(2.0)));
  CHECK(net.layer<2>().weight().lr_scale.empty());  // a zero-norm stage keeps factor 1
  set_new_neuron(net, 2, 4.0, 0.0);  // sqrt(48 / 6) = 2.83: clamped to 1.5
  stages.update(net);
  CHECK(net.layer<0>().weight().lr_scale.at(2, 0) == doctest::Approx(1.5));
  CHECK_THROWS_AS(grow::StageLearningRates({.max_factor = 0}), ArgumentError);
}

TEST_CASE("out of order: begin_stage before start, start twice, growth without begin_stage") {
  StageNet net = constant_net(3, 2, 1, 1.0);
  grow::StageLearningRates stages;
  CHECK_THROWS_AS(stages.begin_stage(net), StateError);
  stages.start(net);
  CHECK_THROWS_AS(stages.start(net), StateError);
  Rng rng(5);
  grow::grow_width<0, 2>(net, 1, grow::Random{}, rng);
  CHECK_THROWS_AS(stages.update(net), StateError);  // the new row is untagged
  CHECK(stages.begin_stage(net) == 1);
  CHECK(grow::current_stage(net) == 1);
}
