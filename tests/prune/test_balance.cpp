// Tests prune/balance.hpp: the balance ratio on constructed discriminator outputs (window, skipped
// zero gaps), set_global_density's exact counts (global magnitude drops, random regrowth at 0 with
// optimizer state 0), DensityBalancer's moves up, down and not at all, within its range, and that
// moving the discriminator's density leaves the generator's parameter count alone.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "netgrow/layers.hpp"
#include "netgrow/network.hpp"
#include "netgrow/optim.hpp"
#include "netgrow/prune.hpp"

using namespace netgrow;

namespace {

using Disc = Sequential<double, Cpu, Dense, Relu1, Dense>;

Disc masked_net(std::uint64_t seed) {
  Rng rng(seed);
  Disc net(rng, Dense{.in = 12, .out = 10}, Relu1{}, Dense{.in = 10, .out = 3});
  prune::enable_masks(net);
  return net;
}

}  // namespace

TEST_CASE("BalanceRatio: (D(G'(z)) - D(G(z))) / (D(x) - D(G(z))), averaged over its window") {
  prune::BalanceRatio br(2);
  CHECK(std::isnan(br.value()));
  CHECK(br.record(2.0, -1.0, 0.5));  // 1.5 / 3
  CHECK(br.value() == doctest::Approx(0.5));
  CHECK(!br.full());
  CHECK(br.record(1.0, 0.0, 1.0));   // G closes the whole gap: 1
  CHECK(br.value() == doctest::Approx(0.75));
  CHECK(br.full());
  CHECK(br.record(1.0, 0.0, -0.5));  // G moved the wrong way: -0.5; the first record leaves the window
  CHECK(br.value() == doctest::Approx(0.25));
  CHECK(!br.record(3.0, 3.0, 4.0));  // no gap: undefined, skipped
  CHECK(br.size() == 2);
  CHECK_THROWS_AS(br.record(std::nan(""), 0.0, 0.0), ArgumentError);
  CHECK_THROWS_AS(prune::BalanceRatio(0), ArgumentError);
}

TEST_CASE("set_global_density hits the count exactly: drops the smallest magnitudes, regrows at zero") {
  Disc net = masked_net(1);
  const auto [active0, total] = prune::masked_entries(net);
  CHECK(active0 == total);
  Rng rng(2);
  std::vector<double> magnitudes;
  net.visit_parameters([&](const std::string&, Parameter<double, Cpu>& p) {
    if (!p.mask.empty())
      for (Index i = 0; i < p.numel(); ++i) magnitudes.push_back(std::abs(p.value.data()[i]));
  });
  std::sort(magnitudes.begin(), magnitudes.end());
  CHECK(prune::set_global_density(net, 0.3, rng) == std::llround(0.3 * static_cast<double>(total)));
  CHECK(prune::masked_entries(net).first == std::llround(0.3 * static_cast<double>(total)));
  const double threshold = magnitudes[static_cast<std::size_t>(total - std::llround(0.3 * static_cast<double>(total)))];
  net.visit_parameters([&](const std::string&, Parameter<double, Cpu>& p) {
    if (p.mask.empty()) return;
    for (Index i = 0; i < p.numel(); ++i) {
      if (p.mask.data()[i] != 0) CHECK(std::abs(p.value.data()[i]) >= threshold);  // the largest survive
      else CHECK(p.value.data()[i] == 0.0);
    }
  });
  // Adam's state exists after one step; regrown entries start with value and state 0.
  Adam adam(0.01);
  net.visit_parameters([&](const std::string&, Parameter<double, Cpu>& p) { p.grad.resize(p.value.shape()), p.grad.fill(1.0); });
  adam.step(net);
  std::vector<std::vector<double>> before;
  net.visit_parameters([&](const std::string&, Parameter<double, Cpu>& p) { before.push_back(p.mask.to_vector()); });
  CHECK(prune::set_global_density(net, 0.5, rng) == std::llround(0.5 * static_cast<double>(total)));
  std::size_t k = 0;
  Index regrown = 0;
  net.visit_parameters([&](const std::string&, Parameter<double, Cpu>& p) {
    const auto& old_mask = before[k++];
    if (p.mask.empty()) return;
    for (Index i = 0; i < p.numel(); ++i)
      if (old_mask[static_cast<std::size_t>(i)] == 0 && p.mask.data()[i] != 0) {
        ++regrown;
        CHECK(p.value.data()[i] == 0.0);
        for (const auto& s : p.state) CHECK(s.data()[i] == 0.0);
      }
  });
  CHECK(regrown == std::llround(0.5 * static_cast<double>(total)) - std::llround(0.3 * static_cast<double>(total)));
  CHECK_THROWS_AS(prune::set_global_density(net, 1.5, rng), ArgumentError);
}

TEST_CASE("DensityBalancer: up when BR >= upper, down when BR <= lower, within its range, only on its steps") {
  Disc d = masked_net(3);
  Rng rng(4);
  prune::set_global_density(d, 0.5, rng);
  const Index total = prune::masked_entries(d).second;
  const auto density = [&] { return static_cast<double>(prune::masked_entries(d).first) / static_cast<double>(total); };
  prune::DensityBalancer balancer(
      {.lower = 0.45, .upper = 0.55, .step = 0.1, .min_density = 0.3, .max_density = 0.6, .every = 10});
  prune::BalanceRatio high(2), low(2), inside(2);
  for (int i = 0; i < 2; ++i) {
    high.record(1.0, 0.0, 0.9);
    low.record(1.0, 0.0, 0.1);
    inside.record(1.0, 0.0, 0.5);
  }
  prune::BalanceRatio partial(3);
  partial.record(1.0, 0.0, 0.9);
  CHECK(!balancer.update(d, 10, partial));  // window not full
  CHECK(!balancer.update(d, 15, high));     // not an adjustment step
  CHECK(!balancer.update(d, 10, inside));   // in the band
  CHECK(balancer.update(d, 10, high));
  CHECK(density() == doctest::Approx(0.6).epsilon(0.01));
  CHECK(!balancer.update(d, 20, high));  // at max_density
  CHECK(balancer.update(d, 30, low));
  CHECK(balancer.update(d, 40, low));
  CHECK(balancer.update(d, 50, low));
  CHECK(density() == doctest::Approx(0.3).epsilon(0.01));
  CHECK(!balancer.update(d, 60, low));  // at min_density
  REQUIRE(balancer.log().size() == 4);
  CHECK(balancer.log()[0].density_before == doctest::Approx(0.5).epsilon(0.01));
  CHECK(balancer.log()[0].balance_ratio == doctest::Approx(0.9));
  CHECK_THROWS_AS(prune::DensityBalancer({.lower = 0.6, .upper = 0.5}), ArgumentError);
  CHECK_THROWS_WITH_AS(prune::DensityBalancer({}), doctest::Contains("band"), ArgumentError);

  // SDST on a generator: its count stays fixed while the discriminator's moves.
  Disc g = masked_net(5);
  prune::set_global_density(g, 0.3, rng);
  const Index g_active = prune::masked_entries(g).first;
  prune::DynamicSparse sdst({.regrow = prune::Regrow::random, .fraction = 0.3, .every = 10, .end_step = 100, .seed = 6});
  for (std::int64_t step = 1; step <= 50; ++step) sdst.update(g, step);
  CHECK(sdst.log().size() == 5);
  CHECK(prune::masked_entries(g).first == g_active);
}
