// Tests grow/lemon.hpp: LEMON's width expansion keeps the output exactly for any activation, divisible
// and indivisible widths, through BatchNorm and Flatten, with copies whose outgoing weights differ but
// sum to the original (equal split at spread 0); one-shot expansion of a whole model; depth expansion
// with zero-output copies in both orders, in training and evaluation mode; and the bad requests.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "support/conv_growth.hpp"
#include "netgrow/models/small_cnn.hpp"
#include "netgrow/models/wide_resnet.hpp"
#include "support/growth.hpp"

using namespace netgrow;
using namespace netgrow::test;

TEST_CASE("circular sources: every neuron q - 1 copies and the first r one more; equal copies and averages") {
  using V = std::vector<Index>;
  CHECK(grow::Lemon::sources(3, 4, false) == V{0, 1, 2, 0});
  CHECK(grow::Lemon::sources(3, 2, false) == V{0, 1});
  CHECK(grow::Lemon::sources(4, 3, true) == V{average_source, average_source, average_source});
  CHECK(grow::Lemon::sources(3, 4, true) == V{0, 1, 2, average_source});
  CHECK(grow::Lemon::sources(3, 5, true) == V{0, 1, 2, average_source, average_source});
  CHECK(grow::Lemon::sources(2, 4, true) == V{0, 1, 0, 1});
}

TEST_CASE_TEMPLATE("LEMON keeps the output exactly for any activation at divisible and indivisible widths", Act, Tanh,
                   Gelu, CenteredLogistic, Relu, Relu1) {
  for (const Index k : {5, 2, 8}) {  // 5 -> 10, 5 -> 7, 5 -> 13
    CAPTURE(k);
    GrowthFixture<DenseActDense<Act>> f(1, Dense{.in = 20, .out = 5}, Act{}, Dense{.in = 5, .out = 10});
    f.train(3);
    const Tensor<double> before = f.output();
    grow::grow_width<0, 2>(f.net, k, grow::Lemon{}, f.rng);
    CHECK(max_abs_diff(before, f.output()) < 1e-12);
  }
}

TEST_CASE("copies share incoming weights and bias; their outgoing weights differ but sum to the original") {
  GrowthFixture<DenseActDense<Relu1>> f(2, Dense{.in = 20, .out = 3}, Relu1{}, Dense{.in = 3, .out = 10});
  f.train(3);
  const Tensor<double> w0 = f.net.template layer<0>().weight().value.clone();
  const Tensor<double> b0 = f.net.template layer<0>().bias().value.clone();
  const Tensor<double> w2 = f.net.template layer<2>().weight().value.clone();
  grow::grow_width<0, 2>(f.net, 4, grow::Lemon{}, f.rng);  // 3 -> 7: neuron 0 gets two copies, 1 and 2 one
  const auto& g0 = f.net.template layer<0>().weight().value;
  const auto& g2 = f.net.template layer<2>().weight().value;
  const std::vector<Index> source{0, 1, 2, 0, 1, 2, 0};  // neuron n copies source[n]
  for (Index n = 0; n < 7; ++n) {
    const Index s = source[static_cast<std::size_t>(n)];
    for (Index c = 0; c < 20; ++c) CHECK(g0.at(n, c) == w0.at(s, c));
    CHECK(f.net.template layer<0>().bias().value[n] == b0[s]);
  }
  for (Index s = 0; s < 3; ++s)
    for (Index r = 0; r < 10; ++r) {
      double sum = 0;
      for (Index n = 0; n < 7; ++n)
        if (source[static_cast<std::size_t>(n)] == s) sum += g2.at(r, n);
      CHECK(sum == doctest::Approx(w2.at(r, s)).epsilon(1e-12));
      CHECK(g2.at(r, s) != doctest::Approx(g2.at(r, s + 3)));  // unequal split: the copies start apart
    }
  // spread 0 is Net2Net's equal split.
  GrowthFixture<DenseActDense<Relu1>> e(2, Dense{.in = 20, .out = 3}, Relu1{}, Dense{.in = 3, .out = 10});
  const Tensor<double> e2 = e.net.template layer<2>().weight().value.clone();
  grow::grow_width<0, 2>(e.net, 3, grow::Lemon{.spread = 0}, e.rng);
  for (Index r = 0; r < 10; ++r)
    for (Index s = 0; s < 3; ++s) {
      CHECK(e.net.template layer<2>().weight().value.at(r, s) == doctest::Approx(e2.at(r, s) / 2));
      CHECK(e.net.template layer<2>().weight().value.at(r, s + 3) == doctest::Approx(e2.at(r, s) / 2));
    }
  CHECK_THROWS_AS((grow::grow_width<0, 2>(e.net, 1, grow::Lemon{.spread = -1}, e.rng)), ArgumentError);
  CHECK(e.net.template layer<0>().out_features() == 6);
}

TEST_CASE_TEMPLATE("one-shot expansion of a whole CNN to its target keeps both modes' outputs", Cnn,
                   models::SmallCnn<double, Cpu, false>, models::SmallCnn<double, Cpu, true>) {
  Rng rng(3);
  Cnn small({.image = 12, .width_multiplier = 0.25}, rng), target({.image = 12, .width_multiplier = 0.625}, rng);
  const Tensor<double> x = random_tensor(Shape{4, 1, 12, 12}, rng);
  // The training pass also moves the running statistics away from their start; no training pass sits
  // between the two sides of the evaluation-mode comparison.
  Tensor<double> eval_before, train_before;
  train_before.copy_from(small.net().forward(x, Mode::train));
  eval_before.copy_from(small.net().forward(x, Mode::eval));
  const auto reports = models::expand_all_sites(small, target, grow::Lemon{}, rng);
  REQUIRE(reports.size() == 3);  // 8/16/32 -> 20/40/80: conv1 2.5x, every site indivisible
  std::vector<Index> widths;
  small.for_each_site([&](auto& site) { widths.push_back(site.width()); });
  CHECK(widths == std::vector<Index>{20, 40, 80});
  Tensor<double> out;
  out.copy_from(small.net().forward(x, Mode::eval));
  CHECK(max_abs_diff(eval_before, out) < 1e-10);
  out.copy_from(small.net().forward(x, Mode::train));
  CHECK(max_abs_diff(train_before, out) < 1e-10);
}

TEST_CASE("depth expansion: zero-output copies of identity blocks in both orders keep both modes' outputs") {
  for (const auto order : {grow::LemonDepthOrder::interpolation, grow::LemonDepthOrder::stack}) {
    Rng rng(11);
    models::WideResNet<double, Cpu, true> wrn({.depth = 16, .block_width = 0.25, .classes = 3}, rng);  // 2 per group
    auto& net = wrn.net();
    const Tensor<double> x = random_tensor(Shape{2, 3, 8, 8}, rng);
    Tensor<double> eval_before, train_before;
    train_before.copy_from(net.forward(x, Mode::train));  // also moves the running statistics
    eval_before.copy_from(net.forward(x, Mode::eval));
    auto& group = net.layer<2>();
    using Block = std::remove_reference_t<decltype(group.block(0))>;
    const Tensor<double> conv1 = group.block(1).branch().layer<Block::producer_index>().weight().value.clone();
    const auto reports = grow::expand_depth(group, 5, order);  // 2 -> 5: block 1 (identity skip) copied 3 times
    CHECK(reports.size() == 3);
    REQUIRE(group.size() == 5);
    grow::expand_depth(net.layer<1>(), 3, order);
    grow::expand_depth(net.layer<3>(), 3, order);
    for (std::size_t b = 2; b < 5; ++b) {
      auto& copy = group.block(b);
      CHECK_FALSE(copy.has_projection());
      const auto& w = copy.branch().layer<Block::producer_index>().weight().value;
      for (Index i = 0; i < w.numel(); ++i) CHECK(w[i] == conv1[i]);  // a copy of block 1's first convolution
      CHECK(ops::squared_norm<double>(copy.branch().layer<Block::consumer_index>().weight().value.cview()) == 0.0);
    }
    Tensor<double> out;
    out.copy_from(net.forward(x, Mode::eval));
    CHECK(max_abs_diff(eval_before, out) < 1e-12);
    out.copy_from(net.forward(x, Mode::train));
    CHECK(max_abs_diff(train_before, out) < 1e-12);
  }
}

TEST_CASE("depth expansion refuses stacks without identity blocks and targets below the depth, unchanged") {
  Rng rng(12);
  models::WideResNet<double, Cpu> wrn({.depth = 10, .block_width = 0.25, .classes = 3}, rng);  // one projection block
  auto& group = wrn.net().layer<2>();
  CHECK_THROWS_AS(grow::expand_depth(group, 2), ArgumentError);
  CHECK(group.size() == 1);
  CHECK(grow::expand_depth(group, 1).empty());
  models::WideResNet<double, Cpu> deeper({.depth = 16, .block_width = 0.25, .classes = 3}, rng);
  CHECK_THROWS_AS(grow::expand_depth(deeper.net().layer<2>(), 1), ArgumentError);
  CHECK(deeper.net().layer<2>().size() == 2);
  CHECK_THROWS_AS(grow::grow_depth(deeper.net().layer<2>(), 1, grow::DepthCopy{.source = 7}, rng), ArgumentError);
  CHECK_THROWS_AS(grow::grow_depth(deeper.net().layer<2>(), 1, grow::DepthCopy{.source = 0}, rng), ShapeError);
  CHECK(deeper.net().layer<2>().size() == 2);
}

TEST_CASE_TEMPLATE("LEMON through a LayerNorm: equal copies and averages keep the output exactly", Act, Relu1, Gelu,
                   Tanh) {
  using LnNet = Sequential<double, Cpu, Dense, LayerNorm, Act, Dense>;
  for (const Index k : {4, 3, 10}) {  // 4 -> 8 (one copy each), 4 -> 7 (three averages), 4 -> 14 (two copies, two)
    CAPTURE(k);
    GrowthFixture<LnNet> f(13, Dense{.in = 20, .out = 4}, LayerNorm{.features = 4}, Act{}, Dense{.in = 4, .out = 10});
    f.train(3);
    const Tensor<double> before = f.output();
    const double eps = f.net.template layer<1>().eps();
    grow::grow_width<0, 3>(f.net, k, grow::Lemon{}, f.rng);
    CHECK(f.net.template layer<1>().features() == 4 + k);
    const double c = static_cast<double>((4 + k) / 4 * 4) / static_cast<double>(4 + k);  // (n + 1) D_S / D_T
    CHECK(f.net.template layer<1>().eps() == doctest::Approx(c * eps));
    CHECK(max_abs_diff(before, f.output()) < 1e-10);
    // The average neurons' outgoing weights are random (their LayerNorm output is 0 and f(0) = 0).
    const auto& w3 = f.net.template layer<3>().weight().value;
    CHECK(cols_norm(w3, 3 + k, 1) > 0);
  }
}

TEST_CASE("through a LayerNorm unequal copies are refused before anything changes") {
  using LnNet = Sequential<double, Cpu, Dense, LayerNorm, Relu1, Dense>;
  GrowthFixture<LnNet> f(14, Dense{.in = 20, .out = 4}, LayerNorm{.features = 4}, Relu1{}, Dense{.in = 4, .out = 10});
  const Tensor<double> before = f.output();
  CHECK_THROWS_WITH_AS((grow::grow_width<0, 3>(f.net, 3, grow::Split{}, f.rng)), doctest::Contains("replicated equally"),
                       ArgumentError);
  CHECK(f.net.template layer<0>().out_features() == 4);
  CHECK(f.net.template layer<1>().features() == 4);
  CHECK(f.net.template layer<3>().in_features() == 4);
  grow::grow_width<0, 3>(f.net, 4, grow::Split{}, f.rng);  // a permutation: every neuron copied once
  CHECK(max_abs_diff(before, f.output()) < 1e-10);
}
