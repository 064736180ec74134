// Tests dynamic sparse training on the GPU against the same run on the Cpu (twin_sparse.hpp): SET and
// RigL move the same connections, and set_global_density drops and regrows the same ones (masks equal
// entry for entry, the same counts moved, the active count fixed by DST and exact after each density
// move), and the losses, weights and Adam moments agree to float tolerance (1e-3 relative + 1e-4
// absolute: the devices sum in different orders); the empirical NTK of a masked MLP computed with the
// passes on the GPU equals the CPU's to 1e-4 of its largest entry.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "../backend/compare.hpp"
#include "netgrow/netgrow.hpp"
#include "twin_sparse.hpp"

using namespace netgrow;
using test::check_close;
using test::uniform_tensor;

TEST_CASE("SET, RigL and DDST's density moves on the GPU change the same connections as on the CPU") {
  Rng data_rng(53);
  const Tensor<float, Cpu> x = uniform_tensor<float>(Shape{31, 13}, data_rng, -2, 2);
  const Tensor<float, Cpu> target = uniform_tensor<float>(Shape{31, 5}, data_rng);
  for (const prune::Regrow regrow : {prune::Regrow::random, prune::Regrow::gradient}) {
    CAPTURE(static_cast<int>(regrow));
    const test::SparseTrace cpu = test::sparse_twin<Cpu>(17, regrow, x, target);
    const test::SparseTrace gpu = test::sparse_on_cuda(17, regrow, x, target);
    REQUIRE(cpu.moved.size() == 4);  // updates at steps 2, 4, 6 and 8
    CHECK(gpu.moved == cpu.moved);
    CHECK(gpu.active == cpu.active);
    for (const Index m : cpu.moved) CHECK(m > 0);
    for (std::size_t u = 1; u < cpu.active.size(); ++u) CHECK(cpu.active[u] == cpu.active[0]);
    const Index total = 13 * 33 + 33 * 17 + 17 * 5;
    REQUIRE(cpu.density_counts.size() == 2);
    CHECK(cpu.density_counts[0] == static_cast<Index>(std::llround(0.25 * total)));
    CHECK(cpu.density_counts[1] == static_cast<Index>(std::llround(0.5 * total)));
    CHECK(gpu.density_counts == cpu.density_counts);
    REQUIRE(gpu.masks.size() == cpu.masks.size());
    for (std::size_t i = 0; i < cpu.masks.size(); ++i) {
      CAPTURE(i);
      Index differ = 0;
      for (Index j = 0; j < cpu.masks[i].numel(); ++j) differ += gpu.masks[i][j] != cpu.masks[i][j];
      CHECK(differ == 0);
    }
    REQUIRE(gpu.losses.size() == cpu.losses.size());
    for (std::size_t s = 0; s < cpu.losses.size(); ++s) CHECK(gpu.losses[s] == doctest::Approx(cpu.losses[s]).epsilon(1e-3));
    for (std::size_t i = 0; i < cpu.values.size(); ++i) {
      check_close<float>(gpu.values[i].cview(), cpu.values[i].cview(), 1e-3, 1e-4, "parameter " + std::to_string(i));
      REQUIRE(gpu.state[i].size() == cpu.state[i].size());
      for (std::size_t s = 0; s < cpu.state[i].size(); ++s)
        check_close<float>(gpu.state[i][s].cview(), cpu.state[i][s].cview(), 1e-3, 1e-4,
                           "Adam state " + std::to_string(s) + " of parameter " + std::to_string(i));
    }
  }
}

TEST_CASE("the empirical NTK of a masked MLP on the GPU matches the CPU (per-sample passes on the device)") {
  Rng data_rng(59);
  const Tensor<float, Cpu> x = uniform_tensor<float>(Shape{9, 13}, data_rng, -2, 2);
  const Eigen::MatrixXd cpu = test::ntk_twin<Cpu>(19, x);
  const Eigen::MatrixXd gpu = test::ntk_on_cuda(19, x);
  REQUIRE(cpu.rows() == 9);
  REQUIRE(gpu.rows() == 9);
  const double scale = cpu.cwiseAbs().maxCoeff();
  REQUIRE(scale > 0);
  CHECK((gpu - cpu).cwiseAbs().maxCoeff() <= 1e-4 * scale);
}
