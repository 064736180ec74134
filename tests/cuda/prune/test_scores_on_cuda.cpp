// Tests the pruning scores and the growth controllers' site measures on the GPU against the same runs on
// the Cpu (twin_scores.hpp), a small CNN with BatchNorm in double: every criterion (Magnitude, Random,
// SNIP, GraSP, SynFlow, NTK-SAP) gives the same scores to 1e-7 of each parameter's largest (the GPU sums
// in other orders; GraSP and NTK-SAP difference two passes), leaves every parameter and running statistic
// as it found it, and prune_at_init keeps the same entries; PairSite::measure, ntk_site_kernels (formed
// and sketched K) and measure_ntk give the same numbers.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "netgrow/netgrow.hpp"
#include "twin_scores.hpp"

using namespace netgrow;

namespace {

test::ScoreData score_data() {
  Rng rng(61);
  test::ScoreData d{Tensor<double, Cpu>(Shape{6, 1, 10, 10}), Tensor<std::int32_t, Cpu>(Shape{6})};
  for (Index i = 0; i < d.x.numel(); ++i) d.x[i] = rng.uniform() * 2 - 1;
  for (Index i = 0; i < 6; ++i) d.labels[i] = static_cast<std::int32_t>(i % 3);
  return d;
}

// |gpu - cpu| <= tol max|cpu| + 1e-300 entrywise.
void check_relative(const Tensor<double, Cpu>& gpu, const Tensor<double, Cpu>& cpu, double tol, const std::string& what) {
  CAPTURE(what);
  REQUIRE(gpu.shape() == cpu.shape());
  double scale = 0, worst = 0;
  for (Index i = 0; i < cpu.numel(); ++i) scale = std::max(scale, std::abs(cpu[i]));
  for (Index i = 0; i < cpu.numel(); ++i) worst = std::max(worst, std::abs(gpu[i] - cpu[i]));
  CAPTURE(scale);
  CHECK(worst <= tol * scale + 1e-300);
}

// |gpu_i - cpu_i| <= tol max_j |cpu_j| (a rank-deficient M has singular values at rounding level).
void check_values(const std::vector<double>& gpu, const std::vector<double>& cpu, double tol, const std::string& what) {
  CAPTURE(what);
  REQUIRE(gpu.size() == cpu.size());
  double scale = 0;
  for (const double v : cpu) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < cpu.size(); ++i) CHECK(std::abs(gpu[i] - cpu[i]) <= tol * scale);
}

void check_measure(const grow::SiteMeasure& gpu, const grow::SiteMeasure& cpu, double tol) {
  CAPTURE(cpu.name);
  CHECK(gpu.name == cpu.name);
  CHECK(gpu.width == cpu.width);
  CHECK(gpu.parameters_per_neuron == cpu.parameters_per_neuron);
  CHECK(gpu.flops_per_neuron == cpu.flops_per_neuron);
  CHECK(gpu.existing_gradient_norm == doctest::Approx(cpu.existing_gradient_norm).epsilon(tol));
  CHECK(gpu.new_gradient_per_sigma == doctest::Approx(cpu.new_gradient_per_sigma).epsilon(tol));
  check_values(gpu.gradient_singular_values, cpu.gradient_singular_values, tol, "gradient singular values");
  check_values(gpu.activation_singular_values, cpu.activation_singular_values, tol, "activation singular values");
}

}  // namespace

TEST_CASE("every pruning score and prune_at_init on the GPU match the CPU, and leave the network as they found it") {
  const test::ScoreData data = score_data();
  const test::ScoreTrace cpu = test::score_twin<Cpu>(23, data);
  const test::ScoreTrace gpu = test::score_on_cuda(23, data);
  REQUIRE(cpu.scores.size() == 6);
  REQUIRE(gpu.scores.size() == cpu.scores.size());
  for (std::size_t c = 0; c < cpu.scores.size(); ++c) {
    CAPTURE(cpu.criteria[c]);
    CHECK(gpu.criteria[c] == cpu.criteria[c]);
    REQUIRE(cpu.scores[c].size() == 4);  // two convolutions, two Dense layers
    REQUIRE(gpu.scores[c].size() == cpu.scores[c].size());
    for (const auto& [name, s] : cpu.scores[c]) {
      REQUIRE(gpu.scores[c].count(name) == 1);
      double largest = 0;
      for (Index i = 0; i < s.numel(); ++i) largest = std::max(largest, std::abs(s[i]));
      CHECK(largest > 0);  // every criterion scores something
      check_relative(gpu.scores[c].at(name), s, 1e-7, cpu.criteria[c] + " " + name);
    }
  }
  // Scoring restores values and BatchNorm's running statistics exactly, on both devices.
  REQUIRE(gpu.after.size() == gpu.before.size());
  for (std::size_t i = 0; i < gpu.before.size(); ++i) {
    CAPTURE(i);
    CHECK(gpu.after[i].to_vector() == gpu.before[i].to_vector());
    CHECK(cpu.after[i].to_vector() == cpu.before[i].to_vector());
    CHECK(gpu.before[i].to_vector() == cpu.before[i].to_vector());  // the same seed network
  }
  REQUIRE(cpu.masks.size() == 3);
  REQUIRE(gpu.masks.size() == 3);
  for (std::size_t r = 0; r < cpu.masks.size(); ++r) {
    CAPTURE(r);
    check_values(gpu.round_density[r], cpu.round_density[r], 1e-12, "round densities");
    REQUIRE(!cpu.round_density[r].empty());
    CHECK(cpu.round_density[r].back() < 0.5);  // every run pruned
    REQUIRE(gpu.masks[r].size() == cpu.masks[r].size());
    for (std::size_t p = 0; p < cpu.masks[r].size(); ++p) {
      CAPTURE(p);
      Index differ = 0, kept = 0;
      for (Index i = 0; i < cpu.masks[r][p].numel(); ++i) {
        differ += gpu.masks[r][p][i] != cpu.masks[r][p][i];
        kept += cpu.masks[r][p][i] != 0;
      }
      CHECK(differ == 0);
      CHECK(kept > 0);
    }
  }
}

TEST_CASE("the growth controllers' site measures (GradMax's and the NTK's) on the GPU match the CPU") {
  const test::ScoreData data = score_data();
  const test::MeasureTrace cpu = test::measure_twin<Cpu>(29, data);
  const test::MeasureTrace gpu = test::measure_on_cuda(29, data);
  REQUIRE(cpu.gradmax.size() == 3);
  REQUIRE(gpu.gradmax.size() == 3);
  for (std::size_t s = 0; s < 3; ++s) check_measure(gpu.gradmax[s], cpu.gradmax[s], 1e-6);
  REQUIRE(cpu.kernels.size() == 3);
  REQUIRE(gpu.kernels.size() == 3);
  bool formed = false, sketched = false;
  for (std::size_t s = 0; s < 3; ++s) {
    const models::NtkSiteKernel &c = cpu.kernels[s], &g = gpu.kernels[s];
    CAPTURE(c.name);
    CHECK(g.fan_out == c.fan_out);
    CHECK(g.scale == doctest::Approx(c.scale).epsilon(1e-12));
    CHECK(g.mean_outgoing_norm == doctest::Approx(c.mean_outgoing_norm).epsilon(1e-12));
    CHECK(g.existing_rms == doctest::Approx(c.existing_rms).epsilon(1e-8));
    check_values(g.eigenvalues, c.eigenvalues, 1e-8, "NTK eigenvalues");
    REQUIRE(g.k.size() == c.k.size());
    if (c.k.size() > 0) {
      formed = true;
      CHECK((g.k - c.k).cwiseAbs().maxCoeff() <= 1e-9 * c.k.cwiseAbs().maxCoeff());
    } else {
      sketched = true;
    }
  }
  CHECK(formed);
  CHECK(sketched);
  REQUIRE(gpu.ntk.size() == cpu.ntk.size());
  for (std::size_t s = 0; s < cpu.ntk.size(); ++s) check_measure(gpu.ntk[s], cpu.ntk[s], 1e-8);
}
