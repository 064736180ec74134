// Tests prune/mask.hpp and the mask's path through the library: set_mask's checks and zeroing, optimizers
// that keep pruned weights and their state at 0, masked networks computing the sparse function, width
// growth that keeps the function and extends the mask (dense or at the layer's density), and checkpoints
// that store masks and resume bit for bit.
#include <doctest/doctest.h>

#include <filesystem>

#include "netgrow/io/checkpoint.hpp"
#include "netgrow/optim/adam.hpp"
#include "netgrow/prune/mask.hpp"
#include "support/growth.hpp"

using namespace netgrow;
using namespace netgrow::test;

namespace {

using MaskMlp = Sequential<double, Cpu, Dense, Relu1, Dense>;

GrowthFixture<MaskMlp> mask_fixture(std::uint64_t seed) {
  return GrowthFixture<MaskMlp>(seed, Dense{.in = 20, .out = 6}, Relu1{}, Dense{.in = 6, .out = 10});
}

// A random 0/1 host mask of `shape` keeping about `density`.
Tensor<double> random_mask(Shape shape, double density, Rng& rng) {
  Tensor<double> m(shape);
  for (Index i = 0; i < m.numel(); ++i) m.data()[i] = rng.uniform() < density ? 1.0 : 0.0;
  return m;
}

void check_zero_where_masked(const Parameter<double, Cpu>& p) {
  REQUIRE(p.mask.shape() == p.value.shape());
  for (Index i = 0; i < p.numel(); ++i)
    if (p.mask.data()[i] == 0.0) {
      REQUIRE(p.value.data()[i] == 0.0);
      for (const auto& s : p.state) REQUIRE(s.data()[i] == 0.0);
    }
}

}  // namespace

TEST_CASE("set_mask zeroes value and state where 0; a bad mask throws and changes nothing") {
  auto f = mask_fixture(1);
  f.train(3);
  auto& w = f.net.layer<0>().weight();
  const Tensor<double> before = w.value.clone();
  const Tensor<double> mask = random_mask(w.shape(), 0.5, f.rng);
  prune::set_mask(w, mask, "0.weight");
  check_zero_where_masked(w);
  for (Index i = 0; i < w.numel(); ++i)
    if (mask.data()[i] == 1.0) CHECK(w.value.data()[i] == before.data()[i]);
  CHECK(prune::active_count(w) == static_cast<Index>(vector(mask).sum()));

  auto& w2 = f.net.layer<2>().weight();
  const Tensor<double> v2 = w2.value.clone();
  Tensor<double> bad = random_mask(w2.shape(), 0.5, f.rng);
  bad.data()[3] = 0.5;
  CHECK_THROWS_AS(prune::set_mask(w2, bad, "2.weight"), ArgumentError);
  CHECK_THROWS_AS(prune::set_mask(w2, Tensor<double>(Shape{3, 3}), "2.weight"), ShapeError);
  CHECK(w2.mask.empty());
  CHECK(max_abs_diff(w2.value, v2) == 0.0);
}

TEST_CASE("masked networks train sparse: SGD and Adam keep pruned weights and state at 0") {
  for (bool adam : {false, true}) {
    INFO("adam=", adam);
    auto f = mask_fixture(2);
    const int masked = prune::enable_masks(f.net);
    CHECK(masked == 2);
    auto& w = f.net.layer<0>().weight();
    prune::set_mask(w, random_mask(w.shape(), 0.3, f.rng));
    Sgd sgd(0.05, {.momentum = 0.9, .nesterov = true, .weight_decay = 1e-3});
    Adam opt(1e-2, {.weight_decay = 1e-2});
    for (int step = 0; step < 5; ++step) {
      f.refresh();
      if (adam) opt.step(f.net);
      else sgd.step(f.net);
    }
    check_zero_where_masked(w);
    CHECK(prune::density(w) == doctest::Approx(prune::active_count(w) / 120.0));
    // The sparse network is the dense one with those weights 0: its forward pass reads nothing else.
    const auto report = prune::density_report(f.net);
    CHECK(report.parameters.size() == 2);
    CHECK(report.active == prune::active_count(w) + 60);
  }
}

TEST_CASE("width growth keeps a masked network's function and extends the mask: dense or at the layer's density") {
  for (MaskGrowth rule : {MaskGrowth::dense, MaskGrowth::layer_density}) {
    INFO("rule=", rule == MaskGrowth::dense ? "dense" : "layer_density");
    auto f = mask_fixture(3);
    prune::enable_masks(f.net, {.growth = rule, .seed = 9});
    auto& w0 = f.net.layer<0>().weight();
    auto& w2 = f.net.layer<2>().weight();
    prune::set_mask(w0, random_mask(w0.shape(), 0.4, f.rng));
    prune::set_mask(w2, random_mask(w2.shape(), 0.4, f.rng));
    f.train(4);
    f.refresh();
    const Tensor<double> before = f.output();
    Tensor<double> before_train;
    before_train.copy_from(f.net.forward(f.task.x, Mode::train));
    auto data = grow::data_from_last_backward<0, 2>(f.net);
    grow::grow_width<0, 2>(f.net, 40, grow::GradMax{}, f.rng, data);
    CHECK(max_abs_diff(f.output(), before) <= 1e-12);
    CHECK(max_abs_diff(f.net.forward(f.task.x, Mode::train), before_train) <= 1e-12);
    REQUIRE(w0.mask.shape() == w0.value.shape());
    REQUIRE(w2.mask.shape() == w2.value.shape());
    check_zero_where_masked(w0);
    check_zero_where_masked(w2);
    // The 40 new outgoing columns: all 1, or about the old density 0.4.
    double ones = 0;
    for (Index r = 0; r < 10; ++r)
      for (Index k = 6; k < 46; ++k) ones += w2.mask.at(r, k);
    const double new_density = ones / (40.0 * 10.0);
    if (rule == MaskGrowth::dense) CHECK(new_density == 1.0);
    else CHECK(new_density == doctest::Approx(0.4).epsilon(0.2));
    f.train(2);  // training goes on with the grown masks
    check_zero_where_masked(w0);
  }
}

TEST_CASE("checkpoints store masks with their growth rule; a resumed masked run is bit-identical") {
  const auto path = std::filesystem::temp_directory_path() / "netgrow_test_mask_checkpoint.safetensors";
  auto f = mask_fixture(4);
  prune::enable_masks(f.net, {.growth = MaskGrowth::layer_density, .seed = 5});
  auto& w0 = f.net.layer<0>().weight();
  prune::set_mask(w0, random_mask(w0.shape(), 0.5, f.rng));
  f.train(3);
  io::save_checkpoint(path, f.net);
  auto g = mask_fixture(99);  // other weights, no masks
  io::load_checkpoint(path, g.net);
  std::filesystem::remove(path);
  auto& v0 = g.net.layer<0>().weight();
  REQUIRE(v0.mask.shape() == w0.mask.shape());
  CHECK(max_abs_diff(v0.mask, w0.mask) == 0.0);
  CHECK(v0.mask_growth == MaskGrowth::layer_density);
  CHECK(v0.mask_seed == w0.mask_seed);
  CHECK(g.net.layer<0>().bias().mask.empty());
  Sgd a(0.05, {.momentum = 0.9}), b(0.05, {.momentum = 0.9});
  for (int step = 0; step < 3; ++step) {
    f.refresh();
    a.step(f.net);
    g.grad.resize(f.grad.shape());
    const auto pred = g.net.forward(f.task.x);
    MseLoss{}(pred, f.task.y, g.grad);
    g.net.backward(g.grad);
    b.step(g.net);
  }
  CHECK(max_abs_diff(v0.value, w0.value) == 0.0);
}

TEST_CASE("a masked convolutional pair grows by Random with its masks at the layer's density, function kept") {
  Rng rng(6);
  Sequential<double, Cpu, Conv2d, Relu1, Conv2d> net(rng, Conv2d{.in = 2, .out = 3}, Relu1{}, Conv2d{.in = 3, .out = 4});
  prune::enable_masks(net, {.growth = MaskGrowth::layer_density, .seed = 2});
  auto& w0 = net.layer<0>().weight();
  auto& w2 = net.layer<2>().weight();
  prune::set_mask(w0, random_mask(w0.shape(), 0.5, rng));
  prune::set_mask(w2, random_mask(w2.shape(), 0.5, rng));
  const Tensor<double> x = random_tensor(Shape{3, 2, 6, 6}, rng);
  Tensor<double> before;
  before.copy_from(net.forward(x.cview(), Mode::eval));
  grow::grow_width<0, 2>(net, 5, grow::Random{}, rng);
  CHECK(max_abs_diff(net.forward(x.cview(), Mode::eval), before) <= 1e-12);
  REQUIRE(w0.mask.shape() == Shape{8, 2, 3, 3});
  REQUIRE(w2.mask.shape() == Shape{4, 8, 3, 3});
  check_zero_where_masked(w0);
  check_zero_where_masked(w2);
  CHECK(prune::density(w2) > 0.2);
  CHECK(prune::density(w2) < 0.8);
}
