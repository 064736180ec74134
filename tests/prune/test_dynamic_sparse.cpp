// Tests prune/dynamic_sparse.hpp: SET and RigL keep every parameter's active count, drop the smallest
// magnitudes, regrow at random (SET) or at the largest gradients (RigL) among previously inactive
// entries, start regrown weights and their optimizer state at 0, and follow the cosine schedule.
#include <doctest/doctest.h>

#include <set>

#include "netgrow/prune.hpp"
#include "support/growth.hpp"

using namespace netgrow;
using namespace netgrow::test;

namespace {

using DstMlp = Sequential<double, Cpu, Dense, Relu1, Dense>;

GrowthFixture<DstMlp> sparse_fixture(std::uint64_t seed) {
  GrowthFixture<DstMlp> f(seed, Dense{.in = 20, .out = 16}, Relu1{}, Dense{.in = 16, .out = 10});
  prune::enable_masks(f.net);
  Rng r(seed + 1);
  prune::prune_at_init(f.net, prune::RandomScore{},
                       prune::ScoreContext<double>{.inputs = f.task.x.cview(), .rng = &r},
                       {.density = 0.3, .scope = prune::Scope::per_parameter});
  return f;
}

}  // namespace

TEST_CASE("the update fraction decays by a cosine and updates happen every `every` steps before end_step") {
  prune::DynamicSparse dst({.fraction = 0.4, .every = 10, .end_step = 100});
  CHECK(dst.fraction(0) == doctest::Approx(0.4));
  CHECK(dst.fraction(50) == doctest::Approx(0.2));
  CHECK(dst.fraction(100) == 0.0);
  CHECK(!dst.due(0));
  CHECK(dst.due(10));
  CHECK(!dst.due(15));
  CHECK(!dst.due(100));
  CHECK_THROWS_AS(prune::DynamicSparse({.fraction = 1.5, .end_step = 10}), ArgumentError);
  CHECK_THROWS_AS(prune::DynamicSparse({.end_step = 0}), ArgumentError);
}

TEST_CASE("RigL drops the smallest weights, regrows the largest gradients at 0 with zero state, count fixed") {
  auto f = sparse_fixture(1);
  f.train(5);  // momentum state present
  f.refresh();
  auto& w = f.net.layer<0>().weight();
  const Tensor<double> mask = w.mask.clone(), value = w.value.clone(), grad = w.grad.clone();
  const Index active = prune::active_count(w);
  prune::DynamicSparse rigl({.regrow = prune::Regrow::gradient, .fraction = 0.5, .every = 1, .end_step = 1000});
  REQUIRE(rigl.update(f.net, 1));
  CHECK(prune::active_count(w) == active);
  const Index k = static_cast<Index>(std::floor(rigl.fraction(1) * static_cast<double>(active)));
  std::vector<Index> dropped, grown;
  for (Index i = 0; i < w.numel(); ++i) {
    if (mask.data()[i] == 1 && w.mask.data()[i] == 0) dropped.push_back(i);
    if (mask.data()[i] == 0 && w.mask.data()[i] == 1) grown.push_back(i);
  }
  CHECK(static_cast<Index>(dropped.size()) == k);
  CHECK(static_cast<Index>(grown.size()) == k);
  double max_dropped = 0, min_kept = 1e9, min_grown_grad = 1e9, max_other_grad = 0;
  for (Index i = 0; i < w.numel(); ++i) {
    const bool was = mask.data()[i] == 1, is = w.mask.data()[i] == 1;
    if (was && !is) max_dropped = std::max(max_dropped, std::abs(value.data()[i]));
    if (was && is) min_kept = std::min(min_kept, std::abs(value.data()[i]));
    if (!was && is) min_grown_grad = std::min(min_grown_grad, std::abs(grad.data()[i]));
    if (!was && !is) max_other_grad = std::max(max_other_grad, std::abs(grad.data()[i]));
  }
  CHECK(max_dropped <= min_kept);
  CHECK(min_grown_grad >= max_other_grad);
  for (Index i : grown) {
    CHECK(w.value.data()[i] == 0.0);
    CHECK(w.state[0].data()[i] == 0.0);
  }
  for (Index i : dropped) CHECK(w.value.data()[i] == 0.0);
  REQUIRE(rigl.log().size() == 1);
  CHECK(rigl.log()[0].moved == k + static_cast<Index>(std::floor(rigl.fraction(1) * 48.0)));
}

TEST_CASE("SET regrows at random among the inactive entries; training keeps the parameter count") {
  auto f = sparse_fixture(2);
  prune::DynamicSparse set({.regrow = prune::Regrow::random, .fraction = 0.3, .every = 5, .end_step = 40, .seed = 3});
  Sgd sgd(0.05, {.momentum = 0.9});
  const Index active = prune::active_parameter_count(f.net);
  std::set<Index> ever_active;
  auto& w = f.net.layer<0>().weight();
  for (std::int64_t step = 0; step < 50; ++step) {
    f.refresh();
    set.update(f.net, step);
    sgd.step(f.net);
    CHECK(prune::active_parameter_count(f.net) == active);
    for (Index i = 0; i < w.numel(); ++i)
      if (w.mask.data()[i] == 1) ever_active.insert(i);
  }
  CHECK(set.log().size() == 7);  // steps 5, 10, ..., 35
  CHECK(static_cast<Index>(ever_active.size()) > prune::active_count(w));  // connections moved
  for (Index i = 0; i < w.numel(); ++i)
    if (w.mask.data()[i] == 0) CHECK(w.value.data()[i] == 0.0);
}
