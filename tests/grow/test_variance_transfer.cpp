// Tests grow/variance_transfer.hpp: cancelling pairs keep the output exactly for any activation and odd
// counts, the new weights have the fan-in rule's or the existing weights' scale, new neurons learn at
// once with opposite incoming gradients, and the rescale of the consumer is absorbed exactly by a
// BatchNorm after it (running statistics and eps) in training and evaluation mode, dense and
// convolutional, and skipped without one.
#include <doctest/doctest.h>

#include <cmath>

#include "support/conv_growth.hpp"
#include "netgrow/models/small_cnn.hpp"
#include "support/growth.hpp"

using namespace netgrow;
using namespace netgrow::test;

namespace {

// Dense -> Relu1 -> Dense -> BatchNorm -> Relu1 -> Dense: pair (0, 2) has a BatchNorm after its consumer.
using NormNet = Sequential<double, Cpu, Dense, Relu1, Dense, BatchNorm, Relu1, Dense>;

GrowthFixture<NormNet> make_norm_net(std::uint64_t seed) {
  GrowthFixture<NormNet> f(seed, Dense{.in = 20, .out = 5}, Relu1{}, Dense{.in = 5, .out = 6}, BatchNorm{.channels = 6},
                           Relu1{}, Dense{.in = 6, .out = 10});
  f.train(4);  // weights, running statistics and momentum away from their start
  return f;
}

double rms(ConstView<double, Cpu> t) {
  return std::sqrt(ops::squared_norm<double>(t) / static_cast<double>(t.numel()));
}

}  // namespace

TEST_CASE_TEMPLATE("variance transfer keeps the output exactly for any activation, odd counts included", Act, Tanh,
                   Gelu, CenteredLogistic, Relu, Relu1) {
  GrowthFixture<DenseActDense<Act>> f(1, Dense{.in = 20, .out = 5}, Act{}, Dense{.in = 5, .out = 10});
  f.train(3);
  const Tensor<double> before = f.output();
  const Tensor<double> w2 = f.net.template layer<2>().weight().value.clone();
  const auto even = grow::grow_width<0, 2>(f.net, 4, grow::VarianceTransfer{}, f.rng);
  CHECK(max_abs_diff(before, f.output()) < 1e-12);
  const auto odd = grow::grow_width<0, 2>(f.net, 3, grow::VarianceTransfer{}, f.rng);
  CHECK(max_abs_diff(before, f.output()) < 1e-12);
  CHECK(f.net.template layer<0>().out_features() == 12);
  // No BatchNorm after the consumer: its existing weights are left as they were.
  CHECK(even.consumer_scale == 1.0);
  CHECK(odd.consumer_scale == 1.0);
  const auto& g2 = f.net.template layer<2>().weight().value;
  for (Index r = 0; r < 10; ++r)
    for (Index c = 0; c < 5; ++c) CHECK(g2.at(r, c) == w2.at(r, c));
}

TEST_CASE("new neurons come in pairs: shared incoming weights, opposite outgoing weights, the fan-in rule's scale") {
  GrowthFixture<DenseActDense<Relu1>> f(2, Dense{.in = 20, .out = 8}, Relu1{}, Dense{.in = 8, .out = 10});
  f.train(3);
  grow::grow_width<0, 2>(f.net, 41, grow::VarianceTransfer{}, f.rng);  // 20 pairs and one unpaired neuron
  const auto& w0 = f.net.template layer<0>().weight().value;
  const auto& w2 = f.net.template layer<2>().weight().value;
  for (Index p = 0; p < 20; ++p) {
    const Index a = 8 + 2 * p, b = a + 1;
    for (Index c = 0; c < 20; ++c) CHECK(w0.at(a, c) == w0.at(b, c));
    for (Index r = 0; r < 10; ++r) CHECK(w2.at(r, a) == -w2.at(r, b));
    CHECK(f.net.template layer<0>().bias().value[a] == 0.0);
  }
  CHECK(rows_norm(w0, 48, 1) > 0);  // the unpaired neuron: random incoming, zero outgoing
  CHECK(cols_norm(w2, 48, 1) == 0.0);
  // Default scale: an initialiser's draw, std fan_in^-1/2 for the producer's fan-in 20 and the
  // consumer's new fan-in 49. 800 and 400 draws: within 10%.
  CHECK(rows_norm(w0, 8, 40) / std::sqrt(40.0 * 20) == doctest::Approx(1.0 / std::sqrt(20.0)).epsilon(0.1));
  CHECK(cols_norm(w2, 8, 40) / std::sqrt(40.0 * 10) == doctest::Approx(1.0 / std::sqrt(49.0)).epsilon(0.1));
}

TEST_CASE("Scale::existing_rms draws the new weights at the existing weights' scale, the consumer's moved by c") {
  GrowthFixture<DenseActDense<Relu1>> f(2, Dense{.in = 20, .out = 8}, Relu1{}, Dense{.in = 8, .out = 10});
  f.train(3);
  // Existing weights scaled well away from the fan-in rule's scale, so the two cannot be confused.
  ops::scale<double>(f.net.template layer<0>().weight().value.view(), 3.0);
  ops::scale<double>(f.net.template layer<2>().weight().value.view(), 0.2);
  const double rms_in = rms(f.net.template layer<0>().weight().value.cview());
  const double rms_out = rms(f.net.template layer<2>().weight().value.cview());
  const auto vt = grow::VarianceTransfer{.scale = grow::VarianceTransfer::Scale::existing_rms};
  grow::grow_width<0, 2>(f.net, 40, vt, f.rng);
  const auto& w0 = f.net.template layer<0>().weight().value;
  const auto& w2 = f.net.template layer<2>().weight().value;
  CHECK(rows_norm(w0, 8, 40) / std::sqrt(40.0 * 20) == doctest::Approx(rms_in).epsilon(0.1));
  CHECK(cols_norm(w2, 8, 40) / std::sqrt(40.0 * 10) == doctest::Approx(rms_out * std::sqrt(8.0 / 48.0)).epsilon(0.1));
  // gain multiplies the transferred scale.
  GrowthFixture<DenseActDense<Relu1>> g(2, Dense{.in = 20, .out = 8}, Relu1{}, Dense{.in = 8, .out = 10});
  const double g_rms_in = rms(g.net.template layer<0>().weight().value.cview());
  grow::grow_width<0, 2>(g.net, 40, grow::VarianceTransfer{.scale = vt.scale, .gain = 0.5}, g.rng);
  CHECK(rows_norm(g.net.template layer<0>().weight().value, 8, 40) / std::sqrt(40.0 * 20) ==
        doctest::Approx(0.5 * g_rms_in).epsilon(0.1));
}

TEST_CASE("a fixed gain draws the new weights at gain x fan_in^-e; the fan_in rule uses e = 1") {
  GrowthFixture<DenseActDense<Relu1>> f(3, Dense{.in = 20, .out = 4}, Relu1{}, Dense{.in = 4, .out = 10});
  grow::grow_width<0, 2>(f.net, 200, grow::VarianceTransfer{.gain = 2.0}, f.rng);
  const auto& w0 = f.net.template layer<0>().weight().value;
  const auto& w2 = f.net.template layer<2>().weight().value;
  CHECK(rows_norm(w0, 4, 200) / std::sqrt(200.0 * 20) == doctest::Approx(2.0 / std::sqrt(20.0)).epsilon(0.05));
  CHECK(cols_norm(w2, 4, 200) / std::sqrt(200.0 * 10) == doctest::Approx(2.0 / std::sqrt(204.0)).epsilon(0.1));
  GrowthFixture<DenseActDense<Relu1>> g(3, Dense{.in = 20, .out = 4}, Relu1{}, Dense{.in = 4, .out = 10});
  grow::grow_width<0, 2>(g.net, 200, grow::VarianceTransfer{.rule = grow::VarianceTransfer::Rule::fan_in, .gain = 2.0},
                         g.rng);
  CHECK(rows_norm(g.net.template layer<0>().weight().value, 4, 200) / std::sqrt(200.0 * 20) ==
        doctest::Approx(2.0 / 20.0).epsilon(0.05));
}

TEST_CASE("new neurons learn from the first step: each pair's incoming gradients are opposite and non-zero") {
  GrowthFixture<DenseActDense<Tanh>> f(4, Dense{.in = 20, .out = 5}, Tanh{}, Dense{.in = 5, .out = 10});
  f.train(3);
  grow::grow_width<0, 2>(f.net, 6, grow::VarianceTransfer{}, f.rng);
  f.refresh();
  const auto& g = f.net.template layer<0>().weight().grad;
  for (Index p = 0; p < 3; ++p) {
    const Index a = 5 + 2 * p;
    CHECK(rows_norm(g, a, 1) > 1e-6);
    for (Index c = 0; c < 20; ++c) CHECK(g.at(a, c) == doctest::Approx(-g.at(a + 1, c)).epsilon(1e-12));
  }
}

TEST_CASE("noise breaks a pair's symmetry and keeps the output approximately; bad settings throw") {
  GrowthFixture<DenseActDense<Tanh>> f(5, Dense{.in = 20, .out = 5}, Tanh{}, Dense{.in = 5, .out = 10});
  f.train(3);
  const Tensor<double> before = f.output();
  grow::grow_width<0, 2>(f.net, 4, grow::VarianceTransfer{.noise = 0.01}, f.rng);
  const double change = max_abs_diff(before, f.output());
  CHECK(change > 0);
  CHECK(change < 0.05);
  const auto& w0 = f.net.template layer<0>().weight().value;
  CHECK(w0.at(5, 0) != w0.at(6, 0));
  CHECK_THROWS_AS((grow::grow_width<0, 2>(f.net, 2, grow::VarianceTransfer{.gain = -1}, f.rng)), ArgumentError);
  CHECK_THROWS_AS((grow::grow_width<0, 2>(f.net, 2, grow::VarianceTransfer{.gain = 0}, f.rng)), ArgumentError);
  CHECK_THROWS_AS((grow::grow_width<0, 2>(f.net, 2, grow::VarianceTransfer{.noise = -1}, f.rng)), ArgumentError);
  CHECK(f.net.template layer<0>().out_features() == 9);  // the failed requests changed nothing
}

TEST_CASE("with a BatchNorm after the consumer the rescale keeps the output in training and evaluation mode") {
  auto grown = make_norm_net(6), same = make_norm_net(6);  // twins: one grows, one does not
  const Tensor<double> w2 = grown.net.layer<2>().weight().value.clone();
  const Tensor<double> b2 = grown.net.layer<2>().bias().value.clone();
  const Tensor<double> mean = grown.net.layer<3>().running_mean().value.clone();
  const Tensor<double> var = grown.net.layer<3>().running_var().value.clone();
  const auto report = grow::grow_width<0, 2>(grown.net, 4, grow::VarianceTransfer{}, grown.rng);
  const double c = std::sqrt(5.0 / 9.0);  // the consumer's fan-in grows from 5 to 9
  CHECK(report.consumer_scale == doctest::Approx(c));
  auto& bn = grown.net.layer<3>();
  CHECK(bn.eps() == doctest::Approx(1e-5 * c * c));
  for (Index i = 0; i < 6; ++i) {
    CHECK(bn.running_mean().value[i] == doctest::Approx(c * mean[i]));
    CHECK(bn.running_var().value[i] == doctest::Approx(c * c * var[i]));
    CHECK(grown.net.layer<2>().bias().value[i] == doctest::Approx(c * b2[i]));
    for (Index j = 0; j < 5; ++j) CHECK(grown.net.layer<2>().weight().value.at(i, j) == doctest::Approx(c * w2.at(i, j)));
  }
  CHECK(max_abs_diff(same.output(), grown.output()) < 1e-12);  // evaluation mode (running statistics)
  Tensor<double> train_same, train_grown;
  train_same.copy_from(same.net.forward(same.task.x, Mode::train));
  train_grown.copy_from(grown.net.forward(grown.task.x, Mode::train));
  CHECK(max_abs_diff(train_same, train_grown) < 1e-12);  // training mode (batch statistics)
  CHECK(max_abs_diff(same.output(), grown.output()) < 1e-12);  // the running statistics moved alike
  // The other pair (2, 5) has no BatchNorm after its consumer: no rescale. rescale = false: none either.
  CHECK(grow::grow_width<2, 5>(grown.net, 2, grow::VarianceTransfer{}, grown.rng).consumer_scale == 1.0);
  CHECK(grow::grow_width<0, 2>(grown.net, 2, grow::VarianceTransfer{.rescale = false}, grown.rng).consumer_scale == 1.0);
  CHECK(max_abs_diff(same.output(), grown.output()) < 1e-12);
  // The muP-style rule rescales by F / F'.
  const auto mup =
      grow::grow_width<0, 2>(grown.net, 2, grow::VarianceTransfer{.rule = grow::VarianceTransfer::Rule::fan_in}, grown.rng);
  CHECK(mup.consumer_scale == doctest::Approx(11.0 / 13.0));
  CHECK(max_abs_diff(same.output(), grown.output()) < 1e-12);
}

TEST_CASE("variance transfer through a convolutional network with BatchNorm keeps both modes' outputs") {
  using Cnn = models::SmallCnn<double, Cpu, true>;
  Rng rng(7);
  Cnn seed({.image = 12, .width_multiplier = 0.125}, rng), twin({.image = 12, .width_multiplier = 0.125}, rng);
  Rng copy_rng(8);
  // Make the twin an exact copy of the seed.
  std::vector<Tensor<double>> values;
  seed.net().visit_parameters([&](std::string_view, auto& p) { values.push_back(p.value.clone()); });
  std::size_t i = 0;
  twin.net().visit_parameters([&](std::string_view, auto& p) { p.value = values[i++].clone(); });
  const Tensor<double> x = random_tensor(Shape{3, 1, 12, 12}, copy_rng);
  seed.net().forward(x, Mode::train);  // running statistics away from 0 and 1, alike in both
  twin.net().forward(x, Mode::train);
  std::vector<double> scales;
  seed.for_each_site([&](auto& site) { scales.push_back(site.grow(4, grow::VarianceTransfer{}, copy_rng).consumer_scale); });
  CHECK(scales[0] == doctest::Approx(std::sqrt(4.0 / 8.0)));  // conv2 (followed by BatchNorm): 4 -> 8 channels
  CHECK(scales[1] == 1.0);                                     // fc1 has no BatchNorm after it
  CHECK(scales[2] == 1.0);
  Tensor<double> a, b;
  a.copy_from(twin.net().forward(x, Mode::eval));
  b.copy_from(seed.net().forward(x, Mode::eval));
  CHECK(max_abs_diff(a, b) < 1e-12);
  a.copy_from(twin.net().forward(x, Mode::train));
  b.copy_from(seed.net().forward(x, Mode::train));
  CHECK(max_abs_diff(a, b) < 1e-12);
}
